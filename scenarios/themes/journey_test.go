package themes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
	"github.com/storeprobe/storeprobe/scenarios"
	"github.com/storeprobe/storeprobe/scenarios/themes"
)

// testResolverRules answers every name inside Chrome with NXDOMAIN: the
// fixtures are on 127.0.0.1, and nothing a page refers to may reach the
// network.
const testResolverRules = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

// warm is the one Chromium these tests share, started by TestMain when
// browsertest finds one.
var warm *browser.Browser

func TestMain(m *testing.M) {
	found := browsertest.Find()
	if found.Path == "" {
		// The Chromium tests skip or fail by browsertest's rule; the
		// HTTP-level tests still run.
		os.Exit(m.Run())
	}
	b, err := browser.Launch(context.Background(), browser.Options{
		Path: found.Path, HostResolverRules: testResolverRules, MaxConcurrent: 2, Version: "test",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "launch Chromium:", err)
		os.Exit(1)
	}
	warm = b
	code := m.Run()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close Chromium:", err)
		code = 1
	}
	os.Exit(code)
}

func sharedBrowser(t *testing.T) *browser.Browser {
	t.Helper()
	browsertest.Chromium(t)
	if warm == nil {
		t.Fatal("no shared Chromium: TestMain found none where this test finds one")
	}
	return warm
}

