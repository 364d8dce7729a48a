package alert

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// fakeClock is the engine's injected clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

type tester struct {
	t   *testing.T
	e   *Engine
	clk *fakeClock
	got []Delivery
}

func newTester(t *testing.T, a probe.Alerting, checks ...probe.Check) *tester {
	t.Helper()
	clk := &fakeClock{t: t0}
	e, err := New(Options{Alerting: a, Now: clk.now}, checks)
	if err != nil {
		t.Fatal(err)
	}
	return &tester{t: t, e: e, clk: clk}
}

func check(name string, mod ...func(*probe.Check)) probe.Check {
	c := probe.Check{Name: name, Type: probe.TypeHTTP, URL: "https://shop.test/" + name, SLO: probe.SLO{Uptime: 99.9}}
	for _, m := range mod {
		m(&c)
	}
	return c
}

// result is one attempt: ok, or failed with kind.
func result(ok bool, kind probe.FailureKind) probe.Result {
	r := probe.Result{OK: ok, HTTPDetails: &probe.HTTPDetails{Timings: probe.Timings{Total: 200}}}
	if !ok {
		r.Failure = &probe.Failure{Kind: kind, Message: "status 503"}
	}
	return r
}

func (x *tester) run(check, location string, at time.Time, r probe.Result) []Delivery {
	x.clk.t = at
	d := x.e.Observe(probe.Run{Check: check, Type: probe.TypeHTTP, Location: location, Probe: location + "-1",
		ScheduledAt: at, StartedAt: at, Attempts: []probe.Result{r}})
	x.got = append(x.got, d...)
	return d
}

func (x *tester) tick(at time.Time) []Delivery {
	x.clk.t = at
	d := x.e.Tick()
	x.got = append(x.got, d...)
	return d
}

// series feeds one run a minute from start: 'P' passes, 'F' fails, 'E' a
// probe error, '.' no run. It returns the deliveries by minute.
func (x *tester) series(check, location string, start time.Time, pattern string) map[int][]Delivery {
	out := map[int][]Delivery{}
	for i, c := range pattern {
		at := start.Add(time.Duration(i) * time.Minute)
		var d []Delivery
		switch c {
		case 'P':
			d = x.run(check, location, at, result(true, ""))
		case 'F':
			d = x.run(check, location, at, result(false, probe.FailureStatus))
		case 'E':
			d = x.run(check, location, at, result(false, probe.FailureProbeError))
		case '.':
			d = x.tick(at)
		}
		if len(d) > 0 {
			out[i] = d
		}
	}
	return out
}

// names summarises deliveries as "status alert check" strings.
func names(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %s %s", d.Status, d.Alert, d.Check))
	}
	return out
}

func (x *tester) want(want ...string) {
	x.t.Helper()
	got := names(x.got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		x.t.Errorf("notifications:\n got %q\nwant %q", got, want)
	}
}

// TestDownNotifiesWithinFiveMinutes: at one run a minute a check that goes
// down is notified at its second failed run (one minute after the first),
// carries what a responder needs, and a recovery sends resolved.
func TestDownNotifiesWithinFiveMinutes(t *testing.T) {
	x := newTester(t, probe.Alerting{Notify: []string{"ops"}},
		check("checkout", func(c *probe.Check) { c.RunbookURL = "https://wiki.test/checkout"; c.Notify = []string{"pager"} }))
	by := x.series("checkout", "eu", t0, "PPFFFPP")
	fired := by[3]
	if len(fired) != 1 {
		t.Fatalf("deliveries by minute %v: want one at minute 3 (the second failure)", by)
	}
	n := fired[0]
	firstFailure := t0.Add(2 * time.Minute)
	if delay := t0.Add(3 * time.Minute).Sub(firstFailure); delay > 5*time.Minute {
		t.Errorf("notified %s after the first failure", delay)
	}
	if n.Status != Firing || n.Alert != RuleDown || n.Check != "checkout" || n.Location != "eu" || n.Severity != Critical ||
		n.FailureKind != "status" || n.Message != "status 503" || n.RunbookURL != "https://wiki.test/checkout" ||
		!n.StartedAt.Equal(firstFailure) || n.Key == "" || n.Probe != "eu-1" || n.URL != "https://shop.test/checkout" {
		t.Errorf("firing notification %+v", n)
	}
	if len(fired[0].Receivers) != 1 || fired[0].Receivers[0] != "pager" {
		t.Errorf("receivers %v: a check's own notify replaces the global one", fired[0].Receivers)
	}
	if !strings.Contains(n.Summary, "checkout is down at eu: status: status 503 (2 failed runs since 10:02:00 UTC)") {
		t.Errorf("summary %q", n.Summary)
	}
	res := by[6]
	if len(res) != 1 || res[0].Status != Resolved || res[0].Key != n.Key || res[0].EndedAt == nil ||
		!res[0].EndedAt.Equal(t0.Add(6*time.Minute)) || !strings.Contains(res[0].Summary, "up again") {
		t.Fatalf("resolution %+v", res)
	}
	x.want("firing down checkout", "resolved down checkout")
}

func TestDownRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  probe.Alerting
		pattern string
		want    []string
	}{
		{"one blip at one run a minute pages nobody", probe.Alerting{}, strings.Repeat("P", 90) + "F" + strings.Repeat("P", 60), nil},
		{"a retried-into-pass run is a pass", probe.Alerting{}, "PPPP", nil},
		{"down_after 3", probe.Alerting{DownAfter: 3}, "PFFPFFFP", []string{"firing down c"}},
		{"up_after 3: two passes are not enough", probe.Alerting{UpAfter: 3}, "FFPPFPPP", []string{"firing down c", "resolved down c"}},
		{"probe faults never fire down", probe.Alerting{}, "EEEEEPP", []string{"firing probe_unhealthy c", "resolved probe_unhealthy c"}},
		{"probe faults inside a streak neither break nor extend it", probe.Alerting{}, "FEF", []string{"firing down c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newTester(t, tc.policy, check("c"))
			x.series("c", "eu", t0, tc.pattern)
			x.want(tc.want...)
		})
	}
}

// TestBurnRate: intermittent failures that never make two in a row burn the
// budget; the fast rule needs both its windows and its minimums.
func TestBurnRate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		want    []string
	}{
		// 3 failures in 60 runs: 50× over 1h; the 5m window holds one.
		{"three scattered failures page fast", strings.Repeat("P", 30) + "FPPPPPPPPPFPPPPPPPPPF" + strings.Repeat("P", 10),
			[]string{"firing burn_rate_fast c", "firing burn_rate_slow c", "resolved burn_rate_fast c"}},
		{"two failures stay below min_failures", strings.Repeat("P", 30) + "FPPPPPPPPPF" + strings.Repeat("P", 10), nil},
		{"too few runs to judge", "FPFPF", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newTester(t, probe.Alerting{}, check("c"))
			x.series("c", "eu", t0, tc.pattern)
			x.want(tc.want...)
		})
	}
	// The fast alert ends when its short window is clean: 5 minutes later.
	x := newTester(t, probe.Alerting{}, check("c"))
	by := x.series("c", "eu", t0, strings.Repeat("P", 30)+"FPPPPPPPPPFPPPPPPPPPF"+strings.Repeat("P", 10))
	var fired, resolved int = -1, -1
	for m, ds := range by {
		for _, d := range ds {
			if d.Alert == RuleBurnRateFast && d.Status == Firing {
				fired = m
				if !strings.Contains(d.Summary, "3 of 51 runs failed") {
					t.Errorf("summary %q", d.Summary)
				}
			}
			if d.Alert == RuleBurnRateFast && d.Status == Resolved {
				resolved = m
			}
		}
	}
	// The short window is (now−5m, now]: the failure at minute 50 has left
	// it at minute 55.
	if fired != 50 || resolved != 55 {
		t.Errorf("burn_rate_fast fired at minute %d, resolved at %d; want 50 and 55", fired, resolved)
	}
}

