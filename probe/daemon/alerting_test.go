package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/notify"
)

// hookReceiver is a webhook endpoint that keeps every notification whose
// signature verifies.
type hookReceiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	got    []alert.Notification
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("X-Storeprobe-Signature") != notify.Signature([]byte(h.secret), body) {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n alert.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.got = append(h.got, n)
}

func (h *hookReceiver) notifications() []alert.Notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.Notification(nil), h.got...)
}

// waitFor waits (bounded) until cond holds for the receiver's notifications.
func (h *hookReceiver) waitFor(what string, within time.Duration, cond func([]alert.Notification) bool) []alert.Notification {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ns := h.notifications()
		if cond(ns) {
			return ns
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within %s; notifications %+v", what, within, ns)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

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
	hook := &hookReceiver{t: t, secret: "hook-s3cret"}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()

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
`, receiver.URL, shop.URL))
	start := func() *Daemon {
		d, err := Start(context.Background(), Options{
			ConfigPath: cfgPath, StorePath: filepath.Join(dir, "s.db"), Version: "test",
			Getenv:  func(k string) string { return map[string]string{"HOOK_SECRET": hook.secret}[k] },
			Logger:  slog.New(slog.DiscardHandler),
			Storage: testStorage(&events{}),
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := start()
	ns := hook.waitFor("the outage notified", 15*time.Second, func(ns []alert.Notification) bool {
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
		if c := count(hook.notifications(), alert.Firing, alert.RuleDown, "checkout"); c != 1 {
			t.Fatalf("after a restart the outage was notified %d times", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	down.Store(false)
	ns = hook.waitFor("the recovery notified", 15*time.Second, func(ns []alert.Notification) bool {
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
	if c := count(hook.notifications(), alert.Resolved, alert.RuleDown, "checkout"); c != 1 {
		t.Errorf("resolved %d times", c)
	}
	if hook.bad > 0 {
		t.Errorf("%d requests with a bad signature or body", hook.bad)
	}
}
