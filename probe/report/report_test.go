package report

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

func TestReportJSON(t *testing.T) {
	now := time.Now().UTC()
	s, path := fillStore(t, now)
	out, rep := jsonOf(t, build(t, s, path, now, "24h", ""))
	// The key sets are the documented contract.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "top level", raw, "store", "window", "checks", "outbox", "breached", "percentiles", "alerts", "by_location")
	var window map[string]json.RawMessage
	json.Unmarshal(raw["window"], &window)
	wantKeys(t, "window", window, "since", "until", "duration")
	var checksRaw []map[string]json.RawMessage
	json.Unmarshal(raw["checks"], &checksRaw)
	if len(checksRaw) != 3 {
		t.Fatalf("%d checks, want 3", len(checksRaw))
	}
	wantKeys(t, "check", checksRaw[0], "check", "type", "url", "targets", "skipped", "availability", "failures",
		"load_ms", "pages", "cdn", "error_budget", "verdicts", "warnings")

	if rep.Store != path || rep.Window.Duration != "24h" || !rep.Window.Until.Equal(now) || !rep.Window.Since.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("store %q window %+v", rep.Store, rep.Window)
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
	if !near(ha.UptimePercent, 88.889) {
		t.Errorf("home uptime = %v, want 88.889", deref(ha.UptimePercent))
	}
	if !near(home.Load.P50, 160) || !near(home.Load.P75, 200) || !near(home.Load.P95, 240) || home.Load.Samples != 8 {
		t.Errorf("home load = %+v", home.Load)
	}
	if home.Failures[probe.FailureStatus] != 1 || home.Failures[probe.FailureProbeError] != 1 || len(home.Failures) != 2 {
		t.Errorf("home failures = %v", home.Failures)
	}
	if !reflect.DeepEqual(home.Targets, Targets{Uptime: 90, LoadTimeMS: 300, FromPreset: []string{}}) || home.URL != "http://127.0.0.1:8080/" {
		t.Errorf("home targets = %+v url %q", home.Targets, home.URL)
	}
	// Error budget at 90 %: 0.9 failures allowed, 1 failed: 1 - 1/0.9 =
	// -0.111 left, burn (1/9)/0.1 = 1.111.
	if b := home.Budget; b == nil || !near(b.Remaining, -0.111) || !near(b.BurnRate, 1.111) {
		t.Errorf("home budget = %+v", home.Budget)
	}
	wantVerdicts(t, "home", home.Verdicts, "uptime//=fail", "load_time//=pass")

	// checkout: page home, LCP 1000 and 3000 -> 50 % good < 75; CLS 100 %;
	// load p75 of 1000, 2000 = rank 2 = 2000 <= 3000.
	if len(checkout.Pages) != 1 || checkout.Pages[0].Name != "home" || !near(checkout.Pages[0].Load.P75, 2000) {
		t.Errorf("checkout pages = %+v", checkout.Pages)
	}
	wantVerdicts(t, "checkout", checkout.Verdicts, "load_time/home/=pass", "cwv_good/home/lcp=fail", "cwv_good/home/cls=pass")
	if lcp := checkout.Pages[0].Vital(probe.VitalLCP); !near(lcp.P75, 3000) || !near(lcp.GoodPercent, 50) {
		t.Errorf("checkout lcp = %+v", lcp)
	}

	wantVerdicts(t, "api", api.Verdicts, "uptime//=pass")
	if !rep.Breached || !rep.Fails(false) {
		t.Errorf("breached = %v, fails = %v; want both", rep.Breached, rep.Fails(false))
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
	wantKeys(t, "outbox", outbox, "depth", "oldest", "rejected_points", "dropped", "recent_rejected")
}

func TestReportWindowAndFilter(t *testing.T) {
	now := time.Now().UTC()
	s, path := fillStore(t, now)
	tests := []struct {
		name     string
		window   string
		check    string
		breached bool
		homeRuns int
		checks   int
	}{
		{"one passing check", "24h", "api", false, -1, 1},
		{"7 days include the old failure", "7d", "home", true, 11, 1},
		{"90 minutes", "90m", "", true, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := build(t, s, path, now, tt.window, tt.check)
			if rep.Breached != tt.breached {
				t.Errorf("breached = %v, want %v", rep.Breached, tt.breached)
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

// An unknown --check is the caller's mistake: a typed error naming the
// checks there are, which a front end maps to its usage error.
func TestReportUnknownCheck(t *testing.T) {
	now := time.Now().UTC()
	s, path := fillStore(t, now)
	_, err := Build(context.Background(), s, Options{StorePath: path, Since: now.Add(-time.Hour), Until: now, Check: "cart"})
	var unknown *UnknownCheckError
	if !errors.As(err, &unknown) {
		t.Fatalf("error %v (%T), want *UnknownCheckError", err, err)
	}
	if unknown.Check != "cart" || !slices.Equal(unknown.Known, []string{"api", "checkout", "home"}) {
		t.Errorf("unknown check %+v", unknown)
	}
	if want := `no check named "cart" in ` + path + ` (checks: api, checkout, home)`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// A check the probe cannot run measures nothing; its "no data" verdicts
// must not pass silently: a loud warning in text and JSON, and a failing
// report when probe errors are asked to fail it.
func TestReportProbeErrorWarnings(t *testing.T) {
	now := time.Now().UTC()
	checks, runs := probeErrorRuns(now)
	s, path := saveRuns(t, checks, runs)
	rep := build(t, s, path, now, "24h", "")
	if rep.Fails(false) {
		t.Error("fails without failOnProbeErrors; nothing was breached")
	}
	if !rep.Fails(true) || rep.ProbeErrorChecks() != 2 {
		t.Errorf("fails(true) = %v, %d probe-error checks; want true, 2", rep.Fails(true), rep.ProbeErrorChecks())
	}
	out, back := jsonOf(t, rep)
	want := map[string][]Warning{
		"broken": {{Kind: "probe_errors", Message: "all 3 runs were probe faults (probe_error 3): nothing was measured; latest: prepare http check: resolver: newest"}},
		"flaky":  {{Kind: "probe_errors", Message: "6 of 10 runs were probe faults (browser_crash 1, probe_error 5): the figures rest on 4 runs; latest: chromium exited"}},
		"half":   {},
	}
	for _, c := range back.Checks {
		if !slices.Equal(c.Warnings, want[c.Check]) {
			t.Errorf("%s warnings = %+v, want %+v", c.Check, c.Warnings, want[c.Check])
		}
	}
	if !strings.Contains(out, `"warnings": []`) {
		t.Errorf("a check without warnings should have an empty array, not null:\n%s", out)
	}

	text := textOf(t, rep, TextOptions{})
	for _, s := range []string{
		"\n⚠ broken: all 3 runs were probe faults (probe_error 3): nothing was measured; latest: prepare http check: resolver: newest\n",
		"\n⚠ flaky: 6 of 10 runs were probe faults",
		"  ⚠ all 3 runs were probe faults",
		"result: all targets met; 2 checks are mostly probe faults (--fail-on-probe-errors fails on this)\n",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("text output lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "⚠ half") {
		t.Errorf("half of the runs is not most of them:\n%s", text)
	}
	if text := textOf(t, rep, TextOptions{FailOnProbeErrors: true}); !strings.Contains(text, "(failing: --fail-on-probe-errors)") {
		t.Errorf("text output does not say why it fails:\n%s", text)
	}
	if half := build(t, s, path, now, "24h", "half"); half.Fails(true) {
		t.Error("failOnProbeErrors fails a check without the warning")
	}
}

// An always-down check against 99.9 %: the text says the budget is
// exhausted instead of "-99900 % left", and JSON floats have 3 decimals
// (0.001·13 is 0.012999999999999262 in float64).
func TestReportBudgetExhaustedAndRounding(t *testing.T) {
	now := time.Now().UTC()
	checks, runs := downRuns(now)
	s, path := saveRuns(t, checks, runs)
	rep := build(t, s, path, now, "24h", "")
	if !rep.Breached {
		t.Error("breached = false")
	}
	if text := textOf(t, rep, TextOptions{}); !strings.Contains(text, "  error budget (99.9 % uptime): exhausted (13 failed, 0.013 allowed), burn rate 1000× (1h 1000×, 6h 1000×)\n") {
		t.Errorf("text:\n%s", text)
	}
	if out, _ := jsonOf(t, rep); !strings.Contains(out, `"allowed_failures": 0.013,`) || !strings.Contains(out, `"remaining": -999,`) ||
		!strings.Contains(out, `"burn_rate": 1000`) {
		t.Errorf("json:\n%s", out)
	}
}

// Rounding never makes a failed verdict read as met; other values round to
// nearest, and the report that was judged is left untouched.
func TestReportRounded(t *testing.T) {
	v := func(target, unit string, want, got float64, st slo.Status) slo.Verdict {
		return slo.Verdict{Target: target, Want: want, Got: f64(got), Unit: unit, Status: st}
	}
	in := Report{Checks: []Check{{
		Load: slo.Distribution{Samples: 1, P50: f64(1.23449), P75: f64(2.0005), P95: f64(2.9999)},
		Verdicts: []slo.Verdict{
			v("uptime", "%", 99.9, 99.89996, slo.Fail),    // nearest 99.9 would look met
			v("uptime", "%", 99.9, 88.88888, slo.Fail),    // nearest 88.889 is plainly below
			v("load_time", "ms", 300, 300.0002, slo.Fail), // nearest 300 would look met
			v("load_time", "ms", 300, 299.99996, slo.Pass),
		},
	}}}
	out := in.rounded()
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
		t.Error("rounded changed its receiver")
	}
}

func wantKeys(t *testing.T, what string, m map[string]json.RawMessage, keys ...string) {
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

func wantVerdicts(t *testing.T, check string, vs []slo.Verdict, want ...string) {
	t.Helper()
	var got []string
	for _, v := range vs {
		got = append(got, v.Target+"/"+v.Page+"/"+string(v.Vital)+"="+string(v.Status))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s verdicts = %v, want %v", check, got, want)
	}
}

func near(p *float64, v float64) bool { return p != nil && *p-v < 1e-6 && v-*p < 1e-6 }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
