package demoshop

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// fastShop is the shop without its deliberate delays, for tests that are
// about content.
func fastShop(t *testing.T, opts Options) (*httptest.Server, *http.Client, *Shop) {
	t.Helper()
	if opts.SearchDelay == 0 {
		opts.SearchDelay = -1
	}
	if opts.PayDelay == 0 {
		opts.PayDelay = -1
	}
	shop := New(opts)
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	c.Jar = jar
	c.Timeout = 10 * time.Second
	return srv, c, shop
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET %s: read: %v", u, err)
	}
	return res, body
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, body
}

func postJSON(t *testing.T, c *http.Client, u string, v any) (*http.Response, map[string]any) {
	t.Helper()
	data, _ := json.Marshal(v)
	res, err := c.Post(u, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: decode: %v", u, err)
	}
	return res, out
}

func TestPages(t *testing.T) {
	srv, c, _ := fastShop(t, Options{})
	tests := []struct {
		path        string
		status      int
		contentType string
		contains    []string
	}{
		{"/", 200, "text/html", []string{"<h1>Homeware for slow mornings</h1>", `src="/images/hero.jpg"`, `class="product-card" href="/products/stoneware-mug"`, `id="accept-cookies"`}},
		{"/search?q=mug", 200, "text/html", []string{"Results for “mug”", "2 products", "Stoneware Mug", "Enamel Camp Mug"}},
		{"/search?q=linen+towel", 200, "text/html", []string{"1 product<", "Linen Tea Towel"}},
		{"/search?q=zzz", 200, "text/html", []string{"No products match “zzz”"}},
		{"/search?q=%3Cscript%3E", 200, "text/html", []string{"&lt;script&gt;"}},
		{"/products/stoneware-mug", 200, "text/html", []string{`<h1 class="product-title">Stoneware Mug</h1>`, "€24.00", `id="add-to-cart"`, "In stock"}},
		{"/products/cast-iron-skillet", 200, "text/html", []string{"Sold out"}},
		{"/products/nope", 404, "text/html", []string{"Page not found"}},
		{"/nope", 404, "text/html", []string{"Page not found"}},
		{"/cart", 200, "text/html", []string{"Your cart is empty"}},
		{"/checkout", 200, "text/html", []string{"<h1>Checkout</h1>", `id="email"`, `<option value="DE">Germany</option>`, `id="pay" type="submit" disabled`}},
		{"/healthz", 200, "text/plain", []string{"ok"}},
		{"/api/inventory?sku=walnut-serving-board", 200, "application/json", []string{`"stock":12`}},
		{"/api/inventory?sku=nope", 404, "application/json", []string{"unknown sku"}},
		{"/payments/stripe/health", 200, "application/json", []string{`"gateway":"stripe"`, `"status":"ok"`}},
		{"/payments/paypal/health", 200, "application/json", []string{`"gateway":"paypal"`}},
		{"/payments/adyen/health", 404, "text/html", nil},
		{"/static/shop.css", 200, "text/css", []string{".product-grid"}},
		{"/static/shop.js", 200, "text/javascript", []string{"Added to cart", "/api/pay"}},
		{"/static/nope.js", 404, "text/plain", nil},
		{"/images/nope.jpg", 404, "text/plain", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, c, srv.URL+tt.path)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
			}
			for _, s := range tt.contains {
				if !bytes.Contains(body, []byte(s)) {
					t.Errorf("body lacks %q", s)
				}
			}
		})
	}
}

