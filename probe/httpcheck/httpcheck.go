// Package httpcheck runs one HTTP(S) check: it resolves the host once, dials
// that address on a fresh connection, follows redirects hop by hop, times
// every phase with net/http/httptrace, reads the body once into a bounded
// buffer and runs every assertion on that buffer. A failing target is a
// probe.Result with a *probe.Failure, never a Go error.
//
// Phases of the final hop are contiguous: dns ends where connect begins, and
// so on, so dns+connect+tls+wait+transfer = total-redirect. wait therefore
// also holds the (usually microseconds long) writing of the request, as
// curl's time_starttransfer-time_pretransfer does.
//
// Through a proxy (probe.HTTPSpec.Proxy) the dns and connect phases measure
// the way to the proxy: dns resolves the proxy's host, connect covers the
// TCP connection to it and, for https targets, the CONNECT tunnel; the proxy
// resolves the target itself, and remote_ip is the proxy's address. An
// https proxy's own handshake also counts as connect.
//
// The host is resolved once (through HTTPSpec.Resolver if set) and the
// first address of the wanted family (IPVersion; any takes the resolver's
// first answer) is dialled, with no fallback to other addresses: a probe
// measures one path, not happy eyeballs. wire_bytes counts what was received
// on every hop's connection, TLS records and headers included; bytes is the
// decoded body of the final response.
//
// The body is decoded here, whatever asked for its coding: gzip, deflate
// (zlib or raw) and br, stacked codings in reverse order. Accept-Encoding
// is "gzip, deflate, br" unless the check sends its own, and a user's own
// header no longer turns decoding off: bytes, every assertion and platform
// detection see the decoded body. The body cap bounds the decoded size (a
// decompression bomb fails as too_large) and the encoded stream may be at
// most twice the cap. A coding we cannot decode, or a body that does not
// decode as its coding says, is protocol. A HEAD response, a 1xx, 204 or
// 304 has no body, whatever its Content-Length says.
//
// Cookies a hop sets are sent on the next hops of the same run, through a
// cookie jar (public-suffix aware) that lives for one run only, as a
// browser's would for one visit: a session or consent bounce then works,
// and no run depends on an earlier one. A redirect back to a URL already
// visited is a loop only if it carries the same cookies.
//
// An internationalised host (bücher.example) is resolved, dialled and
// sent as punycode (xn--bcher-kva.example); url, final_url and messages
// show it as written. A port outside 1-65535 is refused by New, as the
// user's mistake rather than the target's connect failure.
//
// URL userinfo (https://user:pass@shop/) is sent as Authorization: Basic,
// as browsers and curl do, unless an explicit Authorization header is
// given; it never appears on the wire or in any output. Like every secret
// header it is dropped on a redirect to another host, and so is a Host
// override.
//
// Failure phases follow the connection's progress: an error before the
// connection is up is connect, a reset (ECONNRESET, EPIPE) or early close
// (EOF) once it is up is protocol in the phase it happened in (tls, wait
// or transfer), since the target accepted the connection and then broke
// the exchange. Until the response head is complete the phase is wait, even
// if its first bytes arrived. An error raised by net/http before anything
// was sent (a request it refuses to build) is probe_error: ours, not the
// target's. A server demanding a client certificate when none is
// configured fails as tls "server requires a client certificate", however
// the refusal reaches us (alert, reset, broken pipe, HTTP/2 setup error).
//
// More than 16 informational (1xx) responses before the real one fail the
// hop as protocol: a browser meets one or two, a server sending them
// forever is stalling.
//
// TLS below 1.2 is refused, as every current browser refuses it: a shop
// that speaks only TLS 1.0 or 1.1 fails as tls.
//
// The minimums a check may add are judged on the final hop once the
// exchange is done, so the failure (tls) names what was found: the version
// negotiated below MinTLS (in practice 1.3, the floor being 1.2), or the
// days its certificate has left below CertMinDays. A final hop over plain
// http fails either.
//
// Every response is read for its CDN (platform.DetectCDN: provider, cache
// status, POP, Age); ExpectCache fails the check as assertion unless the
// measured response's cache status is one of it. Warm-up requests (Warmup)
// are whole requests of the URL sent first, unmeasured, each with the
// timeout of its own; their failures are counted, never judged. The
// origin (OriginURL) is requested after the edge with the check's method,
// headers (a Host header too), body and options and its own timeout, and
// judged by the check's status, body, header, TLS-required and duration
// expectations; its verdict rides beside the edge's and never fails the
// check. With Security, the final response's headers and the cookies of
// every hop are judged by probe/security; a finding at or above the
// check's level fails it as assertion. These come after the check's own
// expectations on status, TLS-required, TLS posture, body and headers, and
// before the duration limit.
//
// When certificate verification fails, tls still describes the presented
// leaf (subject, issuer, not_after, days_left), so an expired certificate
// shows its dates; it is then the presented, unverified certificate, and
// version and cipher are empty because the handshake did not complete.
package httpcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/idna"

	"github.com/storeprobe/storeprobe/probe"
)

