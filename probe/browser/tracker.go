package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"

	"github.com/storeprobe/storeprobe/probe"
)

// Bounds on what one run keeps in memory and in its artifacts, whatever
// the page does: past them, requests are still counted but not detailed,
// and further documents are not measured.
const (
	maxRequests      = 2000     // request log entries (HAR)
	maxInflight      = 4096     // requests tracked while in flight
	maxLoaders       = 256      // documents (frames included) with network totals
	maxPages         = 64       // pages (documents and soft navigations) with vitals
	maxConsoleErrors = 50       // also dialogs and popups recorded
	maxPopupQueue    = 16       // popups waiting to be closed
	maxMessageLen    = 500      // characters of a console message or exception
	maxPayload       = 24 << 10 // one collector message (one view)
	maxURLLen        = 2048
	maxElementLen    = 200
)

// tracker folds the CDP events of one run's tab into state the runner reads:
// navigation progress, in-flight requests, per-document network totals,
// console errors, vitals from the collector binding, and renderer crashes.
// Its handle method runs on chromedp's read loop, so it only updates state
// under a mutex and never sends a command.
type tracker struct {
	redact  *probe.Redactor
	nonce   string // prefix of every genuine collector message (collector.js)
	limits  limits
	onCrash func() // called once, from the read loop, when the renderer dies
	dialogs chan struct{}
	popups  chan target.ID // tabs the page opened, for the guard to close

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every state change
	mainFrame cdp.FrameID

	// Main-frame navigation.
	navSeq    int  // navigations started
	loading   bool // between frameStartedLoading and frameStoppedLoading
	url       string
	loader    cdp.LoaderID // loader of the committed main document
	docReq    network.RequestID
	docStatus int64
	docErr    string // net error of the main document request

	// Network. The settle rule's network quiet runs from the later of the
	// load event and the last moment the network was busy: more than
	// netBusyRequests requests in flight, or a critical one (see
	// isCritical).
	inflight  map[network.RequestID]flight
	critical  int       // critical requests in flight
	overflow  int       // requests started while inflight was full, never retired
	loadedAt  time.Time // the main frame's last load
	busyUntil time.Time // the last moment the network was busy
	urlAt     time.Time // the main frame's last same-document URL change
	requests  []*requestEntry
	dropped   int                                 // requests past the log's cap, counted but not logged
	byID      map[network.RequestID]*requestEntry // in flight only
	stats     map[cdp.LoaderID]*netStats

	// Documents seen by the collector, in order.
	docs  []*document
	docBy map[string]*document

	consoleErrors []string
	exceptions    []string
	dialogLog     []string // "<type>: <message>" of every dialog the page opened
	popupLog      []string // URLs of the tabs the page opened (closed at once)
	crashed       bool
	detached      bool // the tab's debugging session ended under us

	// Analytics beacons paused by Fetch, waiting for answerBeacons.
	paused      []pausedBeacon
	beaconSig   chan struct{}
	passthrough bool // beacons go on to their vendors
	consent     int  // consentNone or consentPending
}

// flight is a request in flight.
type flight struct {
	at       time.Time // started
	main     bool      // requested by the main frame
	kind     resourceKind
	critical bool
}

// isCritical says whether a request in flight keeps the page busy on its
// own: Lighthouse's critical requests (the main frame's, at High or
// VeryHigh priority: the document, render-blocking scripts and styles,
// fonts, images in the viewport, such as the LCP's), except XHR and fetch,
// so that a long poll is not busy (see settle.go).
func isCritical(f flight, p network.ResourcePriority) bool {
	return f.main && (p == network.ResourcePriorityHigh || p == network.ResourcePriorityVeryHigh) &&
		f.kind != kindXHR && f.kind != kindOther
}

// netStats are the network totals of one document (loader): its own
// requests and those of its frames, in segments split at the main frame's
// same-document URL changes, so a soft navigation can have its own.
type netStats struct {
	requests, failed int
	bytes            int64
	segs             []*segment
}

