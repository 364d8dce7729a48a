package httpcheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// accuracyDelay is what each accuracy target holds back: long enough to
// stand out of loopback noise, short enough for many runs a second.
const accuracyDelay = 50 * time.Millisecond

// BenchmarkAccuracyVsCurl measures one phase per target against the truth
// the server itself timed, with our check and with `curl -w` on the same
// loopback target, alternately, one of each per iteration:
//
//   - target=headers: the handler sleeps before its headers; truth is the
//     handler's own time from entry to flushing them, our `wait` (request
//     written → first byte), curl's starttransfer − pretransfer;
//   - target=midbody: half the body, a sleep, the rest; truth is the
//     handler's time from the first flush to its return, our `transfer`,
//     curl's total − starttransfer;
//   - target=tls: the listener sleeps before reading the ClientHello; truth
//     is accept → the client's Finished arriving (the first read after the
//     server's flight), our `tls`, curl's appconnect − connect.
//
// Reported per target, in ms: p50 and p95 of |ours − truth| (err-ours),
// |curl − truth| (err-curl) and the difference of the two errors on paired
// runs, |(ours − truth) − (curl − truth')| (gap-curl). The server's
// clock sees the request a little later and the response a little earlier
// than the client (loopback transit, parsing), so truth errs short by tens
// of microseconds; that is inside what is measured. Run e.g. with
// -benchtime 30x.
func BenchmarkAccuracyVsCurl(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("curl not installed")
	}
	kit := newCertKit(b, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	body := strings.Repeat("x", 8<<10)

	var headersTruth, midbodyTruth atomic.Int64
	headers := httpServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		time.Sleep(accuracyDelay)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		headersTruth.Store(int64(time.Since(start)))
		io.WriteString(w, body)
	})).URL
	midbody := httpServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		start := time.Now()
		time.Sleep(accuracyDelay)
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		midbodyTruth.Store(int64(time.Since(start)))
	})).URL
	tlsTarget, tlsTruth := slowHandshakeServer(b, &tls.Config{Certificates: []tls.Certificate{cert}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))

	for _, tc := range []struct {
		name  string
		url   string
		truth *atomic.Int64
		ours  func(probe.Timings) float64
		curl  func(curlTimes) float64
	}{
		{"headers", headers, &headersTruth, func(t probe.Timings) float64 { return t.Wait },
			func(c curlTimes) float64 { return c.starttransfer - c.pretransfer }},
		{"midbody", midbody, &midbodyTruth, func(t probe.Timings) float64 { return t.Transfer },
			func(c curlTimes) float64 { return c.total - c.starttransfer }},
		{"tls", tlsTarget, tlsTruth, func(t probe.Timings) float64 { return t.TLS },
			func(c curlTimes) float64 { return c.appconnect - c.connect }},
	} {
		b.Run("target="+tc.name, func(b *testing.B) {
			c := probe.Check{Name: "bench", URL: tc.url, Timeout: 5 * time.Second, HTTP: probe.HTTPSpec{CAFile: kit.caFile}}
			k, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			truthMS := func() float64 { return float64(tc.truth.Swap(0)) / float64(time.Millisecond) }
			var errOurs, errCurl, gap []float64
			for b.Loop() {
				r := k.Run(context.Background())
				if !r.OK {
					b.Fatal(r.Failure)
				}
				ours, truthOurs := tc.ours(r.Timings), truthMS()
				ct, err := runCurl(curl, kit.caFile, tc.url)
				if err != nil {
					b.Fatal(err)
				}
				theirs, truthCurl := tc.curl(ct), truthMS()
				if truthOurs == 0 || truthCurl == 0 {
					b.Fatal("the server timed no request")
				}
				errOurs = append(errOurs, math.Abs(ours-truthOurs))
				errCurl = append(errCurl, math.Abs(theirs-truthCurl))
				// The server's delay varies run to run (a sleep overshoots on
				// a busy machine), so the tools are compared on their errors.
				gap = append(gap, math.Abs((ours-truthOurs)-(theirs-truthCurl)))
				if testing.Verbose() {
					b.Logf("ours %.3f (truth %.3f), curl %.3f (truth %.3f)", ours, truthOurs, theirs, truthCurl)
				}
			}
			for _, m := range []struct {
				name string
				xs   []float64
			}{{"err-ours", errOurs}, {"err-curl", errCurl}, {"gap-curl", gap}} {
				b.ReportMetric(quantile(m.xs, 0.50), "ms-p50-"+m.name)
				b.ReportMetric(quantile(m.xs, 0.95), "ms-p95-"+m.name)
			}
			b.ReportMetric(0, "ns/op") // two tools and a delay per op: its time says nothing
		})
	}
}

