package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/probe/shard"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// events records what happens to the store and the workers, in order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// recordedStore is the real SQLite store, its Close recorded.
type recordedStore struct {
	*sqlite.Store
	ev *events
}

func (s recordedStore) Close() error { s.ev.add("store closed"); return s.Store.Close() }

// recordingWorker records its stop and adds a series to /metrics.
type recordingWorker struct{ ev *events }

func (w recordingWorker) Run(ctx context.Context) { <-ctx.Done(); w.ev.add("worker stopped") }

var workerMetric = prometheus.NewDesc("test_worker_metric", "A worker's own series.", nil, nil)

func (w recordingWorker) Describe(ch chan<- *prometheus.Desc) { ch <- workerMetric }
func (w recordingWorker) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(workerMetric, prometheus.GaugeValue, 42)
}

// testStorage opens a real SQLite store, recording into ev.
func testStorage(ev *events) Storage {
	return func(ctx context.Context, path string, cfg *config.Config, stats func() schedule.Stats) (Store, []Worker, error) {
		st, err := sqlite.Open(ctx, path, sqlite.WithoutOutbox())
		if err != nil {
			return nil, nil, err
		}
		ev.add("store opened")
		return recordedStore{st, ev}, []Worker{recordingWorker{ev}}, nil
	}
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func shop(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("CF-Ray", "8c1f2a3b4c5d6e7f-FRA")
		w.Header().Set("Server", "cloudflare")
		io.WriteString(w, `<script src="https://cdn.shopify.com/s/files/1/theme.js"></script><script>Shopify.theme = {}</script>Add to cart`)
	}))
	t.Cleanup(s.Close)
	return s
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDaemonLifecycle: runs are tagged and stored, a broken reload keeps the
// running config, a good one applies (restart-only keys are logged), the
// endpoints answer with the workers' series, and shutdown stops the
// scheduler, then the workers, then closes the store.
func TestDaemonLifecycle(t *testing.T) {
	s := shop(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`defaults: {location: cfg-loc, probe: cfg-probe}
checks:
  - name: home
    url: %s/
    schedule: "* * * * * *"
    expect: {body: ["Add to cart"]}
`, s.URL))
	ev := &events{}
	var logs logBuffer
	var mu sync.Mutex
	var runs []probe.Run
	d, err := Start(context.Background(), Options{
		ConfigPath: cfgPath, StorePath: filepath.Join(dir, "s.db"), Listen: "127.0.0.1:0",
		Getenv:  func(k string) string { return map[string]string{"STOREPROBE_PROBE": "env-probe"}[k] },
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Storage: testStorage(ev), Version: "test",
		OnRun: func(r probe.Run) { mu.Lock(); runs = append(runs, r); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(runs)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no run within 10s")
		}
	}
	mu.Lock()
	r := runs[0]
	mu.Unlock()
	if !r.OK() || r.Location != "cfg-loc" || r.Probe != "env-probe" {
		t.Errorf("run ok=%v location %q probe %q: want ok, the config's location and the environment's probe", r.OK(), r.Location, r.Probe)
	}
	if r.Tags["cdn"] != "cloudflare" || r.Tags["platform"] != "shopify" {
		t.Errorf("run tags %v, want the detected cdn and platform", r.Tags)
	}

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"checks":1`) {
		t.Errorf("/healthz %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "storeprobe_checks 1") ||
		!strings.Contains(body, "test_worker_metric 42") || !strings.Contains(body, `storeprobe_check_up{check="home"} 1`) {
		t.Errorf("/metrics %d:\n%s", code, body)
	}

	writeConfig(t, cfgPath, "checks: [\n")
	if err := d.Reload(); err == nil {
		t.Fatal("a broken config was accepted")
	} else if _, ok := err.(*InputError); !ok {
		t.Errorf("reload error %T %v, want *InputError", err, err)
	}
	if d.Config().Checks[0].Name != "home" || d.Stats().Checks != 1 {
		t.Fatalf("the running config changed after a refused reload: %+v", d.Config().Checks)
	}
	writeConfig(t, cfgPath, fmt.Sprintf(`scheduler: {concurrency: 3}
checks:
  - name: home
    url: %[1]s/
    schedule: "@every 1h"
  - name: product
    url: %[1]s/p
    schedule: "@every 1h"
`, s.URL))
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if d.Stats().Checks != 2 || len(d.Config().Checks) != 2 {
		t.Errorf("after reload: %d checks scheduled, %d in the config; want 2", d.Stats().Checks, len(d.Config().Checks))
	}
	if !strings.Contains(logs.String(), "key=scheduler.concurrency") {
		t.Errorf("the restart-only change is not logged:\n%s", logs.String())
	}

	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if got, want := ev.list(), []string{"store opened", "worker stopped", "store closed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("shutdown order %v, want %v", got, want)
	}
	if _, err := http.Get("http://" + d.Addr() + "/healthz"); err == nil {
		t.Error("/healthz still answers after Shutdown")
	}
}

// TestStartRefusesBadInput: problems of the config or the flags are
// *InputError (the CLI's exit 2) and leave nothing open.
func TestStartRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeConfig(t, good, "checks:\n  - name: a\n    url: http://127.0.0.1:1/\n    schedule: \"@every 1h\"\n")
	bad := filepath.Join(dir, "bad.yaml")
	writeConfig(t, bad, "checks:\n  - name: a\n    url: http://127.0.0.1:1/\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"invalid config", Options{ConfigPath: bad}, "schedule is required"},
		{"missing config", Options{ConfigPath: filepath.Join(dir, "none.yaml")}, "read config"},
		{"listen address taken", Options{ConfigPath: good, Listen: busy.Addr().String()}, "--listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &events{}
			tc.o.StorePath, tc.o.Storage = filepath.Join(t.TempDir(), "s.db"), testStorage(ev)
			_, err := Start(context.Background(), tc.o)
			if _, ok := err.(*InputError); !ok || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start error %T %v, want *InputError with %q", err, err, tc.want)
			}
			if got := ev.list(); slices.Contains(got, "store opened") && !slices.Contains(got, "store closed") {
				t.Errorf("the store was left open: %v", got)
			}
		})
	}
}

// TestPrecedence: flag > environment > config > default, for the location,
// the probe name and the Chromium binary.
func TestPrecedence(t *testing.T) {
	cfg := func() *config.Config {
		return &config.Config{
			Defaults: config.Defaults{Location: "cfg-loc", Probe: "cfg-probe"},
			Browser:  config.Browser{Path: "/cfg/chromium"},
			Checks:   []probe.Check{{Name: "a", Location: "cfg-loc", Probe: "cfg-probe"}},
		}
	}
	for _, tc := range []struct {
		name                    string
		o                       Options
		env                     map[string]string
		configChrome            bool
		location, probe, chrome string
	}{
		{"config", Options{}, nil, true, "cfg-loc", "cfg-probe", "/cfg/chromium"},
		{"environment over config", Options{},
			map[string]string{"STOREPROBE_LOCATION": "env-loc", "STOREPROBE_PROBE": "env-probe", "STOREPROBE_CHROME": "/env/chromium"},
			false, "env-loc", "env-probe", "/env/chromium"},
		{"the config's browser.path over the environment", Options{}, map[string]string{"STOREPROBE_CHROME": "/env/chromium"}, true, "cfg-loc", "cfg-probe", "/cfg/chromium"},
		{"flags over everything", Options{Location: "flag-loc", Probe: "flag-probe", Chrome: "/flag/chromium"},
			map[string]string{"STOREPROBE_LOCATION": "env-loc", "STOREPROBE_PROBE": "env-probe", "STOREPROBE_CHROME": "/env/chromium"},
			true, "flag-loc", "flag-probe", "/flag/chromium"},
		{"default", Options{}, nil, false, "cfg-loc", "cfg-probe", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Getenv = func(k string) string { return tc.env[k] }
			d := &Daemon{o: o}
			c := cfg()
			if !tc.configChrome {
				c.Browser.Path = ""
			}
			d.override(c)
			if c.Defaults.Location != tc.location || c.Checks[0].Location != tc.location ||
				c.Defaults.Probe != tc.probe || c.Checks[0].Probe != tc.probe {
				t.Errorf("location %q/%q probe %q/%q, want %q %q", c.Defaults.Location, c.Checks[0].Location,
					c.Defaults.Probe, c.Checks[0].Probe, tc.location, tc.probe)
			}
			if got := d.browserOptions(c).Path; got != tc.chrome {
				t.Errorf("chromium %q, want %q (empty: the browser's default)", got, tc.chrome)
			}
		})
	}
}

func TestRestartOnly(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{Store: "a.db", Retention: time.Hour, Scheduler: config.Scheduler{Concurrency: 4, BrowserConcurrency: 2, GracePeriod: time.Second},
			Browser: config.Browser{Path: "/x"}, Checks: []probe.Check{{Name: "a"}}}
	}
	for _, tc := range []struct {
		name   string
		change func(*config.Config)
		want   []string
	}{
		{"checks and grace apply at once", func(c *config.Config) {
			c.Checks = append(c.Checks, probe.Check{Name: "b"})
			c.Scheduler.GracePeriod = time.Minute
		}, nil},
		{"store", func(c *config.Config) { c.Store = "b.db" }, []string{"store"}},
		{"retention", func(c *config.Config) { c.Retention = 0 }, []string{"retention"}},
		{"limits", func(c *config.Config) { c.Scheduler.Concurrency, c.Scheduler.BrowserConcurrency = 8, 1 },
			[]string{"scheduler.concurrency", "scheduler.browser_concurrency"}},
		{"browser", func(c *config.Config) { c.Browser.MaxPageMemory = 1 }, []string{"browser"}},
		{"influxdb", func(c *config.Config) { c.InfluxDB = &config.InfluxDB{URL: "http://x"} }, []string{"influxdb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base()
			tc.change(n)
			if got := restartOnly(base(), n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("restartOnly = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTagDetected(t *testing.T) {
	run := func(tags map[string]string, platform, cdn string) probe.Run {
		d := &probe.HTTPDetails{Platform: platform}
		if cdn != "" {
			d.CDN = &probe.CDNInfo{Provider: cdn, Cache: probe.CacheHit, POP: "FRA"}
		}
		return probe.Run{Tags: tags, Attempts: []probe.Result{{HTTPDetails: d}}}
	}
	for _, tc := range []struct {
		name string
		run  probe.Run
		want map[string]string
	}{
		{"detected fill empty tags", run(nil, "shopify", "fastly"), map[string]string{"platform": "shopify", "cdn": "fastly"}},
		{"configured tags win", run(map[string]string{"platform": "custom", "team": "web"}, "shopify", "fastly"),
			map[string]string{"platform": "custom", "team": "web", "cdn": "fastly"}},
		{"nothing detected", run(nil, "", ""), nil},
		{"browser run", probe.Run{Attempts: []probe.Result{{BrowserDetails: &probe.BrowserDetails{}}}}, nil},
		{"no attempt", probe.Run{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run
			tagDetected(&r)
			if !reflect.DeepEqual(r.Tags, tc.want) {
				t.Errorf("tags %v, want %v", r.Tags, tc.want)
			}
		})
	}
}

func TestDevices(t *testing.T) {
	w, lat, ua := 412, 300*time.Millisecond, "Tablet/1"
	got := devices(map[string]config.DeviceOverride{
		probe.DeviceMobile: {Latency: &lat},
		"tablet":           {Width: &w, UserAgent: &ua},
	})
	mobile := browser.Mobile()
	mobile.Latency = lat
	tablet := browser.Desktop()
	tablet.Name, tablet.Width, tablet.UserAgent = "tablet", 412, ua
	want := map[string]browser.Device{probe.DeviceMobile: mobile, "tablet": tablet}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("devices:\n got %+v\nwant %+v", got, want)
	}
	if devices(nil) != nil {
		t.Error("no overrides should leave the browser's defaults")
	}
}

// TestShardPrecedence: --shard over STOREPROBE_SHARD over the config's
// shard; the daemon keeps the checks its shard owns, and a bad value is
// bad input naming where it came from.
func TestShardPrecedence(t *testing.T) {
	var checks []probe.Check
	for i := range 40 {
		checks = append(checks, probe.Check{Name: fmt.Sprintf("check-%d", i)})
	}
	for _, tc := range []struct {
		name      string
		flag, env string
		config    shard.Shard
		want      string
		err       string
	}{
		{"none", "", "", shard.Shard{}, "", ""},
		{"config", "", "", shard.Shard{Index: 1, Count: 2}, "1/2", ""},
		{"env over config", "", "0/3", shard.Shard{Index: 1, Count: 2}, "0/3", ""},
		{"flag over env", "2/3", "0/3", shard.Shard{Index: 1, Count: 2}, "2/3", ""},
		{"bad env", "", "3/3", shard.Shard{}, "", "STOREPROBE_SHARD: shard \"3/3\""},
		{"bad flag", "x", "", shard.Shard{}, "", "--shard: shard \"x\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Daemon{o: Options{Shard: tc.flag, Getenv: func(k string) string {
				return map[string]string{"STOREPROBE_SHARD": tc.env}[k]
			}}}
			cfg := &config.Config{Shard: tc.config, Checks: slices.Clone(checks)}
			err := d.shard(cfg)
			if tc.err != "" {
				if _, ok := err.(*InputError); !ok || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want *InputError with %q", err, tc.err)
				}
				return
			}
			if err != nil || cfg.Shard.String() != tc.want {
				t.Fatalf("shard %q, %v; want %q", cfg.Shard, err, tc.want)
			}
			for _, c := range cfg.Checks {
				if !cfg.Shard.Owns(c.Name) {
					t.Errorf("kept %s, which shard %s does not own", c.Name, cfg.Shard)
				}
			}
			if tc.want == "" && len(cfg.Checks) != len(checks) {
				t.Errorf("unsharded kept %d of %d checks", len(cfg.Checks), len(checks))
			}
		})
	}
}

// failingStore refuses saves while fail is set, like a full disk.
type failingStore struct {
	recordedStore
	fail *atomic.Bool
}

func (s failingStore) Save(ctx context.Context, run probe.Run) (int64, error) {
	if s.fail.Load() {
		return 0, errors.New("database or disk is full")
	}
	return s.recordedStore.Save(ctx, run)
}

// TestReadyz: ready only while the scheduler runs, the store takes writes
// and, with browser checks, Chromium runs; every reason is said.
func TestReadyz(t *testing.T) {
	s := shop(t)
	readyz := func(d *Daemon) (int, string) {
		resp, err := http.Get("http://" + d.Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitReady := func(d *Daemon, code int, want string) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var c int
			if c, got = readyz(d); c == code && strings.Contains(got, want) {
				return got
			}
		}
		t.Fatalf("/readyz never %d with %q; last %s", code, want, got)
		return ""
	}
	start := func(cfg string, fail *atomic.Bool, chrome string) *Daemon {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.yaml")
		writeConfig(t, path, cfg)
		storage := func(ctx context.Context, p string, c *config.Config, _ func() schedule.Stats) (Store, []Worker, error) {
			st, err := sqlite.Open(ctx, p, sqlite.WithoutOutbox())
			if err != nil {
				return nil, nil, err
			}
			return failingStore{recordedStore{st, &events{}}, fail}, nil, nil
		}
		d, err := Start(context.Background(), Options{ConfigPath: path, StorePath: filepath.Join(dir, "s.db"), Listen: "127.0.0.1:0",
			Storage: storage, Chrome: chrome, HostResolverRules: "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	httpOnly := fmt.Sprintf("checks:\n  - {name: a, url: \"%s/\", schedule: \"* * * * * *\"}\n", s.URL)
	fail := &atomic.Bool{}
	d := start(httpOnly, fail, "")
	waitReady(d, 200, `"ready"`)
	fail.Store(true) // the disk fills up
	waitReady(d, 503, "the store refused the last run: database or disk is full")
	fail.Store(false) // space returns: the next run is saved
	waitReady(d, 200, `"ready"`)
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}

	withBrowser := httpOnly + fmt.Sprintf("  - {name: b, type: browser, url: \"%s/\", schedule: \"@every 1h\"}\n", s.URL)
	d = start(withBrowser, &atomic.Bool{}, filepath.Join(t.TempDir(), "no-chromium"))
	waitReady(d, 503, "chromium cannot start")
	d.Shutdown()

	chromium := browsertest.Chromium(t)
	d = start(withBrowser, &atomic.Bool{}, chromium)
	waitReady(d, 200, `"ready"`)
	d.Shutdown()
}
