package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// lighthouseTimeout bounds one Lighthouse run (Chrome start, load, trace,
// audits); a healthy run of these pages takes 10-30 s.
const lighthouseTimeout = 3 * time.Minute

// BenchmarkVsLighthouse measures the same loopback pages with our probe (the
// warm shared browser) and with Lighthouse 12 (on desktop a warm Chrome of
// its own it connects to, on mobile a Chrome it starts per run), in
// alternation, and reports both tools' mean LCP, FCP, CLS, TTFB and TBT, their
// run-to-run spreads, the mean absolute difference of each paired run and
// each tool's seconds per run.
// Each page also records its own LCP, FCP and CLS in the browser (see
// pageRecorder), for our run and for Lighthouse's: the mean of each record
// and each tool's mean absolute difference from the record of its own run.
// `make bench-lighthouse` installs Lighthouse and runs it; without
// $LIGHTHOUSE it is skipped.
//
// Both tools see the same conditions: desktop is Lighthouse's desktop preset
// with --throttling-method=provided (unthrottled and observed, like our
// desktop; the preset's default "simulate" would report Lantern's modelled
// values instead of measured ones); mobile is Lighthouse's default mobile
// profile with --throttling-method=devtools, the same DevTools throttling our
// Mobile device applies. TTFB is not quite the same quantity: ours is the
// navigation's responseStart (connection included), Lighthouse's
// server-response-time only the wait for the first byte. Each report's settings are checked against our
// Device so a Lighthouse upgrade cannot silently change the comparison.
func BenchmarkVsLighthouse(b *testing.B) {
	lh := os.Getenv("LIGHTHOUSE")
	if lh == "" {
		b.Skip("LIGHTHOUSE is unset: set it to a Lighthouse 12 binary (make bench-lighthouse installs one)")
	}
	if _, err := exec.LookPath(lh); err != nil {
		b.Skipf("LIGHTHOUSE=%s is not runnable: %v (make bench-lighthouse installs it)", lh, err)
	}
	// Lighthouse starts the same Chromium as our probe.
	chromium := browsertest.Chromium(b)
	shop := newShop(b)
	// On desktop Lighthouse connects to a warm Chrome of its own (--port),
	// as our probe loads pages in a warm browser: a Chrome started for the
	// run paints a fast page 20–30 ms later, a gap of start-up, not of
	// measurement. That Chrome gets the flags Lighthouse would start one
	// with: its launcher's (renderers and timers never backgrounded,
	// RenderDocument off, ...) and --chrome-flags. On mobile it starts a
	// Chrome per run: given a warm Chrome with --port, its mobile
	// emulation's resize marks the shift page's shift as after input (CLS
	// 0). Each way, a first run pulls
	// Lighthouse and Chrome into the page cache and shows a broken
	// installation before any figures are taken: without it, the first
	// measured run paints up to 100 ms late. The warm-up simulates its
	// throttling: Lighthouse holds an observed run (provided or DevTools
	// throttling) for at least 5.25 s of network quiet and then 5.25 s of
	// CPU quiet after load, most of its 18 s; a simulated one takes 10 s.
	// make bench-quick, which has time for one Lighthouse run, measures the
	// banner page on mobile (text painted, a banner injected after load:
	// LCP, FCP and CLS each their own value): there DevTools throttling sets
	// when it paints (about 630 ms, the banner at about 1 s) and one load
	// paints like the next, while on desktop Chrome's load-to-load
	// noise (a page painting at 50–90 ms or, on two busy cores, 240–270 ms
	// from one load to the next) is wider than 10 % and one run cannot tell
	// a disagreement from chance; the full run measures both devices, three
	// runs a page, and judges the difference of the means against what
	// Lighthouse's own spread lets chance move it.
	quick := os.Getenv("STOREPROBE_BENCH_QUICK") != ""
	devices := []Device{Desktop(), Mobile()}
	if quick {
		devices = []Device{Mobile()}
	}
	// The warm-ups run at once (each mostly waits on its Chrome).
	port := 0
	warmUps := make([]error, len(devices))
	var wg sync.WaitGroup
	for i, dev := range devices {
		if dev.Name == probe.DeviceDesktop {
			port = startWarmChrome(b, chromium, lh)
		}
		wg.Go(func() {
			p := 0
			if dev.Name == probe.DeviceDesktop {
				p = port
			}
			_, _, warmUps[i] = runLighthouse(context.Background(), lh, chromium, p, shop.URL+"/plain", dev, warmUp)
		})
	}
	wg.Wait()
	for i, err := range warmUps {
		if err != nil {
			b.Fatalf("lighthouse warm-up (%s): %v", devices[i].Name, err)
		}
	}
	rec := newPageRecorder(b, shop.URL)
	// Beside benchPages, the full run measures the pages of truth_test.go.
	pages := append(slices.Clone(benchPages), []struct{ name, path string }{
		{"late", "/late"},           // the cart's text rendered by script 700 ms after start
		{"bg", "/truth/bg"},         // a background image 600 ms late as LCP
		{"nodims", "/truth/nodims"}, // an image without dimensions pushes content down
		{"banner", "/truth/banner"}, // a banner injected 400 ms after load
		{"lazy", "/truth/lazy"},     // a hero whose src a script sets 300 ms after load
		{"tasks", "/truth/tasks"},   // long tasks: TBT 220 ms by construction
		{"mix", "/truth/mix"},       // render-blocking CSS, third parties, TBT 130 ms
	}...)
	if quick {
		pages = slices.DeleteFunc(pages, func(p struct{ name, path string }) bool { return p.name != "banner" })
	}
	for _, dev := range devices {
		b.Run("device="+dev.Name, func(b *testing.B) {
			for _, p := range pages {
				b.Run("page="+p.name, func(b *testing.B) {
					lhPort := 0
					if dev.Name == probe.DeviceDesktop {
						lhPort = port
					}
					benchVsLighthouse(b, lh, chromium, lhPort, rec, p.path, dev)
				})
			}
		})
	}
}