// TestPagesHaveNoBrokenReferences: a browser counts every failed
// subresource, so the demo's pages must not have any.
func TestPagesHaveNoBrokenReferences(t *testing.T) {
	srv, c, shop := fastShop(t, Options{})
	seen := map[string]bool{}
	for _, page := range []string{"/", "/search?q=mug", "/products/stoneware-mug", "/cart", "/checkout"} {
		_, body := get(t, c, srv.URL+page)
		doc, err := html.Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: parse: %v", page, err)
		}
		for _, sel := range []string{"img", "link", "script", "a"} {
			list, _ := parseSelector(sel)
			for _, n := range queryAll(doc, list) {
				ref, _ := attr(n, "src")
				if ref == "" {
					ref, _ = attr(n, "href")
				}
				if ref == "" || seen[ref] {
					continue
				}
				seen[ref] = true
				if !strings.HasPrefix(ref, "/") {
					t.Errorf("%s: %s points off the shop: %s", page, sel, ref)
					continue
				}
				// Photos are served by TestImages; painting them all here
				// would only cost time.
				if name, ok := strings.CutPrefix(ref, "/images/"); ok {
					if shop.images[name] == nil {
						t.Errorf("%s: %s %s: no such image", page, sel, ref)
					}
					continue
				}
				if res, _ := get(t, c, srv.URL+ref); res.StatusCode != 200 {
					t.Errorf("%s: %s %s: status %d", page, sel, ref, res.StatusCode)
				}
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d references checked: %v", len(seen), seen)
	}
}

func TestImages(t *testing.T) {
	srv, c, shop := fastShop(t, Options{})
	for _, tt := range []struct {
		path string
		w, h int
	}{
		{"/images/hero.jpg", heroW, heroH},
		{"/images/stoneware-mug.jpg", productSize, productSize},
		{"/images/ceramic-planter.jpg", productSize, productSize},
	} {
		res, body := get(t, c, srv.URL+tt.path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("%s: %d %s", tt.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		img, err := jpeg.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
			t.Errorf("%s: %v, want %dx%d", tt.path, b, tt.w, tt.h)
		}
		// Chrome skips images under 0.05 bits per pixel as LCP candidates;
		// a photo-like image is well above that, and small enough for a page.
		bpp := float64(len(body)*8) / float64(tt.w*tt.h)
		if bpp < 0.5 || len(body) > 200<<10 {
			t.Errorf("%s: %d bytes, %.2f bits/pixel: want ≥ 0.5 bits/pixel and ≤ 200 KiB", tt.path, len(body), bpp)
		}
		if distinctColors(img) < 1000 {
			t.Errorf("%s: only %d distinct colours: not photo-like", tt.path, distinctColors(img))
		}
		// Conditional requests are answered from the ETag.
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		res2, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res2.Body.Close()
		if res2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match: status %d, want 304", tt.path, res2.StatusCode)
		}
	}
	res, body := get(t, c, srv.URL+"/images/favicon.png")
	if _, err := png.Decode(bytes.NewReader(body)); err != nil || res.StatusCode != 200 {
		t.Errorf("favicon: %d %v", res.StatusCode, err)
	}
	// Same shop, same pictures: pages and tests can rely on them.
	a := shop.images["stoneware-mug.jpg"].bytes()
	b := New(Options{}).images["stoneware-mug.jpg"].bytes()
	if !bytes.Equal(a, b) {
		t.Error("product photos are not deterministic")
	}
}

func distinctColors(img image.Image) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	return len(seen)
}

func TestSlowSearch(t *testing.T) {
	const delay = 300 * time.Millisecond
	srv, c, _ := fastShop(t, Options{SearchDelay: delay})
	start := time.Now()
	res, body := get(t, c, srv.URL+"/search?q=mug")
	if took := time.Since(start); took < delay {
		t.Errorf("search answered in %v, want ≥ %v", took, delay)
	}
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("Stoneware Mug")) {
		t.Errorf("slow search: %d", res.StatusCode)
	}
	// A client that gives up frees the handler instead of holding it.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/search?q=mug", nil)
	if _, err := c.Do(req); err == nil {
		t.Error("search finished inside a 50ms deadline despite a 300ms delay")
	}
}

