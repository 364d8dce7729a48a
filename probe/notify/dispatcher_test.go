package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// Dispatcher tests run in a synctest bubble: time is virtual, so backoffs
// of minutes pass at once and attempt times are exact.

// fake is a Notifier whose answers a test scripts: result(i) is the i-th
// attempt's error.
type fake struct {
	name   string
	result func(i int, n alert.Notification, to string) error

	mu       sync.Mutex
	attempts []attempt
}

type attempt struct {
	at  time.Time
	n   alert.Notification
	to  string
	err error
}

func (f *fake) Name() string { return f.name }
func (f *fake) Type() string { return "fake" }

func (f *fake) Notify(ctx context.Context, n alert.Notification) error { return f.try(ctx, n, "") }

func (f *fake) try(ctx context.Context, n alert.Notification, to string) error {
	f.mu.Lock()
	i := len(f.attempts)
	f.attempts = append(f.attempts, attempt{at: time.Now(), n: n, to: to})
	f.mu.Unlock()
	var err error
	if f.result != nil {
		err = f.result(i, n, to)
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	f.mu.Lock()
	f.attempts[i].err = err
	f.mu.Unlock()
	return err
}

func (f *fake) log() []attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]attempt(nil), f.attempts...)
}

// fakeSMS fans out to recipients, like the sms notifier.
type fakeSMS struct {
	fake
	to []string
}

func (f *fakeSMS) recipients() []string { return f.to }
func (f *fakeSMS) notifyOne(ctx context.Context, n alert.Notification, to string) error {
	return f.try(ctx, n, to)
}

var (
	errDown = &Error{Reason: ReasonNetwork, Err: errors.New("connection refused")}
	errGone = &Error{Reason: ReasonRejected, Permanent: true, Err: errors.New("404 Not Found")}
)

func closeNow(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDispatcherRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{name: "ops", result: func(i int, _ alert.Notification, _ string) error {
			if i < 4 {
				return errDown
			}
			return nil
		}}
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{})
		start := time.Now()
		d.Send(firing(), []string{"ops"})
		synctest.Wait()
		time.Sleep(time.Hour)
		closeNow(t, d)

		at := f.log()
		if len(at) != 5 {
			t.Fatalf("%d attempts, want 5", len(at))
		}
		if !at[0].at.Equal(start) {
			t.Errorf("first attempt after %v, want at once", at[0].at.Sub(start))
		}
		// Exponential from 1s, each jittered into [d/2, d].
		for i, full := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
			gap := at[i+1].at.Sub(at[i].at)
			if gap < full/2 || gap > full {
				t.Errorf("wait before attempt %d: %v, want within [%v, %v]", i+2, gap, full/2, full)
			}
		}
		st := d.Stats()["ops"]
		if st.Sent != 1 || st.Failures[ReasonNetwork] != 4 || len(st.Dropped) != 0 || st.Queued != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestDispatcherBackoffCapAndRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limited := &Error{Reason: ReasonRateLimited, RetryAfter: 90 * time.Second, Err: errors.New("429")}
		f := &fake{name: "ops", result: func(i int, _ alert.Notification, _ string) error {
			switch {
			case i == 0:
				return limited
			case i < 12:
				return errDown
			}
			return nil
		}}
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{MaxBackoff: time.Minute})
		d.Send(firing(), []string{"ops"})
		time.Sleep(24 * time.Hour)
		closeNow(t, d)
		at := f.log()
		if len(at) != 13 {
			t.Fatalf("%d attempts, want 13", len(at))
		}
		// Retry-After 90s, capped at MaxBackoff (1m).
		if gap := at[1].at.Sub(at[0].at); gap != time.Minute {
			t.Errorf("after a 429 with Retry-After 90s: waited %v, want the 1m cap", gap)
		}
		for i := 2; i < len(at); i++ {
			if gap := at[i].at.Sub(at[i-1].at); gap > time.Minute {
				t.Errorf("wait %v before attempt %d exceeds MaxBackoff", gap, i+1)
			}
		}
	})
}

func TestDispatcherPermanentNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{name: "ops", result: func(int, alert.Notification, string) error { return errGone }}
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{})
		d.Send(firing(), []string{"ops"})
		time.Sleep(time.Hour)
		closeNow(t, d)
		if n := len(f.log()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
		st := d.Stats()["ops"]
		if st.Failures[ReasonRejected] != 1 || st.Dropped[DropPermanent] != 1 || st.Sent != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestDispatcherMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{name: "ops", result: func(int, alert.Notification, string) error { return errDown }}
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{MaxAge: 10 * time.Minute, MaxBackoff: 2 * time.Minute})
		start := time.Now()
		d.Send(firing(), []string{"ops"})
		time.Sleep(time.Hour)
		closeNow(t, d)
		at := f.log()
		last := at[len(at)-1].at.Sub(start)
		if last >= 10*time.Minute || last < 6*time.Minute {
			t.Errorf("last attempt after %v, want within the last backoff before MaxAge (10m)", last)
		}
		if st := d.Stats()["ops"]; st.Dropped[DropExpired] != 1 || st.Failures[ReasonNetwork] != int64(len(at)) {
			t.Errorf("stats %+v after %d attempts", st, len(at))
		}
	})
}

