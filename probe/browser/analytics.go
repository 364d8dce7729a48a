package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/storeprobe/storeprobe/probe"
)

// Analytics beacons: a probe must never inflate the shop's analytics, so
// the requests of GA4 and Adobe Analytics are paused in the browser (CDP
// Fetch domain, with patterns for the beacon URLs only, so every other
// request goes on unpaused), recorded, and answered locally: never
// delivered unless the check asks for passthrough. Fetch intercepts in
// the browser's network stack, so fetch(), XHR, images, sendBeacon and
// keepalive requests of the page and its frames are all caught (a
// cross-site frame, a target of its own, through a session of its own:
// frames.go), and the page sees an ordinary success.
//
// What is a beacon (the vendors' documented endpoints):
//   - GA4: /g/collect on google-analytics.com or analytics.google.com
//     hosts (www., region1., ...), as gtag.js and GTM send it. The event
//     is the `en` parameter; a batched POST (sendBeacon) carries one
//     event per body line. Google, "[GA4] Measurement Protocol"
//     (support.google.com/analytics/answer/9900444) and the gtag.js
//     reference (developers.google.com/tag-platform/gtagjs/reference).
//   - Adobe AppMeasurement: /b/ss/<rsid>/... on any host (*.sc.omtrdc.net,
//     *.2o7.net, a first-party CNAME such as metrics.shop.com). A link
//     hit has `pe` (lnk_o, lnk_d, lnk_e), a page view has none; `events`
//     (or its short form `ev`) lists the success events. Adobe, "Data
//     collection query parameters"
//     (experienceleague.adobe.com/docs/analytics/implementation/validate/query-parameters.html).
//   - Adobe Web SDK: POST /ee/[...]/v1/interact (or /v1/collect, its
//     sendBeacon form; v2 for the Server API) on edge.adobedc.net or a
//     first-party edge domain; the events are the body's
//     events[].xdm.eventType (event.xdm.eventType in v2). Adobe Experience
//     Platform Edge Network Server API, "Interactive data collection"
//     (experienceleague.adobe.com/docs/experience-platform/edge-network-server-api/data-collection/interactive-data-collection).

// beaconPatterns are the Fetch patterns: wide wildcards; beaconOf decides.
func beaconPatterns() []*fetch.RequestPattern {
	var out []*fetch.RequestPattern
	for _, p := range []string{
		"*google-analytics.com/g/collect*",
		"*analytics.google.com/g/collect*",
		"*/b/ss/*",
		"*/ee/*/interact*",
		"*/ee/*/collect*",
	} {
		out = append(out, &fetch.RequestPattern{URLPattern: p})
	}
	return out
}

// maxPendingBeacons bounds the beacons waiting for an answer; past it a
// beacon is failed at once (never delivered) and not recorded.
const maxPendingBeacons = 1024

// maxBeaconBody bounds the body read for event names.
const maxBeaconBody = 64 << 10

// beacon is one analytics request recognised.
type beacon struct {
	vendor string   // probe.Analytics*
	hits   int      // hits it carries
	events []string // their names, in order
	sdk    bool     // Adobe Web SDK (answered with JSON)
}

// beaconOf recognises an analytics beacon from its method, URL and body.
func beaconOf(method, raw string, body []byte) (beacon, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return beacon{}, false
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Path == "/g/collect" && (hostIs(host, "google-analytics.com") || hostIs(host, "analytics.google.com")):
		return ga4Beacon(u.Query(), body), true
	case strings.HasPrefix(u.Path, "/b/ss/") || strings.Contains(u.Path, "/b/ss/"):
		return appMeasurementBeacon(u.Query(), method, body), true
	case method == "POST" && strings.HasPrefix(u.Path, "/ee/") && edgePath(u.Path):
		return webSDKBeacon(body), true
	}
	return beacon{}, false
}

// edgePath reports an Edge Network data collection path: /ee/[<base>/]
// v1|v2/interact, or its non-interactive /collect.
func edgePath(p string) bool {
	for _, suffix := range []string{"/v1/interact", "/v2/interact", "/v1/collect", "/v2/collect"} {
		if strings.HasSuffix(p, suffix) {
			return true
		}
	}
	return false
}

