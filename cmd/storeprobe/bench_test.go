package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/daemon"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchQuick reports whether `make bench-quick` runs this benchmark
// (STOREPROBE_BENCH_QUICK set): windows are shortened to fit its budget.
func benchQuick() bool { return os.Getenv("STOREPROBE_BENCH_QUICK") != "" }

// BenchmarkDaemonCapacity is the scheduler capacity of issue 4 through the
// whole daemon, at 100, 1,000 and 10,000 checks on @every 1m (that many
// real HTTP runs a minute) loaded from a real config, each run a real GET
// (fresh connection) and a real Save into the SQLite store with its single
// writer, for a 30 s window (10 s with -short, 5 s with STOREPROBE_BENCH_QUICK),
// at most half the period, so the full schedule is in place. The page
// server runs in this process, so CPU per run includes its side, and the
// idle daemon's own work (timers, /metrics, retention) is spread over the
// runs, which is how cost grows with the number of checks; starting the
// daemon (parsing the config, opening the store) is not counted, stopping
// it (the last runs' saves) is.
//
// Reported: schedule lag p50/p99/max (goal p99 < 100 ms), missed and
// skipped runs, store errors and failed runs (each should be 0; the table
// shows them beside the lag), runs stored per minute, CPU per run.
// Run with: go test ./cmd/storeprobe -run '^$' -bench DaemonCapacity -benchtime 1x
func BenchmarkDaemonCapacity(b *testing.B) {
	window := 30 * time.Second
	switch {
	case benchQuick():
		window = 5 * time.Second
	case testing.Short():
		window = 10 * time.Second
	}
	page := strings.Repeat("x", 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(page))
	}))
	defer srv.Close()
	for _, checks := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("checks=%d", checks), func(b *testing.B) {
			benchDaemonCapacity(b, srv.URL, checks, window)
		})
	}
}

func benchDaemonCapacity(b *testing.B, target string, checks int, window time.Duration) {
	var cfg strings.Builder
	cfg.WriteString("scheduler: {concurrency: 32}\nchecks:\n")
	for i := 0; i < checks; i++ {
		fmt.Fprintf(&cfg, "  - {name: c%05d, url: \"%s/p%d\", schedule: \"@every 1m\"}\n", i, target, i)
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		cfgPath := filepath.Join(dir, "storeprobe.yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		store := filepath.Join(dir, "s.db")
		a, _, _ := testApp()
		d, err := startDaemon(context.Background(), a, daemon.Options{ConfigPath: cfgPath, StorePath: store, Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		// From a started daemon (config parsed, store open, schedule in
		// place) to its stop with every run saved: the cost of running,
		// not of starting.
		cpu0 := processCPU()
		time.Sleep(window)
		st := d.Stats()
		if err := d.Shutdown(); err != nil {
			b.Fatal(err)
		}
		cpu := processCPU() - cpu0
		s, err := sqlite.Open(context.Background(), store, sqlite.MustExist())
		if err != nil {
			b.Fatal(err)
		}
		runs, err := s.Runs(context.Background(), probe.RunQuery{})
		s.Close()
		if err != nil {
			b.Fatal(err)
		}
		failed := 0
		for _, r := range runs {
			if !r.OK() {
				failed++
			}
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(st.Lag.P50), "p50-lag-ms")
		b.ReportMetric(ms(st.Lag.P99), "p99-lag-ms")
		b.ReportMetric(ms(st.Lag.Max), "max-lag-ms")
		b.ReportMetric(float64(st.Missed), "missed")
		b.ReportMetric(float64(st.Skipped), "skipped")
		b.ReportMetric(float64(st.SaveErrors), "store-errors")
		b.ReportMetric(float64(failed), "failed-runs")
		b.ReportMetric(float64(len(runs))/window.Minutes(), "runs/min")
		if len(runs) > 0 {
			b.ReportMetric(float64(cpu.Microseconds())/float64(len(runs)), "cpu-µs/run")
		}
		b.ReportMetric(0, "ns/op")
	}
}
