package probe

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Check is the definition of one check: what to probe, how, how often and
// against which targets. The CLI builds one from flags, the config from YAML.
type Check struct {
	Name     string
	Type     CheckType
	URL      string
	Schedule string            // cron spec; empty for one-off CLI checks
	Timeout  time.Duration     // per attempt
	Retries  int               // extra attempts after a failure of a kind in RetryOn
	RetryOn  RetryOn           // failures worth a retry; nil: DefaultRetryOn()
	Location string            // where this probe runs, e.g. "eu-west"
	Probe    string            // stable name of the probe instance
	Tags     map[string]string // user tags (platform, cdn, team ...)

	HTTP    HTTPSpec
	Browser BrowserSpec
	Journey JourneySpec
	SLO     SLO

	// Alerting of this check (see Alerting for the defaults).
	Notify     []string // notifiers of its alerts; nil: Alerting.Notify
	DependsOn  []string // checks whose outage explains this one's
	RunbookURL string   // in every notification
}

// HTTPSpec configures an HTTP check. Zero values mean the documented defaults.
type HTTPSpec struct {
	Method        string
	Headers       []Header
	Body          string
	SecretHeaders []string // header names whose values are redacted, besides the built-in ones
	ExpectStatus  StatusRanges
	ExpectBody    []*regexp.Regexp
	ExpectHeaders []HeaderExpectation
	// The negative assertions: a match fails the check as assertion (an
	// error page served with 200, a debug header left on in production).
	ExpectBodyNot    []*regexp.Regexp
	ExpectHeadersNot []HeaderExpectation
	// RequireTLS fails the check as assertion when its final hop is plain
	// http (a redirect downgraded it, or the URL itself is http).
	RequireTLS      bool
	MaxDuration     time.Duration // slower fails as too_slow; 0 means no limit
	Insecure        bool
	CAFile          string
	ClientCert      string
	ClientKey       string
	Proxy           string
	Resolver        string // host:port of a DNS server to use instead of the system's
	IPVersion       int    // 4, 6 or 0 for any
	FollowRedirects bool
	MaxRedirects    int
	UserAgent       string
	MaxBodyBytes    int64 // body cap; 0 means DefaultMaxBodyBytes

	// Warmup is the number of unmeasured requests sent before the measured
	// one (0 to MaxWarmup), each with the same options and bounded by the
	// timeout: they fill a CDN's cache, and their failures fail nothing.
	Warmup int
	// ExpectCache fails the check as assertion unless the measured
	// response's normalised cache status is one of these.
	ExpectCache []CacheStatus
	// OriginURL, if set, is measured after the edge with the same
	// options; its result rides beside the edge's and fails nothing.
	OriginURL string
	// Security judges the final response's headers and every hop's
	// cookies against OWASP's guidance; a finding of SecurityFailOn or
	// above ("" means DefaultSecurityFailOn) fails the check as assertion.
	Security       bool
	SecurityFailOn Severity
	// MinTLS fails the check as tls when the final hop negotiated an older
	// version (a crypto/tls Version constant; 0: no minimum beyond the
	// built-in 1.2 floor). CertMinDays fails it as tls when the certificate
	// expires in fewer days (0: no minimum).
	MinTLS      uint16
	CertMinDays int
}

// Defaults for HTTP checks.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxRedirects = 10
	DefaultMaxBodyBytes = 10 << 20
)

// Header is one request header.
type Header struct{ Name, Value string }

// HeaderExpectation requires a response header to match a pattern.
type HeaderExpectation struct {
	Name    string
	Pattern *regexp.Regexp
}

// Defaults for browser checks and journeys: a page load or a journey
// legitimately takes longer than one request, so they have their own.
const (
	DefaultBrowserTimeout = 30 * time.Second // a page check without Check.Timeout
	DefaultJourneyTimeout = 60 * time.Second // a journey without a timeout of its own or its check's
)