// vitalPair accumulates one vital from both tools over paired runs.
type vitalPair struct {
	ours, theirs, absDiff float64
	oursSq, theirsSq      float64 // sums of squares, for each tool's spread
	n                     int
}

func (v *vitalPair) add(ours, theirs float64) {
	v.ours += ours
	v.theirs += theirs
	v.oursSq += ours * ours
	v.theirsSq += theirs * theirs
	v.absDiff += math.Abs(ours - theirs)
	v.n++
}

// sd is the sample standard deviation of n values from their sum and sum
// of squares (0 for fewer than two).
func sd(sum, sumSq float64, n int) float64 {
	if n < 2 {
		return 0
	}
	m := sum / float64(n)
	return math.Sqrt(max(0, (sumSq-float64(n)*m*m)/float64(n-1)))
}

// report: each tool's mean and run-to-run standard deviation, the mean
// absolute difference of paired runs and the number of runs. Each pair is
// two loads, one per tool, not one load measured twice, so the difference
// of the means is the tools' disagreement and the spreads say how far
// chance alone moves it.
func (v *vitalPair) report(b *testing.B, name, unit string) {
	n := float64(v.n)
	b.ReportMetric(v.ours/n, "ours-"+name+unit)
	b.ReportMetric(v.theirs/n, "lh-"+name+unit)
	b.ReportMetric(v.absDiff/n, "absdiff-"+name+unit)
	b.ReportMetric(sd(v.ours, v.oursSq, v.n), "sd-ours-"+name+unit)
	b.ReportMetric(sd(v.theirs, v.theirsSq, v.n), "sd-lh-"+name+unit)
	b.ReportMetric(n, "runs")
}

