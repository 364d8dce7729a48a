package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

func f64(v float64) *float64 { return &v }

// httpRun is a two-attempt HTTPS run: a timeout, then a pass.
func httpRun(at time.Time) probe.Run {
	return probe.Run{
		Check: "home", Type: probe.TypeHTTP, Location: "eu-west", Probe: "probe-1",
		Tags:        map[string]string{"platform": "shopware", "cdn": "fastly"},
		ScheduledAt: at, StartedAt: at.Add(12345678 * time.Nanosecond), Lag: 12345678 * time.Nanosecond,
		Attempts: []probe.Result{
			{
				Check: "home", Type: probe.TypeHTTP, URL: "https://shop.test/?token=REDACTED", FinalURL: "https://shop.test/",
				OK: false, Failure: &probe.Failure{Kind: probe.FailureTimeout, Phase: probe.PhaseWait, Message: "no first byte within 10s"},
				Attempt: 1, StartedAt: at.Add(time.Millisecond), DurationMS: 10000.25,
				HTTPDetails: &probe.HTTPDetails{Timings: probe.Timings{DNS: 1.5, Connect: 2.25, TLS: 30.125, Wait: 9966.375, Total: 10000.25}},
			},
			{
				Check: "home", Type: probe.TypeHTTP, URL: "https://shop.test/?token=REDACTED", FinalURL: "https://shop.test/de/",
				OK: true, Attempt: 2, StartedAt: at.Add(10 * time.Second), DurationMS: 231.5,
				HTTPDetails: &probe.HTTPDetails{
					StatusCode: 200,
					Timings:    probe.Timings{DNS: 1.1, Connect: 2.2, TLS: 33.3, Wait: 120.4, Transfer: 40.5, TTFB: 157, Redirect: 34, Total: 231.5},
					TLS: &probe.TLSInfo{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", CertSubject: "CN=shop.test",
						CertIssuer: "CN=Test CA", CertNotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), CertDaysLeft: 2913578.6},
					Bytes: 51234, WireBytes: 18001, Redirects: 1, HTTPVersion: "HTTP/2.0", RemoteIP: "127.0.0.1",
				},
			},
		},
	}
}

// browserRun is a single-page browser check with its metrics embedded and
// INP unobserved.
func browserRun(at time.Time) probe.Run {
	return probe.Run{
		Check: "home-browser", Type: probe.TypeBrowser, Location: "eu-west", Probe: "probe-1",
		ScheduledAt: at, StartedAt: at.Add(3 * time.Millisecond), Lag: 3 * time.Millisecond,
		Attempts: []probe.Result{{
			Check: "home-browser", Type: probe.TypeBrowser, URL: "https://shop.test/", FinalURL: "https://shop.test/",
			OK: true, Attempt: 1, StartedAt: at.Add(3 * time.Millisecond), DurationMS: 1834.5,
			BrowserDetails: &probe.BrowserDetails{
				Device: "mobile",
				PageMetrics: &probe.PageMetrics{
					Vitals:     probe.Vitals{LCP: f64(1710.4), CLS: f64(0.031), FCP: f64(900), TTFB: f64(120.5)},
					Ratings:    probe.Ratings{LCP: probe.RatingGood, CLS: probe.RatingGood, FCP: probe.RatingGood, TTFB: probe.RatingGood},
					LCPElement: "img#hero", LoadMS: 1834.5, DOMContentLoadedMS: 812.25, Requests: 41, FailedRequests: 1,
					TransferBytes: 1234567, ConsoleErrorCount: 2, RenderBlockingCount: 3,
				},
				ConsoleErrors: []string{"Uncaught TypeError: x is undefined", "404 /favicon.ico"},
			},
		}},
	}
}

