package influx

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Measurement names. They are a public contract: dashboards and users'
// queries match on them.
const (
	MeasurementCheckResult  = "check_result"
	MeasurementCheckAttempt = "check_attempt"
	MeasurementHTTPCheck    = "http_check"
	MeasurementHTTPOrigin   = "http_origin"
	MeasurementBrowserPage  = "browser_page"
	MeasurementJourneyStep  = "journey_step"
	MeasurementProbeHealth  = "probe_health"
)

// MaxFailureMessage bounds check_result's failure_message, in runes
// (the clip's "…" included).
const MaxFailureMessage = 256

// FailureNone is the failure_kind tag of a passing run, attempt or step.
// A tag that is present on every point (rather than absent when OK) keeps
// Flux group() and Grafana legends free of null keys, and lets one
// `failure_kind != "none"` filter select all failures.
const FailureNone = "none"

// Points returns every point of one run:
//
//   - check_result: one, the run's verdict (final attempt decides);
//   - check_attempt: one per attempt, tagged attempt=N;
//   - http_check: one, the final attempt's HTTP facts (HTTP checks only),
//     tagged with its CDN cache status and POP;
//   - http_origin: one, the final attempt's origin_url measurement (HTTP
//     checks with an origin only): a measurement of its own, so every query
//     of http_check keeps meaning the check's URL (what shoppers get);
//   - browser_page: one per page of the final attempt (browser, journey);
//   - journey_step: one per step of the final attempt (journeys).
//
// Every point carries the run's ScheduledAt as its timestamp; points of one
// measurement that share a run are told apart by a tag (attempt, page,
// step), never by time, so shipping a run again overwrites the same points.
// A run without attempts yields no points.
func Points(run probe.Run) []Point {
	if len(run.Attempts) == 0 {
		return nil
	}
	final := run.Final()
	ts := run.ScheduledAt
	base := baseTags(run)

	out := make([]Point, 0, 2+len(run.Attempts))

	cr := newPoint(MeasurementCheckResult, ts)
	base.apply(cr)
	cr.tag("failure_kind", failureKind(final.OK, final.Failure))
	cr.bool("ok", final.OK).
		int("attempts", int64(len(run.Attempts))).
		float("duration_ms", final.DurationMS).
		float("lag_ms", probe.Millis(run.Lag))
	if final.HTTPDetails != nil {
		cr.int("status_code", int64(final.StatusCode))
	}
	if f := final.Failure; f != nil && f.Message != "" {
		// The fleet evaluator reads it back to say what failed. Messages are
		// redacted where they are made; the clip bounds what a failure
		// quoting a large body can cost every point.
		cr.str("failure_message", probe.Clip(f.Message, MaxFailureMessage-1))
	}
	out = append(out, cr.done())

	for i, a := range run.Attempts {
		n := a.Attempt
		if n <= 0 {
			n = i + 1
		}
		ap := newPoint(MeasurementCheckAttempt, ts)
		base.apply(ap)
		ap.tag("attempt", strconv.Itoa(n))
		ap.tag("failure_kind", failureKind(a.OK, a.Failure))
		ap.bool("ok", a.OK).
			bool("final", i == len(run.Attempts)-1).
			float("duration_ms", a.DurationMS).
			// Offset of this attempt's start from the scheduled time: the
			// point's own timestamp is the scheduled time for idempotence.
			float("start_offset_ms", offsetMS(a.StartedAt, ts))
		if a.HTTPDetails != nil {
			ap.int("status_code", int64(a.StatusCode))
		}
		out = append(out, ap.done())
	}

	if h := final.HTTPDetails; h != nil {
		hp := newPoint(MeasurementHTTPCheck, ts)
		base.apply(hp)
		hp.tag("failure_kind", failureKind(final.OK, final.Failure))
		hp.tag("http_version", h.HTTPVersion)
		cache, pop := cdnTags(h.CDN)
		hp.tag("cache", cache).tag("pop", pop)
		hp.bool("ok", final.OK)
		httpFields(hp, h.Timings, h.StatusCode, h.Bytes, h.WireBytes, h.Redirects, h.TLS)
		if c := h.CDN; c != nil && c.Provider != "" && c.Provider != cdnNone {
			// 1 when the CDN answered from its cache, so mean(cache_hit) is
			// the hit ratio of the responses a CDN served.
			hit := int64(0)
			if c.Cache == probe.CacheHit {
				hit = 1
			}
			hp.int("cache_hit", hit)
		}
		if c := h.CDN; c != nil && c.AgeS != nil {
			hp.int("age_s", *c.AgeS)
		}
		if sr := h.Security; sr != nil {
			hp.int("security_findings", int64(len(sr.Findings)))
		}
		out = append(out, hp.done())

		if o := h.Origin; o != nil {
			op := newPoint(MeasurementHTTPOrigin, ts)
			base.apply(op)
			op.tag("failure_kind", failureKind(o.OK, o.Failure))
			op.tag("http_version", o.HTTPVersion)
			op.bool("ok", o.OK)
			httpFields(op, o.Timings, o.StatusCode, o.Bytes, o.WireBytes, o.Redirects, o.TLS)
			out = append(out, op.done())
		}
	}

	if b := final.BrowserDetails; b != nil {
		pages := b.Pages
		if len(pages) == 0 && b.PageMetrics != nil {
			// A single-page browser check: its page is named after the check.
			pages = []probe.PageResult{{Name: run.Check, PageMetrics: *b.PageMetrics}}
		}
		names := uniqueNames{}
		for _, pg := range pages {
			pp := newPoint(MeasurementBrowserPage, ts)
			base.apply(pp)
			pp.tag("page", names.next(nameOr(pg.Name, "page")))
			pageFields(pp, pg.PageMetrics)
			out = append(out, pp.done())
		}
		steps := uniqueNames{}
		for i, st := range b.Steps {
			sp := newPoint(MeasurementJourneyStep, ts)
			base.apply(sp)
			sp.tag("step", steps.next(stepName(st)))
			sp.tag("action", st.Action)
			sp.tag("failure_kind", failureKind(st.OK || st.Skipped, st.Failure))
			sp.bool("ok", st.OK).
				bool("skipped", st.Skipped).
				int("index", int64(i)).
				float("duration_ms", st.DurationMS)
			out = append(out, sp.done())
		}
	}
	return out
}

