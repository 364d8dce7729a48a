package report

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// paths are the two ways Build reads samples: every sample (exact
// percentiles) and the store's hourly rollups (histograms). Everything but
// percentiles must agree exactly.
var paths = []struct {
	name string
	max  int // Options.MaxExactRuns
}{{"exact", 0}, {"rollups", -1}}

func TestReportShop(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)
	s, path := saveShop(t, now)
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			rep, err := Build(context.Background(), s, Options{StorePath: path, Since: now.Add(-24 * time.Hour), Until: now,
				Duration: "24h", ByLocation: true, MaxExactRuns: p.max})
			if err != nil {
				t.Fatal(err)
			}
			wantMethod := map[string]string{"exact": MethodNearestRank, "rollups": MethodHistogram}[p.name]
			if rep.Percentiles.Method != wantMethod {
				t.Errorf("percentiles %+v, want %s", rep.Percentiles, wantMethod)
			}
			home, pdp := rep.Checks[0], rep.Checks[1]
			// 72 runs, 6 in the deploy's window (timeouts that judge
			// nothing), 66 eligible, one 502.
			a := home.Availability
			if a.Runs != 72 || a.Maintenance != 6 || a.Eligible != 66 || a.Up != 65 || a.ProbeFaults != 0 {
				t.Errorf("home availability = %+v", a)
			}
			if len(home.Failures) != 1 || home.Failures[probe.FailureStatus] != 1 {
				t.Errorf("home failures = %v, want status 1 (the maintenance timeouts judge nothing)", home.Failures)
			}
			// 99 %: 0.66 failures allowed, 1 failed.
			b := home.Budget
			if b == nil || b.Failed != 1 || !near(b.Remaining, 1-1/0.66) || !near(b.BurnRate, (1.0/66)/0.01) {
				t.Fatalf("home budget = %+v", b)
			}
			// Burn windows back from 12:34:56: the last hour holds 12 runs
			// (the one 10 and 60 minutes back included) and the 502.
			want := []struct {
				window             string
				runs, elig, failed int
				rate               float64
			}{{"1h", 12, 12, 1, (1.0 / 12) / 0.01}, {"6h", 72, 66, 1, (1.0 / 66) / 0.01}, {"24h", 72, 66, 1, (1.0 / 66) / 0.01}}
			if len(b.BurnRates) != len(want) {
				t.Fatalf("burn rates = %+v", b.BurnRates)
			}
			for i, w := range want {
				br := b.BurnRates[i]
				if br.Window != w.window || br.Runs != w.runs || br.Eligible != w.elig || br.Failed != w.failed || !near(br.Rate, w.rate) {
					t.Errorf("burn %d = %+v (rate %v), want %+v", i, br, deref(br.Rate), w)
				}
			}
			wantVerdicts(t, "home", home.Verdicts, "uptime//=fail", "load_time//=pass")
			if v := home.Verdicts[0]; !v.SmallSample || v.Samples != 66 || v.MinSamples != 100 {
				t.Errorf("home uptime verdict = %+v, want a small sample of 66 (needs 100)", v)
			}
			if home.Targets.Preset != "storefront" || strings.Join(home.Targets.FromPreset, ",") != "load_time" {
				t.Errorf("home targets = %+v", home.Targets)
			}
			if len(home.Warnings) != 1 || home.Warnings[0].Kind != WarnSmallSample {
				t.Errorf("home warnings = %+v", home.Warnings)
			}
			// Per location: the 502 was us-east's.
			if len(home.Locations) != 2 || home.Locations[0].Location != "eu-west" || home.Locations[1].Location != "us-east" {
				t.Fatalf("home locations = %+v", home.Locations)
			}
			eu, us := home.Locations[0].Availability, home.Locations[1].Availability
			if eu.Eligible != 33 || eu.Up != 33 || eu.Maintenance != 3 || us.Up != 32 || us.Maintenance != 3 {
				t.Errorf("home by location: eu %+v us %+v", eu, us)
			}
			// pdp: LCP good in eu-west, poor in us-east: 50 % over both.
			wantVerdicts(t, "pdp", pdp.Verdicts, "cwv_good/pdp/lcp=fail", "cwv_good/pdp/cls=pass")
			if g := pdp.Pages[0].Vital(probe.VitalLCP); g.Good != 36 || g.Poor != 36 || !near(g.GoodPercent, 50) {
				t.Errorf("pdp lcp = %+v", g)
			}
			for i, wantGood := range []float64{100, 0} {
				l := pdp.Locations[i]
				if g := l.Pages[0].Vital(probe.VitalLCP); g.Samples != 36 || !near(g.GoodPercent, wantGood) {
					t.Errorf("pdp lcp at %s = %+v, want %v %% good", l.Location, g, wantGood)
				}
			}
			// us-east's home loads: 300+i ms for i 0..35 but the 502 (i 3)
			// and the deploy (i 30..32): 32 samples, p75 rank 24 = 324.
			if got := home.Locations[1].Load; got.Samples != 32 || !within(f64(324), got.P75) {
				t.Errorf("us-east load = %d samples, p75 %v", got.Samples, deref(got.P75))
			}
			// Alerts: the down alert fired and resolved; its repeat and
			// the one of two days ago are not listed.
			if len(rep.Alerts) != 2 || rep.Alerts[0].Status != "firing" || rep.Alerts[1].Status != "resolved" ||
				rep.Alerts[1].EndedAt == nil || rep.Alerts[0].Rule != "down" || rep.Alerts[0].Location != "us-east" {
				t.Errorf("alerts = %+v", rep.Alerts)
			}
		})
	}
}

