package httpcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func newCheck(url string) probe.Check {
	return probe.Check{Name: "test", Type: probe.TypeHTTP, URL: url, Timeout: 3 * time.Second,
		HTTP: probe.HTTPSpec{FollowRedirects: true}}
}

func run(t *testing.T, c probe.Check, opts ...Option) probe.Result {
	t.Helper()
	k, err := New(c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k.Run(context.Background())
}

// checkInvariants holds for every result, passed or failed.
func checkInvariants(t *testing.T, r probe.Result) {
	t.Helper()
	if r.HTTPDetails == nil || r.Type != probe.TypeHTTP || r.Attempt != 1 || r.StartedAt.Location() != time.UTC {
		t.Fatalf("bad result frame: %+v", r)
	}
	if r.OK != (r.Failure == nil) {
		t.Fatalf("ok=%v with failure %v", r.OK, r.Failure)
	}
	if r.Failure != nil && !r.Failure.Kind.Valid() {
		t.Fatalf("unknown failure kind %q", r.Failure.Kind)
	}
	tm := r.Timings
	for name, v := range map[string]float64{"dns": tm.DNS, "connect": tm.Connect, "tls": tm.TLS, "wait": tm.Wait,
		"transfer": tm.Transfer, "ttfb": tm.TTFB, "redirect": tm.Redirect, "total": tm.Total} {
		if v < 0 || math.IsNaN(v) {
			t.Errorf("timing %s = %v", name, v)
		}
	}
	sum := tm.DNS + tm.Connect + tm.TLS + tm.Wait + tm.Transfer
	if d := math.Abs(sum - (tm.Total - tm.Redirect)); d > 1 {
		t.Errorf("phases sum to %.3f ms, total-redirect is %.3f ms (off by %.3f)", sum, tm.Total-tm.Redirect, d)
	}
	if d := math.Abs(tm.TTFB - (tm.DNS + tm.Connect + tm.TLS + tm.Wait)); d > 1 {
		t.Errorf("ttfb %.3f != dns+connect+tls+wait %.3f", tm.TTFB, sum-tm.Transfer)
	}
	if r.DurationMS != tm.Total {
		t.Errorf("duration_ms %v != total %v", r.DurationMS, tm.Total)
	}
}

// sleepUntil blocks a handler for d or until the client goes away.
func sleepUntil(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

func TestFailureKinds(t *testing.T) {
	kit := newCertKit(t, time.Now().Add(365*24*time.Hour))
	localhost := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	goodCert, _, _ := kit.issue(certOpts{cn: "shop.test", dnsNames: []string{"shop.test"}, ips: localhost})
	expired, _, _ := kit.issue(certOpts{cn: "old.test", ips: localhost, notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	wrongHost, _, _ := kit.issue(certOpts{cn: "other.test", dnsNames: []string{"other.test"}})
	selfSigned, _, _ := kit.issue(certOpts{cn: "self.test", ips: localhost, selfSigned: true})
	_, clientCert, clientKey := kit.issue(certOpts{cn: "probe-client", client: true})
	pool := x509.NewCertPool()
	pool.AddCert(kit.ca)

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<h1>Shop</h1>") })
	tlsWith := func(c tls.Certificate) string {
		return tlsServer(t, &tls.Config{Certificates: []tls.Certificate{c}}, ok, false).URL
	}
	dnsAddr, dnsQueries := dnsServer(t, map[string][]net.IP{"shop.test.": {net.IPv4(127, 0, 0, 1)}})
	plain := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("X-Cache", "MISS")
			io.WriteString(w, "<h1>Shop</h1> add to cart")
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/slow":
			sleepUntil(r, 60*time.Millisecond)
			io.WriteString(w, "slow")
		case "/hang":
			sleepUntil(r, 5*time.Second)
		case "/stall":
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, strings.Repeat("x", 100))
			http.NewResponseController(w).Flush()
			sleepUntil(r, 5*time.Second)
		case "/big":
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for range 40 { // 2.5 MiB, chunked: no Content-Length to fail fast on
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/loop/a":
			http.Redirect(w, r, "/loop/b", http.StatusFound)
		case "/loop/b":
			http.Redirect(w, r, "/loop/a", http.StatusFound)
		case "/loop/self":
			http.Redirect(w, r, "/loop/self", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://files.test/x", http.StatusFound)
		default:
			var n int
			if _, err := fmt.Sscanf(r.URL.Path, "/chain/%d", &n); err == nil {
				http.Redirect(w, r, fmt.Sprintf("/chain/%d", n+1), http.StatusMovedPermanently)
				return
			}
			http.NotFound(w, r)
		}
	}))
	port := plain.Listener.Addr().(*net.TCPAddr).Port
	badChunks := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnot hex\r\n")
	})
	flood := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Flood: " + strings.Repeat("f", 1000) + "\r\n"
		for range 1500 { // 1.5 MB of headers, over the 1 MiB cap
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
		io.WriteString(c, "\r\n")
	})
	declaredHuge := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 20971520\r\n\r\nxxxx")
	})
	truncated := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this much")
	})
	garbage := rawServer(t, func(c net.Conn) { io.WriteString(c, "SMTP ready\r\n\r\n") })
	headCut := rawServer(t, func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Partial: yes\r\n") })
	// SO_LINGER 0 turns the close into a RST.
	resetAfterRequest := rawServer(t, func(c net.Conn) { c.(*net.TCPConn).SetLinger(0) })
	resetMidBody := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome of it")
		time.Sleep(20 * time.Millisecond) // let the head arrive on its own
		c.(*net.TCPConn).SetLinger(0)
	})
	refusingDNS := func() string { // a UDP port nobody listens on
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}()
	h2reset := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{goodCert}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // an h2 server answers with RST_STREAM
	}), true)
	mtls := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{goodCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}, ok, false)
	optionalCert := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{goodCert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}, ok, true)
	presented := func(cn string, expired bool) func(t *testing.T, r probe.Result) {
		return func(t *testing.T, r probe.Result) {
			if r.TLS == nil || r.TLS.CertSubject != "CN="+cn+",O=Test Shop" || r.TLS.CertIssuer == "" || r.TLS.CertNotAfter.IsZero() ||
				(r.TLS.CertDaysLeft < 0) != expired || r.TLS.Version != "" {
				t.Errorf("presented leaf: %+v", r.TLS)
			}
		}
	}

	tests := []struct {
		name      string
		url       string
		mod       func(c *probe.Check)
		wantKind  probe.FailureKind // "" means the check passes
		wantPhase probe.Phase
		wantMsg   string // substring of the failure message
		maxMS     float64
		more      func(t *testing.T, r probe.Result)
	}{
		{name: "ok", url: plain.URL + "/", more: func(t *testing.T, r probe.Result) {
			if r.StatusCode != 200 || r.Bytes != 25 || r.WireBytes <= r.Bytes || r.HTTPVersion != "HTTP/1.1" || r.RemoteIP != "127.0.0.1" || r.TLS != nil {
				t.Errorf("details: %+v", *r.HTTPDetails)
			}
		}},
		{name: "dns nxdomain", url: "http://nx.test/", mod: func(c *probe.Check) { c.HTTP.Resolver = dnsAddr },
			wantKind: probe.FailureDNS, wantPhase: probe.PhaseDNS, wantMsg: "lookup nx.test on " + dnsAddr + ": no such host", more: notSystemResolver},
		{name: "dns resolver refuses", url: "http://nx.test/", mod: func(c *probe.Check) { c.HTTP.Resolver = refusingDNS },
			wantKind: probe.FailureDNS, wantPhase: probe.PhaseDNS, wantMsg: "lookup nx.test on " + refusingDNS + ":", more: notSystemResolver},
		{name: "dns via resolver", url: fmt.Sprintf("http://shop.test:%d/", port), mod: func(c *probe.Check) { c.HTTP.Resolver = dnsAddr },
			more: func(t *testing.T, r probe.Result) {
				if dnsQueries.Load() == 0 || r.RemoteIP != "127.0.0.1" {
					t.Errorf("resolver not used: %d queries, remote %s", dnsQueries.Load(), r.RemoteIP)
				}
			}},
		{name: "dns no address of family", url: fmt.Sprintf("http://shop.test:%d/", port),
			mod:      func(c *probe.Check) { c.HTTP.Resolver = dnsAddr; c.HTTP.IPVersion = 6 },
			wantKind: probe.FailureDNS, wantPhase: probe.PhaseDNS},
		{name: "ip literal of wrong family", url: plain.URL, mod: func(c *probe.Check) { c.HTTP.IPVersion = 6 },
			wantKind: probe.FailureDNS, wantPhase: probe.PhaseDNS},
		{name: "dns timeout", url: "http://shop.test/", mod: func(c *probe.Check) { c.HTTP.Resolver = silentDNS(t); c.Timeout = 300 * time.Millisecond },
			wantKind: probe.FailureTimeout, wantPhase: probe.PhaseDNS, maxMS: 300 + 200},
		{name: "connect refused", url: "http://" + closedPort(t) + "/",
			wantKind: probe.FailureConnect, wantPhase: probe.PhaseConnect, wantMsg: "refused",
			more: func(t *testing.T, r probe.Result) {
				if r.RemoteIP != "127.0.0.1" {
					t.Errorf("remote_ip %q: want the address dialled", r.RemoteIP)
				}
			}},
		{name: "connect timeout", url: "http://" + fullQueue(t) + "/", mod: func(c *probe.Check) { c.Timeout = 300 * time.Millisecond },
			wantKind: probe.FailureTimeout, wantPhase: probe.PhaseConnect, maxMS: 300 + 200},
		{name: "tls self-signed", url: tlsWith(selfSigned), mod: func(c *probe.Check) { c.HTTP.CAFile = kit.caFile },
			wantKind: probe.FailureTLS, wantPhase: probe.PhaseTLS, wantMsg: "unknown authority", more: presented("self.test", false)},
		{name: "tls expired", url: tlsWith(expired), mod: func(c *probe.Check) { c.HTTP.CAFile = kit.caFile },
			wantKind: probe.FailureTLS, wantPhase: probe.PhaseTLS, wantMsg: "expired", more: presented("old.test", true)},
		{name: "tls wrong host", url: tlsWith(wrongHost), mod: func(c *probe.Check) { c.HTTP.CAFile = kit.caFile },
			wantKind: probe.FailureTLS, wantPhase: probe.PhaseTLS, wantMsg: "127.0.0.1", more: presented("other.test", false)},
		{name: "timeout tls", url: "https://" + silentTCP(t) + "/", mod: func(c *probe.Check) { c.Timeout = 300 * time.Millisecond },
			wantKind: probe.FailureTimeout, wantPhase: probe.PhaseTLS, maxMS: 300 + 200},
		{name: "tls insecure accepts self-signed", url: tlsWith(selfSigned), mod: func(c *probe.Check) { c.HTTP.Insecure = true },
			more: func(t *testing.T, r probe.Result) {
				if r.TLS == nil || r.TLS.CertSubject != "CN=self.test,O=Test Shop" || r.Timings.TLS <= 0 {
					t.Errorf("tls: %+v timings %+v", r.TLS, r.Timings)
				}
			}},
		{name: "mtls ok", url: mtls.URL, mod: func(c *probe.Check) {
			c.HTTP.CAFile, c.HTTP.ClientCert, c.HTTP.ClientKey = kit.caFile, clientCert, clientKey
		}},
		{name: "mtls without client cert", url: mtls.URL, mod: func(c *probe.Check) { c.HTTP.CAFile = kit.caFile },
			wantKind: probe.FailureTLS, wantPhase: probe.PhaseTLS, wantMsg: "server requires a client certificate"},
		{name: "optional client cert, none sent", url: optionalCert.URL, mod: func(c *probe.Check) { c.HTTP.CAFile = kit.caFile }},
		{name: "timeout wait", url: plain.URL + "/hang", mod: func(c *probe.Check) { c.Timeout = 300 * time.Millisecond },
			wantKind: probe.FailureTimeout, wantPhase: probe.PhaseWait, maxMS: 300 + 200},
		{name: "timeout transfer", url: plain.URL + "/stall", mod: func(c *probe.Check) { c.Timeout = 300 * time.Millisecond },
			wantKind: probe.FailureTimeout, wantPhase: probe.PhaseTransfer, maxMS: 300 + 200},
		{name: "status", url: plain.URL + "/503", wantKind: probe.FailureStatus, wantMsg: "status 503, want 200-399"},
		{name: "status list accepts 503", url: plain.URL + "/503", mod: func(c *probe.Check) { c.HTTP.ExpectStatus = probe.StatusRanges{{Lo: 503, Hi: 503}} }},
		{name: "assertion body", url: plain.URL + "/", mod: func(c *probe.Check) { c.HTTP.ExpectBody = []*regexp.Regexp{regexp.MustCompile("checkout")} },
			wantKind: probe.FailureAssertion, wantMsg: "/checkout/"},
		{name: "assertion body passes", url: plain.URL + "/", mod: func(c *probe.Check) {
			c.HTTP.ExpectBody = []*regexp.Regexp{regexp.MustCompile(`add to cart`)}
			c.HTTP.ExpectHeaders = []probe.HeaderExpectation{{Name: "X-Cache", Pattern: regexp.MustCompile("^(HIT|MISS)$")}}
		}},
		{name: "assertion header mismatch", url: plain.URL + "/", mod: func(c *probe.Check) {
			c.HTTP.ExpectHeaders = []probe.HeaderExpectation{{Name: "X-Cache", Pattern: regexp.MustCompile("^HIT$")}}
		}, wantKind: probe.FailureAssertion, wantMsg: `"MISS" does not match`},
		{name: "assertion header missing", url: plain.URL + "/", mod: func(c *probe.Check) {
			c.HTTP.ExpectHeaders = []probe.HeaderExpectation{{Name: "Strict-Transport-Security", Pattern: regexp.MustCompile(".")}}
		}, wantKind: probe.FailureAssertion, wantMsg: "missing"},
		{name: "too slow", url: plain.URL + "/slow", mod: func(c *probe.Check) { c.HTTP.MaxDuration = 20 * time.Millisecond },
			wantKind: probe.FailureTooSlow, wantMsg: "limit 20ms"},
		{name: "redirect loop", url: plain.URL + "/loop/a", wantKind: probe.FailureRedirectLoop, wantMsg: "(1 redirect followed)",
			more: func(t *testing.T, r probe.Result) {
				if r.Redirects != 1 || !strings.HasSuffix(r.FinalURL, "/loop/b") {
					t.Errorf("redirects %d final %s", r.Redirects, r.FinalURL)
				}
			}},
		{name: "redirect to itself", url: plain.URL + "/loop/self", wantKind: probe.FailureRedirectLoop, wantMsg: "(0 redirects followed)",
			more: func(t *testing.T, r probe.Result) {
				if r.Redirects != 0 {
					t.Errorf("redirects %d", r.Redirects)
				}
			}},
		{name: "redirects over max", url: plain.URL + "/chain/0", mod: func(c *probe.Check) { c.HTTP.MaxRedirects = 3 },
			wantKind: probe.FailureRedirectLoop, wantMsg: "more than 3 redirects",
			more: func(t *testing.T, r probe.Result) {
				if r.Redirects != 3 || r.Timings.Redirect <= 0 {
					t.Errorf("redirects %d, redirect time %v", r.Redirects, r.Timings.Redirect)
				}
			}},
		{name: "redirect not followed", url: plain.URL + "/chain/0", mod: func(c *probe.Check) { c.HTTP.FollowRedirects = false },
			more: func(t *testing.T, r probe.Result) {
				if r.StatusCode != 301 || r.Redirects != 0 {
					t.Errorf("status %d redirects %d", r.StatusCode, r.Redirects)
				}
			}},
		{name: "redirect to ftp", url: plain.URL + "/ftp", wantKind: probe.FailureProtocol, wantMsg: `scheme "ftp"`},
		{name: "too large chunked", url: plain.URL + "/big", mod: func(c *probe.Check) { c.HTTP.MaxBodyBytes = 1 << 20 },
			wantKind: probe.FailureTooLarge, wantPhase: probe.PhaseTransfer},
		{name: "too large by content-length", url: "http://" + declaredHuge + "/", wantKind: probe.FailureTooLarge, wantMsg: "Content-Length 20971520"},
		{name: "protocol truncated body", url: "http://" + truncated + "/", wantKind: probe.FailureProtocol, wantPhase: probe.PhaseTransfer},
		{name: "protocol garbage status line", url: "http://" + garbage + "/", wantKind: probe.FailureProtocol, wantMsg: "malformed HTTP status code"},
		{name: "protocol bad chunking", url: "http://" + badChunks + "/", wantKind: probe.FailureProtocol, wantPhase: probe.PhaseTransfer},
		{name: "protocol header flood", url: "http://" + flood + "/", wantKind: probe.FailureProtocol, wantPhase: probe.PhaseWait, wantMsg: "headers exceeded"},
		{name: "protocol head cut short", url: "http://" + headCut + "/", wantKind: probe.FailureProtocol, wantPhase: probe.PhaseWait},
		{name: "protocol reset after request", url: "http://" + resetAfterRequest + "/", wantKind: probe.FailureProtocol, wantPhase: probe.PhaseWait,
			wantMsg: "connection reset by the server during wait"},
		{name: "protocol reset mid-body", url: "http://" + resetMidBody + "/", wantKind: probe.FailureProtocol, wantPhase: probe.PhaseTransfer,
			wantMsg: "connection reset by the server during transfer"},
		{name: "protocol http2 reset", url: h2reset.URL, mod: func(c *probe.Check) { c.HTTP.CAFile = kit.caFile },
			wantKind: probe.FailureProtocol, wantMsg: "stream error",
			more: func(t *testing.T, r probe.Result) {
				if r.HTTPVersion != "HTTP/2.0" {
					t.Errorf("http_version %q", r.HTTPVersion)
				}
			}},
		{name: "cancelled is a probe error", url: plain.URL + "/hang", mod: func(c *probe.Check) { c.Name = "cancel" },
			wantKind: probe.FailureProbeError, maxMS: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCheck(tt.url)
			if tt.mod != nil {
				tt.mod(&c)
			}
			k, err := New(c)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ctx := context.Background()
			if c.Name == "cancel" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(100*time.Millisecond, cancel)
			}
			r := k.Run(ctx)
			checkInvariants(t, r)
			switch {
			case tt.wantKind == "" && !r.OK:
				t.Fatalf("failed: %v", r.Failure)
			case tt.wantKind != "" && (r.Failure == nil || r.Failure.Kind != tt.wantKind):
				t.Fatalf("failure %v, want kind %s", r.Failure, tt.wantKind)
			case tt.wantPhase != "" && r.Failure.Phase != tt.wantPhase:
				t.Fatalf("failure %v, want phase %s (timings %+v)", r.Failure, tt.wantPhase, r.Timings)
			case tt.wantMsg != "" && !strings.Contains(r.Failure.Message, tt.wantMsg):
				t.Fatalf("message %q, want it to contain %q", r.Failure.Message, tt.wantMsg)
			}
			if tt.maxMS > 0 && r.Timings.Total > tt.maxMS {
				t.Errorf("took %.1f ms, want <= %.0f", r.Timings.Total, tt.maxMS)
			}
			if tt.wantKind == probe.FailureTimeout && r.Timings.Total < probe.Millis(c.Timeout)-5 {
				t.Errorf("timed out after %.1f ms, before the %s timeout", r.Timings.Total, c.Timeout)
			}
			if tt.more != nil {
				tt.more(t, r)
			}
		})
	}
}