// benchVsLighthouse compares one page on one device; Lighthouse connects to
// the Chrome at lhPort, or starts its own for each run when it is 0.
func benchVsLighthouse(b *testing.B, lh, chromium string, lhPort int, rec *pageRecorder, path string, dev Device) {
	shared := sharedBrowser(b)
	pageURL := rec.URL + path
	check := probe.Check{URL: rec.pageURL(path, "warm-"+dev.Name), Timeout: time.Minute, Browser: probe.BrowserSpec{Device: dev.Name}}
	if res := shared.Browse(context.Background(), check); !res.OK { // warm
		b.Fatalf("our probe: %v", res.Failure)
	}
	var lcp, fcp, cls, ttfb, tbt vitalPair
	var oursRec, lhRec [3]vitalPair // LCP, FCP, CLS: each tool against its own run's record
	var oursTime, lhTime time.Duration
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("%s%s-%d", dev.Name, strings.ReplaceAll(path, "/", "-"), i)
		check.URL = rec.pageURL(path, id+"-ours")
		start := time.Now()
		res := shared.Browse(context.Background(), check)
		oursTime += time.Since(start)
		if !res.OK {
			b.Fatalf("our probe: %v", res.Failure)
		}
		rep, took, err := runLighthouse(context.Background(), lh, chromium, lhPort, rec.pageURL(path, id+"-lh"), dev, measured)
		lhTime += took
		if err != nil {
			b.Fatal(err)
		}
		// Each run's own figures, so that a run unlike its neighbours (a
		// probe ending before its LCP image) can be told from the means.
		b.Logf("run %d: ours LCP %.0f ms (%s), FCP %.0f ms, settled %s at %.0f ms, %d failed requests; Lighthouse LCP %.0f ms, FCP %.0f ms",
			i, deref(res.Vitals.LCP), res.LCPElement, deref(res.Vitals.FCP), res.SettleReason, res.SettledMS, res.FailedRequests,
			mustNumeric(b, rep, "largest-contentful-paint"), mustNumeric(b, rep, "first-contentful-paint"))
		for _, side := range []struct {
			id   string
			acc  *[3]vitalPair
			vals [3]float64
		}{
			{id + "-ours", &oursRec, [3]float64{deref(res.Vitals.LCP), deref(res.Vitals.FCP), deref(res.Vitals.CLS)}},
			{id + "-lh", &lhRec, [3]float64{mustNumeric(b, rep, "largest-contentful-paint"),
				mustNumeric(b, rep, "first-contentful-paint"), mustNumeric(b, rep, "cumulative-layout-shift")}},
		} {
			r, err := rec.wait(side.id, 5*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			for k, v := range [3]float64{r.LCP, r.FCP, r.CLS} {
				side.acc[k].add(side.vals[k], v)
			}
		}
		for _, m := range []struct {
			acc   *vitalPair
			ours  *float64
			audit string
		}{
			{&lcp, res.Vitals.LCP, "largest-contentful-paint"},
			{&fcp, res.Vitals.FCP, "first-contentful-paint"},
			{&cls, res.Vitals.CLS, "cumulative-layout-shift"},
			{&ttfb, res.Vitals.TTFB, "server-response-time"},
			{&tbt, &res.TBTMS, "total-blocking-time"},
		} {
			theirs, err := rep.numeric(m.audit)
			if err != nil {
				b.Fatal(err)
			}
			if m.ours == nil {
				b.Fatalf("our probe did not measure what Lighthouse's %s audit did", m.audit)
			}
			m.acc.add(*m.ours, theirs)
		}
	}
	b.Logf("%s: LCP %.0f vs %.0f ms, FCP %.0f vs %.0f ms, CLS %.4f vs %.4f, TTFB %.1f vs %.1f ms, TBT %.0f vs %.0f ms (ours vs Lighthouse, mean of %d); %.2f vs %.2f s/run",
		pageURL, lcp.ours/float64(lcp.n), lcp.theirs/float64(lcp.n), fcp.ours/float64(fcp.n), fcp.theirs/float64(fcp.n),
		cls.ours/float64(cls.n), cls.theirs/float64(cls.n), ttfb.ours/float64(ttfb.n), ttfb.theirs/float64(ttfb.n),
		tbt.ours/float64(tbt.n), tbt.theirs/float64(tbt.n), b.N,
		oursTime.Seconds()/float64(b.N), lhTime.Seconds()/float64(b.N))
	lcp.report(b, "lcp", "-ms")
	fcp.report(b, "fcp", "-ms")
	cls.report(b, "cls", "")
	ttfb.report(b, "ttfb", "-ms")
	tbt.report(b, "tbt", "-ms")
	for k, name := range []string{"lcp-ms", "fcp-ms", "cls"} {
		n := float64(oursRec[k].n)
		b.ReportMetric(oursRec[k].theirs/n, "rec-"+name)
		b.ReportMetric(oursRec[k].absDiff/n, "absdiff-rec-"+name)
		b.ReportMetric(lhRec[k].theirs/float64(lhRec[k].n), "lhrec-"+name)
		b.ReportMetric(lhRec[k].absDiff/float64(lhRec[k].n), "lh-absdiff-rec-"+name)
	}
	b.ReportMetric(oursTime.Seconds()/float64(b.N), "ours-s/run")
	b.ReportMetric(lhTime.Seconds()/float64(b.N), "lh-s/run")
	b.ReportMetric(0, "ns/op") // the sum of both tools' time means nothing
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func mustNumeric(b *testing.B, rep *lighthouseReport, audit string) float64 {
	b.Helper()
	v, err := rep.numeric(audit)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// pageRecorder serves the shop's pages with a script of the page's own that
// records its LCP, FCP and CLS with PerformanceObserver and beacons them to
// /record: a reference measured inside the page, by neither tool. Requests
// for /r/PATH?rec=ID get the shop's PATH with the script; everything else is
// the shop's.
//
// CLS sums every shift in 1 s / 5 s session windows, input or not: these
// loads have no input, and Chrome marks the shifts of the first 500 ms
// after an emulation resize as "recent input" (crbug.com/1094974), which
// would hide the mobile page's shift from a script that skips them.
type pageRecorder struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]pageRecord
}

