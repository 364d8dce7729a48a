package slo

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func f64(v float64) *float64 { return &v }

func fail(kind probe.FailureKind) *probe.Failure {
	return &probe.Failure{Kind: kind, Message: string(kind)}
}

// httpAttempt is one HTTP attempt: ok when f is nil.
func httpAttempt(total float64, f *probe.Failure) probe.Result {
	return probe.Result{Type: probe.TypeHTTP, OK: f == nil, Failure: f, DurationMS: total,
		HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Timings: probe.Timings{Total: total}}}
}

func run(check string, typ probe.CheckType, i int, attempts ...probe.Result) probe.Run {
	return probe.Run{Check: check, Type: typ, ScheduledAt: t0.Add(time.Duration(i) * time.Minute), Attempts: attempts}
}

func ptrEq(a *float64, b float64) bool { return a != nil && math.Abs(*a-b) < 1e-9 }

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
		ok     bool
	}{
		{"empty", nil, 50, 0, false},
		{"p zero", []float64{1}, 0, 0, false},
		{"p over 100", []float64{1}, 101, 0, false},
		{"one sample", []float64{5}, 50, 5, true},
		{"one sample p95", []float64{5}, 95, 5, true},
		// n=4: rank = ceil(p·4/100).
		{"4 p25 rank 1", []float64{1, 2, 3, 4}, 25, 1, true},
		{"4 p50 rank 2", []float64{1, 2, 3, 4}, 50, 2, true},
		{"4 p75 rank 3", []float64{1, 2, 3, 4}, 75, 3, true},
		{"4 p95 rank ceil(3.8)=4", []float64{1, 2, 3, 4}, 95, 4, true},
		{"4 p100", []float64{1, 2, 3, 4}, 100, 4, true},
		// The textbook nearest-rank example: 15 20 35 40 50.
		{"5 p30 rank ceil(1.5)=2", []float64{15, 20, 35, 40, 50}, 30, 20, true},
		{"5 p40 rank 2", []float64{15, 20, 35, 40, 50}, 40, 20, true},
		{"5 p50 rank ceil(2.5)=3", []float64{15, 20, 35, 40, 50}, 50, 35, true},
		{"5 p75 rank ceil(3.75)=4", []float64{40, 15, 50, 35, 20}, 75, 40, true},
		{"unsorted p50", []float64{3, 1, 2}, 50, 2, true},
		{"ties", []float64{7, 7, 7, 9}, 75, 7, true},
	}
	twenty := make([]float64, 20)
	for i := range twenty {
		twenty[i] = float64(20 - i) // 20..1, unsorted
	}
	tests = append(tests,
		struct {
			name   string
			values []float64
			p      float64
			want   float64
			ok     bool
		}{"20 p95 rank exactly 19", twenty, 95, 19, true},
		struct {
			name   string
			values []float64
			p      float64
			want   float64
			ok     bool
		}{"20 p75 rank 15", twenty, 75, 15, true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.values)
			got, ok := Percentile(tt.values, tt.p)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Percentile(%v, %v) = %v, %v; want %v, %v", tt.values, tt.p, got, ok, tt.want, tt.ok)
			}
			if !slices.Equal(in, tt.values) {
				t.Errorf("Percentile reordered its input")
			}
		})
	}
}

func TestDistribute(t *testing.T) {
	// 1..10: p50 rank 5, p75 rank ceil(7.5)=8, p95 rank ceil(9.5)=10.
	v := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	d := Distribute(v)
	if d.Samples != 10 || !ptrEq(d.P50, 5) || !ptrEq(d.P75, 8) || !ptrEq(d.P95, 10) {
		t.Errorf("Distribute = %d %v %v %v", d.Samples, *d.P50, *d.P75, *d.P95)
	}
	if e := Distribute(nil); e.Samples != 0 || e.P50 != nil || e.P75 != nil || e.P95 != nil {
		t.Errorf("Distribute(nil) = %+v", e)
	}
}