// hostIs reports whether host is domain or a subdomain of it.
func hostIs(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// ga4Beacon reads a /g/collect hit: the query's `en`, or one event per
// line of a batched body (each line a query string with its own `en`).
func ga4Beacon(q url.Values, body []byte) beacon {
	b := beacon{vendor: probe.AnalyticsGA4}
	for line := range bytes.SplitSeq(bytes.TrimSpace(body), []byte("\n")) {
		lq, err := url.ParseQuery(string(bytes.TrimSpace(line)))
		if err != nil || lq.Get("en") == "" {
			continue
		}
		b.hits++
		b.events = append(b.events, lq.Get("en"))
	}
	if b.hits == 0 {
		b.hits = 1
		if en := q.Get("en"); en != "" {
			b.events = append(b.events, en)
		}
	}
	return b
}

// appMeasurementBeacon reads a /b/ss/ hit (its parameters in the query,
// or in a form body when AppMeasurement POSTs a long hit).
func appMeasurementBeacon(q url.Values, method string, body []byte) beacon {
	if method == "POST" && len(body) > 0 {
		if bq, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range bq {
				q[k] = append(q[k], v...)
			}
		}
	}
	b := beacon{vendor: probe.AnalyticsAdobe, hits: 1}
	if pe := q.Get("pe"); pe != "" {
		b.events = append(b.events, pe)
	} else {
		b.events = append(b.events, "page_view")
	}
	// events=purchase,event1=5,event2:serial,scAdd (ev is its short form)
	list := q.Get("events")
	if list == "" {
		list = q.Get("ev")
	}
	for ev := range strings.SplitSeq(list, ",") {
		name, _, _ := strings.Cut(ev, "=")
		name, _, _ = strings.Cut(name, ":")
		if name = strings.TrimSpace(name); name != "" {
			b.events = append(b.events, name)
		}
	}
	return b
}

// webSDKBeacon reads an Edge Network request: one hit per event, from the
// Web SDK's events[] (v1) or the Server API's single event (v2).
func webSDKBeacon(body []byte) beacon {
	b := beacon{vendor: probe.AnalyticsAdobe, sdk: true}
	type event struct {
		XDM struct {
			EventType string `json:"eventType"`
		} `json:"xdm"`
	}
	var req struct {
		Events []event `json:"events"`
		Event  *event  `json:"event"`
	}
	if json.Unmarshal(body, &req) == nil {
		if req.Event != nil {
			req.Events = append(req.Events, *req.Event)
		}
		for _, e := range req.Events {
			b.hits++
			if e.XDM.EventType != "" {
				b.events = append(b.events, e.XDM.EventType)
			}
		}
	}
	b.hits = max(b.hits, 1)
	return b
}

// pageTags are what a stretch of a page's life (a segment) recorded of
// its beacons, findings and mixed content.
type pageTags struct {
	ga4, adobe *probe.BeaconTally
	findings   []probe.AnalyticsFinding
	mixed      []probe.MixedContent
	mixedCount int
	mixedSeen  map[string]bool // URL and resolution of those counted
}

// maxMixedSeen bounds the distinct mixed content URLs counted per page
// segment.
const maxMixedSeen = 1000

func (p *pageTags) clone() *pageTags {
	if p == nil {
		return nil
	}
	c := &pageTags{findings: slices.Clone(p.findings), mixed: slices.Clone(p.mixed), mixedCount: p.mixedCount,
		mixedSeen: maps.Clone(p.mixedSeen)}
	for _, pair := range [][2]**probe.BeaconTally{{&c.ga4, &p.ga4}, {&c.adobe, &p.adobe}} {
		if *pair[1] != nil {
			t := **pair[1]
			t.Events = slices.Clone(t.Events)
			*pair[0] = &t
		}
	}
	return c
}

// tally adds a beacon's hits and event names to a vendor's tally.
func tally(t **probe.BeaconTally, hits int, events []string) {
	if *t == nil {
		*t = &probe.BeaconTally{Events: []string{}}
	}
	(*t).Fired += hits
	for _, e := range events {
		e = clipUTF8(e, probe.MaxBeaconEventLen)
		if len((*t).Events) < probe.MaxBeaconEvents && !slices.Contains((*t).Events, e) {
			(*t).Events = append((*t).Events, e)
		}
	}
}

