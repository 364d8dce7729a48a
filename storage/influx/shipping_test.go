package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// TestHealthSamplesSurviveOutageAndRestart: probe_health samples taken
// while InfluxDB is down arrive once it is back (no gap), the outbox depth
// is read at sample time, and the rejected/dropped figures are the store's
// persistent totals, not counters of this process.
func TestHealthSamplesSurviveOutageAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts influxd")
	}
	srv := influxtest.Start(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A previous process dropped 6 runs by the cap; 2 stay queued.
	for _, r := range influxtest.SampleRuns(time.Now().UTC().Add(-time.Hour), 1) {
		if _, err := st.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.TrimOutbox(ctx, 2, 0); err != nil || n != 6 {
		t.Fatalf("TrimOutbox = %d, %v", n, err)
	}
	sh, err := NewShipper(ShipperOptions{URL: srv.URL, Bucket: srv.Bucket, FlushInterval: 40 * time.Millisecond, Outbox: st})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	var mu sync.Mutex
	var calls int64
	// No cap in reach: a slow restart of influxd on a busy machine must
	// not drop samples this test counts (the cap has its own test).
	shipping := NewShipping(sh, ShippingOptions{Location: "eu-test", Probe: "eu-test-1", MaxUnsent: 1 << 20,
		Counters: func() HealthCounters {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return HealthCounters{Runs: calls} // one run per sample
		}})
	hctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	// Sampling alone: nothing ships the queued runs, so the depth read
	// from the store stays 2.
	go func() { defer close(done); shipping.sampleHealth(hctx) }()

	time.Sleep(300 * time.Millisecond)
	srv.Stop()
	time.Sleep(800 * time.Millisecond) // ~20 samples while down
	srv.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		n := calls
		mu.Unlock()
		if got := countHealth(t, srv, `"runs"`); got >= n-1 && n > 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d probe_health points after the outage for %d samples", countHealth(t, srv, `"runs"`), n)
		}
	}
	stop()
	<-done
	// The samples' runs deltas add up: none was lost in the outage.
	q, err := srv.Query(ctx, `SELECT sum("runs"), count("runs"), max("dropped_points"), min("dropped_points"), max("outbox_depth") FROM "probe_health"`)
	if err != nil || len(q) == 0 {
		t.Fatal(q, err)
	}
	v := q[0].Values[0]
	if fmt.Sprint(v[1]) != fmt.Sprint(v[2]) {
		t.Errorf("sum(runs)=%v over %v samples: samples were lost", v[1], v[2])
	}
	if fmt.Sprint(v[3]) != "6" || fmt.Sprint(v[4]) != "6" {
		t.Errorf("dropped_points in [%v, %v], want the store's persistent 6", v[4], v[3])
	}
	if fmt.Sprint(v[5]) != "2" {
		t.Errorf("outbox_depth max %v, want 2 (read from the store; nothing shipped it)", v[5])
	}
}

func countHealth(t *testing.T, srv *influxtest.Server, field string) int64 {
	t.Helper()
	q, err := srv.Query(context.Background(), `SELECT count(`+field+`) FROM "probe_health"`)
	if err != nil || len(q) == 0 || len(q[0].Values) == 0 {
		return 0
	}
	n, _ := q[0].Values[0][1].(json.Number).Int64()
	return n
}

// TestUnsentHealthIsCapped: through an outage only the newest MaxUnsent
// samples are kept, oldest dropped first.
func TestUnsentHealthIsCapped(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	sh, err := NewShipper(ShipperOptions{URL: "http://127.0.0.1:1", Bucket: "db/rp", Outbox: st})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	shipping := NewShipping(sh, ShippingOptions{MaxUnsent: 3})
	var prev HealthCounters
	for i := int64(1); i <= 5; i++ {
		c := HealthCounters{Runs: i * i}
		shipping.sample(context.Background(), time.Unix(i, 0), c, prev)
		prev = c
	}
	var got []int64
	for _, h := range shipping.unsent {
		got = append(got, h.Runs)
	}
	// Runs per sample are the deltas 1, 3, 5, 7, 9: the last three stay.
	if fmt.Sprint(got) != "[5 7 9]" {
		t.Errorf("unsent samples' runs %v, want [5 7 9]", got)
	}
}