// notSystemResolver: a DNS failure names the configured resolver, never a
// server from the host's resolv.conf.
func notSystemResolver(t *testing.T, r probe.Result) {
	t.Helper()
	conf, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(conf), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" && strings.Contains(r.Failure.Message, f[1]) {
			t.Errorf("message %q names the system resolver %s", r.Failure.Message, f[1])
		}
	}
}

// TestWaitAccuracy: a server that sleeps 300 ms before its headers reads as
// wait ≈ 300 ms. The lower bound is exact (the sleep lies inside wait); the
// upper one leaves room for -race on two busy cores.
func TestWaitAccuracy(t *testing.T) {
	const sleep = 300 * time.Millisecond
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(sleep)
		io.WriteString(w, "done")
	}))
	kit := newCertKit(t, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	tsrv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}}, srv.Config.Handler, true)
	for _, tc := range []struct{ name, url, ca string }{{"http", srv.URL, ""}, {"https h2", tsrv.URL, kit.caFile}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheck(tc.url)
			c.HTTP.CAFile = tc.ca
			r := run(t, c)
			checkInvariants(t, r)
			if !r.OK {
				t.Fatal(r.Failure)
			}
			if w := r.Timings.Wait; w < 300 || w > 300+150 {
				t.Errorf("wait = %.3f ms, want 300..450", w)
			}
			if tc.ca != "" && (r.Timings.TLS <= 0 || r.HTTPVersion != "HTTP/2.0") {
				t.Errorf("tls %.3f ms, version %s", r.Timings.TLS, r.HTTPVersion)
			}
		})
	}
}

