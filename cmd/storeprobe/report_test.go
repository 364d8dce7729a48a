package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func reportF64(v float64) *float64 { return &v }

func reportHTTPRun(check string, at time.Time, total float64, f *probe.Failure) probe.Run {
	return probe.Run{Check: check, Type: probe.TypeHTTP, ScheduledAt: at, StartedAt: at,
		Attempts: []probe.Result{{Check: check, Type: probe.TypeHTTP, OK: f == nil, Failure: f, Attempt: 1,
			StartedAt: at, DurationMS: total,
			HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Timings: probe.Timings{Total: total}}}}}
}

func reportJourneyRun(at time.Time, lcp, load float64) probe.Run {
	return probe.Run{Check: "checkout", Type: probe.TypeJourney, ScheduledAt: at, StartedAt: at,
		Attempts: []probe.Result{{Check: "checkout", Type: probe.TypeJourney, OK: true, Attempt: 1, StartedAt: at,
			DurationMS: 9000, BrowserDetails: &probe.BrowserDetails{Device: "desktop", Pages: []probe.PageResult{{
				Name: "home", URL: "http://127.0.0.1/",
				PageMetrics: probe.PageMetrics{Vitals: probe.Vitals{LCP: &lcp, CLS: reportF64(0.01)}, LoadMS: load},
			}}}}}}
}

// fillReportStore writes a store whose report is computed by hand in the
// tests below. now is the report's "now".
func fillReportStore(t *testing.T, now time.Time) string {
	t.Helper()
	checks := []probe.Check{
		{Name: "home", Type: probe.TypeHTTP, URL: "http://127.0.0.1:8080/", SLO: probe.SLO{Uptime: 90, LoadTime: 300 * time.Millisecond}},
		{Name: "checkout", Type: probe.TypeJourney, SLO: probe.SLO{LoadTime: 3 * time.Second, CWVGood: 75}},
		{Name: "api", Type: probe.TypeHTTP, URL: "http://127.0.0.1:8080/api", SLO: probe.SLO{Uptime: 99}},
	}
	var runs []probe.Run
	// home: 8 passes (100..240 ms), one status failure, one probe error,
	// and a failure two days ago (outside the default 24h window).
	for i, total := range []float64{240, 100, 220, 120, 200, 140, 180, 160} {
		runs = append(runs, reportHTTPRun("home", now.Add(-time.Duration(i+1)*time.Minute), total, nil))
	}
	runs = append(runs,
		reportHTTPRun("home", now.Add(-20*time.Minute), 50, probe.Fail(probe.FailureStatus, "", "status 503")),
		reportHTTPRun("home", now.Add(-21*time.Minute), 0, probe.Fail(probe.FailureProbeError, "", "socket limit")),
		reportHTTPRun("home", now.Add(-48*time.Hour), 0, probe.Fail(probe.FailureConnect, probe.PhaseConnect, "refused")),
		reportJourneyRun(now.Add(-5*time.Minute), 1000, 1000),
		reportJourneyRun(now.Add(-6*time.Minute), 3000, 2000),
	)
	for i := range 3 {
		runs = append(runs, reportHTTPRun("api", now.Add(-time.Duration(i+1)*time.Minute), 30, nil))
	}
	path := saveReportRuns(t, checks, runs)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The shipper parked one poisoned point of the first run (home).
	if err := s.Reject(ctx, 1, `http_check,check=home status="x" 1`, "field type conflict"); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.Add(-time.Minute), now.Add(-2 * time.Minute), now.Add(-30 * time.Hour)} {
		if err := s.RecordSkip(ctx, "home", at, "previous run still going"); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func reportCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	a, out, errb := testApp()
	code = run(context.Background(), a, args)
	return code, out.String(), errb.String()
}

