package httpcheck

// Tests of the hardening fixes: decoding whatever asked for it, a cookie jar
// per check, HEAD against the body cap, internationalised hosts, ports out
// of range, the negative assertions and require-TLS.

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/storeprobe/storeprobe/probe"
)

// shopPage is a body whose decoded form the assertions look for.
var shopPage = strings.Repeat("<p>product listing</p>\n", 400) + `<button>Add to cart</button><script src="https://js.stripe.com/v3"></script>`

// encode compresses body with one content coding.
func encode(t testing.TB, coding string, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate": // RFC 9110: zlib-wrapped
		w = zlib.NewWriter(&b)
	case "raw-deflate": // what some servers send as deflate
		fw, err := flate.NewWriter(&b, flate.BestSpeed)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	case "br":
		w = brotli.NewWriterLevel(&b, brotli.BestSpeed)
	default:
		t.Fatalf("coding %q", coding)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encodedServer serves shopPage at /CODING in that coding, whatever the
// request asked for, and records the Accept-Encoding it was sent.
func encodedServer(t testing.TB) (string, func() string) {
	t.Helper()
	encoded := map[string][]byte{}
	for _, c := range []string{"gzip", "deflate", "raw-deflate", "br"} {
		encoded[c] = encode(t, c, []byte(shopPage))
	}
	var mu sync.Mutex
	var accept string
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accept = r.Header.Get("Accept-Encoding")
		mu.Unlock()
		coding := strings.TrimPrefix(r.URL.Path, "/")
		b, ok := encoded[coding]
		if !ok {
			io.WriteString(w, shopPage)
			return
		}
		w.Header().Set("Content-Encoding", strings.TrimPrefix(coding, "raw-"))
		w.Write(b)
	}))
	return srv.URL, func() string { mu.Lock(); defer mu.Unlock(); return accept }
}

// TestDecodesWhateverAskedFor: every assertion, bytes and platform
// detection run on the decoded body, whether storeprobe or the user's own
// Accept-Encoding asked for the coding.
func TestDecodesWhateverAskedFor(t *testing.T) {
	base, accepted := encodedServer(t)
	for _, userAE := range []string{"", "gzip, deflate, br"} {
		for _, coding := range []string{"gzip", "deflate", "raw-deflate", "br", "identity"} {
			t.Run(fmt.Sprintf("%s/asked=%q", coding, userAE), func(t *testing.T) {
				c := newCheck(base + "/" + coding)
				if userAE != "" {
					c.HTTP.Headers = []probe.Header{{Name: "Accept-Encoding", Value: userAE}}
				}
				c.HTTP.ExpectBody = []*regexp.Regexp{regexp.MustCompile(`Add to cart`)}
				c.HTTP.ExpectBodyNot = []*regexp.Regexp{regexp.MustCompile(`\x00`)}
				r := run(t, c)
				checkInvariants(t, r)
				if !r.OK {
					t.Fatalf("failure %v", r.Failure)
				}
				if r.Bytes != int64(len(shopPage)) {
					t.Errorf("bytes %d, want the decoded %d", r.Bytes, len(shopPage))
				}
				if !strings.Contains(strings.Join(r.PaymentGateways, ","), "stripe") {
					t.Errorf("payment gateways %v: detection did not see the decoded body", r.PaymentGateways)
				}
				if want := "gzip, deflate, br"; accepted() != want {
					t.Errorf("sent Accept-Encoding %q, want %q", accepted(), want)
				}
			})
		}
	}
}

// bombs are bodies that decode to far more than they weigh: 1 GiB of
// zeros. gzip's is one member repeated (concatenated members decode as one
// stream), so it costs nothing to build; brotli's is 64 MiB, enough to
// cross any cap a test sets.
type bombs struct {
	gzipMember  []byte
	gzipMembers int
	br          []byte
}

func makeBombs(t testing.TB) bombs {
	t.Helper()
	zeros := make([]byte, 1<<20)
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(zeros)
	zw.Close()
	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestSpeed)
	for range 64 {
		bw.Write(zeros)
	}
	bw.Close()
	return bombs{gzipMember: b.Bytes(), gzipMembers: 1024, br: br.Bytes()}
}

// bombServer serves /gzip and /br bombs, whatever the request asked for.
func bombServer(t testing.TB, bm bombs) string {
	t.Helper()
	return httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			for range bm.gzipMembers {
				if _, err := w.Write(bm.gzipMember); err != nil {
					return
				}
			}
		case "/br":
			w.Header().Set("Content-Encoding", "br")
			w.Write(bm.br)
		}
	})).URL
}