// TestRedirectTiming: the time of earlier hops is redirect, the final hop's
// phases account for the rest.
func TestRedirectTiming(t *testing.T) {
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			time.Sleep(100 * time.Millisecond)
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		case "/new":
			time.Sleep(50 * time.Millisecond)
			io.WriteString(w, "new")
		}
	}))
	r := run(t, newCheck(srv.URL+"/old"))
	checkInvariants(t, r)
	if !r.OK || r.Redirects != 1 || !strings.HasSuffix(r.FinalURL, "/new") || !strings.HasSuffix(r.URL, "/old") {
		t.Fatalf("result %+v %+v", r, r.Failure)
	}
	if rd := r.Timings.Redirect; rd < 100 || rd > 100+150 {
		t.Errorf("redirect = %.3f ms, want 100..250", rd)
	}
	if w := r.Timings.Wait; w < 50 || w > 50+150 {
		t.Errorf("wait = %.3f ms, want 50..200", w)
	}
}

func TestTLSInfo(t *testing.T) {
	caExpiry := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
	kit := newCertKit(t, caExpiry)
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notAfter: time.Now().Add(60 * 24 * time.Hour)})
	srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), true)
	c := newCheck(srv.URL)
	c.HTTP.CAFile = kit.caFile
	now := time.Now()
	r := run(t, c, WithClock(func() time.Time { return now }))
	if !r.OK || r.TLS == nil {
		t.Fatalf("%v %+v", r.Failure, r.TLS)
	}
	// The CA expires first: that is the chain's expiry.
	if !r.TLS.CertNotAfter.Equal(caExpiry) || math.Abs(r.TLS.CertDaysLeft-caExpiry.Sub(now).Hours()/24) > 0.01 {
		t.Errorf("not_after %v days_left %v, want %v", r.TLS.CertNotAfter, r.TLS.CertDaysLeft, caExpiry)
	}
	if r.TLS.Version != "TLS 1.3" || r.TLS.Cipher == "" || r.TLS.CertIssuer != "CN=storeprobe test CA" || r.StartedAt != now.UTC() {
		t.Errorf("tls %+v started %v", r.TLS, r.StartedAt)
	}
}

