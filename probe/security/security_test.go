package security

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

var now = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// good is a response that does everything the OWASP HTTP Headers Cheat
// Sheet recommends (its "Recommendation" values, verbatim where it gives
// one).
func good() http.Header {
	return http.Header{
		"Strict-Transport-Security": {"max-age=63072000; includeSubDomains; preload"},
		"Content-Security-Policy":   {"default-src 'self'; frame-ancestors 'none'"},
		"X-Frame-Options":           {"DENY"},
		"X-Content-Type-Options":    {"nosniff"},
		"Referrer-Policy":           {"strict-origin-when-cross-origin"},
		"Server":                    {"webserver"},
	}
}

func ids(fs []probe.SecurityFinding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestJudge(t *testing.T) {
	with := func(change func(h http.Header)) http.Header {
		h := good()
		change(h)
		return h
	}
	tests := []struct {
		name    string
		h       http.Header
		cookies []string
		plain   bool
		want    []string
		msg     string // a substring of the first finding's message
	}{
		{"everything right", good(), []string{"sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"}, false, nil, ""},
		{"nothing at all", http.Header{}, nil, false,
			[]string{HSTSMissing, CSPMissing, Clickjacking, NosniffMissing, ReferrerPolicyMissing}, "no Strict-Transport-Security"},
		{"plain http", good(), nil, true, []string{HSTSMissing}, "plain http"},

		// HSTS (RFC 6797).
		{"hsts one year without subdomains", with(func(h http.Header) { h.Set("Strict-Transport-Security", "max-age=31536000") }), nil, false,
			[]string{HSTSNoSubdomains}, "includeSubDomains"},
		{"hsts one day", with(func(h http.Header) { h.Set("Strict-Transport-Security", "max-age=86400; includeSubDomains") }), nil, false,
			[]string{HSTSShortMaxAge}, "max-age=86400 is 1 days"},
		{"hsts 179 days", with(func(h http.Header) { h.Set("Strict-Transport-Security", "max-age=15465600; includeSubDomains") }), nil, false,
			[]string{HSTSShortMaxAge}, "179 days"},
		{"hsts exactly 180 days", with(func(h http.Header) { h.Set("Strict-Transport-Security", "max-age=15552000; includeSubDomains") }), nil, false, nil, ""},
		{"hsts quoted max-age", with(func(h http.Header) { h.Set("Strict-Transport-Security", `max-age="31536000"; INCLUDESUBDOMAINS`) }), nil, false, nil, ""},
		{"hsts max-age zero", with(func(h http.Header) { h.Set("Strict-Transport-Security", "max-age=0") }), nil, false,
			[]string{HSTSMissing}, "forget HSTS"},
		{"hsts without max-age", with(func(h http.Header) { h.Set("Strict-Transport-Security", "includeSubDomains") }), nil, false,
			[]string{HSTSMissing}, "no valid max-age"},
		{"hsts first value counts", with(func(h http.Header) {
			h["Strict-Transport-Security"] = []string{"max-age=60", "max-age=63072000; includeSubDomains"}
		}), nil, false, []string{HSTSShortMaxAge, HSTSNoSubdomains}, "60 seconds"},

		// CSP and framing.
		{"csp report only", with(func(h http.Header) {
			h.Del("Content-Security-Policy")
			h.Set("Content-Security-Policy-Report-Only", "default-src 'self'")
		}), nil, false, []string{CSPMissing}, "Report-Only"},
		{"csp without frame-ancestors, xfo sameorigin", with(func(h http.Header) {
			h.Set("Content-Security-Policy", "default-src 'self'")
			h.Set("X-Frame-Options", "SAMEORIGIN")
		}), nil, false, nil, ""},
		{"frame-ancestors without xfo", with(func(h http.Header) { h.Del("X-Frame-Options") }), nil, false, nil, ""},
		{"frame-ancestors in a second policy", with(func(h http.Header) {
			h["Content-Security-Policy"] = []string{"default-src 'self'", "FRAME-ANCESTORS 'self'"}
			h.Del("X-Frame-Options")
		}), nil, false, nil, ""},
		{"neither frame-ancestors nor xfo", with(func(h http.Header) {
			h.Set("Content-Security-Policy", "default-src 'self'")
			h.Del("X-Frame-Options")
		}), nil, false, []string{Clickjacking}, "any site can frame"},
		{"xfo allow-from", with(func(h http.Header) {
			h.Set("Content-Security-Policy", "default-src 'self'")
			h.Set("X-Frame-Options", "ALLOW-FROM https://partner.example")
		}), nil, false, []string{Clickjacking}, "ALLOW-FROM"},
		{"no csp at all but xfo", with(func(h http.Header) { h.Del("Content-Security-Policy") }), nil, false, []string{CSPMissing}, "no Content-Security-Policy"},

		{"nosniff wrong value", with(func(h http.Header) { h.Set("X-Content-Type-Options", "sniff") }), nil, false,
			[]string{NosniffMissing}, `"sniff"`},
		{"nosniff any case", with(func(h http.Header) { h.Set("X-Content-Type-Options", "NoSniff") }), nil, false, nil, ""},
		{"no referrer policy", with(func(h http.Header) { h.Del("Referrer-Policy") }), nil, false, []string{ReferrerPolicyMissing}, ""},

		// Cookies (OWASP Session Management Cheat Sheet, "Cookies").
		{"cookie without anything", good(), []string{"cart=3; Path=/"}, false,
			[]string{CookieNotSecure, CookieNotHTTPOnly, CookieNoSameSite}, `cookie "cart" is set without Secure`},
		{"cookie without httponly", good(), []string{"consent=yes; Path=/; Secure; SameSite=Lax"}, false, []string{CookieNotHTTPOnly}, `"consent"`},
		{"cookie samesite none is set", good(), []string{"sid=1; Secure; HttpOnly; SameSite=None"}, false, nil, ""},
		{"two cookies in order", good(), []string{"a=1; Secure; HttpOnly", "b=2; HttpOnly; SameSite=Strict"}, false,
			[]string{CookieNotSecure, CookieNoSameSite}, `"b"`},
		{"deletion by max-age", good(), []string{"X-Magento-Vary=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; Max-Age=0; path=/"}, false, nil, ""},
		{"deletion by expires", good(), []string{"old=; Expires=Thu, 01 Jan 1970 00:00:01 GMT"}, false, nil, ""},
		{"unparseable cookie", good(), []string{"=novalue"}, false, nil, ""},

		// Disclosure.
		{"server with version", with(func(h http.Header) { h.Set("Server", "Apache/2.4.29 (Ubuntu)") }), nil, false,
			[]string{ServerVersion}, `"Apache/2.4.29 (Ubuntu)"`},
		{"nginx with version", with(func(h http.Header) { h.Set("Server", "nginx/1.18.0") }), nil, false, []string{ServerVersion}, ""},
		{"iis", with(func(h http.Header) { h.Set("Server", "Microsoft-IIS/10.0") }), nil, false, []string{ServerVersion}, ""},
		{"server names no version", with(func(h http.Header) { h.Set("Server", "cloudflare") }), nil, false, nil, ""},
		{"nginx alone", with(func(h http.Header) { h.Set("Server", "nginx") }), nil, false, nil, ""},
		{"x-powered-by", with(func(h http.Header) { h.Set("X-Powered-By", "PHP/7.4.3") }), nil, false, []string{XPoweredBy}, `"PHP/7.4.3"`},
		{"aspnet version", with(func(h http.Header) { h.Set("X-AspNet-Version", "4.0.30319") }), nil, false, []string{FrameworkVersion}, "X-AspNet-Version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(Response{Header: tt.h, SetCookies: tt.cookies, HTTPS: !tt.plain, Now: now})
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Fatalf("findings %v, want %v: %+v", ids(got), tt.want, got)
			}
			if tt.msg != "" && !strings.Contains(got[0].Message, tt.msg) {
				t.Errorf("message %q does not say %q", got[0].Message, tt.msg)
			}
			for _, f := range got {
				if f.Severity.Rank() == 0 || !strings.HasPrefix(f.Reference, "https://cheatsheetseries.owasp.org/") {
					t.Errorf("finding %+v lacks a severity or an OWASP reference", f)
				}
			}
		})
	}
}

