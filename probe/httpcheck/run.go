package httpcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/platform"
	"github.com/storeprobe/storeprobe/probe/security"
)

// max1xx bounds the informational responses one hop accepts; a browser
// sees at most a 100 Continue and a 103 Early Hints or two.
const max1xx = 16

// hop records the boundaries of one request/response exchange. Trace
// callbacks run on the transport's goroutines, hence the mutex.
type hop struct {
	mu        sync.Mutex
	start     time.Time
	dnsDone   time.Time
	connDone  time.Time
	tlsStart  time.Time
	tlsDone   time.Time
	firstByte time.Time
	end       time.Time
	headers   bool   // the response head is complete
	remoteIP  string // the address dialled, set before dialling
	tls       bool   // the connection to the target is TLS
	// certAsked: a server asked for a client certificate and none is
	// configured; whatever then kills the hop is that refusal.
	certAsked bool
}

func (h *hop) set(f func()) {
	h.mu.Lock()
	f()
	h.mu.Unlock()
}

func (h *hop) mark(t *time.Time) {
	h.mu.Lock()
	if t.IsZero() {
		*t = time.Now()
	}
	h.mu.Unlock()
}

// phase is where the hop is now: the first boundary not yet reached.
func (h *hop) phase() probe.Phase {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.dnsDone.IsZero():
		return probe.PhaseDNS
	case h.connDone.IsZero(), h.tls && h.tlsStart.IsZero():
		return probe.PhaseConnect
	case h.tls && h.tlsDone.IsZero():
		return probe.PhaseTLS
	case h.firstByte.IsZero(), !h.headers:
		// A head that started but never completed (a header flood, a close
		// mid-headers) is still waiting for the response.
		return probe.PhaseWait
	}
	return probe.PhaseTransfer
}

// timings fills the final hop's phases. Boundaries never reached (the hop
// failed) are set to the end, so the failing phase holds the time spent in it
// and the phases still sum to total-redirect.
func (h *hop) timings(runStart time.Time) probe.Timings {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := h.end
	fill := func(t, prev time.Time) time.Time {
		if t.IsZero() || t.After(end) {
			t = end
		}
		if t.Before(prev) {
			t = prev
		}
		return t
	}
	t1 := fill(h.dnsDone, h.start)
	t2 := fill(h.connDone, t1)
	if h.tls {
		// TLS begins after the TCP connection and, through a proxy, after
		// the CONNECT exchange: both belong to connect.
		t2 = fill(h.tlsStart, t2)
	}
	t3 := t2
	if h.tls {
		t3 = fill(h.tlsDone, t2)
	}
	t4 := fill(h.firstByte, t3)
	ms := func(a, b time.Time) float64 { return round3(probe.Millis(b.Sub(a))) }
	return probe.Timings{
		DNS:      ms(h.start, t1),
		Connect:  ms(t1, t2),
		TLS:      ms(t2, t3),
		Wait:     ms(t3, t4),
		Transfer: ms(t4, end),
		TTFB:     ms(h.start, t4),
		Redirect: ms(runStart, h.start),
		Total:    ms(runStart, end),
	}
}

// round3 keeps microseconds: finer digits are noise.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// countingConn counts bytes read from the wire (headers, body, TLS records).
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// request is what one hop sends.
type request struct {
	method string
	url    *url.URL
	header http.Header
	body   string
	// hostOf is the host a Host override belongs to: the target's own. It
	// does not follow a redirect to another host.
	hostOf string
}

// hopResult is what one hop got: a response with its body already read, or
// a failure. tls is set for a failed certificate verification: the
// presented, unverified leaf.
type hopResult struct {
	resp    *http.Response
	body    []byte
	failure *probe.Failure
	tls     *probe.TLSInfo
}