// requestEntry is one request of the HAR-like log.
type requestEntry struct {
	URL        string    `json:"url"` // redacted
	Method     string    `json:"method"`
	Type       string    `json:"type"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Status     int64     `json:"status,omitempty"`
	MimeType   string    `json:"mime_type,omitempty"`
	Protocol   string    `json:"protocol,omitempty"`
	RemoteIP   string    `json:"remote_ip,omitempty"`
	Bytes      int64     `json:"transfer_bytes"`
	Error      string    `json:"error,omitempty"`
	Failed     bool      `json:"failed"`
	Redirected bool      `json:"redirected,omitempty"`

	loader  cdp.LoaderID // the page's document: the main frame's loader
	main    bool         // requested by the main frame
	seg     *segment     // the page segment it is counted in
	kind    resourceKind
	domain  string  // registrable domain of its host
	startTS float64 // CDP monotonic seconds
	timing  *network.ResourceTiming
	done    bool
	// wireStatus is the status from responseReceivedExtraInfo.
	wireStatus int64
	id         network.RequestID
}

// document is one page the collector reported on: a top-level document or
// a soft navigation within one (a view, in collector.js).
type document struct {
	id     string
	name   string // the journey's page name, if a step named it
	loader cdp.LoaderID
	v      collected
	errors int // console errors while it was the current page
	// payment is the gateway a payment wait looked for on this page, and
	// paymentAt when its field was ready (the document's performance.now()).
	payment   probe.PaymentProvider
	paymentAt *float64
}

// collected is the collector's JSON message about one view (see
// collector.js). Times are ms from the view's start, except Start (from
// the document's time origin).
type collected struct {
	ID                 string              `json:"id"`
	Doc                string              `json:"doc"`  // the document's view id
	Soft               string              `json:"soft"` // "", heuristics or fallback
	URL                string              `json:"url"`
	Seq                int                 `json:"seq"`
	Final              bool                `json:"final"`
	Start              float64             `json:"start"`
	FCP                *float64            `json:"fcp"`
	LCP                *float64            `json:"lcp"`
	LCPElement         string              `json:"lcp_element"`
	LCPURL             string              `json:"lcp_url"`
	LCPRequestStart    *float64            `json:"lcp_request_start"`
	LCPResponseEnd     *float64            `json:"lcp_response_end"`
	CLS                *float64            `json:"cls"`
	INP                *float64            `json:"inp"`
	Interactions       int                 `json:"interactions"`
	TTFB               *float64            `json:"ttfb"`
	Load               *float64            `json:"load"`
	DCL                *float64            `json:"dcl"`
	End                *float64            `json:"end"`
	EndReason          string              `json:"end_reason"`
	TBT                float64             `json:"tbt"`
	LongTasks          int                 `json:"long_tasks"`
	LongestTask        float64             `json:"longest_task"`
	Tasks              []collectedTask     `json:"tasks"`
	Scripts            []collectedScript   `json:"scripts"`
	RenderBlocking     int                 `json:"render_blocking"`
	RenderBlockingList []collectedBlocking `json:"render_blocking_list"`
}

type collectedTask struct {
	Start    float64 `json:"start"`
	Duration float64 `json:"duration"`
	Script   string  `json:"script"`
}

type collectedScript struct {
	URL      string  `json:"url"`
	Blocking float64 `json:"blocking"`
}

type collectedBlocking struct {
	URL   string  `json:"url"`
	Type  string  `json:"type"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// limits are the tracker's caps (the constants above; tests lower them).
type limits struct {
	requests, inflight, loaders, pages int
}

var defaultLimits = limits{requests: maxRequests, inflight: maxInflight, loaders: maxLoaders, pages: maxPages}

func newTracker(redact *probe.Redactor, nonce string) *tracker {
	return &tracker{
		redact:    redact,
		nonce:     nonce,
		limits:    defaultLimits,
		dialogs:   make(chan struct{}, 1),
		beaconSig: make(chan struct{}, 1),
		popups:    make(chan target.ID, maxPopupQueue),
		changed:   make(chan struct{}),
		inflight:  map[network.RequestID]flight{},
		byID:      map[network.RequestID]*requestEntry{},
		stats:     map[cdp.LoaderID]*netStats{},
		docBy:     map[string]*document{},
	}
}

// notifyLocked wakes every waiter.
func (t *tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *tracker) setMainFrame(id cdp.FrameID) {
	t.mu.Lock()
	t.mainFrame = id
	t.mu.Unlock()
}

func (t *tracker) isMain(id cdp.FrameID) bool { return id != "" && id == t.mainFrame }

// statsLocked is the totals of loader l; past the cap a new loader shares
// a scratch record nobody reads, except the main frame's, which is always
// kept (its documents are the pages reported).
func (t *tracker) statsLocked(l cdp.LoaderID, main bool) *netStats {
	s := t.stats[l]
	if s == nil {
		s = &netStats{segs: []*segment{newSegment("", time.Now())}}
		if len(t.stats) < t.limits.loaders || main {
			t.stats[l] = s
		}
	}
	return s
}

func (t *tracker) handle(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameStartedLoading:
		if t.isMain(ev.FrameID) {
			t.loading = true
			t.navSeq++
		}
	case *page.EventFrameStoppedLoading:
		if t.isMain(ev.FrameID) {
			t.loading = false
			// Network quiet runs from the later of the load event and the
			// end of the last busy spell: under CPU throttling load can
			// come long after the network went quiet, and work scheduled
			// after load (a late shift, a lazy hero) belongs to the page.
			t.loadedAt = time.Now()
		}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" && t.isMain(ev.Frame.ID) {
			t.url = ev.Frame.URL
			t.loader = ev.Frame.LoaderID
		}
	case *page.EventNavigatedWithinDocument:
		if t.isMain(ev.FrameID) {
			t.url = ev.URL
			t.urlAt = time.Now()
			// A route change may be a soft navigation: its requests start
			// a segment of their own (merged back if it is not one).
			if st := t.stats[t.loader]; st != nil && len(st.segs) < maxSegments {
				st.segs = append(st.segs, newSegment(ev.URL, t.urlAt))
			}
		}
	case *page.EventJavascriptDialogOpening:
		t.dialogLog = appendBounded(t.dialogLog, t.clip(string(ev.Type)+": "+ev.Message))
		select {
		case t.dialogs <- struct{}{}:
		default:
		}
	case *page.EventWindowOpen:
		// The URL the page opens (window.open, a target=_blank link): the
		// new tab itself starts as about:blank and is closed before it
		// gets there.
		t.popupLog = appendBounded(t.popupLog, t.clip(t.redact.URL(ev.URL)))
	case *target.EventTargetCreated:
		// A popup (window.open, a target=_blank link) is a tab of its own
		// in the run's browser context: never the measured page.
		if in := ev.TargetInfo; in != nil && in.Type == "page" && t.mainFrame != "" && cdp.FrameID(in.OpenerID) == t.mainFrame {
			select {
			case t.popups <- in.TargetID:
			default:
				// More at once than the guard keeps up with: they are
				// closed with the run's browser context.
			}
		}
	case *network.EventRequestWillBeSent:
		t.requestLocked(ev)
	case *audits.EventIssueAdded:
		if ev.Issue != nil && ev.Issue.Details != nil && ev.Issue.Details.MixedContentIssueDetails != nil {
			t.mixedLocked(ev.Issue.Details.MixedContentIssueDetails)
		}
	case *fetch.EventRequestPaused:
		t.beaconLocked(ev, nil) // the tab's own session
	case *network.EventResourceChangedPriority:
		// Chrome raises an image to High once layout puts it in the
		// viewport: the LCP image becomes critical then.
		if f, ok := t.inflight[ev.RequestID]; ok {
			crit := isCritical(f, ev.NewPriority)
			if crit != f.critical {
				if crit {
					t.critical++
				} else {
					t.critical--
				}
				f.critical = crit
				t.inflight[ev.RequestID] = f
			}
			if t.netBusyLocked() || !crit {
				t.busyUntil = time.Now()
			}
		}
	case *network.EventResponseReceived:
		if r := t.byID[ev.RequestID]; r != nil && ev.Response != nil {
			r.Status = ev.Response.Status
			r.MimeType = ev.Response.MimeType
			r.Protocol = ev.Response.Protocol
			r.RemoteIP = ev.Response.RemoteIPAddress
			r.timing = ev.Response.Timing
			if r.Status >= 400 && !r.Failed {
				r.Failed = true
				t.statsLocked(r.loader, r.main).failed++
				r.seg.failed++
			}
		}
		if ev.RequestID == t.docReq && ev.Response != nil {
			t.docStatus = ev.Response.Status
		}
	case *network.EventResponseReceivedExtraInfo:
		// The status on the wire, also of a response Chrome then blocked
		// (ORB, CORS) without a responseReceived: a script's 404.
		// It may come after the request failed: look among the last ones.
		r := t.byID[ev.RequestID]
		for i := len(t.requests) - 1; r == nil && i >= 0 && i >= len(t.requests)-64; i-- {
			if t.requests[i].id == ev.RequestID {
				r = t.requests[i]
			}
		}
		if r != nil && r.wireStatus == 0 {
			r.wireStatus = ev.StatusCode
		}
	case *network.EventLoadingFinished:
		if r := t.byID[ev.RequestID]; r != nil && !r.done {
			r.done = true
			r.Bytes += int64(ev.EncodedDataLength)
			r.DurationMS = (float64(ev.Timestamp) - r.startTS) * 1000
			t.statsLocked(r.loader, r.main).bytes += int64(ev.EncodedDataLength)
			r.seg.add(r.kind, r.domain, 0, int64(ev.EncodedDataLength))
		}
		t.finishLocked(ev.RequestID)
	case *network.EventLoadingFailed:
		if r := t.byID[ev.RequestID]; r != nil && !r.done {
			r.done = true
			r.Error = ev.ErrorText
			r.DurationMS = (float64(ev.Timestamp) - r.startTS) * 1000
			// A request the page itself canceled (navigation away, aborted
			// fetch) is not a failure of the shop.
			if !ev.Canceled && !r.Failed {
				r.Failed = true
				t.statsLocked(r.loader, r.main).failed++
				r.seg.failed++
			}
		}
		if ev.RequestID == t.docReq {
			t.docErr = ev.ErrorText
		}
		t.finishLocked(ev.RequestID)
	case *runtime.EventBindingCalled:
		// Only the collector knows the nonce; anything else calling a
		// binding (a frame the collector did not run in) is ignored.
		if p, ok := strings.CutPrefix(ev.Payload, t.nonce); ok && ev.Name == bindingName && t.nonce != "" {
			t.collectLocked(p)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			parts := make([]string, 0, len(ev.Args))
			for _, a := range ev.Args {
				parts = append(parts, remoteText(a))
			}
			t.consoleLocked("console.error: " + strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		msg := exceptionText(ev.ExceptionDetails)
		t.exceptions = appendBounded(t.exceptions, t.clip(msg))
		t.consoleLocked("uncaught: " + msg)
	case *log.EventEntryAdded:
		if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
			msg := ev.Entry.Text
			if ev.Entry.URL != "" {
				msg += " (" + t.redact.URL(ev.Entry.URL) + ")"
			}
			t.consoleLocked(string(ev.Entry.Source) + ": " + msg)
		}
	case *inspector.EventDetached:
		t.detached = true
	case *inspector.EventTargetCrashed:
		if !t.crashed {
			t.crashed = true
			if t.onCrash != nil {
				t.onCrash()
			}
		}
	default:
		return
	}
	t.notifyLocked()
}

