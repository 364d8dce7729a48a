package demoshop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// TestShopScriptsInChromium runs shop.js in real Chromium: the consent
// banner, add to cart and the test payment. The HTTP walk of the journey
// cannot tell whether the script works; this can.
func TestShopScriptsInChromium(t *testing.T) {
	chromiumPath := browsertest.Chromium(t) // skips with -short, as before
	srv, _, _ := fastShop(t, Options{})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first run starts the browser: no deadline on it, or the deadline
	// would end the browser with it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	// The hero photo must be the home page's LCP element, not the headline
	// over it: the demo's LCP then measures an image load, as on real shops.
	step("open home", chromedp.Navigate(srv.URL+"/"))
	ctx, cancel := context.WithTimeout(bctx, 20*time.Second)
	// Navigate returns after the load event; a frame later every candidate
	// has been reported.
	lcp, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise(resolve => {
		let last = null;
		new PerformanceObserver(list => { last = list.getEntries().at(-1); })
			.observe({type: 'largest-contentful-paint', buffered: true});
		requestAnimationFrame(() => setTimeout(() =>
			resolve(last ? (last.url || last.element?.tagName || '') : ''), 200));
	})`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || !strings.HasSuffix(lcp, "/images/hero.jpg") {
		t.Errorf("home LCP element %q (%v), want the hero image", lcp, err)
	}

	step("open product", chromedp.Navigate(srv.URL+"/products/stoneware-mug"))
	step("accept cookies", chromedp.Click(chromedp.CSS("#accept-cookies")), chromedp.WaitNotVisible(chromedp.CSS("#cookie-banner")))
	step("add to cart",
		chromedp.Click(chromedp.CSS("#add-to-cart")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#cart-status').textContent === 'Added to cart'`))
	if got := text(".cart-count"); got != "1" {
		t.Errorf("cart count after adding: %q, want 1", got)
	}
	// The banner stays away on the next page: the consent cookie was set.
	step("open checkout", chromedp.Navigate(srv.URL+"/checkout"))
	ctx, cancel = context.WithTimeout(bctx, 10*time.Second)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#cookie-banner').length`))
	cancel()
	if err != nil || n != 0 {
		t.Errorf("consent banner after accepting: %d %v", n, err)
	}
	step("decline a bad e-mail",
		chromedp.SendKeys(chromedp.CSS("#email"), "not-an-email"),
		chromedp.SetValue(chromedp.CSS("#country"), "DE"),
		chromedp.Click(chromedp.CSS("#pay")),
		chromedp.WaitVisible(chromedp.CSS("#payment-result.declined")))
	step("pay",
		chromedp.Clear(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "shopper@example.com"),
		chromedp.Click(chromedp.CSS("#pay")),
		chromedp.WaitVisible(chromedp.CSS("#payment-result.approved")))
	if got := text("#payment-result"); !strings.HasPrefix(got, "Payment approved (test mode, nothing charged): pay_test_") {
		t.Errorf("payment result %q", got)
	}
	if got := text(".cart-count"); got != "0" {
		t.Errorf("cart count after paying: %q, want 0", got)
	}
}