func TestProxy(t *testing.T) {
	const auth = "Basic " + "cHJveHl1c2VyOnByb3h5cGFzc3dk" // proxyuser:proxypasswd
	kit := newCertKit(t, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	sawProxyAuth := make(chan string, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawProxyAuth <- r.Header.Get("Proxy-Authorization")
		io.WriteString(w, "via proxy")
	})
	target := httpServer(t, h)
	tlsTarget := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}}, h, true)
	for _, tc := range []struct {
		name, url string
		tlsProxy  bool
	}{{"forward", target.URL, false}, {"connect", tlsTarget.URL, false}, {"connect via https proxy", tlsTarget.URL, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var pcert *tls.Certificate
			if tc.tlsProxy {
				pcert = &cert
			}
			p := newProxy(t, auth, pcert)
			c := newCheck(tc.url)
			c.HTTP.CAFile = kit.caFile
			c.HTTP.Proxy = strings.Replace(p.URL, "://", "://proxyuser:proxypasswd@", 1)
			r := run(t, c)
			checkInvariants(t, r)
			if !r.OK {
				t.Fatal(r.Failure)
			}
			if p.requests.Load()+p.connects.Load() != 1 {
				t.Errorf("proxy saw %d requests, %d CONNECTs", p.requests.Load(), p.connects.Load())
			}
			// The proxy can allow-list the probe by its User-Agent, on the
			// CONNECT too.
			if ua, pa := p.last(); ua != probe.UserAgent("dev") || len(pa) != 1 || pa[0] != auth {
				t.Errorf("proxy saw User-Agent %q, Proxy-Authorization %q", ua, pa)
			}
			if got := <-sawProxyAuth; got != "" {
				t.Errorf("target saw Proxy-Authorization %q", got)
			}
			if r.RemoteIP != "127.0.0.1" || r.Bytes != 9 {
				t.Errorf("remote %s bytes %d", r.RemoteIP, r.Bytes)
			}
			// The target's handshake is tls; the proxy's belongs to connect.
			if tlsTarget := strings.HasPrefix(tc.url, "https"); (r.Timings.TLS > 0) != tlsTarget || tlsTarget && r.TLS == nil {
				t.Errorf("tls timing %.3f, info %+v", r.Timings.TLS, r.TLS)
			}
			out, _ := json.Marshal(r)
			if bytes.Contains(out, []byte("proxypasswd")) {
				t.Errorf("proxy password in output: %s", out)
			}
		})
	}
	// An explicit Proxy-Authorization wins over the proxy URL's userinfo:
	// exactly one header reaches the proxy.
	for _, tc := range []struct{ name, url string }{{"explicit header, forward", target.URL}, {"explicit header, connect", tlsTarget.URL}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t, auth, nil)
			c := newCheck(tc.url)
			c.HTTP.CAFile = kit.caFile
			c.HTTP.Proxy = strings.Replace(p.URL, "://", "://someone:elsespw@", 1)
			c.HTTP.Headers = []probe.Header{{Name: "Proxy-Authorization", Value: auth}}
			if r := run(t, c); !r.OK {
				t.Fatal(r.Failure)
			}
			<-sawProxyAuth
			if _, pa := p.last(); len(pa) != 1 || pa[0] != auth {
				t.Errorf("proxy saw Proxy-Authorization %q, want just the explicit one", pa)
			}
		})
	}
	t.Run("proxy down", func(t *testing.T) {
		c := newCheck(target.URL)
		c.HTTP.Proxy = "http://" + closedPort(t)
		r := run(t, c)
		if r.Failure == nil || r.Failure.Kind != probe.FailureConnect {
			t.Fatalf("failure %v", r.Failure)
		}
	})
}

