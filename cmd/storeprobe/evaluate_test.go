package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/notify/notifytest"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
)

func TestEvaluateUsage(t *testing.T) {
	dir := t.TempDir()
	noInflux := filepath.Join(dir, "probe.yaml")
	writeFile(t, noInflux, "checks:\n  - name: home\n    url: https://shop.test/\n    schedule: \"@every 1m\"\n")
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "influxdb: {url: http://127.0.0.1:1, bucket: x/y}\nchecks:\n  - name: home\n    schedule: \"nope\"\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"evaluate"}, "--config FILE is required"},
		{[]string{"evaluate", "--config", noInflux, "--bogus"}, "unknown flag"},
		{[]string{"evaluate", "--config", noInflux, "extra"}, `unexpected argument "extra"`},
		{[]string{"evaluate", "--config", noInflux, "--interval", "0s"}, "--interval must be positive"},
		{[]string{"evaluate", "--config", noInflux}, "has no influxdb section"},
		{[]string{"evaluate", "--config", bad}, "bad.yaml:"},
		{[]string{"evaluate", "--config", noInflux, "--log-format", "xml"}, "--log-format"},
	} {
		a, _, stderr := testApp()
		if code := run(context.Background(), a, tc.args); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, defaultEvaluatorStore)); err == nil {
		t.Error("a refused command created a store")
	}
}

// TestEvaluateBinary runs `storeprobe evaluate` as a process against a real
// influxd that three locations wrote to: an outage two of them see is
// notified once to a signed webhook, /healthz and /metrics answer, SIGTERM
// stops it with exit 0, and `report` reads the fleet from its store.
func TestEvaluateBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts influxd")
	}
	srv := influxtest.Start(t)
	bin := storeprobeBinary(t)
	hook := notifytest.NewWebhook(t, "s3cret")

	// The last ten minutes of three locations; eu and us fail for the
	// last four.
	now := time.Now().UTC().Truncate(time.Minute)
	var runs []probe.Run
	for m := -10; m <= 0; m++ {
		at := now.Add(time.Duration(m) * time.Minute)
		for _, loc := range []string{"eu", "us", "ap"} {
			ok := m < -3 || loc == "ap"
			res := probe.Result{Check: "checkout", Type: probe.TypeHTTP, OK: ok, Attempt: 1, StartedAt: at, DurationMS: 90,
				HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Timings: probe.Timings{Total: 90}}}
			if !ok {
				res.StatusCode, res.Failure = 503, probe.Fail(probe.FailureStatus, "", "status 503 not in 200-399")
			}
			runs = append(runs, probe.Run{Check: "checkout", Type: probe.TypeHTTP, Location: loc, Probe: loc + "-1",
				ScheduledAt: at, StartedAt: at, Attempts: []probe.Result{res}})
		}
	}
	sh, err := influx.NewShipper(influx.ShipperOptions{URL: srv.URL, Bucket: srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if _, err := sh.ShipRuns(context.Background(), runs); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	writeFile(t, cfg, fmt.Sprintf(`influxdb: {url: %s, bucket: %s}
notifiers:
  - {name: hook, type: webhook, url: "%s/hook", secret_env: HOOK_SECRET}
alerting:
  notify: [hook]
  quorum: 2
  silent_after: 10m
checks:
  - name: checkout
    url: https://shop.test/checkout
    schedule: "@every 1m"
`, srv.URL, srv.Bucket, hook.URL))
	store := filepath.Join(dir, "fleet.db")
	port := freePort(t)
	cmd := exec.Command(bin, "evaluate", "--config", cfg, "--store", store, "--interval", "300ms", "--listen", port, "--log-format", "json")
	cmd.Env = append(os.Environ(), "HOOK_SECRET=s3cret")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	running := make(chan struct{})
	var logs strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if strings.Contains(sc.Text(), `"msg":"storeprobe evaluating"`) {
				close(running)
			}
		}
	}()
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		logMu.Lock()
		t.Fatalf("not evaluating within 30s:\n%s", logs.String())
	}
	hook.WaitFor(t, "a notification", 15*time.Second, func(ns []alert.Notification) bool { return len(ns) > 0 })
	health := httpGet(t, "http://"+port+"/healthz")
	if !strings.Contains(health, `"status":"ok"`) || !strings.Contains(health, `"checks":1`) {
		t.Errorf("/healthz: %s", health)
	}
	if m := httpGet(t, "http://"+port+"/metrics"); !strings.Contains(m, `storeprobe_alerts_active{rule="down"} 1`) ||
		!strings.Contains(m, "storeprobe_evaluator_runs_total 33") {
		t.Errorf("/metrics:\n%s", m)
	}
	time.Sleep(time.Second) // a few more passes: nothing new to tell
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			logMu.Lock()
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	if got := hook.Notifications(); len(got) != 1 || got[0].Status != alert.Firing || got[0].Alert != alert.RuleDown ||
		got[0].Location != "eu,us" || got[0].Message != "status 503 not in 200-399" || hook.Bad() != 0 {
		t.Errorf("webhook got %+v (%d bad), want one signed firing down at eu,us", got, hook.Bad())
	}
	logMu.Lock()
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("the webhook secret was logged")
	}
	logMu.Unlock()

	// The fleet's runs, judged by `report` from the evaluator's store.
	a, out, _ := testApp()
	if code := run(context.Background(), a, []string{"report", "--store", store, "--since", "1h", "--output", "json"}); code != exitFailed {
		t.Fatalf("report over the evaluator's store: exit %d, want 1 (uptime breached)\n%s", code, out)
	}
	var rep struct {
		Checks []struct {
			Check        string `json:"check"`
			Availability struct {
				Runs int `json:"runs"`
				Up   int `json:"up"`
			} `json:"availability"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	if len(rep.Checks) != 1 || rep.Checks[0].Availability.Runs != 33 || rep.Checks[0].Availability.Up != 25 {
		t.Errorf("report %+v, want checkout with 33 runs of which 25 up", rep.Checks)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
