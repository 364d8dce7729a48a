// Package platform recognises what a shop runs on from one HTTP response:
// its e-commerce platform, the CDN in front of it, the analytics it loads
// and the payment gateways its pages include. The answers are tags on
// every stored result and Influx series, so each is a lowercase value from
// a small closed set (bounded cardinality): anything unrecognised is
// "custom" or "none", never a free-form string. DetectCDN reads more of
// the CDN: its cache status, point of presence and the Age header.
package platform

import (
	"bytes"
	"net/http"
	"sort"
	"strings"
)

// Platforms.
const (
	Shopify     = "shopify"
	Magento     = "magento"
	WooCommerce = "woocommerce"
	Custom      = "custom"
)

// CDNs.
const (
	Cloudflare = "cloudflare"
	CloudFront = "cloudfront"
	Fastly     = "fastly"
	Akamai     = "akamai"
	NoCDN      = "none"
)

// Analytics vendors.
const (
	GoogleAnalytics = "google"
	AdobeAnalytics  = "adobe"
)

// Payment gateways.
const (
	Stripe = "stripe"
	PayPal = "paypal"
	Square = "square"
)

// Info is what Detect found. Analytics and PaymentGateways are sorted and
// empty (nil) when nothing was found.
type Info struct {
	Platform        string   `json:"platform"`
	CDN             string   `json:"cdn"`
	Analytics       []string `json:"analytics,omitempty"`
	PaymentGateways []string `json:"payment_gateways,omitempty"`
}

// Values lists every value each field can take, for documentation and for
// validating tags.
func Values() (platforms, cdns, analytics, gateways []string) {
	return []string{Custom, Magento, Shopify, WooCommerce},
		[]string{Akamai, Cloudflare, CloudFront, Fastly, NoCDN},
		[]string{AdobeAnalytics, GoogleAnalytics},
		[]string{PayPal, Square, Stripe}
}

// MaxScan is how much of a body Detect reads: the markers live in the
// <head> and the first scripts, and a cap keeps a huge page cheap.
const MaxScan = 2 << 20

// signal is one piece of evidence. Strong signals are unique to their
// platform (its own headers, its CDN host, its JavaScript globals); weak
// ones also occur elsewhere (a form_key field, a /static/version path). A
// platform needs minScore: two signals, one of them strong, because a
// single marker can be a link or a mention (a blog post citing
// cdn.shopify.com is not a Shopify store), while every real storefront
// carries several.
type signal struct {
	header string // canonical header name; with value, a substring of it (lowercase)
	value  string
	body   string // substring of the body, case-sensitive as the platforms write it
	weight int
}

const (
	strong   = 2
	weak     = 1
	minScore = strong + weak
)

var platformSignals = map[string][]signal{
	Shopify: {
		{header: "X-Shopid", weight: strong},
		{header: "X-Shopify-Stage", weight: strong},
		{header: "X-Shopify-Request-Id", weight: strong},
		{header: "X-Sorting-Hat-Shopid", weight: strong},
		{header: "Powered-By", value: "shopify", weight: strong},
		{header: "Set-Cookie", value: "_shopify_", weight: strong},
		{body: "cdn.shopify.com", weight: strong},
		{body: "Shopify.theme", weight: strong},
		{body: "window.Shopify", weight: strong},
		{body: ".myshopify.com", weight: weak},
		{body: "shopify-section", weight: weak},
	},
	Magento: {
		{header: "X-Magento-Cache-Debug", weight: strong},
		{header: "X-Magento-Tags", weight: strong},
		{header: "X-Magento-Cache-Control", weight: strong},
		{header: "Set-Cookie", value: "x-magento-vary", weight: strong},
		{header: "Set-Cookie", value: "mage-", weight: strong},
		{body: "Mage.Cookies", weight: strong},
		{body: "text/x-magento-init", weight: strong},
		{body: "data-mage-init", weight: strong},
		{body: "/static/version", weight: weak},
		{body: "form_key", weight: weak},
		{body: "Magento_", weight: weak},
	},
	WooCommerce: {
		{header: "Set-Cookie", value: "woocommerce_items_in_cart", weight: strong},
		{header: "Set-Cookie", value: "woocommerce_cart_hash", weight: strong},
		{header: "Set-Cookie", value: "wp_woocommerce_session_", weight: strong},
		{body: "wp-content/plugins/woocommerce", weight: strong},
		{body: "woocommerce_params", weight: strong},
		{body: "wc_add_to_cart_params", weight: strong},
		{body: "woocommerce-page", weight: strong},
		{body: "wc-block-", weight: weak},
		{body: "class=\"woocommerce", weight: weak},
		// WordPress alone is not WooCommerce; it only adds to wc evidence.
		{header: "X-Powered-By", value: "wordpress", weight: weak},
		{header: "Link", value: "api.w.org", weight: weak},
	},
}

