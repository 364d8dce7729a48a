package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// TestDemoHTTPOnly runs the offline demo briefly without a browser: the
// shop starts, the checks run through the real scheduler and store, and
// the report shows the planted faults.
func TestDemoHTTPOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 6 s")
	}
	a, out, errb := testApp()
	dir := t.TempDir()
	code := run(context.Background(), a, []string{"demo", "--duration", "6s", "--no-browser", "--dir", dir})
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errb)
	}
	got := out.String()
	for _, want := range []string{"✓  home", "inventory-api", "CHECK", "UPTIME", "outbox:"} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if _, err := filepath.Glob(filepath.Join(dir, "storeprobe.db")); err != nil {
		t.Error(err)
	}
}

// TestDemoWithBrowser runs the demo with Chromium long enough for every
// browser check: the shopify template runs unchanged through the Dawn
// store to Shopify's checkout, the shop's Cloudflare headers show in the
// progress lines and as the report's cache status per check (the
// stylesheet a cache hit, the HTML dynamic), the report shows the Stripe
// card field's readiness and the GA4 tag firing per page, and the PayPal
// outage is told to the webhook.
func TestDemoWithBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 45 s")
	}
	chromium := browsertest.Chromium(t)
	a, out, errb := testApp()
	code := run(context.Background(), a, []string{"demo", "--duration", "45s", "--chrome", chromium, "--dir", t.TempDir()})
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errb)
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`✓  dawn-checkout +journey`),
		regexp.MustCompile(`· checkout +page`),
		regexp.MustCompile(`✓  stylesheet +http .*cloudflare hit FRA`),
		regexp.MustCompile(`(?m)^stylesheet \(http.*\n(  .*\n)*?  cdn cloudflare: \d+ responses?, cache hit 100 % \(hit \d+\), pop FRA \d+`),
		regexp.MustCompile(`(?m)^home \(http.*\n(  .*\n)*?  cdn cloudflare: \d+ responses?, cache hit 0 % \(dynamic \d+\), pop FRA \d+`),
		regexp.MustCompile(`(?m)^dawn-checkout \(journey.*\n(  .*\n)*?  checkout +\d+ `),
		regexp.MustCompile(`🔔  FIRING down: paypal-health`),
		// The card field's readiness and the GA4 tag, per page.
		regexp.MustCompile(`(?m)^  card-field +\d+ .* stripe \d+ ms +ga4 100 %$`),
		regexp.MustCompile(`(?m)^  ✓  payment_ready card-field p75`),
		regexp.MustCompile(`(?m)^  home-desktop +\d+ .* ga4 100 %$`),
	} {
		if !want.MatchString(got) {
			t.Errorf("demo output does not match %s:\n%s", want, got)
		}
	}
}
