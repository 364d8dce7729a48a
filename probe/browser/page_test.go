package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/storeprobe/storeprobe/probe"
)

func browse(t *testing.T, url string, mod func(*probe.Check)) probe.Result {
	shared := sharedBrowser(t)
	t.Helper()
	c := probe.Check{Name: "t", Type: probe.TypeBrowser, URL: url, Timeout: 20 * time.Second}
	if mod != nil {
		mod(&c)
	}
	res := shared.Browse(context.Background(), c)
	if testing.Verbose() {
		j, _ := json.Marshal(res)
		t.Logf("%s", j)
	}
	return res
}

func TestBrowseLCPOfDelayedHero(t *testing.T) {
	shop := newShop(t)
	res := browse(t, shop.URL+"/hero", nil)
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	lcp := must(t, res.Vitals.LCP, "lcp")
	fcp := must(t, res.Vitals.FCP, "fcp")
	// The image is served 800 ms after it is asked for; its paint is the
	// LCP, while the text before it is the FCP.
	within(t, "lcp_ms", lcp, 800, 800+2000)
	if fcp >= lcp-500 {
		t.Errorf("fcp %.0f should precede the hero's lcp %.0f by the image delay", fcp, lcp)
	}
	if res.LCPElement != "img#hero.banner.wide" {
		t.Errorf("lcp_element = %q, want img#hero.banner.wide", res.LCPElement)
	}
	if res.Requests < 2 || res.TransferBytes < int64(len(shop.hero)) {
		t.Errorf("requests %d transfer_bytes %d, want >= 2 and >= %d", res.Requests, res.TransferBytes, len(shop.hero))
	}
	if res.LoadMS < lcp-100 || res.DurationMS != res.LoadMS {
		t.Errorf("load_ms %.0f duration_ms %.0f: load waits for the image (lcp %.0f)", res.LoadMS, res.DurationMS, lcp)
	}
	if res.Vitals.INP != nil {
		t.Errorf("inp = %v without any interaction, want null", *res.Vitals.INP)
	}
	if res.Ratings.LCP != probe.RatingGood || res.Device != "desktop" || res.Type != probe.TypeBrowser {
		t.Errorf("ratings %+v device %q type %q", res.Ratings, res.Device, res.Type)
	}
	within(t, "ttfb_ms", must(t, res.Vitals.TTFB, "ttfb"), 0, 500)
	if raw, _ := json.Marshal(res); !strings.Contains(string(raw), `"console_errors":[]`) {
		t.Errorf("a page without console errors must have console_errors [], not null: %s", raw)
	}
	if res.DOMContentLoadedMS <= 0 || res.DOMContentLoadedMS > res.LoadMS {
		t.Errorf("dom_content_loaded_ms %.1f, load_ms %.1f", res.DOMContentLoadedMS, res.LoadMS)
	}
}

func TestBrowseCLS(t *testing.T) {
	shop := newShop(t)
	// #shifted (full width, 400 px high at y=0) moves down 300 px, 300 ms
	// after load: the impact region is the union of its old and new boxes,
	// y 0..700, over the viewport height; the distance fraction is 300 px
	// over the larger viewport side.
	tests := []struct {
		device string
		want   float64
	}{
		{probe.DeviceDesktop, (700.0 / 940.0) * (300.0 / 1350.0)}, // 1350x940: 0.1655
		// 412x823 under CPU and network throttling: the shift comes well
		// after the last request, so settling must count from the load
		// event, not from the network alone (Lighthouse reads 0.3100).
		{probe.DeviceMobile, (700.0 / 823.0) * (300.0 / 823.0)},
	}
	for _, tc := range tests {
		t.Run(tc.device, func(t *testing.T) {
			res := browse(t, shop.URL+"/shift", func(c *probe.Check) { c.Browser.Device = tc.device })
			if !res.OK {
				t.Fatalf("failed: %v", res.Failure)
			}
			within(t, "cls", must(t, res.Vitals.CLS, "cls"), tc.want-0.003, tc.want+0.003)
			if r := probe.Rate(probe.VitalCLS, tc.want); res.Ratings.CLS != r {
				t.Errorf("cls rating %q, want %s for %.4f", res.Ratings.CLS, r, tc.want)
			}
		})
	}
}

