// Package security judges one HTTP response against OWASP's secure-headers
// guidance (the HTTP Security Response Headers Cheat Sheet and the Secure
// Headers Project): transport security, content security policy and
// framing, MIME sniffing, referrer policy, cookie attributes and version
// disclosure. It is pure: headers and cookies in, findings out, so every
// rule is testable on its own and the check that asked for it decides what
// fails.
//
// Each finding has a stable id (users filter and silence on it), a fixed
// severity and the OWASP page that explains it. Severities follow what a
// missing control exposes a shopper to: a cookie that travels in clear
// text is high; a page that can be framed, or a missing HSTS or CSP, is
// medium; hardening that browsers mostly provide by default now, and
// version disclosure, is low.
package security

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Finding ids. They are a public contract: never renamed.
const (
	HSTSMissing           = "hsts-missing"
	HSTSShortMaxAge       = "hsts-short-max-age"
	HSTSNoSubdomains      = "hsts-no-subdomains"
	CSPMissing            = "csp-missing"
	Clickjacking          = "clickjacking"
	NosniffMissing        = "nosniff-missing"
	ReferrerPolicyMissing = "referrer-policy-missing"
	CookieNotSecure       = "cookie-not-secure"
	CookieNotHTTPOnly     = "cookie-not-httponly"
	CookieNoSameSite      = "cookie-no-samesite"
	ServerVersion         = "server-version"
	XPoweredBy            = "x-powered-by"
	FrameworkVersion      = "framework-version"
)

// MinHSTSMaxAge is the shortest HSTS max-age that passes: 180 days. OWASP
// recommends two years (max-age=63072000); shorter than half a year lets
// a returning shopper's protection lapse between visits.
const MinHSTSMaxAge = 180 * 24 * time.Hour

const (
	cheatSheet = "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html"
	cookieRef  = "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies"
)

// Rule describes one finding id: what it is about, its severity and its
// reference. Rules lists them, for documentation and for tests.
type Rule struct {
	ID        string
	Severity  probe.Severity
	Reference string
	About     string
}

// Rules is every rule, in the order findings are reported.
func Rules() []Rule {
	return []Rule{
		{HSTSMissing, probe.SeverityMedium, cheatSheet + "#strict-transport-security",
			"no valid Strict-Transport-Security on an https response (max-age=0 removes it), or a page served over plain http"},
		{HSTSShortMaxAge, probe.SeverityLow, cheatSheet + "#strict-transport-security", "HSTS max-age under 180 days"},
		{HSTSNoSubdomains, probe.SeverityLow, cheatSheet + "#strict-transport-security", "HSTS without includeSubDomains"},
		{CSPMissing, probe.SeverityMedium, cheatSheet + "#content-security-policy",
			"no Content-Security-Policy (a Report-Only policy enforces nothing)"},
		{Clickjacking, probe.SeverityMedium, cheatSheet + "#x-frame-options",
			"neither CSP frame-ancestors nor X-Frame-Options DENY or SAMEORIGIN: any site may frame the page"},
		{NosniffMissing, probe.SeverityLow, cheatSheet + "#x-content-type-options", "X-Content-Type-Options is not nosniff"},
		{ReferrerPolicyMissing, probe.SeverityLow, cheatSheet + "#referrer-policy", "no Referrer-Policy"},
		{CookieNotSecure, probe.SeverityHigh, cookieRef, "a cookie set without Secure travels in clear text over http"},
		{CookieNotHTTPOnly, probe.SeverityLow, cookieRef, "a cookie set without HttpOnly is readable by any script on the page"},
		{CookieNoSameSite, probe.SeverityLow, cookieRef, "a cookie set without SameSite"},
		{ServerVersion, probe.SeverityLow, cheatSheet + "#server", "Server names a version (Apache/2.4.29)"},
		{XPoweredBy, probe.SeverityLow, cheatSheet + "#x-powered-by", "X-Powered-By names the framework"},
		{FrameworkVersion, probe.SeverityLow, cheatSheet + "#x-aspnet-version", "X-AspNet-Version or X-AspNetMvc-Version names the .NET version"},
	}
}