// DefaultMaxHeaderBytes caps the response header block; a server sending
// more is flooding us and fails as protocol.
const DefaultMaxHeaderBytes = 1 << 20

// redirectBodyCap bounds what is read (and discarded) of a redirect's body.
const redirectBodyCap = 1 << 20

// Option configures a Checker.
type Option func(*options)

type options struct {
	version        string
	log            *slog.Logger
	now            func() time.Time
	maxHeaderBytes int64
}

// WithVersion sets the storeprobe version used in the default User-Agent.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithLogger sets the logger; by default nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the wall clock for started_at and certificate days left.
// Durations always use the monotonic clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMaxHeaderBytes caps the response header block (default 1 MiB).
func WithMaxHeaderBytes(n int64) Option { return func(o *options) { o.maxHeaderBytes = n } }

// Checker is one prepared HTTP check. It is safe for concurrent use: every
// Run builds its own transport and connections.
type Checker struct {
	check     probe.Check
	spec      probe.HTTPSpec
	edge      target  // the check's URL: what shoppers get
	origin    *target // origin_url, measured beside the edge; nil without
	method    string
	header    http.Header
	host      string // from a Host header, if any
	red       *probe.Redactor
	tlsConf   *tls.Config
	proxy     *url.URL
	resolver  *net.Resolver
	dnsServer string // the configured resolver, named in DNS errors
	ipVersion int
	timeout   time.Duration
	maxBody   int64
	maxRedir  int
	opts      options
}