// journeyRun is a journey that failed on its third step, with two pages,
// an optional skipped step and artifacts.
func journeyRun(at time.Time) probe.Run {
	return probe.Run{
		Check: "checkout", Type: probe.TypeJourney, Location: "us-east", Probe: "probe-2",
		Tags:        map[string]string{"team": "payments"},
		ScheduledAt: at, StartedAt: at.Add(time.Second), Lag: time.Second,
		Attempts: []probe.Result{{
			Check: "checkout", Type: probe.TypeJourney, URL: "https://shop.test/", FinalURL: "https://shop.test/cart",
			OK: false, Failure: &probe.Failure{Kind: probe.FailureSelector, Phase: "click #add-to-cart", Message: "#add-to-cart not visible within 5s"},
			Attempt: 1, StartedAt: at.Add(time.Second), DurationMS: 8123.75,
			BrowserDetails: &probe.BrowserDetails{
				Device: "desktop",
				Steps: []probe.StepResult{
					{Name: "goto /", Action: "goto", OK: true, DurationMS: 1500.5},
					{Name: "accept cookies", Action: "click", OK: true, Skipped: true, DurationMS: 0.25},
					{Name: "click #add-to-cart", Action: "click", OK: false, DurationMS: 5000,
						Failure: &probe.Failure{Kind: probe.FailureSelector, Message: "#add-to-cart not visible within 5s"}},
				},
				Pages: []probe.PageResult{
					{Name: "home", URL: "https://shop.test/", PageMetrics: probe.PageMetrics{
						Vitals:  probe.Vitals{LCP: f64(2600), CLS: f64(0), INP: f64(48), FCP: f64(1200), TTFB: f64(300)},
						Ratings: probe.Ratings{LCP: probe.RatingNeedsImprovement, CLS: probe.RatingGood, INP: probe.RatingGood, FCP: probe.RatingGood, TTFB: probe.RatingGood},
						LoadMS:  2900, DOMContentLoadedMS: 1300, Requests: 30, TransferBytes: 900000,
					}},
					{Name: "product", URL: "https://shop.test/p/1", PageMetrics: probe.PageMetrics{
						Vitals:     probe.Vitals{LCP: f64(4100), FCP: f64(2000)},
						Ratings:    probe.Ratings{LCP: probe.RatingPoor, FCP: probe.RatingNeedsImprovement},
						LCPElement: "div.gallery > img", LoadMS: 4300, DOMContentLoadedMS: 2100, Requests: 55, FailedRequests: 2, TransferBytes: 2000000,
					}},
				},
				Artifacts: []string{"checkout/20260314T092653Z/screenshot.png", "checkout/20260314T092653Z/requests.json"},
			},
		}},
	}
}

