package browser

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

func TestKilledBrowserFailsRunAsCrashAndRestarts(t *testing.T) {
	shop := newShop(t)
	b, err := Launch(context.Background(), testOptions(browsertest.Chromium(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first := b.PID()
	if first == 0 || len(GroupPIDs(first)) < 2 {
		t.Fatalf("pid %d group %v: want a running Chrome with its helpers in its own group", first, GroupPIDs(first))
	}

	// Kill the whole group while the run waits on a page that never loads.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		syscall.Kill(-first, syscall.SIGKILL)
	}()
	start := time.Now()
	res := b.Browse(context.Background(), probe.Check{Name: "k", URL: shop.URL + "/never", Timeout: 20 * time.Second})
	t.Logf("crashed run took %s", time.Since(start))
	if res.OK || res.Failure == nil || res.Failure.Kind != probe.FailureBrowserCrash {
		t.Fatalf("failure %v, want browser_crash", res.Failure)
	}
	if !res.Failure.Kind.ProbeFault() {
		t.Error("browser_crash must count as a probe fault")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("crash noticed after %s", took)
	}
	if left := GroupPIDs(first); len(left) > 0 {
		t.Errorf("processes of the killed Chrome still alive: %v", left)
	}

	start = time.Now()
	res = b.Browse(context.Background(), probe.Check{Name: "k", URL: shop.URL + "/plain", Timeout: 20 * time.Second})
	t.Logf("run after the crash took %s", time.Since(start))
	if !res.OK {
		t.Fatalf("run after the crash: %v", res.Failure)
	}
	second := b.PID()
	if second == first || b.Starts() != 2 {
		t.Errorf("pid %d -> %d, starts %d: want a new Chrome", first, second, b.Starts())
	}
	start = time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("close took %s", time.Since(start))
	if left := GroupPIDs(second); len(left) > 0 {
		t.Errorf("Chrome processes outlived Close: %v", left)
	}
	if res := b.Browse(context.Background(), probe.Check{URL: shop.URL + "/plain"}); res.OK || res.Failure.Kind != probe.FailureProbeError {
		t.Errorf("browse after Close: %+v", res.Failure)
	}
}

func TestRendererCrashFailsRunOnly(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	starts, pid := shared.Starts(), shared.PID()
	s, f := shared.open(context.Background(), "", 20*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatal(f)
	}
	defer s.close()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	if f := s.navigate(ctx, shop.URL+"/plain", probe.PhaseNavigation); f != nil {
		t.Fatal(f)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		// Page.crash kills the renderer as a bug or OOM would (Chrome
		// refuses chrome://crash from the protocol).
		cdp.Call(context.Background(), s.t, page.Crash, cdp.Empty{})
	}()
	// Wait, as a step would, for a navigation that never comes.
	f = s.waitLoaded(ctx, s.tr.snapshot().navSeq, "step 2")
	if f == nil || f.Kind != probe.FailureBrowserCrash {
		t.Fatalf("failure %v, want browser_crash", f)
	}
	res := shared.Browse(context.Background(), probe.Check{URL: shop.URL + "/plain", Timeout: 15 * time.Second})
	if !res.OK {
		t.Fatalf("next run: %v", res.Failure)
	}
	if shared.Starts() != starts || shared.PID() != pid {
		t.Errorf("a renderer crash restarted the browser")
	}
}

func TestConcurrentRunsAreIsolated(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	const n = 6
	results := make(chan probe.Result, n)
	for i := range n {
		go func() {
			url := shop.URL + "/cookie"
			if i%2 == 1 {
				url = shop.URL + "/hero"
			}
			results <- shared.Browse(context.Background(), probe.Check{URL: url, Timeout: 30 * time.Second})
		}()
	}
	for range n {
		if res := <-results; !res.OK {
			t.Errorf("%s: %v", res.URL, res.Failure)
		}
	}
	if shop.cookieSeen.Load() != 0 {
		t.Errorf("%d concurrent runs saw another run's cookie", shop.cookieSeen.Load())
	}
}

func TestCanceledRun(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	res := shared.Browse(ctx, probe.Check{URL: shop.URL + "/never", Timeout: 20 * time.Second})
	if res.OK || res.Failure.Kind != probe.FailureProbeError {
		t.Fatalf("failure %v, want probe_error", res.Failure)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("canceled run took %s", took)
	}
}

func TestCallerDeadlineIsATimeout(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	res := shared.Browse(ctx, probe.Check{URL: shop.URL + "/never", Timeout: 20 * time.Second})
	took := time.Since(start)
	if res.OK || res.Failure.Kind != probe.FailureTimeout {
		t.Fatalf("failure %v, want timeout", res.Failure)
	}
	if took < 2*time.Second || took > 6*time.Second {
		t.Errorf("took %s for a 2s caller deadline", took)
	}
}