// New validates c and prepares everything a Run needs: certificates,
// resolver, proxy, headers. Every problem is returned (joined), each a
// *probe.FieldError naming its field (the config key), which the config
// reports at that key's line and the CLI at its flag.
func New(c probe.Check, opts ...Option) (*Checker, error) {
	k := &Checker{check: c, spec: c.HTTP,
		opts: options{version: "dev", maxHeaderBytes: DefaultMaxHeaderBytes, now: time.Now}}
	for _, o := range opts {
		o(&k.opts)
	}
	if k.opts.log == nil {
		k.opts.log = slog.New(slog.DiscardHandler)
	}
	s := c.HTTP
	k.red = probe.CheckRedactor(c)

	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &probe.FieldError{Field: field, Err: errors.New(k.red.String(fmt.Sprintf(format, args...)))})
	}

	u, err := parseTarget(c.URL, &k.edge)
	if err != nil {
		bad("url", "%v", err)
	}
	if c.HTTP.OriginURL != "" {
		o := target{}
		switch ou, err := parseTarget(c.HTTP.OriginURL, &o); {
		case err != nil:
			bad("origin_url", "%v", err)
		case ou.User != nil:
			// The check's Authorization would go to the edge and the origin
			// alike; credentials of the origin's own belong in a header.
			bad("origin_url", "must not carry credentials (user:password@); set an Authorization header instead")
		default:
			k.origin = &o
		}
	}
	if s.Warmup < 0 || s.Warmup > probe.MaxWarmup {
		bad("warmup", "%d: want 0 to %d", s.Warmup, probe.MaxWarmup)
	}
	for _, cs := range s.ExpectCache {
		if _, err := probe.ParseCacheStatus(string(cs)); err != nil {
			bad("expect.cache", "%v", err)
		}
	}
	if s.SecurityFailOn != "" && s.SecurityFailOn.Rank() == 0 {
		bad("security.fail_on", "%q: want info, low, medium or high", s.SecurityFailOn)
	}
	if s.MinTLS != 0 && (s.MinTLS < tls.VersionTLS10 || s.MinTLS > tls.VersionTLS13) {
		bad("tls.min_version", "%#04x is not a TLS version (want 1.0 to 1.3)", s.MinTLS)
	}
	if s.CertMinDays < 0 {
		bad("tls.cert_min_days", "negative")
	}

	k.method = strings.ToUpper(s.Method)
	if k.method == "" {
		k.method = http.MethodGet
	}
	if !validToken(k.method) {
		bad("method", "%q is not an HTTP method", s.Method)
	}

	k.header = http.Header{}
	for _, h := range s.Headers {
		// net/http's own rules: a value it would refuse must fail here,
		// not as a run blamed on the target.
		if !httpguts.ValidHeaderFieldName(h.Name) || !httpguts.ValidHeaderFieldValue(h.Value) {
			bad("headers", "invalid header %s: the name must be a token and the value free of control characters", h.Name)
			continue
		}
		if http.CanonicalHeaderKey(h.Name) == "Host" {
			if !httpguts.ValidHostHeader(h.Value) {
				bad("headers", "invalid Host header %q", h.Value)
				continue
			}
			k.host = h.Value
			continue
		}
		k.header.Add(h.Name, h.Value)
	}
	if u != nil && u.User != nil && k.header.Get("Authorization") == "" {
		// What net/http's Client does and the raw transport does not.
		pass, _ := u.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pass))
		k.header.Set("Authorization", "Basic "+cred)
		k.red.AddValue(cred)
	}
	ua := s.UserAgent
	if ua == "" {
		ua = probe.UserAgent(k.opts.version)
	}
	if k.header.Get("User-Agent") == "" {
		k.header.Set("User-Agent", ua)
	}
	if k.header.Get("Accept") == "" {
		k.header.Set("Accept", "*/*")
	}
	if k.header.Get("Accept-Encoding") == "" {
		k.header.Set("Accept-Encoding", acceptEncoding)
	}

	k.timeout = c.Timeout
	switch {
	case k.timeout == 0:
		k.timeout = probe.DefaultTimeout
	case k.timeout < 0:
		bad("timeout", "negative")
	}
	k.maxBody = s.MaxBodyBytes
	switch {
	case k.maxBody == 0:
		k.maxBody = probe.DefaultMaxBodyBytes
	case k.maxBody < 0:
		bad("max_body", "negative")
	}
	k.maxRedir = s.MaxRedirects
	switch {
	case k.maxRedir == 0:
		k.maxRedir = probe.DefaultMaxRedirects
	case k.maxRedir < 0:
		bad("max_redirects", "negative")
	}
	if s.MaxDuration < 0 {
		bad("max_duration", "negative")
	}
	switch s.IPVersion {
	case 0, 4, 6:
		k.ipVersion = s.IPVersion
	default:
		bad("ip_version", "%d: want 4, 6 or any", s.IPVersion)
	}

	// TLS 1.2 is the floor of every current browser (1.0 and 1.1 were
	// dropped in 2020): a shop that only speaks an older version is down
	// for its shoppers, and its check fails as tls.
	k.tlsConf = &tls.Config{InsecureSkipVerify: s.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // the user asked for --insecure
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			bad("ca_file", "%v", err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				bad("ca_file", "%s holds no PEM certificate", s.CAFile)
			}
			k.tlsConf.RootCAs = pool
		}
	}
	switch {
	case s.ClientCert != "" && s.ClientKey == "":
		bad("client_key", "missing: client_cert needs client_key")
	case s.ClientCert == "" && s.ClientKey != "":
		bad("client_cert", "missing: client_key needs client_cert")
	case s.ClientCert != "":
		pair, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey)
		if err != nil {
			bad("client_cert", "load %s / %s: %v", s.ClientCert, s.ClientKey, err)
		} else {
			k.tlsConf.Certificates = []tls.Certificate{pair}
		}
	}

	if s.Proxy != "" {
		p, err := url.Parse(s.Proxy)
		switch {
		case err != nil:
			bad("proxy", "not a URL")
		case p.Scheme != "http" && p.Scheme != "https":
			bad("proxy", "scheme %q: want http or https", p.Scheme)
		case p.Hostname() == "":
			bad("proxy", "no host")
		default:
			k.proxy = p
			if p.User != nil && k.header.Get("Proxy-Authorization") != "" {
				// An explicit header wins; net/http would otherwise send the
				// URL's credentials as a second Proxy-Authorization.
				np := *p
				np.User = nil
				k.proxy = &np
			}
		}
	}

	k.resolver = &net.Resolver{PreferGo: true}
	if s.Resolver != "" {
		addr, err := parseResolver(s.Resolver)
		if err != nil {
			bad("resolver", "%v", err)
		} else {
			k.dnsServer = addr
			k.resolver.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return k, nil
}

// target is a URL the checker requests: the check's own, or its origin's.
type target struct {
	raw string   // as configured, for display (redacted when shown)
	url *url.URL // as sent: punycode host, no userinfo
	// idnHost is the host as punycode and as written, when they differ:
	// messages (a resolver's "no such host") name it as written.
	idnHost [2]string
}

// parseTarget checks raw as a URL to request and fills t. The parsed URL is
// returned with its userinfo, which the caller decides about.
func parseTarget(raw string, t *target) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, errors.New("missing")
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue.URL would echo credentials
		}
		return nil, fmt.Errorf("not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	case u.Hostname() == "":
		return nil, errors.New("no host")
	}
	// Userinfo becomes an Authorization header; the URL sent carries none.
	wire := *u
	wire.User = nil
	if err := asciiHost(&wire); err != nil {
		return nil, err
	}
	if p := u.Port(); p != "" {
		// net/http would only find out when dialling, and blame the
		// target (connect): a port that cannot exist is the user's.
		if v, err := strconv.Atoi(p); err != nil || v < 1 || v > 65535 {
			return nil, fmt.Errorf("port %s is out of range (1-65535)", p)
		}
	}
	*t = target{raw: raw, url: &wire}
	if a, w := wire.Hostname(), u.Hostname(); a != w {
		t.idnHost = [2]string{a, w}
	}
	return u, nil
}

