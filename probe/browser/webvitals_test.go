package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// Google's web-vitals library is the field definition of the vitals: the
// tests below load it into the same page loads the collector measures and
// compare the two, page by page, on pages whose truth is known.

// wvReporter records every report of web-vitals (reportAllChanges, soft
// navigations on) in window.__wv; the last report of a metric for a
// navigation is its value.
const wvReporter = `;(() => {
  if (window !== window.top || typeof webVitals !== 'object') return;
  const out = window.__wv = [];
  const rec = (m) => out.push({name: m.name, value: m.value, nav: m.navigationType || '', id: String(m.navigationId || '')});
  const o = {reportAllChanges: true, reportSoftNavs: true};
  webVitals.onLCP(rec, o); webVitals.onCLS(rec, o); webVitals.onINP(rec, o); webVitals.onFCP(rec, o); webVitals.onTTFB(rec, o);
})();`

// wvReport is one report of web-vitals.
type wvReport struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Nav   string  `json:"nav"` // navigationType: navigate, soft-navigation, ...
	ID    string  `json:"id"`
}

// wvValues are web-vitals' last values per page: the document's, then each
// soft navigation's, in order.
type wvValues []map[string]float64

func lastValues(reports []wvReport) wvValues {
	var out wvValues
	index := map[string]int{}
	for _, r := range reports {
		key := "doc"
		if r.Nav == "soft-navigation" {
			key = r.ID
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, map[string]float64{})
		}
		out[i][r.Name] = r.Value
	}
	return out
}

// withWebVitals runs steps in one run of b on device with web-vitals loaded
// beside the collector, and returns both's view of every page.
func withWebVitals(t *testing.T, b *Browser, lib []byte, device string, steps []probe.Step) ([]probe.PageResult, wvValues) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, f := b.open(ctx, device, 60*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatal(f)
	}
	defer s.close()
	if _, err := cdp.Call(ctx, s.t, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: string(lib) + wvReporter}); err != nil {
		t.Fatal(err)
	}
	jctx, jcancel := context.WithTimeout(s.ctx, 60*time.Second)
	defer jcancel()
	jctx = s.watch(jctx)
	r := &journeyRun{s: s}
	for i, st := range steps {
		if _, f := r.step(jctx, i, st); f != nil {
			t.Fatalf("step %d: %v", i+1, f)
		}
	}
	s.wd.stop(true, time.Now().Add(time.Second)) // ends jctx
	rctx, rcancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer rcancel()
	res, err := cdp.Call(rctx, s.t, runtime.Evaluate, runtime.EvaluateParams{
		Expression: `JSON.stringify(window.__wv || [])`, ReturnByValue: new(true)})
	if err != nil || res.Result == nil {
		t.Fatalf("read web-vitals: %v", err)
	}
	var raw string
	var reports []wvReport
	if err := json.Unmarshal(res.Result.Value, &raw); err != nil || json.Unmarshal([]byte(raw), &reports) != nil {
		t.Fatalf("web-vitals reports %s: %v", res.Result.Value, err)
	}
	snap := s.readResults(nil, time.Now().Add(time.Minute))
	var pages []probe.PageResult
	for i, m := range measure(snap, s.redact) {
		pages = append(pages, pageResult(snap.docs[i], m, s.redact))
	}
	return pages, lastValues(reports)
}

