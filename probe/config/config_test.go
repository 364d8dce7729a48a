package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func testEnv(vars map[string]string) Option {
	return WithEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

func fixedHost() (string, error) { return "probe-host", nil }

// fullEnv is what testdata/full.yaml needs from the environment.
var fullEnv = map[string]string{
	"INFLUX_TOKEN":          "influx-secret-token",
	"STRIPE_RESTRICTED_KEY": "rk_test_51Habc",
	"PAYPAL_CLIENT_ID":      "AbCdEf123",
	"INVENTORY_KEY":         "inv-key-42",
	"CHECKOUT_EMAIL":        "probe@example.com",
	"HOOK_SECRET":           "hook-signing-key",
	"PAGERDUTY_ROUTING_KEY": "pd-routing-key",
}

func checkByName(t *testing.T, cfg *Config, name string) probe.Check {
	t.Helper()
	for _, c := range cfg.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q", name)
	return probe.Check{}
}

// TestFullExample loads the README's example config and checks that what
// it says is what the checks get.
func TestFullExample(t *testing.T) {
	cfg, err := Load("testdata/full.yaml", testEnv(fullEnv), WithVersion("1.2.3"), withHostname(fixedHost))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Checks) != 12 {
		t.Fatalf("got %d checks, want 12", len(cfg.Checks))
	}
	byType := map[probe.CheckType]int{}
	for _, c := range cfg.Checks {
		byType[c.Type]++
		if cfg.Lines[c.Name] == 0 {
			t.Errorf("check %s has no line", c.Name)
		}
		if c.Location != "eu-west" || c.Probe != "probe-eu-1" {
			t.Errorf("check %s: location/probe %q/%q, want the defaults", c.Name, c.Location, c.Probe)
		}
		if c.Tags["platform"] != "shopify" {
			t.Errorf("check %s: tags %v lack the default platform tag", c.Name, c.Tags)
		}
		if c.Timeout <= 0 || c.Schedule == "" {
			t.Errorf("check %s: timeout %v schedule %q", c.Name, c.Timeout, c.Schedule)
		}
	}
	if want := (map[probe.CheckType]int{probe.TypeHTTP: 9, probe.TypeBrowser: 2, probe.TypeJourney: 1}); fmt.Sprint(byType) != fmt.Sprint(want) {
		t.Errorf("types %v, want %v", byType, want)
	}
	if cfg.Lines["home"] != 36 || cfg.Lines["checkout"] != 137 {
		t.Errorf("lines home=%d checkout=%d, want 36 and 137", cfg.Lines["home"], cfg.Lines["checkout"])
	}
	if cfg.Retention != 90*24*time.Hour || cfg.Store != filepath.Join("testdata", "storeprobe.db") {
		t.Errorf("retention %v store %q", cfg.Retention, cfg.Store)
	}
	if cfg.Scheduler != (Scheduler{Concurrency: 32, BrowserConcurrency: 2, GracePeriod: 30 * time.Second}) {
		t.Errorf("scheduler %+v", cfg.Scheduler)
	}
	mob := cfg.Browser.Devices["mobile"]
	if mob.Latency == nil || *mob.Latency != 562500*time.Microsecond || *mob.DownloadKbps != 1474.56 || *mob.CPUSlowdown != 4 || mob.Width != nil {
		t.Errorf("mobile override %+v", mob)
	}
	in := cfg.InfluxDB
	if in == nil || in.URL != "http://127.0.0.1:8086" || in.Bucket != "storeprobe/autogen" || in.Token != "influx-secret-token" ||
		in.BatchSize != 500 || in.FlushInterval != 10*time.Second || in.MaxOutboxRows != 1_000_000 || in.MaxOutboxAge != 7*24*time.Hour {
		t.Errorf("influxdb %+v", in)
	}
	if s := fmt.Sprintf("%v %+v %#v", *in, *in, *in); strings.Contains(s, "influx-secret-token") {
		t.Errorf("formatting InfluxDB prints the token: %s", s)
	}

	home := checkByName(t, cfg, "home")
	if home.Type != probe.TypeHTTP || home.Timeout != 10*time.Second || home.Retries != 1 || home.HTTP.MaxDuration != 3*time.Second {
		t.Errorf("home: %+v", home)
	}
	if home.SLO != (probe.SLO{Uptime: 99.95, LoadTime: 1500 * time.Millisecond}) {
		t.Errorf("home SLO %+v: want its own uptime and load_time", home.SLO)
	}
	if home.Tags["cdn"] != "cloudflare" || home.Tags["team"] != "web" {
		t.Errorf("home tags %v", home.Tags)
	}
	if home.HTTP.ExpectStatus.String() != "200" || len(home.HTTP.ExpectBody) != 2 || !home.HTTP.ExpectBody[1].MatchString("<title>Linen | EXAMPLE SHOP") {
		t.Errorf("home expectations %+v", home.HTTP)
	}
	if !home.HTTP.FollowRedirects || home.HTTP.MaxRedirects != 10 || home.HTTP.UserAgent != "storeprobe/1.2.3 (+synthetic monitoring)" {
		t.Errorf("home HTTP defaults %+v", home.HTTP)
	}
	cart := checkByName(t, cfg, "cart-add")
	if cart.HTTP.Method != "POST" || cart.HTTP.ExpectStatus.String() != "200,201" || !strings.Contains(cart.HTTP.Body, `"quantity":1`) ||
		len(cart.HTTP.Headers) != 2 || cart.HTTP.Headers[0] != (probe.Header{Name: "Content-Type", Value: "application/json"}) {
		t.Errorf("cart-add %+v", cart.HTTP)
	}
	if cart.SLO != (probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second, Success: 99.5}) {
		t.Errorf("cart-add SLO %+v: want defaults plus success", cart.SLO)
	}
	stripe := checkByName(t, cfg, "stripe-api")
	if got := stripe.HTTP.Headers; len(got) != 1 || got[0].Value != "Bearer rk_test_51Habc" {
		t.Errorf("stripe-api headers %v: want the expanded key", got)
	}
	if pp := checkByName(t, cfg, "paypal-sdk"); pp.URL != "https://www.paypal.com/sdk/js?client-id=AbCdEf123&currency=EUR" {
		t.Errorf("paypal-sdk url %q", pp.URL)
	}
	cdn := checkByName(t, cfg, "cdn-app-js")
	if cdn.HTTP.IPVersion != 4 || cdn.HTTP.FollowRedirects || len(cdn.HTTP.ExpectHeaders) != 2 ||
		!cdn.HTTP.ExpectHeaders[0].Pattern.MatchString("public, max-age=31536000") || cdn.HTTP.ExpectHeaders[0].Pattern.MatchString("max-age=60") {
		t.Errorf("cdn-app-js %+v", cdn.HTTP)
	}
	inv := checkByName(t, cfg, "inventory-api")
	if inv.HTTP.CAFile != filepath.Join("testdata", "certs", "internal-ca.pem") || inv.Timeout != 5*time.Second || inv.Retries != 0 ||
		!slices.Equal(inv.HTTP.SecretHeaders, []string{"X-Inventory-Key"}) || inv.HTTP.ExpectStatus.String() != "200-299" {
		t.Errorf("inventory-api %+v", inv)
	}
	pdp := checkByName(t, cfg, "pdp-mobile")
	if pdp.Browser.Device != "mobile" || pdp.Timeout != 45*time.Second || pdp.Browser.MaxLoad != 6*time.Second ||
		fmt.Sprint(pdp.Browser.MaxVitals) != "map[cls:0.25 inp:500 lcp:4000]" {
		t.Errorf("pdp-mobile %+v", pdp)
	}
	if pdp.HTTP.UserAgent != "" || pdp.HTTP.FollowRedirects {
		t.Errorf("pdp-mobile carries HTTP settings: %+v", pdp.HTTP)
	}
	hd := checkByName(t, cfg, "home-desktop")
	if hd.Browser.Device != "desktop" || hd.Timeout != probe.DefaultBrowserTimeout || !hd.Browser.FailOnConsole || hd.SLO.CWVGood != 90 {
		t.Errorf("home-desktop %+v", hd)
	}
	co := checkByName(t, cfg, "checkout")
	if co.Journey.File != filepath.Join("testdata", "journeys", "checkout.yaml") || co.Timeout != probe.DefaultJourneyTimeout ||
		co.Journey.Params["email"] != "probe@example.com" || co.URL != "https://shop.example.com" || co.Browser.Device != "mobile" {
		t.Errorf("checkout %+v", co)
	}
	if co.Tags["team"] != "checkout" || co.SLO != (probe.SLO{Uptime: 99.5, LoadTime: 4 * time.Second, Success: 99}) {
		t.Errorf("checkout tags %v SLO %+v", co.Tags, co.SLO)
	}
}