// TestFlapping: a check going down and up again and again notifies once as
// flapping, not at every change; when it settles, receivers learn its state.
func TestFlapping(t *testing.T) {
	x := newTester(t, probe.Alerting{}, check("c"))
	// down (2 F), up (2 P), down, up, down: 5 changes within 10 minutes.
	x.series("c", "eu", t0, "FFPPFFPPFF")
	x.want("firing down c", "resolved down c", "firing down c", "firing flapping c")
	// Settled: passes for an hour; flapping ends and the down alert's end
	// is told once.
	x.got = nil
	x.series("c", "eu", t0.Add(10*time.Minute), strings.Repeat("P", 75))
	x.want("resolved down c", "resolved flapping c")
}

// TestMaintenance: runs inside a window are judged by nothing, and its end
// brings no burst of notifications.
func TestMaintenance(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	a := probe.Alerting{Maintenance: []probe.Maintenance{
		{Name: "deploy", Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Checks: []string{"c"}},
	}}
	x := newTester(t, a, check("c"), check("other"))
	x.series("c", "eu", t0, "PPPPPPPPPP"+"FFFFFFFFFF"+"PPPP")
	x.series("other", "eu", t0, "PPPPPPPPPP"+"FF")
	x.want("firing down other")

	// A weekly window at 03:00 Berlin time, across the end of daylight
	// saving (2026-10-25): 03:00 CET is 02:00 UTC, 03:00 CEST 01:00 UTC.
	w, err := compileWindows([]probe.Maintenance{{Name: "weekly", Schedule: "0 3 * * SUN", Duration: time.Hour, Location: berlin, Tags: map[string]string{"team": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 10, 18, 0, 59, 0, 0, time.UTC), false},
		{time.Date(2026, 10, 18, 1, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 10, 18, 1, 59, 59, 0, time.UTC), true},
		{time.Date(2026, 10, 18, 2, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), false},
		{time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC), true},
		{time.Date(2026, 10, 26, 2, 30, 0, 0, time.UTC), false},
	} {
		if got := w[0].active(tc.at); got != tc.want {
			t.Errorf("weekly window active at %s = %v, want %v", tc.at, got, tc.want)
		}
	}
	tagged, untagged := check("x", func(c *probe.Check) { c.Tags = map[string]string{"team": "web"} }), check("y")
	if !w[0].covers(tagged) || w[0].covers(untagged) {
		t.Error("a window with tags covers exactly the checks with them")
	}
}

// TestRestartMidIncident: a restarted engine restores what was sent and
// replays the stored runs: no second firing, and the resolution still
// comes, once.
func TestRestartMidIncident(t *testing.T) {
	x := newTester(t, probe.Alerting{}, check("c"))
	x.series("c", "eu", t0, "PPFFF")
	x.want("firing down c")
	saved := x.e.States()

	for _, tc := range []struct {
		name  string
		later string // runs after the restart (stored while it was down, then new)
		want  []string
	}{
		{"still down", "FF", nil},
		{"recovered while stopped", "PP", []string{"resolved down c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := newTester(t, probe.Alerting{}, check("c"))
			y.e.Restore(saved)
			for i, c := range "PPFFF" + tc.later {
				ok := c == 'P'
				at := t0.Add(time.Duration(i) * time.Minute)
				y.clk.t = at
				y.e.Replay(probe.Run{Check: "c", Type: probe.TypeHTTP, Location: "eu", Probe: "eu-1", ScheduledAt: at,
					Attempts: []probe.Result{result(ok, probe.FailureStatus)}})
			}
			y.got = y.e.Reconcile()
			y.want(tc.want...)
			// And from now on it behaves as if it had never stopped.
			y.got = nil
			y.series("c", "eu", y.clk.t.Add(time.Minute), "PPFF")
			if tc.name == "still down" {
				y.want("resolved down c", "firing down c")
			} else {
				y.want("firing down c")
			}
		})
	}
}