// run applies params to the built-in template and runs it, unchanged,
// through the real journey runner against a fixture served on loopback.
func run(t *testing.T, template string, h http.Handler, params map[string]string) (probe.Result, *httptest.Server) {
	t.Helper()
	b := sharedBrowser(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	j, err := scenarios.Template(template)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"base_url": srv.URL}
	for k, v := range params {
		all[k] = v
	}
	jr, err := scenarios.Apply(j, all)
	if err != nil {
		t.Fatalf("apply params: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res := b.RunJourney(ctx, probe.Check{Name: template, Type: probe.TypeJourney}, jr, t.TempDir())
	if testing.Verbose() || res.Failure != nil {
		out, _ := json.MarshalIndent(res.Steps, "", " ")
		t.Logf("steps: %s", out)
		for _, p := range res.Pages {
			t.Logf("page %s %s", p.Name, p.URL)
		}
	}
	return res, srv
}

// stepIndex is the index of the step named name in the template.
func stepIndex(t *testing.T, template, name string) int {
	t.Helper()
	j, err := scenarios.Template(template)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range j.Steps {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("template %s has no step named %q", template, name)
	return -1
}

// requireComplete checks a journey that must pass: every step ok, the
// consent banner accepted (not skipped), every page with its vitals, and
// the named pages in order.
func requireComplete(t *testing.T, res probe.Result, template string, wantPages []string) {
	t.Helper()
	if !res.OK {
		t.Fatalf("%s failed: %v", template, res.Failure)
	}
	j, _ := scenarios.Template(template)
	if len(res.Steps) != len(j.Steps) {
		t.Fatalf("%d steps reported, the template has %d", len(res.Steps), len(j.Steps))
	}
	for i, st := range res.Steps {
		if !st.OK {
			t.Errorf("step %d %q not ok: %v", i+1, st.Name, st.Failure)
		}
		if st.Name == "accept cookies" && st.Skipped {
			t.Errorf("the consent banner was not accepted: step %q skipped", st.Name)
		}
	}
	var named []string
	for _, p := range res.Pages {
		v := p.Vitals
		if v.TTFB == nil || v.FCP == nil || v.LCP == nil || v.CLS == nil {
			t.Errorf("page %s (%s) lacks vitals: ttfb %v fcp %v lcp %v cls %v", p.Name, p.URL, v.TTFB, v.FCP, v.LCP, v.CLS)
		}
		if p.LoadMS <= 0 || p.Requests < 1 {
			t.Errorf("page %s: load %.0f ms, %d requests", p.Name, p.LoadMS, p.Requests)
		}
		if !strings.HasPrefix(p.Name, "/") {
			named = append(named, p.Name)
		}
	}
	if strings.Join(named, " ") != strings.Join(wantPages, " ") {
		t.Errorf("named pages %v, want %v", named, wantPages)
	}
	if len(res.ConsoleErrors) > 0 {
		t.Errorf("console errors: %q", res.ConsoleErrors)
	}
}

// requireFailsAfter checks a journey that must fail at the step right after
// the named one, with one of the kinds: the templates wait for the cart to
// change right after clicking add to cart.
func requireFailsAfter(t *testing.T, res probe.Result, template, after string, kinds ...probe.FailureKind) {
	t.Helper()
	if res.OK || res.Failure == nil {
		t.Fatalf("%s passed against a shop whose add to cart is broken", template)
	}
	at := stepIndex(t, template, after) + 1
	if len(res.Steps) != at+1 {
		t.Fatalf("failed at step %d (%s: %v), want step %d, the one after %q", len(res.Steps), res.Steps[len(res.Steps)-1].Name, res.Failure, at+1, after)
	}
	for i, st := range res.Steps[:at] {
		if !st.OK {
			t.Errorf("step %d %q before the failing one: %v", i+1, st.Name, st.Failure)
		}
	}
	ok := false
	for _, k := range kinds {
		ok = ok || res.Failure.Kind == k
	}
	if !ok {
		t.Errorf("failure %s (%s), want one of %v", res.Failure.Kind, res.Failure.Message, kinds)
	}
}

func TestShopifyTemplateOnDawn(t *testing.T) {
	res, _ := run(t, "shopify", themes.Shopify(themes.Options{}), map[string]string{"search_term": "stoneware mug"})
	requireComplete(t, res, "shopify", []string{"home", "search", "product", "cart", "checkout"})
	if got := res.FinalURL; !strings.Contains(got, "/checkouts/cn/") {
		t.Errorf("final URL %s, want Shopify's checkout", got)
	}
}

func TestShopifyTemplateFailsWhenDawnRefusesTheItem(t *testing.T) {
	res, _ := run(t, "shopify", themes.Shopify(themes.Options{RefuseAddToCart: true}), map[string]string{"search_term": "stoneware mug"})
	requireFailsAfter(t, res, "shopify", "add to cart", probe.FailureSelector)
}

func TestMagentoTemplateOnLuma(t *testing.T) {
	res, _ := run(t, "magento", themes.Magento(themes.Options{}), map[string]string{"search_term": "stoneware mug"})
	requireComplete(t, res, "magento", []string{"home", "search", "product", "cart", "checkout"})
	if got := res.FinalURL; !strings.HasSuffix(got, "/checkout/#shipping") {
		t.Errorf("final URL %s, want the checkout's shipping step", got)
	}
}

func TestMagentoTemplateFailsWhenLumaRefusesTheItem(t *testing.T) {
	res, _ := run(t, "magento", themes.Magento(themes.Options{RefuseAddToCart: true}), map[string]string{"search_term": "stoneware mug"})
	requireFailsAfter(t, res, "magento", "add to cart", probe.FailureSelector)
}

func TestWooCommerceTemplateOnStorefront(t *testing.T) {
	// "mug" finds two products, so the journey opens the first result.
	res, _ := run(t, "woocommerce", themes.WooCommerce(themes.Options{}), map[string]string{"search_term": "mug"})
	requireComplete(t, res, "woocommerce", []string{"home", "search", "product", "cart", "checkout"})
	if got := res.FinalURL; !strings.HasSuffix(got, "/checkout/") {
		t.Errorf("final URL %s, want the checkout", got)
	}
}

func TestWooCommerceTemplateFailsWhenStorefrontRefusesTheItem(t *testing.T) {
	res, _ := run(t, "woocommerce", themes.WooCommerce(themes.Options{RefuseAddToCart: true}), map[string]string{"search_term": "mug"})
	requireFailsAfter(t, res, "woocommerce", "add to cart", probe.FailureSelector)
}

func TestWooCommerceTemplateOnStorefrontSingleHit(t *testing.T) {
	// One hit: WooCommerce redirects the search to the product, and the
	// template's optional "open first result" is skipped.
	res, _ := run(t, "woocommerce", themes.WooCommerce(themes.Options{}), map[string]string{"search_term": "stoneware mug"})
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	if st := res.Steps[stepIndex(t, "woocommerce", "open first result")]; !st.Skipped {
		t.Errorf("open first result: %+v, want skipped after the redirect", st)
	}
}

// dawnParams are the custom template's params for a Dawn store: the same
// selectors the shopify template uses, given one by one.
func dawnParams() map[string]string {
	return map[string]string{
		"search_term":     "stoneware mug",
		"search_path":     "/search?type=product&q=",
		"product_link":    ".product-card-wrapper .card__heading a[id^='CardLink-']",
		"add_to_cart":     "product-form button[name=add]",
		"added_selector":  ".cart-count-bubble",
		"cart_path":       "/cart",
		"checkout_button": "main [name=checkout]",
		"checkout_path":   "/checkouts/",
	}
}

func TestCustomTemplateOnDawn(t *testing.T) {
	res, _ := run(t, "custom", themes.Shopify(themes.Options{}), dawnParams())
	requireComplete(t, res, "custom", []string{"home", "search", "product", "cart", "checkout"})
}

func TestCustomTemplateFailsWhenDawnRefusesTheItem(t *testing.T) {
	res, _ := run(t, "custom", themes.Shopify(themes.Options{RefuseAddToCart: true}), dawnParams())
	requireFailsAfter(t, res, "custom", "add to cart", probe.FailureSelector)
}