// TestAgainstWebVitals: the collector and web-vitals read the same page
// loads. They agree on every vital of every page to the millisecond (CLS
// to 1e-4), except where this test says why not:
//
//   - Under mobile emulation, web-vitals reports CLS 0 for shifts Chrome
//     marks hadRecentInput after the emulation's resize (crbug.com/1094974)
//     though no input came; storeprobe, like Lighthouse, excludes a shift
//     only after real input, so it counts them (TestBrowseCLS holds its
//     value to the one computed by hand).
//   - After a soft navigation Chrome 156 sometimes emits no Event Timing
//     entry for an interaction: web-vitals then has no INP for it (or 0);
//     storeprobe times the interaction itself (collector.js).
//   - The click that causes a soft navigation is the page's it left; its
//     latency is its longest event. web-vitals ends that page when the
//     soft-navigation entry arrives and keeps only the events observed
//     before it, often the pointerdown alone.
func TestAgainstWebVitals(t *testing.T) {
	shared := sharedBrowser(t)
	libPath := browsertest.WebVitals(t)
	lib, err := os.ReadFile(libPath)
	if err != nil {
		t.Fatal(err)
	}
	shop := newShop(t)
	type pageCase struct {
		name, path string
		devices    []string
	}
	both := []string{probe.DeviceDesktop, probe.DeviceMobile}
	desk := []string{probe.DeviceDesktop}
	cases := []pageCase{
		{"late content", "/late", both},
		{"delayed hero", "/hero", both},
		{"background-image LCP", "/truth/bg", desk},
		{"image without dimensions", "/truth/nodims", both},
		{"injected banner", "/truth/banner", both},
		{"lazy hero", "/truth/lazy", desk},
		{"layout shift", "/shift", both},
		{"long tasks", "/truth/tasks", desk},
	}
	var table []string
	row := func(device, name string, ours probe.PageMetrics, theirs map[string]float64, note string) {
		v := func(p *float64) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprintf("%.4g", *p)
		}
		w := func(k string) string {
			x, ok := theirs[k]
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.4g", x)
		}
		table = append(table, fmt.Sprintf("| %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s / %s | %s |", device, name,
			v(ours.Vitals.LCP), w("LCP"), v(ours.Vitals.FCP), w("FCP"), v(ours.Vitals.CLS), w("CLS"),
			v(ours.Vitals.TTFB), w("TTFB"), v(ours.Vitals.INP), w("INP"), note))
	}
	near := func(a *float64, b float64, ok bool, eps float64) bool {
		return a != nil && ok && math.Abs(*a-b) <= eps
	}
	for _, pc := range cases {
		for _, device := range pc.devices {
			t.Run(device+"/"+pc.name, func(t *testing.T) {
				pages, wv := withWebVitals(t, shared, lib, device, []probe.Step{{Action: probe.ActionGoto, URL: shop.URL + pc.path, Page: pc.name}})
				if len(pages) != 1 || len(wv) != 1 {
					t.Fatalf("%d pages, web-vitals %d: %v", len(pages), len(wv), wv)
				}
				ours, theirs := pages[0].PageMetrics, wv[0]
				note := ""
				for _, c := range []struct {
					name string
					p    *float64
					eps  float64
				}{{"LCP", ours.Vitals.LCP, 1}, {"FCP", ours.Vitals.FCP, 1}, {"TTFB", ours.Vitals.TTFB, 1}} {
					x, ok := theirs[c.name]
					if !near(c.p, x, ok, c.eps) {
						t.Errorf("%s: ours %v, web-vitals %v (reported %t)", c.name, deref(c.p), x, ok)
					}
				}
				cls, ok := theirs["CLS"]
				switch {
				case near(ours.Vitals.CLS, cls, ok, 1e-4):
				case device == probe.DeviceMobile && ok && cls == 0 && ours.Vitals.CLS != nil && *ours.Vitals.CLS > 0:
					note = "web-vitals CLS 0: emulation's hadRecentInput"
					t.Logf("known: %s", note)
				default:
					t.Errorf("CLS: ours %v, web-vitals %v (reported %t)", deref(ours.Vitals.CLS), cls, ok)
				}
				row(device, pc.name, ours, theirs, note)
			})
		}
	}

	// A soft navigation: both see two pages, the product measured from the
	// route change.
	t.Run("desktop/soft navigation", func(t *testing.T) {
		pages, wv := withWebVitals(t, shared, lib, probe.DeviceDesktop, spaJourney(shop).Steps)
		if len(pages) != 2 || len(wv) != 2 {
			t.Fatalf("%d pages, web-vitals %d: %v", len(pages), len(wv), wv)
		}
		for i, p := range pages {
			theirs := wv[i]
			note := ""
			for _, c := range []struct {
				name string
				p    *float64
				eps  float64
			}{{"LCP", p.Vitals.LCP, 1}, {"FCP", p.Vitals.FCP, 1}, {"CLS", p.Vitals.CLS, 1e-4}} {
				x, ok := theirs[c.name]
				if !near(c.p, x, ok, c.eps) {
					t.Errorf("%s %s: ours %v, web-vitals %v (reported %t)", p.Name, c.name, deref(c.p), x, ok)
				}
			}
			inp, ok := theirs["INP"]
			switch {
			case near(p.Vitals.INP, inp, ok, 1):
			case p.Name == "product" && p.Vitals.INP != nil && *p.Vitals.INP >= 200 && (!ok || inp < 200):
				// The buy click's handler runs 200 ms by construction.
				note = "Chrome emitted no Event Timing entry for the buy click (or only its pointerdown's): storeprobe timed it"
				t.Logf("known: %s (web-vitals %v, reported %t)", note, inp, ok)
			case p.Name == "home" && ok && p.Vitals.INP != nil && inp < *p.Vitals.INP && *p.Vitals.INP <= 50:
				// web-vitals closes the page at the soft-navigation entry and
				// keeps only the triggering click's entries that came
				// before it (its pointerdown, 8 ms); Event Timing's latency
				// of the interaction is its longest event (the click).
				note = "web-vitals drops the triggering click's entries that follow the soft-navigation entry"
				t.Logf("known: %s (ours %v, web-vitals %v)", note, *p.Vitals.INP, inp)
			default:
				t.Errorf("%s INP: ours %v, web-vitals %v (reported %t)", p.Name, deref(p.Vitals.INP), inp, ok)
			}
			row(probe.DeviceDesktop, "soft navigation: "+p.Name, p.PageMetrics, theirs, note)
		}
	})
	t.Logf("ours / web-vitals:\n| device | page | LCP ms | FCP ms | CLS | TTFB ms | INP ms | note |\n|---|---|---|---|---|---|---|---|\n%s",
		strings.Join(table, "\n"))
}
