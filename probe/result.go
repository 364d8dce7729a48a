package probe

import (
	"encoding/json"
	"time"
)

// CheckType is what kind of check produced a result.
type CheckType string

// Check types. Journeys and single-page browser checks share the browser.
const (
	TypeHTTP    CheckType = "http"
	TypeBrowser CheckType = "browser"
	TypeJourney CheckType = "journey"
)

// Valid reports whether t is a known check type.
func (t CheckType) Valid() bool {
	return t == TypeHTTP || t == TypeBrowser || t == TypeJourney
}

// Result is the outcome of one attempt of one check. A failed target is a
// Result with OK false and a Failure, never a Go error.
//
// Its JSON form is the public output of `storeprobe check|browse|journey
// --output json`: the type-specific details are embedded so that their keys
// sit at the top level, and are absent for other types.
type Result struct {
	Check     string    `json:"check"`
	Type      CheckType `json:"type"`
	URL       string    `json:"url"`       // redacted
	FinalURL  string    `json:"final_url"` // redacted; after redirects / navigation
	OK        bool      `json:"ok"`
	Failure   *Failure  `json:"failure"`
	Attempt   int       `json:"attempt"`    // 1-based
	StartedAt time.Time `json:"started_at"` // UTC
	// DurationMS is the check's headline duration in milliseconds: total time
	// for HTTP, load_ms for a browser page, the whole journey for journeys.
	DurationMS float64 `json:"duration_ms"`

	*HTTPDetails
	*BrowserDetails
}

// MarshalJSON is the default encoding, except that a browser page's
// analytics are kept: embedded at the top level, PageMetrics.Analytics
// would be hidden by HTTPDetails.Analytics (the platform's list, a
// shallower key of the same name) even when there are no HTTP details.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if r.HTTPDetails != nil || r.BrowserDetails == nil || r.PageMetrics == nil || r.PageMetrics.Analytics == nil {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		Analytics *PageAnalytics `json:"analytics"`
	}{plain(r), r.PageMetrics.Analytics})
}

// HTTPDetails are the facts of an HTTP check. See README "JSON output".
type HTTPDetails struct {
	StatusCode  int      `json:"status_code"`
	Timings     Timings  `json:"timings_ms"`
	TLS         *TLSInfo `json:"tls"`        // nil for plain http
	Bytes       int64    `json:"bytes"`      // decoded body bytes read
	WireBytes   int64    `json:"wire_bytes"` // bytes received on the wire, headers included
	Redirects   int      `json:"redirects"`
	HTTPVersion string   `json:"http_version"`
	RemoteIP    string   `json:"remote_ip"`

	// What the response reveals about the shop (probe/platform): the
	// platform from a closed, lower-case set, for tags and filters, and
	// the CDN in front with its cache status and point of presence (nil
	// when no response arrived).
	Platform        string   `json:"platform,omitempty"`
	CDN             *CDNInfo `json:"cdn,omitempty"`
	Analytics       []string `json:"analytics,omitempty"`
	PaymentGateways []string `json:"payment_gateways,omitempty"`

	// Warmup counts the unmeasured requests sent first (nil without).
	Warmup *Warmup `json:"warmup,omitempty"`
	// Origin is the origin_url's measurement, beside the edge's (nil
	// without origin_url).
	Origin *OriginResult `json:"origin,omitempty"`
	// Security is the judgement of the response's headers and cookies
	// (nil unless the check asked for it).
	Security *SecurityReport `json:"security,omitempty"`
}

// CDNProvider is the provider of the CDN in front, or "" when no response
// told.
func (h *HTTPDetails) CDNProvider() string {
	if h == nil || h.CDN == nil {
		return ""
	}
	return h.CDN.Provider
}

// Timings are HTTP phase durations in milliseconds. The phases of the final
// hop (DNS, Connect, TLS, Wait, Transfer) are disjoint and sum to
// Total - Redirect.
type Timings struct {
	DNS      float64 `json:"dns"`
	Connect  float64 `json:"connect"`
	TLS      float64 `json:"tls"`
	Wait     float64 `json:"wait"`     // request written -> first byte
	Transfer float64 `json:"transfer"` // first byte -> last byte
	TTFB     float64 `json:"ttfb"`     // start of the final hop -> first byte
	Redirect float64 `json:"redirect"` // time spent on earlier hops
	Total    float64 `json:"total"`    // start of the first request -> last byte
}