// fullRun sets every field of a run, everywhere in its tree, to a value
// that is not zero (zeroFields holds it to that), so a field the store
// drops cannot hide in TestRoundTrip. It is not a realistic run: it has a
// passing attempt with a failure and a page check with journey steps, because
// the store must keep each field on its own.
func fullRun(at time.Time) probe.Run {
	// Pages differ in their numbers and LCP element, so a mix-up shows.
	page := func(n int) probe.PageMetrics {
		x := float64(n)
		return probe.PageMetrics{
			Vitals:     probe.Vitals{LCP: f64(2400 + x), CLS: f64(0.05 + x/100), INP: f64(150 + x), FCP: f64(1700 + x), TTFB: f64(700 + x)},
			Ratings:    probe.Ratings{LCP: probe.RatingGood, CLS: probe.RatingNeedsImprovement, INP: probe.RatingPoor, FCP: probe.RatingGood, TTFB: probe.RatingNeedsImprovement},
			LCPElement: fmt.Sprintf("img#hero-%d", n), LoadMS: 3000.5 + x, DOMContentLoadedMS: 1500.25 + x,
			Requests: 40 + n, FailedRequests: n, TransferBytes: 1_000_000 + int64(n),
			ConsoleErrorCount: 2 + n, RenderBlockingCount: 3 + n, JSHeapBytes: int64(n) << 20,
			LCPBreakdown: &probe.LCPBreakdown{URL: fmt.Sprintf("https://cdn.shop.test/hero-%d.jpg", n),
				RequestStartMS: 300 + x, ResponseEndMS: 1900 + x, LoadDelayMS: 100 + x, LoadDurationMS: 1600 + x, RenderDelayMS: 500 + x},
			SoftNavigation: probe.SoftNavHeuristics, SettledMS: 4200.5 + x, SettleReason: probe.SettleQuiet,
			TBTMS: 250.5 + x, LongTasks: 4 + n, LongestTaskMS: 180.5 + x,
			LongestTasks: []probe.LongTask{{StartMS: 1200.5 + x, DurationMS: 180.5 + x, Script: "https://tags.example/gtm.js"}},
			Resources: probe.Resources{
				Document: probe.ResourceCount{Requests: 1, Bytes: 30_000 + int64(n)}, Script: probe.ResourceCount{Requests: 12 + n, Bytes: 400_000},
				CSS: probe.ResourceCount{Requests: 3, Bytes: 60_000}, Image: probe.ResourceCount{Requests: 20, Bytes: 500_000},
				Font: probe.ResourceCount{Requests: 2, Bytes: 40_000}, XHR: probe.ResourceCount{Requests: 4, Bytes: 9_000},
				Other: probe.ResourceCount{Requests: 1, Bytes: 300},
			},
			ThirdPartyRequests: 9 + n, ThirdPartyBytes: 300_000 + int64(n), ThirdPartyBlockingMS: 120.5 + x,
			ThirdParties: []probe.ThirdParty{{Domain: "tagmanager.example", Requests: 3, Bytes: 200_000, BlockingMS: 100.5},
				{Domain: "reviews.example", Requests: 6 + n, Bytes: 100_000 + int64(n), BlockingMS: 20 + x}},
			RenderBlocking:  []probe.RenderBlockingResource{{URL: "https://shop.test/app.css", Type: "css", StartMS: 10.5, EndMS: 350 + x}},
			PaymentProvider: string(probe.PaymentStripe), PaymentReadyMS: f64(1250.5 + x),
			Analytics: &probe.PageAnalytics{
				GA4:   &probe.BeaconTally{Fired: 3 + n, Events: []string{"page_view", fmt.Sprintf("add_to_cart_%d", n)}},
				Adobe: &probe.BeaconTally{Fired: 2, Events: []string{"page_view", "scAdd", "web.webpagedetails.pageViews"}},
			},
			AnalyticsFindings: []probe.AnalyticsFinding{{ID: probe.FindingBeaconBeforeConsent, Vendor: probe.AnalyticsGA4,
				Event: "page_view", Message: fmt.Sprintf("ga4 sent page_view before the consent click (%d)", n)}},
			MixedContent: []probe.MixedContent{{URL: fmt.Sprintf("http://img.shop.test/%d.png", n), Type: probe.MixedOptionallyBlockable,
				Resolution: probe.MixedUpgraded}},
			MixedContentCount: 1 + n,
		}
	}
	attempt := func(n int) probe.Result {
		return probe.Result{
			Check: "everything", Type: probe.TypeJourney, URL: "https://shop.test/?token=REDACTED", FinalURL: "https://shop.test/checkout",
			OK: true, Failure: &probe.Failure{Kind: probe.FailureTooSlow, Phase: probe.PhaseTransfer, Message: fmt.Sprintf("attempt %d slower than 2s", n)},
			Attempt: n, StartedAt: at.Add(time.Duration(n) * time.Second), DurationMS: 2345.5 + float64(n),
			HTTPDetails: &probe.HTTPDetails{
				StatusCode: 203,
				Timings:    probe.Timings{DNS: 1.5, Connect: 2.5, TLS: 3.5, Wait: 4.5, Transfer: 5.5, TTFB: 6.5, Redirect: 7.5, Total: 8.5},
				TLS: &probe.TLSInfo{Version: "TLS 1.3", Cipher: "TLS_CHACHA20_POLY1305_SHA256", CertSubject: "CN=shop.test",
					CertIssuer: "CN=Test CA", CertNotAfter: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC), CertDaysLeft: 293.75},
				Bytes: 4096, WireBytes: 2048, Redirects: 2, HTTPVersion: "HTTP/1.1", RemoteIP: "192.0.2.7",
				Platform: "shopify", Analytics: []string{"google", "adobe"}, PaymentGateways: []string{"stripe", "paypal"},
				CDN: &probe.CDNInfo{Provider: "cloudfront", Cache: probe.CacheExpired, CacheRaw: "RefreshHit from cloudfront",
					POP: "FRA56", POPRaw: "FRA56-P1", AgeS: ptr(int64(300 + n))},
				Warmup: &probe.Warmup{Requests: 3, Failed: n},
				Origin: &probe.OriginResult{
					URL: "https://origin.shop.test/?token=REDACTED", FinalURL: "https://origin.shop.test/de/", OK: true,
					Failure:    &probe.Failure{Kind: probe.FailureStatus, Phase: probe.PhaseWait, Message: fmt.Sprintf("origin %d: status 503", n)},
					StatusCode: 503,
					Timings:    probe.Timings{DNS: 1.25, Connect: 2.25, TLS: 3.25, Wait: 40.25, Transfer: 5.25, TTFB: 47, Redirect: 9.5, Total: 61.75},
					TLS: &probe.TLSInfo{Version: "TLS 1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", CertSubject: "CN=origin.shop.test",
						CertIssuer: "CN=Origin CA", CertNotAfter: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CertDaysLeft: 12.5},
					Bytes: 777, WireBytes: 999, Redirects: 1, HTTPVersion: "HTTP/1.1", RemoteIP: "192.0.2.9",
				},
				Security: &probe.SecurityReport{FailOn: probe.SeverityMedium, Findings: []probe.SecurityFinding{
					{ID: "hsts-missing", Severity: probe.SeverityMedium, Message: fmt.Sprintf("no Strict-Transport-Security header (%d)", n),
						Reference: "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html#strict-transport-security"},
					{ID: "cookie-not-secure", Severity: probe.SeverityHigh, Message: `cookie "sid" is set without Secure`,
						Reference: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies"},
				}},
			},
			BrowserDetails: &probe.BrowserDetails{
				Device:      "mobile",
				PageMetrics: ptr(page(1)),
				Steps: []probe.StepResult{
					{Name: "accept cookies", Action: "click", OK: true, Skipped: true, DurationMS: 0.75,
						Failure: &probe.Failure{Kind: probe.FailureSelector, Phase: "accept cookies", Message: "banner absent"}},
					{Name: "goto /checkout", Action: "goto", OK: true, Skipped: true, DurationMS: 900.25,
						Failure: &probe.Failure{Kind: probe.FailureScript, Phase: probe.PhaseNavigation, Message: "Uncaught ReferenceError"}},
				},
				Pages: []probe.PageResult{
					{Name: "home", URL: "https://shop.test/", PageMetrics: page(2)},
					{Name: "checkout", URL: "https://shop.test/checkout", PageMetrics: page(3)},
				},
				ConsoleErrors: []string{"Uncaught ReferenceError: dataLayer is not defined", "404 /favicon.ico"},
				Dialogs:       []string{"alert: Welcome back", "beforeunload: "},
				Popups:        []string{"https://chat.example/window"},
				Artifacts:     []string{"everything/1/screenshot.png", "everything/1/requests.json"},
			},
		}
	}
	// Save ignores ID; it is set only so that no field is zero.
	return probe.Run{
		ID: 1, Check: "everything", Type: probe.TypeJourney, Location: "ap-south", Probe: "probe-3",
		Tags:        map[string]string{"team": "web", "tier": "gold"},
		ScheduledAt: at, StartedAt: at.Add(1234567891 * time.Nanosecond), Lag: 1234567891 * time.Nanosecond,
		Maintenance: "friday deploy",
		Attempts:    []probe.Result{attempt(1), attempt(2)},
	}
}

