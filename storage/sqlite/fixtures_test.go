package sqlite

import (
	"context"
	"path/filepath"
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