// TestDecompressionBombTooLarge: the body cap bounds the decoded size,
// asked for by storeprobe or by the user.
func TestDecompressionBombTooLarge(t *testing.T) {
	base := bombServer(t, makeBombs(t))
	for _, path := range []string{"/gzip", "/br"} {
		for _, userAE := range []string{"", "gzip, deflate, br"} {
			t.Run(fmt.Sprintf("%s/asked=%q", path, userAE), func(t *testing.T) {
				c := newCheck(base + path)
				c.HTTP.MaxBodyBytes = 4 << 20
				if userAE != "" {
					c.HTTP.Headers = []probe.Header{{Name: "Accept-Encoding", Value: userAE}}
				}
				r := run(t, c)
				checkInvariants(t, r)
				if r.Failure == nil || r.Failure.Kind != probe.FailureTooLarge || r.Failure.Phase != probe.PhaseTransfer {
					t.Fatalf("failure %v, want too_large in transfer", r.Failure)
				}
				if r.Bytes != 4<<20 {
					t.Errorf("bytes %d, want the cap", r.Bytes)
				}
			})
		}
	}
}

// TestBadEncodingIsProtocol: a body that does not decode as its declared
// coding, or a coding nobody can decode, is the server speaking HTTP badly.
func TestBadEncodingIsProtocol(t *testing.T) {
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/corrupt":
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, "this is not gzip at all")
		case "/zstd":
			w.Header().Set("Content-Encoding", "zstd")
			io.WriteString(w, "(\xb5/\xfd...")
		case "/empty":
			w.Header().Set("Content-Encoding", "gzip")
		}
	}))
	for _, tc := range []struct{ path, kind, msg string }{
		{"/corrupt", "protocol", "gzip"},
		{"/zstd", "protocol", `"zstd"`},
		{"/empty", "", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := run(t, newCheck(srv.URL+tc.path))
			checkInvariants(t, r)
			switch {
			case tc.kind == "" && !r.OK:
				t.Fatalf("failure %v", r.Failure)
			case tc.kind != "" && (r.Failure == nil || string(r.Failure.Kind) != tc.kind || !strings.Contains(r.Failure.Message, tc.msg)):
				t.Fatalf("failure %v, want %s mentioning %s", r.Failure, tc.kind, tc.msg)
			}
		})
	}
}

// TestCookiesAcrossHops: a cookie set on a redirect hop goes with the next
// hop of the same check (a session or consent bounce), and never into the
// next run.
func TestCookiesAcrossHops(t *testing.T) {
	var mu sync.Mutex
	var firstCookies []string // the Cookie header of each run's first request
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login": // a session bounce: the account page needs the cookie
			mu.Lock()
			firstCookies = append(firstCookies, r.Header.Get("Cookie"))
			mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/", HttpOnly: true})
			http.Redirect(w, r, "/account", http.StatusFound)
		case "/account":
			if c, err := r.Cookie("session"); err != nil || c.Value != "s1" {
				http.Error(w, "log in first", http.StatusForbidden)
				return
			}
			if c, err := r.Cookie("pref"); err != nil || c.Value != "eu" {
				http.Error(w, "user's own cookie lost", http.StatusBadRequest)
				return
			}
			io.WriteString(w, "your orders")
		case "/": // a consent bounce: without the cookie, set it and come back
			if _, err := r.Cookie("consent"); err != nil {
				http.SetCookie(w, &http.Cookie{Name: "consent", Value: "yes"})
				http.Redirect(w, r, "/", http.StatusFound)
				return
			}
			io.WriteString(w, "storefront")
		}
	}))
	t.Run("session", func(t *testing.T) {
		c := newCheck(srv.URL + "/login")
		c.HTTP.Headers = []probe.Header{{Name: "Cookie", Value: "pref=eu"}}
		k, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			r := k.Run(context.Background())
			checkInvariants(t, r)
			if !r.OK || r.Redirects != 1 {
				t.Fatalf("failure %v, %d redirects", r.Failure, r.Redirects)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i, got := range firstCookies {
			if got != "pref=eu" {
				t.Errorf("run %d started with Cookie %q: the jar outlived its run", i+1, got)
			}
		}
	})
	t.Run("consent", func(t *testing.T) {
		r := run(t, newCheck(srv.URL+"/"))
		checkInvariants(t, r)
		if !r.OK || r.Redirects != 1 {
			t.Fatalf("failure %v, %d redirects", r.Failure, r.Redirects)
		}
	})
}

// TestHeadIgnoresBodyCap: a HEAD response's Content-Length describes a
// body that is never sent, so it cannot be over the cap.
func TestHeadIgnoresBodyCap(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 20971520\r\nContent-Type: video/mp4\r\n\r\n")
	})
	c := newCheck("http://" + addr + "/big.mp4")
	c.HTTP.Method = http.MethodHead
	c.HTTP.ExpectHeaders = []probe.HeaderExpectation{{Name: "Content-Type", Pattern: regexp.MustCompile("^video/")}}
	r := run(t, c)
	checkInvariants(t, r)
	if !r.OK || r.Bytes != 0 {
		t.Fatalf("failure %v, bytes %d", r.Failure, r.Bytes)
	}
}