func TestReportJSON(t *testing.T) {
	path := fillReportStore(t, time.Now().UTC())
	code, out, errs := reportCLI(t, "report", "--store", path, "--output", "json")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1 (targets breached); stderr: %s", code, errs)
	}
	// The key sets are the documented contract.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	reportWantKeys(t, "top level", raw, "store", "window", "checks", "outbox", "breached")
	var checksRaw []map[string]json.RawMessage
	json.Unmarshal(raw["checks"], &checksRaw)
	if len(checksRaw) != 3 {
		t.Fatalf("%d checks, want 3", len(checksRaw))
	}
	reportWantKeys(t, "check", checksRaw[0], "check", "type", "url", "targets", "skipped", "availability", "failures",
		"load_ms", "pages", "error_budget", "verdicts", "warnings")

	var rep reportJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	names := []string{rep.Checks[0].Check, rep.Checks[1].Check, rep.Checks[2].Check}
	if strings.Join(names, ",") != "api,checkout,home" {
		t.Fatalf("checks %v, want api, checkout, home", names)
	}
	api, checkout, home := rep.Checks[0], rep.Checks[1], rep.Checks[2]

	// home: 10 runs in the window, 1 probe error -> 9 eligible, 8 up:
	// uptime 800/9 = 88.889 % < 90 (JSON floats have 3 decimals). Loads 100..240 (8): p50 rank 4 = 160,
	// p75 rank 6 = 200, p95 rank ceil(7.6) = 8 = 240.
	ha := home.Availability
	if ha.Runs != 10 || ha.ProbeFaults != 1 || ha.Eligible != 9 || ha.Up != 8 || home.Skipped != 2 {
		t.Errorf("home counts: %+v, skipped %d", ha, home.Skipped)
	}
	if !reportNear(ha.UptimePercent, 88.889) {
		t.Errorf("home uptime = %v, want 88.889", reportDeref(ha.UptimePercent))
	}
	if !reportNear(home.Load.P50, 160) || !reportNear(home.Load.P75, 200) || !reportNear(home.Load.P95, 240) || home.Load.Samples != 8 {
		t.Errorf("home load = %+v", home.Load)
	}
	if home.Failures[probe.FailureStatus] != 1 || home.Failures[probe.FailureProbeError] != 1 || len(home.Failures) != 2 {
		t.Errorf("home failures = %v", home.Failures)
	}
	if home.Targets != (reportTargets{Uptime: 90, LoadTimeMS: 300}) || home.URL != "http://127.0.0.1:8080/" {
		t.Errorf("home targets = %+v url %q", home.Targets, home.URL)
	}
	// Error budget at 90 %: 0.9 failures allowed, 1 failed: 1 - 1/0.9 =
	// -0.111 left, burn (1/9)/0.1 = 1.111.
	if b := home.Budget; b == nil || !reportNear(b.Remaining, -0.111) || !reportNear(b.BurnRate, 1.111) {
		t.Errorf("home budget = %+v", home.Budget)
	}
	reportWantVerdicts(t, "home", home.Verdicts, "uptime//=fail", "load_time//=pass")

	// checkout: page home, LCP 1000 and 3000 -> 50 % good < 75; CLS 100 %;
	// load p75 of 1000, 2000 = rank 2 = 2000 <= 3000.
	if len(checkout.Pages) != 1 || checkout.Pages[0].Name != "home" || !reportNear(checkout.Pages[0].Load.P75, 2000) {
		t.Errorf("checkout pages = %+v", checkout.Pages)
	}
	reportWantVerdicts(t, "checkout", checkout.Verdicts, "load_time/home/=pass", "cwv_good/home/lcp=fail", "cwv_good/home/cls=pass")
	if lcp := checkout.Pages[0].Vital(probe.VitalLCP); !reportNear(lcp.P75, 3000) || !reportNear(lcp.GoodPercent, 50) {
		t.Errorf("checkout lcp = %+v", lcp)
	}

	reportWantVerdicts(t, "api", api.Verdicts, "uptime//=pass")
	if !rep.Breached {
		t.Error("breached = false")
	}
	// Every saved run is still waiting for the (absent) shipper.
	if rep.Outbox.Depth != 16 || rep.Outbox.Oldest == nil || rep.Outbox.RejectedPoints != 1 {
		t.Errorf("outbox = %+v, want depth 16, 1 rejected", rep.Outbox)
	}
	if rr := rep.Outbox.RecentRejected; len(rr) != 1 || rr[0].Check != "home" || rr[0].Reason != "field type conflict" {
		t.Errorf("recent rejected = %+v", rr)
	}
	var outbox map[string]json.RawMessage
	json.Unmarshal(raw["outbox"], &outbox)
	reportWantKeys(t, "outbox", outbox, "depth", "oldest", "rejected_points", "dropped", "recent_rejected")
}

