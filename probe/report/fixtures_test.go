package report

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// The SQLite store is what the report reads in production.
var _ Store = (*sqlite.Store)(nil)

func f64(v float64) *float64 { return &v }

func httpRun(check string, at time.Time, total float64, f *probe.Failure) probe.Run {
	return probe.Run{Check: check, Type: probe.TypeHTTP, ScheduledAt: at, StartedAt: at,
		Attempts: []probe.Result{{Check: check, Type: probe.TypeHTTP, OK: f == nil, Failure: f, Attempt: 1,
			StartedAt: at, DurationMS: total,
			HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Timings: probe.Timings{Total: total}}}}}
}

func journeyRun(at time.Time, lcp, load float64) probe.Run {
	// GA4 fired on the faster load only.
	var analytics *probe.PageAnalytics
	if lcp < 2000 {
		analytics = &probe.PageAnalytics{GA4: &probe.BeaconTally{Fired: 2, Events: []string{"page_view", "add_to_cart"}}}
	}
	return probe.Run{Check: "checkout", Type: probe.TypeJourney, ScheduledAt: at, StartedAt: at,
		Attempts: []probe.Result{{Check: "checkout", Type: probe.TypeJourney, OK: true, Attempt: 1, StartedAt: at,
			DurationMS: 9000, BrowserDetails: &probe.BrowserDetails{Device: "desktop", Pages: []probe.PageResult{{
				Name: "home", URL: "http://127.0.0.1/",
				PageMetrics: probe.PageMetrics{Vitals: probe.Vitals{LCP: &lcp, CLS: f64(0.01)}, LoadMS: load,
					TBTMS: load / 10, SettleReason: probe.SettleQuiet, Analytics: analytics},
			}}}}}}
}

// fillStore writes a store whose report is computed by hand in the tests.
// now is the report's "now".
func fillStore(t *testing.T, now time.Time) (*sqlite.Store, string) {
	t.Helper()
	checks := []probe.Check{
		{Name: "home", Type: probe.TypeHTTP, URL: "http://127.0.0.1:8080/", SLO: probe.SLO{Uptime: 90, LoadTime: 300 * time.Millisecond}},
		{Name: "checkout", Type: probe.TypeJourney, SLO: probe.SLO{LoadTime: 3 * time.Second, CWVGood: 75}},
		{Name: "api", Type: probe.TypeHTTP, URL: "http://127.0.0.1:8080/api", SLO: probe.SLO{Uptime: 99}},
	}
	var runs []probe.Run
	// home: 8 passes (100..240 ms), one status failure, one probe error,
	// and a failure two days ago (outside a 24h window).
	// Through Cloudflare: six hits (five at FRA), a miss and an expired.
	caches := []probe.CacheStatus{probe.CacheHit, probe.CacheMiss, probe.CacheHit, probe.CacheHit, probe.CacheExpired,
		probe.CacheHit, probe.CacheHit, probe.CacheHit}
	for i, total := range []float64{240, 100, 220, 120, 200, 140, 180, 160} {
		r := httpRun("home", now.Add(-time.Duration(i+1)*time.Minute), total, nil)
		pop := "FRA"
		if i == 7 {
			pop = "AMS"
		}
		r.Attempts[0].HTTPDetails.CDN = &probe.CDNInfo{Provider: "cloudflare", Cache: caches[i], POP: pop}
		runs = append(runs, r)
	}
	runs = append(runs,
		httpRun("home", now.Add(-20*time.Minute), 50, probe.Fail(probe.FailureStatus, "", "status 503")),
		httpRun("home", now.Add(-21*time.Minute), 0, probe.Fail(probe.FailureProbeError, "", "socket limit")),
		httpRun("home", now.Add(-48*time.Hour), 0, probe.Fail(probe.FailureConnect, probe.PhaseConnect, "refused")),
		journeyRun(now.Add(-5*time.Minute), 1000, 1000),
		journeyRun(now.Add(-6*time.Minute), 3000, 2000),
	)
	for i := range 3 {
		runs = append(runs, httpRun("api", now.Add(-time.Duration(i+1)*time.Minute), 30, nil))
	}
	s, path := saveRuns(t, checks, runs)
	ctx := context.Background()
	// The shipper parked one poisoned point of the first run (home).
	if err := s.Reject(ctx, 1, `http_check,check=home status="x" 1`, "field type conflict"); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.Add(-time.Minute), now.Add(-2 * time.Minute), now.Add(-30 * time.Hour)} {
		if err := s.RecordSkip(ctx, "home", at, "previous run still going"); err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}

// probeErrorRuns are three checks: broken (every run a probe error, the
// newest message quoted), flaky (6 of 10 runs probe faults, one a browser
// crash) and half (2 of 4: not more than half).
func probeErrorRuns(now time.Time) ([]probe.Check, []probe.Run) {
	at := func(i int) time.Time { return now.Add(-time.Duration(i+1) * time.Minute) }
	var runs []probe.Run
	for i, msg := range []string{"prepare http check: resolver: newest", "older", "oldest"} {
		runs = append(runs, httpRun("broken", at(i), 0, probe.Fail(probe.FailureProbeError, "", "%s", msg)))
	}
	for i := range 10 {
		var f *probe.Failure
		switch {
		case i == 0:
			f = probe.Fail(probe.FailureBrowserCrash, "", "chromium exited")
		case i < 6:
			f = probe.Fail(probe.FailureProbeError, "", "too many open files")
		}
		runs = append(runs, httpRun("flaky", at(i), 120, f))
	}
	for i := range 4 {
		var f *probe.Failure
		if i < 2 {
			f = probe.Fail(probe.FailureProbeError, "", "x")
		}
		runs = append(runs, httpRun("half", at(i), 80, f))
	}
	checks := []probe.Check{
		{Name: "broken", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99.9}},
		{Name: "flaky", Type: probe.TypeHTTP},
		{Name: "half", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 50}},
	}
	return checks, runs
}