// TestDependencies: a CDN outage pages for the CDN only, its end pages no
// one, and a dependant that stays down after the CDN recovered pages on its
// own fresh failures.
func TestDependencies(t *testing.T) {
	dep := func(c *probe.Check) { c.DependsOn = []string{"cdn"} }
	x := newTester(t, probe.Alerting{}, check("cdn"), check("checkout", dep), check("search", dep))
	for i := range 8 {
		at := t0.Add(time.Duration(i) * time.Minute)
		cdnOK := i < 2 || i >= 5
		// The dependants run 10 s before the CDN check: they see the outage first.
		x.run("checkout", "eu", at.Add(-10*time.Second), result(i < 2 || i >= 6, probe.FailureStatus))
		x.run("search", "eu", at.Add(-10*time.Second), result(i < 2 || i >= 6 && i != 7, probe.FailureStatus))
		x.run("cdn", "eu", at, result(cdnOK, probe.FailureConnect))
	}
	x.want("firing down cdn", "resolved down cdn")
	// search keeps failing after the CDN is back: two fresh failures page.
	x.got = nil
	x.run("search", "eu", t0.Add(8*time.Minute), result(false, probe.FailureStatus))
	x.want("firing down search")
}

func TestRenotifyAndRemoval(t *testing.T) {
	x := newTester(t, probe.Alerting{Renotify: time.Hour}, check("c"), check("d"))
	x.series("c", "eu", t0, "FF")
	x.tick(t0.Add(30 * time.Minute))
	x.tick(t0.Add(61 * time.Minute))
	x.tick(t0.Add(90 * time.Minute))
	if len(x.got) != 2 || !x.got[1].Repeat || x.got[1].Status != Firing {
		t.Fatalf("after 61 min: %+v, want the firing and one repeat", names(x.got))
	}
	// The check leaves the config: its alert resolves.
	if err := x.e.Reload(probe.Alerting{Renotify: time.Hour}, []probe.Check{check("d")}); err != nil {
		t.Fatal(err)
	}
	x.got = nil
	x.tick(t0.Add(91 * time.Minute))
	x.want("resolved down c")
}

func TestQuorumAcrossLocations(t *testing.T) {
	x := newTester(t, probe.Alerting{Quorum: 2}, check("c"))
	for i := range 4 {
		at := t0.Add(time.Duration(i) * time.Minute)
		x.run("c", "eu", at, result(false, probe.FailureConnect))
		x.run("c", "us", at, result(true, ""))
	}
	x.want() // one location down is not the shop down
	for i := 4; i < 7; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		x.run("c", "eu", at, result(false, probe.FailureConnect))
		x.run("c", "us", at, result(false, probe.FailureConnect))
	}
	x.want("firing down c")
	if l := x.got[0].Location; l != "eu,us" {
		t.Errorf("location %q, want the agreeing locations eu,us", l)
	}
}

func TestCertificateExpiry(t *testing.T) {
	x := newTester(t, probe.Alerting{}, check("c"))
	withCert := func(days float64) probe.Result {
		r := result(true, "")
		r.TLS = &probe.TLSInfo{CertSubject: "CN=shop.test", CertNotAfter: t0.Add(time.Duration(days*24) * time.Hour), CertDaysLeft: days}
		return r
	}
	x.run("c", "eu", t0, withCert(30))
	x.run("c", "eu", t0.Add(time.Minute), withCert(13.5))
	x.run("c", "eu", t0.Add(2*time.Minute), withCert(13.4))
	x.run("c", "eu", t0.Add(3*time.Minute), withCert(89)) // renewed
	x.want("firing cert_expiry c", "resolved cert_expiry c")
	if !strings.Contains(x.got[0].Summary, "expires in 13.5 days") {
		t.Errorf("summary %q", x.got[0].Summary)
	}
}

