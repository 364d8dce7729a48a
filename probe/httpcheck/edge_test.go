package httpcheck

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// edgeCache imitates a CDN in front of a shop, on loopback: the first
// request of a path misses, later ones hit, and every response carries the
// headers the vendor documents for that state:
//
//   - cloudflare: CF-Cache-Status MISS/HIT
//     (https://developers.cloudflare.com/cache/concepts/cache-responses/)
//     and CF-RAY "<ray id>-FRA"
//     (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-ray);
//   - cloudfront: X-Cache "Miss from cloudfront"/"Hit from cloudfront",
//     X-Amz-Cf-Pop "FRA56-P1", Via "1.1 <id>.cloudfront.net (CloudFront)"
//     (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html);
//   - fastly, shielded: X-Served-By "cache-iad2120-IAD, cache-fra19120-FRA",
//     X-Cache "MISS, MISS" then "MISS, HIT", X-Cache-Hits "0, 0" then "0, 1"
//     (https://docs.fastly.com/en/guides/understanding-cache-hit-and-miss-headers-with-shielded-services);
//   - akamai: X-Cache "TCP_MISS|TCP_HIT from a23-….deploy.akamaitechnologies.com
//     (AkamaiGHost/…)", X-Check-Cacheable and X-Akamai-Request-ID, each only
//     when the request's Pragma asks for it (akamai-x-cache-on,
//     akamai-x-check-cacheable, akamai-x-get-request-id;
//     https://techdocs.akamai.com/edge-diagnostics/docs/pragma-headers),
//     and Akamai-GRN always.
//
// Age counts the hits, as a cache's copy ages.
type edgeCache struct {
	vendor string
	mu     sync.Mutex
	seen   map[string]int
	// requests counts every request; pragmas keeps each one's Pragma.
	requests atomic.Int64
	pragmas  []string
}

func newEdge(vendor string) *edgeCache { return &edgeCache{vendor: vendor, seen: map[string]int{}} }

