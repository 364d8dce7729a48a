package browser

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// benchPages are the pages the browser benchmarks load. BenchmarkVsLighthouse
// measures them among others, and cmd/storeprobe-bench takes Lighthouse's
// rate on these, so the two rates compare (it names them in browsePages).
var benchPages = []struct{ name, path string }{
	{"hero", "/hero"},   // text first, an 800 ms-delayed noisy 480x320 image as LCP
	{"shift", "/shift"}, // a 300 px layout shift 300 ms after load
	{"text", "/plain"},  // text only: LCP = FCP
}

// BenchmarkBrowse measures page probes per minute on a warm browser at 1,
// 2 and 4 probes at once, cycling through benchPages (desktop): each probe
// is a fresh incognito context, a load, the settle rule and the vitals
// read, so the settle bounds the rate of one sequential worker. One op is a
// batch of 2 × concurrency probes, so that every level keeps its slots busy
// however few ops -benchtime asks for. Two pages the settle rule is
// measured on run serially beside them: late, whose content is rendered
// 700 ms after start, and beacon, which posts a small beacon every 250 ms
// for as long as it is open.
func BenchmarkBrowse(b *testing.B) {
	shared := sharedBrowser(b)
	shop := newShop(b)
	checks := make([]probe.Check, len(benchPages))
	for i, p := range benchPages {
		checks[i] = probe.Check{URL: shop.URL + p.path, Timeout: 30 * time.Second}
	}
	late := []probe.Check{{URL: shop.URL + "/late", Timeout: 30 * time.Second}}
	beacon := []probe.Check{{URL: shop.URL + "/beacon", Timeout: 30 * time.Second}}
	for _, c := range append(append(slices.Clone(checks), late...), beacon...) {
		shared.Browse(context.Background(), c) // warm
	}
	for _, lv := range []struct {
		name   string
		checks []probe.Check
		conc   int
	}{
		{"concurrency=1", checks, 1}, {"concurrency=2", checks, 2}, {"concurrency=4", checks, 4},
		{"page=late/concurrency=1", late, 1}, {"page=beacon/concurrency=1", beacon, 1},
	} {
		b.Run(lv.name, func(b *testing.B) {
			conc, checks := lv.conc, lv.checks
			probes := 2 * conc * b.N
			start := time.Now()
			sem := make(chan struct{}, conc)
			errs := make(chan error, probes)
			for i := range probes {
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					if res := shared.Browse(context.Background(), checks[i%len(checks)]); !res.OK {
						errs <- res.Failure
					}
				}()
			}
			for range conc {
				sem <- struct{}{}
			}
			elapsed := time.Since(start)
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(probes)/elapsed.Minutes(), "probes/min")
			b.ReportMetric(float64(shared.PSS())/(1<<20), "chrome-pss-MB")
		})
	}
}

// BenchmarkJourneyOverhead measures what a journey costs beyond its pages'
// own load times: the three-page journey of the test shop (home with an
// 800 ms hero, product, cart), navigation steps only, on the warm browser.
// Overhead is the journey's wall time minus the sum of its pages' loadEventEnd:
// the context, each page's settle and vitals read, and the clicks. A single
// page probe's own overhead (its duration minus its load) is reported
// beside it, per page, for scale.
func BenchmarkJourneyOverhead(b *testing.B) {
	shared := sharedBrowser(b)
	shop := newShop(b)
	j := probe.Journey{Name: "bench", Timeout: 60 * time.Second, Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/j/home", Page: "home"},
		{Action: probe.ActionClick, Selector: "#to-product", Page: "product"},
		{Action: probe.ActionClick, Selector: "#to-cart", Page: "cart"},
	}}
	check := probe.Check{Name: j.Name, Type: probe.TypeJourney}
	page := probe.Check{URL: shop.URL + "/j/home", Timeout: 30 * time.Second}
	shared.RunJourney(context.Background(), check, j, b.TempDir()) // warm
	// A sub-benchmark, so that a -bench pattern with a second level (the
	// other browser benchmarks' sizes) still reports this one.
	b.Run("pages=3", func(b *testing.B) {
		var overhead, pageOverhead, pages float64
		for b.Loop() {
			start := time.Now()
			res := shared.RunJourney(context.Background(), check, j, b.TempDir())
			took := float64(time.Since(start)) / float64(time.Millisecond)
			if !res.OK {
				b.Fatal(res.Failure)
			}
			loads := 0.0
			for _, p := range res.Pages {
				loads += p.LoadMS
			}
			overhead += took - loads
			pages += float64(len(res.Pages))
			start = time.Now()
			single := shared.Browse(context.Background(), page)
			took = float64(time.Since(start)) / float64(time.Millisecond)
			if !single.OK || single.BrowserDetails == nil || single.PageMetrics == nil {
				b.Fatal(single.Failure)
			}
			pageOverhead += took - single.PageMetrics.LoadMS
		}
		n := float64(b.N)
		b.ReportMetric(overhead/n, "overhead-ms")
		b.ReportMetric(overhead/pages, "overhead-ms/page")
		b.ReportMetric(pageOverhead/n, "page-probe-overhead-ms")
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkContextRSS measures the resident memory of the Chrome process
// group with n incognito contexts held open on a loaded page (a 450 KB
// hero image), beside the idle browser's, for n = 1, 2, 4, 8. It has a
// browser of its own: the shared one admits 4 contexts at once.
func BenchmarkContextRSS(b *testing.B) {
	o := testOptions(browsertest.Chromium(b))
	o.MaxConcurrent = 8
	shared, err := Launch(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer shared.Close()
	shop := newShop(b)
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("contexts=%d", n), func(b *testing.B) {
			var perCtx, perCtxPSS, busyRSS, busyPSS float64
			for range b.N {
				time.Sleep(500 * time.Millisecond) // let closed contexts' renderers exit
				idle, idlePSS := shared.RSS(), shared.PSS()
				var sessions []*session
				// Bounded: a context over the browser's limit would wait;
				// the runs live as long as this context does.
				octx, ocancel := context.WithTimeout(context.Background(), 2*time.Minute)
				for range n {
					s, f := shared.open(octx, "", time.Minute, probe.NewRedactor())
					if f != nil {
						b.Fatal(f)
					}
					sessions = append(sessions, s)
					ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
					if f := s.navigate(ctx, shop.URL+"/hero", probe.PhaseNavigation); f != nil {
						b.Fatal(f)
					}
					cancel()
				}
				busy, bPSS := shared.RSS(), shared.PSS()
				for _, s := range sessions {
					s.close()
				}
				ocancel()
				perCtx += float64(busy-idle) / float64(n)
				perCtxPSS += float64(bPSS-idlePSS) / float64(n)
				busyRSS += float64(busy)
				busyPSS += float64(bPSS)
			}
			n := float64(b.N)
			b.ReportMetric(perCtx/n/(1<<20), "MB-RSS/context")
			b.ReportMetric(perCtxPSS/n/(1<<20), "MB-PSS/context")
			b.ReportMetric(busyRSS/n/(1<<20), "chrome-RSS-MB")
			b.ReportMetric(busyPSS/n/(1<<20), "chrome-PSS-MB")
			b.ReportMetric(float64(shared.PSS())/(1<<20), "idle-chrome-pss-MB")
		})
	}
}