// mixed is seven runs of one check, one of each interesting shape.
func mixed() []probe.Run {
	return []probe.Run{
		run("c", probe.TypeHTTP, 0, httpAttempt(100, nil)),                                                                       // up, first try
		run("c", probe.TypeHTTP, 1, httpAttempt(10000, fail(probe.FailureTimeout)), httpAttempt(200, nil)),                       // up after a retry
		run("c", probe.TypeHTTP, 2, httpAttempt(50, fail(probe.FailureStatus))),                                                  // down
		run("c", probe.TypeHTTP, 3, httpAttempt(0, fail(probe.FailureProbeError))),                                               // probe fault
		run("c", probe.TypeHTTP, 4, httpAttempt(0, fail(probe.FailureConnect)), httpAttempt(0, fail(probe.FailureBrowserCrash))), // probe fault decides
		run("c", probe.TypeHTTP, 5), // never ran: probe fault
		run("c", probe.TypeHTTP, 6, httpAttempt(5000, fail(probe.FailureTooSlow))), // down, but a real load
	}
}

func TestAvailabilityAndFailures(t *testing.T) {
	a := Availabilities(mixed())
	// 7 runs; 3 probe faults; 4 eligible; up: runs 0 and 1; first try: run 0.
	if a.Runs != 7 || a.ProbeFaults != 3 || a.Eligible != 4 || a.Up != 2 || a.FirstTry != 1 {
		t.Errorf("counts = %+v", a)
	}
	if !ptrEq(a.UptimePercent, 50) || !ptrEq(a.SuccessPercent, 25) {
		t.Errorf("uptime %v success %v, want 50 and 25", a.UptimePercent, a.SuccessPercent)
	}
	want := map[probe.FailureKind]int{
		probe.FailureStatus: 1, probe.FailureProbeError: 2, probe.FailureBrowserCrash: 1, probe.FailureTooSlow: 1,
	}
	if got := FailuresByKind(mixed()); !reflect.DeepEqual(got, want) {
		t.Errorf("FailuresByKind = %v, want %v", got, want)
	}
	// Only probe faults: no verdict possible.
	none := Availabilities(mixed()[3:6])
	if none.Eligible != 0 || none.UptimePercent != nil || none.SuccessPercent != nil {
		t.Errorf("all probe faults: %+v", none)
	}
}

func TestLoad(t *testing.T) {
	// Loads counted: 100, 200 (final attempt of the retried run), 5000
	// (too_slow); not the status failure, probe faults or the empty run.
	d := LoadDistribution(mixed())
	// sorted 100 200 5000: p50 rank ceil(1.5)=2, p75 rank ceil(2.25)=3.
	if d.Samples != 3 || !ptrEq(d.P50, 200) || !ptrEq(d.P75, 5000) || !ptrEq(d.P95, 5000) {
		t.Errorf("load = %+v", d)
	}
	series := LoadSeries(append(mixed(), run("d", probe.TypeJourney, 9,
		probe.Result{Type: probe.TypeJourney, OK: true, DurationMS: 7000, BrowserDetails: &probe.BrowserDetails{}})))
	want := map[string][]Point{
		"c": {{t0, 100, true}, {t0.Add(time.Minute), 200, true}, {t0.Add(6 * time.Minute), 5000, false}},
		"d": {{t0.Add(9 * time.Minute), 7000, true}},
	}
	if !reflect.DeepEqual(series, want) {
		t.Errorf("LoadSeries = %v, want %v", series, want)
	}
	// A browser check's load is load_ms, not the check's duration.
	b := run("b", probe.TypeBrowser, 0, probe.Result{Type: probe.TypeBrowser, OK: true, DurationMS: 9999,
		BrowserDetails: &probe.BrowserDetails{PageMetrics: &probe.PageMetrics{LoadMS: 1234}}})
	if ms, ok := Load(b); !ok || ms != 1234 {
		t.Errorf("browser load = %v, %v; want 1234", ms, ok)
	}
}