func (e *edgeCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := e.requests.Add(1)
	e.mu.Lock()
	e.seen[r.URL.Path]++
	hit := e.seen[r.URL.Path] > 1
	e.pragmas = append(e.pragmas, r.Header.Get("Pragma"))
	e.mu.Unlock()
	h := w.Header()
	pick := func(miss, hitV string) string {
		if hit {
			return hitV
		}
		return miss
	}
	if hit {
		h.Set("Age", "42")
	} else {
		h.Set("Age", "0")
	}
	switch e.vendor {
	case "cloudflare":
		h.Set("Server", "cloudflare")
		h.Set("CF-RAY", fmt.Sprintf("%016x-FRA", uint64(n)*0x9e3779b97f4a7c15))
		h.Set("CF-Cache-Status", pick("MISS", "HIT"))
	case "cloudfront":
		h.Set("Via", "1.1 4f0b1a2c3d4e5f60718293a4b5c6d7e8.cloudfront.net (CloudFront)")
		h.Set("X-Cache", pick("Miss from cloudfront", "Hit from cloudfront"))
		h.Set("X-Amz-Cf-Pop", "FRA56-P1")
		h.Set("X-Amz-Cf-Id", "pJ8ZQxkR3l0bXy2VqKzT5nW8cA1dE4fG7hI0jK3lM6nO9pQ2rS5tU==")
	case "fastly":
		h.Set("Via", "1.1 varnish, 1.1 varnish")
		h.Set("X-Served-By", "cache-iad2120-IAD, cache-fra19120-FRA")
		h.Set("X-Cache", pick("MISS, MISS", "MISS, HIT"))
		h.Set("X-Cache-Hits", pick("0, 0", "0, 1"))
	case "akamai":
		h.Set("Akamai-GRN", "0.1c2d3e4f.1764000000.5a6b7c8d")
		pragma := strings.ToLower(strings.Join(r.Header.Values("Pragma"), ","))
		if strings.Contains(pragma, "akamai-x-cache-on") {
			h.Set("X-Cache", pick("TCP_MISS", "TCP_MEM_HIT")+" from a23-45-67-89.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0-12345) (-)")
		}
		if strings.Contains(pragma, "akamai-x-check-cacheable") {
			h.Set("X-Check-Cacheable", "YES")
		}
		if strings.Contains(pragma, "akamai-x-get-request-id") {
			h.Set("X-Akamai-Request-ID", fmt.Sprintf("%x", n))
		}
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<html><body>shop</body></html>")
}

func TestCDNInsight(t *testing.T) {
	akamaiDebug := []probe.Header{{Name: "Pragma", Value: "akamai-x-cache-on, akamai-x-check-cacheable, akamai-x-get-request-id"}}
	tests := []struct {
		vendor    string
		headers   []probe.Header
		pop       string
		missRaw   string
		hitRaw    string
		hitStatus probe.CacheStatus
	}{
		{"cloudflare", nil, "FRA", "MISS", "HIT", probe.CacheHit},
		{"cloudfront", nil, "FRA56", "Miss from cloudfront", "Hit from cloudfront", probe.CacheHit},
		{"fastly", nil, "FRA", "MISS, MISS", "MISS, HIT", probe.CacheHit},
		{"akamai", akamaiDebug, probe.UnknownPOP,
			"TCP_MISS from a23-45-67-89.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0-12345) (-)",
			"TCP_MEM_HIT from a23-45-67-89.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0-12345) (-)", probe.CacheHit},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			edge := newEdge(tt.vendor)
			srv := httpServer(t, edge)
			c := newCheck(srv.URL + "/p/shoe")
			c.HTTP.Headers = tt.headers
			first := run(t, c)
			checkInvariants(t, first)
			want := probe.CDNInfo{Provider: tt.vendor, Cache: probe.CacheMiss, CacheRaw: tt.missRaw, POP: tt.pop}
			if got := first.CDN; got == nil || got.Provider != want.Provider || got.Cache != want.Cache ||
				got.CacheRaw != want.CacheRaw || got.POP != want.POP || got.AgeS == nil || *got.AgeS != 0 {
				t.Fatalf("first request: cdn %+v, want %+v with age 0", got, want)
			}
			second := run(t, c)
			if got := second.CDN; got.Cache != tt.hitStatus || got.CacheRaw != tt.hitRaw || got.POP != tt.pop || *got.AgeS != 42 {
				t.Errorf("second request: cdn %+v, want %s %q", got, tt.hitStatus, tt.hitRaw)
			}
			// The JSON shape of the issue: cdn is an object.
			var out struct {
				CDN map[string]any `json:"cdn"`
			}
			b, _ := json.Marshal(second)
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if out.CDN["provider"] != tt.vendor || out.CDN["cache"] != string(tt.hitStatus) || out.CDN["pop"] != tt.pop ||
				out.CDN["age_s"] != float64(42) || out.CDN["cache_raw"] != tt.hitRaw {
				t.Errorf("JSON cdn = %v", out.CDN)
			}
		})
	}
}

// TestAkamaiNeedsItsDebugPragma: without "Pragma: akamai-x-cache-on"
// Akamai says nothing about its cache, and storeprobe says unknown rather
// than guessing.
func TestAkamaiNeedsItsDebugPragma(t *testing.T) {
	edge := newEdge("akamai")
	srv := httpServer(t, edge)
	r := run(t, newCheck(srv.URL))
	if r.CDN == nil || r.CDN.Provider != "akamai" || r.CDN.Cache != probe.CacheUnknown || r.CDN.POP != probe.UnknownPOP {
		t.Errorf("cdn %+v, want akamai with unknown cache and pop", r.CDN)
	}
	if edge.pragmas[0] != "" {
		t.Errorf("storeprobe sent Pragma %q of its own", edge.pragmas[0])
	}
}