// Run performs one attempt of the check and always returns a Result.
// Attempt is 1; callers retrying overwrite it.
//
// With warm-up, the warm-up requests go first, one after the other, each a
// whole request of its own (redirects, fresh connection and cookie jar)
// bounded by the timeout; started_at is the measured request's start. With
// an origin, the origin is measured after the edge, with its own timeout.
func (k *Checker) Run(ctx context.Context) probe.Result {
	res := probe.Result{
		Check:       k.check.Name,
		Type:        probe.TypeHTTP,
		URL:         displayURL(k.red.URL(k.edge.raw)),
		FinalURL:    displayURL(k.red.URL(k.edge.raw)),
		Attempt:     1,
		HTTPDetails: &probe.HTTPDetails{},
	}
	d := res.HTTPDetails
	if n := k.spec.Warmup; n > 0 {
		d.Warmup = k.warmup(ctx, n)
	}
	res.StartedAt = k.opts.now().UTC()
	f := k.fetch(ctx, k.edge)

	d.Timings = f.timings
	res.DurationMS = d.Timings.Total
	res.FinalURL = displayURL(k.red.URL(f.final.String()))
	d.WireBytes = f.wire
	d.RemoteIP = f.remoteIP
	d.Redirects = f.redirects
	d.StatusCode, d.HTTPVersion, d.Bytes, d.TLS = k.facts(f)
	if r := f.out.resp; r != nil {
		info := platform.Detect(r.Header, f.out.body)
		d.Platform, d.Analytics, d.PaymentGateways = info.Platform, info.Analytics, info.PaymentGateways
		cdn := platform.DetectCDN(r.Header)
		// The vendor's values are the target's text: scrubbed like every
		// message, in case an edge echoes what it was sent.
		cdn.CacheRaw, cdn.POPRaw = k.red.String(cdn.CacheRaw), k.red.String(cdn.POPRaw)
		d.CDN = &cdn
		if k.spec.Security {
			d.Security = k.judgeSecurity(f)
		}
	}
	res.Failure = f.out.failure
	if res.Failure == nil {
		res.Failure = k.assert(f.out, f.final, d.Timings.Total, d)
	}
	k.clean(res.Failure, k.edge)
	res.OK = res.Failure == nil
	if k.origin != nil {
		d.Origin = k.measureOrigin(ctx)
	}
	level := slog.LevelDebug
	if res.Failure != nil && res.Failure.Kind.ProbeFault() {
		level = slog.LevelWarn // our own fault: an operator should see it
	}
	k.opts.log.Log(ctx, level, "http check", "check", k.check.Name, "url", res.URL, "ok", res.OK,
		"status", d.StatusCode, "total_ms", d.Timings.Total, "failure", res.Failure)
	return res
}

// fetched is one request of a target with its redirects followed: the
// final hop, what it got, and what was seen on the way.
type fetched struct {
	out       hopResult
	final     *url.URL // the final hop's URL
	timings   probe.Timings
	redirects int
	wire      int64
	remoteIP  string
	// setCookies are the Set-Cookie values of every hop, in order: what a
	// security judgement reads besides the final headers.
	setCookies []string
}

// fetch requests t once, following redirects as the check says, within the
// check's timeout (a deadline of its own: warm-up, edge and origin each
// get the whole timeout).
func (k *Checker) fetch(ctx context.Context, t target) fetched {
	actx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()

	var wire atomic.Int64
	req := request{method: k.method, url: t.url, header: k.header.Clone(), body: k.spec.Body, hostOf: t.url.Hostname()}
	seen := map[string]bool{visitKey(k.method, t.url, nil): true}
	var (
		h         *hop
		out       hopResult
		redirects int
		cookies   []string
	)
	var runStart time.Time // the first hop's start: total and redirect count from here
	// Cookies a hop sets go with the next hops of this run, as a browser
	// would send them (a session or consent bounce); a fresh jar each run,
	// so one run never depends on another.
	jar, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}) // never fails
	for {
		h = &hop{start: time.Now()}
		if runStart.IsZero() {
			runStart = h.start
		}
		out = k.doHop(actx, h, withCookies(req, jar.Cookies(req.url)), &wire)
		h.mark(&h.end)
		if out.resp != nil {
			jar.SetCookies(req.url, out.resp.Cookies())
			cookies = append(cookies, out.resp.Header.Values("Set-Cookie")...)
		}
		if out.failure != nil || !k.spec.FollowRedirects || !isRedirect(out.resp.StatusCode) {
			break
		}
		next, f := k.nextRequest(req, out.resp, redirects, seen, jar)
		if f != nil {
			out.failure = f
			break
		}
		if next == nil { // a 3xx without Location is a final answer
			break
		}
		redirects++
		k.opts.log.Debug("http redirect", "check", k.check.Name, "status", out.resp.StatusCode,
			"from", k.red.URL(req.url.String()), "to", k.red.URL(next.url.String()))
		req = *next
	}
	f := fetched{out: out, final: req.url, timings: h.timings(runStart), redirects: redirects,
		wire: wire.Load(), setCookies: cookies}
	// A dial still running after a timeout may write it.
	h.set(func() { f.remoteIP = h.remoteIP })
	return f
}