// TLSInfo describes the negotiated TLS session of the final hop.
type TLSInfo struct {
	Version      string    `json:"version"`
	Cipher       string    `json:"cipher"`
	CertSubject  string    `json:"cert_subject"`
	CertIssuer   string    `json:"cert_issuer"`
	CertNotAfter time.Time `json:"cert_not_after"` // earliest NotAfter of the verified chain
	CertDaysLeft float64   `json:"cert_days_left"`
}

// BrowserDetails are the facts of a browser page check or a journey.
// For a single-page `browse` the page's metrics are embedded at the top
// level; a journey lists its Steps and Pages.
type BrowserDetails struct {
	Device string `json:"device"`
	*PageMetrics
	Steps         []StepResult `json:"steps,omitempty"`
	Pages         []PageResult `json:"pages,omitempty"`
	ConsoleErrors []string     `json:"console_errors"`
	// Dialogs are the alert, confirm, prompt and beforeunload dialogs
	// the page opened ("alert: message", redacted), each accepted at
	// once; Popups the URLs of the tabs it opened (window.open,
	// target=_blank), each closed at once. Stored with the attempt
	// (SQLite schema 11).
	Dialogs []string `json:"dialogs,omitempty"`
	Popups  []string `json:"popups,omitempty"`
	// Artifacts are files kept for a failed run (screenshot, request log),
	// relative to the store's artifact directory.
	Artifacts []string `json:"artifacts,omitempty"`
}

// PageMetrics are what one page of a browser check measured. A page is a
// document, or in a journey also a soft navigation (a route change through
// the History API that repainted), measured from the route change.
type PageMetrics struct {
	Vitals     Vitals  `json:"vitals"`
	Ratings    Ratings `json:"ratings"`
	LCPElement string  `json:"lcp_element"`
	// LCPBreakdown says why the LCP took its time (web.dev's four parts);
	// nil without an LCP.
	LCPBreakdown       *LCPBreakdown `json:"lcp_breakdown"`
	LoadMS             float64       `json:"load_ms"`               // loadEventEnd; 0 for a soft navigation
	DOMContentLoadedMS float64       `json:"dom_content_loaded_ms"` // domContentLoadedEventEnd
	// SoftNavigation is how a route-change page was recognised:
	// SoftNavHeuristics (Chrome's soft-navigation entries) or
	// SoftNavFallback; "" for a document.
	SoftNavigation string `json:"soft_navigation,omitempty"`
	// SettledMS is when observation of the page's loading ended, from its
	// start, and SettleReason why (the Settle* values).
	SettledMS    float64 `json:"settled_ms"`
	SettleReason string  `json:"settle_reason"`
	// TBTMS is Lighthouse's Total Blocking Time: over the long tasks
	// between FCP and the end of observation, the sum of their time beyond
	// 50 ms. LongTasks counts the page's long tasks (over 50 ms) until the
	// end of observation; LongestTasks are the longest of them.
	TBTMS         float64    `json:"tbt_ms"`
	LongTasks     int        `json:"long_tasks"`
	LongestTaskMS float64    `json:"longest_task_ms"`
	LongestTasks  []LongTask `json:"longest_tasks,omitempty"`
	// What the page is made of: its requests (all its frames') by type,
	// and the share of third parties (other registrable domains than the
	// page's).
	Requests             int          `json:"requests"`
	FailedRequests       int          `json:"failed_requests"`
	TransferBytes        int64        `json:"transfer_bytes"` // encoded bytes from CDP Network events
	Resources            Resources    `json:"resources"`
	ThirdPartyRequests   int          `json:"third_party_requests"`
	ThirdPartyBytes      int64        `json:"third_party_bytes"`
	ThirdPartyBlockingMS float64      `json:"third_party_blocking_ms"`
	ThirdParties         []ThirdParty `json:"third_parties,omitempty"`
	ConsoleErrorCount    int          `json:"console_errors_count,omitempty"`
	// RenderBlockingCount counts the render-blocking resources requested
	// before FCP; RenderBlocking lists the last to finish of them.
	RenderBlockingCount int                      `json:"render_blocking,omitempty"`
	RenderBlocking      []RenderBlockingResource `json:"render_blocking_resources,omitempty"`
	// JSHeapBytes is the peak JavaScript heap (used bytes of the page's
	// main isolate) read while this was the page, sampled every 500 ms.
	JSHeapBytes int64 `json:"js_heap_bytes,omitempty"`
	// PaymentProvider is the payment gateway the page was waited on for
	// (a wait_for_payment step, a browser check's payment key), and
	// PaymentReadyMS when its card field or buttons became ready and
	// interactive, ms from the page's start; nil when they never did.
	PaymentProvider string   `json:"payment_provider,omitempty"`
	PaymentReadyMS  *float64 `json:"payment_ready_ms,omitempty"`
	// Analytics are the analytics beacons the page sent, by vendor (nil
	// when it sent none); AnalyticsFindings what they reveal (a beacon
	// before the consent click). See README "Google Analytics 4 / Adobe
	// Analytics".
	Analytics         *PageAnalytics     `json:"analytics,omitempty"`
	AnalyticsFindings []AnalyticsFinding `json:"analytics_findings,omitempty"`
	// MixedContent lists the page's http:// subresources while it was
	// served over https (the first MaxMixedContent of them);
	// MixedContentCount counts them all.
	MixedContent      []MixedContent `json:"mixed_content,omitempty"`
	MixedContentCount int            `json:"mixed_content_count,omitempty"`
}