func TestErrorBudget(t *testing.T) {
	tests := []struct {
		name           string
		eligible, up   int
		target         float64
		allowed        float64
		remaining, bur *float64
	}{
		{"untouched", 1000, 1000, 99.9, 1, f64(1), f64(0)},
		{"exactly spent", 1000, 999, 99.9, 1, f64(0), f64(1)},
		{"overspent twice", 1000, 998, 99.9, 1, f64(-1), f64(2)},
		{"half left", 200, 199, 99, 2, f64(0.5), f64(0.5)},
		{"burning 10x", 100, 90, 99, 1, f64(-9), f64(10)},
		{"100% target has no budget", 100, 100, 100, 0, nil, nil},
		{"no eligible runs", 0, 0, 99.9, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ErrorBudget(Availability{Eligible: tt.eligible, Up: tt.up}, tt.target)
			if math.Abs(b.Allowed-tt.allowed) > 1e-9 || b.Failed != tt.eligible-tt.up {
				t.Errorf("allowed %v failed %d", b.Allowed, b.Failed)
			}
			check := func(name string, got, want *float64) {
				if (got == nil) != (want == nil) || got != nil && math.Abs(*got-*want) > 1e-9 {
					t.Errorf("%s = %v, want %v", name, deref(got), deref(want))
				}
			}
			check("remaining", b.Remaining, tt.remaining)
			check("burn rate", b.BurnRate, tt.bur)
		})
	}
	if ErrorBudget(Availability{Eligible: 5, Up: 5}, 0) != nil {
		t.Error("no target should give no budget")
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestUptimeOnTheTarget(t *testing.T) {
	// 999 of 1000 is exactly 99.9 %: on the target passes; 998 fails.
	for _, tc := range []struct {
		up   int
		want Status
	}{{999, Pass}, {998, Fail}, {1000, Pass}} {
		var runs []probe.Run
		for i := range 1000 {
			var f *probe.Failure
			if i >= tc.up {
				f = fail(probe.FailureConnect)
			}
			runs = append(runs, run("c", probe.TypeHTTP, i, httpAttempt(10, f)))
		}
		s := Evaluate("c", probe.TypeHTTP, runs, probe.SLO{Uptime: 99.9})
		if len(s.Verdicts) != 1 || s.Verdicts[0].Status != tc.want {
			t.Errorf("%d/1000 up vs 99.9: %+v, want %s", tc.up, s.Verdicts, tc.want)
		}
	}
}

func page(lcp, cls, load float64, inp *float64) probe.PageMetrics {
	return probe.PageMetrics{Vitals: probe.Vitals{LCP: &lcp, CLS: &cls, INP: inp}, LoadMS: load}
}

func TestEvaluateBrowser(t *testing.T) {
	var runs []probe.Run
	// Four page loads. LCP 1000 2500 3000 4500 (2500 is on the good
	// boundary and rates good): p75 = rank 3 = 3000, good 2/4 = 50 %.
	// CLS .05 .1 .1 .3: p75 = .1, good 3/4 = 75 %. INP never observed.
	// load 1500 2000 2600 3100: p75 = 2600.
	for i, p := range []probe.PageMetrics{page(1000, 0.05, 1500, nil), page(2500, 0.1, 2000, nil), page(3000, 0.1, 2600, nil), page(4500, 0.3, 3100, nil)} {
		pm := p
		runs = append(runs, run("home", probe.TypeBrowser, i, probe.Result{Type: probe.TypeBrowser, OK: true, DurationMS: 99999,
			BrowserDetails: &probe.BrowserDetails{PageMetrics: &pm}}))
	}
	s := Evaluate("home", probe.TypeBrowser, runs, probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second, CWVGood: 75})
	if len(s.Pages) != 1 || s.Pages[0].Name != "home" || s.Pages[0].Samples != 4 {
		t.Fatalf("pages = %+v", s.Pages)
	}
	p := s.Pages[0]
	lcp, cls, inp := p.Vital(probe.VitalLCP), p.Vital(probe.VitalCLS), p.Vital(probe.VitalINP)
	if lcp.Samples != 4 || !ptrEq(lcp.P75, 3000) || !ptrEq(lcp.GoodPercent, 50) || lcp.Good != 2 || lcp.NeedsImprovement != 1 || lcp.Poor != 1 {
		t.Errorf("lcp = %+v", lcp)
	}
	if !ptrEq(cls.P75, 0.1) || !ptrEq(cls.GoodPercent, 75) || cls.Poor != 1 {
		t.Errorf("cls = %+v", cls)
	}
	if inp.Samples != 0 || inp.P75 != nil || inp.GoodPercent != nil {
		t.Errorf("inp = %+v", inp)
	}
	if !ptrEq(s.Load.P75, 2600) || !ptrEq(p.Load.P75, 2600) {
		t.Errorf("load p75 = %v / %v, want 2600", deref(s.Load.P75), deref(p.Load.P75))
	}
	if p.TBT.Samples != 0 {
		t.Errorf("tbt of pages measured without it: %+v", p.TBT)
	}
	want := []Verdict{
		// Four runs against 99.9 %: it takes 1000 for one failure not to breach.
		{Target: TargetUptime, Want: 99.9, Got: f64(100), Unit: "%", Status: Pass, Samples: 4, MinSamples: 1000, SmallSample: true},
		{Target: TargetLoadTime, Want: 3000, Got: f64(2600), Unit: "ms", Status: Pass, Samples: 4},
		{Target: TargetCWVGood, Page: "home", Vital: probe.VitalLCP, Want: 75, Got: f64(50), Unit: "%", Status: Fail, Samples: 4, MinSamples: 4},
		{Target: TargetCWVGood, Page: "home", Vital: probe.VitalCLS, Want: 75, Got: f64(75), Unit: "%", Status: Pass, Samples: 4, MinSamples: 4},
	}
	if !reflect.DeepEqual(s.Verdicts, want) {
		t.Errorf("verdicts:\n got %s\nwant %s", fmtVerdicts(s.Verdicts), fmtVerdicts(want))
	}
	if !s.Breached() {
		t.Error("an LCP breach should breach the summary")
	}
}