// curlTimes are curl's cumulative -w points, in ms.
type curlTimes struct{ connect, appconnect, pretransfer, starttransfer, total float64 }

func runCurl(curl, caFile, url string) (curlTimes, error) {
	out, err := exec.Command(curl, "-s", "-o", "/dev/null", "--noproxy", "*", "--http1.1", "--cacert", caFile,
		"-w", "%{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}", url).Output()
	if err != nil {
		return curlTimes{}, fmt.Errorf("curl %s: %w", url, err)
	}
	var c curlTimes
	if _, err := fmt.Sscan(string(out), &c.connect, &c.appconnect, &c.pretransfer, &c.starttransfer, &c.total); err != nil {
		return curlTimes{}, fmt.Errorf("curl -w output %q: %w", out, err)
	}
	for _, p := range []*float64{&c.connect, &c.appconnect, &c.pretransfer, &c.starttransfer, &c.total} {
		*p *= 1000 // seconds -> ms
	}
	return c, nil
}

// slowHandshakeServer is an HTTPS server (HTTP/1.1) whose connections wait
// accuracyDelay before reading the ClientHello. truth holds, per
// connection, the time from accept to the first read after the server's
// first write (its ServerHello flight): the client's Finished, so the
// client's own handshake work is inside the truth as it is inside the phase.
func slowHandshakeServer(tb testing.TB, cfg *tls.Config, h http.Handler) (string, *atomic.Int64) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	truth := new(atomic.Int64)
	s := httptest.NewUnstartedServer(h)
	s.Listener = &slowHandshakeListener{Listener: ln, truth: truth}
	s.TLS = cfg
	s.Config.ErrorLog = quietLog()
	s.StartTLS()
	tb.Cleanup(s.Close)
	return s.URL, truth
}

type slowHandshakeListener struct {
	net.Listener
	truth *atomic.Int64
}

func (l *slowHandshakeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowHandshakeConn{Conn: c, accepted: time.Now(), truth: l.truth}, nil
}

// slowHandshakeConn is used by one server goroutine at a time until its
// handshake ends, and only its first read and write are looked at.
type slowHandshakeConn struct {
	net.Conn
	accepted time.Time
	truth    *atomic.Int64
	slept    sync.Once
	wrote    atomic.Bool
	finished sync.Once
}

func (c *slowHandshakeConn) Read(p []byte) (int, error) {
	c.slept.Do(func() { time.Sleep(accuracyDelay) })
	n, err := c.Conn.Read(p)
	if c.wrote.Load() {
		c.finished.Do(func() { c.truth.Store(int64(time.Since(c.accepted))) })
	}
	return n, err
}

func (c *slowHandshakeConn) Write(p []byte) (int, error) {
	c.wrote.Store(true)
	return c.Conn.Write(p)
}

// BenchmarkThroughput measures complete checks per second against a warm
// loopback server answering 1 KiB: a new connection (and TLS handshake)
// per check, as in production.
func BenchmarkThroughput(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 1024))
	})
	kit := newCertKit(b, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	plain := httpServer(b, h).URL
	secure := tlsServer(b, &tls.Config{Certificates: []tls.Certificate{cert}}, h, true).URL
	for _, tc := range []struct{ name, url string }{{"http", plain}, {"https", secure}} {
		c := probe.Check{Name: "bench", URL: tc.url, HTTP: probe.HTTPSpec{CAFile: kit.caFile}}
		k, err := New(c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/serial", func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				if r := k.Run(context.Background()); !r.OK {
					b.Fatal(r.Failure)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if r := k.Run(context.Background()); !r.OK {
						b.Error(r.Failure)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
		})
	}
}

// quantile is the q-quantile of xs by the nearest-rank method (0 for none).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, max(0, int(math.Ceil(q*float64(len(s))))-1))]
}
