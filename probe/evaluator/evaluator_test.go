package evaluator_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/daemon"
	"github.com/storeprobe/storeprobe/probe/evaluator"
	"github.com/storeprobe/storeprobe/probe/notify/notifytest"
	"github.com/storeprobe/storeprobe/probe/prober"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// clock is the evaluator's injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// fleet is three probes writing to a real influxd through the real shipper,
// on a timeline the test controls, and the evaluator reading them.
type fleet struct {
	t       *testing.T
	srv     *influxtest.Server
	shipper *influx.Shipper
	cfg     *config.Config
	clock   *clock
	hook    *notifytest.Webhook
	store   string
	base    time.Time
}

var locations = []string{"ap", "eu", "us"}

func newFleet(t *testing.T) *fleet {
	srv := influxtest.Start(t)
	h := notifytest.NewWebhook(t, "hook-s3cret")
	dir := t.TempDir()
	path := filepath.Join(dir, "storeprobe.yaml")
	body := fmt.Sprintf(`influxdb: {url: %q, bucket: %q}
notifiers:
  - {name: hook, type: webhook, url: "%s/hook", secret_env: HOOK_SECRET}
alerting:
  notify: [hook]
  quorum: 2
  silent_after: 5m
checks:
  - name: checkout
    url: https://shop.test/checkout
    schedule: "@every 1m"
    runbook_url: https://wiki.test/checkout
`, srv.URL, srv.Bucket, h.URL)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := prober.LoadConfig(path, func(k string) (string, bool) {
		return map[string]string{"HOOK_SECRET": h.Secret}[k], k == "HOOK_SECRET"
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := influx.NewShipper(influx.ShipperOptions{URL: srv.URL, Bucket: srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sh.Close)
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return &fleet{t: t, srv: srv, shipper: sh, cfg: cfg, clock: &clock{t: base}, hook: h,
		store: filepath.Join(dir, "evaluator.db"), base: base}
}

func (f *fleet) at(minute int) time.Time { return f.base.Add(time.Duration(minute) * time.Minute) }

// write ships the runs of one minute: each location passes unless it is
// in failing, and locations in silent write nothing.
func (f *fleet) write(minute int, failing, silent string) {
	f.t.Helper()
	var runs []probe.Run
	for _, loc := range locations {
		if strings.Contains(silent, loc) {
			continue
		}
		runs = append(runs, run(loc, f.at(minute), !strings.Contains(failing, loc)))
	}
	f.ship(runs...)
}

func (f *fleet) ship(runs ...probe.Run) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res, err := f.shipper.ShipRuns(ctx, runs); err != nil || res.ShippedRuns != int64(len(runs)) {
		f.t.Fatalf("ship: %+v, %v", res, err)
	}
}

func run(loc string, at time.Time, ok bool) probe.Run {
	lag := 15 * time.Millisecond
	res := probe.Result{Check: "checkout", Type: probe.TypeHTTP, URL: "https://shop.test/checkout", OK: ok, Attempt: 1,
		StartedAt: at.Add(lag), DurationMS: 120,
		HTTPDetails: &probe.HTTPDetails{StatusCode: 200, HTTPVersion: "HTTP/2.0", Timings: probe.Timings{Total: 120},
			TLS: &probe.TLSInfo{Version: "TLS 1.3", CertDaysLeft: 60}}}
	if !ok {
		res.StatusCode = 503
		res.Failure = probe.Fail(probe.FailureStatus, "", "status 503 not in 200-399")
	}
	return probe.Run{Check: "checkout", Type: probe.TypeHTTP, Location: loc, Probe: loc + "-1",
		ScheduledAt: at, StartedAt: at.Add(lag), Lag: lag, Attempts: []probe.Result{res}}
}

// start opens the evaluator's store and builds the evaluator with the
// config's notifiers, as `storeprobe evaluate` does.
func (f *fleet) start() (*evaluator.Evaluator, *sqlite.Store) {
	f.t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, f.store, sqlite.WithoutOutbox())
	if err != nil {
		f.t.Fatal(err)
	}
	names := make([]string, len(f.cfg.Checks))
	for i, c := range f.cfg.Checks {
		names[i] = c.Name
	}
	src, err := influx.NewReader(influx.ReaderOptions{URL: f.cfg.InfluxDB.URL, Bucket: f.cfg.InfluxDB.Bucket, Checks: names})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(src.Close)
	disp, err := daemon.NotifyDispatchers("test")(f.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.t.Fatal(err)
	}
	ev, err := evaluator.New(ctx, evaluator.Options{Checks: f.cfg.Checks, Alerting: f.cfg.Alerting, Source: src, Store: st,
		Dispatcher: disp, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(testWriter{f.t}, nil))})
	if err != nil {
		f.t.Fatal(err)
	}
	return ev, st
}

