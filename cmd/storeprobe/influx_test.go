package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/daemon"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// TestRunShipsToInfluxAndExportBackfills is the trend-view path end to
// end: `run` with an influxdb section ships every stored run to a real
// influxd; `export --since` backfills a second, empty database with the
// same runs, exactly once.
func TestRunShipsToInfluxAndExportBackfills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts influxd")
	}
	srv := influxtest.Start(t)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer shop.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfg, fmt.Sprintf(`defaults: {location: eu-test, probe: eu-test-1}
influxdb:
  url: %s
  bucket: %s
  token_env: TEST_INFLUX_TOKEN
  batch_size: 100
  flush_interval: 200ms
checks:
  - name: home
    type: http
    url: %s/
    schedule: "* * * * * *"
    tags: {platform: shopify, cdn: cloudflare}
`, srv.URL, srv.Bucket, shop.URL))
	store := filepath.Join(dir, "s.db")
	a, _, _ := testApp()
	a.getenv = func(k string) string {
		if k == "TEST_INFLUX_TOKEN" {
			return "user:pass" // influxd 1.8 without auth ignores it; it must never be logged
		}
		return ""
	}
	var mu sync.Mutex
	runs := 0
	d, err := startDaemon(context.Background(), a, daemon.Options{ConfigPath: cfg, StorePath: store, Logger: discardLogger(),
		OnRun: func(probe.Run) { mu.Lock(); runs++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := runs
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs in 15s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	want := int64(runs)
	mu.Unlock()
	ctx := context.Background()
	got, err := srv.Count(ctx, "check_result", "ok", `"check" = 'home' AND "location" = 'eu-test' AND "platform" = 'shopify'`)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("check_result points for home = %d, want one per stored run (%d)", got, want)
	}
	if n, err := srv.Count(ctx, "http_check", "total_ms", ""); err != nil || n != want {
		t.Fatalf("http_check points = %d (%v), want %d", n, err, want)
	}

	// Backfill a fresh database with export, twice: still one point per run.
	srv.CreateDB("backfill")
	for i := 0; i < 2; i++ {
		a2, out, errb := testApp()
		code := run(ctx, a2, []string{"export", "--store", store, "--since", "1h",
			"--influx-url", srv.URL, "--bucket", "backfill/autogen"})
		if code != exitOK {
			t.Fatalf("export exit %d\n%s%s", code, out, errb)
		}
	}
	q, err := srv.Query(ctx, `SELECT count("ok") FROM "backfill"."autogen"."check_result"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || len(q[0].Values) != 1 || fmt.Sprint(q[0].Values[0][1]) != fmt.Sprint(want) {
		t.Fatalf("backfilled check_result count = %v, want %d", q, want)
	}
}

// TestExportWhileDaemonShips: a backfill into a new database while a
// daemon keeps probing and shipping from the same store to its own
// database. Both databases must end up with every run: the export reads the
// store itself and never takes runs from, or leaves runs in, the outbox.
func TestExportWhileDaemonShips(t *testing.T) {
	if testing.Short() {
		t.Skip("starts influxd")
	}
	srv := influxtest.Start(t)
	srv.CreateDB("fresh")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	old := influxtest.SampleRuns(now.Add(-2*time.Hour), 40) // 320 runs waiting in the outbox
	for _, r := range old {
		if _, err := st.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	daemon, err := influx.NewShipper(influx.ShipperOptions{URL: srv.URL, Bucket: srv.Bucket, BatchSize: 20,
		FlushInterval: 10 * time.Millisecond, Outbox: st, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); daemon.Run(dctx) }()
	// The daemon keeps saving new runs (older than now, so inside the window).
	newer := influxtest.SampleRuns(now.Add(-time.Hour), 20)
	saved := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(saved)
		for _, r := range newer {
			if _, err := st.Save(ctx, r); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	a, out, errb := testApp()
	code := run(ctx, a, []string{"export", "--store", path, "--since", "3h", "--batch-size", "10",
		"--influx-url", srv.URL, "--bucket", "fresh/autogen"})
	if code != exitOK {
		t.Fatalf("export exit %d\n%s%s", code, out, errb)
	}
	<-saved
	// Everything saved before the export started must be in the new
	// database, whatever the daemon shipped meanwhile.
	if got := countDB(t, srv, "fresh", "check_result"); got < int64(len(old)) {
		t.Fatalf("export database has %d runs, want at least the %d stored before it started\n%s", got, len(old), out)
	}
	// The daemon's database gets every run, none stolen by the export.
	all := int64(len(old) + len(newer))
	deadline := time.Now().Add(30 * time.Second)
	for countDB(t, srv, srv.DB, "check_result") != all {
		if time.Now().After(deadline) {
			t.Fatalf("daemon database has %d runs, want %d", countDB(t, srv, srv.DB, "check_result"), all)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	// And a second export of the same window gets every run, exactly once.
	a2, out2, errb2 := testApp()
	if code := run(ctx, a2, []string{"export", "--store", path, "--since", "3h",
		"--influx-url", srv.URL, "--bucket", "fresh/autogen"}); code != exitOK {
		t.Fatalf("second export exit %d\n%s%s", code, out2, errb2)
	}
	if got := countDB(t, srv, "fresh", "check_result"); got != all {
		t.Errorf("export database has %d runs, want %d", got, all)
	}
	if !strings.Contains(out2.String(), fmt.Sprintf("%d runs shipped", all)) {
		t.Errorf("export output does not say %d runs shipped:\n%s", all, out2)
	}
	if os, err := st.OutboxStats(ctx); err != nil || os.Depth != 0 {
		t.Errorf("outbox after export: %+v, %v; export must leave nothing in it", os, err)
	}
}

func countDB(t *testing.T, srv *influxtest.Server, db, measurement string) int64 {
	t.Helper()
	q, err := srv.Query(context.Background(), fmt.Sprintf(`SELECT count("ok") FROM %q."autogen".%q`, db, measurement))
	if err != nil {
		t.Fatal(err)
	}
	if len(q) == 0 || len(q[0].Values) == 0 {
		return 0
	}
	n, err := q[0].Values[0][1].(json.Number).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