// TestIDNHost: an internationalised host is resolved as its punycode and
// reported in its Unicode form.
func TestIDNHost(t *testing.T) {
	hosts := make(chan string, 2)
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts <- r.Host
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/bücher", http.StatusFound)
			return
		}
		io.WriteString(w, "Bücher")
	}))
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	dnsAddr, queries := dnsServer(t, map[string][]net.IP{"xn--bcher-kva.example.": {net.IPv4(127, 0, 0, 1)}})
	c := newCheck(fmt.Sprintf("http://bücher.example:%d/", port))
	c.HTTP.Resolver = dnsAddr
	r := run(t, c)
	checkInvariants(t, r)
	if !r.OK {
		t.Fatalf("failure %v", r.Failure)
	}
	if queries.Load() == 0 {
		t.Error("the resolver was not asked")
	}
	if want := fmt.Sprintf("xn--bcher-kva.example:%d", port); <-hosts != want {
		t.Errorf("Host header: want %s", want)
	}
	if want := fmt.Sprintf("http://bücher.example:%d/b%%C3%%BCcher", port); !strings.EqualFold(r.FinalURL, want) || !strings.Contains(r.URL, "bücher.example") {
		t.Errorf("url %q final_url %q, want the Unicode host (%s)", r.URL, r.FinalURL, want)
	}

	c = newCheck("http://bücher.example/") // not resolvable: the Unicode name is named
	c.HTTP.Resolver = dnsAddr
	c.HTTP.Headers = nil
	dnsAddr2, _ := dnsServer(t, nil)
	c.HTTP.Resolver = dnsAddr2
	r = run(t, c)
	if r.Failure == nil || r.Failure.Kind != probe.FailureDNS || !strings.Contains(r.Failure.Message, "bücher.example") {
		t.Fatalf("failure %v, want dns naming bücher.example", r.Failure)
	}
}

// TestNegativeAssertionsAndRequireTLS: body_not and headers_not fail on a
// match; require-TLS fails a final hop over plain http.
func TestNegativeAssertionsAndRequireTLS(t *testing.T) {
	kit := newCertKit(t, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	plain := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP/5.6.40")
		w.Header().Add("Set-Cookie", "a=1")
		io.WriteString(w, "<h1>Something went wrong</h1> Error 1020")
	}))
	secure := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/downgrade" {
			http.Redirect(w, r, plain.URL+"/", http.StatusFound)
			return
		}
		io.WriteString(w, "shop")
	}), false)
	upgrade := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, secure.URL+"/", http.StatusMovedPermanently)
	}))
	re := regexp.MustCompile
	tests := []struct {
		name string
		url  string
		mod  func(s *probe.HTTPSpec)
		msg  string // "" passes
	}{
		{"body_not matches", plain.URL, func(s *probe.HTTPSpec) { s.ExpectBodyNot = []*regexp.Regexp{re(`(?i)went wrong`)} }, "body (40 bytes) matches /(?i)went wrong/ at byte 14"},
		{"body_not does not match", plain.URL, func(s *probe.HTTPSpec) { s.ExpectBodyNot = []*regexp.Regexp{re(`Traceback`)} }, ""},
		{"headers_not matches", plain.URL, func(s *probe.HTTPSpec) {
			s.ExpectHeadersNot = []probe.HeaderExpectation{{Name: "X-Powered-By", Pattern: re(`PHP/[45]\.`)}}
		}, `header X-Powered-By: "PHP/5.6.40" matches /PHP/[45]\./`},
		{"headers_not of a secret header is redacted", plain.URL, func(s *probe.HTTPSpec) {
			s.ExpectHeadersNot = []probe.HeaderExpectation{{Name: "Set-Cookie", Pattern: re("a=")}}
		}, `header Set-Cookie: "` + probe.Redacted + `" matches /a=/`},
		{"headers_not absent header passes", plain.URL, func(s *probe.HTTPSpec) {
			s.ExpectHeadersNot = []probe.HeaderExpectation{{Name: "Server", Pattern: re("Apache")}}
		}, ""},
		{"require tls on http", plain.URL, func(s *probe.HTTPSpec) { s.RequireTLS = true }, "final URL " + plain.URL + " is not https"},
		{"require tls on https", secure.URL, func(s *probe.HTTPSpec) { s.RequireTLS = true }, ""},
		{"require tls after an upgrade", upgrade.URL, func(s *probe.HTTPSpec) { s.RequireTLS = true }, ""},
		{"require tls after a downgrade", secure.URL + "/downgrade", func(s *probe.HTTPSpec) { s.RequireTLS = true }, "is not https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(tt.url)
			c.HTTP.CAFile = kit.caFile
			tt.mod(&c.HTTP)
			r := run(t, c)
			checkInvariants(t, r)
			switch {
			case tt.msg == "" && !r.OK:
				t.Fatalf("failure %v", r.Failure)
			case tt.msg != "" && (r.Failure == nil || r.Failure.Kind != probe.FailureAssertion || !strings.Contains(r.Failure.Message, tt.msg)):
				t.Fatalf("failure %v, want assertion %q", r.Failure, tt.msg)
			}
		})
	}
}
