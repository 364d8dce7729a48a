package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
)

// countIn counts points of measurement in db/rp.
func countIn(t testing.TB, srv *influxtest.Server, dbrp, measurement, field string) int64 {
	t.Helper()
	db, rp, _ := strings.Cut(dbrp, "/")
	series, err := srv.Query(context.Background(), fmt.Sprintf(`SELECT count(%q) FROM %q.%q.%q`, field, db, rp, measurement))
	if err != nil {
		t.Fatal(err)
	}
	if len(series) == 0 || len(series[0].Values) == 0 {
		return 0
	}
	n, _ := series[0].Values[0][1].(json.Number).Int64()
	return n
}

// TestAllRefusedBatchIsRejectedAtOnce: runs older than the retention
// policy are all refused; InfluxDB says so with dropped=N for the whole
// request. That costs one request per batch and one log line, not a
// bisection down to single points with a line each.
func TestAllRefusedBatchIsRejectedAtOnce(t *testing.T) {
	srv := influxtest.Start(t)
	if _, err := srv.Query(context.Background(), `CREATE DATABASE "shortrp" WITH DURATION 1h NAME "short"`); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, "")
	runs := influxtest.SampleRuns(time.Now().UTC().Add(-3*time.Hour), 10) // 80 runs, beyond 1h
	saveAll(t, st, runs)
	points := int64(len(pointsOf(runs)))

	var logs strings.Builder
	sh, err := NewShipper(ShipperOptions{URL: srv.URL, Bucket: "shortrp/short", BatchSize: 100000,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	res, err := sh.Export(context.Background(), st, probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != int64(len(runs)) || res.ShippedRuns != res.Runs || res.RejectedPoints != points || res.Points != 0 {
		t.Errorf("export %+v, want %d runs resolved with all %d points rejected", res, len(runs), points)
	}
	if w := sh.Stats().Writes; w != 1 {
		t.Errorf("%d write requests for one all-refused batch, want 1", w)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), fmt.Sprintf("points=%d", points)) ||
		!strings.Contains(logs.String(), "retention policy") {
		t.Errorf("want one summarised ERROR line with the count and reason, got %d:\n%s", n, logs.String())
	}

	// Through the outbox: parked once each, one line, one request; the
	// in-memory count is what the store newly parked.
	logs.Reset()
	sh2, err := NewShipper(ShipperOptions{URL: srv.URL, Bucket: "shortrp/short", BatchSize: 100000, Outbox: st,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sh2.Close()
	if n, err := sh2.Flush(context.Background()); err != nil || n != len(runs) {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	s := sh2.Stats()
	if s.Writes != 1 || s.RejectedPoints != points || s.RejectedPointsTotal != points {
		t.Errorf("stats %+v: want 1 write and %d rejected points", s, points)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", n, logs.String())
	}
}

// TestCapHoldsWhileBackingOff: runs keep arriving while InfluxDB is away;
// the outbox must stay within its cap during the backoff, not only when
// the next pass starts. Wake ends the backoff once InfluxDB is back.
func TestCapHoldsWhileBackingOff(t *testing.T) {
	srv := influxtest.New(t) // down
	st := openStore(t, "")
	sh, err := NewShipper(ShipperOptions{URL: srv.URL, Bucket: srv.Bucket, Outbox: st, MaxOutboxRows: 5,
		FlushInterval: 50 * time.Millisecond, MinBackoff: 20 * time.Second, MaxBackoff: 20 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	first := influxtest.SampleRuns(time.Now().UTC().Add(-2*time.Hour), 1) // 8 runs: the first pass fails
	saveAll(t, st, first)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 10*time.Second, func() bool { return sh.Stats().Retries >= 1 }) // now backing off ≥ 10s
	backoffStart := time.Now()
	runs := influxtest.SampleRuns(time.Now().UTC().Add(-time.Hour), 3) // 24 runs
	saveAll(t, st, runs)
	waitFor(t, 5*time.Second, func() bool { return depth(t, st) <= 5 })
	if time.Since(backoffStart) > 9*time.Second {
		t.Fatal("the cap was applied only when the backoff ended")
	}
	srv.Start()
	srv.CreateDB(srv.DB)
	sh.Wake()
	waitFor(t, 8*time.Second, func() bool { return depth(t, st) == 0 })
	if got := countIn(t, srv, srv.Bucket, MeasurementCheckResult, "ok"); got != 5 {
		t.Errorf("%d runs shipped after the outage, want the 5 the cap kept", got)
	}
	if s := sh.Stats(); s.DroppedRuns != int64(len(first)+len(runs)-5) {
		t.Errorf("dropped %d runs, want %d", s.DroppedRuns, len(first)+len(runs)-5)
	}
}
