package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// testHeapCap is the small cap of the watchdog tests' browser.
const testHeapCap = 64 << 20

// heapServer serves pages of known heap behaviour. Arrays of doubles sit
// in the JS heap at 8 bytes an element (ArrayBuffers would not: their
// backing store is outside it).
func heapServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(title, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, pageHead+"%s</body></html>", title, body)
		}
	}
	// ~50 MB more retained heap every 100 ms, for ever.
	mux.HandleFunc("/bomb", page("bomb", `<h1>Deals</h1><script>
window.keep = [];
setInterval(() => { window.keep.push(new Array(6250000).fill(Math.random() + 0.5)); }, 100);
</script>`))
	// 16 MiB of retained heap (2 Mi doubles) over a plain page's. Both
	// collect their garbage (the test browser exposes gc), so the used
	// heap is what they retain.
	mux.HandleFunc("/ballast", page("ballast", `<h1>Ballast</h1><script>
window.keep = new Array(2097152).fill(Math.random() + 0.5);
gc();
</script>`))
	mux.HandleFunc("/plain", page("plain", `<h1>Plain</h1><p>Nothing special.</p><script>gc();</script>`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// heapBrowser is a browser with a 64 MiB heap cap.
func heapBrowser(t *testing.T) *Browser {
	t.Helper()
	o := testOptions(browsertest.Chromium(t))
	o.MaxPageMemory = testHeapCap
	o.ExtraFlags = append(o.ExtraFlags, "js-flags=--expose-gc")
	b, err := Launch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func logResult(t *testing.T, res probe.Result) {
	if testing.Verbose() {
		j, _ := json.Marshal(res)
		t.Logf("%s", j)
	}
}

// TestHeapWatchdog: a page whose heap grows without bound ends its run
// as too_large long before the run's timeout, with partial results; pages
// of known heap report it.
func TestHeapWatchdog(t *testing.T) {
	srv := heapServer(t)
	b := heapBrowser(t)

	t.Run("browse bomb", func(t *testing.T) {
		start := time.Now()
		res := b.Browse(context.Background(), probe.Check{Name: "bomb", Type: probe.TypeBrowser, URL: srv.URL + "/bomb", Timeout: 20 * time.Second})
		took := time.Since(start)
		logResult(t, res)
		f := res.Failure
		if res.OK || f == nil || f.Kind != probe.FailureTooLarge || f.Phase != probe.PhaseNavigation {
			t.Fatalf("failure %+v, want too_large in navigation", f)
		}
		if f.Kind.ProbeFault() {
			t.Error("too_large counted as a probe fault")
		}
		if !strings.Contains(f.Message, "over the 64 MiB cap") || !strings.Contains(f.Message, "JavaScript heap grew to") {
			t.Errorf("message %q", f.Message)
		}
		// Trips at the first reading over the cap: one or two poll
		// periods after load, far from the 20 s timeout.
		if took > 8*time.Second {
			t.Errorf("took %s, want the run ended well before its 20 s timeout", took)
		}
		// At most one poll period (~250 MB) of growth past the cap, plus
		// slack for a late reading under load.
		if h := res.JSHeapBytes; h <= testHeapCap || h > 1<<30 {
			t.Errorf("js_heap_bytes %d, want over the cap and bounded", h)
		}
		// Partial results: the page's own measurements are kept.
		if res.Vitals.FCP == nil || res.LoadMS <= 0 || res.FinalURL != srv.URL+"/bomb" {
			t.Errorf("partial results missing: fcp %v load_ms %v final_url %q", res.Vitals.FCP, res.LoadMS, res.FinalURL)
		}
	})

	t.Run("journey bomb", func(t *testing.T) {
		dir := t.TempDir()
		j := probe.Journey{Name: "bomb", Timeout: 30 * time.Second, Steps: []probe.Step{
			{Action: probe.ActionGoto, URL: srv.URL + "/plain", Page: "plain"},
			{Action: probe.ActionGoto, URL: srv.URL + "/bomb", Page: "bomb"},
			{Action: probe.ActionWaitFor, Text: "Sold out", Timeout: 20 * time.Second},
			{Action: probe.ActionClick, Selector: "h1"},
		}}
		start := time.Now()
		res := b.RunJourney(context.Background(), probe.Check{Name: "bomb", Type: probe.TypeJourney}, j, dir)
		took := time.Since(start)
		logResult(t, res)
		f := res.Failure
		if res.OK || f == nil || f.Kind != probe.FailureTooLarge {
			t.Fatalf("failure %+v, want too_large", f)
		}
		// The bomb trips during its own navigation's settling or the
		// wait after it; either way a step on the bomb page is named.
		if n := len(res.Steps); n < 2 || n > 3 {
			t.Fatalf("%d steps reported: %+v", n, res.Steps)
		}
		failing := res.Steps[len(res.Steps)-1]
		if failing.OK || failing.Failure == nil || failing.Failure.Kind != probe.FailureTooLarge ||
			!strings.Contains(string(f.Phase), failing.Name) {
			t.Errorf("failing step %+v, journey phase %q", failing, f.Phase)
		}
		if !res.Steps[0].OK {
			t.Errorf("first step %+v", res.Steps[0])
		}
		if took > 10*time.Second {
			t.Errorf("took %s, want well before the wait's 20 s", took)
		}
		if len(res.Pages) != 2 {
			t.Fatalf("%d pages, want plain and bomb", len(res.Pages))
		}
		plain, bomb := res.Pages[0], res.Pages[1]
		if plain.JSHeapBytes <= 0 || plain.JSHeapBytes >= testHeapCap {
			t.Errorf("plain page js_heap_bytes %d", plain.JSHeapBytes)
		}
		// (A step that fails does not name its page: it is known by its path.)
		if !strings.HasSuffix(bomb.URL, "/bomb") || bomb.JSHeapBytes <= testHeapCap {
			t.Errorf("bomb page %s js_heap_bytes %d, want over the cap", bomb.URL, bomb.JSHeapBytes)
		}
		var shot bool
		for _, a := range res.Artifacts {
			if fi, err := os.Stat(filepath.Join(dir, a)); err == nil && fi.Size() > 0 && strings.HasSuffix(a, ScreenshotFile) {
				shot = true
			}
		}
		if !shot {
			t.Errorf("artifacts %q, want the failure screenshot", res.Artifacts)
		}
	})

	t.Run("halts page", func(t *testing.T) { testHeapWatchdogHaltsPage(t, b, srv) })

	t.Run("known heap", func(t *testing.T) {
		heap := map[string]int64{}
		for _, p := range []string{"/plain", "/ballast"} {
			res := b.Browse(context.Background(), probe.Check{Name: "heap", Type: probe.TypeBrowser, URL: srv.URL + p, Timeout: 20 * time.Second})
			logResult(t, res)
			if !res.OK {
				t.Fatalf("%s failed: %v", p, res.Failure)
			}
			heap[p] = res.JSHeapBytes
		}
		// A plain page with the collector: some hundreds of KiB to a few
		// MiB of heap.
		if h := heap["/plain"]; h < 100<<10 || h > 16<<20 {
			t.Errorf("plain page js_heap_bytes %d, want 100 KiB..16 MiB", h)
		}
		// The ballast is 16 MiB of doubles over the plain page, give or
		// take what the collector and a garbage collection in one page
		// but not the other move (some KiB).
		const ballast = 16 << 20
		if d := heap["/ballast"] - heap["/plain"]; d < ballast-256<<10 || d > ballast+2<<20 {
			t.Errorf("ballast page heap %d over plain %d: +%d, want ~%d", heap["/ballast"], heap["/plain"], d, ballast)
		}
	})
}

// testHeapWatchdogHaltsPage: once over the cap, the page's scripts stop,
// so it no longer grows while the run reads its results.
func testHeapWatchdogHaltsPage(t *testing.T, b *Browser, srv *httptest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, f := b.open(ctx, "", 30*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatal(f)
	}
	defer s.close()
	wctx := s.watch(ctx)
	_ = s.navigate(wctx, srv.URL+"/bomb", probe.PhaseNavigation)
	select {
	case <-wctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the watchdog did not trip")
	}
	if context.Cause(wctx) != errHeapOverCap || s.wd.failure("p") == nil {
		t.Fatalf("cause %v, failure %v", context.Cause(wctx), s.wd.failure("p"))
	}
	<-s.wd.done
	// Timer tasks already queued when scripts were switched off may
	// still run; then nothing does.
	time.Sleep(heapPoll)
	first, ok := s.wd.sample(s.ctx)
	time.Sleep(time.Second) // ten of the bomb's intervals: ~500 MB if it ran
	last, ok2 := s.wd.sample(s.ctx)
	if !ok || !ok2 {
		t.Fatal("no heap reading after the trip")
	}
	t.Logf("heap %d B after the trip, %d B a second later", first, last)
	if last-first > 60<<20 {
		t.Errorf("heap grew from %d to %d in the second after the trip", first, last)
	}
}

// TestHeapWatchdogStopsWithRun: the polling goroutine ends when the run's
// work does, also when the tab went away first.
func TestHeapWatchdogStopsWithRun(t *testing.T) {
	shared := sharedBrowser(t)
	srv := heapServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, f := shared.open(ctx, "", 30*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatal(f)
	}
	wctx := s.watch(ctx)
	if f := s.navigate(wctx, srv.URL+"/plain", probe.PhaseNavigation); f != nil {
		t.Fatal(f)
	}
	time.Sleep(heapPoll + 200*time.Millisecond)
	s.wd.stop(true, time.Now().Add(time.Second))
	select {
	case <-s.wd.done:
	default:
		t.Error("watchdog goroutine still running after stop")
	}
	if wctx.Err() == nil {
		t.Error("the watched context outlives stop")
	}
	if s.wd.maxPeak() <= 0 || s.wd.failure("x") != nil {
		t.Errorf("peak %d, failure %v", s.wd.maxPeak(), s.wd.failure("x"))
	}
	s.close()

	// A run closed without stopping its watchdog: close stops it.
	s, f = shared.open(ctx, "", 30*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatal(f)
	}
	s.watch(ctx)
	s.close()
	select {
	case <-s.wd.done:
	case <-time.After(2 * time.Second):
		t.Error("watchdog goroutine outlived its session")
	}
}

func TestHeapCapAndByteSize(t *testing.T) {
	for _, tc := range []struct {
		opt, want int64
	}{{0, DefaultMaxPageMemory}, {-1, 0}, {64 << 20, 64 << 20}} {
		b := &Browser{opts: Options{MaxPageMemory: tc.opt}}
		if got := b.heapCap(); got != tc.want {
			t.Errorf("MaxPageMemory %d: cap %d, want %d", tc.opt, got, tc.want)
		}
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{512, "512 B"}, {64 << 20, "64 MiB"}, {1 << 30, "1 GiB"}, {1288490189, "1.2 GiB"}, {301 << 20, "301 MiB"}, {1536, "1.5 KiB"},
	} {
		if got := byteSize(tc.n); got != tc.want {
			t.Errorf("byteSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