func TestReportWindowAndFilter(t *testing.T) {
	path := fillReportStore(t, time.Now().UTC())
	tests := []struct {
		name     string
		args     []string
		code     int
		homeRuns int
		checks   int
	}{
		{"one passing check", []string{"--check", "api"}, exitOK, -1, 1},
		{"7 days include the old failure", []string{"--since", "7d", "--check", "home"}, exitFailed, 11, 1},
		{"90 minutes", []string{"--since", "90m"}, exitFailed, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := reportCLI(t, append([]string{"report", "--store", path, "--output", "json"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errs)
			}
			var rep reportJSON
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Checks) != tt.checks {
				t.Errorf("%d checks, want %d", len(rep.Checks), tt.checks)
			}
			for _, c := range rep.Checks {
				if c.Check == "home" && c.Availability.Runs != tt.homeRuns {
					t.Errorf("home runs = %d, want %d", c.Availability.Runs, tt.homeRuns)
				}
			}
		})
	}
}

func TestReportText(t *testing.T) {
	path := fillReportStore(t, time.Now().UTC())
	code, out, _ := reportCLI(t, "report", "--store", path)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"✗  uptime", "88.889 %", "≥ 90 %",
		"✓  load_time p75", "200 ms", "≤ 300 ms",
		"✗  cwv_good home lcp", "50 %", "≥ 75 %",
		"failures: probe_error 1, status 1",
		"result: 2 targets breached",
		"outbox: 16 waiting, 1 rejected points, 0 dropped",
		"home: field type conflict",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// The overview table is aligned: header and rows are equally wide.
	lines := strings.Split(out, "\n")
	var table []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "CHECK") {
			table = lines[i : i+4]
			break
		}
	}
	if len(table) != 4 {
		t.Fatalf("no overview table in:\n%s", out)
	}
	for _, l := range table[1:] {
		if utf8.RuneCountInString(l) != utf8.RuneCountInString(table[0]) {
			t.Errorf("misaligned table:\n%s", strings.Join(table, "\n"))
			break
		}
	}
	// home: 10 runs, 1 failed, 1 probe error, 2 skipped.
	if !reportRowIs(table, "home", "http", "10", "1", "1", "2", "88.889", "%", "160", "ms", "200", "ms", "240", "ms") {
		t.Errorf("home row wrong:\n%s", strings.Join(table, "\n"))
	}
}

