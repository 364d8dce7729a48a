package browser

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"

	"github.com/storeprobe/storeprobe/probe"
)

// DefaultMaxPageMemory is the cap on a run's JavaScript heap when
// Options.MaxPageMemory is 0.
const DefaultMaxPageMemory int64 = 1 << 30

// heapPoll is how often the watchdog reads the page's heap: one CDP call
// per run and period. A page allocating 500 MB/s overshoots the cap by at
// most one period's growth before the run is ended.
const heapPoll = 500 * time.Millisecond

// heapCallTimeout bounds one heap reading; a page busy in a long task
// answers late, and the next tick simply comes after it.
const heapCallTimeout = time.Second

// errHeapOverCap is the cause of a run context the watchdog cancelled.
var errHeapOverCap = errors.New("the page's JavaScript heap is over its cap")

// watchdog bounds and measures the memory of one run's page: it polls the
// tab's Performance metrics and ends the run (cancelling its context) when
// the page's JS heap (JSHeapUsedSize: what the page's main isolate holds)
// exceeds the cap. It measures the heap's peak per document either way.
// Workers and out-of-process iframes have heaps of their own and are not
// counted.
type watchdog struct {
	s      *session
	limit  int64 // bytes; 0: measure only
	cancel context.CancelCauseFunc
	pctx   context.Context // the polling goroutine's lifetime
	pstop  context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	peak  int64
	peaks map[cdp.LoaderID]int64 // by main-frame document; at most limits.loaders
	over  int64                  // the reading that tripped the cap; 0 if none did
}

// heapCap is the run's cap from the options: 0 means off.
func (b *Browser) heapCap() int64 {
	switch c := b.opts.MaxPageMemory; {
	case c < 0:
		return 0
	case c == 0:
		return DefaultMaxPageMemory
	default:
		return c
	}
}

// watch starts the run's watchdog over ctx, the run's working context
// (its deadline included): the returned context is cancelled when the
// page's heap goes over the cap. stop must be called when the run's work
// ends, before its results are read; it ends the polling goroutine.
func (s *session) watch(ctx context.Context) context.Context {
	wctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{s: s, limit: s.b.heapCap(), cancel: cancel, done: make(chan struct{}), peaks: map[cdp.LoaderID]int64{}}
	w.pctx, w.pstop = context.WithCancel(s.ctx)
	s.wd = w
	go w.run()
	return wctx
}

func (w *watchdog) run() {
	defer close(w.done)
	tick := time.NewTicker(heapPoll)
	defer tick.Stop()
	for {
		select {
		case <-w.pctx.Done():
			return
		case <-tick.C:
		}
		used, ok := w.sample(w.pctx)
		if ok && w.limit > 0 && used > w.limit {
			w.trip(used)
			return
		}
	}
}

// sample reads the page's heap once and records it for the current
// document.
func (w *watchdog) sample(ctx context.Context) (int64, bool) {
	cctx, cancel := context.WithTimeout(ctx, heapCallTimeout)
	defer cancel()
	res, err := cdp.Call(cctx, w.s.t, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		return 0, false
	}
	var used int64 = -1
	for _, m := range res.Metrics {
		if m != nil && m.Name == "JSHeapUsedSize" {
			used = int64(m.Value)
		}
	}
	if used < 0 {
		return 0, false
	}
	w.s.tr.mu.Lock()
	loader, maxLoaders := w.s.tr.loader, w.s.tr.limits.loaders
	w.s.tr.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.peak = max(w.peak, used)
	// Before the first commit the tab shows about:blank: no document of
	// the run's to charge.
	if loader != "" {
		if p, ok := w.peaks[loader]; ok || len(w.peaks) < maxLoaders {
			w.peaks[loader] = max(p, used)
		}
	}
	return used, true
}

// trip ends the run: its context is cancelled (the runner reports
// too_large), and the page is stopped at once so it cannot keep growing
// while the runner reads its vitals and takes the failure screenshot:
// scripts are switched off (timers no longer fire) and loading stops.
func (w *watchdog) trip(used int64) {
	w.mu.Lock()
	w.over = used
	w.mu.Unlock()
	w.cancel(errHeapOverCap)
	w.s.b.log.Warn("page heap over its cap; ending the run", "heap_bytes", used, "cap_bytes", w.limit)
	ctx, cancel := context.WithTimeout(w.s.ctx, heapCallTimeout)
	defer cancel()
	_, _ = cdp.Call(ctx, w.s.t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	_, _ = cdp.Call(ctx, w.s.t, page.StopLoading, cdp.Empty{})
}

// stop ends the polling and waits for its goroutine. With final, a page
// that did not trip the cap is read once more, until deadline at most, so
// a run shorter than a poll period still has its heap measured.
// Idempotent.
func (w *watchdog) stop(final bool, deadline time.Time) {
	w.once.Do(func() {
		w.pstop()
		<-w.done
		if final && w.tripped() == nil && time.Now().Before(deadline) {
			// By the run's deadline: a page that hung after it settled
			// must not hold the run past its timeout (reading its results
			// has the run's late budget).
			ctx, cancel := context.WithDeadline(w.s.ctx, deadline)
			used, ok := w.sample(ctx)
			cancel()
			if ok && w.limit > 0 && used > w.limit {
				// Over the cap at the very end: the page grew past it
				// between two readings.
				w.mu.Lock()
				w.over = used
				w.mu.Unlock()
			}
		}
		w.cancel(nil)
	})
}

// tripped is errHeapOverCap once the cap was exceeded, else nil.
func (w *watchdog) tripped() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over > 0 {
		return errHeapOverCap
	}
	return nil
}

// failure is the run's too_large failure in phase once the cap was
// exceeded, else nil. The page's own doing, so not a probe fault.
func (w *watchdog) failure(phase probe.Phase) *probe.Failure {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	over := w.over
	w.mu.Unlock()
	if over == 0 {
		return nil
	}
	return probe.Fail(probe.FailureTooLarge, phase, "the page's JavaScript heap grew to %s, over the %s cap",
		byteSize(over), byteSize(w.limit))
}

// peakOf is the largest heap read while loader's document was the page.
func (w *watchdog) peakOf(loader cdp.LoaderID) int64 {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peaks[loader]
}

// maxPeak is the largest heap read during the run.
func (w *watchdog) maxPeak() int64 {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak
}

// byteSize formats n in binary units: "1.2 GiB", "64 MiB", "512 KiB".
func byteSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%d B", n)
	case v == float64(int64(v)) || v >= 100:
		return fmt.Sprintf("%.0f %s", v, units[i])
	default:
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
}