// TestSecretsNeverLeak sends every kind of secret to a server that echoes
// them back, and makes the check fail on the echo: neither the result, its
// failure message nor the debug log may hold any of them.
func TestSecretsNeverLeak(t *testing.T) {
	secrets := []string{"bearer-t0ken-value", "c00kie-session-val", "sh0p-partner-key", "us3rpassw0rd", "qu3ry-t0ken-val"}
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		echo := strings.Join([]string{r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("X-Partner"), u, p, r.URL.RawQuery}, " ")
		w.Header().Set("X-Echo", echo)
		// A hostile edge echoing them into what storeprobe keeps of its
		// headers: the CDN's raw values and the security findings.
		w.Header().Set("X-Cache", "Hit from cloudfront "+echo)
		w.Header().Set("X-Amz-Cf-Pop", "FRA56-"+echo)
		w.Header().Set("X-Powered-By", echo)
		w.WriteHeader(http.StatusFound)
		w.Header().Set("Location", "/next?access_token=qu3ry-t0ken-val")
		fmt.Fprintf(w, "echo: %s", echo)
	}))
	var logs bytes.Buffer
	c := newCheck(strings.Replace(srv.URL, "http://", "http://shopuser:us3rpassw0rd@", 1) + "/?access_token=qu3ry-t0ken-val&page=1")
	c.HTTP.FollowRedirects = false
	c.HTTP.Headers = []probe.Header{{Name: "Authorization", Value: "Bearer bearer-t0ken-value"}, {Name: "Cookie", Value: "sid=c00kie-session-val"}, {Name: "X-Partner", Value: "sh0p-partner-key"}}
	c.HTTP.SecretHeaders = []string{"X-Partner"}
	c.HTTP.ExpectHeaders = []probe.HeaderExpectation{{Name: "X-Echo", Pattern: regexp.MustCompile("^nothing$")}}
	c.HTTP.Security, c.HTTP.Warmup = true, 1
	c.HTTP.OriginURL = srv.URL + "/origin?access_token=qu3ry-t0ken-val"
	r := run(t, c, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if r.CDN == nil || r.CDN.Provider != "cloudfront" || r.Security == nil || r.Origin == nil {
		t.Fatalf("cdn %+v security %+v origin %+v", r.CDN, r.Security, r.Origin)
	}
	if r.Failure == nil || r.Failure.Kind != probe.FailureAssertion {
		t.Fatalf("failure %v", r.Failure)
	}
	out, _ := json.Marshal(r)
	for _, s := range secrets {
		for what, text := range map[string]string{"result": string(out), "log": logs.String()} {
			if strings.Contains(text, s) {
				t.Errorf("%s leaks %q: %s", what, s, text)
			}
		}
	}
	if !strings.Contains(r.URL, "page=1") || !strings.Contains(logs.String(), "http check") {
		t.Errorf("over-redacted: url %s, log %s", r.URL, logs.String())
	}
	// The server did get the credentials: redaction is of output only.
	if !strings.Contains(r.Failure.Message, probe.Redacted) {
		t.Errorf("message %q", r.Failure.Message)
	}
}