func TestNoCDN(t *testing.T) {
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Via", "1.1 varnish (Varnish/7.1)") // the shop's own Varnish
		w.Header().Set("X-Cache", "HIT")
	}))
	r := run(t, newCheck(srv.URL))
	if r.CDN == nil || r.CDN.Provider != "none" || r.CDN.Cache != probe.CacheUnknown || r.CDN.POP != probe.UnknownPOP || r.CDN.CacheRaw != "" {
		t.Errorf("cdn %+v", r.CDN)
	}
	// No response, no cdn object.
	c := newCheck("http://" + closedPort(t) + "/")
	if r := run(t, c); r.CDN != nil {
		t.Errorf("a connect failure has cdn %+v", r.CDN)
	}
}

func TestWarmupAndExpectCache(t *testing.T) {
	t.Run("a cold cache fails expect hit", func(t *testing.T) {
		edge := newEdge("cloudfront")
		c := newCheck(httpServer(t, edge).URL)
		c.HTTP.ExpectCache = []probe.CacheStatus{probe.CacheHit}
		r := run(t, c)
		if r.OK || r.Failure.Kind != probe.FailureAssertion ||
			r.Failure.Message != `cache miss (cloudfront said "Miss from cloudfront"), want hit` {
			t.Fatalf("failure %v", r.Failure)
		}
		if r.Warmup != nil {
			t.Errorf("warmup %+v without warm-up", r.Warmup)
		}
	})
	t.Run("one warm-up request fills it", func(t *testing.T) {
		edge := newEdge("cloudfront")
		c := newCheck(httpServer(t, edge).URL)
		c.HTTP.ExpectCache = []probe.CacheStatus{probe.CacheHit}
		c.HTTP.Warmup = 1
		before := time.Now().UTC()
		r := run(t, c)
		checkInvariants(t, r)
		if !r.OK || r.CDN.Cache != probe.CacheHit || edge.requests.Load() != 2 || *r.Warmup != (probe.Warmup{Requests: 1}) {
			t.Fatalf("ok=%v %v cdn %+v requests %d warmup %+v", r.OK, r.Failure, r.CDN, edge.requests.Load(), r.Warmup)
		}
		if !r.StartedAt.After(before) {
			t.Errorf("started_at %v is not the measured request's start", r.StartedAt)
		}
	})
	t.Run("several statuses", func(t *testing.T) {
		edge := newEdge("fastly")
		c := newCheck(httpServer(t, edge).URL)
		c.HTTP.ExpectCache = []probe.CacheStatus{probe.CacheHit, probe.CacheMiss}
		if r := run(t, c); !r.OK {
			t.Errorf("miss is expected too: %v", r.Failure)
		}
	})
	t.Run("no cdn", func(t *testing.T) {
		c := newCheck(httpServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).URL)
		c.HTTP.ExpectCache = []probe.CacheStatus{probe.CacheHit}
		r := run(t, c)
		if r.OK || r.Failure.Message != "no CDN recognised in the response (cache unknown), want hit" {
			t.Errorf("failure %v", r.Failure)
		}
	})
	t.Run("failed warm-up requests are counted, not judged", func(t *testing.T) {
		var n atomic.Int64
		edge := newEdge("cloudflare")
		srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch n.Add(1) {
			case 1:
				w.WriteHeader(http.StatusServiceUnavailable) // the origin hiccups
			case 2:
				hj, _ := w.(http.Hijacker)
				conn, _, _ := hj.Hijack()
				conn.Close() // a reset mid-request
			default:
				edge.ServeHTTP(w, r)
			}
		}))
		c := newCheck(srv.URL)
		c.HTTP.Warmup = 3
		r := run(t, c)
		if !r.OK || *r.Warmup != (probe.Warmup{Requests: 3, Failed: 2}) || r.CDN.Cache != probe.CacheHit {
			t.Errorf("ok=%v %v warmup %+v cdn %+v", r.OK, r.Failure, r.Warmup, r.CDN)
		}
	})
	t.Run("each warm-up request has the timeout, and only that", func(t *testing.T) {
		var n atomic.Int64
		srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				sleepUntil(r, 10*time.Second) // the first hangs
			}
		}))
		c := newCheck(srv.URL)
		c.Timeout = 300 * time.Millisecond
		c.HTTP.Warmup = 2
		start := time.Now()
		r := run(t, c)
		took := time.Since(start)
		if !r.OK || *r.Warmup != (probe.Warmup{Requests: 2, Failed: 1}) {
			t.Fatalf("ok=%v %v warmup %+v", r.OK, r.Failure, r.Warmup)
		}
		if took < 300*time.Millisecond || took > c.AttemptTimeout()+time.Second {
			t.Errorf("took %v; the hung warm-up request should cost its timeout, the attempt at most %v", took, c.AttemptTimeout())
		}
	})
	t.Run("a cancelled context stops the warm-up", func(t *testing.T) {
		srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sleepUntil(r, 10*time.Second) }))
		c := newCheck(srv.URL)
		c.HTTP.Warmup = 10
		k, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		r := k.Run(ctx)
		if time.Since(start) > 2*time.Second || r.OK || r.Warmup.Requests != 1 {
			t.Errorf("took %v, warmup %+v, ok %v", time.Since(start), r.Warmup, r.OK)
		}
	})
}