func (t *tracker) requestLocked(ev *network.EventRequestWillBeSent) {
	if ev.Request == nil || !(strings.HasPrefix(ev.Request.URL, "http:") || strings.HasPrefix(ev.Request.URL, "https:")) {
		return
	}
	main := t.isMain(ev.FrameID)
	if ev.Type == network.ResourceTypeDocument && main {
		t.docReq, t.docStatus, t.docErr = ev.RequestID, 0, ""
	}
	// A frame's requests are its page's: they count for the main frame's
	// document of the moment.
	loader := ev.LoaderID
	if !main && t.loader != "" {
		loader = t.loader
	}
	st := t.statsLocked(loader, main)
	seg := st.segs[len(st.segs)-1]
	kind, domain := kindOf(ev.Type), registrableDomain(hostOf(ev.Request.URL))
	if prev := t.byID[ev.RequestID]; prev != nil && ev.RedirectResponse != nil {
		// A redirect reuses the request id: close the earlier hop.
		prev.done, prev.Redirected = true, true
		prev.Status = ev.RedirectResponse.Status
		prev.Bytes = int64(ev.RedirectResponse.EncodedDataLength)
		prev.DurationMS = (float64(ev.Timestamp) - prev.startTS) * 1000
		st.bytes += prev.Bytes
		prev.seg.add(prev.kind, prev.domain, 0, prev.Bytes)
	}
	st.requests++
	seg.add(kind, domain, 1, 0)
	now := time.Now()
	if _, ok := t.inflight[ev.RequestID]; !ok && len(t.inflight) >= t.limits.inflight {
		// Too many requests hang at once to follow each: count it, and
		// never call the page quiet again (settling is bounded anyway).
		t.overflow++
		t.busyUntil = now
		delete(t.byID, ev.RequestID)
		return
	}
	if prev, ok := t.inflight[ev.RequestID]; ok && prev.critical {
		t.critical-- // a redirect: the request goes on as its new hop
	}
	f := flight{at: now, main: main, kind: kind}
	f.critical = isCritical(f, ev.Request.InitialPriority)
	if f.critical {
		t.critical++
	}
	t.inflight[ev.RequestID] = f
	if t.netBusyLocked() {
		t.busyUntil = now
	}
	r := &requestEntry{
		Method: ev.Request.Method, Type: string(ev.Type),
		Started: time.UnixMilli(int64(float64(ev.WallTime) * 1000)).UTC(),
		loader:  loader, main: main, seg: seg, kind: kind, domain: domain, startTS: float64(ev.Timestamp),
		id: ev.RequestID,
	}
	// Past the log's cap a request is only followed until it ends (for
	// its document's totals), without its URL.
	if len(t.requests) < t.limits.requests {
		r.URL = t.redact.URL(ev.Request.URL)
		t.requests = append(t.requests, r)
	} else {
		t.dropped++
	}
	t.byID[ev.RequestID] = r
}

