package sqlite

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// TestRunsPageWalksTheWindow: walking a window page by page, with runs
// that share a scheduled time across a page boundary, yields exactly what
// Runs returns for it, in the same order, with attempts, pages and steps.
func TestRunsPageWalksTheWindow(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 7; i++ {
		at := base.Add(time.Duration(i/2) * time.Minute) // pairs share a scheduled time
		for _, r := range []probe.Run{httpRun(at), journeyRun(at)} {
			if _, err := s.Save(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		q    probe.RunQuery
	}{
		{"all", probe.RunQuery{}},
		{"window", probe.RunQuery{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}},
		{"check", probe.RunQuery{Check: journeyRun(base).Check}},
	} {
		want, err := s.Runs(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 3, 100} {
			var got []probe.Run
			var cur probe.RunCursor
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatalf("%s/%d: paging does not end", tc.name, limit)
				}
				page, err := s.RunsPage(ctx, tc.q, cur, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("%s: page of %d runs, limit %d", tc.name, len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				cur = probe.CursorAfter(page[len(page)-1])
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s/limit %d: paged %d runs, Runs gave %d (or they differ)", tc.name, limit, len(got), len(want))
			}
		}
	}
}

func TestLatestScheduled(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if at, err := s.LatestScheduled(ctx); err != nil || !at.IsZero() {
		t.Fatalf("empty store: %v, %v; want zero", at, err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{base.Add(time.Minute), base.Add(3 * time.Minute), base} {
		if _, err := s.Save(ctx, httpRun(at)); err != nil {
			t.Fatal(err)
		}
	}
	if at, err := s.LatestScheduled(ctx); err != nil || !at.Equal(base.Add(3*time.Minute)) {
		t.Fatalf("latest %v, %v; want %v", at, err, base.Add(3*time.Minute))
	}
}
