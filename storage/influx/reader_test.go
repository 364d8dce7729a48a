package influx

import (
	"cmp"
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
)

func newReader(t *testing.T, srv *influxtest.Server, checks ...string) *Reader {
	t.Helper()
	r, err := NewReader(ReaderOptions{URL: srv.URL, Bucket: srv.Bucket, Checks: checks, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func ship(t *testing.T, srv *influxtest.Server, runs []probe.Run) {
	t.Helper()
	sh := newShipper(t, srv, nil, 5000)
	res, err := sh.ShipRuns(context.Background(), runs)
	if err != nil || res.ShippedRuns != int64(len(runs)) || res.RejectedPoints != 0 {
		t.Fatalf("ship %d runs: %+v, %v", len(runs), res, err)
	}
}

func runKeyOf(r probe.Run) runKey {
	return runKey{check: r.Check, location: r.Location, probe: r.Probe, at: r.ScheduledAt.UnixNano()}
}

// TestReaderRoundTrip ships runs of every type with the real shipper to a
// real influxd and reads them back: each run once, with what the alert
// rules and the report read of it, and judged by probe/slo exactly as the
// original runs are.
func TestReaderRoundTrip(t *testing.T) {
	srv := influxtest.Start(t)
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fixtures := fixtureRuns(end.Add(-2 * time.Hour))
	long := strings.Repeat("a very long check name ", 4) // 92 bytes: its tag is shortened
	fixtures[1].Check, fixtures[1].Attempts[0].Check = long, long
	sample := influxtest.SampleRuns(end, 30)
	all := append(append([]probe.Run(nil), fixtures...), sample...)
	ship(t, srv, all)
	names := append([]string{long}, influxtest.SampleChecks...)
	r := newReader(t, srv, names...)

	got, err := r.Runs(context.Background(), end.Add(-3*time.Hour), end.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("read %d runs, shipped %d", len(got), len(all))
	}
	byKey := map[runKey]probe.Run{}
	for i, g := range got {
		if i > 0 && g.ScheduledAt.Before(got[i-1].ScheduledAt) {
			t.Fatalf("runs not in scheduled order at %d", i)
		}
		if _, dup := byKey[runKeyOf(g)]; dup {
			t.Fatalf("run %v read twice", runKeyOf(g))
		}
		byKey[runKeyOf(g)] = g
	}
	for _, want := range all {
		g, ok := byKey[runKeyOf(want)]
		if !ok {
			t.Errorf("run %v not read back", runKeyOf(want))
			continue
		}
		compareRun(t, want, g)
	}

	// The sample fleet judged from InfluxDB as from the probes' runs.
	targets := probe.SLO{Uptime: 99.9, LoadTime: 1500 * time.Millisecond, Success: 99, CWVGood: 90}
	for _, c := range influxtest.SampleChecks {
		var orig, back []probe.Run
		for _, r := range sample {
			if r.Check == c {
				orig = append(orig, r)
				back = append(back, byKey[runKeyOf(r)])
			}
		}
		typ := orig[0].Type
		if w, g := byPage(slo.Evaluate(c, typ, orig, targets)), byPage(slo.Evaluate(c, typ, back, targets)); !reflect.DeepEqual(w, g) {
			t.Errorf("%s judged differently from InfluxDB:\n got %+v\nwant %+v", c, g, w)
		}
	}
}

// byPage orders a summary's pages and verdicts by name: InfluxDB keeps no
// page order, so pages come back sorted.
func byPage(s slo.Summary) slo.Summary {
	slices.SortFunc(s.Pages, func(a, b slo.PageStats) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(s.Verdicts, func(a, b slo.Verdict) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.Page, b.Page), strings.Compare(string(a.Vital), string(b.Vital)))
	})
	return s
}

// compareRun checks what the reader promises to keep of a run.
func compareRun(t *testing.T, want, got probe.Run) {
	t.Helper()
	id := want.Check + "@" + want.Location
	wf, gf := want.Final(), got.Final()
	if got.Type != want.Type || !got.ScheduledAt.Equal(want.ScheduledAt) || got.Lag != want.Lag ||
		got.Tags["platform"] != want.Tags["platform"] || got.Tags["cdn"] != want.Tags["cdn"] {
		t.Errorf("%s: run %+v, want %+v", id, got, want)
	}
	if len(got.Attempts) != len(want.Attempts) {
		t.Errorf("%s: %d attempts, want %d", id, len(got.Attempts), len(want.Attempts))
	} else {
		for i, a := range got.Attempts {
			w := want.Attempts[i]
			if a.OK != w.OK || a.Attempt != i+1 || !a.StartedAt.Equal(w.StartedAt) || a.DurationMS != w.DurationMS ||
				(a.Failure == nil) != (w.Failure == nil) || a.Failure != nil && a.Failure.Kind != w.Failure.Kind {
				t.Errorf("%s: attempt %d %+v, want %+v", id, i+1, a, w)
			}
		}
	}
	if gf.Check != want.Check || gf.OK != wf.OK || gf.DurationMS != wf.DurationMS {
		t.Errorf("%s: final %+v, want %+v", id, gf, wf)
	}
	if wf.Failure != nil && (gf.Failure == nil || *gf.Failure != probe.Failure{Kind: wf.Failure.Kind, Message: wf.Failure.Message}) {
		t.Errorf("%s: failure %+v, want %+v without phase", id, gf.Failure, wf.Failure)
	}
	if got.ProbeFault() != want.ProbeFault() {
		t.Errorf("%s: probe fault %v, want %v", id, got.ProbeFault(), want.ProbeFault())
	}
	if (gf.HTTPDetails == nil) != (wf.HTTPDetails == nil) {
		t.Fatalf("%s: http details %v, want %v", id, gf.HTTPDetails, wf.HTTPDetails)
	}
	if h := wf.HTTPDetails; h != nil {
		g := gf.HTTPDetails
		if g.StatusCode != h.StatusCode || g.Timings != h.Timings || g.Bytes != h.Bytes || g.WireBytes != h.WireBytes ||
			g.Redirects != h.Redirects || g.HTTPVersion != h.HTTPVersion {
			t.Errorf("%s: http %+v, want %+v", id, *g, *h)
		}
		if (g.TLS == nil) != (h.TLS == nil) {
			t.Errorf("%s: tls %v, want %v", id, g.TLS, h.TLS)
		} else if h.TLS != nil {
			notAfter := gf.StartedAt.Add(time.Duration(h.TLS.CertDaysLeft * 24 * float64(time.Hour)))
			if g.TLS.CertDaysLeft != h.TLS.CertDaysLeft || g.TLS.CertNotAfter.Sub(notAfter).Abs() > time.Second {
				t.Errorf("%s: tls %+v, want %v days left", id, *g.TLS, h.TLS.CertDaysLeft)
			}
		}
	}
	if ms, ok := slo.Load(want); true {
		if gms, gok := slo.Load(got); gok != ok || math.Abs(gms-ms) > 1e-9 {
			t.Errorf("%s: load %v %v, want %v %v", id, gms, gok, ms, ok)
		}
	}
	if (gf.BrowserDetails == nil) != (wf.BrowserDetails == nil) {
		t.Fatalf("%s: browser details %v, want %v", id, gf.BrowserDetails, wf.BrowserDetails)
	}
	if b := wf.BrowserDetails; b != nil {
		g := gf.BrowserDetails
		if g.Device != b.Device {
			t.Errorf("%s: device %q, want %q", id, g.Device, b.Device)
		}
		if b.PageMetrics != nil {
			if g.PageMetrics == nil || !samePage(*g.PageMetrics, *b.PageMetrics) {
				t.Errorf("%s: page %+v, want %+v", id, g.PageMetrics, b.PageMetrics)
			}
		}
		// Pages come back by name; a page visited twice as name#2.
		names := uniqueNames{}
		want := map[string]probe.PageMetrics{}
		for _, p := range b.Pages {
			want[names.next(p.Name)] = p.PageMetrics
		}
		if len(g.Pages) != len(want) {
			t.Errorf("%s: %d pages, want %d", id, len(g.Pages), len(want))
		}
		for _, p := range g.Pages {
			if w, ok := want[p.Name]; !ok || !samePage(p.PageMetrics, w) {
				t.Errorf("%s: page %s %+v, want %+v", id, p.Name, p.PageMetrics, w)
			}
		}
	}
}

// samePage compares what browser_page keeps of a page.
func samePage(got, want probe.PageMetrics) bool {
	want.LCPElement, want.JSHeapBytes = "", 0
	// Lists stay in the store (a tag or field per item would be
	// unbounded); of the resources, bytes by type; of the LCP breakdown,
	// its three parts.
	want.LongestTasks, want.ThirdParties, want.RenderBlocking = nil, nil, nil
	for _, c := range []*probe.ResourceCount{&want.Resources.Document, &want.Resources.Script, &want.Resources.CSS,
		&want.Resources.Image, &want.Resources.Font, &want.Resources.XHR, &want.Resources.Other} {
		c.Requests = 0
	}
	if b := want.LCPBreakdown; b != nil {
		want.LCPBreakdown = &probe.LCPBreakdown{LoadDelayMS: b.LoadDelayMS, LoadDurationMS: b.LoadDurationMS, RenderDelayMS: b.RenderDelayMS}
	}
	// Of analytics, each vendor's hits; of mixed content, the count.
	want.AnalyticsFindings, want.MixedContent = nil, nil
	if a := want.Analytics; a != nil {
		hits := &probe.PageAnalytics{}
		if a.GA4 != nil && a.GA4.Fired > 0 {
			hits.GA4 = &probe.BeaconTally{Fired: a.GA4.Fired}
		}
		if a.Adobe != nil && a.Adobe.Fired > 0 {
			hits.Adobe = &probe.BeaconTally{Fired: a.Adobe.Fired}
		}
		want.Analytics = hits
		if hits.GA4 == nil && hits.Adobe == nil {
			want.Analytics = nil
		}
	}
	got.LongestTasks, got.ThirdParties, got.RenderBlocking = nil, nil, nil
	want.Ratings = want.Vitals.Rate()
	return reflect.DeepEqual(got, want)
}

// TestReaderWindowsAndDuplicates: adjacent windows split the runs between
// them exactly (start inclusive, stop exclusive); the points of one run
// that differ in a tag other than check, location and probe are one run;
// pages without their check_result are no run.
func TestReaderWindowsAndDuplicates(t *testing.T) {
	srv := influxtest.Start(t)
	end := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	runs := influxtest.SampleRuns(end, 10)
	ship(t, srv, runs)
	r := newReader(t, srv)
	ctx := context.Background()
	from, mid, to := end.Add(-10*time.Minute), end.Add(-4*time.Minute), end.Add(time.Minute)
	a, err := r.Runs(ctx, from, mid)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Runs(ctx, mid, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(a)+len(b) != len(runs) {
		t.Fatalf("windows read %d + %d runs, want %d", len(a), len(b), len(runs))
	}
	if last := a[len(a)-1].ScheduledAt; !last.Before(mid) {
		t.Errorf("first window ends with a run at %v, not before %v", last, mid)
	}
	if first := b[0].ScheduledAt; !first.Equal(mid) {
		t.Errorf("second window starts with a run at %v, want %v", first, mid)
	}

	// One run written twice with another platform tag, a failure kind the
	// retry changed, and pages of a run whose verdict never arrived.
	at := end.Add(30 * time.Minute)
	run := probe.Run{Check: "home", Type: probe.TypeHTTP, Location: "eu", Probe: "eu-1", ScheduledAt: at,
		Tags: map[string]string{"platform": "shopify"},
		Attempts: []probe.Result{{Check: "home", Type: probe.TypeHTTP, OK: false, Attempt: 1, StartedAt: at,
			Failure:     probe.Fail(probe.FailureStatus, "", "status 503"),
			HTTPDetails: &probe.HTTPDetails{StatusCode: 503, Timings: probe.Timings{Total: 12}}}}}
	again := run
	again.Tags = map[string]string{"platform": "magento"}
	orphan := influxtest.SampleRuns(at, 1)[2] // pdp: a browser page
	var lines []string
	for _, p := range append(append(Points(run), Points(again)...), Points(orphan)...) {
		if p.Measurement == MeasurementCheckResult && hasTag(p, "check", "pdp") {
			continue
		}
		lines = append(lines, p.Line())
	}
	sh := newShipper(t, srv, nil, 5000)
	if err := sh.writeLines(ctx, lines); err != nil {
		t.Fatal(err)
	}
	got, err := r.Runs(ctx, at, at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Check != "home" || got[0].OK() || got[0].Final().StatusCode != 503 {
		t.Fatalf("read %+v, want the one run of home", got)
	}
}

func hasTag(p Point, k, v string) bool {
	for _, t := range p.Tags {
		if t.Key == k && t.Value == v {
			return true
		}
	}
	return false
}

func TestFluxString(t *testing.T) {
	for in, want := range map[string]string{
		"storeprobe/autogen": `"storeprobe/autogen"`,
		`a"b\c`:              `"a\"b\\c"`,
		"x${y}":              `"x\${y}"`,
	} {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
	}
}
