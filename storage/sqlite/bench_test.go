package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// BenchmarkSave measures what storing one run costs, outbox row included,
// for each kind of run, as µs/run.
func BenchmarkSave(b *testing.B) {
	for _, bc := range []struct {
		name string
		mk   func(time.Time) probe.Run
	}{
		{"http", httpRun},
		{"browser", browserRun},
		{"journey", journeyRun},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := openTemp(b)
			ctx := context.Background()
			i := 0
			start := time.Now()
			for b.Loop() {
				if _, err := s.Save(ctx, bc.mk(t0.Add(time.Duration(i)*time.Second))); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(i), "µs/run")
		})
	}
}

// BenchmarkPending measures reading outbox entries back for shipping.
func BenchmarkPending(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	for i := range 500 {
		if _, err := s.Save(ctx, httpRun(t0.Add(time.Duration(i)*time.Second))); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	start := time.Now()
	for b.Loop() {
		es, err := s.Pending(ctx, 500)
		if err != nil || len(es) != 500 {
			b.Fatal(len(es), err)
		}
		n += len(es)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/entry")
}

// BenchmarkRuns measures what `report` does per check: read a month of its
// runs (one every 5 minutes) with every attempt, page and step, as µs/run.
func BenchmarkRuns(b *testing.B) {
	const every, month = 5 * time.Minute, 30 * 24 * time.Hour
	s, _ := openTemp(b, WithoutOutbox())
	ctx := context.Background()
	kinds := []struct {
		name string
		mk   func(time.Time) probe.Run
	}{
		{"http", httpRun},
		{"browser", browserRun},
		{"journey", journeyRun},
	}
	for at := t0; at.Before(t0.Add(month)); at = at.Add(every) {
		for _, k := range kinds {
			if _, err := s.Save(ctx, k.mk(at)); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			q := probe.RunQuery{Check: k.mk(t0).Check, Since: t0, Until: t0.Add(month)}
			n := 0
			start := time.Now()
			for b.Loop() {
				runs, err := s.Runs(ctx, q)
				if err != nil || len(runs) != int(month/every) {
					b.Fatal(len(runs), err)
				}
				n += len(runs)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/run")
		})
	}
}