// Without its environment the example reports each missing variable where
// it is used, and nothing else.
func TestFullExampleMissingEnv(t *testing.T) {
	_, err := Load("testdata/full.yaml", testEnv(nil), withHostname(fixedHost))
	want := []string{
		`testdata/full.yaml:29: influxdb.token_env: environment variable INFLUX_TOKEN is not set`,
		`testdata/full.yaml:78: check "stripe-api": headers.Authorization: environment variable STRIPE_RESTRICTED_KEY is not set`,
		`testdata/full.yaml:92: check "paypal-sdk": url: environment variable PAYPAL_CLIENT_ID is not set`,
		`testdata/full.yaml:113: check "inventory-api": headers.X-Inventory-Key: environment variable INVENTORY_KEY is not set`,
		`testdata/full.yaml:144: check "checkout": params.email: environment variable CHECKOUT_EMAIL is not set`,
		`testdata/full.yaml:156: notifier "ops": secret_env: environment variable HOOK_SECRET is not set`,
		`testdata/full.yaml:159: notifier "pager": routing_key_env: environment variable PAGERDUTY_ROUTING_KEY is not set`,
	}
	if err == nil || !slices.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestDefaultsApplied(t *testing.T) {
	src := `
checks:
  - {name: api, url: "https://shop.example.com/api", schedule: "@every 1m"}
  - {name: page, type: browser, url: "https://shop.example.com/", schedule: "@every 5m"}
  - {name: buy, type: journey, template: shopify, schedule: "@every 10m", params: {base_url: "not a url"}}
`
	cfg, err := Parse("conf/storeprobe.yaml", []byte(src), WithVersion("9.9.9"), withHostname(fixedHost), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Defaults.Location != "local" || cfg.Defaults.Probe != "probe-host" || cfg.Retention != DefaultRetention ||
		cfg.Store != DefaultStore || cfg.InfluxDB != nil || cfg.Browser.Path != "" {
		t.Errorf("config defaults %+v", cfg)
	}
	if cfg.Scheduler != (Scheduler{DefaultConcurrency, DefaultBrowserConcurrency, DefaultGracePeriod}) {
		t.Errorf("scheduler defaults %+v", cfg.Scheduler)
	}
	api, page, buy := cfg.Checks[0], cfg.Checks[1], cfg.Checks[2]
	want := probe.HTTPSpec{FollowRedirects: true, MaxRedirects: probe.DefaultMaxRedirects, MaxBodyBytes: probe.DefaultMaxBodyBytes,
		UserAgent: "storeprobe/9.9.9 (+synthetic monitoring)"}
	if fmt.Sprintf("%+v", api.HTTP) != fmt.Sprintf("%+v", want) || api.Timeout != probe.DefaultTimeout || api.Retries != 0 ||
		api.Location != "local" || api.Probe != "probe-host" || api.Type != probe.TypeHTTP {
		t.Errorf("http check defaults %+v", api)
	}
	if page.Timeout != 30*time.Second || page.Browser.Device != "desktop" {
		t.Errorf("browser check defaults %+v", page)
	}
	if buy.Timeout != 60*time.Second || buy.Journey.Template != "shopify" || buy.URL != "" || buy.Browser.Device != "" {
		t.Errorf("journey check defaults %+v", buy)
	}
	if len(api.Tags) != 0 {
		t.Errorf("no tags configured, got %v", api.Tags)
	}
	// No slo anywhere: the storefront preset, with CWV for browser checks.
	storefront := probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second, Preset: "storefront",
		FromPreset: probe.Targets(0).With("uptime").With("load_time")}
	if api.SLO != storefront {
		t.Errorf("http check without slo: %+v, want %+v", api.SLO, storefront)
	}
	storefront.CWVGood, storefront.FromPreset = 90, storefront.FromPreset.With("cwv_good")
	if page.SLO != storefront || buy.SLO != storefront {
		t.Errorf("browser and journey checks without slo: %+v, %+v, want %+v", page.SLO, buy.SLO, storefront)
	}
}

// TestSLOPresets: a check with no slo anywhere is judged against the
// storefront preset; a named preset gives its targets; keys beside a preset
// override it; without a preset only the keys set are targets, merged over
// defaults key by key.
func TestSLOPresets(t *testing.T) {
	from := func(names ...string) probe.Targets {
		var t probe.Targets
		for _, n := range names {
			t = t.With(n)
		}
		return t
	}
	for _, tc := range []struct {
		name     string
		defaults string
		check    string
		typ      string
		want     probe.SLO
	}{
		{"nothing anywhere", "", "", "http",
			probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second, Preset: "storefront", FromPreset: from("uptime", "load_time")}},
		{"payment", "", "slo: {preset: payment}", "http",
			probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 2 * time.Second, Preset: "payment", FromPreset: from("uptime", "success", "load_time")}},
		{"payment with a key beside it", "", "slo: {preset: payment, load_time: 1500ms}", "http",
			probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 1500 * time.Millisecond, Preset: "payment", FromPreset: from("uptime", "success")}},
		{"none judges nothing", "", "slo: {preset: none}", "browser", probe.SLO{Preset: "none"}},
		{"keys only: no preset", "", "slo: {uptime: 99.5}", "browser", probe.SLO{Uptime: 99.5}},
		{"defaults' preset for every check", "slo: {preset: payment}", "", "http",
			probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 2 * time.Second, Preset: "payment", FromPreset: from("uptime", "success", "load_time")}},
		{"a check's key over the defaults' preset", "slo: {preset: storefront}", "slo: {cwv_good: 75}", "journey",
			probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second, CWVGood: 75, Preset: "storefront", FromPreset: from("uptime", "load_time")}},
		{"a check's preset over the defaults' keys", "slo: {uptime: 99}", "slo: {preset: payment}", "http",
			probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 2 * time.Second, Preset: "payment", FromPreset: from("uptime", "success", "load_time")}},
		{"payment on a browser check: the payment field's readiness too", "", "slo: {preset: payment}", "browser",
			probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 2 * time.Second, PaymentReady: 2 * time.Second, Preset: "payment",
				FromPreset: from("uptime", "success", "load_time", "payment_ready")}},
		{"payment's readiness target set beside the preset", "", "slo: {preset: payment, payment_ready: 1500ms}", "journey",
			probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 2 * time.Second, PaymentReady: 1500 * time.Millisecond, Preset: "payment",
				FromPreset: from("uptime", "success", "load_time")}},
		{"payment_ready without a preset", "", "slo: {payment_ready: 3s}", "browser", probe.SLO{PaymentReady: 3 * time.Second}},
		{"defaults' keys merged under a check's keys", "slo: {uptime: 99, load_time: 4s}", "slo: {uptime: 98}", "http",
			probe.SLO{Uptime: 98, LoadTime: 4 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := "defaults: {" + strings.TrimSpace(strings.ReplaceAll(tc.defaults, "slo:", "slo:")) + "}\n" +
				"checks:\n  - name: c\n    type: " + tc.typ + "\n    schedule: \"@every 1m\"\n"
			switch tc.typ {
			case "journey":
				doc += "    template: shopify\n    params: {base_url: \"https://shop.test\"}\n"
			default:
				doc += "    url: https://shop.test/\n"
			}
			if tc.check != "" {
				doc += "    " + tc.check + "\n"
			}
			cfg, err := Parse("c.yaml", []byte(doc), WithEnv(func(string) (string, bool) { return "", false }),
				WithTemplates(func(string) bool { return true }), WithJourneyParams(func(probe.JourneySpec) error { return nil }))
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			if got := cfg.Checks[0].SLO; got != tc.want {
				t.Errorf("slo %+v, want %+v", got, tc.want)
			}
		})
	}
	_, err := Parse("c.yaml", []byte("checks:\n  - name: c\n    url: https://shop.test/\n    schedule: \"@every 1m\"\n    slo: {preset: checkout}\n"))
	if err == nil || !strings.Contains(err.Error(), `c.yaml:5: check "c": slo.preset: unknown preset "checkout" (want storefront, payment, none)`) {
		t.Errorf("unknown preset: %v", err)
	}
}

