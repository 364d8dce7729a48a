package httpcheck

// Hostile HTTP targets: servers that hang, trickle, flood, bomb, break
// HTTP/2 mid-body or present bad certificates. Each must end in its failure
// kind within the timeout plus a second, and the whole set must not grow
// the process by more than 50 MiB.

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/storeprobe/storeprobe/probe"
)

// h2Server is a TLS listener speaking raw HTTP/2 frames: it answers every
// request with a 200 head and part of a body, then breaks the stream with
// end (RST_STREAM, GOAWAY): what net/http's server cannot be made to do on
// cue.
func h2Server(t testing.TB, cert tls.Certificate, end func(fr *http2.Framer, stream uint32)) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				serveH2(c, end)
			}()
		}
	}()
	return l.Addr().String()
}

func serveH2(c net.Conn, end func(fr *http2.Framer, stream uint32)) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	for range 32 { // the client's SETTINGS, WINDOW_UPDATE, then HEADERS
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			var hb bytes.Buffer
			enc := hpack.NewEncoder(&hb)
			_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			_ = enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "100000"})
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: hb.Bytes(), EndHeaders: true})
			_ = fr.WriteData(f.StreamID, false, bytes.Repeat([]byte("x"), 1000))
			time.Sleep(20 * time.Millisecond) // the head and some body arrive first
			end(fr, f.StreamID)
			time.Sleep(50 * time.Millisecond) // let the client read it before the close
			return
		}
	}
}