// Response is what one judgement reads.
type Response struct {
	Header http.Header
	// SetCookies are the Set-Cookie values of every hop of the request,
	// in order: a redirect that sets a session cookie counts too.
	SetCookies []string
	// HTTPS is whether the final response came over TLS.
	HTTPS bool
	// Now decides whether a cookie is being deleted (expired already); a
	// deletion is no exposure.
	Now time.Time
}

// Judge returns every finding of r in the order of Rules (cookies in the
// order they were set within a rule); nil when there are none.
func Judge(r Response) []probe.SecurityFinding {
	j := judge{rules: map[string]Rule{}}
	for _, rule := range Rules() {
		j.rules[rule.ID] = rule
	}
	h := r.Header
	j.hsts(h, r.HTTPS)
	csp := enforcedCSP(h)
	switch {
	case csp != "":
	case h.Get("Content-Security-Policy-Report-Only") != "":
		j.add(CSPMissing, "only Content-Security-Policy-Report-Only is set, which reports but blocks nothing")
	default:
		j.add(CSPMissing, "no Content-Security-Policy header")
	}
	if !hasDirective(csp, "frame-ancestors") {
		switch xfo := strings.ToUpper(strings.TrimSpace(h.Get("X-Frame-Options"))); xfo {
		case "DENY", "SAMEORIGIN":
		case "":
			j.add(Clickjacking, "no CSP frame-ancestors and no X-Frame-Options: any site can frame this page")
		default:
			j.add(Clickjacking, "X-Frame-Options "+quote(xfo)+" is not DENY or SAMEORIGIN (ALLOW-FROM is ignored by browsers) and CSP has no frame-ancestors")
		}
	}
	if v := strings.TrimSpace(h.Get("X-Content-Type-Options")); !strings.EqualFold(v, "nosniff") {
		if v == "" {
			j.add(NosniffMissing, "no X-Content-Type-Options: nosniff")
		} else {
			j.add(NosniffMissing, "X-Content-Type-Options is "+quote(v)+", not nosniff")
		}
	}
	if strings.TrimSpace(h.Get("Referrer-Policy")) == "" {
		j.add(ReferrerPolicyMissing, "no Referrer-Policy header")
	}
	j.cookies(r.SetCookies, r.Now)
	if v := h.Get("Server"); versioned.MatchString(v) {
		j.add(ServerVersion, "Server: "+quote(v)+" names a version")
	}
	if v := h.Values("X-Powered-By"); len(v) > 0 {
		j.add(XPoweredBy, "X-Powered-By: "+quote(strings.Join(v, ", ")))
	}
	for _, name := range []string{"X-AspNet-Version", "X-AspNetMvc-Version"} {
		if v := h.Get(name); v != "" {
			j.add(FrameworkVersion, name+": "+quote(v))
		}
	}
	return j.out
}

// versioned matches a product token with a version, as RFC 9110's Server
// grammar writes it: "Apache/2.4.29 (Ubuntu)", "nginx/1.18.0",
// "Microsoft-IIS/10.0". "cloudflare", "nginx" or "AmazonS3" name no version.
var versioned = regexp.MustCompile(`(^|[\s(])[A-Za-z][A-Za-z0-9._-]*/v?[0-9]`)

type judge struct {
	rules map[string]Rule
	out   []probe.SecurityFinding
}

func (j *judge) add(id, msg string) {
	r := j.rules[id]
	j.out = append(j.out, probe.SecurityFinding{ID: id, Severity: r.Severity, Message: msg, Reference: r.Reference})
}