// httpFields are the fields http_check and http_origin share.
func httpFields(p *Point, t probe.Timings, status int, bytes, wire int64, redirects int, tls *probe.TLSInfo) {
	p.float("dns_ms", t.DNS).
		float("connect_ms", t.Connect).
		float("tls_ms", t.TLS).
		float("wait_ms", t.Wait).
		float("transfer_ms", t.Transfer).
		float("ttfb_ms", t.TTFB).
		float("redirect_ms", t.Redirect).
		float("total_ms", t.Total).
		int("status_code", int64(status)).
		int("bytes", bytes).
		int("wire_bytes", wire).
		int("redirects", int64(redirects))
	if tls != nil {
		p.float("cert_days_left", tls.CertDaysLeft)
	}
}

// cdnNone is probe/platform's provider for a response without a CDN (this
// package does not import the detector).
const cdnNone = "none"

// cdnTags are the cache and pop tags of http_check: always present (unknown
// when nothing was said, or no response arrived), so group() and legends
// have no null keys, and from bounded sets whatever the run holds: the
// closed cache set, and a POP code of at most 8 letters and digits.
func cdnTags(c *probe.CDNInfo) (cache, pop string) {
	if c == nil {
		return string(probe.CacheUnknown), probe.UnknownPOP
	}
	cs, err := probe.ParseCacheStatus(string(c.Cache))
	if err != nil || cs != c.Cache {
		cs = probe.CacheUnknown
	}
	return string(cs), probe.POPCode(c.POP)
}