// TestRedirectDropsCredentialsAcrossHosts: a redirect to another host must
// not carry Authorization there.
func TestRedirectDropsCredentialsAcrossHosts(t *testing.T) {
	got := make(chan string, 1)
	other := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization") + "|" + r.Header.Get("Accept")
	}))
	// Same IP, different host name: localhost vs 127.0.0.1.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	first := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/", http.StatusFound)
	}))
	c := newCheck(first.URL)
	c.HTTP.IPVersion = 4
	c.HTTP.Headers = []probe.Header{{Name: "Authorization", Value: "Bearer abcdefgh"}}
	r := run(t, c)
	if !r.OK {
		t.Skipf("localhost did not resolve to 127.0.0.1 here: %v", r.Failure)
	}
	if h := <-got; h != "|*/*" {
		t.Errorf("other host got %q", h)
	}
}

func TestNewValidation(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		mod    func(c *probe.Check)
		fields []string
	}{
		{"ok", func(c *probe.Check) {}, nil},
		{"bad scheme", func(c *probe.Check) { c.URL = "ftp://shop.test/" }, []string{"url"}},
		{"no host", func(c *probe.Check) { c.URL = "http:///x" }, []string{"url"}},
		{"unparseable url keeps password out", func(c *probe.Check) { c.URL = "http://u:hunter2pw@shop.test/%zz" }, []string{"url"}},
		{"empty url", func(c *probe.Check) { c.URL = "" }, []string{"url"}},
		{"bad method", func(c *probe.Check) { c.HTTP.Method = "GE T" }, []string{"method"}},
		{"ca file missing", func(c *probe.Check) { c.HTTP.CAFile = dir + "/nope.pem" }, []string{"ca_file"}},
		{"ca file not pem", func(c *probe.Check) { c.HTTP.CAFile = writePEM(t, "x", "NOTHING", nil) + "x" }, []string{"ca_file"}},
		{"cert without key", func(c *probe.Check) { c.HTTP.ClientCert = "a.pem" }, []string{"client_key"}},
		{"key without cert", func(c *probe.Check) { c.HTTP.ClientKey = "a.key" }, []string{"client_cert"}},
		{"bad key pair", func(c *probe.Check) { c.HTTP.ClientCert, c.HTTP.ClientKey = dir+"/a", dir+"/b" }, []string{"client_cert"}},
		{"bad proxy", func(c *probe.Check) { c.HTTP.Proxy = "socks9://p:1" }, []string{"proxy"}},
		{"resolver name", func(c *probe.Check) { c.HTTP.Resolver = "dns.test:53" }, []string{"resolver"}},
		{"resolver junk", func(c *probe.Check) { c.HTTP.Resolver = "127.0.0.1:x" }, []string{"resolver"}},
		{"resolver bare ip ok", func(c *probe.Check) { c.HTTP.Resolver = "::1" }, nil},
		{"ip version", func(c *probe.Check) { c.HTTP.IPVersion = 5 }, []string{"ip_version"}},
		{"header value with a CTL", func(c *probe.Check) { c.HTTP.Headers = []probe.Header{{Name: "X-Token", Value: "ab\x01cd"}} }, []string{"headers"}},
		{"header value with DEL", func(c *probe.Check) { c.HTTP.Headers = []probe.Header{{Name: "X-Token", Value: "ab\x7fcd"}} }, []string{"headers"}},
		{"header value with a tab ok", func(c *probe.Check) { c.HTTP.Headers = []probe.Header{{Name: "X-Token", Value: "a\tb"}} }, nil},
		{"port out of range", func(c *probe.Check) { c.URL = "http://shop.test:99999/" }, []string{"url"}},
		{"port zero", func(c *probe.Check) { c.URL = "http://shop.test:0/" }, []string{"url"}},
		{"bad Host header", func(c *probe.Check) { c.HTTP.Headers = []probe.Header{{Name: "Host", Value: "shop test"}} }, []string{"headers"}},
		{"several at once", func(c *probe.Check) { c.URL = "gopher://x"; c.Timeout = -1; c.HTTP.MaxBodyBytes = -1 }, []string{"url", "timeout", "max_body"}},
		{"warm-up over the cap", func(c *probe.Check) { c.HTTP.Warmup = probe.MaxWarmup + 1 }, []string{"warmup"}},
		{"warm-up at the cap", func(c *probe.Check) { c.HTTP.Warmup = probe.MaxWarmup }, nil},
		{"unknown cache status", func(c *probe.Check) { c.HTTP.ExpectCache = []probe.CacheStatus{"warm"} }, []string{"expect.cache"}},
		{"origin not a URL", func(c *probe.Check) { c.HTTP.OriginURL = "origin.shop.test" }, []string{"origin_url"}},
		{"origin with credentials", func(c *probe.Check) { c.HTTP.OriginURL = "https://u:hunter2pw@origin.shop.test/" }, []string{"origin_url"}},
		{"origin port", func(c *probe.Check) { c.HTTP.OriginURL = "https://origin.shop.test:0/" }, []string{"origin_url"}},
		{"origin ok", func(c *probe.Check) { c.HTTP.OriginURL = "https://origin.shop.test/" }, nil},
		{"bad severity", func(c *probe.Check) { c.HTTP.SecurityFailOn = "critical" }, []string{"security.fail_on"}},
		{"bad tls version", func(c *probe.Check) { c.HTTP.MinTLS = 0x0305 }, []string{"tls.min_version"}},
		{"negative cert days", func(c *probe.Check) { c.HTTP.CertMinDays = -1 }, []string{"tls.cert_min_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck("https://shop.test/")
			tt.mod(&c)
			_, err := New(c)
			var fields []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *probe.FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("not a probe.FieldError: %v", e)
					}
					fields = append(fields, fe.Field)
				}
				if strings.Contains(err.Error(), "hunter2pw") {
					t.Errorf("error leaks the password: %v", err)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("fields %v (%v), want %v", fields, err, tt.fields)
			}
		})
	}
}

