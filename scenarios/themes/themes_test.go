package themes_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/storeprobe/storeprobe/scenarios/themes"
)

// client is a browser-like HTTP client for a fixture: cookies kept, and
// redirects reported instead of followed, so each hop can be checked.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, h http.Handler) *client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, body url.Values, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	return c.do("GET", path, nil, nil)
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, k := range c.c.Jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

func wantRedirect(t *testing.T, res *http.Response, status int, to string) {
	t.Helper()
	if res.StatusCode != status || !strings.HasPrefix(res.Header.Get("Location"), to) {
		t.Fatalf("%s %s: %d Location %q, want %d to %s…", res.Request.Method, res.Request.URL.Path, res.StatusCode, res.Header.Get("Location"), status, to)
	}
}

func wantPage(t *testing.T, res *http.Response, body string, contains ...string) {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d", res.Request.Method, res.Request.URL, res.StatusCode)
	}
	for _, s := range contains {
		if !strings.Contains(body, s) {
			t.Errorf("%s %s lacks %q", res.Request.Method, res.Request.URL, s)
		}
	}
}

func TestShopifyCartAndCheckoutRedirects(t *testing.T) {
	c := newClient(t, themes.Shopify(themes.Options{}))
	res, _ := c.get("/checkout")
	wantRedirect(t, res, http.StatusFound, "/cart") // an empty cart has no checkout

	ajax := map[string]string{"X-Requested-With": "XMLHttpRequest", "Accept": "application/javascript"}
	res, body := c.do("POST", "/cart/add", url.Values{"id": {"44010001"}, "sections": {"cart-drawer,cart-icon-bubble"}}, ajax)
	var item struct {
		VariantID int               `json:"variant_id"`
		Sections  map[string]string `json:"sections"`
	}
	if err := json.Unmarshal([]byte(body), &item); err != nil || res.StatusCode != 200 {
		t.Fatalf("add: %d %s", res.StatusCode, body)
	}
	if item.VariantID != 44010001 || !strings.Contains(item.Sections["cart-icon-bubble"], `class="cart-count-bubble"`) ||
		!strings.Contains(item.Sections["cart-drawer"], `id="CartDrawer"`) {
		t.Errorf("add answered %s", body)
	}

	res, body = c.get("/cart")
	wantPage(t, res, body, `id="cart"`, `id="checkout"`, "Stoneware Mug")
	res, _ = c.do("POST", "/cart", url.Values{"updates[]": {"1"}, "checkout": {""}}, nil)
	wantRedirect(t, res, http.StatusFound, "/checkout")
	res, _ = c.get("/checkout")
	wantRedirect(t, res, http.StatusFound, "/checkouts/cn/")
	loc := res.Header.Get("Location")
	res, body = c.get(loc)
	wantPage(t, res, body, "Order summary", "Stoneware Mug")

	// A form posted without JavaScript goes to the cart page.
	res, _ = c.do("POST", "/cart/add", url.Values{"id": {"44010003"}}, nil)
	wantRedirect(t, res, http.StatusFound, "/cart")
}

func TestShopifyRefusesAsShopifyDoes(t *testing.T) {
	c := newClient(t, themes.Shopify(themes.Options{RefuseAddToCart: true}))
	res, body := c.do("POST", "/cart/add.js", url.Values{"id": {"44010001"}}, nil)
	var e struct {
		Status      int    `json:"status"`
		Description string `json:"description"`
	}
	if json.Unmarshal([]byte(body), &e); res.StatusCode != http.StatusUnprocessableEntity || e.Status != 422 || e.Description == "" {
		t.Errorf("refused add: %d %s", res.StatusCode, body)
	}
	res, _ = c.get("/checkout")
	wantRedirect(t, res, http.StatusFound, "/cart")
}