func TestBrowseFailures(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	tlsSrv := httptest.NewTLSServer(nil)
	defer tlsSrv.Close()
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		kind    probe.FailureKind
	}{
		{"dns", "http://shop.test/", 0, probe.FailureDNS},
		{"connect", closedPort(t) + "/", 0, probe.FailureConnect},
		{"tls", tlsSrv.URL + "/", 0, probe.FailureTLS},
		{"status", shop.URL + "/missing", 0, probe.FailureStatus},
		{"timeout", shop.URL + "/never", 2 * time.Second, probe.FailureTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := probe.Check{Name: "t", Type: probe.TypeBrowser, URL: tc.url, Timeout: 20 * time.Second}
			if tc.timeout > 0 {
				c.Timeout = tc.timeout
			}
			start := time.Now()
			res := shared.BrowseWith(context.Background(), c, BrowseOptions{ArtifactsDir: dir})
			took := time.Since(start)
			if res.OK || res.Failure == nil || res.Failure.Kind != tc.kind {
				t.Fatalf("result ok=%v failure=%v, want %s", res.OK, res.Failure, tc.kind)
			}
			if tc.timeout > 0 {
				// On time: not before the deadline, and not long after it
				// (partial vitals and cleanup have a small budget).
				if took < tc.timeout || took > tc.timeout+4*time.Second {
					t.Errorf("timed out after %s, want about %s", took, tc.timeout)
				}
				within(t, "duration_ms", res.DurationMS, probe.Millis(tc.timeout), probe.Millis(tc.timeout)+1000)
			}
			// Every failure keeps its evidence, a timed-out page too.
			if len(res.Artifacts) != 2 || !strings.HasSuffix(res.Artifacts[0], ScreenshotFile) {
				t.Fatalf("artifacts %q, want a screenshot and the request log", res.Artifacts)
			}
			if b, err := os.ReadFile(filepath.Join(dir, res.Artifacts[0])); err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
				t.Errorf("failure screenshot: %v (%d bytes)", err, len(b))
			}
		})
	}
}

func TestBrowseLimits(t *testing.T) {
	shop := newShop(t)
	res := browse(t, shop.URL+"/hero", func(c *probe.Check) { c.Browser.MaxLoad = 300 * time.Millisecond })
	if res.OK || res.Failure.Kind != probe.FailureTooSlow {
		t.Fatalf("max-load 300ms on an 800 ms page: ok=%v failure=%v, want too_slow", res.OK, res.Failure)
	}
	res = browse(t, shop.URL+"/shift", func(c *probe.Check) {
		c.Browser.MaxVitals = map[probe.Vital]float64{probe.VitalCLS: 0.05, probe.VitalLCP: 10000}
	})
	if res.OK || res.Failure.Kind != probe.FailureTooSlow {
		t.Fatalf("max cls 0.05 on a 0.165 page: failure=%v, want too_slow", res.Failure)
	}
	res = browse(t, shop.URL+"/plain", func(c *probe.Check) {
		c.Browser.MaxLoad = 10 * time.Second
		c.Browser.MaxVitals = map[probe.Vital]float64{probe.VitalCLS: 0.05, probe.VitalLCP: 10000}
	})
	if !res.OK {
		t.Fatalf("plain page within limits failed: %v", res.Failure)
	}
}

func TestBrowseConsoleErrors(t *testing.T) {
	shop := newShop(t)
	res := browse(t, shop.URL+"/throws", nil)
	if !res.OK {
		t.Fatalf("an uncaught error without fail_on_console must not fail: %v", res.Failure)
	}
	if !contains(res.ConsoleErrors, "boom at checkout") {
		t.Errorf("console_errors %q lack the exception", res.ConsoleErrors)
	}
	res = browse(t, shop.URL+"/throws", func(c *probe.Check) { c.Browser.FailOnConsole = true })
	if res.OK || res.Failure.Kind != probe.FailureScript {
		t.Fatalf("failure %v, want script", res.Failure)
	}
}

func TestBrowseNoCookiesLeakBetweenRuns(t *testing.T) {
	shop := newShop(t)
	for range 3 {
		if res := browse(t, shop.URL+"/cookie", nil); !res.OK {
			t.Fatalf("failed: %v", res.Failure)
		}
	}
	if shop.cookieTotal.Load() != 3 || shop.cookieSeen.Load() != 0 {
		t.Errorf("%d of %d runs sent the previous run's cookie", shop.cookieSeen.Load(), shop.cookieTotal.Load())
	}
}