// finding adds a finding unless one with its id, vendor and event is there.
func (p *pageTags) finding(f probe.AnalyticsFinding) {
	for _, g := range p.findings {
		if g.ID == f.ID && g.Vendor == f.Vendor && g.Event == f.Event {
			return
		}
	}
	if len(p.findings) < probe.MaxFindings {
		p.findings = append(p.findings, f)
	}
}

// addTags folds a segment's tags into a page's metrics.
func addTags(m *probe.PageMetrics, p *pageTags) {
	if p == nil {
		return
	}
	for _, v := range []struct {
		from *probe.BeaconTally
		to   func(*probe.PageAnalytics) **probe.BeaconTally
	}{
		{p.ga4, func(a *probe.PageAnalytics) **probe.BeaconTally { return &a.GA4 }},
		{p.adobe, func(a *probe.PageAnalytics) **probe.BeaconTally { return &a.Adobe }},
	} {
		if v.from == nil {
			continue
		}
		if m.Analytics == nil {
			m.Analytics = &probe.PageAnalytics{}
		}
		tally(v.to(m.Analytics), v.from.Fired, v.from.Events)
	}
	for _, f := range p.findings {
		if len(m.AnalyticsFindings) < probe.MaxFindings {
			m.AnalyticsFindings = append(m.AnalyticsFindings, f)
		}
	}
	for _, mc := range p.mixed {
		if len(m.MixedContent) < probe.MaxMixedContent {
			m.MixedContent = append(m.MixedContent, mc)
		}
	}
	m.MixedContentCount += p.mixedCount
}

// tagsLocked is the tags of the current page segment of the main frame's
// document: where a beacon or mixed request seen now is counted.
func (t *tracker) tagsLocked() *pageTags {
	st := t.statsLocked(t.loader, true)
	seg := st.segs[len(st.segs)-1]
	if seg.tags == nil {
		seg.tags = &pageTags{}
	}
	return seg.tags
}

// Consent states of a run with a consent_selector.
const (
	consentNone    = iota // no selector, or the wait for it is over
	consentPending        // not clicked yet: beacons now are findings
)

// pausedBeacon is a paused request waiting for its answer.
type pausedBeacon struct {
	sess   cdp.Session // the session that paused it: the tab's or a frame's
	id     fetch.RequestID
	beacon bool // recognised (else continued untouched)
	sdk    bool
	image  bool
	origin string
	method string
	fail   bool // past maxPendingBeacons
}

// beaconLocked records a request sess paused and queues its answer on
// sess. It runs on the read loop: the answer is sent by answerBeacons.
func (t *tracker) beaconLocked(ev *fetch.EventRequestPaused, sess cdp.Session) {
	if ev.Request == nil {
		// Nothing to judge it by: it goes on untouched (a paused request
		// must always be answered).
		t.paused = append(t.paused, pausedBeacon{sess: sess, id: ev.RequestID})
		t.signalBeacons()
		return
	}
	p := pausedBeacon{sess: sess, id: ev.RequestID, method: ev.Request.Method, image: ev.ResourceType == network.ResourceTypeImage}
	for k, v := range ev.Request.Headers {
		if o, ok := v.(string); ok && strings.EqualFold(k, "Origin") {
			p.origin = o
		}
	}
	var body []byte
	for _, e := range ev.Request.PostDataEntries {
		if len(body)+len(e.Bytes) > maxBeaconBody {
			break
		}
		body = append(body, e.Bytes...)
	}
	if len(t.paused) >= maxPendingBeacons {
		// Failed at once rather than kept waiting (never delivered); a
		// page sending so many is recorded no further.
		p.fail = true
		t.paused = append(t.paused, p)
		t.signalBeacons()
		return
	}
	if ev.Request.Method != "OPTIONS" { // a CORS preflight is no hit
		if b, ok := beaconOf(ev.Request.Method, ev.Request.URL, body); ok {
			p.beacon, p.sdk = true, b.sdk
			tags := t.tagsLocked()
			switch b.vendor {
			case probe.AnalyticsGA4:
				tally(&tags.ga4, b.hits, b.events)
			case probe.AnalyticsAdobe:
				tally(&tags.adobe, b.hits, b.events)
			}
			if t.consent == consentPending {
				events := b.events
				if len(events) == 0 {
					events = []string{""}
				}
				for _, e := range events {
					e = clipUTF8(e, probe.MaxBeaconEventLen)
					msg := b.vendor + " sent " + e + " before the consent click"
					if e == "" {
						msg = b.vendor + " sent a hit before the consent click"
					}
					tags.finding(probe.AnalyticsFinding{ID: probe.FindingBeaconBeforeConsent, Vendor: b.vendor, Event: e, Message: msg})
				}
			}
		}
	} else {
		p.beacon = true
	}
	t.paused = append(t.paused, p)
	t.signalBeacons()
}