func TestUserAgentAndMethod(t *testing.T) {
	type seen struct{ ua, method, body, host string }
	got := make(chan seen, 2)
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.UserAgent(), r.Method, string(b), r.Host}
	}))
	c := newCheck(srv.URL)
	c.HTTP.Method = "post"
	c.HTTP.Body = `{"sku":"42"}`
	c.HTTP.Headers = []probe.Header{{Name: "Host", Value: "shop.test"}}
	if r := run(t, c, WithVersion("1.2.3")); !r.OK {
		t.Fatal(r.Failure)
	}
	want := seen{"storeprobe/1.2.3 (+synthetic monitoring)", "POST", `{"sku":"42"}`, "shop.test"}
	if s := <-got; s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}
	c.HTTP.UserAgent = "custom/1"
	run(t, c)
	if s := <-got; s.ua != "custom/1" {
		t.Errorf("ua %q", s.ua)
	}
}

// TestGzipBytes: bytes counts the decoded body, wire_bytes what crossed
// the wire.
func TestGzipBytes(t *testing.T) {
	body := strings.Repeat("product ", 4096) // 32 KiB, compresses well
	srv := httptest.NewServer(gzipHandler(body))
	defer srv.Close()
	r := run(t, newCheck(srv.URL))
	if !r.OK || r.Bytes != int64(len(body)) || r.WireBytes >= r.Bytes/4 {
		t.Fatalf("ok=%v bytes=%d wire=%d", r.OK, r.Bytes, r.WireBytes)
	}
}

// TestIPv6 resolves an AAAA record through the test resolver and connects
// over [::1], and refuses it when IPv4 is demanded.
func TestIPv6(t *testing.T) {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	dnsAddr, _ := dnsServer(t, map[string][]net.IP{"v6.test.": {net.IPv6loopback}})
	url := fmt.Sprintf("http://v6.test:%d/", l.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		version int
		kind    probe.FailureKind
	}{{0, ""}, {6, ""}, {4, probe.FailureDNS}} {
		c := newCheck(url)
		c.HTTP.Resolver, c.HTTP.IPVersion = dnsAddr, tc.version
		r := run(t, c)
		checkInvariants(t, r)
		switch {
		case tc.kind == "" && (!r.OK || r.RemoteIP != "::1"):
			t.Errorf("ip-version %d: %v remote %q", tc.version, r.Failure, r.RemoteIP)
		case tc.kind != "" && (r.Failure == nil || r.Failure.Kind != tc.kind):
			t.Errorf("ip-version %d: failure %v, want %s", tc.version, r.Failure, tc.kind)
		}
	}
}

// TestFreshConnectionPerRun: keep-alive is off, so every run pays (and
// measures) its own connection.
func TestFreshConnectionPerRun(t *testing.T) {
	var mu sync.Mutex
	newConns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			newConns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	k, err := New(newCheck(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	const runs = 3
	for range runs {
		if r := k.Run(context.Background()); !r.OK || r.Timings.Connect <= 0 {
			t.Fatalf("%v connect %v", r.Failure, r.Timings.Connect)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if newConns != runs {
		t.Errorf("%d connections for %d runs", newConns, runs)
	}
}

// TestMTLSRefusalIsDeterministic: a server refusing a missing client
// certificate is one failure, however the refusal reaches the client
// (alert, reset, broken pipe, HTTP/2 setup error: timing decides). N runs
// over HTTP/1.1 and HTTP/2 must all say the same.
func TestMTLSRefusalIsDeterministic(t *testing.T) {
	const n = 20
	kit := newCertKit(t, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	pool := x509.NewCertPool()
	pool.AddCert(kit.ca)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}, ok, h2)
			c := newCheck(srv.URL)
			c.HTTP.CAFile = kit.caFile
			k, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for range n {
				r := k.Run(context.Background())
				checkInvariants(t, r)
				key := "ok"
				if r.Failure != nil {
					key = fmt.Sprintf("%s/%s: %s", r.Failure.Kind, r.Failure.Phase, r.Failure.Message)
				}
				seen[key]++
			}
			want := "tls/tls: server requires a client certificate and none is configured (client_cert)"
			if len(seen) != 1 || seen[want] != n {
				t.Errorf("%d runs gave %v, want all %q", n, seen, want)
			}
		})
	}
}