// expiredIntermediate returns a server certificate whose chain runs
// through an expired intermediate CA, and the root's PEM file to trust.
func expiredIntermediate(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	rootKey, interKey, leafKey := key(), key(), key()
	mk := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca := func(serial int64, cn string, notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-48 * time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	rootTmpl := ca(1, "hostile root", now.Add(24*time.Hour))
	root := mk(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	inter := mk(ca(2, "expired intermediate", now.Add(-time.Hour)), root, &interKey.PublicKey, rootKey)
	leaf := mk(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "shop.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		inter, &leafKey.PublicKey, interKey)
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey, Leaf: leaf},
		writePEM(t, "root.pem", "CERTIFICATE", root.Raw)
}

// vmRSS reads the process's resident set (or its peak, VmHWM) in bytes.
func vmRSS(t testing.TB, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// goMemory is the memory the Go runtime has mapped and not returned to
// the OS: its share of RSS.
func goMemory() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()) - int64(s[1].Value.Uint64())
}

// TestHostileTargets runs the whole hostile set in one test, one target
// after another, and bounds the resident memory it leaves behind.
func TestHostileTargets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	const timeout = 2 * time.Second
	kit := newCertKit(t, time.Now().Add(24*time.Hour))
	localhost := []net.IP{net.IPv4(127, 0, 0, 1)}
	good, _, _ := kit.issue(certOpts{cn: "shop.test", ips: localhost})
	wrongHost, _, _ := kit.issue(certOpts{cn: "other.test", dnsNames: []string{"other.test"}})
	chained, rootFile := expiredIntermediate(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "shop") })

	// holdOpen keeps a raw connection open without a word until the client
	// gives up (or the raw server's own 5 s deadline).
	holdOpen := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
	neverAnswers := silentTCP(t)
	headersThenSilence := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
		holdOpen(c)
	})
	byteASecond := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
		for range 5 { // bounded: the client leaves after its 2 s timeout
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	})
	gibibyte := func(head string) string {
		return rawServer(t, func(c net.Conn) {
			io.WriteString(c, head)
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for range (1 << 30) / len(chunk) { // stops at the first write the client refuses
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		})
	}
	gibibyteDeclared := gibibyte("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
	gibibyteUndeclared := gibibyte("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
	bombs := bombServer(t, makeBombs(t))
	badChunks := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnot hex\r\n")
	})
	tenThousandHeaders := rawServer(t, func(c net.Conn) {
		w := bufio.NewWriter(c)
		w.WriteString("HTTP/1.1 200 OK\r\n")
		for i := range 10_000 { // 1.2 MB: over the 1 MiB cap on the head
			fmt.Fprintf(w, "X-Header-%05d: %s\r\n", i, strings.Repeat("v", 100))
		}
		w.WriteString("Content-Length: 0\r\n\r\n")
		w.Flush()
	})
	informationalForever := rawServer(t, func(c net.Conn) {
		hint := []byte("HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\n\r\n")
		for range 1 << 20 { // bounded; the client stops reading long before
			if _, err := c.Write(hint); err != nil {
				return
			}
		}
	})
	h2Reset := h2Server(t, good, func(fr *http2.Framer, id uint32) { _ = fr.WriteRSTStream(id, http2.ErrCodeInternal) })
	h2GoAway := h2Server(t, good, func(fr *http2.Framer, id uint32) {
		_ = fr.WriteGoAway(id, http2.ErrCodeEnhanceYourCalm, []byte("shutting down"))
	})
	redirectTo := func(loc string) string {
		return rawServer(t, func(c net.Conn) {
			fmt.Fprintf(c, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", loc)
		})
	}
	tls10 := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{good}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, ok, false)
	wrongHostSrv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{wrongHost}}, ok, false)
	expiredChain := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{chained}}, ok, false)

	tests := []struct {
		name  string
		url   string
		ca    string
		kind  probe.FailureKind
		phase probe.Phase
	}{
		{"accept and never answer", "http://" + neverAnswers + "/", "", probe.FailureTimeout, probe.PhaseWait},
		{"headers then silence", "http://" + headersThenSilence + "/", "", probe.FailureTimeout, probe.PhaseTransfer},
		{"1 byte a second", "http://" + byteASecond + "/", "", probe.FailureTimeout, probe.PhaseTransfer},
		{"1 GiB body, declared", "http://" + gibibyteDeclared + "/", "", probe.FailureTooLarge, probe.PhaseTransfer},
		{"1 GiB body, undeclared", "http://" + gibibyteUndeclared + "/", "", probe.FailureTooLarge, probe.PhaseTransfer},
		{"gzip bomb", bombs + "/gzip", "", probe.FailureTooLarge, probe.PhaseTransfer},
		{"brotli bomb", bombs + "/br", "", probe.FailureTooLarge, probe.PhaseTransfer},
		{"invalid chunked encoding", "http://" + badChunks + "/", "", probe.FailureProtocol, probe.PhaseTransfer},
		{"10,000 response headers", "http://" + tenThousandHeaders + "/", "", probe.FailureProtocol, probe.PhaseWait},
		{"1xx forever", "http://" + informationalForever + "/", "", probe.FailureProtocol, probe.PhaseWait}, // "more than 16 informational"
		{"HTTP/2 RST_STREAM mid-body", "https://" + h2Reset + "/", kit.caFile, probe.FailureProtocol, probe.PhaseTransfer},
		{"HTTP/2 GOAWAY mid-body", "https://" + h2GoAway + "/", kit.caFile, probe.FailureProtocol, probe.PhaseTransfer},
		{"redirect to file:", "http://" + redirectTo("file:///etc/passwd") + "/", "", probe.FailureProtocol, ""},
		{"redirect to javascript:", "http://" + redirectTo("javascript:alert(1)") + "/", "", probe.FailureProtocol, ""},
		{"wrong-host certificate", wrongHostSrv.URL, kit.caFile, probe.FailureTLS, probe.PhaseTLS},
		{"TLS 1.0 only", tls10.URL, kit.caFile, probe.FailureTLS, probe.PhaseTLS},
		{"expired intermediate", expiredChain.URL, rootFile, probe.FailureTLS, probe.PhaseTLS},
	}

	runtime.GC()
	debug.FreeOSMemory()
	before, goBefore := vmRSS(t, "VmRSS"), goMemory()
	// Reset the peak (VmHWM) to now, so it says what the set itself reached.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(tt.url)
			c.Timeout = timeout
			c.HTTP.CAFile = tt.ca
			start := time.Now()
			r := run(t, c)
			took := time.Since(start)
			checkInvariants(t, r)
			t.Logf("%s: %v in %v", tt.name, r.Failure, took.Round(time.Millisecond))
			if r.Failure == nil || r.Failure.Kind != tt.kind || tt.phase != "" && r.Failure.Phase != tt.phase {
				t.Errorf("failure %v, want %s in %q", r.Failure, tt.kind, tt.phase)
			}
			if took > timeout+time.Second {
				t.Errorf("took %v, over the %v timeout + 1s", took, timeout)
			}
		})
	}
	runtime.GC()
	debug.FreeOSMemory()
	after, peak, goAfter := vmRSS(t, "VmRSS"), vmRSS(t, "VmHWM"), goMemory()
	const bound = 50 << 20
	// The peak holds garbage the collector had not yet reclaimed (the
	// capped buffers of the big bodies); the growth is what the set left.
	t.Logf("RSS %d MiB before, %d MiB after (growth %+d MiB); peak during the set %d MiB; Go runtime memory growth %+d MiB",
		before>>20, after>>20, (after-before)>>20, peak>>20, (goAfter-goBefore)>>20)
	growth, what := after-before, "RSS"
	if raceEnabled {
		// The race detector's shadow memory is not ours and never shrinks:
		// judge what the Go runtime holds instead (make test also runs
		// this test without -race, where RSS is judged).
		growth, what = goAfter-goBefore, "Go runtime memory"
	}
	if growth > bound {
		t.Errorf("%s grew %d MiB over the hostile set, want < 50 MiB", what, growth>>20)
	}
}
