package platform

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// readFixture reads a raw HTTP response as captured from a shop (trimmed).
func readFixture(t testing.TB, name string) (http.Header, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil && len(body) == 0 {
		t.Fatalf("%s: body: %v", name, err)
	}
	return res.Header, body
}

func TestDetectFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    Info
	}{
		{"shopify-dawn.http", Info{Shopify, Cloudflare, []string{GoogleAnalytics}, nil}},
		{"shopify-headers-only.http", Info{Shopify, Cloudflare, nil, nil}},
		{"magento-cloud-fastly.http", Info{Magento, Fastly, []string{GoogleAnalytics}, []string{PayPal}}},
		// A shop's own Varnish is not a CDN, though it says "varnish" and X-Cache.
		{"magento-own-varnish.http", Info{Magento, NoCDN, nil, nil}},
		{"woocommerce-storefront.http", Info{WooCommerce, NoCDN, []string{GoogleAnalytics}, []string{Stripe}}},
		{"custom-cloudfront-square-adobe.http", Info{Custom, CloudFront, []string{AdobeAnalytics}, []string{Square}}},
		{"custom-akamai-appmeasurement.http", Info{Custom, Akamai, []string{AdobeAnalytics}, nil}},
		// WordPress without WooCommerce, and a post that merely mentions
		// cdn.shopify.com and woocommerce, is neither.
		{"custom-plain.http", Info{Custom, NoCDN, nil, nil}},
		{"fastly-request-id.http", Info{Custom, Fastly, nil, []string{PayPal, Stripe}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			h, body := readFixture(t, tt.fixture)
			if got := Detect(h, body); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Detect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDetectSignals(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name     string
		h        http.Header
		body     string
		platform string
		cdn      string
	}{
		{"nothing", nil, "", Custom, NoCDN},
		{"cloudflare by server", hdr("Server", "cloudflare"), "", Custom, Cloudflare},
		{"cloudflare by ray", hdr("CF-RAY", "8e6c1f2b9d4a2c31-FRA"), "", Custom, Cloudflare},
		{"cloudfront by via", hdr("Via", "1.1 abc.cloudfront.net (CloudFront)"), "", Custom, CloudFront},
		{"cloudfront by id", hdr("X-Amz-Cf-Id", "x=="), "", Custom, CloudFront},
		{"fastly by served-by", hdr("X-Served-By", "cache-lhr7321-LHR"), "", Custom, Fastly},
		{"fastly by via and x-cache", hdr("Via", "1.1 varnish", "X-Cache", "HIT"), "", Custom, Fastly},
		{"fastly via behind another hop", hdr("Via", "1.1 google, 1.1 varnish", "X-Cache", "MISS, HIT"), "", Custom, Fastly},
		{"varnish via alone", hdr("Via", "1.1 varnish"), "", Custom, NoCDN},
		{"own varnish", hdr("Via", "1.1 varnish (Varnish/6.0)", "X-Cache", "HIT"), "", Custom, NoCDN},
		{"akamai by server", hdr("Server", "AkamaiGHost"), "", Custom, Akamai},
		{"akamai by grn", hdr("Akamai-GRN", "0.1.2"), "", Custom, Akamai},
		{"akamai by x-akamai", hdr("X-Akamai-Request-ID", "1a2b"), "", Custom, Akamai},
		{"akamai by x-cache host", hdr("X-Cache", "TCP_MISS from a23-1-2-3.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0-1)"), "", Custom, Akamai},
		// Cloudflare in front of CloudFront: the Server header names the edge.
		{"outermost cdn wins", hdr("Server", "cloudflare", "X-Amz-Cf-Id", "x==", "CF-RAY", "1-FRA"), "", Custom, Cloudflare},
		{"shopify header and body", hdr("X-ShopId", "1"), `<link href="https://cdn.shopify.com/s/files/1/x.css">`, Shopify, NoCDN},
		{"shopify body only", nil, `<script>window.Shopify = {}; Shopify.theme = {"name":"Dawn"};</script>`, Shopify, NoCDN},
		{"one strong marker is a mention", nil, `<a href="https://cdn.shopify.com/x.png">`, Custom, NoCDN},
		{"magento by cookie and form key", hdr("Set-Cookie", "X-Magento-Vary=abc; path=/"), `<input name="form_key" value="x">`, Magento, NoCDN},
		{"magento weak markers only", nil, `<input name="form_key"> <img src="/static/version123/a.png">`, Custom, NoCDN},
		{"woocommerce by cookie and class", hdr("Set-Cookie", "woocommerce_items_in_cart=1"), `<body class="woocommerce-page">`, WooCommerce, NoCDN},
		{"wordpress plus wc blocks", hdr("X-Powered-By", "WordPress", "Link", `<https://x/wp-json/>; rel="https://api.w.org/"`), `<div class="wc-block-cart">`, WooCommerce, NoCDN},
		{"wordpress alone", hdr("X-Powered-By", "WordPress", "Link", `<https://x/wp-json/>; rel="https://api.w.org/"`), `<body class="blog">`, Custom, NoCDN},
		// A Shopify Buy Button on a WooCommerce shop: WooCommerce has more.
		{"stronger evidence wins", hdr("Set-Cookie", "wp_woocommerce_session_1=x"),
			`<body class="woocommerce-page"><link href="/wp-content/plugins/woocommerce/a.css"><script src="https://cdn.shopify.com/buy-button.js"></script><script>window.Shopify={}</script>`, WooCommerce, NoCDN},
		// Equal evidence: the fixed order decides, so results are stable.
		{"single mentions of two platforms", nil, `<script src="https://cdn.shopify.com/a.js"></script><script type="text/x-magento-init">{}</script>`, Custom, NoCDN},
		{"tie above the bar", nil, `Shopify.theme window.Shopify Mage.Cookies data-mage-init`, Shopify, NoCDN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Detect(tt.h, []byte(tt.body))
			if got.Platform != tt.platform || got.CDN != tt.cdn {
				t.Errorf("Detect = %s/%s, want %s/%s", got.Platform, got.CDN, tt.platform, tt.cdn)
			}
		})
	}
}

func TestDetectScansABoundedPrefix(t *testing.T) {
	body := append(bytes.Repeat([]byte(" "), MaxScan), []byte(`<script src="https://js.stripe.com/v3/"></script>`)...)
	if got := Detect(nil, body); got.PaymentGateways != nil {
		t.Errorf("a marker past MaxScan was read: %v", got.PaymentGateways)
	}
}

func checkClosedSet(t *testing.T, info Info) {
	t.Helper()
	platforms, cdns, analytics, gateways := Values()
	if !slices.Contains(platforms, info.Platform) || !slices.Contains(cdns, info.CDN) {
		t.Fatalf("value outside the closed set: %+v", info)
	}
	for _, a := range info.Analytics {
		if !slices.Contains(analytics, a) {
			t.Fatalf("analytics %q outside the closed set", a)
		}
	}
	for _, g := range info.PaymentGateways {
		if !slices.Contains(gateways, g) {
			t.Fatalf("gateway %q outside the closed set", g)
		}
	}
	if !slices.IsSorted(info.Analytics) || !slices.IsSorted(info.PaymentGateways) {
		t.Fatalf("unsorted lists: %+v", info)
	}
}

func FuzzDetect(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".http" {
			data, err := os.ReadFile(filepath.Join("testdata", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Headers from the fuzzed bytes when they parse, the rest as body.
		h := http.Header{}
		if res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil); err == nil {
			h = res.Header
			res.Body.Close()
		}
		checkClosedSet(t, Detect(h, data))
	})
}