// platformOrder breaks ties, most specific first.
var platformOrder = []string{Shopify, Magento, WooCommerce}

var analyticsSignals = map[string][]string{
	GoogleAnalytics: {"googletagmanager.com/gtag/js", "googletagmanager.com/gtm.js", "google-analytics.com/analytics.js",
		"google-analytics.com/ga.js", "google-analytics.com/g/collect"},
	AdobeAnalytics: {"AppMeasurement", "assets.adobedtm.com", "s_code.js", ".omtrdc.net", ".2o7.net"},
}

var gatewaySignals = map[string][]string{
	Stripe: {"js.stripe.com"},
	PayPal: {"paypal.com/sdk/js", "paypalobjects.com/api/checkout", "paypal.com/checkoutnow"},
	// Square's Web Payments SDK (and its older SqPaymentForm).
	Square: {"web.squarecdn.com/v1/square.js", "squareup.com/v2/paymentform", "js.squareup.com", "web-payments-sdk"},
}

// Detect classifies a shop from a response's headers and body (nil headers
// and bodies are fine). It never returns a value outside Values().
func Detect(h http.Header, body []byte) Info {
	if len(body) > MaxScan {
		body = body[:MaxScan]
	}
	info := Info{Platform: Custom, CDN: cdnProvider(h)}

	best := 0
	for _, p := range platformOrder {
		score := 0
		for _, s := range platformSignals[p] {
			if s.matches(h, body) {
				score += s.weight
			}
		}
		// Strictly greater: on a tie the earlier, more specific one stays.
		if score >= minScore && score > best {
			info.Platform, best = p, score
		}
	}
	info.Analytics = present(analyticsSignals, body)
	info.PaymentGateways = present(gatewaySignals, body)
	return info
}

func (s signal) matches(h http.Header, body []byte) bool {
	if s.body != "" {
		return bytes.Contains(body, []byte(s.body))
	}
	for _, v := range h.Values(s.header) {
		if s.value == "" || strings.Contains(strings.ToLower(v), s.value) {
			return true
		}
	}
	return false
}

// present returns the sorted keys of signals with a marker in body.
func present(signals map[string][]string, body []byte) []string {
	var out []string
	for name, markers := range signals {
		for _, m := range markers {
			if bytes.Contains(body, []byte(m)) {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// cdnProvider names the CDN that served the response. When headers of
// several appear (one CDN in front of another), the Server header names
// the outermost; otherwise the first match in a fixed order wins.
func cdnProvider(h http.Header) string {
	server := strings.ToLower(h.Get("Server"))
	switch {
	case server == "cloudflare":
		return Cloudflare
	case strings.HasPrefix(server, "akamai"):
		return Akamai
	case server == "cloudfront" || (server == "amazons3" && h.Get("X-Amz-Cf-Id") != ""):
		return CloudFront
	}
	via := strings.ToLower(strings.Join(h.Values("Via"), ", "))
	xcache := strings.ToLower(strings.Join(h.Values("X-Cache"), ", "))
	switch {
	case h.Get("Cf-Ray") != "":
		return Cloudflare
	case hasHeaderPrefix(h, "X-Akamai-") || h.Get("Akamai-Grn") != "" || h.Get("Akamai-Cache-Status") != "" ||
		strings.Contains(xcache, "akamaitechnologies.com") || h.Get("X-Check-Cacheable") != "":
		return Akamai
	case h.Get("X-Fastly-Request-Id") != "" || hasHeaderPrefix(h, "Fastly-") ||
		strings.HasPrefix(strings.ToLower(h.Get("X-Served-By")), "cache-") ||
		fastlyVia(via) && xcache != "":
		return Fastly
	case h.Get("X-Amz-Cf-Id") != "" || h.Get("X-Amz-Cf-Pop") != "" || strings.Contains(via, "cloudfront") ||
		strings.Contains(xcache, "from cloudfront"):
		return CloudFront
	}
	return NoCDN
}

// fastlyVia: Fastly says "1.1 varnish" with no version, while a shop's own
// Varnish (common in front of Magento) says "1.1 varnish (Varnish/7.1)" and
// is no CDN.
func fastlyVia(via string) bool {
	for _, hop := range strings.Split(via, ",") {
		if strings.TrimSpace(hop) == "1.1 varnish" {
			return true
		}
	}
	return false
}

func hasHeaderPrefix(h http.Header, prefix string) bool {
	for k := range h {
		if len(k) >= len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			return true
		}
	}
	return false
}