func fmtVerdicts(vs []Verdict) string {
	out := ""
	for _, v := range vs {
		out += v.Target + "/" + v.Page + "/" + string(v.Vital) + "=" + string(v.Status)
		if v.Got != nil {
			out += "(" + time.Duration(*v.Got*1e6).String() + ")"
		}
		out += " "
	}
	return out
}

func TestEvaluateJourney(t *testing.T) {
	j := func(i int, ok bool, home, cart float64, inp *float64) probe.Run {
		r := probe.Result{Type: probe.TypeJourney, OK: ok, DurationMS: 10000 + float64(i),
			BrowserDetails: &probe.BrowserDetails{Pages: []probe.PageResult{{Name: "home", PageMetrics: page(1000, 0, home, inp)}}}}
		if cart > 0 {
			r.Pages = append(r.Pages, probe.PageResult{Name: "cart", PageMetrics: page(2000, 0.2, cart, nil)})
		}
		if !ok {
			r.Failure = fail(probe.FailureSelector)
		}
		return run("checkout", probe.TypeJourney, i, r)
	}
	runs := []probe.Run{
		j(0, true, 1000, 2000, f64(100)),
		j(1, true, 1200, 4000, f64(300)),
		j(2, false, 1100, 0, nil), // failed before the cart: home still counts
		j(3, true, 900, 3500, nil),
	}
	s := Evaluate("checkout", probe.TypeJourney, runs, probe.SLO{LoadTime: 3 * time.Second, Success: 75, CWVGood: 90})
	// Journey load = whole duration of passing runs: 10000 10001 10003.
	if s.Load.Samples != 3 || !ptrEq(s.Load.P50, 10001) {
		t.Errorf("journey load = %+v", s.Load)
	}
	// home loads 900 1000 1100 1200 -> p75 rank 3 = 1100; cart 2000 3500
	// 4000 -> p75 rank ceil(2.25)=3 = 4000. INP on home: 100 good, 300
	// needs improvement -> 50 %. Cart CLS .2 x3 -> 0 % good.
	want := []Verdict{
		{Target: TargetSuccess, Want: 75, Got: f64(75), Unit: "%", Status: Pass, Samples: 4, MinSamples: 4},
		{Target: TargetLoadTime, Page: "home", Want: 3000, Got: f64(1100), Unit: "ms", Status: Pass, Samples: 4},
		{Target: TargetLoadTime, Page: "cart", Want: 3000, Got: f64(4000), Unit: "ms", Status: Fail, Samples: 3},
		// 90 % needs 10 samples: each page has 4 or fewer.
		{Target: TargetCWVGood, Page: "home", Vital: probe.VitalLCP, Want: 90, Got: f64(100), Unit: "%", Status: Pass, Samples: 4, MinSamples: 10, SmallSample: true},
		{Target: TargetCWVGood, Page: "home", Vital: probe.VitalCLS, Want: 90, Got: f64(100), Unit: "%", Status: Pass, Samples: 4, MinSamples: 10, SmallSample: true},
		{Target: TargetCWVGood, Page: "home", Vital: probe.VitalINP, Want: 90, Got: f64(50), Unit: "%", Status: Fail, Samples: 2, MinSamples: 10, SmallSample: true},
		{Target: TargetCWVGood, Page: "cart", Vital: probe.VitalLCP, Want: 90, Got: f64(100), Unit: "%", Status: Pass, Samples: 3, MinSamples: 10, SmallSample: true},
		{Target: TargetCWVGood, Page: "cart", Vital: probe.VitalCLS, Want: 90, Got: f64(0), Unit: "%", Status: Fail, Samples: 3, MinSamples: 10, SmallSample: true},
	}
	if !reflect.DeepEqual(s.Verdicts, want) {
		t.Errorf("verdicts:\n got %s\nwant %s", fmtVerdicts(s.Verdicts), fmtVerdicts(want))
	}
	if s.Pages[0].Samples != 4 || s.Pages[1].Samples != 3 {
		t.Errorf("page samples = %d, %d; want 4, 3", s.Pages[0].Samples, s.Pages[1].Samples)
	}
}

