package sqlite

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func seqsOf(es []probe.OutboxEntry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: t0}
	s, _ := openTemp(t, WithClock(clock.now))

	// Saved runs land in the outbox in save order, whatever their scheduled
	// time, and come back whole.
	makers := []func(time.Time) probe.Run{httpRun, browserRun, journeyRun, httpRun, browserRun}
	var ids []int64
	for i, mk := range makers {
		clock.t = t0.Add(time.Duration(i) * time.Minute)
		id, err := s.Save(ctx, mk(t0.Add(-time.Duration(i)*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	st, err := s.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (probe.OutboxStats{Depth: 5, Oldest: t0}); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	p, err := s.Pending(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 3 {
		t.Fatalf("Pending(3) = %d entries", len(p))
	}
	for i, e := range p {
		want := makers[i](t0.Add(-time.Duration(i) * time.Hour))
		want.ID = ids[i]
		if !reflect.DeepEqual(e.Run, want) {
			t.Errorf("entry %d: run differs from what was saved\n got %#v\nwant %#v", i, e.Run, want)
		}
	}

	// Ack removes exactly what was shipped; acking again is harmless.
	if err := s.Ack(ctx, p[0].Seq, p[2].Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, p[0].Seq); err != nil {
		t.Fatal(err)
	}
	rest, err := s.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seqsOf(rest), []int64{p[1].Seq, p[1].Seq + 2, p[1].Seq + 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("after ack, pending seqs = %v, want %v", got, want)
	}
	// Acked runs stay in the store: the outbox is a queue, not the data.
	if runs, _ := s.Runs(ctx, probe.RunQuery{}); len(runs) != 5 {
		t.Errorf("store holds %d runs after ack, want 5", len(runs))
	}

	// A poisoned point is kept with its reason, counted once even when a
	// retry rejects it again, and the entry stays until acked.
	line := `browser_page,check=home-browser lcp_ms="oops" 1`
	for range 2 {
		if err := s.Reject(ctx, rest[0].Seq, line, "field type conflict"); err != nil {
			t.Fatal(err)
		}
	}
	rej, err := s.Rejected(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Line != line || rej[0].Reason != "field type conflict" ||
		rej[0].Seq != rest[0].Seq || rej[0].RunID != rest[0].Run.ID || rej[0].Check != "home-browser" {
		t.Errorf("Rejected = %+v", rej)
	}
	st, _ = s.OutboxStats(ctx)
	if st.Rejected != 1 || st.Depth != 3 {
		t.Errorf("after reject: %+v, want rejected 1, depth 3", st)
	}

	// Requeue puts acked runs back once, not duplicating queued ones.
	n, err := s.Requeue(ctx, probe.RunQuery{})
	if err != nil || n != 2 {
		t.Fatalf("Requeue = %d, %v; want 2", n, err)
	}
	if n, _ := s.Requeue(ctx, probe.RunQuery{}); n != 0 {
		t.Errorf("second Requeue queued %d, want 0", n)
	}
	if st, _ := s.OutboxStats(ctx); st.Depth != 5 {
		t.Errorf("depth after requeue = %d, want 5", st.Depth)
	}
}

func TestTrimOutbox(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: t0}
	s, _ := openTemp(t, WithClock(clock.now))
	for i := range 10 {
		clock.t = t0.Add(time.Duration(i) * time.Minute)
		if _, err := s.Save(ctx, httpRun(t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	clock.t = t0.Add(10 * time.Minute)
	tests := []struct {
		name        string
		maxRows     int64
		maxAge      time.Duration
		wantDropped int64
		wantDepth   int64
		wantOldest  time.Time
	}{
		{"no bounds", 0, 0, 0, 10, t0},
		{"under the caps", 20, time.Hour, 0, 10, t0},
		// entries queued at t0..t0+9m; older than 7m30s are t0, +1m, +2m.
		{"by age", 0, 7*time.Minute + 30*time.Second, 3, 7, t0.Add(3 * time.Minute)},
		{"by size", 4, 0, 3, 4, t0.Add(6 * time.Minute)},
		{"both", 1, 2 * time.Minute, 3, 1, t0.Add(9 * time.Minute)},
	}
	var totalDropped int64
	for _, tt := range tests {
		n, err := s.TrimOutbox(ctx, tt.maxRows, tt.maxAge)
		if err != nil {
			t.Fatal(err)
		}
		totalDropped += n
		st, _ := s.OutboxStats(ctx)
		if n != tt.wantDropped || st.Depth != tt.wantDepth || !st.Oldest.Equal(tt.wantOldest) || st.Dropped != totalDropped {
			t.Errorf("%s: dropped %d, stats %+v; want dropped %d, depth %d, oldest %v, counter %d",
				tt.name, n, st, tt.wantDropped, tt.wantDepth, tt.wantOldest, totalDropped)
		}
	}
	// Dropping from the outbox never drops the data.
	if runs, _ := s.Runs(ctx, probe.RunQuery{}); len(runs) != 10 {
		t.Errorf("store holds %d runs, want 10", len(runs))
	}
}

func TestRejectAfterRunPruned(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	// An entry the caller already acked: the point is still kept, unattached.
	if err := s.Reject(ctx, 42, "m f=1i 1", "bad"); err != nil {
		t.Fatal(err)
	}
	rej, _ := s.Rejected(ctx, 5)
	if len(rej) != 1 || rej[0].RunID != 0 || rej[0].Seq != 42 {
		t.Errorf("Rejected = %+v", rej)
	}
}

// Without an InfluxDB nothing drains the outbox, so nothing is queued; a
// later export requeues the stored runs.
func TestWithoutOutbox(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, WithoutOutbox())
	for i := 0; i < 3; i++ {
		if _, err := s.Save(ctx, httpRun(t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Depth != 0 {
		t.Fatalf("outbox depth %d, want 0 without an outbox", st.Depth)
	}
	runs, err := s.Runs(ctx, probe.RunQuery{})
	if err != nil || len(runs) != 3 {
		t.Fatalf("stored runs = %d (%v), want 3", len(runs), err)
	}
	n, err := s.Requeue(ctx, probe.RunQuery{})
	if err != nil || n != 3 {
		t.Fatalf("Requeue = %d (%v), want 3", n, err)
	}
}
