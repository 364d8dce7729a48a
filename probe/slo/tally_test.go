package slo

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func TestSLOMinSamples(t *testing.T) {
	for _, tc := range []struct {
		target float64
		want   int
	}{
		{99.99, 10000}, {99.9, 1000}, {99.95, 2000}, {99.5, 200}, {99, 100}, {95, 20}, {90, 10}, {75, 4}, {50, 2},
		{99.98, 5000}, {33, 2}, {100, 0}, {0, 0}, {-1, 0},
	} {
		if got := MinSamples(tc.target); got != tc.want {
			t.Errorf("MinSamples(%v) = %d, want %d", tc.target, got, tc.want)
		}
		// The definition itself: at the minimum one failure still meets
		// the target, one run fewer it does not.
		if n := tc.want; n > 1 {
			if float64(n-1)/float64(n)*100 < tc.target-1e-9 {
				t.Errorf("%v: one failure in %d runs breaches", tc.target, n)
			}
			if float64(n-2)/float64(n-1)*100 >= tc.target-1e-9 {
				t.Errorf("%v: one failure in %d runs already meets it", tc.target, n-1)
			}
		}
	}
}

// TestSmallSample: a 99.99 % target on 9,999 runs is flagged, on 10,000
// it is not; no-data verdicts are never flagged.
func TestSLOSmallSample(t *testing.T) {
	for _, tc := range []struct {
		eligible int
		small    bool
	}{{1, true}, {9999, true}, {10000, false}, {20000, false}} {
		c := Counts{Runs: tc.eligible, Eligible: tc.eligible, Up: tc.eligible, FirstTry: tc.eligible}
		s := Judge("c", probe.TypeHTTP, c, Samples{}, probe.SLO{Uptime: 99.99})
		v := s.Verdicts[0]
		if v.SmallSample != tc.small || v.Samples != tc.eligible || v.MinSamples != 10000 || v.Status != Pass {
			t.Errorf("%d runs: %+v, want small %v", tc.eligible, v, tc.small)
		}
	}
	s := Judge("c", probe.TypeHTTP, Counts{}, Samples{}, probe.SLO{Uptime: 99.99})
	if v := s.Verdicts[0]; v.SmallSample || v.Status != NoData {
		t.Errorf("no data: %+v", v)
	}
}

// TestMaintenanceExcluded: runs in a maintenance window are counted as
// such and judged by nothing. The window's four failures would spend the
// 99 % budget four times over if they counted.
func TestSLOMaintenanceExcluded(t *testing.T) {
	var runs []probe.Run
	for i := range 100 {
		runs = append(runs, run("c", probe.TypeHTTP, i, httpAttempt(100, nil)))
	}
	for i := range 4 {
		r := run("c", probe.TypeHTTP, 100+i, httpAttempt(30000, fail(probe.FailureTimeout)))
		r.Maintenance = "deploy"
		runs = append(runs, r)
	}
	pf := run("c", probe.TypeHTTP, 104, httpAttempt(0, fail(probe.FailureProbeError)))
	pf.Maintenance = "deploy"
	runs = append(runs, pf)
	s := Evaluate("c", probe.TypeHTTP, runs, probe.SLO{Uptime: 99, LoadTime: time.Second})
	a := s.Availability
	if a.Runs != 105 || a.Maintenance != 5 || a.Eligible != 100 || a.Up != 100 || a.ProbeFaults != 0 {
		t.Errorf("availability = %+v", a)
	}
	if len(s.Failures) != 0 {
		t.Errorf("failures = %v, want none", s.Failures)
	}
	if b := s.Budget; b.Failed != 0 || !ptrEq(b.Remaining, 1) || !ptrEq(b.BurnRate, 0) {
		t.Errorf("budget = %+v", b)
	}
	// The timeouts would be censored 30 s loads: p75 stays 100 ms.
	if s.Load.Samples != 100 || !ptrEq(s.Load.P95, 100) || s.Breached() {
		t.Errorf("load = %+v, verdicts %+v", s.Load, s.Verdicts)
	}
	if got := FailuresByKind(runs); len(got) != 0 {
		t.Errorf("FailuresByKind = %v", got)
	}
	if d := LoadDistribution(runs); d.Samples != 100 {
		t.Errorf("LoadDistribution = %+v", d)
	}
}

// TestBurn: known truth. 99.9 % allows 1 failure in 1000; 3 failures in
// 600 eligible runs burn (3/600)/0.001 = 5×.
func TestSLOBurn(t *testing.T) {
	since := t0
	c := Counts{Runs: 610, Maintenance: 5, ProbeFaults: 5, Eligible: 600, Up: 597}
	b := Burn("6h", since, c, 99.9)
	if b.Window != "6h" || !b.Since.Equal(since) || b.Runs != 610 || b.Eligible != 600 || b.Failed != 3 || !ptrEq(b.Rate, 5) {
		t.Errorf("Burn = %+v rate %v", b, deref(b.Rate))
	}
	if b := Burn("1h", since, Counts{}, 99.9); b.Rate != nil {
		t.Errorf("no runs: rate %v", *b.Rate)
	}
	if b := Burn("1h", since, c, 100); b.Rate != nil {
		t.Errorf("100 %% target: rate %v", *b.Rate)
	}
}

