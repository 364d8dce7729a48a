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
