package alerter

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/notify"
	"github.com/storeprobe/storeprobe/probe/notify/notifytest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func dispatcher(t *testing.T, name string, hook *notifytest.Webhook) *notify.Dispatcher {
	t.Helper()
	d, err := notify.Build([]probe.Notifier{{Name: name, Type: probe.NotifierWebhook, URL: hook.URL + "/" + name,
		Secret: hook.Secret, SecretEnv: "X", SendResolved: true}}, notify.DispatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAlerterLifecycle: runs are judged as they land and told through the
// dispatcher; the history and states land in the store; a new Alerter on the
// same store (a restart) tells nothing twice; Reload moves the alerts to a
// new dispatcher; Close drains.
func TestAlerterLifecycle(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), sqlite.WithoutOutbox())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	clk := &clock{t: t0}
	checks := []probe.Check{{Name: "checkout", Type: probe.TypeHTTP, URL: "https://shop.test/checkout"}}
	pol := probe.Alerting{Notify: []string{"first"}}
	first := notifytest.NewWebhook(t, "s1")
	run := func(a *Alerter, m int, ok bool) {
		at := t0.Add(time.Duration(m) * time.Minute)
		clk.Set(at)
		r := probe.Run{Check: "checkout", Type: probe.TypeHTTP, Location: "eu", Probe: "eu-1", ScheduledAt: at,
			Attempts: []probe.Result{{OK: ok, HTTPDetails: &probe.HTTPDetails{StatusCode: 503}}}}
		if !ok {
			r.Attempts[0].Failure = &probe.Failure{Kind: probe.FailureStatus, Message: "status 503"}
		}
		if _, err := st.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
		a.Observe(ctx, r)
	}
	a, err := New(ctx, Options{Alerting: pol, Checks: checks, Store: st, Dispatcher: dispatcher(t, "first", first), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	run(a, 0, true)
	run(a, 1, false)
	run(a, 2, false)
	first.WaitFor(t, "the firing", 10*time.Second, func(ns []alert.Notification) bool { return len(ns) == 1 })
	if got := a.Active()[alert.RuleDown]; got != 1 {
		t.Errorf("active down alerts %d", got)
	}
	if err := testutil.CollectAndCompare(a, strings.NewReader(`# HELP storeprobe_notifier_sent_total Notifications delivered, per notifier (an SMS per recipient).
# TYPE storeprobe_notifier_sent_total counter
storeprobe_notifier_sent_total{notifier="first"} 1
`), "storeprobe_notifier_sent_total"); err != nil {
		t.Error(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A restart: the stored states and runs say the alert was told.
	second := notifytest.NewWebhook(t, "s2")
	pol.Notify = []string{"second"}
	b, err := New(ctx, Options{Alerting: pol, Checks: checks, Store: st, Dispatcher: dispatcher(t, "first", first), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	run(b, 3, false)
	// The receivers change: the recovery goes to the new one.
	if err := b.Reload(ctx, pol, checks, dispatcher(t, "second", second)); err != nil {
		t.Fatal(err)
	}
	run(b, 4, true)
	run(b, 5, true)
	second.WaitFor(t, "the resolution", 10*time.Second, func(ns []alert.Notification) bool { return len(ns) == 1 })
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(first.Notifications()); n != 1 {
		t.Errorf("the first receiver got %d notifications, want only the firing", n)
	}
	if n := second.Notifications()[0]; n.Status != alert.Resolved || n.Alert != alert.RuleDown {
		t.Errorf("second receiver: %+v", n)
	}
	evs, err := st.AlertEvents(ctx, probe.RunQuery{})
	if err != nil || len(evs) != 2 || evs[0].Status != alert.Firing || evs[1].Status != alert.Resolved ||
		evs[1].Receivers[0] != "second" {
		t.Errorf("history %+v, %v", evs, err)
	}
}
