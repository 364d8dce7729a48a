package sqlite

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/report"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// growthChecks is the fleet the growth benchmark stores: 40 HTTP checks, 4
// browser pages and 2 journeys, one run each per minute.
const growthChecks = 46

// growthRun is the i-th run of the fleet: check i % 46, scheduled minute
// i / 46. HTTP runs pass at the first attempt but one in a hundred, which
// times out once first (the fixture's two attempts).
func growthRun(i int) probe.Run {
	c := i % growthChecks
	at := t0.Add(time.Duration(i/growthChecks) * time.Minute)
	var r probe.Run
	switch {
	case c < 40:
		r = httpRun(at)
		if i%100 != 0 {
			r.Attempts = r.Attempts[1:]
			r.Attempts[0].Attempt = 1
		}
	case c < 44:
		r = browserRun(at)
	default:
		r = journeyRun(at)
	}
	r.Check = fmt.Sprintf("%s-%02d", r.Check, c)
	for k := range r.Attempts {
		r.Attempts[k].Check = r.Check
	}
	return r
}

// fillGrowth stores runs from..to-1 of the fleet as Save does (the run's
// rows and its hour's rollups), in transactions of 10,000 (one per run
// would take 15 minutes for 4 million; the rows are the same).
func fillGrowth(ctx context.Context, tb testing.TB, s *Store, from, to int) {
	tb.Helper()
	const batch = 10000
	for lo := from; lo < to; lo += batch {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		w := cachedTx{tx, s}
		for i := lo; i < min(to, lo+batch); i++ {
			run := growthRun(i)
			if _, err := insertRun(ctx, w, run); err != nil {
				tx.Rollback()
				tb.Fatal(err)
			}
			if err := addRollup(ctx, w, slo.OutcomeOf(run)); err != nil {
				tx.Rollback()
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
}

// rusageCPU is this process's user and system CPU time so far: on a shared
// machine wall time also counts other processes' turns.
func rusageCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReportGrowth times what `storeprobe report --output json` does
// (report.Build and the JSON writer) over a store holding 10^4, 10^5, 10^6
// and 4·10^6 runs of a 46-check fleet, the window covering every run: how
// report time grows with what it reads. The store grows between sizes (run
// them in order; -bench 'ReportGrowth/runs=(10000|100000)$' picks sizes).
// Reported: wall ms and CPU ms per report, and µs per stored run.
//
//	go test ./storage/sqlite -run '^$' -bench ReportGrowth -benchtime 1x -timeout 60m
func BenchmarkReportGrowth(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b, WithoutOutbox())
	stored := 0
	for _, n := range []int{10_000, 100_000, 1_000_000, 4_000_000} {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			start := time.Now()
			fillGrowth(ctx, b, s, stored, n)
			stored = n
			b.Logf("stored %d runs in %v", n, time.Since(start).Round(time.Millisecond))
			until := t0.Add(time.Duration(n/growthChecks+1) * time.Minute)
			var wall, cpu time.Duration
			reports := 0
			for b.Loop() {
				cpu0, start := rusageCPU(), time.Now()
				rep, err := report.Build(ctx, s, report.Options{StorePath: s.Path(), Since: t0, Until: until, Duration: "all"})
				if err != nil {
					b.Fatal(err)
				}
				if err := report.WriteJSON(io.Discard, rep); err != nil {
					b.Fatal(err)
				}
				wall += time.Since(start)
				cpu += rusageCPU() - cpu0
				reports++
				if len(rep.Checks) != growthChecks {
					b.Fatalf("%d checks in the report, want %d", len(rep.Checks), growthChecks)
				}
				// Every stored run counted: a store without its rollups
				// would report only the partial hours' runs.
				counted := 0
				for _, c := range rep.Checks {
					counted += c.Availability.Runs
				}
				if counted != n {
					b.Fatalf("the report counts %d runs, %d are stored", counted, n)
				}
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(reports) }
			b.ReportMetric(ms(wall), "ms/report")
			b.ReportMetric(ms(cpu), "cpu-ms/report")
			b.ReportMetric(ms(wall)*1000/float64(n), "µs/run")
			b.ReportMetric(0, "ns/op")
		})
	}
}
