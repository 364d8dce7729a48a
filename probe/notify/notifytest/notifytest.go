// Package notifytest is a webhook receiver for tests of whatever sends
// alerts (the daemon, the fleet evaluator, the CLI): a real HTTP server on
// loopback that keeps every notification whose X-Storeprobe-Signature
// verifies with the notifier's secret, and counts the requests that do not.
package notifytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/notify"
)

// Webhook receives signed notifications. It is closed when the test ends.
type Webhook struct {
	URL    string // base URL; any path is accepted
	Secret string

	mu  sync.Mutex
	got []alert.Notification
	bad int
}

// NewWebhook starts a receiver that verifies signatures with secret.
func NewWebhook(t testing.TB, secret string) *Webhook {
	w := &Webhook{Secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Header.Get("X-Storeprobe-Signature") != notify.Signature([]byte(w.Secret), body) {
		w.bad++
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n alert.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		w.bad++
		rw.WriteHeader(http.StatusBadRequest)
		return
	}
	w.got = append(w.got, n)
}

// Notifications are the verified notifications so far, in arrival order.
func (w *Webhook) Notifications() []alert.Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]alert.Notification(nil), w.got...)
}

// Bad counts requests with a bad signature or body.
func (w *Webhook) Bad() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bad
}

// WaitFor waits, at most within, until cond holds for the notifications,
// and returns them; it fails t otherwise. Deliveries are asynchronous, so
// this polls rather than sleeps a guess.
func (w *Webhook) WaitFor(t testing.TB, what string, within time.Duration, cond func([]alert.Notification) bool) []alert.Notification {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ns := w.Notifications()
		if cond(ns) {
			return ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; notifications %+v", what, within, ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
