package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/storeprobe/storeprobe/probe/daemon"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// buildBinary builds the storeprobe binary once per test run.
var buildOnce = struct {
	sync.Once
	path string
	err  error
}{}

func storeprobeBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "storeprobe-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "storeprobe")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testApp runs commands in-process with captured output.
func testApp() (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &app{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, version: "test"}, &out, &errb
}

// TestRunScheduleStoreReport runs the daemon in-process: checks are
// scheduled, run against real servers, stored in a real SQLite file, and
// the report's verdicts follow from what was stored.
func TestRunScheduleStoreReport(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-Ray", "8c1f2a3b4c5d6e7f-FRA")
		w.Header().Set("X-ShopId", "12345")
		io.WriteString(w, `<script src="https://cdn.shopify.com/s/files/1/theme.js"></script><script>Shopify.theme = {}</script><h1>Shop</h1> Add to cart`)
	}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer broken.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfg, fmt.Sprintf(`defaults:
  location: test-loc
  probe: test-probe
  slo: {uptime: 99.9, load_time: 3s}
checks:
  - name: shop
    type: http
    url: %s/
    schedule: "* * * * * *"
    expect: {body: ["Add to cart"]}
  - name: api
    type: http
    url: %s/api
    schedule: "* * * * * *"
`, ok.URL, broken.URL))
	store := filepath.Join(dir, "runs.db")
	a, _, _ := testApp()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	d, err := startDaemon(ctx, a, daemon.Options{ConfigPath: cfg, StorePath: store, Logger: discardLogger(),
		OnRun: func(r probe.Run) { mu.Lock(); seen[r.Check]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n1, n2 := seen["shop"], seen["api"]
		mu.Unlock()
		if n1 >= 2 && n2 >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs after 10s: shop %d, api %d", n1, n2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}

	s, err := sqlite.Open(context.Background(), store, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(context.Background(), probe.RunQuery{})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	byCheck := map[string][]probe.Run{}
	for _, r := range runs {
		byCheck[r.Check] = append(byCheck[r.Check], r)
	}
	for _, r := range byCheck["shop"] {
		if !r.OK() || r.Location != "test-loc" || r.Probe != "test-probe" || r.ScheduledAt.IsZero() {
			t.Errorf("shop run: ok=%v location=%q probe=%q scheduled=%v", r.OK(), r.Location, r.Probe, r.ScheduledAt)
		}
		if r.Tags["cdn"] != "cloudflare" || r.Tags["platform"] != "shopify" {
			t.Errorf("shop run tags %v, want the detected cdn=cloudflare platform=shopify", r.Tags)
		}
		if r.ScheduledAt.Nanosecond() != 0 && r.ScheduledAt.Sub(r.ScheduledAt.Truncate(time.Second)) > time.Second {
			t.Errorf("scheduled time %v is not on the schedule (+jitter within the period)", r.ScheduledAt)
		}
	}
	for _, r := range byCheck["api"] {
		f := r.Final()
		if r.OK() || f.Failure == nil || f.Failure.Kind != probe.FailureStatus || f.StatusCode != 503 {
			t.Errorf("api run: ok=%v failure=%v status=%d", r.OK(), f.Failure, f.StatusCode)
		}
	}

	// The report gates: api breaches uptime, so exit 1; shop alone passes.
	a2, out, _ := testApp()
	if code := run(context.Background(), a2, []string{"report", "--store", store, "--since", "1h", "--output", "json"}); code != exitFailed {
		t.Errorf("report exit %d, want 1 (api is down); output:\n%s", code, out)
	}
	a3, out3, errb3 := testApp()
	if code := run(context.Background(), a3, []string{"report", "--store", store, "--check", "shop"}); code != exitOK {
		t.Errorf("report --check shop exit %d, want 0\n%s%s", code, out3, errb3)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRunBinarySignals drives the real binary: bad flags exit 2, SIGHUP
// with a broken config keeps the running one, SIGHUP with a good config
// applies it, and SIGTERM lets the in-flight run finish and exits 0.
func TestRunBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := storeprobeBinary(t)
	var slowStarted sync.Once
	started := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowStarted.Do(func() { close(started) })
		time.Sleep(1500 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	defer slow.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "storeprobe.yaml")
	good := fmt.Sprintf(`checks:
  - name: slow
    type: http
    url: %s/
    schedule: "@every 2s"
`, slow.URL)
	writeFile(t, cfg, good)
	store := filepath.Join(dir, "s.db")

	// Usage errors exit 2 without touching the store.
	if out, err := exec.Command(bin, "run", "--config", cfg, "--bogus").CombinedOutput(); exitStatus(err) != 2 {
		t.Fatalf("bad flag: exit %d, want 2\n%s", exitStatus(err), out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "checks:\n  - name: x\n    type: http\n    url: http://127.0.0.1:1/\n    schedule: \"not a spec\"\n")
	if out, err := exec.Command(bin, "run", "--config", bad, "--store", store).CombinedOutput(); exitStatus(err) != 2 ||
		!strings.Contains(string(out), "bad.yaml:5") {
		t.Fatalf("bad config: exit %d, want 2 with bad.yaml:5\n%s", exitStatus(err), out)
	}

	port := freePort(t)
	cmd := exec.Command(bin, "run", "--config", cfg, "--store", store, "--listen", port, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := make(chan map[string]any, 100)
	var allMu sync.Mutex
	var all []string // every line, shown when the test fails
	t.Cleanup(func() {
		if t.Failed() {
			allMu.Lock()
			defer allMu.Unlock()
			t.Logf("the daemon's log:\n%s", strings.Join(all, "\n"))
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			allMu.Lock()
			all = append(all, sc.Text())
			allMu.Unlock()
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				logs <- m
			}
		}
		close(logs)
	}()
	waitLog := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case m, ok := <-logs:
				if !ok {
					t.Fatalf("process ended before log %q", msg)
				}
				if m["msg"] == msg {
					return m
				}
			case <-timeout:
				t.Fatalf("no log %q within 15s", msg)
			}
		}
	}
	// A SIGHUP while it is still starting (loading the config, opening the
	// store) must not kill it: it is sent once the process says it is
	// starting, which it logs right after it catches SIGHUP, not after a
	// guessed delay a busy machine may not honour.
	waitLog("starting")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("storeprobe running")
	resp, err := http.Get("http://" + port + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	checkMetrics(t, "http://"+port+"/metrics")

	// A broken config on SIGHUP is refused, the old one keeps running.
	writeFile(t, cfg, "checks:\n  - name: [oops\n")
	cmd.Process.Signal(syscall.SIGHUP)
	m := waitLog("reload refused; keeping the running config")
	if !strings.Contains(fmt.Sprint(m["err"]), "storeprobe.yaml:") {
		t.Errorf("reload error should name FILE:LINE, got %v", m["err"])
	}
	// A good one is applied; what needs a restart is said so.
	writeFile(t, cfg, "scheduler: {concurrency: 5}\n"+good+fmt.Sprintf("  - name: second\n    type: http\n    url: %s/\n    schedule: \"@every 5s\"\n", slow.URL))
	cmd.Process.Signal(syscall.SIGHUP)
	if m := waitLog("config reload: this setting takes effect after a restart"); m["key"] != "scheduler.concurrency" {
		t.Errorf("restart-only key = %v, want scheduler.concurrency", m["key"])
	}
	if m := waitLog("config reloaded"); m["checks"] != float64(2) {
		t.Errorf("reloaded checks = %v, want 2", m["checks"])
	}

	// SIGTERM while a run is in flight: it finishes and is stored.
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("slow check never started")
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	s, err := sqlite.Open(context.Background(), store, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Either check may be the one in flight: both ask the slow server.
	runs, err := s.Runs(context.Background(), probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 || !runs[len(runs)-1].OK() {
		t.Fatalf("the in-flight run was not finished and stored: %d runs", len(runs))
	}
	if d := runs[len(runs)-1].Final().DurationMS; d < 1400 {
		t.Errorf("stored run took %.0f ms, want the full ~1500", d)
	}
}

func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// checkMetrics fetches /metrics and checks it is well-formed Prometheus
// text with the documented series.
func checkMetrics(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Prometheus's own text parser: what a real scrape accepts.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v", err)
	}
	for _, tc := range []struct {
		name string
		typ  dto.MetricType
	}{
		{"storeprobe_checks", dto.MetricType_GAUGE},
		{"storeprobe_runs_total", dto.MetricType_COUNTER},
		{"storeprobe_runs_skipped_total", dto.MetricType_COUNTER},
		{"storeprobe_schedule_lag_seconds", dto.MetricType_HISTOGRAM},
		{"storeprobe_run_duration_seconds", dto.MetricType_HISTOGRAM},
		{"storeprobe_check_runs_total", dto.MetricType_COUNTER},
		{"storeprobe_outbox_depth", dto.MetricType_GAUGE},
		{"storeprobe_influx_rejected_points_total", dto.MetricType_COUNTER},
		{"storeprobe_browser_rss_bytes", dto.MetricType_GAUGE},
		{"storeprobe_browser_contexts", dto.MetricType_GAUGE},
		{"storeprobe_alerts_active", dto.MetricType_GAUGE},
		{"go_goroutines", dto.MetricType_GAUGE},
		{"process_resident_memory_bytes", dto.MetricType_GAUGE},
	} {
		f, ok := families[tc.name]
		if !ok {
			t.Errorf("/metrics lacks %s", tc.name)
			continue
		}
		if f.GetType() != tc.typ {
			t.Errorf("%s is a %s, want %s", tc.name, f.GetType(), tc.typ)
		}
	}
	// Label values stay bounded: names from the config and closed sets,
	// never a URL.
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "://") {
					t.Errorf("%s has a URL in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