// parseResolver accepts IP:PORT, [IPv6]:PORT or a bare IP (port 53). A name
// is refused: resolving the resolver would need another resolver.
func parseResolver(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		if _, perr := strconv.ParseUint(port, 10, 16); perr != nil {
			return "", fmt.Errorf("%q: bad port", s)
		}
		return "", fmt.Errorf("%q: %q is not an IP address (want IP:PORT)", s, host)
	}
	return "", fmt.Errorf("%q: want IP:PORT", s)
}

// asciiHost turns an internationalised host (bücher.example) into the
// punycode it is resolved, dialled and sent as (xn--bcher-kva.example):
// Go's resolver refuses a name that is not ASCII, and would report a
// valid shop as a dns failure.
func asciiHost(u *url.URL) error {
	host := u.Hostname()
	if isASCII(host) {
		return nil
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return fmt.Errorf("host %q is not a valid internationalised domain name: %v", host, err)
	}
	if p := u.Port(); p != "" {
		a = net.JoinHostPort(a, p)
	}
	u.Host = a
	return nil
}

// displayURL is rawURL as a person reads it: an internationalised host in
// its Unicode form (Go's URL.String would print it percent-escaped, and
// the wire form is punycode), the rest unchanged.
func displayURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	host := u.Hostname()
	if isASCII(host) && !strings.Contains(strings.ToLower(host), "xn--") {
		return rawURL
	}
	if err := asciiHost(u); err != nil {
		return rawURL
	}
	ascii := u.Hostname()
	uni, err := idna.Display.ToUnicode(ascii)
	if err != nil || uni == ascii {
		return rawURL
	}
	// The authority is the first place the host appears: the scheme
	// cannot hold it and userinfo is redacted before display.
	return strings.Replace(u.String(), ascii, uni, 1)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// Redactor returns the check's redactor, so callers (logs, the CLI) scrub
// with the same learned secrets.
func (k *Checker) Redactor() *probe.Redactor { return k.red }