// warmup sends n unmeasured requests of the check's URL and counts those
// that got no acceptable answer (a failed exchange or a status outside
// the expected set). Nothing about them fails the check.
func (k *Checker) warmup(ctx context.Context, n int) *probe.Warmup {
	w := &probe.Warmup{}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		f := k.fetch(ctx, k.edge)
		w.Requests++
		failed := f.out.failure != nil || !k.spec.ExpectStatus.Contains(f.out.resp.StatusCode)
		if failed {
			w.Failed++
		}
		var cache probe.CacheStatus
		if f.out.resp != nil {
			cache = platform.DetectCDN(f.out.resp.Header).Cache
		}
		k.opts.log.Debug("http warm-up", "check", k.check.Name, "n", i+1, "failed", failed, "cache", cache,
			"total_ms", f.timings.Total, "failure", f.out.failure)
	}
	return w
}

// measureOrigin requests the origin as the edge was requested and judges
// it with the check's own expectations; the CDN's (cache, security, TLS
// posture) are the edge's alone.
func (k *Checker) measureOrigin(ctx context.Context) *probe.OriginResult {
	f := k.fetch(ctx, *k.origin)
	o := &probe.OriginResult{
		URL:       displayURL(k.red.URL(k.origin.raw)),
		FinalURL:  displayURL(k.red.URL(f.final.String())),
		Timings:   f.timings,
		Redirects: f.redirects,
		WireBytes: f.wire,
		RemoteIP:  f.remoteIP,
	}
	o.StatusCode, o.HTTPVersion, o.Bytes, o.TLS = k.facts(f)
	o.Failure = f.out.failure
	if o.Failure == nil {
		o.Failure = k.assert(f.out, f.final, o.Timings.Total, nil)
	}
	k.clean(o.Failure, *k.origin)
	o.OK = o.Failure == nil
	k.opts.log.Debug("http origin", "check", k.check.Name, "url", o.URL, "ok", o.OK, "status", o.StatusCode,
		"ttfb_ms", o.Timings.TTFB, "failure", o.Failure)
	return o
}

// facts are what the edge's details and the origin's result both say of a
// fetched response: status, protocol, decoded bytes and the TLS session (or,
// when verification failed, the presented leaf).
func (k *Checker) facts(f fetched) (status int, proto string, bytes int64, info *probe.TLSInfo) {
	info = f.out.tls
	if r := f.out.resp; r != nil {
		status, proto, bytes = r.StatusCode, r.Proto, int64(len(f.out.body))
		if r.TLS != nil {
			info = tlsInfo(r.TLS, k.opts.now())
		}
	}
	return status, proto, bytes, info
}

// clean redacts a failure's message and shows an internationalised host
// as written.
func (k *Checker) clean(f *probe.Failure, t target) {
	if f == nil {
		return
	}
	f.Message = k.red.String(f.Message)
	if t.idnHost[0] != "" {
		f.Message = strings.ReplaceAll(f.Message, t.idnHost[0], t.idnHost[1])
	}
}

// withCookies returns rq with the jar's cookies for its URL added after
// any Cookie header the check sets itself.
func withCookies(rq request, cookies []*http.Cookie) request {
	if len(cookies) == 0 {
		return rq
	}
	parts := make([]string, 0, len(cookies)+1)
	if own := rq.header.Get("Cookie"); own != "" {
		parts = append(parts, own)
	}
	for _, c := range cookies {
		parts = append(parts, c.String())
	}
	rq.header = rq.header.Clone()
	rq.header.Set("Cookie", strings.Join(parts, "; "))
	return rq
}