func TestEvaluateNoData(t *testing.T) {
	target := probe.SLO{Uptime: 99.9, LoadTime: time.Second, Success: 99, CWVGood: 90}
	for _, typ := range []probe.CheckType{probe.TypeHTTP, probe.TypeJourney} {
		s := Evaluate("x", typ, mixed()[3:6], target)
		if s.Breached() {
			t.Errorf("%s: only probe faults breached a target: %+v", typ, s.Verdicts)
		}
		if len(s.Verdicts) != 4 {
			t.Errorf("%s: %d verdicts, want 4", typ, len(s.Verdicts))
		}
		for _, v := range s.Verdicts {
			if v.Status != NoData || v.Got != nil {
				t.Errorf("%s: %+v, want no_data", typ, v)
			}
		}
	}
	if s := Evaluate("x", probe.TypeHTTP, mixed(), probe.SLO{}); len(s.Verdicts) != 0 || s.Budget != nil {
		t.Errorf("no targets: verdicts %+v budget %+v", s.Verdicts, s.Budget)
	}
}

// FuzzPercentile checks the nearest-rank definition itself: the result is a
// sample, at least p % of samples are at or below it, and fewer than p % are
// strictly below it.
func FuzzPercentile(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, uint8(75))
	f.Add([]byte{9}, uint8(100))
	f.Add([]byte{5, 5, 5, 1, 200}, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, pp uint8) {
		p := float64(pp%100) + 1
		values := make([]float64, len(raw))
		for i, b := range raw {
			values[i] = float64(b)
		}
		v, ok := Percentile(values, p)
		if ok != (len(values) > 0) {
			t.Fatalf("ok = %v for %d values", ok, len(values))
		}
		if !ok {
			return
		}
		atOrBelow, below := 0, 0
		for _, x := range values {
			if x <= v {
				atOrBelow++
			}
			if x < v {
				below++
			}
		}
		need := p * float64(len(values)) / 100
		if !slices.Contains(values, v) || float64(atOrBelow) < need-1e-9 || float64(below) >= need {
			t.Fatalf("Percentile(%v, %v) = %v: %d at or below, %d below, need %v", values, p, v, atOrBelow, below, need)
		}
	})
}

