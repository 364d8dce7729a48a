package sqlite

import (
	"context"
	"database/sql"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// rollupRuns are three hours of runs of every shape, from two locations:
// retried, failed, timed out, probe faults, a run with no attempt, runs in
// a maintenance window, browser pages and journeys.
func rollupRuns() []probe.Run {
	var runs []probe.Run
	for i := range 180 {
		at := t0.Add(time.Duration(i) * time.Minute)
		var r probe.Run
		switch i % 6 {
		case 0:
			r = httpRun(at) // a timeout, then a pass
		case 1:
			r = browserRun(at)
		case 2:
			r = journeyRun(at) // failed on a selector, two pages
			// The second page waited on for a payment field: ready on
			// most runs, not on every fourth.
			p := &r.Attempts[len(r.Attempts)-1].Pages[1]
			p.PaymentProvider = string(probe.PaymentStripe)
			if i%4 != 2 {
				ready := 600 + float64(i)*23
				p.PaymentReadyMS = &ready
			}
		case 3:
			r = httpRun(at)
			r.Attempts = r.Attempts[:1] // timed out: a censored load
			// Answered through a CDN: edge counts by cache status and POP.
			caches := []probe.CacheStatus{probe.CacheHit, probe.CacheHit, probe.CacheMiss}
			pops := []string{"FRA", "AMS"}
			r.Attempts[0].HTTPDetails.CDN = &probe.CDNInfo{Provider: "cloudflare", Cache: caches[i/6%3], POP: pops[i/6%2]}
		case 4:
			r = httpRun(at)
			r.Attempts = []probe.Result{{Check: "home", Type: probe.TypeHTTP, Failure: probe.Fail(probe.FailureProbeError, "", "no sockets")}}
		case 5:
			r = browserRun(at)
			lcp := 1000 + float64(i)*37
			r.Attempts[0].PageMetrics.Vitals.LCP = &lcp
			r.Attempts[0].PageMetrics.LoadMS = 900 + float64(i)
			// Measured with the settle rule: a TBT sample (0 on some).
			r.Attempts[0].PageMetrics.SettleReason = probe.SettleQuiet
			r.Attempts[0].PageMetrics.TBTMS = float64(i%4) * 55
			// GA4 fires on two loads in three, Adobe on every fifth.
			if i%3 != 2 {
				r.Attempts[0].PageMetrics.Analytics = &probe.PageAnalytics{GA4: &probe.BeaconTally{Fired: 1 + i%2, Events: []string{"page_view"}}}
			}
			if i%5 == 0 {
				if r.Attempts[0].PageMetrics.Analytics == nil {
					r.Attempts[0].PageMetrics.Analytics = &probe.PageAnalytics{}
				}
				r.Attempts[0].PageMetrics.Analytics.Adobe = &probe.BeaconTally{Fired: 2}
			}
		}
		if i%7 == 0 {
			r.Location = "us-east"
		}
		if i >= 100 && i < 110 {
			r.Maintenance = "deploy"
		}
		if i == 50 {
			r.Attempts = nil // never ran
		}
		runs = append(runs, r)
	}
	return runs
}

// compareTallies holds a store's tallies to slo's own over the same runs:
// counts and ratings exactly, percentiles within the histogram's bound
// (exactly for exact samples).
func compareTallies(t *testing.T, what string, got, want []slo.Tally, exact bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tallies, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Check != w.Check || g.Location != w.Location {
			t.Fatalf("%s: tally %d is %s@%s, want %s@%s", what, i, g.Check, g.Location, w.Check, w.Location)
		}
		gc, wc := g.Counts, w.Counts
		if len(gc.Failures) == 0 && len(wc.Failures) == 0 {
			gc.Failures, wc.Failures = nil, nil
		}
		if !reflect.DeepEqual(gc, wc) {
			t.Errorf("%s %s@%s: counts\n got %+v\nwant %+v", what, w.Check, w.Location, gc, wc)
		}
		gs, ws := slo.Judge(w.Check, "", g.Counts, g.Samples, probe.SLO{}), slo.Judge(w.Check, "", w.Counts, w.Samples, probe.SLO{})
		if exact {
			if !reflect.DeepEqual(gs.Load, ws.Load) || !reflect.DeepEqual(gs.Pages, ws.Pages) {
				t.Errorf("%s %s@%s: exact samples differ:\n got %+v %+v\nwant %+v %+v", what, w.Check, w.Location, gs.Load, gs.Pages, ws.Load, ws.Pages)
			}
			continue
		}
		near := func(name string, a, b *float64) {
			if (a == nil) != (b == nil) || a != nil && math.Abs(*a-*b) > slo.HistogramError**b+slo.HistogramMin {
				t.Errorf("%s %s@%s %s: %v, want %v", what, w.Check, w.Location, name, deref(a), deref(b))
			}
		}
		near("load p50", gs.Load.P50, ws.Load.P50)
		near("load p95", gs.Load.P95, ws.Load.P95)
		if len(gs.Pages) != len(ws.Pages) {
			t.Fatalf("%s %s@%s: pages %+v, want %+v", what, w.Check, w.Location, gs.Pages, ws.Pages)
		}
		for j, wp := range ws.Pages {
			gp := gs.Pages[j]
			if gp.Name != wp.Name || gp.Samples != wp.Samples || gp.Load.Samples != wp.Load.Samples {
				t.Errorf("%s %s@%s page %d: %+v, want %+v", what, w.Check, w.Location, j, gp, wp)
			}
			near(wp.Name+" load p75", gp.Load.P75, wp.Load.P75)
			if gp.TBT.Samples != wp.TBT.Samples {
				t.Errorf("%s %s@%s page %s: tbt %+v, want %+v", what, w.Check, w.Location, wp.Name, gp.TBT, wp.TBT)
			}
			near(wp.Name+" tbt p75", gp.TBT.P75, wp.TBT.P75)
			if !reflect.DeepEqual(gp.Analytics, wp.Analytics) {
				t.Errorf("%s %s@%s page %s: analytics %+v, want %+v", what, w.Check, w.Location, wp.Name, gp.Analytics, wp.Analytics)
			}
			if gp.PaymentProvider != wp.PaymentProvider || (gp.PaymentReady == nil) != (wp.PaymentReady == nil) {
				t.Fatalf("%s %s@%s page %s: payment %q %+v, want %q %+v", what, w.Check, w.Location, wp.Name,
					gp.PaymentProvider, gp.PaymentReady, wp.PaymentProvider, wp.PaymentReady)
			}
			if wr := wp.PaymentReady; wr != nil {
				if gp.PaymentReady.Samples != wr.Samples {
					t.Errorf("%s %s@%s page %s: payment_ready %+v, want %+v", what, w.Check, w.Location, wp.Name, gp.PaymentReady, wr)
				}
				near(wp.Name+" payment_ready p75", gp.PaymentReady.P75, wr.P75)
			}
			for k, wv := range wp.Vitals {
				gv := gp.Vitals[k]
				if gv.Samples != wv.Samples || gv.Good != wv.Good || gv.NeedsImprovement != wv.NeedsImprovement || gv.Poor != wv.Poor {
					t.Errorf("%s %s@%s %s %s: %+v, want %+v", what, w.Check, w.Location, wp.Name, wv.Vital, gv, wv)
				}
				near(wp.Name+" "+string(wv.Vital)+" p75", gv.P75, wv.P75)
			}
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func inWindow(runs []probe.Run, q probe.RunQuery) []probe.Run {
	var out []probe.Run
	for _, r := range runs {
		if (q.Since.IsZero() || !r.ScheduledAt.Before(q.Since)) && (q.Until.IsZero() || r.ScheduledAt.Before(q.Until)) &&
			(q.Check == "" || r.Check == q.Check) {
			out = append(out, r)
		}
	}
	return out
}

// windows start and end on and off the hour (t0 is 09:26:53.59).
func rollupWindows() []probe.RunQuery {
	h := t0.Truncate(time.Hour)
	return []probe.RunQuery{
		{},
		{Since: t0, Until: t0.Add(3 * time.Hour)},
		{Since: h.Add(time.Hour), Until: h.Add(3 * time.Hour)},
		{Since: t0.Add(17 * time.Minute), Until: t0.Add(20 * time.Minute)},
		{Since: t0.Add(20 * time.Minute), Until: h.Add(2*time.Hour + 7*time.Minute)},
		{Since: t0.Add(time.Hour), Check: "checkout"},
		{Until: t0.Add(90 * time.Minute), Check: "home-browser"},
	}
}

// TestRollupsMatchRuns: what Save keeps in the rollups, read back with the
// raw edges of any window, is what slo counts over the same runs.
func TestRollupsMatchRuns(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	runs := rollupRuns()
	for _, r := range runs {
		if _, err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range rollupWindows() {
		want := slo.TallyRuns(inWindow(runs, q))
		for _, mode := range []slo.SampleMode{slo.SamplesHistogram, slo.SamplesExact, slo.SamplesNone} {
			got, err := s.Tally(ctx, q, mode)
			if err != nil {
				t.Fatal(err)
			}
			what := q.Since.Format("15:04:05") + "–" + q.Until.Format("15:04:05") + " " + q.Check
			if mode == slo.SamplesNone {
				for i := range got {
					got[i].Samples, want[i].Samples = slo.Samples{}, slo.Samples{}
				}
			}
			compareTallies(t, what, got, want, mode != slo.SamplesHistogram)
			want = slo.TallyRuns(inWindow(runs, q))
		}
	}
}

// TestMigration4Backfill: a store written before rollups (schema 3) gets
// them, and each run's first attempt and load sample, from its runs when
// it is opened.
func TestMigration4Backfill(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	runs := rollupRuns()
	for _, r := range runs {
		if _, err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Back to schema 3: what schemas 4 to 7 added, gone.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	undo := []string{"DROP TABLE rollups", "DROP TABLE rollup_pages", "ALTER TABLE runs DROP COLUMN first_ok",
		"ALTER TABLE runs DROP COLUMN load_ms", "DROP TABLE security_findings", "DROP TABLE origins"}
	for _, c := range []string{"cdn_cache", "cdn_cache_raw", "cdn_pop", "cdn_pop_raw", "cdn_age_s", "warmup_requests",
		"warmup_failed", "security_fail_on", "dialogs", "popups"} {
		undo = append(undo, "ALTER TABLE attempts DROP COLUMN "+c)
	}
	for _, c := range []string{"soft_navigation", "settled_ms", "settle_reason", "tbt_ms", "long_tasks", "longest_task_ms",
		"longest_tasks", "resources", "third_party_requests", "third_party_bytes", "third_party_blocking_ms", "third_parties",
		"render_blocking_resources", "lcp_url", "lcp_request_start_ms", "lcp_response_end_ms", "lcp_load_delay_ms",
		"lcp_load_duration_ms", "lcp_render_delay_ms", "payment_provider", "payment_ready_ms",
		"analytics", "analytics_findings", "mixed_content", "mixed_content_count"} {
		undo = append(undo, "ALTER TABLE pages DROP COLUMN "+c)
	}
	undo = append(undo, "ALTER TABLE checks DROP COLUMN slo_payment_ready_ms")
	undo = append(undo, "DELETE FROM schema_version WHERE version >= 4")
	for _, q := range undo {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Version(ctx); v != SchemaVersion() {
		t.Fatalf("version %d", v)
	}
	// Pages stored before schema 6 have no TBT; attempts before schema 5
	// no cache status or POP.
	for _, r := range runs {
		for i := range r.Attempts {
			if h := r.Attempts[i].HTTPDetails; h != nil && h.CDN != nil {
				h.CDN = &probe.CDNInfo{Provider: h.CDN.Provider, Cache: probe.CacheUnknown, POP: probe.UnknownPOP}
			}
			if b := r.Attempts[i].BrowserDetails; b != nil && b.PageMetrics != nil {
				b.PageMetrics.SettleReason, b.PageMetrics.TBTMS, b.PageMetrics.Analytics = "", 0, nil
			}
			// Nor payment readiness (schema 7).
			if b := r.Attempts[i].BrowserDetails; b != nil {
				for j := range b.Pages {
					b.Pages[j].PaymentProvider, b.Pages[j].PaymentReadyMS = "", nil
				}
			}
		}
	}
	for _, q := range rollupWindows() {
		want := slo.TallyRuns(inWindow(runs, q))
		got, err := s.Tally(ctx, q, slo.SamplesHistogram)
		if err != nil {
			t.Fatal(err)
		}
		compareTallies(t, "backfilled "+q.Since.Format("15:04:05"), got, want, false)
		want = slo.TallyRuns(inWindow(runs, q))
		if got, err = s.Tally(ctx, q, slo.SamplesExact); err != nil {
			t.Fatal(err)
		}
		compareTallies(t, "backfilled exact "+q.Since.Format("15:04:05"), got, want, true)
	}
	// The v1 dump (schema 1) comes up with rollups too.
	old, err := Open(ctx, loadDump(t, "v1.sql"), MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	got, err := old.Tally(ctx, probe.RunQuery{}, slo.SamplesHistogram)
	if err != nil {
		t.Fatal(err)
	}
	compareTallies(t, "v1", got, slo.TallyRuns(v1Runs()), false)
}

// TestPruneKeepsRollups: pruning mid-hour recounts the hours it thins,
// keeping the runs still in the outbox.
func TestPruneKeepsRollups(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	runs := rollupRuns()
	var kept []probe.Run
	cut := t0.Add(75 * time.Minute) // mid-hour
	for i, r := range runs {
		id, err := s.Save(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		// Shipped (acknowledged) unless it is run 40, which stays queued.
		if i != 40 {
			if _, err := s.w.ExecContext(ctx, "DELETE FROM outbox WHERE run_id = ?", id); err != nil {
				t.Fatal(err)
			}
		}
		if i == 40 || !r.ScheduledAt.Before(cut) {
			kept = append(kept, r)
		}
	}
	n, err := s.Prune(ctx, cut)
	if err != nil || int(n) != len(runs)-len(kept) {
		t.Fatalf("pruned %d (%v), want %d", n, err, len(runs)-len(kept))
	}
	for _, q := range rollupWindows() {
		want := slo.TallyRuns(inWindow(kept, q))
		got, err := s.Tally(ctx, q, slo.SamplesHistogram)
		if err != nil {
			t.Fatal(err)
		}
		compareTallies(t, "pruned "+q.Since.Format("15:04:05"), got, want, false)
	}
}

// TestHourBounds: floorHour and ceilHour on, before and after the hour,
// also before 1970.
func TestHourBounds(t *testing.T) {
	h := int64(time.Hour)
	for _, tc := range []struct{ ns, floor, ceil int64 }{
		{0, 0, 0}, {1, 0, h}, {h, h, h}, {h - 1, 0, h}, {-1, -h, 0}, {-h, -h, -h}, {-h - 1, -2 * h, -h},
	} {
		if f, c := floorHour(tc.ns), ceilHour(tc.ns); f != tc.floor || c != tc.ceil {
			t.Errorf("%d: floor %d ceil %d, want %d %d", tc.ns, f, c, tc.floor, tc.ceil)
		}
	}
}

// FuzzHistogramBlob: a stored histogram decodes to what was encoded, and a
// damaged one is an error, never a panic.
func FuzzHistogramBlob(f *testing.F) {
	f.Add([]byte{0, 3, 5, 1}, 1.5, 200.0)
	f.Add([]byte{0xff, 0xff}, 0.0, 1e12)
	f.Fuzz(func(t *testing.T, raw []byte, a, b float64) {
		var junk slo.Histogram
		_ = decodeHist(raw, junk.AddBucket) // garbage: an error or buckets, no panic
		var h slo.Histogram
		h.Add(a)
		h.Add(b)
		h.Add(a)
		enc, _ := encodeHist(h).([]byte)
		var back slo.Histogram
		if err := decodeHist(enc, back.AddBucket); err != nil {
			t.Fatal(err)
		}
		gi, gc := back.Buckets()
		wi, wc := h.Buckets()
		if !reflect.DeepEqual(gi, wi) || !reflect.DeepEqual(gc, wc) {
			t.Fatalf("decoded %v %v, want %v %v", gi, gc, wi, wc)
		}
	})
}