// step runs one pass 40 s into the minute, after that minute's runs landed.
func (f *fleet) step(ev *evaluator.Evaluator, minute int) {
	f.t.Helper()
	f.clock.Set(f.at(minute).Add(40 * time.Second))
	if err := ev.Step(context.Background()); err != nil {
		f.t.Fatalf("minute %d: %v", minute, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// history is what the evaluator handed to the notifiers, as "status rule
// location" lines: its store records each before it is sent.
func history(t *testing.T, st *sqlite.Store) []string {
	t.Helper()
	evs, err := st.AlertEvents(context.Background(), probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %s %s", e.Status, e.Alert, e.Location))
	}
	return out
}

func wantHistory(t *testing.T, st *sqlite.Store, when string, want ...string) {
	t.Helper()
	if got := history(t, st); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: notifications\n%s\nwant\n%s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestQuorumAcrossThreeLocations: three locations write to a real influxd;
// with quorum 2 one failing location notifies nothing, two fire one down
// alert (location "eu,us") delivered once to a signed webhook, a restart of
// the evaluator mid-incident does not fire it again, the recovery resolves
// it once, and a probe that stops writing raises probe_silent after
// silent_after on the evaluator's clock, resolved when it writes again.
func TestQuorumAcrossThreeLocations(t *testing.T) {
	f := newFleet(t)
	ev, st := f.start()

	// All pass; a late write inside the overlap is still read, once.
	for m := 0; m <= 3; m++ {
		if m == 3 {
			f.write(m, "", "ap") // ap's run of minute 3 lands two minutes late
		} else {
			f.write(m, "", "")
		}
		f.step(ev, m)
	}
	// Only eu fails: below the quorum.
	for m := 4; m <= 7; m++ {
		f.write(m, "eu", "")
		if m == 5 {
			f.ship(run("ap", f.at(3), true))
		}
		f.step(ev, m)
	}
	wantHistory(t, st, "only eu failing")

	// eu and us fail: down, once, where both agree; it began with the
	// first failure of the streaks that make the quorum (eu's, minute 4).
	for m := 8; m <= 10; m++ {
		f.write(m, "eu,us", "")
		f.step(ev, m)
	}
	wantHistory(t, st, "eu and us failing", "firing down eu,us")
	var fired alert.Notification
	f.hook.WaitFor(t, "the down alert delivered", 15*time.Second, func(ns []alert.Notification) bool {
		for _, n := range ns {
			if n.Status == alert.Firing && n.Alert == alert.RuleDown {
				fired = n
				return true
			}
		}
		return false
	})
	if fired.Check != "checkout" || fired.Location != "eu,us" || fired.Severity != alert.Critical ||
		fired.FailureKind != "status" || fired.Message != "status 503 not in 200-399" ||
		!strings.Contains(fired.Summary, "status 503 not in 200-399") || fired.RunbookURL != "https://wiki.test/checkout" ||
		!fired.StartedAt.Equal(f.at(4)) || fired.Key == "" {
		t.Errorf("firing notification %+v", fired)
	}

	// The evaluator restarts mid-incident; runs written meanwhile are
	// caught up, and nothing is notified again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ev.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	f.write(11, "eu,us", "")
	f.clock.Set(f.at(11).Add(40 * time.Second))
	ev, st = f.start()
	defer st.Close()
	f.write(12, "eu,us", "")
	f.step(ev, 12)
	wantHistory(t, st, "after a restart mid-incident", "firing down eu,us")

	// Recovery: resolved once.
	for m := 13; m <= 16; m++ {
		f.write(m, "", "")
		f.step(ev, m)
	}
	wantHistory(t, st, "recovered", "firing down eu,us", "resolved down eu,us")

	// ap stops writing at minute 17: silent once its last run (16) is more
	// than 5 minutes old on the evaluator's clock, not before.
	for m := 17; m <= 20; m++ {
		f.write(m, "", "ap")
		f.step(ev, m)
	}
	wantHistory(t, st, "ap silent for 4m40s", "firing down eu,us", "resolved down eu,us")
	for m := 21; m <= 23; m++ {
		f.write(m, "", "ap")
		f.step(ev, m)
	}
	wantHistory(t, st, "ap silent for 5m40s and more", "firing down eu,us", "resolved down eu,us", "firing probe_silent ap")
	f.write(24, "", "")
	f.step(ev, 24)
	want := []string{"firing down eu,us", "resolved down eu,us", "firing probe_silent ap", "resolved probe_silent ap"}
	wantHistory(t, st, "ap back", want...)

	// Every notification reached the webhook once, signed; every run was
	// stored once, the late one included.
	if err := ev.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ns := f.hook.WaitFor(t, "every notification delivered", 15*time.Second, func(ns []alert.Notification) bool { return len(ns) >= len(want) })
	var got []string
	for _, n := range ns {
		got = append(got, fmt.Sprintf("%s %s %s", n.Status, n.Alert, n.Location))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("webhook received\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ns[1].Key != fired.Key || ns[1].EndedAt == nil || !ns[1].StartedAt.Equal(fired.StartedAt) {
		t.Errorf("resolved %+v for firing %+v", ns[1], fired)
	}
	if ns[2].Probe != "ap-1" || ns[2].Severity != alert.Critical {
		t.Errorf("probe_silent %+v", ns[2])
	}
	if bad := f.hook.Bad(); bad > 0 {
		t.Errorf("%d deliveries with a bad signature or body", bad)
	}
	runs, err := st.Runs(context.Background(), probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range runs {
		seen[fmt.Sprintf("%s %s", r.Location, r.ScheduledAt.Format("15:04"))]++
	}
	// 25 minutes × 3 locations, less ap's 7 silent minutes.
	if len(runs) != 25*3-7 || len(seen) != len(runs) {
		t.Errorf("%d runs stored (%d distinct), want %d, each once", len(runs), len(seen), 25*3-7)
	}
	if seen["ap 09:03"] != 1 {
		t.Errorf("the late run of ap at 09:03 stored %d times, want 1", seen["ap 09:03"])
	}
}