// TestBrowserPayment: payment names a closed set of gateways on browser
// checks; a journey says it with a step, so the key is misplaced there.
func TestBrowserPayment(t *testing.T) {
	for _, tc := range []struct {
		name, check, want string
		payment           probe.PaymentProvider
	}{
		{"stripe", "type: browser\n    url: https://shop.test/\n    payment: stripe\n", "", probe.PaymentStripe},
		{"square", "type: browser\n    url: https://shop.test/\n    payment: square\n", "", probe.PaymentSquare},
		{"unknown", "type: browser\n    url: https://shop.test/\n    payment: adyen\n",
			`c.yaml:6: check "c": payment: unknown payment provider "adyen" (want stripe, paypal, square; a journey waits with a wait_for_payment step)`, ""},
		{"not on http", "url: https://shop.test/\n    payment: stripe\n", `c.yaml:5: check "c": payment applies to browser checks only, not http checks`, ""},
		{"not on journeys", "type: journey\n    template: shopify\n    params: {base_url: \"https://shop.test\"}\n    payment: stripe\n",
			`c.yaml:7: check "c": payment applies to browser checks only, not journey checks`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := "checks:\n  - name: c\n    schedule: \"@every 1m\"\n    " + tc.check
			cfg, err := Parse("c.yaml", []byte(doc), WithTemplates(func(string) bool { return true }),
				WithJourneyParams(func(probe.JourneySpec) error { return nil }))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Checks[0].Browser.Payment; got != tc.payment {
				t.Errorf("payment %q, want %q", got, tc.payment)
			}
		})
	}
}

