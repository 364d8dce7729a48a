package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/notify/notifytest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func count(ns []alert.Notification, status alert.Status, rule, check string) int {
	n := 0
	for _, x := range ns {
		if x.Status == status && x.Alert == rule && x.Check == check {
			n++
		}
	}
	return n
}

// TestAlertsEndToEnd: a check that goes down is notified to a real webhook,
// signed; a restarted daemon does not notify the same outage again; the
// recovery is notified once, by the restarted daemon.
func TestAlertsEndToEnd(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer shop.Close()
	hook := notifytest.NewWebhook(t, "hook-s3cret")

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`defaults: {location: eu}
notifiers:
  - {name: hook, type: webhook, url: "%s/hook", secret_env: HOOK_SECRET}
alerting:
  notify: [hook]
checks:
  - name: checkout
    url: %s/checkout
    schedule: "* * * * * *"
    runbook_url: https://wiki.test/checkout
`, hook.URL, shop.URL))
	start := func() *Daemon {
		d, err := Start(context.Background(), Options{
			ConfigPath: cfgPath, StorePath: filepath.Join(dir, "s.db"), Version: "test",
			Getenv:  func(k string) string { return map[string]string{"HOOK_SECRET": hook.Secret}[k] },
			Logger:  slog.New(slog.DiscardHandler),
			Storage: testStorage(&events{}),
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := start()
	ns := hook.WaitFor(t, "the outage notified", 15*time.Second, func(ns []alert.Notification) bool {
		return count(ns, alert.Firing, alert.RuleDown, "checkout") > 0
	})
	n := ns[0]
	if n.Location != "eu" || n.Severity != alert.Critical || n.FailureKind != "status" || n.RunbookURL != "https://wiki.test/checkout" ||
		n.StartedAt.IsZero() || n.Key == "" || n.Summary == "" {
		t.Errorf("firing notification %+v", n)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// Restart while it is still down: the same outage is not notified again.
	d = start()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if c := count(hook.Notifications(), alert.Firing, alert.RuleDown, "checkout"); c != 1 {
			t.Fatalf("after a restart the outage was notified %d times", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	down.Store(false)
	ns = hook.WaitFor(t, "the recovery notified", 15*time.Second, func(ns []alert.Notification) bool {
		return count(ns, alert.Resolved, alert.RuleDown, "checkout") > 0
	})
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	var res alert.Notification
	for _, x := range ns {
		if x.Status == alert.Resolved {
			res = x
		}
	}
	if res.Key != n.Key || res.EndedAt == nil || !res.StartedAt.Equal(n.StartedAt) {
		t.Errorf("resolved notification %+v for firing %+v", res, n)
	}
	if c := count(hook.Notifications(), alert.Resolved, alert.RuleDown, "checkout"); c != 1 {
		t.Errorf("resolved %d times", c)
	}
	if bad := hook.Bad(); bad > 0 {
		t.Errorf("%d requests with a bad signature or body", bad)
	}
}

// TestNoNotify: a probe run with NoNotify judges and records its alerts but
// sends nothing (its fleet's evaluator does the telling).
func TestNoNotify(t *testing.T) {
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer shop.Close()
	hook := notifytest.NewWebhook(t, "s3cret")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`notifiers:
  - {name: hook, type: webhook, url: "%s/hook"}
alerting: {notify: [hook]}
checks:
  - {name: checkout, url: "%s/", schedule: "* * * * * *"}
`, hook.URL, shop.URL))
	store := filepath.Join(dir, "s.db")
	d, err := Start(context.Background(), Options{ConfigPath: cfgPath, StorePath: store, NoNotify: true,
		Storage: testStorage(&events{})})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if d.alerter.Active()[alert.RuleDown] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outage was not judged down within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if ns := hook.Notifications(); len(ns) != 0 {
		t.Errorf("NoNotify sent %d notifications", len(ns))
	}
	st, err := sqlite.Open(context.Background(), store, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.AlertEvents(context.Background(), probe.RunQuery{})
	if err != nil || len(evs) == 0 || evs[0].Alert != alert.RuleDown {
		t.Errorf("alert history %+v, %v: want the down alert recorded", evs, err)
	}
}
