package browser

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// spaJourney visits /truth/spa, routes to the product with a click, and
// buys it.
func spaJourney(shop *shopServer) probe.Journey {
	return probe.Journey{Name: "spa", Timeout: 60 * time.Second, Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/truth/spa", Page: "home"},
		{Action: probe.ActionClick, Selector: "#to-product", Page: "product"},
		{Action: probe.ActionClick, Selector: "#buy"},
		{Action: probe.ActionWaitFor, Text: "bought"},
	}}
}

// TestSoftNavigationIsAPage: a click that changes the URL with pushState
// and repaints starts a page of its own, named by its step, with vitals
// measured from the route change: LCP of the product rendered after a
// 300 ms fetch, the CLS of a shift in the product view, the INP of the
// 200 ms "buy" click, and the fetch among its requests, not the home's.
// Chrome's soft-navigation entries recognise it; so does the fallback
// where they are absent.
func TestSoftNavigationIsAPage(t *testing.T) {
	shop := newShop(t)
	t.Run("heuristics", func(t *testing.T) {
		res := runJourney(t, spaJourney(shop), "")
		checkSPA(t, res, probe.SoftNavHeuristics)
	})
	t.Run("fallback", func(t *testing.T) {
		chromium := browsertest.Chromium(t)
		o := testOptions(chromium)
		o.softNavFallback = true
		b, err := Launch(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		res := b.RunJourney(context.Background(), probe.Check{Name: "spa", Type: probe.TypeJourney}, spaJourney(shop), "")
		if testing.Verbose() {
			out, _ := json.MarshalIndent(res, "", " ")
			t.Logf("%s", out)
		}
		checkSPA(t, res, probe.SoftNavFallback)
	})
}

func checkSPA(t *testing.T, res probe.Result, how string) {
	t.Helper()
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	if len(res.Pages) != 2 {
		t.Fatalf("%d pages, want home and the product", len(res.Pages))
	}
	home, product := res.Pages[0], res.Pages[1]
	if home.Name != "home" || product.Name != "product" || !strings.HasSuffix(product.URL, "/truth/spa/product") {
		t.Fatalf("pages %q %q (%s)", home.Name, product.Name, product.URL)
	}
	if home.SoftNavigation != "" || product.SoftNavigation != how {
		t.Errorf("soft_navigation %q, %q; want \"\", %q", home.SoftNavigation, product.SoftNavigation, how)
	}
	// The product's text is rendered after its 300 ms fetch: its LCP,
	// from the click.
	within(t, "product lcp_ms", must(t, product.Vitals.LCP, "product lcp"), 300, 300+1500)
	if product.Vitals.TTFB != nil || product.LoadMS != 0 {
		t.Errorf("product ttfb %v load %.0f: a route change has neither", product.Vitals.TTFB, product.LoadMS)
	}
	within(t, "product fcp_ms", must(t, product.Vitals.FCP, "product fcp"), 0, 300+1500)
	// The block opening 800 ms after the render shifts the product view,
	// not the home.
	if cls := must(t, product.Vitals.CLS, "product cls"); cls < 0.01 {
		t.Errorf("product cls %.4f, want the shift of #box", cls)
	}
	within(t, "home cls", must(t, home.Vitals.CLS, "home cls"), 0, 0)
	// The click that left home is home's interaction; the 200 ms buy
	// click is the product's.
	within(t, "home inp_ms", must(t, home.Vitals.INP, "home inp"), 0, 300)
	within(t, "product inp_ms", must(t, product.Vitals.INP, "product inp"), 200, 200+400)
	if home.Resources.XHR.Requests != 0 || product.Resources.XHR.Requests != 1 || product.Requests != 1 {
		t.Errorf("xhr requests: home %d, product %d (of %d); want the product fetch in the product only",
			home.Resources.XHR.Requests, product.Resources.XHR.Requests, product.Requests)
	}
	if home.SettleReason != probe.SettleQuiet || product.SettleReason != probe.SettleQuiet {
		t.Errorf("settled: home %s, product %s; want quiet", home.SettleReason, product.SettleReason)
	}
	// The product settled a window after its shift (800 ms after the
	// render, itself after the 300 ms fetch).
	if product.SettledMS < 300+800+probe.Millis(settleWindow) {
		t.Errorf("product settled at %.0f ms, before its shift had been quiet for %s", product.SettledMS, settleWindow)
	}
	// The buy click's 200 ms task is after the product's observation: it
	// is INP's, not TBT's (its 150 ms would show; a busy machine's own
	// tasks may add a little).
	if product.TBTMS >= 150 {
		t.Errorf("product tbt %.0f: the buy click's task counted", product.TBTMS)
	}
}