// Timed-out runs are censored load samples at their duration: a page that
// times out on 4 of 10 runs cannot pass a 3 s p75 target on its 6 fast runs.
func TestLoadCountsTimeouts(t *testing.T) {
	var runs []probe.Run
	for i := range 6 {
		runs = append(runs, run("home", probe.TypeHTTP, i, httpAttempt(200+float64(i), nil)))
	}
	for i := 6; i < 10; i++ {
		runs = append(runs, run("home", probe.TypeHTTP, i, httpAttempt(10000+float64(i), fail(probe.FailureTimeout))))
	}
	// A timeout that measured nothing (0 ms) is no sample.
	runs = append(runs, run("home", probe.TypeHTTP, 10, httpAttempt(0, fail(probe.FailureTimeout))))
	s := Evaluate("home", probe.TypeHTTP, runs, probe.SLO{LoadTime: 3 * time.Second})
	// sorted 200..205, 10006..10009: p50 rank 5 = 204, p75 rank ceil(7.5)=8
	// = 10007, p95 rank ceil(9.5)=10 = 10009.
	if s.Load.Samples != 10 || !ptrEq(s.Load.P50, 204) || !ptrEq(s.Load.P75, 10007) || !ptrEq(s.Load.P95, 10009) {
		t.Errorf("load = %d samples, p50 %v p75 %v p95 %v", s.Load.Samples, deref(s.Load.P50), deref(s.Load.P75), deref(s.Load.P95))
	}
	want := []Verdict{{Target: TargetLoadTime, Want: 3000, Got: f64(10007), Unit: "ms", Status: Fail, Samples: 10}}
	if !reflect.DeepEqual(s.Verdicts, want) {
		t.Errorf("verdicts:\n got %s\nwant %s", fmtVerdicts(s.Verdicts), fmtVerdicts(want))
	}
	if pts := LoadSeries(runs)["home"]; len(pts) != 10 || pts[9].OK || pts[9].MS != 10009 {
		t.Errorf("series = %v", pts)
	}

	for _, tc := range []struct {
		name string
		r    probe.Run
		ms   float64
		ok   bool
	}{
		// A page whose load never fired: the time the check waited.
		{"browser, load never fired", run("b", probe.TypeBrowser, 0, probe.Result{Type: probe.TypeBrowser, Failure: fail(probe.FailureTimeout),
			DurationMS: 30000, BrowserDetails: &probe.BrowserDetails{PageMetrics: &probe.PageMetrics{}}}), 30000, true},
		// Load fired, then the deadline hit while collecting vitals.
		{"browser, load fired", run("b", probe.TypeBrowser, 0, probe.Result{Type: probe.TypeBrowser, Failure: fail(probe.FailureTimeout),
			DurationMS: 4000, BrowserDetails: &probe.BrowserDetails{PageMetrics: &probe.PageMetrics{LoadMS: 4200}}}), 4200, true},
		{"browser without details", run("b", probe.TypeBrowser, 0, probe.Result{Type: probe.TypeBrowser, Failure: fail(probe.FailureTimeout),
			DurationMS: 30000}), 30000, true},
		{"journey", run("j", probe.TypeJourney, 0, probe.Result{Type: probe.TypeJourney, Failure: fail(probe.FailureTimeout),
			DurationMS: 60000, BrowserDetails: &probe.BrowserDetails{}}), 60000, true},
		{"connect failure is still no load", run("c", probe.TypeHTTP, 0, httpAttempt(3, fail(probe.FailureConnect))), 0, false},
		{"timed out, then a fast retry", run("c", probe.TypeHTTP, 0, httpAttempt(10000, fail(probe.FailureTimeout)), httpAttempt(150, nil)), 150, true},
	} {
		if ms, ok := Load(tc.r); ms != tc.ms || ok != tc.ok {
			t.Errorf("%s: Load = %v, %v; want %v, %v", tc.name, ms, ok, tc.ms, tc.ok)
		}
	}
}