func pageFields(p *Point, m probe.PageMetrics) {
	v := m.Vitals
	p.floatPtr("lcp_ms", v.LCP).
		floatPtr("cls", v.CLS).
		floatPtr("inp_ms", v.INP).
		floatPtr("fcp_ms", v.FCP).
		floatPtr("ttfb_ms", v.TTFB)
	// good_<vital> is 1 when the vital rated good and 0 otherwise, written
	// only when observed: mean(good_lcp) * 100 is "% good" directly.
	for _, vital := range probe.AllVitals {
		if x := v.Get(vital); x != nil {
			good := int64(0)
			if probe.Rate(vital, *x) == probe.RatingGood {
				good = 1
			}
			p.int("good_"+string(vital), good)
			p.str(string(vital)+"_rating", string(probe.Rate(vital, *x)))
		}
	}
	p.float("load_ms", m.LoadMS).
		float("dom_content_loaded_ms", m.DOMContentLoadedMS).
		int("requests", int64(m.Requests)).
		int("failed_requests", int64(m.FailedRequests)).
		int("transfer_bytes", m.TransferBytes).
		int("console_errors", int64(m.ConsoleErrorCount))
	// How the page was observed, and what blocked it.
	p.float("settled_ms", m.SettledMS).
		float("tbt_ms", m.TBTMS).
		int("long_tasks", int64(m.LongTasks)).
		float("longest_task_ms", m.LongestTaskMS).
		int("render_blocking", int64(m.RenderBlockingCount))
	if m.SettleReason != "" {
		p.str("settle_reason", m.SettleReason)
	}
	if m.SoftNavigation != "" {
		p.str("soft_navigation", m.SoftNavigation)
	}
	// The payment field's readiness, on a page waited on for it: the
	// gateway (a string field: it is no series of its own) and, when the
	// field became ready, when.
	if m.PaymentProvider != "" {
		p.str("payment_provider", m.PaymentProvider)
	}
	p.floatPtr("payment_ready_ms", m.PaymentReadyMS)
	// What the page is made of: bytes by type, and the third parties'
	// share (their names stay in the store: a tag per domain would be
	// unbounded).
	r := m.Resources
	p.int("document_bytes", r.Document.Bytes).
		int("script_bytes", r.Script.Bytes).
		int("css_bytes", r.CSS.Bytes).
		int("image_bytes", r.Image.Bytes).
		int("font_bytes", r.Font.Bytes).
		int("xhr_bytes", r.XHR.Bytes).
		int("other_bytes", r.Other.Bytes).
		int("third_party_requests", int64(m.ThirdPartyRequests)).
		int("third_party_bytes", m.ThirdPartyBytes).
		float("third_party_blocking_ms", m.ThirdPartyBlockingMS)
	// Analytics hits recorded (answered in the browser unless passthrough)
	// and http subresources of an https page; the event names, findings
	// and URLs stay in the store.
	hits := func(vendor string) int64 {
		if t := m.Analytics.Vendor(vendor); t != nil {
			return int64(t.Fired)
		}
		return 0
	}
	p.int("ga4_hits", hits(probe.AnalyticsGA4)).
		int("adobe_hits", hits(probe.AnalyticsAdobe)).
		int("mixed_content", int64(m.MixedContentCount))
	if b := m.LCPBreakdown; b != nil {
		p.float("lcp_load_delay_ms", b.LoadDelayMS).
			float("lcp_load_duration_ms", b.LoadDurationMS).
			float("lcp_render_delay_ms", b.RenderDelayMS)
	}
}

// tagSet are the tags every point of a run carries.
type tagSet []Tag

func (ts tagSet) apply(p *Point) {
	for _, t := range ts {
		p.tag(t.Key, t.Value)
	}
}

func baseTags(run probe.Run) tagSet {
	final := run.Final()
	typ := run.Type
	if typ == "" {
		typ = final.Type
	}
	ts := tagSet{
		{"check", nameOr(run.Check, final.Check)},
		{"type", string(typ)},
		{"location", run.Location},
		{"probe", run.Probe},
		{"host", runHost(run)},
		{"platform", run.Tags["platform"]},
		{"cdn", run.Tags["cdn"]},
	}
	if final.BrowserDetails != nil {
		ts = append(ts, Tag{"device", final.Device})
	}
	return ts
}