// TestURLUserinfo: credentials in the URL are sent as Basic auth (unless an
// explicit Authorization header is given), never on the wire as userinfo,
// never in any output, and not to another host after a redirect.
func TestURLUserinfo(t *testing.T) {
	type seen struct{ host, auth string }
	got := make(chan seen, 4)
	record := func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Get("Authorization")}
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
	}
	other := httpServer(t, http.HandlerFunc(record))
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			record(w, r)
			http.Redirect(w, r, "/", http.StatusFound)
		case "/cross":
			record(w, r)
			http.Redirect(w, r, otherURL+"/", http.StatusFound)
		default:
			record(w, r)
		}
	}))
	const user, pass = "alice", "S3cretPW-77"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	withCreds := strings.Replace(srv.URL, "://", "://"+user+":"+pass+"@", 1)
	tests := []struct {
		name, path string
		header     []probe.Header
		want       []string // Authorization each hop saw
	}{
		{name: "basic from userinfo", path: "/", want: []string{basic}},
		{name: "explicit header wins", path: "/", header: []probe.Header{{Name: "Authorization", Value: "Bearer tok-explicit-1"}}, want: []string{"Bearer tok-explicit-1"}},
		{name: "kept on same-host redirect", path: "/same", want: []string{basic, basic}},
		{name: "dropped on cross-host redirect", path: "/cross", want: []string{basic, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(withCreds + tt.path)
			c.HTTP.IPVersion = 4 // localhost must be 127.0.0.1, like the server
			c.HTTP.Headers = tt.header
			// Fail on the echo, so the credential would land in the message.
			c.HTTP.ExpectHeaders = []probe.HeaderExpectation{{Name: "X-Echo", Pattern: regexp.MustCompile("^never$")}}
			var logs bytes.Buffer
			r := run(t, c, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			checkInvariants(t, r)
			if r.Failure == nil || r.Failure.Kind != probe.FailureAssertion {
				t.Fatalf("failure %v", r.Failure)
			}
			for i, w := range tt.want {
				s := <-got
				if s.auth != w {
					t.Errorf("hop %d (%s) saw Authorization %q, want %q", i, s.host, s.auth, w)
				}
			}
			out, _ := json.Marshal(r)
			for _, secret := range []string{pass, strings.TrimPrefix(basic, "Basic "), "tok-explicit-1"} {
				if strings.Contains(string(out), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("%q leaks: %s\n%s", secret, out, logs.String())
				}
			}
			if !strings.Contains(r.URL, probe.Redacted+"@") {
				t.Errorf("url %q", r.URL)
			}
		})
	}
}

// TestHostOverrideStaysOnHost: a Host header names the original host; a
// redirect elsewhere gets that host's own name.
func TestHostOverrideStaysOnHost(t *testing.T) {
	got := make(chan string, 4)
	other := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Host }))
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Host
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/", http.StatusFound)
		case "/cross":
			http.Redirect(w, r, otherURL+"/", http.StatusFound)
		}
	}))
	otherHost := strings.TrimPrefix(otherURL, "http://")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/same", []string{"shop.example", "shop.example"}},
		{"/cross", []string{"shop.example", otherHost}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			c := newCheck(srv.URL + tc.path)
			c.HTTP.IPVersion = 4
			c.HTTP.Headers = []probe.Header{{Name: "Host", Value: "shop.example"}}
			if r := run(t, c); !r.OK || r.Redirects != 1 {
				t.Fatalf("%v, %d redirects", r.Failure, r.Redirects)
			}
			for i, w := range tc.want {
				if h := <-got; h != w {
					t.Errorf("hop %d sent Host %q, want %q", i, h, w)
				}
			}
		})
	}
}

// TestClassifyConnectPhase: in the connect phase only a network error is
// the target's; an error net/http raises before dialling is ours.
func TestClassifyConnectPhase(t *testing.T) {
	k, err := New(newCheck("http://127.0.0.1:1/"))
	if err != nil {
		t.Fatal(err)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name      string
		connected bool
		err       error
		want      probe.FailureKind
	}{
		{"request refused by net/http", false, errors.New(`net/http: invalid header field value for "X-Token"`), probe.FailureProbeError},
		{"dial error", false, refused, probe.FailureConnect},
		{"bare errno", false, syscall.ENETUNREACH, probe.FailureConnect},
		{"proxy refused the tunnel", true, errors.New("Bad Gateway"), probe.FailureConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			h := &hop{start: now, dnsDone: now}
			if tt.connected {
				h.connDone, h.tls = now, true
			}
			if f := k.classify(context.Background(), h, tt.err); f.Kind != tt.want || f.Phase != probe.PhaseConnect {
				t.Errorf("classify(%v) = %v, want %s/connect", tt.err, f, tt.want)
			}
		})
	}
}

// TestDNSErrorServer: the Go resolver names the resolv.conf server even
// when every query went to the configured one; the error must name the
// configured resolver, and without one must not reveal the host's own.
func TestDNSErrorServer(t *testing.T) {
	sys := &net.DNSError{Err: "read udp 10.0.0.9:40000->10.255.255.53:53: i/o timeout", Name: "nx.test", Server: "10.255.255.53:53"}
	tests := []struct {
		resolver, want string
	}{
		{"127.0.0.1:5353", "lookup nx.test on 127.0.0.1:5353: read udp 10.0.0.9:40000->10.255.255.53:53: i/o timeout"},
		{"", "lookup nx.test on the system resolver: read udp 10.0.0.9:40000->the system resolver: i/o timeout"},
	}
	for _, tt := range tests {
		c := newCheck("http://nx.test/")
		c.HTTP.Resolver = tt.resolver
		k, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		var de *net.DNSError
		got := k.dnsError(fmt.Errorf("wrapped: %w", sys))
		if !errors.As(got, &de) || got.Error() != tt.want {
			t.Errorf("resolver %q: %v, want %q", tt.resolver, got, tt.want)
		}
	}
}