// TestPageTBT: p75 of tbt_ms over the pages measured with it (they have a
// settle_reason); pages stored before it are left out.
func TestPageTBT(t *testing.T) {
	var runs []probe.Run
	for i, tbt := range []float64{0, 120, 300, 900, 50} {
		pm := page(1000, 0, 1500, nil)
		pm.TBTMS = tbt
		pm.SettleReason = probe.SettleQuiet
		if i == 4 {
			pm.SettleReason = "" // stored by a storeprobe that did not measure it
		}
		runs = append(runs, run("home", probe.TypeBrowser, i, probe.Result{Type: probe.TypeBrowser, OK: true,
			BrowserDetails: &probe.BrowserDetails{PageMetrics: &pm}}))
	}
	p := Pages(runs)[0]
	// 0 120 300 900: p75 = rank 3 = 300.
	if p.TBT.Samples != 4 || !ptrEq(p.TBT.P75, 300) {
		t.Errorf("tbt = %+v, want 4 samples, p75 300", p.TBT)
	}
}

// TestPaymentReady: the payment_ready target judges p75 of payment_ready_ms
// per page waited on for a payment field (waits that never saw it ready
// are not samples, their runs failed); pages not waited on are not judged,
// and with none at all the target has no data.
func TestPaymentReady(t *testing.T) {
	j := func(i int, ready *float64) probe.Run {
		pay := page(2000, 0, 2500, nil)
		pay.PaymentProvider = string(probe.PaymentStripe)
		pay.PaymentReadyMS = ready
		r := probe.Result{Type: probe.TypeJourney, OK: ready != nil, DurationMS: 9000,
			BrowserDetails: &probe.BrowserDetails{Pages: []probe.PageResult{
				{Name: "cart", PageMetrics: page(1000, 0, 1200, nil)}, {Name: "payment", PageMetrics: pay}}}}
		if ready == nil {
			r.Failure = fail(probe.FailureTimeout)
		}
		return run("checkout", probe.TypeJourney, i, r)
	}
	// payment: 900 1500 2100 2600 -> p75 rank 3 = 2100; the fifth never ready.
	runs := []probe.Run{j(0, f64(1500)), j(1, f64(900)), j(2, nil), j(3, f64(2600)), j(4, f64(2100))}
	s := Evaluate("checkout", probe.TypeJourney, runs, probe.SLO{PaymentReady: 2 * time.Second})
	want := []Verdict{{Target: TargetPaymentReady, Page: "payment", Want: 2000, Got: f64(2100), Unit: "ms", Status: Fail, Samples: 4}}
	if !reflect.DeepEqual(s.Verdicts, want) {
		t.Errorf("verdicts:\n got %s\nwant %s", fmtVerdicts(s.Verdicts), fmtVerdicts(want))
	}
	if p := s.Pages[1]; p.PaymentProvider != "stripe" || p.PaymentReady == nil || p.PaymentReady.Samples != 4 || !ptrEq(p.PaymentReady.P75, 2100) {
		t.Errorf("payment page = %+v %+v", p, p.PaymentReady)
	}
	if p := s.Pages[0]; p.PaymentProvider != "" || p.PaymentReady != nil {
		t.Errorf("cart page, not waited on: %q %+v", p.PaymentProvider, p.PaymentReady)
	}
	if s := Evaluate("checkout", probe.TypeJourney, runs, probe.SLO{PaymentReady: 2200 * time.Millisecond}); len(s.Verdicts) != 1 || s.Verdicts[0].Status != Pass {
		t.Errorf("2.2 s target: %s", fmtVerdicts(s.Verdicts))
	}
	plain := []probe.Run{run("home", probe.TypeBrowser, 0, probe.Result{Type: probe.TypeBrowser, OK: true,
		BrowserDetails: &probe.BrowserDetails{PageMetrics: new(page(1000, 0, 1200, nil))}})}
	s = Evaluate("home", probe.TypeBrowser, plain, probe.SLO{PaymentReady: 2 * time.Second})
	if len(s.Verdicts) != 1 || s.Verdicts[0].Status != NoData || s.Verdicts[0].Target != TargetPaymentReady {
		t.Errorf("no page waited on: %s", fmtVerdicts(s.Verdicts))
	}
}