func TestInventoryFailsOnSchedule(t *testing.T) {
	for _, tt := range []struct {
		every    int
		requests int
		want     []int // 1-based request numbers that fail
	}{
		{0, 12, []int{5, 10}}, // the default: every 5th
		{3, 9, []int{3, 6, 9}},
		{-1, 10, nil},
	} {
		srv, c, _ := fastShop(t, Options{FailEvery: tt.every})
		var failed []int
		for i := 1; i <= tt.requests; i++ {
			path := "/api/inventory"
			if i%2 == 0 {
				path += "?sku=stoneware-mug"
			}
			res, body := get(t, c, srv.URL+path)
			switch res.StatusCode {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				failed = append(failed, i)
				if res.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte("unavailable")) {
					t.Errorf("503 without Retry-After or reason: %s", body)
				}
			default:
				t.Errorf("request %d: status %d", i, res.StatusCode)
			}
		}
		if !slices.Equal(failed, tt.want) {
			t.Errorf("FailEvery %d: failed requests %v, want %v", tt.every, failed, tt.want)
		}
	}
}

func TestCartAndPayment(t *testing.T) {
	srv, c, _ := fastShop(t, Options{})
	add := func(slug, qty string) (*http.Response, map[string]any) {
		res, body := postForm(t, c, srv.URL+"/cart/add", url.Values{"slug": {slug}, "qty": {qty}}, "application/json")
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("cart/add %s: %v: %s", slug, err, body)
		}
		return res, out
	}
	if res, out := postJSON(t, c, srv.URL+"/api/pay", map[string]string{"email": "a@b.example", "country": "DE"}); res.StatusCode != http.StatusPaymentRequired || out["reason"] != "the cart is empty" {
		t.Errorf("pay with an empty cart: %d %v", res.StatusCode, out)
	}
	if res, out := add("stoneware-mug", "1"); res.StatusCode != 200 || out["count"] != 1.0 {
		t.Errorf("add: %d %v", res.StatusCode, out)
	}
	if res, out := add("stoneware-mug", "2"); res.StatusCode != 200 || out["count"] != 3.0 {
		t.Errorf("add again: %d %v", res.StatusCode, out)
	}
	if res, out := add("linen-tea-towel", ""); res.StatusCode != 200 || out["count"] != 4.0 {
		t.Errorf("add without qty: %d %v", res.StatusCode, out)
	}
	if res, out := add("cast-iron-skillet", "1"); res.StatusCode != http.StatusConflict || out["error"] != "out of stock" {
		t.Errorf("add sold out: %d %v", res.StatusCode, out)
	}
	if res, _ := add("nope", "1"); res.StatusCode != http.StatusNotFound {
		t.Errorf("add unknown: %d", res.StatusCode)
	}
	if res, _ := add("stoneware-mug", "100"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("add 100: %d", res.StatusCode)
	}

	_, body := get(t, c, srv.URL+"/cart")
	for _, s := range []string{"Stoneware Mug", "<td>3</td>", "€72.00", "Linen Tea Towel", `<td class="cart-total">€86.00</td>`, `id="checkout"`, `<span class="cart-count">4</span>`} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("cart lacks %q", s)
		}
	}
	_, body = get(t, c, srv.URL+"/checkout")
	if !bytes.Contains(body, []byte("Pay €86.00</button>")) {
		t.Error("checkout does not offer to pay the cart's total")
	}

	for _, bad := range []map[string]string{
		{"email": "not-an-email", "country": "DE"},
		{"email": "Ann <a@b.example>", "country": "DE"},
		{"email": "a@b.example", "country": "XX"},
	} {
		if res, out := postJSON(t, c, srv.URL+"/api/pay", bad); res.StatusCode != http.StatusPaymentRequired || out["status"] != "declined" || out["charged"] != false {
			t.Errorf("pay %v: %d %v", bad, res.StatusCode, out)
		}
	}
	res, out := postJSON(t, c, srv.URL+"/api/pay", map[string]string{"email": "a@b.example", "country": "DE"})
	if res.StatusCode != 200 || out["status"] != "approved" || out["amount"] != 8600.0 || out["charged"] != false || out["test_mode"] != true ||
		!strings.HasPrefix(out["id"].(string), "pay_test_") {
		t.Errorf("pay: %d %v", res.StatusCode, out)
	}
	if _, body := get(t, c, srv.URL+"/cart"); !bytes.Contains(body, []byte("Your cart is empty")) {
		t.Error("the cart is not emptied after payment")
	}

	// Without JavaScript the product form posts and lands on the cart.
	res, _ = postForm(t, c, srv.URL+"/cart/add", url.Values{"slug": {"ceramic-planter"}}, "")
	if res.StatusCode != 200 || res.Request.URL.Path != "/cart" {
		t.Errorf("form post: %d at %s, want the cart page", res.StatusCode, res.Request.URL)
	}
	if res, _ := get(t, c, srv.URL+"/api/pay"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/pay: %d, want 405", res.StatusCode)
	}
	if res, _ := postForm(t, c, srv.URL+"/api/pay", url.Values{"email": {"x"}}, ""); res.StatusCode != http.StatusBadRequest {
		t.Errorf("form-encoded pay: %d, want 400", res.StatusCode)
	}
}