// A resolve queued behind a trigger that needs retries goes out after it.
func TestDispatcherKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{name: "ops", result: func(i int, _ alert.Notification, _ string) error {
			if i < 3 {
				return errDown
			}
			return nil
		}}
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{})
		d.Send(firing(), []string{"ops"})
		d.Send(resolved(), []string{"ops"})
		time.Sleep(time.Hour)
		closeNow(t, d)
		var order []alert.Status
		for _, a := range f.log() {
			if a.err == nil {
				order = append(order, a.n.Status)
			}
		}
		if fmt.Sprint(order) != "[firing resolved]" {
			t.Errorf("delivered %v", order)
		}
	})
}

// Each SMS recipient is queued and retried on its own: the one that got
// its text is not texted again while another is retried.
func TestDispatcherFansOutPerRecipient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tries := map[string]int{}
		f := &fakeSMS{fake: fake{name: "oncall", result: func(_ int, _ alert.Notification, to string) error {
			tries[to]++ // one worker: no race
			if to == "+2" && tries[to] < 3 {
				return errDown
			}
			return nil
		}}, to: []string{"+1", "+2"}}
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{})
		d.Send(firing(), []string{"oncall"})
		time.Sleep(time.Hour)
		closeNow(t, d)
		if tries["+1"] != 1 || tries["+2"] != 3 {
			t.Errorf("attempts per recipient %v, want +1 once and +2 three times", tries)
		}
		if st := d.Stats()["oncall"]; st.Sent != 2 {
			t.Errorf("sent %d, want 2", st.Sent)
		}
	})
}

func TestDispatcherQueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := &fake{name: "ops", result: func(i int, _ alert.Notification, _ string) error {
			if i == 0 {
				<-release
			}
			return nil
		}}
		var logs syncBuffer
		d := NewDispatcher([]Notifier{f}, DispatcherOptions{QueueSize: 3, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		for i := range 6 {
			n := firing()
			n.Key = fmt.Sprint("k", i)
			d.Send(n, []string{"ops"})
			synctest.Wait() // the worker has taken k0 before k1 is sent
		}
		if st := d.Stats()["ops"]; st.Queued != 4 || st.Dropped[DropQueueFull] != 2 {
			t.Errorf("stats %+v, want 1 in delivery + 3 queued, 2 dropped", st)
		}
		close(release)
		closeNow(t, d)
		var keys []string
		for _, a := range f.log() {
			keys = append(keys, a.n.Key)
		}
		// k1 and k2, the oldest waiting, made room for k4 and k5.
		if got := strings.Join(keys, ","); got != "k0,k3,k4,k5" {
			t.Errorf("delivered %s", got)
		}
		if !strings.Contains(logs.String(), "queue full") {
			t.Errorf("drops not logged:\n%s", logs.String())
		}
	})
}

func TestDispatcherCloseDrainsThenGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ok := &fake{name: "ok"}
		down := &fake{name: "down", result: func(int, alert.Notification, string) error { return errDown }}
		d := NewDispatcher([]Notifier{ok, down}, DispatcherOptions{})
		for range 3 {
			d.Send(firing(), []string{"ok", "down"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want the deadline", err)
		}
		if el := time.Since(start); el != 30*time.Second {
			t.Errorf("Close took %v, want its context's 30s", el)
		}
		st := d.Stats()
		if st["ok"].Sent != 3 {
			t.Errorf("ok: %+v, want all 3 delivered", st["ok"])
		}
		if st["down"].Dropped[DropShutdown] != 3 || st["down"].Queued != 0 {
			t.Errorf("down: %+v, want 3 dropped at shutdown", st["down"])
		}
		d.Send(firing(), []string{"ok"})
		if st := d.Stats()["ok"]; st.Queued != 0 || st.Sent != 3 {
			t.Errorf("after Close: %+v", st)
		}
	})
}

