package evaluator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/evaluator"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// source is a Source over runs in memory that records the ranges asked
// for and can be made to fail.
type source struct {
	mu     sync.Mutex
	runs   []probe.Run
	ranges [][2]time.Time
	fail   bool
}

func (s *source) Runs(_ context.Context, since, until time.Time) ([]probe.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ranges = append(s.ranges, [2]time.Time{since, until})
	if s.fail {
		return nil, errors.New("influxdb unreachable")
	}
	var out []probe.Run
	for _, r := range s.runs {
		if !r.ScheduledAt.Before(since) && r.ScheduledAt.Before(until) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *source) add(runs ...probe.Run) { s.mu.Lock(); s.runs = append(s.runs, runs...); s.mu.Unlock() }

func (s *source) asked() [][2]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.ranges
	s.ranges = nil
	return out
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.WithoutOutbox())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func checkoutCheck() probe.Check {
	return probe.Check{Name: "checkout", Type: probe.TypeHTTP, URL: "https://shop.test/checkout", Schedule: "@every 1m"}
}

// TestCursorWindowsAndOverlap: the first start reads CatchUp back a window
// at a time; each pass re-reads Overlap before its cursor, and a run read
// again is neither saved nor judged twice; a restart resumes at the
// store's newest run.
func TestCursorWindowsAndOverlap(t *testing.T) {
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := &clock{t: base}
	src := &source{}
	src.add(run("eu", base.Add(-2*time.Hour), true), run("eu", base.Add(-time.Minute), true))
	path := filepath.Join(t.TempDir(), "e.db")
	st := openStore(t, path)
	o := evaluator.Options{Checks: []probe.Check{checkoutCheck()}, Source: src, Store: st, Now: clk.Now,
		Overlap: 10 * time.Minute, Window: time.Hour, CatchUp: 3 * time.Hour}
	ev, err := evaluator.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := src.asked()
	if len(got) != 3 || !got[0][0].Equal(base.Add(-3*time.Hour)) || !got[2][1].Equal(base) {
		t.Fatalf("catch-up read %v, want 3 windows of an hour ending now", got)
	}
	if s := ev.Stats(); s.Runs != 2 || !s.Cursor.Equal(base) {
		t.Fatalf("after catch-up %+v", s)
	}

	// A late run inside the overlap, and the next minute's run.
	src.add(run("us", base.Add(-5*time.Minute), true), run("eu", base, true))
	clk.Set(base.Add(40 * time.Second))
	if err := ev.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := src.asked(); len(got) != 1 || !got[0][0].Equal(base.Add(-10*time.Minute)) || !got[0][1].Equal(clk.Now()) {
		t.Fatalf("pass read %v, want [cursor-10m, now)", got)
	}
	if s := ev.Stats(); s.Runs != 4 || s.Repeats != 1 || s.Passes != 1 {
		t.Fatalf("after a pass %+v, want 4 runs, the overlap's one run skipped", s)
	}

	// A failed read leaves the cursor; the next pass reads from it.
	src.fail = true
	clk.Set(base.Add(100 * time.Second))
	if err := ev.Step(context.Background()); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("step over a failing source: %v", err)
	}
	src.asked()
	src.fail = false
	clk.Set(base.Add(160 * time.Second))
	if err := ev.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := src.asked(); !got[0][0].Equal(base.Add(40*time.Second - 10*time.Minute)) {
		t.Fatalf("after a failed pass read %v, want from the old cursor − overlap", got)
	}
	ev.Close(context.Background())
	st.Close()

	// Restart: resume at the newest stored run; what the store holds in
	// the overlap is not saved again.
	st = openStore(t, path)
	o.Store = st
	clk.Set(base.Add(30 * time.Minute))
	ev, err = evaluator.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close(context.Background())
	if got := src.asked(); !got[0][0].Equal(base.Add(-10 * time.Minute)) {
		t.Fatalf("restart read %v, want from the newest run − overlap", got)
	}
	runs, err := st.Runs(context.Background(), probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if s := ev.Stats(); len(runs) != 4 || s.Runs != 0 || s.Repeats != 3 {
		t.Fatalf("after a restart %d runs stored, stats %+v; want 4 runs, nothing new, 3 skipped", len(runs), s)
	}
}

// TestBlindIsNotSilent: while the source cannot be read the evaluator does
// not tick, so its own blindness never raises probe_silent; once it reads
// again the probes' runs of that time show they were not silent. A probe
// that really stopped is reported.
func TestBlindIsNotSilent(t *testing.T) {
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := &clock{t: base}
	src := &source{}
	st := openStore(t, filepath.Join(t.TempDir(), "e.db"))
	ev, err := evaluator.New(context.Background(), evaluator.Options{Checks: []probe.Check{checkoutCheck()},
		Alerting: probe.Alerting{SilentAfter: 5 * time.Minute}, Source: src, Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close(context.Background())
	step := func(m int) error {
		clk.Set(base.Add(time.Duration(m)*time.Minute + 40*time.Second))
		return ev.Step(context.Background())
	}
	for m := 0; m <= 20; m++ {
		src.add(run("eu", base.Add(time.Duration(m)*time.Minute), true))
		if m < 15 {
			src.add(run("us", base.Add(time.Duration(m)*time.Minute), true))
		}
		src.fail = m >= 2 && m <= 12 // InfluxDB away for 11 minutes
		err := step(m)
		if src.fail != (err != nil) {
			t.Fatalf("minute %d: step %v with the source failing %v", m, err, src.fail)
		}
		if m == 5 {
			// Blind: not ready, and it says why.
			srv := httptest.NewServer(ev.Handler())
			resp, err := http.Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			srv.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "could not read") {
				t.Errorf("/readyz while the source fails: %d %s", resp.StatusCode, b)
			}
		}
	}
	wantHistory(t, st, "blind, then us stopped at minute 14", "firing probe_silent us")

	srv := httptest.NewServer(ev.Handler())
	defer srv.Close()
	body := get(t, srv.URL+"/metrics")
	for _, want := range []string{`storeprobe_alerts_active{rule="probe_silent"} 1`, "storeprobe_evaluator_read_errors_total 11",
		"storeprobe_evaluator_passes_total 10", "storeprobe_evaluator_checks 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if body := get(t, srv.URL+"/healthz"); !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"read_ok":true`) {
		t.Errorf("/healthz: %s", body)
	}
	if body := get(t, srv.URL+"/readyz"); !strings.Contains(body, `"ready"`) {
		t.Errorf("/readyz once reading again: %s", body)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// TestFirstStartTellsOnlyWhatHoldsNow: an evaluator started over a
// history it never saw judges it as a restarted probe does: an outage
// that began and ended before it started is not notified, one that holds
// now is, once.
func TestFirstStartTellsOnlyWhatHoldsNow(t *testing.T) {
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	src := &source{}
	for m := 0; m <= 30; m++ {
		ok := !(m >= 5 && m <= 10 || m >= 27)
		src.add(run("eu", base.Add(time.Duration(m)*time.Minute), ok))
	}
	clk := &clock{t: base.Add(30*time.Minute + 40*time.Second)}
	st := openStore(t, filepath.Join(t.TempDir(), "e.db"))
	ev, err := evaluator.New(context.Background(), evaluator.Options{Checks: []probe.Check{checkoutCheck()},
		Source: src, Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close(context.Background())
	wantHistory(t, st, "first start", "firing down eu")
	clk.Set(base.Add(31*time.Minute + 40*time.Second))
	if err := ev.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantHistory(t, st, "first pass", "firing down eu")
}