// TestHistogramBuckets holds the bucket function to its bounds exactly,
// on the boundaries themselves and around them.
func TestSLOHistogramBuckets(t *testing.T) {
	for _, v := range []float64{0, -1, math.NaN(), 1e-9, 0.001, 0.00101} {
		if i := HistogramBucket(v); i > 2 {
			t.Errorf("bucket(%v) = %d", v, i)
		}
	}
	if HistogramBucket(0) != 0 || HistogramBucket(1e-9) != 1 {
		t.Errorf("zero and tiny values: %d %d", HistogramBucket(0), HistogramBucket(1e-9))
	}
	for i := 2; i < 3000; i += 7 {
		lo := BucketLower(i)
		for _, v := range []float64{lo, math.Nextafter(lo, 0), math.Nextafter(lo, math.Inf(1)), lo * 1.005} {
			b := HistogramBucket(v)
			if BucketLower(b) > v || BucketLower(b+1) <= v {
				t.Fatalf("bucket(%v) = %d: [%v, %v)", v, b, BucketLower(b), BucketLower(b+1))
			}
		}
	}
	if HistogramBucket(math.Inf(1)) <= 0 {
		t.Error("+Inf has no bucket")
	}
}

// TestHistogramPercentileError: a histogram's percentile is within
// HistogramError of the exact nearest-rank one, for loads (ms) and CLS
// alike.
func TestSLOHistogramPercentileError(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 1 + rng.IntN(2000)
		scale := []float64{0.05, 1, 300, 20000}[trial%4]
		values := make([]float64, n)
		var h Histogram
		for i := range values {
			values[i] = math.Round(scale*math.Exp(rng.NormFloat64())*1000) / 1000
			h.Add(values[i])
		}
		for _, p := range []float64{50, 75, 95, 99, 100} {
			exact, _ := Percentile(values, p)
			got, ok := h.Percentile(p)
			if !ok {
				t.Fatal("empty")
			}
			err := math.Abs(got - exact)
			if exact == 0 && got != 0 || exact > 0 && err > HistogramError*exact+1e-12 && err > HistogramMin {
				t.Fatalf("n=%d p%v: histogram %v, exact %v (error %.4f %%)", n, p, got, exact, 100*err/exact)
			}
		}
	}
	if _, ok := (Histogram{}).Percentile(50); ok {
		t.Error("empty histogram has a percentile")
	}
}

// TestTallyMerge: tallies merged across locations and spans equal the
// tally of all runs, and merging leaves its inputs alone.
func TestSLOTallyMerge(t *testing.T) {
	var runs []probe.Run
	for i := range 40 {
		lcp, cls := 1000+float64(i)*100, float64(i%5)/20
		r := probe.Run{Check: "j", Type: probe.TypeJourney, Location: []string{"eu", "us"}[i%2],
			ScheduledAt: t0.Add(time.Duration(i) * time.Minute),
			Attempts: []probe.Result{{Type: probe.TypeJourney, OK: i%7 != 0, DurationMS: 5000 + float64(i),
				BrowserDetails: &probe.BrowserDetails{Pages: []probe.PageResult{
					{Name: "home", PageMetrics: probe.PageMetrics{LoadMS: 900 + float64(i), Vitals: probe.Vitals{LCP: &lcp, CLS: &cls}}},
					{Name: "cart", PageMetrics: probe.PageMetrics{LoadMS: 1900 + float64(i), Vitals: probe.Vitals{LCP: &lcp}}},
				}}}}}
		if i%7 == 0 {
			r.Attempts[0].Failure = fail(probe.FailureSelector)
		}
		runs = append(runs, r)
	}
	whole := Evaluate("j", probe.TypeJourney, runs, probe.SLO{CWVGood: 50, Uptime: 80})
	tallies := TallyRuns(runs)
	if len(tallies) != 2 || tallies[0].Location != "eu" || tallies[1].Location != "us" {
		t.Fatalf("tallies = %+v", tallies)
	}
	before := tallies[0].Samples.Pages[0].Load.Len()
	var sum Tally
	for _, tl := range tallies {
		sum.Merge(tl)
	}
	sum.Merge(Tally{}) // an empty span changes nothing
	merged := Judge("j", probe.TypeJourney, sum.Counts, sum.Samples, probe.SLO{CWVGood: 50, Uptime: 80})
	if !reflect.DeepEqual(whole, merged) {
		t.Errorf("merged tallies differ from the whole:\n got %+v\nwant %+v", merged, whole)
	}
	if tallies[0].Samples.Pages[0].Load.Len() != before {
		t.Error("merging changed its input")
	}
	if names := []string{merged.Pages[0].Name, merged.Pages[1].Name}; !slices.Equal(names, []string{"home", "cart"}) {
		t.Errorf("page order %v, want home, cart", names)
	}
	// Into histograms: counts stay exact, percentiles within the bound.
	hs := HistogramSamples()
	hs.Merge(sum.Samples)
	approx := Judge("j", probe.TypeJourney, sum.Counts, hs, probe.SLO{CWVGood: 50})
	if hs.Exact() || approx.Pages[0].Vital(probe.VitalLCP).Good != whole.Pages[0].Vital(probe.VitalLCP).Good {
		t.Errorf("histogram samples: exact %v, good %d", hs.Exact(), approx.Pages[0].Vital(probe.VitalLCP).Good)
	}
	if g, w := *approx.Pages[0].Load.P75, *whole.Pages[0].Load.P75; math.Abs(g-w) > HistogramError*w {
		t.Errorf("histogram p75 %v, exact %v", g, w)
	}
}