// Analytics vendors, as in --expect-analytics, the config's analytics key
// and the keys of PageAnalytics.
const (
	AnalyticsGA4   = "ga4"   // Google Analytics 4: gtag.js, GTM (/g/collect)
	AnalyticsAdobe = "adobe" // Adobe Analytics: AppMeasurement (/b/ss/) and the Web SDK (/ee/.../interact)
)

// AnalyticsVendors are the known vendors, in their order in results.
func AnalyticsVendors() []string { return []string{AnalyticsGA4, AnalyticsAdobe} }

// PageAnalytics are one page's beacons per vendor; a vendor that sent
// nothing is nil.
type PageAnalytics struct {
	GA4   *BeaconTally `json:"ga4,omitempty"`
	Adobe *BeaconTally `json:"adobe,omitempty"`
}

// Vendor is the tally of vendor (an Analytics* name), nil if none.
func (a *PageAnalytics) Vendor(vendor string) *BeaconTally {
	if a == nil {
		return nil
	}
	switch vendor {
	case AnalyticsGA4:
		return a.GA4
	case AnalyticsAdobe:
		return a.Adobe
	}
	return nil
}

// BeaconTally counts one vendor's hits on a page: Fired is the number of
// hits (a GA4 batch counts each event in it, an Adobe Web SDK request
// each of its events), Events their distinct names in the order first
// seen (at most MaxBeaconEvents, each at most MaxBeaconEventLen bytes).
type BeaconTally struct {
	Fired  int      `json:"fired"`
	Events []string `json:"events"`
}

// Bounds of what a page keeps of its beacons and mixed content.
const (
	MaxBeaconEvents   = 20
	MaxBeaconEventLen = 100
	MaxFindings       = 20
	MaxMixedContent   = 20
)

// AnalyticsFinding is something a page's beacons reveal; not a failure.
type AnalyticsFinding struct {
	ID      string `json:"id"` // a Finding* value
	Vendor  string `json:"vendor,omitempty"`
	Event   string `json:"event,omitempty"`
	Message string `json:"message"`
}

// Analytics finding ids.
const (
	// FindingBeaconBeforeConsent: a beacon was sent before the probe
	// clicked the consent_selector.
	FindingBeaconBeforeConsent = "beacon-before-consent"
	// FindingConsentNotFound: the consent_selector did not appear within
	// its wait, so nothing was clicked.
	FindingConsentNotFound = "consent-not-found"
)

// MixedContent is an http:// subresource of an https page: Type is the
// W3C Mixed Content class (MixedBlockable: scripts, frames, fetches;
// MixedOptionallyBlockable: images, media), Resolution what Chrome did
// with it.
type MixedContent struct {
	URL        string `json:"url"` // redacted, as the page asked for it (http://)
	Type       string `json:"type"`
	Resolution string `json:"resolution"`
}

// Mixed content types and resolutions.
const (
	MixedBlockable           = "blockable"
	MixedOptionallyBlockable = "optionally-blockable"
	MixedBlocked             = "blocked"  // not loaded
	MixedUpgraded            = "upgraded" // fetched over https instead
	MixedWarned              = "warned"   // loaded over http
)

// Why a page's observation ended (PageMetrics.SettleReason).
const (
	SettleQuiet      = "quiet"      // the settle rule was met
	SettleCap        = "cap"        // the run's time ran out first
	SettleNavigation = "navigation" // the page was left first
	SettleInput      = "input"      // a journey's next input came first
)

// How a soft navigation was recognised (PageMetrics.SoftNavigation).
const (
	SoftNavHeuristics = "heuristics" // Chrome's soft-navigation performance entries
	SoftNavFallback   = "fallback"   // storeprobe's own: input, URL change, DOM change, paint
)