func failureKind(ok bool, f *probe.Failure) string {
	if f != nil && f.Kind != "" {
		return string(f.Kind)
	}
	if ok {
		return FailureNone
	}
	// A failed result without a kind is a bug upstream; say so in the data
	// rather than counting it as a success.
	return string(probe.FailureProbeError)
}

// runHost is the host of the check's URL, lower-cased, with the port only
// when it is not the scheme's default: no path, query or credentials.
func runHost(run probe.Run) string {
	candidates := []string{}
	for i := len(run.Attempts) - 1; i >= 0; i-- {
		a := run.Attempts[i]
		candidates = append(candidates, a.URL)
		if a.BrowserDetails != nil {
			for _, p := range a.Pages {
				candidates = append(candidates, p.URL)
			}
		}
	}
	for _, c := range candidates {
		if h := HostOf(c); h != "" {
			return h
		}
	}
	return ""
}

// HostOf returns the host tag for a URL: host[:port] lower-cased, default
// ports dropped, or "" if raw is not an absolute URL.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || port == "80" && u.Scheme == "http" || port == "443" && u.Scheme == "https" {
		return host
	}
	return net.JoinHostPort(host, port)
}

// stepName is the step tag: the step's name with any absolute URL in it
// cut down to its path, so a default name like "goto https://shop/cart?x=1"
// becomes "goto /cart" — no hosts, queries or tokens in tags.
func stepName(st probe.StepResult) string {
	name := nameOr(st.Name, st.Action)
	fields := strings.Fields(name)
	for i, f := range fields {
		if u, err := url.Parse(f); err == nil && u.Scheme != "" && u.Host != "" {
			p := u.EscapedPath()
			if p == "" {
				p = "/"
			}
			fields[i] = p
		} else if j := strings.IndexAny(f, "?#"); j >= 0 && strings.HasPrefix(f, "/") {
			fields[i] = f[:j]
		}
	}
	return strings.Join(fields, " ")
}

func nameOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// uniqueNames suffixes repeats ("home", "home#2") so that a journey visiting
// one page twice keeps both points under the same timestamp. The suffix is
// added after shortening, within maxTagLen, and uniqueness is decided on the
// final tag value, so neither truncation nor a name that already ends in
// "#2" can make two pages or steps one series.
type uniqueNames map[string]bool

func (u uniqueNames) next(name string) string {
	name = sanitizeTag(name)
	v := shortenTag(name, maxTagLen)
	for n := 2; u[v]; n++ {
		suffix := "#" + strconv.Itoa(n)
		v = shortenTag(name, maxTagLen-len(suffix)) + suffix
	}
	u[v] = true
	return v
}

func offsetMS(t, ref time.Time) float64 {
	if t.IsZero() || ref.IsZero() {
		return 0
	}
	return probe.Millis(t.Sub(ref))
}

// Health is one sample of the probe's own health, written by the daemon as
// a probe_health point (directly, not through the outbox; the daemon keeps
// a bounded number of unsent samples through an outage).
type Health struct {
	Location       string
	Probe          string
	Shard          string // "i/n" when the probe runs one shard of its config; no tag otherwise
	At             time.Time
	LagP99MS       float64 // p99 schedule lag over the scheduler's recent-runs window
	OutboxDepth    int64   // runs waiting to be shipped, at sample time
	RejectedPoints int64   // points InfluxDB refused, the store's persistent total
	DroppedPoints  int64   // runs (not points) dropped by the outbox cap, the store's persistent total
	Runs           int64   // runs completed since the previous sample
	Skipped        int64   // runs skipped (overlap) since the previous sample
}

// HealthPoint is the probe_health point of one sample.
func HealthPoint(h Health) Point {
	p := newPoint(MeasurementProbeHealth, h.At)
	p.tag("location", h.Location).tag("probe", h.Probe)
	if h.Shard != "" {
		p.tag("shard", h.Shard)
	}
	p.float("lag_p99_ms", h.LagP99MS).
		int("outbox_depth", h.OutboxDepth).
		int("rejected_points", h.RejectedPoints).
		int("dropped_points", h.DroppedPoints).
		int("runs", h.Runs).
		int("skipped", h.Skipped)
	return p.done()
}