// hsts judges Strict-Transport-Security (RFC 6797): only its first value
// counts (§8.1), a browser ignores it over plain http (§8.1), and without
// a valid max-age it is ignored altogether (§6.1.1).
func (j *judge) hsts(h http.Header, https bool) {
	if !https {
		j.add(HSTSMissing, "the page is served over plain http, where no browser honours HSTS")
		return
	}
	v := h.Get("Strict-Transport-Security")
	if strings.TrimSpace(v) == "" {
		j.add(HSTSMissing, "no Strict-Transport-Security header")
		return
	}
	maxAge, ok := int64(-1), false
	subdomains := false
	for _, d := range strings.Split(v, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err == nil && n >= 0 {
				maxAge, ok = n, true
			}
		case "includesubdomains":
			subdomains = true
		}
	}
	switch {
	case !ok:
		j.add(HSTSMissing, "Strict-Transport-Security "+quote(v)+" has no valid max-age, so browsers ignore it")
		return
	case maxAge == 0:
		j.add(HSTSMissing, "Strict-Transport-Security max-age=0 tells browsers to forget HSTS")
		return
	case maxAge < int64(MinHSTSMaxAge/time.Second):
		j.add(HSTSShortMaxAge, "Strict-Transport-Security max-age="+strconv.FormatInt(maxAge, 10)+
			" is "+days(maxAge)+", under 180 days")
	}
	if !subdomains {
		j.add(HSTSNoSubdomains, "Strict-Transport-Security has no includeSubDomains")
	}
}

func days(seconds int64) string {
	d := float64(seconds) / 86400
	if d < 1 {
		return strconv.FormatInt(seconds, 10) + " seconds"
	}
	return strconv.FormatFloat(d, 'f', -1, 64) + " days"
}

// cookies judges every cookie set on the way, rule by rule, each rule's
// findings in the order the cookies were set; one that is being deleted
// (Max-Age<=0 or an Expires in the past) is skipped.
func (j *judge) cookies(setCookies []string, now time.Time) {
	var live []*http.Cookie
	for _, line := range setCookies {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue // a browser drops it too
		}
		if c.MaxAge < 0 || !c.Expires.IsZero() && !now.IsZero() && c.Expires.Before(now) {
			continue
		}
		live = append(live, c)
	}
	for _, rule := range []struct {
		id     string
		ok     func(*http.Cookie) bool
		missed string
	}{
		{CookieNotSecure, func(c *http.Cookie) bool { return c.Secure }, "Secure"},
		{CookieNotHTTPOnly, func(c *http.Cookie) bool { return c.HttpOnly }, "HttpOnly"},
		{CookieNoSameSite, func(c *http.Cookie) bool { return c.SameSite != 0 }, "SameSite"},
	} {
		for _, c := range live {
			if !rule.ok(c) {
				j.add(rule.id, "cookie "+quote(c.Name)+" is set without "+rule.missed)
			}
		}
	}
}

// enforcedCSP joins every enforced policy (a response may send several,
// and each applies).
func enforcedCSP(h http.Header) string {
	var parts []string
	for _, v := range h.Values("Content-Security-Policy") {
		if v = strings.TrimSpace(v); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "; ")
}

// hasDirective reports whether a policy names the directive (directive
// names are case-insensitive, CSP3 §2.2.1).
func hasDirective(policy, name string) bool {
	for _, d := range strings.FieldsFunc(policy, func(r rune) bool { return r == ';' || r == ',' }) {
		f := strings.Fields(d)
		if len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// quote shows a value from the target in a message: quoted and clipped,
// since it is the target's text, not ours.
func quote(s string) string { return strconv.Quote(probe.Clip(s, 80)) }

// Failing returns the findings at or above level, in order.
func Failing(findings []probe.SecurityFinding, level probe.Severity) []probe.SecurityFinding {
	var out []probe.SecurityFinding
	for _, f := range findings {
		if f.Severity.Rank() >= level.Rank() {
			out = append(out, f)
		}
	}
	return out
}