func (t *tracker) finishLocked(id network.RequestID) {
	if f, ok := t.inflight[id]; ok {
		// Busy until the moment the network stops being busy.
		if t.netBusyLocked() {
			t.busyUntil = time.Now()
		}
		if f.critical {
			t.critical--
		}
		delete(t.inflight, id)
	}
	delete(t.byID, id)
}

// netBusyLocked reports whether more requests than netBusyRequests, or a
// critical one, are in flight (past the inflight cap, for ever).
func (t *tracker) netBusyLocked() bool {
	return len(t.inflight) > netBusyRequests || t.critical > 0 || t.overflow > 0
}

// netQuietIn is how much longer the network must stay as it is for the
// settle rule: 0 once the main frame has loaded and at most
// netBusyRequests requests have been in flight for settleWindow; while it
// loads or is busy, settleWindow (a re-check bound: ch wakes the caller on
// any change).
func (t *tracker) netQuietIn(now time.Time) (wait time.Duration, ch chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loading || t.netBusyLocked() {
		return settleWindow, t.changed
	}
	since := t.loadedAt
	if t.busyUntil.After(since) {
		since = t.busyUntil
	}
	return max(settleWindow-now.Sub(since), 0), t.changed
}

// routeRequests counts the requests in flight that started after the
// main frame's last same-document URL change: a route change still
// fetching what it will show.
func (t *tracker) routeRequests() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.urlAt.IsZero() {
		return 0
	}
	n := 0
	for _, f := range t.inflight {
		if !f.at.Before(t.urlAt) {
			n++
		}
	}
	return n
}