func (t *tracker) signalBeacons() {
	select {
	case t.beaconSig <- struct{}{}:
	default:
	}
}

// mixedLocked records an http:// subresource of an https page, from
// Chrome's mixed content issue (Audits domain): unlike the request's
// mixedContentType it also tells of an image Chrome upgraded to https,
// whose request then shows the https URL only.
func (t *tracker) mixedLocked(d *audits.MixedContentIssueDetails) {
	mc := probe.MixedContent{URL: t.redact.URL(clipUTF8(d.InsecureURL, maxURLLen))}
	switch d.ResolutionStatus {
	case audits.MixedContentResolutionStatusMixedContentBlocked:
		mc.Type, mc.Resolution = probe.MixedBlockable, probe.MixedBlocked
	case audits.MixedContentResolutionStatusMixedContentAutomaticallyUpgraded:
		mc.Type, mc.Resolution = probe.MixedOptionallyBlockable, probe.MixedUpgraded
	default:
		mc.Type, mc.Resolution = probe.MixedOptionallyBlockable, probe.MixedWarned
	}
	tags := t.tagsLocked()
	// Chrome reports an issue more than once (from the renderer and the
	// browser): a page's mixed content is its distinct URLs.
	key := mc.URL + " " + mc.Resolution
	if tags.mixedSeen[key] || len(tags.mixedSeen) >= maxMixedSeen {
		return
	}
	if tags.mixedSeen == nil {
		tags.mixedSeen = map[string]bool{}
	}
	tags.mixedSeen[key] = true
	tags.mixedCount++
	if len(tags.mixed) < probe.MaxMixedContent {
		tags.mixed = append(tags.mixed, mc)
	}
}

// startBeacons turns on the interception of beacons in the tab.
func (s *session) startBeacons(ctx context.Context) error {
	if _, err := cdp.Call(ctx, s.t, fetch.Enable, fetch.EnableParams{Patterns: beaconPatterns()}); err != nil {
		return err
	}
	// Mixed content is reported as an issue (see mixedLocked).
	if _, err := cdp.Call(ctx, s.t, audits.Enable, cdp.Empty{}); err != nil {
		return err
	}
	go s.answerBeacons()
	// Cross-site frames are targets of their own: see frames.go.
	if _, err := cdp.Call(ctx, s.t, target.SetAutoAttach, frameAutoAttach()); err != nil {
		return err
	}
	return nil
}

// beaconGIF is the 1x1 transparent GIF an image beacon is answered with,
// so its onload (not onerror) runs.
const beaconGIF = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"

// answerBeacons answers the paused requests until the tab ends: a beacon
// locally (or on to its vendor with passthrough), anything else the
// patterns caught goes on untouched.
func (s *session) answerBeacons() {
	for {
		select {
		case <-s.tr.beaconSig:
		case <-s.ctx.Done():
			return
		}
		s.answerPaused(s.ctx, 5*time.Second)
	}
}

// answerPaused answers every request paused so far, each within limit,
// all within ctx. The run's end calls it too, before the tab and its
// frames' sessions go, so no request is left paused (a session that goes
// lets its paused requests go on, to the vendor).
func (s *session) answerPaused(ctx context.Context, limit time.Duration) {
	s.tr.mu.Lock()
	list, pass := s.tr.paused, s.tr.passthrough
	s.tr.paused = nil
	s.tr.mu.Unlock()
	for _, p := range list {
		ctx, cancel := context.WithTimeout(ctx, limit)
		s.answer(ctx, p, pass)
		cancel()
	}
}