// doHop sends one request on a fresh transport and reads its body.
func (k *Checker) doHop(ctx context.Context, h *hop, rq request, wire *atomic.Int64) hopResult {
	h.tls = rq.url.Scheme == "https"
	dialHost := rq.url.Hostname()
	if k.proxy != nil {
		dialHost = k.proxy.Hostname()
	}
	ip, err := k.resolve(ctx, dialHost)
	if err != nil {
		return hopResult{failure: k.classify(ctx, h, err)}
	}
	h.mark(&h.dnsDone)

	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			// Set before dialling: a failed connect still names the address.
			h.set(func() { h.remoteIP = ip.String() })
			var d net.Dialer
			c, err := d.DialContext(ctx, tcpNetwork(ip), net.JoinHostPort(ip.String(), port))
			if err != nil {
				return nil, err
			}
			h.mark(&h.connDone)
			return &countingConn{Conn: c, n: wire}, nil
		},
		TLSClientConfig:   k.hopTLSConfig(h),
		ForceAttemptHTTP2: true,
		DisableKeepAlives: true,
		// Bodies are decoded in doHop, whatever asked for the coding.
		DisableCompression:     true,
		MaxResponseHeaderBytes: k.opts.maxHeaderBytes,
	}
	defer tr.CloseIdleConnections()
	if k.proxy != nil {
		tr.Proxy = http.ProxyURL(k.proxy)
		// The CONNECT carries the check's User-Agent, so a proxy can
		// allow-list the probe.
		tr.ProxyConnectHeader = http.Header{"User-Agent": {rq.header.Get("User-Agent")}}
		if pa := rq.header.Get("Proxy-Authorization"); pa != "" && h.tls {
			// For a tunnel the proxy reads credentials on CONNECT, and the
			// target must never see them.
			tr.ProxyConnectHeader.Set("Proxy-Authorization", pa)
			rq.header = rq.header.Clone()
			rq.header.Del("Proxy-Authorization")
		}
	}

	informational := 0 // 1xx responses; the callback runs on one goroutine per request
	// Through an https proxy the first handshake is with the proxy: part of
	// the way there (connect), not the target's TLS.
	proxyTLS := k.proxy != nil && k.proxy.Scheme == "https"
	trace := &httptrace.ClientTrace{
		TLSHandshakeStart: func() {
			if !proxyTLS {
				h.mark(&h.tlsStart)
			}
		},
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			if proxyTLS {
				proxyTLS = false // callbacks of one connection run in order
				return
			}
			h.mark(&h.tlsDone)
		},
		GotFirstResponseByte: func() { h.mark(&h.firstByte) },
		// Informational responses before the real one are legitimate (100
		// Continue, 103 Early Hints) but a server sending them forever is
		// stalling: past max1xx the hop fails as protocol at once, rather
		// than when the header cap or the timeout runs out.
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			informational++
			if informational > max1xx {
				return fmt.Errorf("more than %d informational (1xx) responses; the last was %d", max1xx, code)
			}
			return nil
		},
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), rq.method, rq.url.String(), body)
	if err != nil {
		return hopResult{failure: probe.Fail(probe.FailureProbeError, "", "build request: %v", err)}
	}
	req.Header = rq.header
	// A Host override names the original host: it does not follow a
	// redirect to another one.
	if k.host != "" && strings.EqualFold(rq.url.Hostname(), rq.hostOf) {
		req.Host = k.host
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		hr := hopResult{failure: k.classify(ctx, h, err)}
		if hr.failure.Kind == probe.FailureTLS {
			hr.tls = presentedTLS(h, err, k.opts.now())
		}
		return hr
	}
	defer resp.Body.Close()
	// A trace may miss the first byte (e.g. a 1xx handling path); the
	// headers are here, so it has arrived.
	h.mark(&h.firstByte)
	h.set(func() { h.headers = true })

	limit := k.maxBody
	followed := k.spec.FollowRedirects && isRedirect(resp.StatusCode)
	if followed {
		// A redirect's body is never looked at: read a little of it and
		// move on.
		limit = min(limit, redirectBodyCap)
	}
	if rq.method == http.MethodHead || !bodyAllowed(resp.StatusCode) {
		// Content-Length here describes a body that is never sent.
		return hopResult{resp: resp}
	}
	codings := contentCodings(resp.Header)
	if len(codings) == 0 && resp.ContentLength > limit && !followed {
		return hopResult{resp: resp, failure: probe.Fail(probe.FailureTooLarge, probe.PhaseTransfer,
			"Content-Length %d is over the %d-byte body cap", resp.ContentLength, k.maxBody)}
	}
	// The cap bounds the decoded body; the encoded stream gets twice as
	// much (room for incompressible data), so one that decodes to nothing
	// cannot keep us reading until the timeout.
	raw := &rawBody{r: resp.Body, left: 2*limit + 64<<10}
	var src io.Reader = raw
	if len(codings) > 0 {
		d, err := decoder(codings, raw)
		if err != nil {
			return hopResult{resp: resp, failure: probe.Fail(probe.FailureProtocol, probe.PhaseTransfer, "%v", err)}
		}
		src = d
	}
	var buf bytes.Buffer
	if len(codings) == 0 && resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, limit+1))
	switch {
	case raw.over && followed:
		return hopResult{resp: resp, body: buf.Bytes()}
	case raw.over:
		return hopResult{resp: resp, body: buf.Bytes(), failure: probe.Fail(probe.FailureTooLarge, probe.PhaseTransfer,
			"the %s-encoded body is over %d bytes before decoding to %d", strings.Join(codings, ","), 2*limit+64<<10, n)}
	case err != nil && raw.err != nil:
		// The connection failed (reset, timeout), whatever the decoder
		// made of it.
		return hopResult{resp: resp, body: buf.Bytes(), failure: k.classify(ctx, h, raw.err)}
	case err != nil && len(codings) > 0:
		return hopResult{resp: resp, body: buf.Bytes(), failure: probe.Fail(probe.FailureProtocol, probe.PhaseTransfer,
			"the body does not decode as %s: %v", strings.Join(codings, ","), err)}
	case err != nil:
		return hopResult{resp: resp, body: buf.Bytes(), failure: k.classify(ctx, h, err)}
	}
	if n > limit {
		if followed {
			return hopResult{resp: resp, body: buf.Bytes()[:limit]}
		}
		return hopResult{resp: resp, body: buf.Bytes()[:limit], failure: probe.Fail(probe.FailureTooLarge, probe.PhaseTransfer,
			"body is over the %d-byte cap", k.maxBody)}
	}
	return hopResult{resp: resp, body: buf.Bytes()}
}