// TestCapturedShops judges responses shaped as shops send them (the
// platform package's captured fixtures): what they lack is what is found.
func TestCapturedShops(t *testing.T) {
	// Shopify's storefront headers: a CSP with frame-ancestors, nosniff,
	// cookies without Secure or HttpOnly, no HSTS on this response.
	shopify := "HTTP/1.1 200 OK\r\n" +
		"Content-Security-Policy: block-all-mixed-content; frame-ancestors 'none'; upgrade-insecure-requests;\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Set-Cookie: _shopify_y=8c0d; Expires=Wed, 24 Nov 2027 09:12:44 GMT; Domain=shop.example.com; Path=/; SameSite=Lax\r\n" +
		"Server: cloudflare\r\n\r\n"
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader([]byte(shopify))), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got := Judge(Response{Header: res.Header, SetCookies: res.Header.Values("Set-Cookie"), HTTPS: true, Now: now})
	want := []string{HSTSMissing, ReferrerPolicyMissing, CookieNotSecure, CookieNotHTTPOnly}
	if !reflect.DeepEqual(ids(got), want) {
		t.Errorf("findings %v, want %v", ids(got), want)
	}
	if f := Failing(got, probe.SeverityHigh); len(f) != 1 || f[0].ID != CookieNotSecure {
		t.Errorf("failing at high: %v", ids(f))
	}
	if f := Failing(got, probe.SeverityMedium); !reflect.DeepEqual(ids(f), []string{HSTSMissing, CookieNotSecure}) {
		t.Errorf("failing at medium: %v", ids(f))
	}
	if f := Failing(got, probe.SeverityInfo); len(f) != len(got) {
		t.Errorf("failing at info: %v", ids(f))
	}
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || r.Severity.Rank() == 0 || r.Reference == "" || r.About == "" {
			t.Errorf("rule %+v: duplicate or incomplete", r)
		}
		seen[r.ID] = true
	}
	for _, id := range []string{HSTSMissing, HSTSShortMaxAge, HSTSNoSubdomains, CSPMissing, Clickjacking, NosniffMissing,
		ReferrerPolicyMissing, CookieNotSecure, CookieNotHTTPOnly, CookieNoSameSite, ServerVersion, XPoweredBy, FrameworkVersion} {
		if !seen[id] {
			t.Errorf("no rule for %s", id)
		}
	}
}