func (s *session) answer(ctx context.Context, p pausedBeacon, passthrough bool) {
	sess := p.sess
	if sess == nil {
		sess = s.t
	}
	if p.fail {
		_, _ = cdp.Call(ctx, sess, fetch.FailRequest, fetch.FailRequestParams{RequestID: p.id, ErrorReason: network.ErrorReasonBlockedByClient})
		return
	}
	if !p.beacon || passthrough {
		_, _ = cdp.Call(ctx, sess, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: p.id})
		return
	}
	headers := []*fetch.HeaderEntry{{Name: "Cache-Control", Value: "no-store"}}
	if p.origin != "" && p.origin != "null" {
		headers = append(headers, &fetch.HeaderEntry{Name: "Access-Control-Allow-Origin", Value: p.origin},
			&fetch.HeaderEntry{Name: "Access-Control-Allow-Credentials", Value: "true"},
			&fetch.HeaderEntry{Name: "Vary", Value: "Origin"})
	} else {
		headers = append(headers, &fetch.HeaderEntry{Name: "Access-Control-Allow-Origin", Value: "*"})
	}
	params := fetch.FulfillRequestParams{RequestID: p.id, ResponseCode: 204}
	switch {
	case p.method == "OPTIONS":
		headers = append(headers, &fetch.HeaderEntry{Name: "Access-Control-Allow-Methods", Value: "GET, POST"},
			&fetch.HeaderEntry{Name: "Access-Control-Allow-Headers", Value: "Content-Type"})
	case p.image:
		params.ResponseCode, params.Body = 200, []byte(beaconGIF)
		headers = append(headers, &fetch.HeaderEntry{Name: "Content-Type", Value: "image/gif"})
	case p.sdk:
		// The Web SDK reads the Edge Network's answer: an empty one.
		params.ResponseCode, params.Body = 200, []byte(`{"requestId":"storeprobe","handle":[]}`)
		headers = append(headers, &fetch.HeaderEntry{Name: "Content-Type", Value: "application/json"})
	}
	params.ResponseHeaders = headers
	_, _ = cdp.Call(ctx, sess, fetch.FulfillRequest, params)
}

// ConsentTimeout is how long a page is watched for the consent_selector.
const ConsentTimeout = 5 * time.Second

// clickConsent waits for the consent button and clicks it. Beacons Chrome
// saw before the click was sent are findings; if the button does not
// appear in time the page gets a consent-not-found finding, and the
// beacons after it are not judged (consent is then unknown).
func (s *session) clickConsent(ctx context.Context, selector string, phase probe.Phase) *probe.Failure {
	s.tr.mu.Lock()
	pending := s.tr.consent == consentPending
	s.tr.mu.Unlock()
	if !pending {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, ConsentTimeout)
	_, err := chromedp.Run(wctx, chromedp.WaitVisible(chromedp.CSS(selector)))
	cancel()
	// From here on beacons are after consent: the click is sent next.
	s.tr.mu.Lock()
	s.tr.consent = consentNone
	if err != nil {
		s.tr.tagsLocked().finding(probe.AnalyticsFinding{ID: probe.FindingConsentNotFound,
			Message: "the consent button " + selector + " did not appear within " + ConsentTimeout.String()})
	}
	s.tr.mu.Unlock()
	if err != nil {
		if cf := s.classify(err, phase); cf != nil && cf.Kind != probe.FailureTimeout {
			return cf
		}
		if ctx.Err() != nil {
			return s.failOr(ctx.Err(), phase, probe.FailureTimeout)
		}
		return nil
	}
	if s.dev.Mobile {
		_, err = chromedp.Run(ctx, chromedp.Tap(chromedp.CSS(selector)))
	} else {
		_, err = chromedp.Run(ctx, chromedp.Click(chromedp.CSS(selector)))
	}
	if err != nil {
		return s.failOr(err, phase, probe.FailureSelector)
	}
	return nil
}

// configure applies a check's analytics options to the run: passthrough,
// and a pending consent click.
func (s *session) configure(spec probe.BrowserSpec) {
	s.tr.mu.Lock()
	defer s.tr.mu.Unlock()
	s.tr.passthrough = spec.AnalyticsPassthrough
	if spec.ConsentSelector != "" {
		s.tr.consent = consentPending
	}
}

// analyticsFailure fails a page on which an expected vendor never fired.
func analyticsFailure(expect []string, m probe.PageMetrics, page string, phase probe.Phase) *probe.Failure {
	for _, v := range expect {
		if t := m.Analytics.Vendor(v); t == nil || t.Fired == 0 {
			return probe.Fail(probe.FailureAssertion, phase, "%s did not fire on page %s", v, page)
		}
	}
	return nil
}