func TestLoadTimeBreach(t *testing.T) {
	x := newTester(t, probe.Alerting{Breach: probe.BreachPolicy{Window: 30 * time.Minute, MinSamples: 10}},
		check("c", func(c *probe.Check) { c.SLO.LoadTime = time.Second }))
	timed := func(ms float64) probe.Result {
		r := result(true, "")
		r.Timings.Total = ms
		return r
	}
	// 9 slow runs: too few samples. The 10th is judged: p75 2.5 s > 1 s.
	for i := range 10 {
		x.run("c", "eu", t0.Add(time.Duration(i)*time.Minute), timed(2500))
		if i == 8 && len(x.got) > 0 {
			t.Fatal("fired on 9 samples")
		}
	}
	// Fast again: once fast runs are more than a quarter of the window's
	// samples, p75 is still slow; it resolves when the slow runs leave it.
	for i := 10; i < 45; i++ {
		x.run("c", "eu", t0.Add(time.Duration(i)*time.Minute), timed(300))
	}
	x.want("firing load_time c", "resolved load_time c")
}

func TestProbeSilent(t *testing.T) {
	clk := &fakeClock{t: t0}
	e, err := New(Options{Alerting: probe.Alerting{SilentAfter: 5 * time.Minute, Notify: []string{"ops"}}, Now: clk.now, WatchSilence: true}, []probe.Check{check("c")})
	if err != nil {
		t.Fatal(err)
	}
	e.Observe(probe.Run{Check: "c", Location: "eu", Probe: "eu-1", ScheduledAt: t0, Attempts: []probe.Result{result(true, "")}})
	clk.t = t0.Add(4 * time.Minute)
	if d := e.Tick(); len(d) != 0 {
		t.Fatalf("silent after 4 min: %v", names(d))
	}
	clk.t = t0.Add(6 * time.Minute)
	d := e.Tick()
	if len(d) != 1 || d[0].Alert != RuleProbeSilent || d[0].Location != "eu" || d[0].Probe != "eu-1" || d[0].Receivers[0] != "ops" {
		t.Fatalf("after 6 min: %+v", d)
	}
	clk.t = t0.Add(7 * time.Minute)
	e.Observe(probe.Run{Check: "c", Location: "eu", Probe: "eu-1", ScheduledAt: clk.t, Attempts: []probe.Result{result(true, "")}})
	if d := e.Tick(); len(d) != 1 || d[0].Status != Resolved {
		t.Fatalf("after a result: %v", names(d))
	}
}

func TestCWVGoodBreach(t *testing.T) {
	x := newTester(t, probe.Alerting{Breach: probe.BreachPolicy{Window: 30 * time.Minute, MinSamples: 10}},
		check("checkout", func(c *probe.Check) { c.Type = probe.TypeJourney; c.SLO = probe.SLO{CWVGood: 90} }))
	journey := func(lcp float64) probe.Result {
		return probe.Result{OK: true, DurationMS: 4000, BrowserDetails: &probe.BrowserDetails{Pages: []probe.PageResult{
			{Name: "home", PageMetrics: probe.PageMetrics{LoadMS: 900, Vitals: probe.Vitals{LCP: &lcp}}},
			{Name: "cart", PageMetrics: probe.PageMetrics{LoadMS: 700, Vitals: probe.Vitals{LCP: ptr(1000.0)}}},
		}}}
	}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	for i := range 10 {
		x.clk.t = at(i)
		x.got = append(x.got, x.e.Observe(probe.Run{Check: "checkout", Type: probe.TypeJourney, Location: "eu", ScheduledAt: at(i),
			Attempts: []probe.Result{journey(4200)}})...) // poor LCP on home
	}
	x.want("firing cwv_good checkout")
	if s := x.got[0].Summary; !strings.Contains(s, "home LCP good on 0 %") || strings.Contains(s, "cart") {
		t.Errorf("summary %q: want home's LCP, not cart's", s)
	}
	for i := 10; i < 45; i++ {
		x.clk.t = at(i)
		x.got = append(x.got, x.e.Observe(probe.Run{Check: "checkout", Type: probe.TypeJourney, Location: "eu", ScheduledAt: at(i),
			Attempts: []probe.Result{journey(1200)}})...)
	}
	x.want("firing cwv_good checkout", "resolved cwv_good checkout")
}

func ptr[T any](v T) *T { return &v }