// TestBrowseMobileThrottling: the mobile device's DevTools throttling
// measurably slows a page by its request latency, and puts that latency on
// the page's critical path once, as Lighthouse's devtools mode does.
func TestBrowseMobileThrottling(t *testing.T) {
	shop := newShop(t)
	desk := browse(t, shop.URL+"/plain", nil)
	mob := browse(t, shop.URL+"/plain", func(c *probe.Check) { c.Browser.Device = probe.DeviceMobile })
	if !desk.OK || !mob.OK {
		t.Fatalf("desktop %v mobile %v", desk.Failure, mob.Failure)
	}
	lat := probe.Millis(Mobile().Latency)
	// DevTools throttling delays what the renderer receives, so the page's
	// FCP and load carry the latency. On loopback the unthrottled page
	// takes a few tens of ms, so anything at or above the latency is the
	// throttle's doing.
	if mf := must(t, mob.Vitals.FCP, "fcp"); mf < lat {
		t.Errorf("mobile fcp %.0f ms, want >= the %.1f ms request latency", mf, lat)
	}
	if mob.LoadMS < lat || desk.LoadMS >= lat {
		t.Errorf("load: mobile %.0f ms, desktop %.0f ms; want mobile >= %.1f ms > desktop", mob.LoadMS, desk.LoadMS, lat)
	}
	// Chrome holds the throttled response's headers back after they
	// arrived (receiveHeadersStart to receiveHeadersEnd), so responseStart,
	// our TTFB, keeps the server's own time, like Lighthouse's
	// server-response-time (receiveHeadersStart - sendEnd) in this mode.
	if tt := must(t, mob.Vitals.TTFB, "ttfb"); tt >= lat/2 {
		t.Errorf("mobile ttfb %.1f ms, want the loopback server's few ms, without the %.1f ms latency", tt, lat)
	}
	if mob.Device != probe.DeviceMobile {
		t.Errorf("device %q", mob.Device)
	}

	// One latency, not two: the document's headers reach the page one
	// latency after it was requested (the server answers at once), and
	// its first paint comes after them. The render itself runs under the
	// 4x CPU slowdown, so FCP's distance from the headers depends on the
	// machine's load; the delivery of the headers does not.
	for _, tc := range []struct {
		device   string
		min, max float64 // when the document's headers were delivered, ms after its request
	}{
		{probe.DeviceDesktop, 0, lat / 2},
		{probe.DeviceMobile, lat - 1, 1.5 * lat}, // a millisecond for timer rounding
	} {
		hdr, fcp := documentDelivery(t, shop.URL+"/plain", tc.device)
		if hdr < tc.min || hdr >= tc.max {
			t.Errorf("%s: the document's headers were delivered %.1f ms after its request, want [%.1f, %.1f) for a %.1f ms latency",
				tc.device, hdr, tc.min, tc.max, lat)
		}
		if fcp < hdr {
			t.Errorf("%s: fcp %.1f ms before the document's headers at %.1f ms", tc.device, fcp, hdr)
		}
	}
}

// documentDelivery loads url on device in a run of its own and returns when
// Chrome delivered the main document's response headers to the page
// (Network's receiveHeadersEnd, ms after the request started) and the
// page's FCP.
func documentDelivery(t *testing.T, url, device string) (hdr, fcp float64) {
	shared := sharedBrowser(t)
	t.Helper()
	s, f := shared.open(context.Background(), device, 20*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatalf("%s: open: %v", device, f)
	}
	defer s.close()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if f := s.navigate(ctx, url, probe.PhaseNavigation); f != nil {
		t.Fatalf("%s: %v", device, f)
	}
	if err := s.settle(ctx, true); err != nil {
		t.Fatalf("%s: settle: %v", device, err)
	}
	s.collect(ctx)
	snap := s.tr.snapshot()
	if len(snap.docs) == 0 {
		t.Fatalf("%s: no vitals", device)
	}
	fcp = must(t, snap.docs[len(snap.docs)-1].v.FCP, "fcp")
	for _, r := range s.tr.requestLog() {
		if r.main && r.Type == string(network.ResourceTypeDocument) && r.timing != nil {
			return r.timing.ReceiveHeadersEnd, fcp
		}
	}
	t.Fatalf("%s: no timing for the main document in %d requests", device, len(s.tr.requestLog()))
	return 0, 0
}

func TestBrowseScreenshotAndArtifacts(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "page.png")
	c := probe.Check{Name: "art", URL: shop.URL + "/missing", Timeout: 10 * time.Second}
	res := shared.BrowseWith(context.Background(), c, BrowseOptions{ScreenshotFile: shot, ArtifactsDir: dir})
	if res.OK {
		t.Fatal("404 page passed")
	}
	if b, err := os.ReadFile(shot); err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Errorf("screenshot: %v (%d bytes)", err, len(b))
	}
	if len(res.Artifacts) != 2 {
		t.Fatalf("artifacts %q, want screenshot and request log", res.Artifacts)
	}
	raw, err := os.ReadFile(filepath.Join(dir, res.Artifacts[1]))
	if err != nil {
		t.Fatal(err)
	}
	var har harLog
	if err := json.Unmarshal(raw, &har); err != nil {
		t.Fatal(err)
	}
	if len(har.Log.Entries) == 0 || har.Log.Entries[0].Response.Status != 404 || len(har.Log.Failed) == 0 {
		t.Errorf("request log %s", raw)
	}
}