// The built-in device profiles (the browser package holds their values);
// a config may add others by name.
const (
	DeviceDesktop = "desktop" // the default
	DeviceMobile  = "mobile"
)

// BrowserSpec configures a browser page check or journey.
type BrowserSpec struct {
	Device        string // DeviceDesktop (the default), DeviceMobile or a config-defined name
	MaxLoad       time.Duration
	MaxVitals     map[Vital]float64 // per-vital limits (ms, CLS unitless); over fails as too_slow
	FailOnConsole bool              // uncaught page errors fail the check as script
	// Payment, if set, makes a browser check wait, once the page settled,
	// until the gateway's card field or buttons are ready (the journey
	// step wait_for_payment does the same).
	Payment PaymentProvider
	// Analytics are the vendors (Analytics* names) that must fire on
	// every page; one that does not fails the run as assertion.
	Analytics []string
	// AnalyticsPassthrough delivers the analytics beacons to their
	// vendors; by default they are answered inside the browser and
	// never leave it (they are recorded either way).
	AnalyticsPassthrough bool
	// ConsentSelector is the consent banner's accept button: clicked
	// when it appears, and beacons sent before the click are findings.
	ConsentSelector string
}

// ParseAnalytics checks a list of analytics vendors (--expect-analytics,
// the config's analytics key): each an Analytics* name, none twice.
func ParseAnalytics(list []string) ([]string, error) {
	var out []string
	for _, v := range list {
		v = strings.TrimSpace(v)
		if !slices.Contains(AnalyticsVendors(), v) {
			return nil, fmt.Errorf("unknown analytics vendor %q (want %s)", v, strings.Join(AnalyticsVendors(), ", "))
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("analytics vendor %q listed twice", v)
		}
		out = append(out, v)
	}
	return out, nil
}

// JourneySpec names the journey a check runs: a file or a built-in template.
type JourneySpec struct {
	File     string
	Template string
	Params   map[string]string
}

// SLO are the targets a check is judged against. Zero means no target.
type SLO struct {
	Uptime   float64       // percent, e.g. 99.9
	LoadTime time.Duration // p75 of load (total for HTTP, load_ms for pages)
	Success  float64       // percent of runs that must succeed (payment paths)
	CWVGood  float64       // percent of page samples that must rate good per vital
	// PaymentReady is the p75 limit of each page's payment_ready_ms.
	PaymentReady time.Duration
	// Preset names the preset the targets started from (storefront,
	// payment, none); FromPreset marks the targets that kept its value
	// rather than a key set beside it, so a report can say which is which.
	Preset     string
	FromPreset Targets
}

// Target names, as in the config's slo keys and the report's JSON.
const (
	TargetUptime   = "uptime"
	TargetLoadTime = "load_time"
	TargetSuccess  = "success"
	TargetCWVGood  = "cwv_good"
	// TargetPaymentReady judges each page's p75 payment_ready_ms.
	TargetPaymentReady = "payment_ready"
)

// Targets is a set of target names (a bit each, so SLO stays comparable).
type Targets uint8

var targetBits = []string{TargetUptime, TargetLoadTime, TargetSuccess, TargetCWVGood, TargetPaymentReady}

// With returns the set plus the named target; unknown names are ignored.
func (t Targets) With(name string) Targets {
	for i, n := range targetBits {
		if n == name {
			return t | 1<<i
		}
	}
	return t
}

// Has reports whether the named target is in the set.
func (t Targets) Has(name string) bool {
	for i, n := range targetBits {
		if n == name {
			return t&(1<<i) != 0
		}
	}
	return false
}

// Names lists the set's targets in config order.
func (t Targets) Names() []string {
	var out []string
	for i, n := range targetBits {
		if t&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// UserAgent is the default User-Agent, so shops can allow-list and filter
// the probe's traffic.
func UserAgent(version string) string {
	return "storeprobe/" + version + " (+synthetic monitoring)"
}