func TestOrigin(t *testing.T) {
	edge := newEdge("cloudfront")
	edgeSrv := httpServer(t, edge)
	var (
		mu   sync.Mutex
		seen []*http.Request
	)
	origin := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		switch r.URL.Path {
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case "/moved":
			http.Redirect(w, r, "/p/shoe", http.StatusFound)
			return
		}
		time.Sleep(60 * time.Millisecond) // the origin renders the page
		fmt.Fprint(w, "<html>shop</html>")
	}))

	t.Run("measured beside the edge with the same request", func(t *testing.T) {
		c := newCheck(edgeSrv.URL + "/p/shoe")
		c.HTTP.Method = http.MethodPost
		c.HTTP.Body = "q=1"
		c.HTTP.Headers = []probe.Header{{Name: "X-Shop", Value: "de"}}
		c.HTTP.OriginURL = origin.URL + "/moved?token=s3cret"
		r := run(t, c)
		checkInvariants(t, r)
		o := r.Origin
		if !r.OK || o == nil || !o.OK || o.StatusCode != 200 || o.Redirects != 1 || o.Bytes != int64(len("<html>shop</html>")) {
			t.Fatalf("ok=%v %v origin %+v", r.OK, r.Failure, o)
		}
		if o.Timings.TTFB < 60 || o.Timings.TTFB <= r.Timings.TTFB || o.RemoteIP != "127.0.0.1" || o.HTTPVersion != "HTTP/1.1" {
			t.Errorf("origin timings %+v (edge %+v) remote %q", o.Timings, r.Timings, o.RemoteIP)
		}
		if strings.Contains(o.URL, "s3cret") || !strings.HasSuffix(o.FinalURL, "/p/shoe") {
			t.Errorf("origin url %q final %q", o.URL, o.FinalURL)
		}
		mu.Lock()
		first := seen[len(seen)-2]
		mu.Unlock()
		if first.Method != http.MethodPost || first.Header.Get("X-Shop") != "de" {
			t.Errorf("the origin got %s with X-Shop %q", first.Method, first.Header.Get("X-Shop"))
		}
	})
	t.Run("an origin failure is the origin's, not the check's", func(t *testing.T) {
		c := newCheck(edgeSrv.URL)
		c.HTTP.OriginURL = origin.URL + "/down"
		r := run(t, c)
		if !r.OK || r.Origin.OK || r.Origin.Failure.Kind != probe.FailureStatus || r.Origin.StatusCode != 503 {
			t.Errorf("ok=%v origin %+v failure %v", r.OK, r.Origin, r.Origin.Failure)
		}
		c.HTTP.OriginURL = "http://" + closedPort(t) + "/"
		r = run(t, c)
		if !r.OK || r.Origin.Failure == nil || r.Origin.Failure.Kind != probe.FailureConnect || r.Origin.StatusCode != 0 {
			t.Errorf("ok=%v origin %+v", r.OK, r.Origin)
		}
	})
	t.Run("the check's expectations judge the origin, the edge's CDN ones do not", func(t *testing.T) {
		c := newCheck(edgeSrv.URL + "/cold")
		c.HTTP.Warmup = 1
		c.HTTP.ExpectCache = []probe.CacheStatus{probe.CacheHit}
		c.HTTP.ExpectBody = []*regexp.Regexp{regexp.MustCompile("shop")}
		c.HTTP.OriginURL = origin.URL + "/"
		// The origin has no CDN, so no cache hit: that is not asked of it.
		r := run(t, c)
		if !r.OK || !r.Origin.OK {
			t.Errorf("ok=%v %v origin %+v", r.OK, r.Failure, r.Origin)
		}
		c.HTTP.ExpectBody = []*regexp.Regexp{regexp.MustCompile("nowhere")}
		r = run(t, c)
		if r.Origin.OK || r.Origin.Failure.Kind != probe.FailureAssertion {
			t.Errorf("origin %+v failure %v", r.Origin, r.Origin.Failure)
		}
	})
	t.Run("a Host header goes to the origin", func(t *testing.T) {
		c := newCheck(edgeSrv.URL)
		c.HTTP.Headers = []probe.Header{{Name: "Host", Value: "shop.test"}}
		c.HTTP.OriginURL = origin.URL + "/"
		r := run(t, c)
		mu.Lock()
		last := seen[len(seen)-1]
		mu.Unlock()
		if !r.Origin.OK || last.Host != "shop.test" {
			t.Errorf("origin ok=%v, Host %q", r.Origin.OK, last.Host)
		}
	})
	t.Run("no origin", func(t *testing.T) {
		if r := run(t, newCheck(edgeSrv.URL)); r.Origin != nil {
			t.Errorf("origin %+v without origin_url", r.Origin)
		}
	})
}

