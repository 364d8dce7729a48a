package sqlite

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	// Six journey runs a day apart; the outbox still holds the two oldest
	// (shipping is behind) and the newest.
	var seqs []int64
	for i := range 6 {
		if _, err := s.Save(ctx, journeyRun(t0.Add(time.Duration(i)*24*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p[2:5] {
		seqs = append(seqs, e.Seq)
	}
	if err := s.Ack(ctx, seqs...); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSkip(ctx, "checkout", t0, "overlap"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSkip(ctx, "checkout", t0.Add(5*24*time.Hour), "overlap"); err != nil {
		t.Fatal(err)
	}

	// Prune everything before day 4: days 2 and 3 go; days 0 and 1 are
	// pending and stay.
	n, err := s.Prune(ctx, t0.Add(4*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("pruned %d runs, want 2", n)
	}
	runs, _ := s.Runs(ctx, probe.RunQuery{})
	var days []int
	for _, r := range runs {
		days = append(days, int(r.ScheduledAt.Sub(t0)/(24*time.Hour)))
	}
	if want := []int{0, 1, 4, 5}; !slices.Equal(days, want) {
		t.Errorf("runs left on days %v, want %v", days, want)
	}
	// Cascade: each journey run has 1 attempt, 2 pages, 3 steps, 2 artifacts.
	for table, per := range map[string]int{"attempts": 1, "pages": 2, "steps": 3, "artifacts": 2, "skips": 0} {
		want := 4 * per
		if table == "skips" {
			want = 1
		}
		if got := countRows(t, s, table); got != want {
			t.Errorf("%s: %d rows left, want %d", table, got, want)
		}
	}
	// Once trimmed from the outbox (its cap), old runs become prunable.
	if _, err := s.TrimOutbox(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Prune(ctx, t0.Add(4*24*time.Hour)); n != 2 {
		t.Errorf("after trimming, pruned %d, want 2", n)
	}
	if err := s.Integrity(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPruneArtifacts(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s, _ := openTemp(t, WithClock(clock), WithArtifactLimits(3, 48*time.Hour))
	dir := s.ArtifactDir()
	// name -> age in hours
	files := map[string]int{"a/old.png": 72, "a/old.json": 50, "b/1.png": 10, "b/2.png": 8, "c/3.png": 6, "c/4.png": 1}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-time.Duration(age) * time.Hour)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneArtifacts()
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("removed %d files, want 3", n)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, rel)
		}
		return nil
	})
	sort.Strings(left)
	want := []string{"b", "b/2.png", "c", "c/3.png", "c/4.png"}
	if len(left) != len(want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	for i := range want {
		if left[i] != want[i] {
			t.Fatalf("left %v, want %v", left, want)
		}
	}

	// A store whose artifact directory was never created prunes nothing.
	s2, _ := openTemp(t)
	if n, err := s2.PruneArtifacts(); n != 0 || err != nil {
		t.Errorf("empty dir: %d, %v", n, err)
	}
}

func TestRunRetentionLoop(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	old := time.Now().Add(-100 * 24 * time.Hour).UTC()
	id, err := s.Save(ctx, httpRun(old))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, id); err != nil { // seq == id for a fresh store
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, httpRun(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		s.RunRetention(ctx, time.Hour, 90*24*time.Hour, slog.New(slog.DiscardHandler))
		close(done)
	}()
	// The first pass runs at once; wait for it, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, err := s.Runs(context.Background(), probe.RunQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not prune within 10s: %d runs", len(runs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunRetention did not return after cancel")
	}
}