// collectLocked folds in one collector message. The page shares the
// renderer with the collector, so its values are checked like any input:
// sizes, ranges and the number of documents are bounded, and a message
// that does not fit is dropped whole.
func (t *tracker) collectLocked(payload string) {
	if len(payload) > maxPayload {
		return
	}
	var c collected
	if err := json.Unmarshal([]byte(payload), &c); err != nil || !c.valid() {
		return
	}
	c.clip()
	d := t.docBy[c.ID]
	if d == nil {
		if len(t.docs) >= t.limits.pages {
			return
		}
		d = &document{id: c.ID, loader: t.loader}
		if doc := t.docBy[c.Doc]; c.Soft != "" && doc != nil {
			// A soft navigation is part of its document's loader.
			d.loader = doc.loader
		} else if c.Soft != "" {
			return // a view of a document never reported: forged or lost
		}
		t.docBy[c.ID] = d
		t.docs = append(t.docs, d)
	}
	// Messages can arrive out of order around pagehide; keep the newest.
	if c.Seq >= d.v.Seq {
		d.v = c
	}
}

// Sane ranges of collector values: timings within a day of navigation
// start (in ms), CLS far beyond any real page.
const (
	maxTimingMS = 24 * 3600 * 1000
	maxCLS      = 1000
)

