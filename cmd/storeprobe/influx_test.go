package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
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
	d, err := startDaemon(context.Background(), a, daemonOptions{configPath: cfg, storePath: store, log: discardLogger(),
		onRun: func(probe.Run) { mu.Lock(); runs++; mu.Unlock() }})
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
	if err := d.shutdown(); err != nil {
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