// LCPBreakdown splits the LCP into web.dev's parts, in ms from the page's
// start: TTFB, then LoadDelayMS until the LCP resource was requested
// (RequestStartMS), LoadDurationMS until it arrived (ResponseEndMS), and
// RenderDelayMS until it was painted. A text LCP has no resource: its
// load delay and duration are 0.
type LCPBreakdown struct {
	URL            string  `json:"url,omitempty"` // the LCP resource, redacted
	RequestStartMS float64 `json:"request_start_ms"`
	ResponseEndMS  float64 `json:"response_end_ms"`
	LoadDelayMS    float64 `json:"load_delay_ms"`
	LoadDurationMS float64 `json:"load_duration_ms"`
	RenderDelayMS  float64 `json:"render_delay_ms"`
}

// LongTask is one long task: when it started (ms from the page's start),
// how long it ran, and the script Chrome attributes it to (Long Animation
// Frames), redacted; "" when Chrome names none.
type LongTask struct {
	StartMS    float64 `json:"start_ms"`
	DurationMS float64 `json:"duration_ms"`
	Script     string  `json:"script,omitempty"`
}

// Resources are a page's requests and transferred bytes by resource type.
type Resources struct {
	Document ResourceCount `json:"document"`
	Script   ResourceCount `json:"script"`
	CSS      ResourceCount `json:"css"`
	Image    ResourceCount `json:"image"`
	Font     ResourceCount `json:"font"`
	XHR      ResourceCount `json:"xhr"` // XMLHttpRequest and fetch
	Other    ResourceCount `json:"other"`
}

// ResourceCount is a number of requests and their encoded bytes.
type ResourceCount struct {
	Requests int   `json:"requests"`
	Bytes    int64 `json:"bytes"`
}

// ThirdParty is one registrable domain other than the page's, with what it
// cost the page: requests, bytes and the blocking time of its scripts'
// long tasks.
type ThirdParty struct {
	Domain     string  `json:"domain"`
	Requests   int     `json:"requests"`
	Bytes      int64   `json:"bytes"`
	BlockingMS float64 `json:"blocking_ms"`
}

// RenderBlockingResource is a resource that held the first paint back:
// its URL (redacted), type (css, script, other) and when it was requested
// and finished, ms from the page's start.
type RenderBlockingResource struct {
	URL     string  `json:"url"`
	Type    string  `json:"type"`
	StartMS float64 `json:"start_ms"`
	EndMS   float64 `json:"end_ms"`
}

// PageResult is one named page of a journey with its own vitals.
type PageResult struct {
	Name string `json:"name"`
	URL  string `json:"url"` // redacted
	PageMetrics
}

// StepResult is one step of a journey.
type StepResult struct {
	Name       string   `json:"name"`
	Action     string   `json:"action"`
	OK         bool     `json:"ok"`
	Skipped    bool     `json:"skipped,omitempty"` // an optional step whose target was absent
	DurationMS float64  `json:"duration_ms"`
	Failure    *Failure `json:"failure"`
}

// Run is one scheduled execution of a check: every attempt in order, the last
// of which decides the run. It is what the store keeps and ships.
type Run struct {
	ID          int64             `json:"id,omitempty"`
	Check       string            `json:"check"`
	Type        CheckType         `json:"type"`
	Location    string            `json:"location"`
	Probe       string            `json:"probe"`
	Tags        map[string]string `json:"tags,omitempty"`
	ScheduledAt time.Time         `json:"scheduled_at"`
	StartedAt   time.Time         `json:"started_at"`
	Lag         time.Duration     `json:"-"` // StartedAt - ScheduledAt
	Attempts    []Result          `json:"attempts"`
	// Maintenance names the maintenance window the run fell in: stored,
	// but judged by nothing (no budget, no alert).
	Maintenance string `json:"maintenance,omitempty"`
}

// Final is the attempt that decides the run; the zero Result if none ran.
func (r Run) Final() Result {
	if len(r.Attempts) == 0 {
		return Result{}
	}
	return r.Attempts[len(r.Attempts)-1]
}

// OK reports whether the run's final attempt passed.
func (r Run) OK() bool { return r.Final().OK }

// ProbeFault reports whether the run failed for the probe's own reasons; such
// runs do not count for or against uptime.
func (r Run) ProbeFault() bool {
	f := r.Final().Failure
	return f != nil && f.Kind.ProbeFault()
}

// Millis converts a duration to float milliseconds, the unit of every
// duration storeprobe outputs.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