func TestReportUsage(t *testing.T) {
	path := fillReportStore(t, time.Now().UTC())
	missing := filepath.Join(t.TempDir(), "nope.db")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"missing store", []string{"--store", missing}, exitUsage, "does not exist"},
		{"bad output", []string{"--store", path, "--output", "xml"}, exitUsage, "--output"},
		{"bad since", []string{"--store", path, "--since", "yesterday"}, exitUsage, "--since"},
		{"zero since", []string{"--store", path, "--since", "0s"}, exitUsage, "positive"},
		{"unknown flag", []string{"--store", path, "--nope"}, exitUsage, "nope"},
		{"unknown check", []string{"--store", path, "--check", "cart"}, exitUsage, "api, checkout, home"},
		{"stray argument", []string{"--store", path, "extra"}, exitUsage, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := reportCLI(t, append([]string{"report"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d stderr %q; want %d and %q", code, errs, tt.code, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("report created the missing store %s", missing)
	}
	code, out, _ := reportCLI(t, "report", "--help")
	if code != exitOK || !strings.Contains(out, "--since") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

func TestReportEmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, _ := reportCLI(t, "report", "--store", path)
	if code != exitOK || !strings.Contains(out, "No checks") {
		t.Errorf("empty store: exit %d\n%s", code, out)
	}
}

func reportWantKeys(t *testing.T, what string, m map[string]json.RawMessage, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Errorf("%s keys = %v, want %v", what, got, keys)
	}
}

func reportWantVerdicts(t *testing.T, check string, vs []slo.Verdict, want ...string) {
	t.Helper()
	var got []string
	for _, v := range vs {
		got = append(got, v.Target+"/"+v.Page+"/"+string(v.Vital)+"="+string(v.Status))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s verdicts = %v, want %v", check, got, want)
	}
}

func reportNear(p *float64, v float64) bool { return p != nil && *p-v < 1e-6 && v-*p < 1e-6 }

func reportDeref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func reportRowIs(lines []string, fields ...string) bool {
	for _, l := range lines {
		if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

// saveReportRuns writes checks and runs into a fresh store.
func saveReportRuns(t *testing.T, checks []probe.Check, runs []probe.Run) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "storeprobe.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	return path
}

// A check the probe cannot run measures nothing; its "no data" verdicts
// must not pass silently: a loud warning in text and JSON, and exit 1 with
// --fail-on-probe-errors.
func TestReportProbeErrorWarnings(t *testing.T) {
	now := time.Now().UTC()
	at := func(i int) time.Time { return now.Add(-time.Duration(i+1) * time.Minute) }
	var runs []probe.Run
	// broken: every run a probe error (the newest message is quoted).
	for i, msg := range []string{"prepare http check: resolver: newest", "older", "oldest"} {
		runs = append(runs, reportHTTPRun("broken", at(i), 0, probe.Fail(probe.FailureProbeError, "", "%s", msg)))
	}
	// flaky: 6 of 10 runs are probe faults (one a browser crash), 4 pass.
	for i := range 10 {
		var f *probe.Failure
		switch {
		case i == 0:
			f = probe.Fail(probe.FailureBrowserCrash, "", "chromium exited")
		case i < 6:
			f = probe.Fail(probe.FailureProbeError, "", "too many open files")
		}
		runs = append(runs, reportHTTPRun("flaky", at(i), 120, f))
	}
	// half: 2 of 4 runs: not more than half, no warning.
	for i := range 4 {
		var f *probe.Failure
		if i < 2 {
			f = probe.Fail(probe.FailureProbeError, "", "x")
		}
		runs = append(runs, reportHTTPRun("half", at(i), 80, f))
	}
	checks := []probe.Check{
		{Name: "broken", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99.9}},
		{Name: "flaky", Type: probe.TypeHTTP},
		{Name: "half", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 50}},
	}
	path := saveReportRuns(t, checks, runs)

	code, out, errs := reportCLI(t, "report", "--store", path, "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (nothing breached, no --fail-on-probe-errors); stderr %s", code, errs)
	}
	var rep reportJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string][]reportWarning{
		"broken": {{Kind: "probe_errors", Message: "all 3 runs were probe faults (probe_error 3): nothing was measured; latest: prepare http check: resolver: newest"}},
		"flaky":  {{Kind: "probe_errors", Message: "6 of 10 runs were probe faults (browser_crash 1, probe_error 5): the figures rest on 4 runs; latest: chromium exited"}},
		"half":   {},
	}
	for _, c := range rep.Checks {
		if !slices.Equal(c.Warnings, want[c.Check]) {
			t.Errorf("%s warnings = %+v, want %+v", c.Check, c.Warnings, want[c.Check])
		}
	}
	if !strings.Contains(out, `"warnings": []`) {
		t.Errorf("a check without warnings should have an empty array, not null:\n%s", out)
	}

	code, out, _ = reportCLI(t, "report", "--store", path)
	if code != exitOK {
		t.Errorf("text: exit %d, want 0", code)
	}
	for _, s := range []string{
		"\n⚠ broken: all 3 runs were probe faults (probe_error 3): nothing was measured; latest: prepare http check: resolver: newest\n",
		"\n⚠ flaky: 6 of 10 runs were probe faults",
		"  ⚠ all 3 runs were probe faults",
		"result: all targets met; 2 checks are mostly probe faults (--fail-on-probe-errors fails on this)\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "⚠ half") {
		t.Errorf("half of the runs is not most of them:\n%s", out)
	}

	for _, output := range []string{"text", "json"} {
		code, out, _ = reportCLI(t, "report", "--store", path, "--output", output, "--fail-on-probe-errors")
		if code != exitFailed {
			t.Errorf("--fail-on-probe-errors --output %s: exit %d, want 1", output, code)
		}
		if output == "text" && !strings.Contains(out, "(failing: --fail-on-probe-errors)") {
			t.Errorf("text output does not say why it fails:\n%s", out)
		}
	}
	code, _, _ = reportCLI(t, "report", "--store", path, "--check", "half", "--fail-on-probe-errors")
	if code != exitOK {
		t.Errorf("--fail-on-probe-errors on a check without the warning: exit %d, want 0", code)
	}
}