// bodyAllowed reports whether a response with this status may have a body
// (RFC 9110: not 1xx, 204 or 304).
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// resolve looks host up once, through the configured resolver, and returns
// the first address of the wanted family. Dialling exactly that address (no
// happy eyeballs) keeps connect a single, honest measurement.
func (k *Checker) resolve(ctx context.Context, host string) (net.IP, error) {
	network := map[int]string{0: "ip", 4: "ip4", 6: "ip6"}[k.ipVersion]
	if ip := net.ParseIP(host); ip != nil {
		if !familyOK(ip, k.ipVersion) {
			return nil, &net.DNSError{Err: fmt.Sprintf("address is not IPv%d", k.ipVersion), Name: host, IsNotFound: true}
		}
		return ip, nil
	}
	ips, err := k.resolver.LookupIP(ctx, network, host)
	if err != nil {
		return nil, k.dnsError(err)
	}
	for _, ip := range ips {
		if familyOK(ip, k.ipVersion) {
			return ip, nil
		}
	}
	return nil, &net.DNSError{Err: "no address of the wanted family", Name: host, IsNotFound: true}
}

// dnsError names the configured resolver in a lookup error. The Go
// resolver reports the resolv.conf server even when our Dial sent every
// query elsewhere; without --resolver that is the host's own resolver,
// which is not ours to reveal.
func (k *Checker) dnsError(err error) error {
	var de *net.DNSError
	if !errors.As(err, &de) {
		return err
	}
	c := *de
	server := k.dnsServer
	if server == "" {
		server = "the system resolver"
	}
	if de.Server != "" {
		if k.dnsServer == "" {
			// The cause may quote it too ("read udp …->10.0.0.2:53: …").
			c.Err = strings.ReplaceAll(c.Err, de.Server, server)
		}
		c.Server = server
	}
	return &c
}

func familyOK(ip net.IP, v int) bool {
	is4 := ip.To4() != nil
	return v == 0 || v == 4 && is4 || v == 6 && !is4
}