func TestMagentoAddToCartAndSections(t *testing.T) {
	c := newClient(t, themes.Magento(themes.Options{}))
	res, body := c.get("/stoneware-mug.html")
	wantPage(t, res, body, `id="product_addtocart_form"`, `id="product-addtocart-button"`)
	action := regexp.MustCompile(`action="(/checkout/cart/add/uenc/[^"]+/product/101/)"`).FindStringSubmatch(body)
	if action == nil {
		t.Fatal("no add-to-cart action on the product page")
	}
	ajax := map[string]string{"X-Requested-With": "XMLHttpRequest"}

	// Without the form key Magento turns the request away.
	_, body = c.do("POST", action[1], url.Values{"product": {"101"}, "qty": {"1"}}, ajax)
	if !strings.Contains(body, `"backUrl":"/checkout/cart/"`) {
		t.Errorf("add without form_key: %s", body)
	}
	c.get("/customer/section/load/?sections=messages") // drop that message

	_, body = c.do("POST", action[1], url.Values{"product": {"101"}, "qty": {"1"}, "form_key": {c.cookie("form_key")}}, ajax)
	if strings.TrimSpace(body) != "[]" {
		t.Fatalf("add: %s", body)
	}
	_, body = c.get("/customer/section/load/?sections=cart%2Cmessages&force_new_section_timestamp=true")
	var sections struct {
		Cart struct {
			SummaryCount int `json:"summary_count"`
		} `json:"cart"`
		Messages struct {
			Messages []struct{ Type, Text string } `json:"messages"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &sections); err != nil {
		t.Fatal(err)
	}
	if sections.Cart.SummaryCount != 1 || len(sections.Messages.Messages) != 1 || sections.Messages.Messages[0].Type != "success" {
		t.Errorf("sections after add: %s", body)
	}
	// A session message is shown once.
	if _, body = c.get("/customer/section/load/?sections=messages"); strings.Contains(body, "success") {
		t.Errorf("the message came back: %s", body)
	}

	res, body = c.get("/checkout/cart/")
	wantPage(t, res, body, `data-role="proceed-to-checkout"`, `id="shopping-cart-table"`)
	res, body = c.get("/checkout/")
	wantPage(t, res, body, `id="checkout"`, `id="checkout-loader"`)
	if strings.Contains(body, "checkout-step-shipping") {
		t.Error("the shipping step is in the HTML; Luma renders it in the browser")
	}
}

func TestMagentoRefusesAsMagentoDoes(t *testing.T) {
	c := newClient(t, themes.Magento(themes.Options{RefuseAddToCart: true}))
	res, _ := c.get("/checkout/")
	wantRedirect(t, res, http.StatusFound, "/checkout/cart/")
	c.get("/stoneware-mug.html")
	_, body := c.do("POST", "/checkout/cart/add/uenc/x/product/101/", url.Values{"product": {"101"}, "form_key": {c.cookie("form_key")}},
		map[string]string{"X-Requested-With": "XMLHttpRequest"})
	if !strings.Contains(body, `"backUrl":"/stoneware-mug.html"`) {
		t.Errorf("refused add: %s", body)
	}
	res, body = c.get("/stoneware-mug.html")
	wantPage(t, res, body, `class="message-error error message"`, "The requested qty is not available")
}

func TestWooCommerceFlows(t *testing.T) {
	c := newClient(t, themes.WooCommerce(themes.Options{}))
	res, _ := c.get("/?s=stoneware+mug&post_type=product")
	wantRedirect(t, res, http.StatusFound, "/product/stoneware-mug/")
	res, body := c.get("/?s=mug&post_type=product")
	wantPage(t, res, body, `class="woocommerce-LoopProduct-link woocommerce-loop-product__link"`, "Enamel Camp Mug")

	res, _ = c.get("/checkout/")
	wantRedirect(t, res, http.StatusFound, "/cart/")
	res, body = c.get("/cart/")
	wantPage(t, res, body, "Checkout is not available whilst your cart is empty.", "Your cart is currently empty.")

	res, body = c.do("POST", "/product/stoneware-mug/", url.Values{"quantity": {"1"}, "add-to-cart": {"101"}}, nil)
	wantPage(t, res, body, `<div class="woocommerce-message" role="alert">`, "has been added to your cart")
	res, body = c.get("/cart/")
	wantPage(t, res, body, `class="checkout-button button alt wc-forward"`, "Stoneware Mug")
	res, body = c.get("/checkout/")
	wantPage(t, res, body, `class="checkout woocommerce-checkout"`)
	nonce := regexp.MustCompile(`"update_order_review_nonce":"([^"]+)"`).FindStringSubmatch(body)
	if nonce == nil {
		t.Fatal("no update_order_review nonce on the checkout")
	}
	_, body = c.do("POST", "/?wc-ajax=update_order_review", url.Values{"security": {nonce[1]}}, nil)
	if !strings.Contains(body, `"result":"success"`) || !strings.Contains(body, "woocommerce-checkout-review-order-table") {
		t.Errorf("update_order_review: %s", body)
	}
}