// securityServer answers as a shop with OWASP's recommended headers, or
// with each control missing (?weak), and sets a cookie on a redirect hop.
func securityServer(t *testing.T, kit *certKit) string {
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		weak := r.URL.Query().Has("weak")
		if r.URL.Path == "/" {
			// The consent bounce sets the session on the redirect.
			cookie := "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"
			if weak {
				cookie = "sid=abc; Path=/"
			}
			h.Add("Set-Cookie", cookie)
			http.Redirect(w, r, "/home?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		if weak {
			h.Set("Server", "Apache/2.4.29 (Ubuntu)")
			h.Set("X-Powered-By", "PHP/7.4.3")
			h.Set("Strict-Transport-Security", "max-age=86400")
			return
		}
		// The values the OWASP HTTP Headers Cheat Sheet recommends.
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Server", "webserver")
	}), true)
	return srv.URL
}

func TestSecurity(t *testing.T) {
	kit := newCertKit(t, time.Now().Add(365*24*time.Hour))
	base := securityServer(t, kit)
	check := func(url string, failOn probe.Severity) probe.Check {
		c := newCheck(url)
		c.HTTP.CAFile = kit.caFile
		c.HTTP.Security = true
		c.HTTP.SecurityFailOn = failOn
		return c
	}
	t.Run("everything right", func(t *testing.T) {
		r := run(t, check(base+"/", probe.SeverityInfo))
		if !r.OK || r.Security == nil || r.Security.FailOn != probe.SeverityInfo || len(r.Security.Findings) != 0 || r.Security.Findings == nil {
			t.Fatalf("ok=%v %v security %+v", r.OK, r.Failure, r.Security)
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"security":{"fail_on":"info","findings":[]}`) {
			t.Errorf("JSON: %s", b)
		}
	})
	t.Run("weak shop, default level", func(t *testing.T) {
		r := run(t, check(base+"/?weak", ""))
		var ids []string
		for _, f := range r.Security.Findings {
			ids = append(ids, f.ID)
		}
		want := "hsts-short-max-age hsts-no-subdomains csp-missing clickjacking nosniff-missing referrer-policy-missing " +
			"cookie-not-secure cookie-not-httponly cookie-no-samesite server-version x-powered-by"
		if strings.Join(ids, " ") != want {
			t.Errorf("findings %v\nwant %s", ids, want)
		}
		// Only the cookie set on the redirect is high: the default fails on it.
		if r.OK || r.Failure.Kind != probe.FailureAssertion || r.Security.FailOn != probe.SeverityHigh ||
			r.Failure.Message != `security: cookie-not-secure (high): cookie "sid" is set without Secure` {
			t.Errorf("failure %v", r.Failure)
		}
	})
	t.Run("weak shop, fail on medium", func(t *testing.T) {
		r := run(t, check(base+"/?weak", probe.SeverityMedium))
		if r.OK || !strings.HasPrefix(r.Failure.Message, "security: csp-missing (medium): no Content-Security-Policy header; and 2 more findings at or above medium") {
			t.Errorf("failure %v", r.Failure)
		}
	})
	t.Run("plain http", func(t *testing.T) {
		srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}))
		c := newCheck(srv.URL)
		c.HTTP.Security = true
		r := run(t, c)
		if !r.OK || r.Security.Findings[0].ID != "hsts-missing" || !strings.Contains(r.Security.Findings[0].Message, "plain http") {
			t.Errorf("ok=%v %v findings %+v", r.OK, r.Failure, r.Security.Findings)
		}
	})
	t.Run("off", func(t *testing.T) {
		c := check(base+"/?weak", "")
		c.HTTP.Security = false
		if r := run(t, c); !r.OK || r.Security != nil {
			t.Errorf("ok=%v security %+v", r.OK, r.Security)
		}
	})
}

func TestTLSPosture(t *testing.T) {
	kit := newCertKit(t, time.Now().Add(365*24*time.Hour))
	server := func(t *testing.T, maxVersion uint16, certDays int) string {
		cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)},
			notAfter: time.Now().Add(time.Duration(certDays) * 24 * time.Hour)})
		return tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion},
			http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), false).URL
	}
	tls12, tls13 := server(t, tls.VersionTLS12, 90), server(t, tls.VersionTLS13, 90)
	soon := server(t, tls.VersionTLS13, 10)
	plain := httpServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).URL
	tests := []struct {
		name     string
		url      string
		min      uint16
		days     int
		failure  string // a substring; "" passes
		insecure bool
	}{
		{"1.3 wanted, 1.2 negotiated", tls12, tls.VersionTLS13, 0, "negotiated TLS 1.2, below the minimum TLS 1.3", false},
		{"1.3 wanted, 1.3 negotiated", tls13, tls.VersionTLS13, 0, "", false},
		{"1.2 wanted, 1.2 negotiated", tls12, tls.VersionTLS12, 0, "", false},
		{"1.0 is the floor already", tls12, tls.VersionTLS10, 0, "", false},
		{"14 days wanted, 10 left", soon, 0, 14, "under the 14-day minimum", false},
		{"7 days wanted, 10 left", soon, 0, 7, "", false},
		{"plain http with a minimum version", plain, tls.VersionTLS12, 0, "is plain http: no TLS, want TLS 1.2 or later", false},
		{"plain http with minimum days", plain, 0, 14, "want a certificate valid for at least 14 days", false},
		{"nothing asked of plain http", plain, 0, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(tt.url)
			c.HTTP.CAFile = kit.caFile
			c.HTTP.MinTLS, c.HTTP.CertMinDays = tt.min, tt.days
			r := run(t, c)
			checkInvariants(t, r)
			switch {
			case tt.failure == "" && !r.OK:
				t.Errorf("failed: %v", r.Failure)
			case tt.failure != "" && (r.OK || r.Failure.Kind != probe.FailureTLS || r.Failure.Phase != probe.PhaseTLS ||
				!strings.Contains(r.Failure.Message, tt.failure)):
				t.Errorf("failure %v, want tls %q", r.Failure, tt.failure)
			}
		})
	}
	// The days left are named, to one decimal.
	c := newCheck(soon)
	c.HTTP.CAFile, c.HTTP.CertMinDays = kit.caFile, 14
	if r := run(t, c); !strings.Contains(r.Failure.Message, "certificate expires in 10.0 days (") {
		t.Errorf("message %q", r.Failure.Message)
	}
}