type pageRecord struct {
	LCP, FCP, CLS float64
	HasLCP        bool
}

const pageRecorderScript = `<script>(() => {
  const id = new URLSearchParams(location.search).get('rec');
  const rec = {lcp: null, fcp: null, cls: 0};
  const send = () => navigator.sendBeacon('/record?id=' + encodeURIComponent(id), JSON.stringify(rec));
  let win = 0, first = -1e9, last = -1e9;
  new PerformanceObserver(l => { for (const e of l.getEntries()) rec.lcp = e.startTime; send(); })
    .observe({type: 'largest-contentful-paint', buffered: true});
  new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.name === 'first-contentful-paint') rec.fcp = e.startTime; send(); })
    .observe({type: 'paint', buffered: true});
  new PerformanceObserver(l => {
    for (const e of l.getEntries()) {
      if (e.startTime - last > 1000 || e.startTime - first > 5000) { win = 0; first = e.startTime; }
      win += e.value; last = e.startTime; rec.cls = Math.max(rec.cls, win);
    }
    send();
  }).observe({type: 'layout-shift', buffered: true});
})();</script>`

func newPageRecorder(tb testing.TB, shopURL string) *pageRecorder {
	target, err := url.Parse(shopURL)
	if err != nil {
		tb.Fatal(err)
	}
	r := &pageRecorder{got: map[string]pageRecord{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	mux.HandleFunc("/r/", func(w http.ResponseWriter, req *http.Request) {
		resp, err := http.Get(shopURL + strings.TrimPrefix(req.URL.Path, "/r"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, strings.Replace(string(page), "</body>", pageRecorderScript+"</body>", 1))
	})
	mux.HandleFunc("/record", func(w http.ResponseWriter, req *http.Request) {
		var v struct{ LCP, FCP, CLS *float64 }
		if err := json.NewDecoder(io.LimitReader(req.Body, 4096)).Decode(&v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := req.URL.Query().Get("id")
		r.mu.Lock()
		defer r.mu.Unlock()
		// Beacons may arrive out of order; each value only grows (the
		// last LCP candidate is the largest, CLS is a maximum).
		cur := r.got[id]
		if v.LCP != nil && *v.LCP >= cur.LCP {
			cur.LCP, cur.HasLCP = *v.LCP, true
		}
		if v.FCP != nil {
			cur.FCP = *v.FCP
		}
		if v.CLS != nil {
			cur.CLS = max(cur.CLS, *v.CLS)
		}
		r.got[id] = cur
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("/", proxy)
	r.Server = httptest.NewServer(mux)
	tb.Cleanup(r.Close)
	return r
}

// pageURL is path served with the recording script, recorded under id.
func (r *pageRecorder) pageURL(path, id string) string {
	return r.URL + "/r" + path + "?rec=" + url.QueryEscape(id)
}

// wait returns the record of id once it has its LCP (the last value a page
// reports before it settles), or an error after limit.
func (r *pageRecorder) wait(id string, limit time.Duration) (pageRecord, error) {
	deadline := time.Now().Add(limit)
	for {
		r.mu.Lock()
		got, ok := r.got[id]
		r.mu.Unlock()
		if ok && got.HasLCP && got.FCP > 0 {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("page %s recorded no LCP and FCP of its own within %v (got %+v)", id, limit, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lighthouseReport is the part of Lighthouse's JSON report (LHR) we read.
type lighthouseReport struct {
	LighthouseVersion string `json:"lighthouseVersion"`
	RuntimeError      *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"runtimeError"`
	RunWarnings    []string `json:"runWarnings"`
	ConfigSettings struct {
		FormFactor       string `json:"formFactor"`
		ThrottlingMethod string `json:"throttlingMethod"`
		Throttling       struct {
			RequestLatencyMs       float64 `json:"requestLatencyMs"`
			DownloadThroughputKbps float64 `json:"downloadThroughputKbps"`
			UploadThroughputKbps   float64 `json:"uploadThroughputKbps"`
			CPUSlowdownMultiplier  float64 `json:"cpuSlowdownMultiplier"`
		} `json:"throttling"`
		ScreenEmulation struct {
			Mobile            bool    `json:"mobile"`
			Width             int64   `json:"width"`
			Height            int64   `json:"height"`
			DeviceScaleFactor float64 `json:"deviceScaleFactor"`
		} `json:"screenEmulation"`
	} `json:"configSettings"`
	Audits map[string]struct {
		NumericValue *float64 `json:"numericValue"`
		ErrorMessage string   `json:"errorMessage"`
		Details      struct {
			Items []struct {
				URL string `json:"url"`
			} `json:"items"`
		} `json:"details"`
	} `json:"audits"`
}

func (r *lighthouseReport) numeric(audit string) (float64, error) {
	a, ok := r.Audits[audit]
	switch {
	case !ok:
		return 0, fmt.Errorf("lighthouse report has no %s audit", audit)
	case a.NumericValue == nil:
		return 0, fmt.Errorf("lighthouse %s audit has no value: %s", audit, a.ErrorMessage)
	}
	return *a.NumericValue, nil
}

// check verifies that Lighthouse measured what we asked, under dev's
// conditions (a warm-up with simulated throttling), and that the page's
// requests stayed on loopback.
func (r *lighthouseReport) check(dev Device, kind lighthouseRun) error {
	if r.RuntimeError != nil && r.RuntimeError.Code != "" {
		return fmt.Errorf("lighthouse runtime error %s: %s", r.RuntimeError.Code, r.RuntimeError.Message)
	}
	// A warning means the run may not have measured the page as loaded
	// (too slow to finish, stored data, a redirect), except Lighthouse's
	// CPU calibration note: on a busy machine its benchmark index dips,
	// which speaks to its score's comparability, not to the metrics.
	for _, w := range r.RunWarnings {
		if !strings.Contains(w, "slower CPU than") {
			return fmt.Errorf("lighthouse warning: %s", w)
		}
	}
	cs := r.ConfigSettings
	se := cs.ScreenEmulation
	if cs.FormFactor != dev.Name || se.Mobile != dev.Mobile || se.Width != dev.Width || se.Height != dev.Height || se.DeviceScaleFactor != dev.DPR {
		return fmt.Errorf("lighthouse emulated %s %dx%d@%g (mobile %t), our %s device is %dx%d@%g (mobile %t)",
			cs.FormFactor, se.Width, se.Height, se.DeviceScaleFactor, se.Mobile, dev.Name, dev.Width, dev.Height, dev.DPR, dev.Mobile)
	}
	th := cs.Throttling
	wantMethod := "provided"
	if dev.Latency > 0 {
		wantMethod = "devtools"
		const eps = 1e-6
		if math.Abs(th.RequestLatencyMs-float64(dev.Latency)/float64(time.Millisecond)) > eps ||
			math.Abs(th.DownloadThroughputKbps-dev.DownloadKbps) > eps ||
			math.Abs(th.UploadThroughputKbps-dev.UploadKbps) > eps ||
			th.CPUSlowdownMultiplier != dev.CPUSlowdown {
			return fmt.Errorf("lighthouse throttled %+v, our %s device %v latency, %g/%g Kbps, %gx CPU",
				th, dev.Name, dev.Latency, dev.DownloadKbps, dev.UploadKbps, dev.CPUSlowdown)
		}
	}
	if kind == warmUp {
		wantMethod = "simulate"
	}
	if cs.ThrottlingMethod != wantMethod {
		return fmt.Errorf("lighthouse throttling method %q, want %q", cs.ThrottlingMethod, wantMethod)
	}
	// Every request the page made, as Lighthouse recorded them.
	reqs, ok := r.Audits["network-requests"]
	if !ok || len(reqs.Details.Items) == 0 {
		return errors.New("lighthouse report lists no network requests")
	}
	for _, it := range reqs.Details.Items {
		u, err := url.Parse(it.URL)
		if err != nil {
			return fmt.Errorf("lighthouse request %q: %w", it.URL, err)
		}
		if u.Scheme == "data" || u.Scheme == "blob" {
			continue
		}
		if h := u.Hostname(); h != "127.0.0.1" && !strings.HasSuffix(h, "."+testTLD) {
			return fmt.Errorf("lighthouse's Chrome requested %s, off loopback", it.URL)
		}
	}
	return nil
}

// lighthouseArgs builds Lighthouse's command line for dev, starting the
// Chromium at chromium (see BenchmarkVsLighthouse for why these throttling
// methods).
func lighthouseArgs(chromium string, port int, pageURL string, dev Device, kind lighthouseRun) []string {
	// chrome-launcher splits --chrome-flags like a shell: the rules, which
	// hold spaces, go in single quotes.
	flags := lighthouseChromeFlags()
	for i, f := range flags {
		if rules, ok := strings.CutPrefix(f, "--host-resolver-rules="); ok {
			flags[i] = "--host-resolver-rules='" + rules + "'"
		}
	}
	args := []string{pageURL, "--chrome-path=" + chromium, "--chrome-flags=" + strings.Join(flags, " "),
		"--only-categories=performance", "--output=json", "--output-path=stdout", "--quiet",
		"--no-enable-error-reporting"}
	if port > 0 {
		// Lighthouse opens a tab in that Chrome and ignores the flags above.
		args = append(args, fmt.Sprintf("--port=%d", port))
	}
	method := "devtools"
	if dev.Name == probe.DeviceDesktop {
		args = append(args, "--preset=desktop")
		method = "provided"
	}
	if kind == warmUp {
		method = "simulate"
	}
	return append(args, "--throttling-method="+method)
}

// lighthouseChromeFlags are the flags Lighthouse is asked to add to its
// Chrome's: those of our own browser that bear on a load, and the same
// resolver rules as the tests' browser so nothing leaves loopback.
func lighthouseChromeFlags() []string {
	flags := []string{"--headless=new", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-domain-reliability", "--no-first-run",
		"--disable-quic", "--host-resolver-rules=" + testResolverRules}
	if os.Getuid() == 0 {
		flags = append(flags, "--no-sandbox")
	}
	if shmTooSmall("/dev/shm") {
		flags = append(flags, "--disable-dev-shm-usage")
	}
	return flags
}

// launcherFlags asks the chrome-launcher that Lighthouse at lh uses for the
// flags it starts every Chrome with (Launcher.defaultFlags(): renderers and
// timers never backgrounded, RenderDocument off, ...), so that a Chrome we
// start for Lighthouse is the one it would have started.
func launcherFlags(tb testing.TB, lh string) []string {
	tb.Helper()
	main, err := filepath.EvalSymlinks(lh)
	if err != nil {
		tb.Fatalf("find Lighthouse's files: %v", err)
	}
	const script = `import {createRequire} from 'node:module';
import {pathToFileURL} from 'node:url';
const launcher = await import(pathToFileURL(createRequire(process.argv[1]).resolve('chrome-launcher')).href);
console.log(JSON.stringify(launcher.Launcher.defaultFlags()));`
	out, err := exec.Command("node", "--input-type=module", "-e", script, main).Output()
	if err != nil {
		tb.Fatalf("ask Lighthouse's chrome-launcher for its Chrome flags: %v", err)
	}
	var flags []string
	if err := json.Unmarshal(out, &flags); err != nil || len(flags) == 0 {
		tb.Fatalf("chrome-launcher's flags %q: %v", out, err)
	}
	return flags
}

// lighthouseRun is what a Lighthouse run is for.
type lighthouseRun int

const (
	measured lighthouseRun = iota // its figures are compared: settings checked
	warmUp                        // fills caches; only its success counts
)

// runLighthouse runs Lighthouse once and returns its checked report and the
// wall time it took. Lighthouse and its Chrome run in their own process
// group, killed whole afterwards and on timeout, so no Chrome outlives a run.
func runLighthouse(ctx context.Context, bin, chromium string, port int, pageURL string, dev Device, kind lighthouseRun) (*lighthouseReport, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, lighthouseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, lighthouseArgs(chromium, port, pageURL, dev, kind)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if cmd.Process != nil {
		killGroup(cmd.Process.Pid)
	}
	if err != nil {
		return nil, took, fmt.Errorf("lighthouse %s (%s): %w: %s", pageURL, dev.Name, err, lastChars(stderr.String(), 2000))
	}
	var rep lighthouseReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, took, fmt.Errorf("lighthouse %s (%s): read report: %w", pageURL, dev.Name, err)
	}
	if err := rep.check(dev, kind); err != nil {
		return nil, took, fmt.Errorf("lighthouse %s %s (%s): %w", rep.LighthouseVersion, pageURL, dev.Name, err)
	}
	return &rep, took, nil
}

func lastChars(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// startWarmChrome starts Chromium with the flags Lighthouse at lh would
// start it with (its chrome-launcher's and lighthouseChromeFlags) and a
// DevTools port for Lighthouse's --port, in a process group killed when tb
// ends, and returns the port.
func startWarmChrome(tb testing.TB, chromium, lh string) int {
	tb.Helper()
	dir := tb.TempDir()
	args := append(launcherFlags(tb, lh), lighthouseChromeFlags()...)
	args = append(args, "--remote-debugging-port=0", "--user-data-dir="+dir)
	cmd := exec.Command(chromium, append(args, "about:blank")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start a warm Chrome for Lighthouse: %v", err)
	}
	tb.Cleanup(func() {
		killGroup(cmd.Process.Pid)
		cmd.Wait()
	})
	// Chrome writes the port it chose to DevToolsActivePort once it listens.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if err != nil {
			continue
		}
		first, _, _ := strings.Cut(string(data), "\n")
		if port, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && port > 0 {
			return port
		}
	}
	tb.Fatalf("the warm Chrome wrote no DevToolsActivePort in 30 s")
	return 0
}