// Bounds of the collector's lists (collector.js keeps to them).
const (
	maxTasks    = 5
	maxScripts  = 10
	maxBlocking = 5
)

func (c collected) valid() bool {
	if c.ID == "" || len(c.ID) > 64 || len(c.Doc) > 64 || c.Seq < 0 || c.Interactions < 0 || c.Interactions > 1<<30 ||
		c.LongTasks < 0 || c.LongTasks > 1<<30 || c.RenderBlocking < 0 || c.RenderBlocking > 1<<30 {
		return false
	}
	switch c.Soft {
	case "", probe.SoftNavHeuristics, probe.SoftNavFallback:
	default:
		return false
	}
	switch c.EndReason {
	case "", probe.SettleQuiet, probe.SettleCap, probe.SettleNavigation, probe.SettleInput:
	default:
		return false
	}
	if len(c.Tasks) > maxTasks || len(c.Scripts) > maxScripts || len(c.RenderBlockingList) > maxBlocking {
		return false
	}
	times := []*float64{c.FCP, c.LCP, c.INP, c.TTFB, c.Load, c.DCL, c.End, c.LCPRequestStart, c.LCPResponseEnd,
		&c.Start, &c.TBT, &c.LongestTask}
	for i := range c.Tasks {
		times = append(times, &c.Tasks[i].Duration)
	}
	for i := range c.Scripts {
		times = append(times, &c.Scripts[i].Blocking)
	}
	for i := range c.RenderBlockingList {
		times = append(times, &c.RenderBlockingList[i].Start, &c.RenderBlockingList[i].End)
	}
	for _, v := range times {
		if v != nil && !(*v >= 0 && *v <= maxTimingMS) { // also rejects NaN
			return false
		}
	}
	for _, tk := range c.Tasks {
		// A task may start before its view (a soft navigation's start).
		if !(tk.Start >= -maxTimingMS && tk.Start <= maxTimingMS) {
			return false
		}
	}
	return c.CLS == nil || (*c.CLS >= 0 && *c.CLS <= maxCLS)
}