// downRuns are 13 connection failures of a check with a 99.9 % uptime
// target: its budget (0.001·13 allowed failures) is long exhausted.
func downRuns(now time.Time) ([]probe.Check, []probe.Run) {
	var runs []probe.Run
	for i := range 13 {
		runs = append(runs, httpRun("down", now.Add(-time.Duration(i+1)*time.Minute), 3, probe.Fail(probe.FailureConnect, probe.PhaseConnect, "refused")))
	}
	return []probe.Check{{Name: "down", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99.9}}}, runs
}

// saveRuns writes checks and runs into a fresh store, closed when the test
// ends, and returns it with its path.
func saveRuns(t *testing.T, checks []probe.Check, runs []probe.Run) (*sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "storeprobe.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, c := range checks {
		if err := s.SaveCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range runs {
		if _, err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}

// build reports on the window back from now, as `storeprobe report` does.
func build(t *testing.T, s Store, path string, now time.Time, window, check string) Report {
	t.Helper()
	d, err := probe.ParseDuration(window)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(context.Background(), s, Options{StorePath: path, Since: now.Add(-d), Until: now,
		Duration: window, Check: check})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// jsonOf writes rep with WriteJSON and returns the text and its decoding.
func jsonOf(t *testing.T, rep Report) (string, Report) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b.String())
	}
	return b.String(), back
}

// textOf writes rep with WriteText.
func textOf(t *testing.T, rep Report, o TextOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, rep, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// shopRuns is a shop checked from two locations: home (HTTP, the storefront
// preset with its uptime overridden) every 10 minutes with one failure in
// us-east and a deploy's maintenance window whose three failed runs judge
// nothing; pdp, a browser page whose LCP is good in eu-west and poor in
// us-east; and two alerts (a down alert fired, repeated and resolved).
// now is the report's end, off the hour so that rollups and raw edges both
// count.
func shopRuns(now time.Time) ([]probe.Check, []probe.Run, []alert.Event) {
	checks := []probe.Check{
		{Name: "home", Type: probe.TypeHTTP, URL: "https://shop.example.com/",
			SLO: probe.SLO{Uptime: 99, LoadTime: 800 * time.Millisecond, Preset: "storefront",
				FromPreset: probe.Targets(0).With(probe.TargetLoadTime)}},
		{Name: "pdp", Type: probe.TypeBrowser, URL: "https://shop.example.com/p/1",
			SLO: probe.SLO{CWVGood: 75, Preset: "storefront", FromPreset: probe.Targets(0).With(probe.TargetCWVGood)}},
	}
	var runs []probe.Run
	for i := range 36 { // 6 hours, every 10 minutes, both locations
		at := now.Add(-time.Duration(i+1) * 10 * time.Minute)
		for j, loc := range []string{"eu-west", "us-east"} {
			var f *probe.Failure
			if loc == "us-east" && i == 3 {
				f = probe.Fail(probe.FailureStatus, "", "status 502")
			}
			r := httpRun("home", at, 200+float64(i)+float64(j)*100, f)
			r.Location = loc
			if i >= 30 && i < 33 { // a deploy, 5h to 5h30 ago: down on purpose
				r = httpRun("home", at, 10000, probe.Fail(probe.FailureTimeout, probe.PhaseWait, "no first byte"))
				r.Location, r.Maintenance = loc, "deploy"
			}
			runs = append(runs, r)
			lcp := 1500 + float64(i)*10
			if loc == "us-east" {
				lcp += 3000
			}
			runs = append(runs, probe.Run{Check: "pdp", Type: probe.TypeBrowser, Location: loc, ScheduledAt: at, StartedAt: at,
				Attempts: []probe.Result{{Check: "pdp", Type: probe.TypeBrowser, OK: true, Attempt: 1, StartedAt: at, DurationMS: 2000,
					BrowserDetails: &probe.BrowserDetails{Device: "desktop", PageMetrics: &probe.PageMetrics{
						Vitals: probe.Vitals{LCP: &lcp, CLS: f64(0.02)}, LoadMS: 1800 + float64(i)}}}}})
		}
	}
	down := alert.Notification{Status: alert.Firing, Alert: alert.RuleDown, Check: "home", Location: "us-east",
		Severity: alert.Critical, Summary: "home is down | status 502 <from us-east>", StartedAt: now.Add(-40 * time.Minute), Key: "down:home"}
	repeat := down
	repeat.Repeat = true
	resolved := down
	resolved.Status = alert.Resolved
	ended := now.Add(-30 * time.Minute)
	resolved.EndedAt = &ended
	events := []alert.Event{
		{At: now.Add(-39 * time.Minute), Receivers: []string{"ops"}, Notification: down},
		{At: now.Add(-35 * time.Minute), Receivers: []string{"ops"}, Notification: repeat},
		{At: now.Add(-29 * time.Minute), Receivers: []string{"ops"}, Notification: resolved},
		{At: now.Add(-48 * time.Hour), Notification: down}, // before the window
	}
	return checks, runs, events
}

// saveShop writes shopRuns into a fresh store.
func saveShop(t *testing.T, now time.Time) (*sqlite.Store, string) {
	t.Helper()
	checks, runs, events := shopRuns(now)
	s, path := saveRuns(t, checks, runs)
	for _, e := range events {
		if err := s.RecordAlert(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}