func tcpNetwork(ip net.IP) string {
	if ip.To4() != nil {
		return "tcp4"
	}
	return "tcp6"
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// nextRequest builds the request a redirect asks for, or a failure: loops,
// too many hops, non-HTTP targets. nil, nil means no Location: the 3xx is
// the answer.
func (k *Checker) nextRequest(cur request, resp *http.Response, done int, seen map[string]bool, jar http.CookieJar) (*request, *probe.Failure) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, nil
	}
	next, err := cur.url.Parse(loc)
	if err != nil {
		return nil, probe.Fail(probe.FailureProtocol, "", "redirect with a malformed Location: %v", unwrapURLError(err))
	}
	if next.Scheme != "http" && next.Scheme != "https" {
		return nil, probe.Fail(probe.FailureProtocol, "", "redirect to unsupported scheme %q (%s)", next.Scheme, k.red.URL(next.String()))
	}
	if next.Hostname() == "" {
		return nil, probe.Fail(probe.FailureProtocol, "", "redirect to a URL without a host")
	}
	if err := asciiHost(next); err != nil {
		return nil, probe.Fail(probe.FailureProtocol, "", "redirect to a bad host: %v", err)
	}
	if done >= k.maxRedir {
		return nil, probe.Fail(probe.FailureRedirectLoop, "", "more than %d redirects (next: %s)", k.maxRedir, k.red.URL(next.String()))
	}
	nr := request{method: cur.method, url: next, header: cur.header, body: cur.body, hostOf: cur.hostOf}
	// As browsers do: 301/302 turn a POST into a GET, 303 turns anything
	// but HEAD into a GET; 307/308 repeat the request as it was.
	switch code := resp.StatusCode; {
	case code == http.StatusSeeOther && cur.method != http.MethodHead,
		(code == http.StatusMovedPermanently || code == http.StatusFound) && cur.method == http.MethodPost:
		nr.method, nr.body = http.MethodGet, ""
	}
	key := visitKey(nr.method, next, jar.Cookies(next))
	if seen[key] {
		// done is what the result's redirects shows: the hop back is not
		// followed.
		return nil, probe.Fail(probe.FailureRedirectLoop, "", "redirect loop: %s was already visited (%s followed)", k.red.URL(next.String()), plural(done, "redirect"))
	}
	seen[key] = true
	if !strings.EqualFold(next.Hostname(), cur.url.Hostname()) {
		// Credentials meant for one host never travel to another.
		nr.header = cur.header.Clone()
		for name := range nr.header {
			if k.red.SecretHeader(name) {
				nr.header.Del(name)
			}
		}
	}
	return &nr, nil
}