func ptr[T any](v T) *T { return &v }

// zeroFields lists, by path, every exported field in v's tree that holds its
// zero value: a nil pointer, an empty slice or map, a zero number, string or
// time. It looks through pointers, into every element of a slice and every
// value of a map. Structs without exported fields (time.Time) are one value.
func zeroFields(v any) []string {
	var zero []string
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				zero = append(zero, path)
				return
			}
			walk(path, v.Elem())
		case reflect.Slice, reflect.Array:
			if v.Len() == 0 {
				zero = append(zero, path)
			}
			for i := range v.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		case reflect.Map:
			if v.Len() == 0 {
				zero = append(zero, path)
			}
			for it := v.MapRange(); it.Next(); {
				walk(fmt.Sprintf("%s[%v]", path, it.Key()), it.Value())
			}
		case reflect.Struct:
			exported := false
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.IsExported() {
					exported = true
					walk(strings.TrimPrefix(path+"."+f.Name, "."), v.Field(i))
				}
			}
			if !exported && v.IsZero() {
				zero = append(zero, path)
			}
		default:
			if v.IsZero() {
				zero = append(zero, path)
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return zero
}

// differences lists, by path, where got and want differ, so that a failed
// reflect.DeepEqual says which field the store lost instead of printing two
// whole runs.
func differences(got, want any) []string {
	var diff []string
	var walk func(path string, g, w reflect.Value)
	walk = func(path string, g, w reflect.Value) {
		if reflect.DeepEqual(g.Interface(), w.Interface()) {
			return
		}
		differ := func(format string, args ...any) {
			diff = append(diff, path+": "+fmt.Sprintf(format, args...))
		}
		switch g.Kind() {
		case reflect.Pointer, reflect.Interface:
			if g.IsNil() || w.IsNil() {
				differ("got %v, want %v", g, w)
				return
			}
			walk(path, g.Elem(), w.Elem())
		case reflect.Slice, reflect.Array:
			if g.Len() != w.Len() || g.Len() == 0 { // or nil against empty
				differ("got %s, want %s", showSlice(g), showSlice(w))
				return
			}
			for i := range g.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
			}
		case reflect.Map:
			if g.Len() != w.Len() || g.Len() == 0 {
				differ("got %v, want %v", g, w)
				return
			}
			for it := w.MapRange(); it.Next(); {
				if gv := g.MapIndex(it.Key()); gv.IsValid() {
					walk(fmt.Sprintf("%s[%v]", path, it.Key()), gv, it.Value())
				} else {
					differ("got no key %v", it.Key())
				}
			}
		case reflect.Struct:
			before := len(diff)
			for i := range g.NumField() {
				if f := g.Type().Field(i); f.IsExported() {
					walk(strings.TrimPrefix(path+"."+f.Name, "."), g.Field(i), w.Field(i))
				}
			}
			if len(diff) == before { // only unexported fields differ (time.Time)
				differ("got %v, want %v", g, w)
			}
		default:
			differ("got %#v, want %#v", g, w)
		}
	}
	walk("", reflect.ValueOf(got), reflect.ValueOf(want))
	return diff
}