// An always-down check against 99.9 %: the text says the budget is
// exhausted instead of "-99900 % left", and JSON floats have 3 decimals
// (0.001·13 is 0.012999999999999262 in float64).
func TestReportBudgetExhaustedAndRounding(t *testing.T) {
	now := time.Now().UTC()
	var runs []probe.Run
	for i := range 13 {
		runs = append(runs, reportHTTPRun("down", now.Add(-time.Duration(i+1)*time.Minute), 3, probe.Fail(probe.FailureConnect, probe.PhaseConnect, "refused")))
	}
	path := saveReportRuns(t, []probe.Check{{Name: "down", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99.9}}}, runs)
	code, out, _ := reportCLI(t, "report", "--store", path)
	if code != exitFailed || !strings.Contains(out, "  error budget (99.9 % uptime): exhausted (13 failed, 0.013 allowed), burn rate 1000×\n") {
		t.Errorf("exit %d, text:\n%s", code, out)
	}
	code, out, _ = reportCLI(t, "report", "--store", path, "--output", "json")
	if code != exitFailed || !strings.Contains(out, `"allowed_failures": 0.013,`) || !strings.Contains(out, `"remaining": -999,`) ||
		!strings.Contains(out, `"burn_rate": 1000`) {
		t.Errorf("exit %d, json:\n%s", code, out)
	}
}

// Rounding never makes a failed verdict read as met; other values round to
// nearest, and the report that was judged is left untouched.
func TestRoundReport(t *testing.T) {
	v := func(target, unit string, want, got float64, st slo.Status) slo.Verdict {
		return slo.Verdict{Target: target, Want: want, Got: reportF64(got), Unit: unit, Status: st}
	}
	in := reportJSON{Checks: []reportCheck{{
		Load: slo.Distribution{Samples: 1, P50: reportF64(1.23449), P75: reportF64(2.0005), P95: reportF64(2.9999)},
		Verdicts: []slo.Verdict{
			v("uptime", "%", 99.9, 99.89996, slo.Fail),    // nearest 99.9 would look met
			v("uptime", "%", 99.9, 88.88888, slo.Fail),    // nearest 88.889 is plainly below
			v("load_time", "ms", 300, 300.0002, slo.Fail), // nearest 300 would look met
			v("load_time", "ms", 300, 299.99996, slo.Pass),
		},
	}}}
	out := roundReport(in)
	c := out.Checks[0]
	var got []float64
	for _, vv := range c.Verdicts {
		got = append(got, *vv.Got)
	}
	if want := []float64{99.899, 88.889, 300.001, 300}; !slices.Equal(got, want) {
		t.Errorf("verdict values %v, want %v", got, want)
	}
	if *c.Load.P50 != 1.234 || *c.Load.P75 != 2.001 || *c.Load.P95 != 3 {
		t.Errorf("load %v %v %v", *c.Load.P50, *c.Load.P75, *c.Load.P95)
	}
	if *in.Checks[0].Verdicts[0].Got != 99.89996 || *in.Checks[0].Load.P50 != 1.23449 {
		t.Error("roundReport changed its input")
	}
}