// visitKey identifies a request for loop detection: the same request with
// other cookies is no loop (a consent bounce sets a cookie and comes back
// to the same URL), the same one with the same cookies is.
func visitKey(method string, u *url.URL, cookies []*http.Cookie) string {
	var b strings.Builder
	b.WriteString(method + " " + u.String())
	for _, c := range cookies {
		b.WriteString(" " + c.String())
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// assert runs the expectations on the final response and its buffered body.
// edge is the details of the edge's response, whose TLS posture, cache and
// security are judged too; nil for the origin, which is judged by the
// check's own expectations only.
func (k *Checker) assert(out hopResult, final *url.URL, totalMS float64, edge *probe.HTTPDetails) *probe.Failure {
	s := k.spec
	r := out.resp
	if !s.ExpectStatus.Contains(r.StatusCode) {
		return probe.Fail(probe.FailureStatus, "", "status %d, want %s", r.StatusCode, s.ExpectStatus)
	}
	if s.RequireTLS && final.Scheme != "https" {
		return probe.Fail(probe.FailureAssertion, "", "final URL %s is not https (TLS required)", displayURL(k.red.URL(final.String())))
	}
	if edge != nil {
		if f := k.tlsPosture(r, final, edge.TLS); f != nil {
			return f
		}
	}
	for _, re := range s.ExpectBody {
		if !re.Match(out.body) {
			return probe.Fail(probe.FailureAssertion, "", "body (%d bytes) does not match /%s/", len(out.body), re)
		}
	}
	for _, re := range s.ExpectBodyNot {
		if loc := re.FindIndex(out.body); loc != nil {
			return probe.Fail(probe.FailureAssertion, "", "body (%d bytes) matches /%s/ at byte %d, which it must not", len(out.body), re, loc[0])
		}
	}
	for _, e := range s.ExpectHeaders {
		vals := r.Header.Values(e.Name)
		if len(vals) == 0 {
			return probe.Fail(probe.FailureAssertion, "", "header %s is missing, want /%s/", e.Name, e.Pattern)
		}
		matched := false
		for _, v := range vals {
			if e.Pattern.MatchString(v) {
				matched = true
				break
			}
		}
		if !matched {
			return probe.Fail(probe.FailureAssertion, "", "header %s: %q does not match /%s/",
				e.Name, k.red.HeaderValue(e.Name, vals[0]), e.Pattern)
		}
	}
	for _, e := range s.ExpectHeadersNot {
		// An absent header passes: it is what is forbidden that must not
		// show up.
		for _, v := range r.Header.Values(e.Name) {
			if e.Pattern.MatchString(v) {
				return probe.Fail(probe.FailureAssertion, "", "header %s: %q matches /%s/, which it must not",
					e.Name, k.red.HeaderValue(e.Name, v), e.Pattern)
			}
		}
	}
	if edge != nil {
		if f := k.cacheExpectation(edge.CDN); f != nil {
			return f
		}
		if f := securityFailure(edge.Security); f != nil {
			return f
		}
	}
	if s.MaxDuration > 0 && totalMS > probe.Millis(s.MaxDuration) {
		return probe.Fail(probe.FailureTooSlow, "", "took %.1f ms, limit %s", totalMS, s.MaxDuration)
	}
	return nil
}

// tlsPosture fails as tls when the final hop negotiated a version older
// than the minimum, or its certificate expires within the minimum days.
// The client already refuses anything below TLS 1.2 (see New), so a
// minimum of 1.3 is what this enforces in practice: the handshake is let
// through and the negotiated version judged, so the message can name it.
// A final hop without TLS fails both.
func (k *Checker) tlsPosture(r *http.Response, final *url.URL, info *probe.TLSInfo) *probe.Failure {
	s := k.spec
	if s.MinTLS == 0 && s.CertMinDays == 0 {
		return nil
	}
	if r.TLS == nil {
		what := fmt.Sprintf("a certificate valid for at least %d days", s.CertMinDays)
		if s.MinTLS != 0 {
			what = tls.VersionName(s.MinTLS) + " or later"
		}
		return probe.Fail(probe.FailureTLS, probe.PhaseTLS, "final URL %s is plain http: no TLS, want %s",
			displayURL(k.red.URL(final.String())), what)
	}
	if s.MinTLS != 0 && r.TLS.Version < s.MinTLS {
		return probe.Fail(probe.FailureTLS, probe.PhaseTLS, "negotiated %s, below the minimum %s",
			tls.VersionName(r.TLS.Version), tls.VersionName(s.MinTLS))
	}
	if s.CertMinDays > 0 && info != nil && info.CertDaysLeft < float64(s.CertMinDays) {
		if info.CertDaysLeft < 0 {
			return probe.Fail(probe.FailureTLS, probe.PhaseTLS, "certificate expired %.1f days ago (%s), minimum %d days left",
				-info.CertDaysLeft, info.CertNotAfter.Format(time.DateOnly), s.CertMinDays)
		}
		return probe.Fail(probe.FailureTLS, probe.PhaseTLS, "certificate expires in %.1f days (%s), under the %d-day minimum",
			info.CertDaysLeft, info.CertNotAfter.Format(time.DateOnly), s.CertMinDays)
	}
	return nil
}

// cacheExpectation fails as assertion unless the CDN's normalised cache
// status is one the check expects.
func (k *Checker) cacheExpectation(cdn *probe.CDNInfo) *probe.Failure {
	want := k.spec.ExpectCache
	if len(want) == 0 || cdn == nil {
		return nil
	}
	if slices.Contains(want, cdn.Cache) {
		return nil
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = string(w)
	}
	wantS := strings.Join(names, " or ")
	if cdn.Provider == platform.NoCDN {
		return probe.Fail(probe.FailureAssertion, "", "no CDN recognised in the response (cache %s), want %s", cdn.Cache, wantS)
	}
	got := string(cdn.Cache)
	if cdn.CacheRaw != "" {
		got += fmt.Sprintf(" (%s said %q)", cdn.Provider, cdn.CacheRaw)
	} else {
		got += fmt.Sprintf(" (%s sent no cache status)", cdn.Provider)
	}
	return probe.Fail(probe.FailureAssertion, "", "cache %s, want %s", got, wantS)
}

// judgeSecurity judges the final response's headers and the cookies every
// hop set.
func (k *Checker) judgeSecurity(f fetched) *probe.SecurityReport {
	failOn := k.spec.SecurityFailOn
	if failOn == "" {
		failOn = probe.DefaultSecurityFailOn
	}
	findings := security.Judge(security.Response{Header: f.out.resp.Header, SetCookies: f.setCookies,
		HTTPS: f.out.resp.TLS != nil, Now: k.opts.now()})
	if findings == nil {
		findings = []probe.SecurityFinding{} // "findings": [] says it was judged and found nothing
	}
	for i := range findings {
		// Messages quote the target's header values: scrubbed as any.
		findings[i].Message = k.red.String(findings[i].Message)
	}
	return &probe.SecurityReport{FailOn: failOn, Findings: findings}
}

// securityFailure fails as assertion on the first finding at or above the
// report's level, counting the others.
func securityFailure(r *probe.SecurityReport) *probe.Failure {
	if r == nil {
		return nil
	}
	failing := security.Failing(r.Findings, r.FailOn)
	if len(failing) == 0 {
		return nil
	}
	first := failing[0]
	msg := fmt.Sprintf("security: %s (%s): %s", first.ID, first.Severity, first.Message)
	if n := len(failing) - 1; n > 0 {
		msg += fmt.Sprintf("; and %s at or above %s", plural(n, "more finding"), r.FailOn)
	}
	return probe.Fail(probe.FailureAssertion, "", "%s", msg)
}

// hopTLSConfig is the check's TLS config for one hop. Without a client
// certificate it notes when a server asks for one: under TLS 1.3 the
// refusal arrives after our handshake is done, as an alert, a reset or a
// broken pipe depending on timing, and only this note makes it one
// deterministic failure.
func (k *Checker) hopTLSConfig(h *hop) *tls.Config {
	c := k.tlsConf.Clone()
	if len(c.Certificates) == 0 && c.GetClientCertificate == nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			h.set(func() { h.certAsked = true })
			return &tls.Certificate{}, nil // send none, as without the callback
		}
	}
	return c
}

