package influx

import (
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func f64(v float64) *float64 { return &v }

func i64(v int64) *int64 { return &v }

// fixtureRuns are runs of every type and outcome, shaped as the check engine,
// the daemon and the browser produce them.
func fixtureRuns(base time.Time) []probe.Run {
	sched := base
	httpOK := probe.Run{
		Check: "home", Type: probe.TypeHTTP, Location: "eu-west", Probe: "eu-west-1",
		Tags:        map[string]string{"platform": "shopify", "cdn": "cloudflare", "team": "web"},
		ScheduledAt: sched, StartedAt: sched.Add(12 * time.Millisecond), Lag: 12*time.Millisecond + 250*time.Microsecond,
		Attempts: []probe.Result{
			{
				Check: "home", Type: probe.TypeHTTP, URL: "https://Shop.Example.com/?access_token=REDACTED",
				OK: false, Failure: probe.Fail(probe.FailureTimeout, probe.PhaseWait, "no response within 10s"),
				Attempt: 1, StartedAt: sched.Add(12 * time.Millisecond), DurationMS: 10000,
				HTTPDetails: &probe.HTTPDetails{Timings: probe.Timings{DNS: 1.5, Connect: 3, TLS: 20, Wait: 9975.5, Total: 10000}},
			},
			{
				Check: "home", Type: probe.TypeHTTP, URL: "https://Shop.Example.com/?access_token=REDACTED",
				FinalURL: "https://shop.example.com/en/", OK: true, Attempt: 2,
				StartedAt: sched.Add(10100 * time.Millisecond), DurationMS: 412.25,
				HTTPDetails: &probe.HTTPDetails{
					StatusCode: 200, Bytes: 51234, WireBytes: 18000, Redirects: 1, HTTPVersion: "HTTP/2.0", RemoteIP: "127.0.0.1",
					Timings: probe.Timings{DNS: 2, Connect: 10, TLS: 30, Wait: 250, Transfer: 20.25, TTFB: 292, Redirect: 100, Total: 412.25},
					TLS:     &probe.TLSInfo{Version: "TLS 1.3", CertDaysLeft: 42.5},
					CDN: &probe.CDNInfo{Provider: "cloudflare", Cache: probe.CacheHit, CacheRaw: "HIT", POP: "FRA",
						POPRaw: "8e6c1f2b9d4a2c31-FRA", AgeS: i64(3042)},
					Warmup: &probe.Warmup{Requests: 1},
					Security: &probe.SecurityReport{FailOn: probe.SeverityHigh, Findings: []probe.SecurityFinding{
						{ID: "csp-missing", Severity: probe.SeverityMedium, Message: "no Content-Security-Policy header"},
						{ID: "referrer-policy-missing", Severity: probe.SeverityLow, Message: "no Referrer-Policy header"},
					}},
					Origin: &probe.OriginResult{URL: "https://origin.shop.example.com/", FinalURL: "https://origin.shop.example.com/en/",
						OK: true, StatusCode: 200, Bytes: 51234, WireBytes: 17000, Redirects: 1, HTTPVersion: "HTTP/1.1", RemoteIP: "192.0.2.9",
						Timings: probe.Timings{DNS: 1, Connect: 20, TLS: 40, Wait: 600, Transfer: 30.5, TTFB: 661, Redirect: 80, Total: 771.5},
						TLS:     &probe.TLSInfo{Version: "TLS 1.2", CertDaysLeft: 12.25}},
				},
			},
		},
	}
	httpDown := probe.Run{
		Check: "api health", Type: probe.TypeHTTP, Location: "us-east", Probe: "us-east-1",
		ScheduledAt: sched, StartedAt: sched, Lag: 0,
		Attempts: []probe.Result{{
			Check: "api health", Type: probe.TypeHTTP, URL: "http://127.0.0.1:8080/health",
			OK: false, Failure: probe.Fail(probe.FailureStatus, "", "status 503 not in 200-399"),
			Attempt: 1, StartedAt: sched, DurationMS: 3,
			HTTPDetails: &probe.HTTPDetails{StatusCode: 503, Bytes: 0, WireBytes: 120, HTTPVersion: "HTTP/1.1",
				Timings: probe.Timings{Connect: 0.5, Wait: 2, Transfer: 0.5, TTFB: 2.5, Total: 3},
				CDN:     &probe.CDNInfo{Provider: "none", Cache: probe.CacheUnknown, POP: probe.UnknownPOP},
				// The origin failed too: it is judged and shipped on its own.
				Origin: &probe.OriginResult{URL: "http://10.0.0.5:8080/health", OK: false, HTTPVersion: "",
					Failure: probe.Fail(probe.FailureConnect, probe.PhaseConnect, "connection refused"),
					Timings: probe.Timings{Connect: 1.5, Total: 1.5}}},
		}},
	}
	page := probe.PageMetrics{
		Vitals: probe.Vitals{LCP: f64(2300), CLS: f64(0.12), FCP: f64(900), TTFB: f64(180)},
		LoadMS: 2800, DOMContentLoadedMS: 1200, Requests: 42, FailedRequests: 1, TransferBytes: 812345, ConsoleErrorCount: 2,
		Ratings:      probe.Vitals{LCP: f64(2300), CLS: f64(0.12), FCP: f64(900), TTFB: f64(180)}.Rate(),
		LCPBreakdown: &probe.LCPBreakdown{URL: "https://shop.example.com/hero.jpg", RequestStartMS: 400, ResponseEndMS: 1900, LoadDelayMS: 220, LoadDurationMS: 1500, RenderDelayMS: 400},
		SettledMS:    3900.5, SettleReason: probe.SettleQuiet, TBTMS: 310.5, LongTasks: 5, LongestTaskMS: 190, RenderBlockingCount: 3,
		Resources: probe.Resources{Document: probe.ResourceCount{Requests: 1, Bytes: 40000}, Script: probe.ResourceCount{Requests: 20, Bytes: 500000},
			CSS: probe.ResourceCount{Requests: 4, Bytes: 60000}, Image: probe.ResourceCount{Requests: 12, Bytes: 200000},
			Font: probe.ResourceCount{Requests: 2, Bytes: 10000}, XHR: probe.ResourceCount{Requests: 2, Bytes: 2000}, Other: probe.ResourceCount{Requests: 1, Bytes: 345}},
		ThirdPartyRequests: 15, ThirdPartyBytes: 350000, ThirdPartyBlockingMS: 210.5,
		PaymentProvider: "paypal", PaymentReadyMS: f64(1450.5),
		Analytics: &probe.PageAnalytics{GA4: &probe.BeaconTally{Fired: 3, Events: []string{"page_view", "add_to_cart"}},
			Adobe: &probe.BeaconTally{Fired: 2, Events: []string{"page_view", "scAdd"}}},
		AnalyticsFindings: []probe.AnalyticsFinding{{ID: probe.FindingBeaconBeforeConsent, Vendor: probe.AnalyticsGA4, Event: "page_view", Message: "ga4 sent page_view before the consent click"}},
		MixedContent:      []probe.MixedContent{{URL: "http://img.shop.example.com/a.png", Type: probe.MixedOptionallyBlockable, Resolution: probe.MixedUpgraded}},
		MixedContentCount: 4,
	}
	browser := probe.Run{
		Check: "pdp", Type: probe.TypeBrowser, Location: "eu-west", Probe: "eu-west-1",
		Tags:        map[string]string{"platform": "shopware"},
		ScheduledAt: sched, StartedAt: sched.Add(time.Millisecond), Lag: time.Millisecond,
		Attempts: []probe.Result{{
			Check: "pdp", Type: probe.TypeBrowser, URL: "https://shop.example.com:8443/p/shoe?sid=REDACTED",
			OK: true, Attempt: 1, StartedAt: sched.Add(time.Millisecond), DurationMS: 2800,
			BrowserDetails: &probe.BrowserDetails{Device: "mobile", PageMetrics: &page},
		}},
	}
	home := probe.PageMetrics{Vitals: probe.Vitals{LCP: f64(1800), CLS: f64(0), INP: f64(64), FCP: f64(700), TTFB: f64(90)},
		LoadMS: 1500, DOMContentLoadedMS: 800, Requests: 30, TransferBytes: 500000}
	// The cart is a soft navigation: no TTFB, no load.
	cart := probe.PageMetrics{Vitals: probe.Vitals{LCP: f64(4100), CLS: f64(0.3), INP: f64(520), FCP: f64(3100)},
		Requests: 60, FailedRequests: 3, TransferBytes: 1500000, SoftNavigation: probe.SoftNavHeuristics,
		SettledMS: 6100, SettleReason: probe.SettleInput,
		PaymentProvider: "stripe"} // waited on, never ready
	journey := probe.Run{
		Check: "checkout", Type: probe.TypeJourney, Location: "eu-west", Probe: "eu-west-1",
		ScheduledAt: sched, StartedAt: sched.Add(2 * time.Millisecond), Lag: 2 * time.Millisecond,
		Attempts: []probe.Result{{
			Check: "checkout", Type: probe.TypeJourney, URL: "https://shop.example.com/",
			OK: false, Failure: probe.Fail(probe.FailureSelector, "", `step "click #pay": #pay not found within 5s`),
			Attempt: 1, StartedAt: sched.Add(2 * time.Millisecond), DurationMS: 9100.5,
			BrowserDetails: &probe.BrowserDetails{
				Device: "desktop",
				Pages: []probe.PageResult{
					{Name: "home", URL: "https://shop.example.com/", PageMetrics: home},
					{Name: "cart", URL: "https://shop.example.com/cart", PageMetrics: cart},
					{Name: "home", URL: "https://shop.example.com/?again=1", PageMetrics: home},
				},
				Steps: []probe.StepResult{
					{Name: "goto https://shop.example.com/?utm=x", Action: "goto", OK: true, DurationMS: 1500},
					{Name: "click a.product-card", Action: "click", OK: true, DurationMS: 320.5},
					{Name: "accept cookies", Action: "click", OK: true, Skipped: true, DurationMS: 0},
					{Name: "click a.product-card", Action: "click", OK: true, DurationMS: 280},
					{Name: "click #pay", Action: "click", OK: false, DurationMS: 5000,
						Failure: probe.Fail(probe.FailureSelector, "", "#pay not found within 5s")},
				},
			},
		}},
	}
	return []probe.Run{httpOK, httpDown, browser, journey}
}
