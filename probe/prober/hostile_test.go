package prober

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// TestBrowserConcurrencyHoldsWhileHostilePagesHang: more hostile browser
// checks than the browser's concurrency limit (the daemon's
// scheduler.browser_concurrency) run through the prober at once; they
// hang (an endless script after load, a load that never ends), and
// Chrome never has more browser contexts open than the limit, each run
// ends as timeout, and no context or slot is left afterwards.
func TestBrowserConcurrencyHoldsWhileHostilePagesHang(t *testing.T) {
	const limit, n, timeout = 2, 6, 2 * time.Second
	quit := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><h1>Deals</h1><script>addEventListener('load', () => setTimeout(() => { while (true) {} }, 100));</script>`)
	})
	mux.HandleFunc("/never", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-quit:
		case <-time.After(time.Minute):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(quit)

	b := browser.New(browser.Options{Path: browsertest.Chromium(t), MaxConcurrent: limit,
		HostResolverRules: "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"})
	defer b.Close()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := New(Options{Version: "test", Browser: b})

	// Chrome's own count of browser contexts, polled while the checks run.
	done := make(chan struct{})
	var maxContexts, maxInUse, polls int
	var pollErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c, err := b.Contexts(ctx)
			cancel()
			if err != nil && pollErr == nil {
				pollErr = err
			}
			maxContexts, maxInUse, polls = max(maxContexts, c), max(maxInUse, b.InUse()), polls+1
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	start := time.Now()
	results := make(chan probe.Result, n)
	for i := range n {
		path := "/loop"
		if i%2 == 1 {
			path = "/never"
		}
		go func() {
			results <- p.Execute(context.Background(), probe.Check{Name: fmt.Sprintf("hostile-%d", i), Type: probe.TypeBrowser,
				URL: srv.URL + path, Timeout: timeout}, 1)
		}()
	}
	for range n {
		res := <-results
		if res.OK || res.Failure.Kind != probe.FailureTimeout {
			t.Errorf("%s: failure %v, want timeout (%+v, %+v)", res.URL, res.Failure, res.BrowserDetails.PageMetrics, res)
		}
	}
	took := time.Since(start)
	// The slots are released once each tab is gone.
	for wait := time.Now().Add(5 * time.Second); b.InUse() > 0 && time.Now().Before(wait); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(done)
	wg.Wait()
	t.Logf("%d checks, limit %d: %s; at most %d contexts in Chrome and %d slots taken (%d polls)", n, limit, took, maxContexts, maxInUse, polls)
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	if maxContexts > limit || maxInUse > limit {
		t.Errorf("at most %d contexts in Chrome, %d slots: over the limit %d", maxContexts, maxInUse, limit)
	}
	if maxContexts == 0 {
		t.Error("no browser context ever seen: the poll measured nothing")
	}
	// n/limit waves, each within the timeout + 1 s.
	if bound := time.Duration(n/limit) * (timeout + time.Second); took > bound {
		t.Errorf("took %s, over %s", took, bound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := b.Contexts(ctx); err != nil || c != 0 || b.InUse() != 0 {
		t.Errorf("after the runs: %d contexts (%v), %d slots held", c, err, b.InUse())
	}
}