// presentedTLS describes the leaf a server presented when verification
// failed, or nil: enough for an operator to see an expired certificate's
// dates. Only the target's handshake counts, not an https proxy's.
func presentedTLS(h *hop, err error, now time.Time) *probe.TLSInfo {
	var started bool
	h.set(func() { started = !h.tlsStart.IsZero() })
	if !started {
		return nil
	}
	var (
		verifyErr *tls.CertificateVerificationError
		invalid   x509.CertificateInvalidError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		leaf      *x509.Certificate
	)
	switch {
	case errors.As(err, &verifyErr) && len(verifyErr.UnverifiedCertificates) > 0:
		leaf = verifyErr.UnverifiedCertificates[0]
	case errors.As(err, &invalid):
		leaf = invalid.Cert
	case errors.As(err, &unknownCA):
		leaf = unknownCA.Cert
	case errors.As(err, &hostErr):
		leaf = hostErr.Certificate
	}
	if leaf == nil {
		return nil
	}
	return &probe.TLSInfo{
		CertSubject:  leaf.Subject.String(),
		CertIssuer:   leaf.Issuer.String(),
		CertNotAfter: leaf.NotAfter.UTC(),
		CertDaysLeft: daysLeft(leaf.NotAfter, now),
	}
}

func daysLeft(t, now time.Time) float64 { return math.Round(t.Sub(now).Hours()/24*100) / 100 }

// tlsInfo describes the negotiated session. Expiry is that of the verified
// chain that stays valid longest, each chain being as good as its earliest
// NotAfter; without verification (--insecure) the presented chain is used.
func tlsInfo(cs *tls.ConnectionState, now time.Time) *probe.TLSInfo {
	info := &probe.TLSInfo{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite)}
	if len(cs.PeerCertificates) == 0 {
		return info
	}
	leaf := cs.PeerCertificates[0]
	info.CertSubject = leaf.Subject.String()
	info.CertIssuer = leaf.Issuer.String()
	var expiry time.Time
	chains := cs.VerifiedChains
	if len(chains) == 0 {
		chains = [][]*x509.Certificate{cs.PeerCertificates}
	}
	for _, chain := range chains {
		var earliest time.Time
		for _, c := range chain {
			if earliest.IsZero() || c.NotAfter.Before(earliest) {
				earliest = c.NotAfter
			}
		}
		if earliest.After(expiry) {
			expiry = earliest
		}
	}
	info.CertNotAfter = expiry.UTC()
	info.CertDaysLeft = daysLeft(expiry, now)
	return info
}
