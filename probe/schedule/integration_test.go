package schedule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/httpcheck"
)

// checkerExec runs prepared httpcheck.Checkers by check name, as the daemon
// does.
type checkerExec struct {
	mu       sync.Mutex
	checkers map[string]*httpcheck.Checker
}

func (e *checkerExec) Execute(ctx context.Context, c probe.Check, _ int) probe.Result {
	e.mu.Lock()
	k := e.checkers[c.Name]
	e.mu.Unlock()
	return k.Run(ctx)
}

// With the real HTTP probe against real servers: the timeout grace lets the
// probe classify its own timeout (kind timeout, phase wait) instead of our
// cancellation, retries are real second requests, and a healthy page passes.
func TestRunnerWithHTTPCheck(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/slow" {
			select { // bounded: never longer than 3 s
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte("<h1>Shop</h1>"))
	}))
	defer srv.Close()

	slow := probe.Check{Name: "slow", Type: probe.TypeHTTP, URL: srv.URL + "/slow", Schedule: "@every 1s",
		Timeout: 300 * time.Millisecond, Retries: 1}
	home := probe.Check{Name: "home", Type: probe.TypeHTTP, URL: srv.URL + "/", Schedule: "@every 1s"}
	exec := &checkerExec{checkers: map[string]*httpcheck.Checker{}}
	for _, c := range []probe.Check{slow, home} {
		k, err := httpcheck.New(c)
		if err != nil {
			t.Fatal(err)
		}
		exec.checkers[c.Name] = k
	}
	sink := &memSink{}
	r := newRunner(t, Options{Executor: exec, Sink: sink, RetryDelay: 100 * time.Millisecond, TimeoutGrace: 500 * time.Millisecond})
	if err := r.Start([]probe.Check{slow, home}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (len(sink.runsOf("slow")) < 1 || len(sink.runsOf("home")) < 1) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop(t, r)

	runs := sink.runsOf("slow")
	if len(runs) == 0 {
		t.Fatal("no run of slow within 5 s")
	}
	run := runs[0]
	if len(run.Attempts) != 2 {
		t.Fatalf("slow: %d attempts, want 2 (one retry)", len(run.Attempts))
	}
	for i, a := range run.Attempts {
		if a.Attempt != i+1 || a.OK || a.Failure == nil || a.Failure.Kind != probe.FailureTimeout || a.Failure.Phase != probe.PhaseWait {
			t.Errorf("slow attempt %d: %+v failure %+v, want timeout in wait", i+1, a, a.Failure)
		}
		// The probe's own 300 ms timeout, well before our 800 ms deadline.
		if a.DurationMS < 250 || a.DurationMS > 750 {
			t.Errorf("slow attempt %d took %.0f ms, want about 300", i+1, a.DurationMS)
		}
	}
	if gap := run.Attempts[1].StartedAt.Sub(run.Attempts[0].StartedAt); gap < 400*time.Millisecond {
		t.Errorf("retry started %v after the first attempt, want ≥ 300 ms timeout + 100 ms delay", gap)
	}
	mu.Lock()
	slowHits := hits["/slow"]
	mu.Unlock()
	if slowHits < 2 {
		t.Error("the retry did not reach the server")
	}
	h := sink.runsOf("home")
	if len(h) == 0 || !h[0].OK() || h[0].Final().StatusCode != http.StatusOK {
		t.Errorf("home runs %+v", h)
	}
}