func TestTamperedCartCookieIsIgnored(t *testing.T) {
	srv, c, _ := fastShop(t, Options{})
	u, _ := url.Parse(srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "cart", Value: "stoneware-mug:2|nope:1|linen-tea-towel:-3|ceramic-planter:x|walnut-serving-board:1000"}})
	_, body := get(t, c, srv.URL+"/cart")
	if !bytes.Contains(body, []byte(`<span class="cart-count">2</span>`)) || bytes.Contains(body, []byte("Linen")) || bytes.Contains(body, []byte("Walnut")) {
		t.Error("bad cart lines were trusted")
	}
}

func TestCDNHeaders(t *testing.T) {
	for _, tt := range []struct {
		cdn              string
		header           string
		page, static     string
		mustHave, absent string
	}{
		{"cloudflare", "CF-Cache-Status", "DYNAMIC", "HIT", "Cf-Ray", "X-Served-By"},
		{"fastly", "X-Cache", "MISS", "HIT", "X-Served-By", "Cf-Ray"},
		{"", "X-Cache", "", "", "X-Content-Type-Options", "Cf-Ray"},
	} {
		srv, c, _ := fastShop(t, Options{CDN: tt.cdn})
		res, _ := get(t, c, srv.URL+"/")
		if got := res.Header.Get(tt.header); got != tt.page {
			t.Errorf("%q: page %s = %q, want %q", tt.cdn, tt.header, got, tt.page)
		}
		if res.Header.Get(tt.mustHave) == "" || res.Header.Get(tt.absent) != "" {
			t.Errorf("%q: headers %v", tt.cdn, res.Header)
		}
		res, _ = get(t, c, srv.URL+"/static/shop.css")
		if got := res.Header.Get(tt.header); got != tt.static {
			t.Errorf("%q: static %s = %q, want %q", tt.cdn, tt.header, got, tt.static)
		}
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shop := New(Options{SearchDelay: -1})
	base, stop, err := shop.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL %s is not on 127.0.0.1", base)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if res, body := get(t, c, base+"/healthz"); res.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", res.StatusCode, body)
	}
	stop()
	stop() // idempotent
	if _, err := c.Get(base + "/healthz"); err == nil {
		t.Error("the shop still answers after stop")
	}

	// Ending the context stops it too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	base2, stop2, err := New(Options{}).Start(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.Get(base2 + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shop still answers 5s after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop2()
}

// TestGatewayOutage: SetGatewayDown makes one gateway's health answer 503
// until it is set up again; the other gateway is unaffected.
func TestGatewayOutage(t *testing.T) {
	srv, c, shop := fastShop(t, Options{})
	for _, tc := range []struct {
		down          bool
		paypal, strip int
	}{{false, 200, 200}, {true, 503, 200}, {false, 200, 200}} {
		shop.SetGatewayDown("paypal", tc.down)
		if res, body := get(t, c, srv.URL+"/payments/paypal/health"); res.StatusCode != tc.paypal ||
			tc.down && !bytes.Contains(body, []byte(`"status":"down"`)) {
			t.Errorf("paypal down=%v: %d %s", tc.down, res.StatusCode, body)
		}
		if res, _ := get(t, c, srv.URL+"/payments/stripe/health"); res.StatusCode != tc.strip {
			t.Errorf("stripe while paypal down=%v: %d", tc.down, res.StatusCode)
		}
	}
}
