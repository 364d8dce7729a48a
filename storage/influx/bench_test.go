package influx

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
)

// BenchmarkShip measures shipping throughput to a real influxd: each
// iteration stores 100 minutes of the sample fleet (800 runs, ~6000 points)
// with the timer stopped, then times one Flush. Reports points/s and runs/s.
func BenchmarkShip(b *testing.B) {
	srv := influxtest.Start(b)
	st := openStore(b, "")
	sh := newShipper(b, srv, st, 5000)
	ctx := context.Background()
	end := time.Now().UTC()
	var points, runs int
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := influxtest.SampleRuns(end.Add(-time.Duration(i)*100*time.Minute), 100)
		saveAll(b, st, batch)
		for _, r := range batch {
			points += len(Points(r))
		}
		runs += len(batch)
		b.StartTimer()
		t0 := time.Now()
		n, err := sh.Flush(ctx)
		elapsed += time.Since(t0)
		if err != nil || n != len(batch) {
			b.Fatalf("Flush = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(points)/elapsed.Seconds(), "points/s")
	b.ReportMetric(float64(runs)/elapsed.Seconds(), "runs/s")
}

// BenchmarkOutboxPerRun measures what the outbox costs per stored run on a
// real SQLite file: reading it back with Pending, rendering its points and
// acking it. Saving (run + outbox row in one transaction) is reported as
// save-ns/run for scale.
func BenchmarkOutboxPerRun(b *testing.B) {
	st := openStore(b, "")
	ctx := context.Background()
	sample := influxtest.SampleRuns(time.Now().UTC(), 50) // 400 runs of every type
	var save time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		r := sample[i%len(sample)]
		r.ScheduledAt = r.ScheduledAt.Add(time.Duration(i/len(sample)) * time.Hour)
		t0 := time.Now()
		if _, err := st.Save(ctx, r); err != nil {
			b.Fatal(err)
		}
		save += time.Since(t0)
	}
	b.StartTimer()
	done := 0
	for done < b.N {
		entries, err := st.Pending(ctx, 500)
		if err != nil || len(entries) == 0 {
			b.Fatalf("Pending: %d, %v", len(entries), err)
		}
		seqs := make([]int64, len(entries))
		for i, e := range entries {
			for _, p := range Points(e.Run) {
				_ = p.Line()
			}
			seqs[i] = e.Seq
		}
		if err := st.Ack(ctx, seqs...); err != nil {
			b.Fatal(err)
		}
		done += len(entries)
	}
	b.StopTimer()
	b.ReportMetric(float64(save.Nanoseconds())/float64(b.N), "save-ns/run")
}

// BenchmarkWrite isolates the InfluxDB side: pre-rendered batches of
// BatchSize points of the sample fleet written through the blocking API,
// without the outbox. Reports points/s.
func BenchmarkWrite(b *testing.B) {
	for _, size := range []int{500, 5000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			srv := influxtest.Start(b)
			sh := newShipper(b, srv, openStore(b, ""), size)
			var lines []string
			for _, r := range influxtest.SampleRuns(time.Now().UTC(), 1000) {
				for _, p := range Points(r) {
					lines = append(lines, p.Line())
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := (i * size) % (len(lines) - size)
				if err := sh.writeLines(ctx, lines[off:off+size]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