func TestWooCommerceRefusesAsWooCommerceDoes(t *testing.T) {
	c := newClient(t, themes.WooCommerce(themes.Options{RefuseAddToCart: true}))
	res, body := c.do("POST", "/product/stoneware-mug/", url.Values{"quantity": {"1"}, "add-to-cart": {"101"}}, nil)
	wantPage(t, res, body, `<ul class="woocommerce-error" role="alert">`, "out of stock")
	if strings.Contains(body, "woocommerce-message") {
		t.Error("a refused item still got a success notice")
	}
}

// TestPagesLoadEverythingTheyReferTo fetches every script, stylesheet and
// image each page of each fixture refers to: a missing file would show up in
// the journeys as a failed request or a console error.
func TestPagesLoadEverythingTheyReferTo(t *testing.T) {
	fixtures := map[string]struct {
		h     http.Handler
		pages []string
	}{
		"shopify":     {themes.Shopify(themes.Options{}), []string{"/", "/search?q=mug&type=product", "/products/stoneware-mug", "/cart"}},
		"magento":     {themes.Magento(themes.Options{}), []string{"/", "/catalogsearch/result/?q=mug", "/stoneware-mug.html", "/checkout/cart/"}},
		"woocommerce": {themes.WooCommerce(themes.Options{}), []string{"/", "/?s=mug&post_type=product", "/product/stoneware-mug/", "/cart/"}},
	}
	for name, f := range fixtures {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, f.h)
			for _, p := range f.pages {
				res, body := c.get(p)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d", p, res.StatusCode)
				}
				for _, ref := range references(t, body) {
					if strings.HasPrefix(ref, "http") || strings.HasPrefix(ref, "data:") || strings.HasPrefix(ref, "#") {
						continue
					}
					if r, _ := c.get(ref); r.StatusCode != http.StatusOK {
						t.Errorf("%s refers to %s: %d", p, ref, r.StatusCode)
					}
				}
			}
		})
	}
}

// references lists the src of scripts and images and the href of
// stylesheets in a page.
func references(t *testing.T, page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch {
			case (n.Data == "script" || n.Data == "img") && attrs["src"] != "":
				out = append(out, attrs["src"])
			case n.Data == "link" && attrs["rel"] == "stylesheet":
				out = append(out, attrs["href"])
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(doc)
	return out
}

// TestEveryFixtureFileCitesItsSource keeps the provenance rule: each page
// template and script names the public source it reproduces.
func TestEveryFixtureFileCitesItsSource(t *testing.T) {
	err := filepath.WalkDir("web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") && !strings.HasSuffix(p, ".js") && !strings.HasSuffix(p, ".css") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		head := string(b[:min(len(b), 1500)])
		if !strings.Contains(head, "github.com/") {
			t.Errorf("%s does not say at its top which public source it reproduces", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
