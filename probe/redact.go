package probe

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Redacted replaces every secret in output, logs and the store.
const Redacted = "REDACTED"

// alwaysSecretHeaders are redacted whatever the configuration says.
var alwaysSecretHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
}

// tokenWords mark a query, fragment or path parameter or a header name as
// carrying a secret. jsessionid and (PHP)SESSID are the session parameters
// Java and PHP storefronts put in URLs.
var tokenWords = []string{"token", "secret", "password", "passwd", "pwd", "apikey", "api_key", "api-key",
	"key", "auth", "sig", "signature", "session", "sid", "jwt", "credential", "code", "ticket", "hash", "otp", "jsessionid", "sessid"}

// LooksSecret reports whether a query-parameter or header name suggests its
// value is a credential (access_token, api_key, X-Signature, sessionid ...).
func LooksSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range tokenWords {
		if n == w || strings.HasPrefix(n, w+"_") || strings.HasPrefix(n, w+"-") ||
			strings.HasSuffix(n, "_"+w) || strings.HasSuffix(n, "-"+w) ||
			len(w) >= 5 && (strings.HasSuffix(n, w) || strings.HasPrefix(n, w)) {
			return true
		}
	}
	return false
}

// Redactor scrubs one check's secrets: it knows which header names are
// secret and the literal secret values (header values, URL passwords, token
// query values, typed form values) so it can also clean free text such as
// error messages. The zero Redactor redacts the built-in set only.
type Redactor struct {
	headers map[string]bool
	values  []string
}

// NewRedactor returns a Redactor treating secretHeaders as secret besides
// the built-in ones.
func NewRedactor(secretHeaders ...string) *Redactor {
	r := &Redactor{headers: map[string]bool{}}
	for _, h := range secretHeaders {
		r.headers[http.CanonicalHeaderKey(strings.TrimSpace(h))] = true
	}
	return r
}

// CheckRedactor is the Redactor of one check: its secret header names, and
// the secret values of its URL, headers and proxy URL. Everything that
// prints, logs or stores something of a check uses it.
func CheckRedactor(c Check) *Redactor {
	r := NewRedactor(c.HTTP.SecretHeaders...)
	r.LearnURL(c.URL)
	r.LearnHeaders(c.HTTP.Headers)
	r.LearnURL(c.HTTP.Proxy)
	return r
}

// SecretHeader reports whether the named header's value must be redacted.
func (r *Redactor) SecretHeader(name string) bool {
	c := http.CanonicalHeaderKey(name)
	if alwaysSecretHeaders[c] || LooksSecret(c) {
		return true
	}
	return r != nil && r.headers[c]
}

// AddValue registers a literal secret to scrub from free text. Very short
// values are ignored: scrubbing "1" would mangle every number.
func (r *Redactor) AddValue(v string) {
	if r == nil || len(v) < 4 {
		return
	}
	r.values = append(r.values, v)
	// Longest first so a secret containing another is replaced whole.
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// LearnHeaders registers the values of secret headers.
func (r *Redactor) LearnHeaders(hs []Header) {
	for _, h := range hs {
		if r.SecretHeader(h.Name) {
			r.AddValue(h.Value)
			// Bearer/Basic credentials may appear without the scheme.
			if _, cred, ok := strings.Cut(h.Value, " "); ok {
				r.AddValue(cred)
			}
		}
	}
}

// LearnURL registers the userinfo (user name and password: URL() redacts
// both, and tokens are often passed as the user name) and the values of
// token-like query, fragment and path parameters of rawURL.
func (r *Redactor) LearnURL(rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return
	}
	if u.User != nil {
		r.AddValue(u.User.Username())
		r.AddValue(url.QueryEscape(u.User.Username()))
		if p, ok := u.User.Password(); ok {
			r.AddValue(p)
			r.AddValue(url.QueryEscape(p))
		}
	}
	learn := func(_, raw string) string {
		r.AddValue(raw)
		if v, err := url.QueryUnescape(raw); err == nil {
			r.AddValue(v)
			r.AddValue(url.QueryEscape(v))
		}
		return raw
	}
	mapSecretPairs(u.RawQuery, "&;", learn)
	mapSecretPairs(u.EscapedFragment(), "&;", learn)
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if _, params, ok := strings.Cut(seg, ";"); ok {
			mapSecretPairs(params, ";", learn)
		}
	}
}

// URL returns rawURL with userinfo and the values of token-like query,
// fragment (OAuth implicit flow) and path parameters (;jsessionid=)
// redacted. Everything else is kept verbatim. Unparseable input is redacted
// whole rather than risked.
func (r *Redactor) URL(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return r.String(rawURL)
	}
	if u.User != nil {
		u.User = url.User(Redacted)
	}
	hide := func(string, string) string { return Redacted }
	// The raw query is split here, not by u.Query(): that drops pairs with
	// bad escapes or ';' separators, and their secrets with them.
	u.RawQuery = mapSecretPairs(u.RawQuery, "&;", hide)
	if frag := u.EscapedFragment(); frag != "" {
		if red := mapSecretPairs(frag, "&;", hide); red != frag {
			if f, err := url.PathUnescape(red); err == nil {
				u.Fragment, u.RawFragment = f, red
			} else {
				u.Fragment, u.RawFragment = Redacted, ""
			}
		}
	}
	if p := u.EscapedPath(); strings.Contains(p, ";") {
		segs := strings.Split(p, "/")
		for i, seg := range segs {
			if name, params, ok := strings.Cut(seg, ";"); ok {
				segs[i] = name + ";" + mapSecretPairs(params, ";", hide)
			}
		}
		if red := strings.Join(segs, "/"); red != p {
			if path, err := url.PathUnescape(red); err == nil {
				u.Path, u.RawPath = path, red
			} else {
				u.Path, u.RawPath = Redacted, ""
			}
		}
	}
	return r.String(u.String())
}

// mapSecretPairs splits s (a raw query, fragment or path-parameter list) on
// any of seps into key=value pairs and replaces the raw value of each pair
// whose key looks secret with fn(key, rawValue). Everything else, bad
// escapes included, is kept byte for byte.
func mapSecretPairs(s, seps string, fn func(key, rawValue string) string) string {
	if s == "" {
		return s
	}
	var b strings.Builder
	for s != "" {
		i := strings.IndexAny(s, seps)
		pair, sep := s, ""
		if i >= 0 {
			pair, sep, s = s[:i], s[i:i+1], s[i+1:]
		} else {
			s = ""
		}
		rawKey, rawVal, hasVal := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			key = rawKey
		}
		if hasVal && LooksSecret(key) {
			pair = rawKey + "=" + fn(key, rawVal)
		}
		b.WriteString(pair)
		b.WriteString(sep)
	}
	return b.String()
}

// HeaderValue returns value, or Redacted if the header is secret.
func (r *Redactor) HeaderValue(name, value string) string {
	if r.SecretHeader(name) {
		return Redacted
	}
	return value
}

// String scrubs every known secret value from s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Redacted)
	}
	return s
}

// RedactHeaderLine redacts the value of a "Name: value" line if its name is
// secret by the built-in rules; used in parse errors before any Redactor
// exists.
func RedactHeaderLine(s string) string {
	name, _, ok := strings.Cut(s, ":")
	if !ok {
		if len(s) > 12 {
			return Clip(s, 4)
		}
		return s
	}
	return strings.TrimSpace(name) + ": " + Redacted
}
