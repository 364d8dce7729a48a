package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/daemon"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
	"github.com/storeprobe/storeprobe/scenarios"
	"github.com/storeprobe/storeprobe/scenarios/demoshop"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// TestRunBrowserChecks runs browser and journey checks through the daemon
// against the demo shop in real Chromium: every page of the journey is
// stored with its own vitals, a failing page keeps its artifacts, and the
// report judges per-page vitals.
func TestRunBrowserChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("real Chromium")
	}
	chromium := browsertest.Chromium(t)
	shop := demoshop.New(demoshop.Options{SearchDelay: 300 * time.Millisecond})
	base, stop, err := shop.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "checkout.yaml"), string(scenarios.DemoJourneyYAML()))
	cfg := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfg, fmt.Sprintf(`defaults: {location: test, probe: test-1}
scheduler: {browser_concurrency: 2}
checks:
  - name: home-page
    type: browser
    url: %[1]s/
    schedule: "@every 15s"
    timeout: 30s
    slo: {load_time: 5s, cwv_good: 90}
  - name: missing-page
    type: browser
    url: %[1]s/no-such-page
    schedule: "@every 15s"
    timeout: 30s
  - name: checkout
    type: journey
    journey: checkout.yaml
    params: {base_url: "%[1]s"}
    schedule: "@every 15s"
    timeout: 90s
`, base))
	store := filepath.Join(dir, "s.db")
	a, _, _ := testApp()
	var mu sync.Mutex
	done := map[string]bool{}
	all := make(chan struct{})
	d, err := startDaemon(context.Background(), a, daemon.Options{ConfigPath: cfg, StorePath: store, Logger: discardLogger(), Chrome: chromium,
		HostResolverRules: "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		OnRun: func(r probe.Run) {
			mu.Lock()
			defer mu.Unlock()
			// Once: later runs of the same three checks must not close
			// it again.
			if !done[r.Check] {
				done[r.Check] = true
				if len(done) == 3 {
					close(all)
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// @every 15s with jitter: each check fires within 15 s.
	select {
	case <-all:
	case <-time.After(3 * time.Minute):
		t.Fatalf("runs after 3 min: %v", done)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}

	s, err := sqlite.Open(context.Background(), store, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func(name string) probe.Result {
		runs, err := s.Runs(context.Background(), probe.RunQuery{Check: name})
		if err != nil || len(runs) == 0 {
			t.Fatalf("runs of %s: %d, %v", name, len(runs), err)
		}
		return runs[0].Final()
	}
	home := get("home-page")
	if !home.OK || home.BrowserDetails == nil || home.PageMetrics == nil || home.Vitals.LCP == nil || *home.Vitals.LCP <= 0 {
		t.Fatalf("home-page: ok=%v failure=%v details=%+v", home.OK, home.Failure, home.BrowserDetails)
	}
	missing := get("missing-page")
	if missing.OK || missing.Failure == nil || missing.Failure.Kind != probe.FailureStatus {
		t.Errorf("missing-page: ok=%v failure=%v, want status", missing.OK, missing.Failure)
	}
	if missing.BrowserDetails == nil || len(missing.Artifacts) == 0 {
		t.Errorf("missing-page kept no artifacts")
	}
	for _, p := range missing.BrowserDetails.Artifacts {
		if _, err := os.Stat(filepath.Join(s.ArtifactDir(), p)); err != nil {
			t.Errorf("artifact %s: %v", p, err)
		}
	}
	j := get("checkout")
	if !j.OK {
		t.Fatalf("checkout journey failed: %v (steps %+v)", j.Failure, j.Steps)
	}
	pages := map[string]probe.PageResult{}
	for _, p := range j.Pages {
		pages[p.Name] = p
	}
	for _, name := range []string{"home", "search", "product", "cart", "checkout"} {
		p, ok := pages[name]
		if !ok {
			t.Errorf("journey page %q not stored (pages %v)", name, j.Pages)
			continue
		}
		if p.Vitals.TTFB == nil || p.Vitals.FCP == nil || p.LoadMS <= 0 {
			t.Errorf("page %s: vitals %+v load %v", name, p.Vitals, p.LoadMS)
		}
	}
	// The slow search page's TTFB carries its 300 ms server delay.
	if p := pages["search"]; p.Vitals.TTFB != nil && *p.Vitals.TTFB < 290 {
		t.Errorf("search TTFB %.0f ms, want >= 300 (server delay)", *p.Vitals.TTFB)
	}

	a2, out, errb := testApp()
	code := run(context.Background(), a2, []string{"report", "--store", store, "--check", "home-page"})
	if code != exitOK {
		t.Errorf("report exit %d\n%s%s", code, out, errb)
	}
}