// FuzzJudge: whatever the headers, findings come from the rules, in their
// order, with bounded messages.
func FuzzJudge(f *testing.F) {
	f.Add("Strict-Transport-Security: max-age=1\r\nSet-Cookie: a=b\r\nServer: Apache/2.4.29\r\n", true)
	f.Add("Content-Security-Policy: frame-ancestors 'self'\r\nX-Frame-Options: ALLOW-FROM x\r\n", false)
	f.Fuzz(func(t *testing.T, head string, https bool) {
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader([]byte("HTTP/1.1 200 OK\r\n"+head+"\r\n"))), nil)
		if err != nil {
			return
		}
		res.Body.Close()
		order := map[string]int{}
		for i, r := range Rules() {
			order[r.ID] = i
		}
		got := Judge(Response{Header: res.Header, SetCookies: res.Header.Values("Set-Cookie"), HTTPS: https, Now: now})
		if !slices.IsSortedFunc(got, func(a, b probe.SecurityFinding) int { return order[a.ID] - order[b.ID] }) {
			t.Fatalf("findings out of rule order: %v", ids(got))
		}
		for _, fd := range got {
			if _, ok := order[fd.ID]; !ok || len(fd.Message) > 400 {
				t.Fatalf("bad finding %+v", fd)
			}
		}
	})
}