// clip cuts the collector's strings to their bounds.
func (c *collected) clip() {
	c.URL = clipUTF8(c.URL, maxURLLen)
	c.LCPElement = clipUTF8(c.LCPElement, maxElementLen)
	c.LCPURL = clipUTF8(c.LCPURL, maxURLLen)
	for i := range c.Tasks {
		c.Tasks[i].Script = clipUTF8(c.Tasks[i].Script, maxURLLen)
	}
	for i := range c.Scripts {
		c.Scripts[i].URL = clipUTF8(c.Scripts[i].URL, maxURLLen)
	}
	for i := range c.RenderBlockingList {
		b := &c.RenderBlockingList[i]
		b.URL = clipUTF8(b.URL, maxURLLen)
		if b.Type != "css" && b.Type != "script" {
			b.Type = "other"
		}
	}
}

// clipUTF8 cuts s to at most n bytes without splitting a character.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (t *tracker) consoleLocked(msg string) {
	t.consoleErrors = appendBounded(t.consoleErrors, t.clip(msg))
	if n := len(t.docs); n > 0 {
		t.docs[n-1].errors++
	}
}

func (t *tracker) clip(s string) string {
	return probe.Clip(t.redact.String(s), maxMessageLen)
}

func appendBounded(list []string, s string) []string {
	if len(list) >= maxConsoleErrors {
		return list
	}
	return append(list, s)
}

// remoteText renders a console argument roughly as DevTools shows it.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	if o.Description != "" {
		return o.Description
	}
	if len(o.Value) > 0 {
		return string(o.Value)
	}
	return string(o.Type)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		// The first line is the message; the rest is a stack.
		msg, _, _ := strings.Cut(d.Exception.Description, "\n")
		return msg
	}
	if d.Exception != nil && len(d.Exception.Value) > 0 {
		return d.Text + " " + string(d.Exception.Value)
	}
	return d.Text
}

// wait blocks until cond (called under the lock) holds or ctx ends.
func (t *tracker) wait(ctx context.Context, cond func() bool) error {
	for {
		t.mu.Lock()
		ok := cond()
		ch := t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// snapshot is a copy of the state a result is built from.
type snapshot struct {
	url           string
	navSeq        int
	loading       bool
	docStatus     int64
	docErr        string
	docs          []document
	stats         map[cdp.LoaderID]netStats
	consoleErrors []string
	exceptions    []string
	dialogs       []string
	popups        []string
	crashed       bool
	dropped       int // requests counted but not in the request log
}

func (t *tracker) snapshot() snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := snapshot{
		url: t.url, navSeq: t.navSeq, loading: t.loading, docStatus: t.docStatus, docErr: t.docErr,
		stats:         make(map[cdp.LoaderID]netStats, len(t.stats)),
		consoleErrors: append([]string{}, t.consoleErrors...), // [] in JSON, never null
		exceptions:    append([]string(nil), t.exceptions...),
		dialogs:       append([]string(nil), t.dialogLog...),
		popups:        append([]string(nil), t.popupLog...),
		crashed:       t.crashed,
		dropped:       t.dropped,
	}
	for _, d := range t.docs {
		s.docs = append(s.docs, *d)
	}
	for k, v := range t.stats {
		s.stats[k] = v.clone()
	}
	return s
}

// requestLog returns a copy of the request entries for the HAR-like log.
func (t *tracker) requestLog() []requestEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]requestEntry, len(t.requests))
	for i, r := range t.requests {
		out[i] = *r
	}
	return out
}

// nameCurrent gives the newest document a page name unless it has one.
func (t *tracker) nameCurrent(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.docs); n > 0 && t.docs[n-1].name == "" {
		t.docs[n-1].name = name
	}
}

// currentDoc is the id of the newest document, "" before the first.
func (t *tracker) currentDoc() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.docs); n > 0 {
		return t.docs[n-1].id
	}
	return ""
}

func (d document) String() string { return fmt.Sprintf("%s %s", d.id, d.v.URL) }
