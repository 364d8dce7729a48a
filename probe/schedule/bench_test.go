package schedule

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/httpcheck"
)

// lagSink keeps every run's lag and outcome; the store's cost is measured
// by the storage benchmarks, not here.
type lagSink struct {
	mu     sync.Mutex
	lags   []time.Duration
	failed int
	skips  int
}

func (s *lagSink) Save(_ context.Context, run probe.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lags = append(s.lags, run.Lag)
	if !run.OK() {
		s.failed++
	}
	return nil
}

func (s *lagSink) RecordSkip(context.Context, string, time.Time, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skips++
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSchedulerCapacity drives the load: 10 000 checks on
// @every 1m (10 000 runs/min, 167/s), spread by their jitter offsets, for a
// 30 s window (10 s with -short) — half their period, so about 5 000 runs
// with the full 10 000-entry schedule in place. Each run is a real
// httpcheck.Checker GET (fresh connection, as in production) against a
// local server (a child process) serving a 4 KiB page; "noop" runs a probe that does
// nothing, isolating the scheduler's own cost.
//
// Reported: p50/p99/max schedule lag in ms (goal p99 < 100), missed and
// overlap-skipped runs (goal 0), CPU per run in µs (process user+sys time,
// so for "http" it includes the in-process server's side), runs/min.
// Run with: go test -run '^$' -bench SchedulerCapacity -benchtime 1x ./probe/schedule/
func BenchmarkSchedulerCapacity(b *testing.B) {
	const checks = 10000
	window := 30 * time.Second
	if testing.Short() {
		window = 10 * time.Second
	}
	srvURL := startPageServer(b)

	list := make([]probe.Check, checks)
	checkers := make(map[string]*httpcheck.Checker, checks)
	for i := range list {
		c := probe.Check{Name: fmt.Sprintf("shop-%05d", i), Type: probe.TypeHTTP, URL: fmt.Sprintf("%s/p/%d", srvURL, i),
			Schedule: "@every 1m", Timeout: 5 * time.Second, HTTP: probe.HTTPSpec{FollowRedirects: true}}
		k, err := httpcheck.New(c)
		if err != nil {
			b.Fatal(err)
		}
		list[i], checkers[c.Name] = c, k
	}
	execs := map[string]Executor{
		"http": ExecutorFunc(func(ctx context.Context, c probe.Check, _ int) probe.Result { return checkers[c.Name].Run(ctx) }),
		"noop": ExecutorFunc(func(context.Context, probe.Check, int) probe.Result { return probe.Result{OK: true} }),
	}
	for _, name := range []string{"http", "noop"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				sink := &lagSink{}
				r, err := New(Options{Executor: execs[name], Sink: sink})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Start(list); err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTime() // after Start: its one-off parsing is not a per-run cost
				stall := watchStalls(window)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := r.Stop(ctx); err != nil {
					b.Fatal(err)
				}
				cancel()
				cpu := cpuTime() - cpu0
				st := r.Stats()

				lags := slices.Clone(sink.lags)
				slices.Sort(lags)
				n := len(lags)
				if n == 0 {
					b.Fatal("no runs")
				}
				if sink.failed > 0 {
					b.Errorf("%d of %d runs failed", sink.failed, n)
				}
				ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
				b.ReportMetric(ms(percentile(lags, 50)), "p50-lag-ms")
				b.ReportMetric(ms(percentile(lags, 99)), "p99-lag-ms")
				b.ReportMetric(ms(lags[n-1]), "max-lag-ms")
				b.ReportMetric(float64(st.Missed), "missed")
				b.ReportMetric(float64(st.Skipped), "skipped")
				b.ReportMetric(ms(stall), "stall-ms")
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/run")
				b.ReportMetric(float64(n)/window.Minutes(), "runs/min")
				b.ReportMetric(0, "ns/op") // one op is a whole window; its time says nothing
				if load, err := os.ReadFile("/proc/loadavg"); err == nil {
					b.Logf("%d runs; load average during the window: %s", n, strings.TrimSpace(string(load)))
				}
			}
		})
	}
}

// startPageServer runs TestBenchPageServer in a child process and returns
// its base URL; the child exits when its stdin closes.
func startPageServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchPageServer$")
	cmd.Env = append(os.Environ(), "SCHEDULE_BENCH_PAGE_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("page server: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestBenchPageServer is the benchmark's page server when run as its child;
// otherwise it does nothing.
func TestBenchPageServer(t *testing.T) {
	if os.Getenv("SCHEDULE_BENCH_PAGE_SERVER") != "1" {
		t.Skip("only runs as BenchmarkSchedulerCapacity's child process")
	}
	page := []byte("<!doctype html><title>shop</title>" + strings.Repeat("x", 4096))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(page)
	}))
	defer srv.Close()
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin or exits
}

// watchStalls sleeps for d and returns the worst overshoot of a 100 ms
// ticker over that time: how long the whole process was kept off the CPU.
func watchStalls(d time.Duration) time.Duration {
	const tick = 100 * time.Millisecond
	var worst time.Duration
	end := time.Now().Add(d)
	for last := time.Now(); last.Before(end); {
		time.Sleep(tick)
		now := time.Now()
		worst = max(worst, now.Sub(last)-tick)
		last = now
	}
	return worst
}