// TestBrowseTallScreenshot: a 200,000 px page is captured down to
// MaxScreenshotHeight and the cut is reported; a file that cannot be
// written is an error, not silence.
func TestBrowseTallScreenshot(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	dir := t.TempDir()
	c := probe.Check{Name: "tall", URL: shop.URL + "/tall", Timeout: 20 * time.Second}
	for _, tc := range []struct {
		file    string
		wantErr bool
	}{
		{filepath.Join(dir, "tall.png"), false},
		{filepath.Join(dir, "no-such-dir", "tall.png"), true},
	} {
		var rep *ScreenshotReport
		res := shared.BrowseWith(context.Background(), c, BrowseOptions{ScreenshotFile: tc.file,
			OnScreenshot: func(r ScreenshotReport) { rep = &r }})
		if !res.OK {
			t.Fatalf("failed: %v", res.Failure)
		}
		if rep == nil {
			t.Fatal("no screenshot report")
		}
		if tc.wantErr {
			if rep.Err == nil {
				t.Errorf("writing %s: no error", tc.file)
			}
			continue
		}
		if rep.Err != nil || !rep.Clipped || rep.PageHeight < 200000 {
			t.Fatalf("report %+v, want a clipped 200000 px page", rep)
		}
		f, err := os.Open(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Height != MaxScreenshotHeight || cfg.Width != 1350 {
			t.Errorf("png %dx%d (%v), want 1350x%d", cfg.Width, cfg.Height, err, MaxScreenshotHeight)
		}
	}
}

// TestBrowseRendererCrashDuringNavigation: the renderer is killed while
// the document is being fetched; that is browser_crash (ours), not the
// shop's navigation failure.
func TestBrowseRendererCrashDuringNavigation(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	done := make(chan probe.Result, 1)
	go func() { done <- browse(t, shop.URL+"/slow-doc", nil) }()
	select {
	case <-shop.slowHit:
	case <-time.After(10 * time.Second):
		t.Fatal("the page was never asked for")
	}
	shared.mu.Lock()
	inst := shared.inst
	shared.mu.Unlock()
	killed := 0
	for _, pid := range GroupPIDs(inst.pid) {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if bytes.Contains(cmd, []byte("--type=renderer")) && !bytes.Contains(cmd, []byte("--extension-process")) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatal("no renderer to kill")
	}
	res := <-done
	if res.OK || res.Failure.Kind != probe.FailureBrowserCrash {
		t.Errorf("failure %v, want browser_crash", res.Failure)
	}
	// The browser is still fine for the next run.
	if res := browse(t, shop.URL+"/plain", nil); !res.OK {
		t.Errorf("next run: %v", res.Failure)
	}
}

// TestTrackerBoundsPerRun: with lowered limits, a page making more
// requests and frames than they allow keeps at most that much detail,
// while its totals still count every request.
func TestTrackerBoundsPerRun(t *testing.T) {
	shared := sharedBrowser(t)
	shop := newShop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, f := shared.open(ctx, "", 30*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatal(f)
	}
	defer s.close()
	s.tr.mu.Lock()
	s.tr.limits = limits{requests: 50, inflight: 4096, loaders: 4, pages: 64}
	s.tr.mu.Unlock()
	ctx, cancel = context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	if f := s.navigate(ctx, shop.URL+"/fetchloop", probe.PhaseNavigation); f != nil {
		t.Fatal(f)
	}
	js := `document.getElementById('out').textContent === 'done'`
	if err := pollJS(ctx, s, "() => "+js); err != nil {
		t.Fatal(err)
	}
	if err := s.settle(ctx, true); err != nil {
		t.Fatal(err)
	}
	s.collect(ctx)
	snap := s.tr.snapshot()
	s.tr.mu.Lock()
	byID, inflight, logged, stats, loader := len(s.tr.byID), len(s.tr.inflight), len(s.tr.requests), len(s.tr.stats), s.tr.loader
	s.tr.mu.Unlock()
	if byID != 0 || inflight != 0 {
		t.Errorf("%d requests still held by id, %d in flight, after every request ended", byID, inflight)
	}
	if logged != 50 || stats > 4+1 {
		t.Errorf("%d requests logged (cap 50), network totals for %d documents (cap 4 + the page)", logged, stats)
	}
	// The document, its 300 fetches and its 12 frames' documents: a
	// frame's requests are its page's.
	if got := snap.stats[loader].requests; got != 313 {
		t.Errorf("page requests %d, want 313", got)
	}
	if snap.dropped < 301+12-50 {
		t.Errorf("%d requests counted as dropped from the log, want >= %d", snap.dropped, 301+12-50)
	}
	if len(snap.docs) != 1 {
		t.Errorf("%d documents with vitals, want 1", len(snap.docs))
	}
}