// Send never waits for a receiver, however slow: here a real webhook whose
// server never answers, with a timeout far beyond the test.
func TestSendNeverBlocks(t *testing.T) {
	arrived := make(chan struct{}, 1)
	rs := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	nt := mustNew(t, probe.Notifier{Name: "slow", Type: probe.NotifierWebhook, URL: rs.URL, Timeout: time.Hour})
	d := NewDispatcher([]Notifier{nt}, DispatcherOptions{QueueSize: 10})
	d.Send(firing(), []string{"slow"})
	<-arrived // the worker is stuck in its first delivery
	start := time.Now()
	for range 999 {
		d.Send(firing(), []string{"slow"})
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("999 Sends took %v", el)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v", err)
	}
	st := d.Stats()["slow"]
	if st.Dropped[DropQueueFull] != 989 || st.Dropped[DropShutdown] != 11 || st.Sent != 0 {
		t.Errorf("stats %+v: want 989 dropped for room, 1 in flight + 10 queued dropped at shutdown", st)
	}
}

func TestDispatcherSkipsAndUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		quiet := &fake{name: "quiet"}
		d := NewDispatcher([]Notifier{quiet, &skipResolved{fake{name: "noresolve"}}},
			DispatcherOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		d.Send(resolved(), []string{"quiet", "noresolve", "nosuch"})
		synctest.Wait()
		closeNow(t, d)
		st := d.Stats()
		if st["quiet"].Sent != 1 || st["noresolve"].Sent != 0 {
			t.Errorf("stats %+v", st)
		}
		if !strings.Contains(logs.String(), "notifier=nosuch") {
			t.Errorf("unknown notifier not logged:\n%s", logs.String())
		}
	})
}

type skipResolved struct{ fake }

func (s *skipResolved) skips(n alert.Notification) bool { return n.Status == alert.Resolved }

func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{name: `ops "eu"`, result: func(i int, _ alert.Notification, _ string) error {
			switch i {
			case 0:
				return errDown
			case 1:
				return errGone
			}
			return nil
		}}
		d := NewDispatcher([]Notifier{f, &fake{name: "chat"}}, DispatcherOptions{})
		d.Send(firing(), []string{`ops "eu"`})
		d.Send(firing(), []string{`ops "eu"`, "chat"})
		time.Sleep(time.Minute)
		closeNow(t, d)
		want := `# HELP storeprobe_notifier_sent_total Notifications delivered, per notifier (an SMS per recipient).
# TYPE storeprobe_notifier_sent_total counter
storeprobe_notifier_sent_total{notifier="chat"} 1
storeprobe_notifier_sent_total{notifier="ops \"eu\""} 1
# HELP storeprobe_notifier_failures_total Failed delivery attempts, by reason; transient ones are retried.
# TYPE storeprobe_notifier_failures_total counter
storeprobe_notifier_failures_total{notifier="chat",reason="network"} 0
storeprobe_notifier_failures_total{notifier="chat",reason="timeout"} 0
storeprobe_notifier_failures_total{notifier="chat",reason="tls"} 0
storeprobe_notifier_failures_total{notifier="chat",reason="rate_limited"} 0
storeprobe_notifier_failures_total{notifier="chat",reason="server_error"} 0
storeprobe_notifier_failures_total{notifier="chat",reason="rejected"} 0
storeprobe_notifier_failures_total{notifier="chat",reason="other"} 0
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="network"} 1
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="timeout"} 0
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="tls"} 0
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="rate_limited"} 0
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="server_error"} 0
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="rejected"} 1
storeprobe_notifier_failures_total{notifier="ops \"eu\"",reason="other"} 0
# HELP storeprobe_notifier_dropped_total Notifications given up on, by reason.
# TYPE storeprobe_notifier_dropped_total counter
storeprobe_notifier_dropped_total{notifier="chat",reason="queue_full"} 0
storeprobe_notifier_dropped_total{notifier="chat",reason="expired"} 0
storeprobe_notifier_dropped_total{notifier="chat",reason="permanent"} 0
storeprobe_notifier_dropped_total{notifier="chat",reason="shutdown"} 0
storeprobe_notifier_dropped_total{notifier="ops \"eu\"",reason="queue_full"} 0
storeprobe_notifier_dropped_total{notifier="ops \"eu\"",reason="expired"} 0
storeprobe_notifier_dropped_total{notifier="ops \"eu\"",reason="permanent"} 1
storeprobe_notifier_dropped_total{notifier="ops \"eu\"",reason="shutdown"} 0
# HELP storeprobe_notifier_queue_length Notifications waiting for delivery, the one being tried included.
# TYPE storeprobe_notifier_queue_length gauge
storeprobe_notifier_queue_length{notifier="chat"} 0
storeprobe_notifier_queue_length{notifier="ops \"eu\""} 0
`
		if err := testutil.CollectAndCompare(d, strings.NewReader(want)); err != nil {
			t.Error(err)
		}
	})
}