// defaults.timeout is for HTTP checks; browser and journey checks keep
// their own longer defaults unless they set a timeout.
func TestDefaultTimeoutIsHTTPOnly(t *testing.T) {
	src := `
defaults: {timeout: 4s, retries: 2, user_agent: "ShopMonitor/1", resolver: "127.0.0.1:5353", slo: {uptime: 99}}
checks:
  - {name: a, url: "https://shop.example.com/", schedule: "@every 1m"}
  - {name: b, url: "https://shop.example.com/", schedule: "@every 1m", timeout: 7s, user_agent: "X/2", resolver: "[::1]:53"}
  - {name: c, type: browser, url: "https://shop.example.com/", schedule: "@every 1m"}
  - {name: d, type: journey, journey: testdata/journeys/checkout.yaml, schedule: "@every 1m", timeout: 90s}
`
	cfg, err := Parse("c.yaml", []byte(src), withHostname(fixedHost))
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, c := range cfg.Checks {
		got += fmt.Sprintf("%s:%v/%d/%q/%q/%g ", c.Name, c.Timeout, c.Retries, c.HTTP.UserAgent, c.HTTP.Resolver, c.SLO.Uptime)
	}
	want := `a:4s/2/"ShopMonitor/1"/"127.0.0.1:5353"/99 b:7s/2/"X/2"/"[::1]:53"/99 c:30s/2/""/""/99 d:1m30s/2/""/""/99 `
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAnalyticsKeys(t *testing.T) {
	src := `
checks:
  - {name: b, type: browser, url: "https://shop.example.com/", schedule: "@every 1m", analytics: [ga4, adobe],
     analytics_passthrough: true, consent_selector: "#onetrust-accept-btn-handler"}
  - {name: j, type: journey, journey: testdata/journeys/checkout.yaml, schedule: "@every 1m", analytics: [adobe]}
  - {name: c, type: browser, url: "https://shop.example.com/", schedule: "@every 1m"}
`
	cfg, err := Parse("c.yaml", []byte(src), withHostname(fixedHost))
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, c := range cfg.Checks {
		got += fmt.Sprintf("%s:%v/%v/%q ", c.Name, c.Browser.Analytics, c.Browser.AnalyticsPassthrough, c.Browser.ConsentSelector)
	}
	want := `b:[ga4 adobe]/true/"#onetrust-accept-btn-handler" j:[adobe]/false/"" c:[]/false/"" `
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestEnvExpansion(t *testing.T) {
	src := `
checks:
  - name: a
    url: "https://${HOST}/search?q=x"
    schedule: "@every 1m"
    headers: {Authorization: "Bearer ${TOKEN}", X-Lit: "$${NOT_A_VAR} costs $5"}
    body: '{"user":"${USER_NAME}","pass":"${PASS}"}'
    expect: {body: "^total: \\$[0-9]+$"}
`
	env := map[string]string{"HOST": "shop.example.com", "TOKEN": "t0k", "USER_NAME": "probe", "PASS": "p@ss"}
	cfg, err := Parse("c.yaml", []byte(src), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Checks[0]
	if c.URL != "https://shop.example.com/search?q=x" || c.HTTP.Body != `{"user":"probe","pass":"p@ss"}` {
		t.Errorf("url %q body %q", c.URL, c.HTTP.Body)
	}
	if h := c.HTTP.Headers; h[0].Value != "Bearer t0k" || h[1].Value != "${NOT_A_VAR} costs $5" {
		t.Errorf("headers %v", h)
	}
	if re := c.HTTP.ExpectBody[0]; !re.MatchString("total: $42") {
		t.Errorf("regex %s lost its dollars", re)
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "1", "B_2": "two", "E": ""}[k]
		return v, ok
	}
	for _, tc := range []struct{ in, want, err string }{
		{in: "plain $ and $A", want: "plain $ and $A"},
		{in: "${A}${B_2}", want: "1two"},
		{in: "$${A}", want: "${A}"},
		{in: "$$${A}", want: "$${A}"}, // leftmost $${ wins
		{in: "x${A", err: "unterminated ${ (write $${ for a literal ${)"},
		{in: "${}", err: "${}: not a valid environment variable name"},
		{in: "${9A}", err: "${9A}: not a valid environment variable name"},
		{in: "${E}", err: "environment variable E is not set"},
		{in: "${X} ${A} ${Y}", err: "environment variables X, Y are not set"},
	} {
		got, err := expand(tc.in, env)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("expand(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// Anchors and merge keys let checks share settings; explicit keys win.
func TestAnchorsAndMergeKeys(t *testing.T) {
	src := `
checks:
  - &base
    name: home
    url: "https://shop.example.com/"
    schedule: "@every 1m"
    headers: &hdrs {Accept-Language: de-DE}
    tags: {team: web}
  - <<: *base
    name: home-fr
    headers: {Accept-Language: fr-FR}
  - <<: [*base]
    name: home-de
    headers: *hdrs
    retries: 3
`
	cfg, err := Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, c := range cfg.Checks {
		got += fmt.Sprintf("%s %s %s %s %d|", c.Name, c.URL, c.HTTP.Headers[0].Value, c.Tags["team"], c.Retries)
	}
	want := "home https://shop.example.com/ de-DE web 0|home-fr https://shop.example.com/ fr-FR web 0|home-de https://shop.example.com/ de-DE web 3|"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if cfg.Lines["home-fr"] != 9 {
		t.Errorf("home-fr at line %d, want 9", cfg.Lines["home-fr"])
	}
}

// A document that expands exponentially through aliases is refused
// quickly instead of being walked.
func TestAliasBomb(t *testing.T) {
	// Each level merges the previous one ten times: 10^20 entries if walked.
	var b strings.Builder
	b.WriteString("x:\n  - &a0 {name: x, url: \"https://x.example/\", schedule: \"@every 1m\"}\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&b, "  - &a%d {<<: [", i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("checks: [*a20]\n")
	start := time.Now()
	_, err := Parse("c.yaml", []byte(b.String()))
	var errs probe.Problems
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "document too large after expanding aliases and merge keys") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

// writeTLSFiles writes a CA certificate, a client certificate with its key
// and an unrelated key into dir.
func writeTLSFiles(t *testing.T, dir string) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert := func(k *ecdsa.PrivateKey, cn string) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	marshal := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	ca, client, other := key(), key(), key()
	write("ca.pem", "CERTIFICATE", cert(ca, "test CA"))
	write("client.pem", "CERTIFICATE", cert(client, "client"))
	write("client-key.pem", "EC PRIVATE KEY", marshal(client))
	write("other-key.pem", "EC PRIVATE KEY", marshal(other))
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Certificate files are read relative to the config file and checked the
// way the TLS client will use them.
func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	writeTLSFiles(t, dir)
	file := filepath.Join(dir, "storeprobe.yaml")
	good := `
checks:
  - {name: erp, url: "https://erp.example.com/", schedule: "@every 1m", ca_file: ca.pem, client_cert: client.pem, client_key: client-key.pem}
`
	cfg, err := Parse(file, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Checks[0].HTTP; h.CAFile != filepath.Join(dir, "ca.pem") || h.ClientKey != filepath.Join(dir, "client-key.pem") {
		t.Errorf("paths not resolved against the config's directory: %+v", h)
	}

	bad := `
checks:
  - {name: a, url: "https://erp.example.com/", schedule: "@every 1m", ca_file: notes.txt}
  - {name: b, url: "https://erp.example.com/", schedule: "@every 1m", ca_file: missing.pem}
  - {name: c, url: "https://erp.example.com/", schedule: "@every 1m", client_cert: client.pem, client_key: other-key.pem}
  - {name: d, url: "https://erp.example.com/", schedule: "@every 1m", client_cert: client.pem}
`
	_, err = Parse(file, []byte(bad))
	want := []string{
		fmt.Sprintf(`%s:3: check "a": ca_file: %s holds no PEM certificate`, file, filepath.Join(dir, "notes.txt")),
		fmt.Sprintf(`%s:4: check "b": ca_file: open %s: no such file or directory`, file, filepath.Join(dir, "missing.pem")),
		fmt.Sprintf(`%s:5: check "c": client_cert/client_key: tls: private key does not match public key`, file),
		fmt.Sprintf(`%s:6: check "d": client_cert needs client_key`, file),
	}
	if err == nil || !slices.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// The journey loader hook sees resolved paths, once per file; the
// probe.Problems it returns (wrapped or joined too) keep their own
// FILE:LINE, other errors land on the config line that names the journey,
// even when their text looks like a position.
func TestJourneyLoader(t *testing.T) {
	src := `
checks:
  - {name: checkout, type: journey, journey: journeys/checkout.yaml, schedule: "@every 5m"}
  - {name: checkout-mobile, type: journey, journey: journeys/checkout.yaml, schedule: "@every 5m", device: mobile}
  - {name: search, type: journey, journey: journeys/search.yaml, schedule: "@every 5m"}
  - {name: account, type: journey, journey: /abs/account.yaml, schedule: "@every 5m"}
  - {name: remote, type: journey, journey: journeys/remote.yaml, schedule: "@every 5m"}
  - {name: mixed, type: journey, journey: journeys/mixed.yaml, schedule: "@every 5m"}
`
	var calls []string
	loader := func(path string) error {
		calls = append(calls, path)
		switch filepath.Base(path) {
		case "checkout.yaml":
			return fmt.Errorf("load journey: %w", probe.Problems{
				{File: path, Line: 4, Message: `step 2: unknown action "clik" (did you mean "click"?)`},
				{File: path, Line: 9, Message: "wait_for: want text, selector or url"},
			})
		case "search.yaml":
			return errors.New("open journey: permission denied")
		case "remote.yaml":
			// Not a position, though it reads like one.
			return errors.New("dial tcp 127.0.0.1:8080: connect: connection refused")
		case "mixed.yaml":
			return errors.Join(probe.Problems{{File: path, Line: 2, Message: "steps is empty"}}, errors.New("and unreadable"))
		}
		return nil
	}
	_, err := Parse("conf/storeprobe.yaml", []byte(src), WithJourneyLoader(loader))
	wantCalls := []string{"conf/journeys/checkout.yaml", "conf/journeys/search.yaml", "/abs/account.yaml",
		"conf/journeys/remote.yaml", "conf/journeys/mixed.yaml"}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("loader calls %v, want %v", calls, wantCalls)
	}
	want := []string{
		`conf/storeprobe.yaml:5: check "search": journey: open journey: permission denied`,
		`conf/storeprobe.yaml:7: check "remote": journey: dial tcp 127.0.0.1:8080: connect: connection refused`,
		`conf/storeprobe.yaml:8: check "mixed": journey: and unreadable`,
		`conf/journeys/checkout.yaml:4: step 2: unknown action "clik" (did you mean "click"?)`,
		`conf/journeys/checkout.yaml:9: wait_for: want text, selector or url`,
		`conf/journeys/mixed.yaml:2: steps is empty`,
	}
	if err == nil || !slices.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestTemplatesAndParams(t *testing.T) {
	src := `
checks:
  - name: shopify
    type: journey
    template: shopify
    schedule: "@every 5m"
    params: {base_url: "https://shop.example.com", search_term: shirt}
  - {name: woo, type: journey, template: woocommerce, schedule: "@every 5m"}
  - {name: bad, type: journey, template: "../etc", schedule: "@every 5m"}
  - name: typo
    type: journey
    template: shopify
    schedule: "@every 5m"
    params: {base_ulr: "https://shop.example.com"}
`
	known := func(name string) bool { return name == "shopify" }
	var seen []string
	params := func(spec probe.JourneySpec) error {
		seen = append(seen, spec.Template)
		if _, ok := spec.Params["base_ulr"]; ok {
			return errors.New("journey templates/shopify.yaml: unknown param base_ulr (it declares: base_url, search_term)")
		}
		return nil
	}
	_, err := Parse("c.yaml", []byte(src), WithTemplates(known), WithJourneyParams(params))
	want := []string{
		`c.yaml:8: check "woo": template: unknown journey template "woocommerce"`,
		`c.yaml:9: check "bad": template: "../etc" is not a template name`,
		`c.yaml:14: check "typo": params: journey templates/shopify.yaml: unknown param base_ulr (it declares: base_url, search_term)`,
	}
	if err == nil || !slices.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	// Params are checked only against journeys that are themselves valid.
	if !slices.Equal(seen, []string{"shopify", "shopify"}) {
		t.Errorf("params hook saw %v", seen)
	}
}

// A config is usable as the README shows it only if every problem is
// collected: a file with one problem per check reports all of them.
func TestEveryProblemCollected(t *testing.T) {
	var b strings.Builder
	b.WriteString("checks:\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "  - {name: c%d, url: \"https://shop.example.com/\", schedule: \"@every %dx\"}\n", i, i)
	}
	_, err := Parse("c.yaml", []byte(b.String()))
	var errs probe.Problems
	if !errors.As(err, &errs) || len(errs) != 40 {
		t.Fatalf("got %v", err)
	}
	for i, p := range errs {
		if p.Line != i+2 {
			t.Errorf("problem %d at line %d, want %d", i, p.Line, i+2)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var errs probe.Problems
	if err == nil || errors.As(err, &errs) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want a plain not-exist error", err)
	}
}

func TestShownURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://shop.example.com/a?q=1#x":                 "https://shop.example.com/a?q=1#x",
		"https://bob:hunter2@shop.example.com/":            "https://REDACTED@shop.example.com/",
		"https://${USER}:${PASS}@shop.example.com/":        "https://${USER}:${PASS}@shop.example.com/",
		"https://x.example/?access_token=abc&q=shoes":      "https://x.example/?access_token=REDACTED&q=shoes",
		"https://x.example/?api_key=${KEY}":                "https://x.example/?api_key=${KEY}",
		"ht!tp://bob:pw@[bad/?session_id=s3cr3t#frag@x":    "ht!tp://REDACTED@[bad/?session_id=REDACTED#frag@x",
		"no scheme at all":                                 "no scheme at all",
		"http://user@host.example/path@with/at?token=&a=b": "http://REDACTED@host.example/path@with/at?token=&a=b",
	} {
		if got := shownURL(in); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The README shows testdata/full.yaml as its example; this keeps the two
// the same.
func TestReadmeShowsFullExample(t *testing.T) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{filepath.Join("..", "..", "README.md")} {
		data, err := os.ReadFile(doc)
		if err == nil && strings.Contains(string(data), "```yaml\n"+string(full)+"```") {
			return
		}
	}
	t.Error("README.md does not show testdata/full.yaml verbatim in a yaml block")
}

// A pathological file yields a bounded report, not a flood.
func TestProblemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("checks:\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "  - {name: c%d, url: \"ftp://x/\", schedule: \"@every 1m\"}\n", i)
	}
	_, err := Parse("c.yaml", []byte(b.String()))
	var errs probe.Problems
	if !errors.As(err, &errs) || len(errs) != maxProblems+1 ||
		errs[maxProblems].Message != "too many problems; stopping here" {
		t.Fatalf("got %d problems", len(errs))
	}
}

func TestBrowserPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chrome"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "c.yaml")
	const checks = "checks: [{name: a, url: \"https://x.example/\", schedule: \"@every 1m\"}]\n"
	for path, want := range map[string]string{
		"./chrome":         "",
		"chromium":         "",
		"./notes":          fmt.Sprintf("%s:1: browser.path: %s is not an executable file", file, filepath.Join(dir, "notes")),
		"./missing":        fmt.Sprintf("%s:1: browser.path: stat %s: no such file or directory", file, filepath.Join(dir, "missing")),
		filepath.Join(dir): fmt.Sprintf("%s:1: browser.path: %s is not an executable file", file, dir),
	} {
		cfg, err := Parse(file, []byte("browser: {path: \""+path+"\"}\n"+checks))
		if want == "" {
			if err != nil {
				t.Errorf("path %s: %v", path, err)
			} else if path == "./chrome" && cfg.Browser.Path != filepath.Join(dir, "chrome") {
				t.Errorf("path %s resolved to %s", path, cfg.Browser.Path)
			}
			continue
		}
		if err == nil || err.Error() != want {
			t.Errorf("path %s: got %v, want %s", path, err, want)
		}
	}
}

// The config takes the CLI's spellings: --method post and --max-body 10MiB.
func TestHTTPFlagSpellings(t *testing.T) {
	for _, tc := range []struct {
		keys    string
		method  string
		maxBody int64
	}{
		{`method: post`, "POST", probe.DefaultMaxBodyBytes},
		{`method: PATCH`, "PATCH", probe.DefaultMaxBodyBytes},
		{`max_body: 10MiB`, "", 10 << 20},
		{`max_body: "512KB"`, "", 512_000},
		{`max_body: 4096`, "", 4096},
		{`max_body: "${CAP}"`, "", 2 << 10},
		{`max_body_bytes: 2048`, "", 2048}, // the older name still loads
		{`max_body_bytes: 1GiB`, "", 1 << 30},
	} {
		t.Run(tc.keys, func(t *testing.T) {
			src := "checks:\n  - {name: a, url: \"http://x.example/\", schedule: \"@every 1m\", " + tc.keys + "}\n"
			cfg, err := Parse("c.yaml", []byte(src), testEnv(map[string]string{"CAP": "2KiB"}), withHostname(fixedHost))
			if err != nil {
				t.Fatal(err)
			}
			h := cfg.Checks[0].HTTP
			if h.Method != tc.method || h.MaxBodyBytes != tc.maxBody {
				t.Errorf("method %q max body %d, want %q and %d", h.Method, h.MaxBodyBytes, tc.method, tc.maxBody)
			}
		})
	}
}

// A check validator's FieldErrors land on the line of their key (or of its
// older alias), anything else on the check's line; it sees complete checks
// only, and only http ones.
func TestCheckValidator(t *testing.T) {
	src := `defaults:
  resolver: "127.0.0.1:5353"
checks:
  - name: a
    url: "http://x.example/"
    schedule: "@every 1m"
    proxy: "socks5://127.0.0.1:1080"
    max_body_bytes: 1024
    headers: {X-Key: "${KEY}"}
  - name: b
    url: "http://x.example/"
    schedule: "@every 1m"
  - {name: c, url: "http://x.example/", schedule: "@every 1m", timeout: nope}
  - {name: d, type: browser, url: "http://x.example/", schedule: "@every 1m"}
  - {name: e, url: "http://x.example/", schedule: "@every 1m"}
`
	var seen []string
	validate := func(c probe.Check) error {
		seen = append(seen, c.Name)
		switch c.Name {
		case "a":
			if c.HTTP.Resolver != "127.0.0.1:5353" || c.HTTP.Headers[0].Value != "k3y" || c.Timeout != probe.DefaultTimeout {
				return fmt.Errorf("incomplete check %+v", c)
			}
			return errors.Join(
				&probe.FieldError{Field: "proxy", Err: errors.New(`scheme "socks5": want http or https`)},
				errors.Join(&probe.FieldError{Field: "max_body", Err: errors.New("too big")},
					&probe.FieldError{Field: "resolver", Err: errors.New("unreachable")}),
			)
		case "b":
			return fmt.Errorf("prepare: %w", &probe.FieldError{Field: "client_key", Err: errors.New("missing")})
		case "e":
			return errors.New("something else")
		}
		return nil
	}
	_, err := Parse("c.yaml", []byte(src), testEnv(map[string]string{"KEY": "k3y"}), withHostname(fixedHost), WithCheckValidator(validate))
	want := []string{
		`c.yaml:4: check "a": resolver: unreachable`, // inherited from defaults: the check's line
		`c.yaml:7: check "a": proxy: scheme "socks5": want http or https`,
		`c.yaml:8: check "a": max_body: too big`,
		`c.yaml:10: check "b": client_key: missing`,
		`c.yaml:13: check "c": timeout: duration "nope": want e.g. 500ms, 30s, 5m, 2h or 90d`,
		`c.yaml:15: check "e": something else`,
	}
	if got := strings.Split(fmt.Sprint(err), "\n"); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(seen, []string{"a", "b", "e"}) {
		t.Errorf("validated %v, want a, b and e (not c, which has a problem, nor the browser check d)", seen)
	}
}

func TestBrowserMaxPageMemory(t *testing.T) {
	const checks = "checks: [{name: a, url: \"https://x.example/\", schedule: \"@every 1m\"}]\n"
	for _, tc := range []struct {
		value string
		want  int64
		err   string
	}{
		{"256MiB", 256 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"2GiB", 0, "c.yaml:1: browser.max_page_memory: at most 1GiB, got 2GiB"},
		{"lots", 0, "c.yaml:1: browser.max_page_memory:"},
	} {
		cfg, err := Parse("c.yaml", []byte("browser: {max_page_memory: "+tc.value+"}\n"+checks))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.value, err)
		case tc.err == "" && cfg.Browser.MaxPageMemory != tc.want:
			t.Errorf("%s: got %d, want %d", tc.value, cfg.Browser.MaxPageMemory, tc.want)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("%s: got %v, want %s…", tc.value, err, tc.err)
		}
	}
}

// TestEdgeKeys: warm-up, expect.cache, origin_url, security and tls reach
// the check's HTTP spec; a version written unquoted (a YAML float) too.
func TestEdgeKeys(t *testing.T) {
	src := `checks:
  - name: a
    url: "https://shop.example/"
    schedule: "@every 1m"
    warmup: 2
    origin_url: "https://origin.shop.example/de/"
    security: true
    tls: {min_version: 1.3, cert_min_days: 14}
    expect: {cache: hit}
  - name: b
    url: "https://shop.example/"
    schedule: "@every 1m"
    security: {fail_on: medium}
    tls: {min_version: "1.2"}
    expect: {cache: [hit, stale]}
  - name: c
    url: "https://shop.example/"
    schedule: "@every 1m"
    security: {}
`
	cfg, err := Parse("c.yaml", []byte(src), withHostname(fixedHost), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := cfg.Checks[0].HTTP, cfg.Checks[1].HTTP, cfg.Checks[2].HTTP
	if a.Warmup != 2 || a.OriginURL != "https://origin.shop.example/de/" || !a.Security || a.SecurityFailOn != "" ||
		a.MinTLS != tls.VersionTLS13 || a.CertMinDays != 14 || !slices.Equal(a.ExpectCache, []probe.CacheStatus{probe.CacheHit}) {
		t.Errorf("a: %+v", a)
	}
	if !b.Security || b.SecurityFailOn != probe.SeverityMedium || b.MinTLS != tls.VersionTLS12 || b.Warmup != 0 ||
		!slices.Equal(b.ExpectCache, []probe.CacheStatus{probe.CacheHit, probe.CacheStale}) {
		t.Errorf("b: %+v", b)
	}
	if !c.Security || c.SecurityFailOn != "" {
		t.Errorf("c: %+v", c)
	}
	if got := cfg.Checks[0].AttemptTimeout(); got != 4*probe.DefaultTimeout {
		t.Errorf("a's attempt timeout %v, want 4 × %v", got, probe.DefaultTimeout)
	}
}

// TestHardenedKeys: retry_on, the negative assertions and expect.tls reach
// the check; without retry_on the check keeps the default (nil).
func TestHardenedKeys(t *testing.T) {
	src := `defaults: {retries: 2}
checks:
  - name: a
    url: "https://shop.example/"
    schedule: "@every 1m"
    retry_on: [timeout, 5xx]
    expect:
      tls: true
      body_not: [Traceback, "(?i)error 5\\d\\d"]
      headers_not: {X-Powered-By: "PHP/5", Server: "Apache/2\\.2"}
  - name: b
    url: "https://shop.example/"
    schedule: "@every 1m"
    retry_on: any
`
	cfg, err := Parse("c.yaml", []byte(src), withHostname(fixedHost), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Checks[0], cfg.Checks[1]
	if !slices.Equal(a.RetryOn, probe.RetryOn{"timeout", "5xx"}) || !slices.Equal(b.RetryOn, probe.RetryOn{"any"}) {
		t.Errorf("retry_on %v, %v", a.RetryOn, b.RetryOn)
	}
	h := a.HTTP
	if !h.RequireTLS || len(h.ExpectBodyNot) != 2 || h.ExpectBodyNot[1].String() != `(?i)error 5\d\d` ||
		len(h.ExpectHeadersNot) != 2 || h.ExpectHeadersNot[0].Name != "X-Powered-By" || h.ExpectHeadersNot[1].Pattern.String() != `Apache/2\.2` {
		t.Errorf("spec %+v", h)
	}
	if b.HTTP.RequireTLS || b.HTTP.ExpectBodyNot != nil {
		t.Errorf("b: %+v", b.HTTP)
	}
}
