package browser

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// TestNewStartsOnFirstRunOnce: a Browser from New runs nothing until a run
// needs it, and concurrent first runs share one launch.
func TestNewStartsOnFirstRunOnce(t *testing.T) {
	chromium := browsertest.Chromium(t)
	shop := newShop(t)
	b := New(testOptions(chromium))
	defer b.Close()
	if b.PID() != 0 || b.Starts() != 0 {
		t.Fatalf("pid %d, starts %d before any run: want no Chrome", b.PID(), b.Starts())
	}
	var wg sync.WaitGroup
	results := make([]probe.Result, 3)
	for i := range results {
		wg.Go(func() {
			results[i] = b.Browse(context.Background(), probe.Check{Name: "p", URL: shop.URL + "/plain", Timeout: 20 * time.Second})
		})
	}
	wg.Wait()
	for i, r := range results {
		if !r.OK {
			t.Errorf("run %d: %v", i, r.Failure)
		}
	}
	if b.Starts() != 1 || b.PID() == 0 {
		t.Errorf("starts %d, pid %d after three concurrent first runs: want one launch", b.Starts(), b.PID())
	}
	pid := b.PID()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if left := GroupPIDs(pid); len(left) > 0 {
		t.Errorf("Chrome processes outlived Close: %v", left)
	}
}

// slowChromium is an executable that never answers on the DevTools pipe,
// with a child like Chrome's zygote: a launch of it lasts until StartTimeout
// or Close. Its processes are recognisable by their odd sleep lengths.
func slowChromium(t *testing.T) (path string, mark string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "slow-chromium")
	script := "#!/bin/sh\nsleep 59.7311 &\nexec sleep 59.7312\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, "59.731"
}

// running lists live processes whose command line mentions s.
func running(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && (st[i+2] == 'Z' || st[i+2] == 'X') {
				continue
			}
		}
		out = append(out, e.Name())
	}
	return out
}

// TestLaunchHoldsNoLock: while Chromium is starting, readers (PID, RSS,
// Starts: what /metrics reads) answer at once, a run waiting for the start
// keeps its own deadline, and Close stops the launch with nothing left.
func TestLaunchHoldsNoLock(t *testing.T) {
	bin, mark := slowChromium(t)
	b := New(Options{Path: bin, StartTimeout: time.Minute})
	started := make(chan error, 1)
	go func() { started <- b.Start(context.Background()) }()
	launching := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.starting != nil
	}
	for deadline := time.Now().Add(10 * time.Second); !launching() || len(running(mark)) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the launch did not begin")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if pid, rss, starts := b.PID(), b.RSS(), b.Starts(); pid != 0 || rss != 0 || starts != 0 {
		t.Errorf("during the launch: pid %d rss %d starts %d, want zeros", pid, rss, starts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	res := b.Browse(ctx, probe.Check{Name: "w", URL: "http://127.0.0.1:1/", Timeout: time.Minute})
	cancel()
	if res.OK || res.Failure == nil {
		t.Fatalf("a run whose context ended while Chromium started: %+v", res)
	}
	if !launching() {
		t.Fatal("the launch ended before the readers and the run were checked; the test proves nothing")
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-started:
		if err == nil {
			t.Error("Start succeeded with a binary that never answers")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Start still waiting after Close")
	}
	if left := running(mark); len(left) > 0 {
		t.Errorf("the launched processes outlived Close: pids %v", left)
	}
}

// TestFailedStartIsBrowserCrashAndRetried: with no Chromium, each run fails
// as browser_crash (a probe fault), the cause is logged once, and once the
// binary exists the next run starts it.
func TestFailedStartIsBrowserCrashAndRetried(t *testing.T) {
	chromium := browsertest.Chromium(t)
	shop := newShop(t)
	path := filepath.Join(t.TempDir(), "chromium")
	var logs bytes.Buffer
	var logMu sync.Mutex
	o := testOptions(chromium)
	o.Path = path
	o.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	b := New(o)
	defer b.Close()
	for i := range 2 {
		res := b.Browse(context.Background(), probe.Check{Name: "p", URL: shop.URL + "/plain", Timeout: 10 * time.Second})
		if res.OK || res.Failure == nil || res.Failure.Kind != probe.FailureBrowserCrash || !strings.Contains(res.Failure.Message, "start chromium") {
			t.Fatalf("run %d without Chromium: %+v, want browser_crash naming the start", i, res.Failure)
		}
	}
	logMu.Lock()
	n := strings.Count(logs.String(), "cannot start Chromium")
	logMu.Unlock()
	if n != 1 {
		t.Errorf("the start failure was logged %d times over two runs, want once:\n%s", n, logs.String())
	}
	if err := os.Symlink(chromium, path); err != nil {
		t.Fatal(err)
	}
	res := b.Browse(context.Background(), probe.Check{Name: "p", URL: shop.URL + "/plain", Timeout: 20 * time.Second})
	if !res.OK || b.Starts() != 1 {
		t.Fatalf("run once Chromium exists: %+v, starts %d", res.Failure, b.Starts())
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "Chromium starts again") {
		t.Errorf("the recovery is not logged:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A Chrome that exits at start (no usable sandbox, a missing library) fails
// the run with what it printed, not after the start timeout with nothing:
// the event filter on the DevTools pipe must let chromedp see the pipe end.
func TestChromeExitingAtStartIsReported(t *testing.T) {
	shop := newShop(t)
	cases := []struct {
		name, script, want string
	}{
		{"message and exit", "#!/bin/sh\necho 'FATAL:zygote_host_impl_linux.cc(127)] No usable sandbox!' >&2\nexit 1\n", "No usable sandbox"},
		{"killed by a signal", "#!/bin/sh\necho 'starting' >&2\nkill -SEGV $$\n", "starting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chromium")
			if err := os.WriteFile(path, []byte(c.script), 0o755); err != nil {
				t.Fatal(err)
			}
			o := testOptions(path)
			o.StartTimeout = time.Minute
			b := New(o)
			defer b.Close()
			res := b.Browse(context.Background(), probe.Check{Name: "p", URL: shop.URL + "/plain", Timeout: 90 * time.Second})
			if res.OK || res.Failure == nil || res.Failure.Kind != probe.FailureBrowserCrash {
				t.Fatalf("failure %+v, want browser_crash", res.Failure)
			}
			if !strings.Contains(res.Failure.Message, c.want) {
				t.Errorf("failure %q does not show what Chrome printed (%q)", res.Failure.Message, c.want)
			}
		})
	}
}