func showSlice(v reflect.Value) string {
	if v.Kind() == reflect.Slice && v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%d elements %v", v.Len(), v)
}

// openTemp opens a fresh store in a test directory.
func openTemp(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "storeprobe.db")
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// fakeClock is a settable clock for outbox age and retention tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestZeroFields(t *testing.T) {
	type inner struct {
		N      int
		hidden int
	}
	type outer struct {
		S     string
		P     *inner
		In    inner
		L     []inner
		M     map[string]inner
		T     time.Time
		F     *float64
		B     bool
		Embed *inner
	}
	full := func() outer {
		return outer{S: "s", P: &inner{N: 1}, In: inner{N: 1}, L: []inner{{N: 1}}, M: map[string]inner{"k": {N: 1}},
			T: t0, F: f64(0.5), B: true, Embed: &inner{N: 1}}
	}
	tests := []struct {
		name   string
		change func(*outer)
		want   []string
	}{
		{"all set, unexported fields left zero", func(*outer) {}, nil},
		{"string", func(o *outer) { o.S = "" }, []string{"S"}},
		{"nil pointer", func(o *outer) { o.P = nil }, []string{"P"}},
		{"field behind a pointer", func(o *outer) { o.P.N = 0 }, []string{"P.N"}},
		{"field of a struct value", func(o *outer) { o.In.N = 0 }, []string{"In.N"}},
		{"empty slice", func(o *outer) { o.L = []inner{} }, []string{"L"}},
		{"slice element", func(o *outer) { o.L = append(o.L, inner{}) }, []string{"L[1].N"}},
		{"empty map", func(o *outer) { o.M = map[string]inner{} }, []string{"M"}},
		{"map value", func(o *outer) { o.M["k"] = inner{} }, []string{"M[k].N"}},
		{"zero time", func(o *outer) { o.T = time.Time{} }, []string{"T"}},
		{"pointer to zero", func(o *outer) { o.F = f64(0) }, []string{"F"}},
		{"false", func(o *outer) { o.B = false }, []string{"B"}},
		{"embedded pointer", func(o *outer) { o.Embed.N = 0 }, []string{"Embed.N"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := full()
			tt.change(&o)
			if got := zeroFields(o); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("zeroFields = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDifferences(t *testing.T) {
	tests := []struct {
		name   string
		change func(*probe.Run)
		want   []string
	}{
		{"equal", func(*probe.Run) {}, nil},
		{"a field", func(r *probe.Run) { r.Attempts[1].Platform = "" },
			[]string{`Attempts[1].HTTPDetails.Platform: got "", want "shopify"`}},
		{"empty slice", func(r *probe.Run) { r.Attempts[0].Analytics = []string{} },
			[]string{"Attempts[0].HTTPDetails.Analytics: got 0 elements [], want 2 elements [google adobe]"}},
		{"nil slice", func(r *probe.Run) { r.Attempts[0].BrowserDetails.Steps = nil },
			[]string{"Attempts[0].BrowserDetails.Steps: got nil, want 2 elements " + fmt.Sprint(fullRun(t0).Attempts[0].Steps)}},
		{"map key", func(r *probe.Run) { r.Tags = map[string]string{"team": "web", "owner": "gold"} },
			[]string{"Tags: got no key tier"}},
		{"nil pointer", func(r *probe.Run) { r.Attempts[0].TLS = nil },
			[]string{"Attempts[0].HTTPDetails.TLS: got <nil>, want " + fmt.Sprint(fullRun(t0).Attempts[0].TLS)}},
		{"same instant elsewhere", func(r *probe.Run) { r.StartedAt = r.StartedAt.In(time.FixedZone("X", 3600)) },
			[]string{"StartedAt: got " + fullRun(t0).StartedAt.In(time.FixedZone("X", 3600)).String() + ", want " + fullRun(t0).StartedAt.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fullRun(t0)
			tt.change(&got)
			if d := differences(got, fullRun(t0)); !reflect.DeepEqual(d, tt.want) {
				t.Errorf("differences =\n%s\nwant\n%s", strings.Join(d, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