// TestReportPathsAgree: the rollup path counts exactly what the exact path
// counts, over windows that start and end on and off the hour, and its
// percentiles are within the histogram's bound.
func TestReportPathsAgree(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)
	s, path := saveShop(t, now)
	for _, w := range []struct {
		since, until time.Time
	}{
		{now.Add(-24 * time.Hour), now},
		{now.Add(-3 * time.Hour), now.Add(-34*time.Minute - 56*time.Second)}, // ends on the hour
		{now.Add(-4*time.Hour - 34*time.Minute - 56*time.Second), now},       // starts on the hour
		{now.Add(-25 * time.Minute), now.Add(-5 * time.Minute)},              // inside one hour
		{now.Add(-90 * time.Minute), now.Add(-20 * time.Minute)},             // across one hour boundary
	} {
		var reps [2]Report
		for i, p := range paths {
			rep, err := Build(context.Background(), s, Options{StorePath: path, Since: w.since, Until: w.until,
				Duration: "x", ByLocation: true, MaxExactRuns: p.max})
			if err != nil {
				t.Fatal(err)
			}
			reps[i] = rep
		}
		ex, ro := reps[0], reps[1]
		if len(ex.Checks) != len(ro.Checks) {
			t.Fatalf("%v: %d vs %d checks", w, len(ex.Checks), len(ro.Checks))
		}
		for i := range ex.Checks {
			e, r := ex.Checks[i], ro.Checks[i]
			if e.Availability != r.Availability && !sameAvailability(e, r) {
				t.Errorf("%v %s: availability %+v vs %+v", w, e.Check, e.Availability, r.Availability)
			}
			if e.Load.Samples != r.Load.Samples || !within(e.Load.P75, r.Load.P75) || !within(e.Load.P95, r.Load.P95) {
				t.Errorf("%v %s: load %+v vs %+v", w, e.Check, e.Load, r.Load)
			}
			for j := range e.Pages {
				for k := range e.Pages[j].Vitals {
					ev, rv := e.Pages[j].Vitals[k], r.Pages[j].Vitals[k]
					if ev.Good != rv.Good || ev.Poor != rv.Poor || ev.Samples != rv.Samples || !within(ev.P75, rv.P75) {
						t.Errorf("%v %s %s: %+v vs %+v", w, e.Check, ev.Vital, ev, rv)
					}
				}
			}
			for j := range e.Verdicts {
				if e.Verdicts[j].Status != r.Verdicts[j].Status || e.Verdicts[j].Samples != r.Verdicts[j].Samples {
					t.Errorf("%v %s: verdict %+v vs %+v", w, e.Check, e.Verdicts[j], r.Verdicts[j])
				}
			}
		}
	}
}

func sameAvailability(a, b Check) bool {
	x, y := a.Availability, b.Availability
	return x.Runs == y.Runs && x.Eligible == y.Eligible && x.Up == y.Up && x.FirstTry == y.FirstTry &&
		x.ProbeFaults == y.ProbeFaults && x.Maintenance == y.Maintenance
}

// within: a histogram percentile is within 0.5 % of the exact one.
func within(exact, approx *float64) bool {
	if exact == nil || approx == nil {
		return exact == approx
	}
	return math.Abs(*exact-*approx) <= 0.005**exact+1e-9
}

// TestReportBurnWindows: known truth over a week of one run every 10
// minutes, one failure in each of the windows' rings: the last hour, 1–6 h,
// 6–24 h, 1–3 d, 3–7 d back.
func TestReportBurnWindows(t *testing.T) {
	now := time.Date(2026, 3, 8, 9, 17, 3, 0, time.UTC)
	failAt := map[int]bool{2: true, 20: true, 100: true, 300: true, 700: true} // runs back, 10 minutes each
	var runs []probe.Run
	for i := range 1008 {
		var f *probe.Failure
		if failAt[i] {
			f = probe.Fail(probe.FailureConnect, probe.PhaseConnect, "refused")
		}
		runs = append(runs, httpRun("home", now.Add(-time.Duration(i+1)*10*time.Minute), 100, f))
	}
	s, path := saveRuns(t, []probe.Check{{Name: "home", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99}}}, runs)
	want := []struct {
		window       string
		runs, failed int
	}{{"1h", 6, 1}, {"6h", 36, 2}, {"1d", 144, 3}, {"3d", 432, 4}, {"7d", 1008, 5}}
	for _, p := range paths {
		rep, err := Build(context.Background(), s, Options{StorePath: path, Since: now.Add(-7 * 24 * time.Hour), Until: now,
			Duration: "7d", MaxExactRuns: p.max})
		if err != nil {
			t.Fatal(err)
		}
		got := rep.Checks[0].Budget.BurnRates
		if len(got) != len(want) {
			t.Fatalf("%s: burn rates %+v", p.name, got)
		}
		for i, w := range want {
			rate := float64(w.failed) / float64(w.runs) / 0.01
			if g := got[i]; g.Window != w.window || g.Runs != w.runs || g.Eligible != w.runs || g.Failed != w.failed || !near(g.Rate, rate) ||
				!g.Since.Equal(now.Add(-[]time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour, 168 * time.Hour}[i])) {
				t.Errorf("%s: %s = %+v (rate %v), want %d runs, %d failed, rate %v", p.name, w.window, g, deref(g.Rate), w.runs, w.failed, rate)
			}
		}
	}
}
