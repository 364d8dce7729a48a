package httpcheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// BenchmarkAccuracyVsCurl runs our check and `curl -w` against the same
// loopback target, which sleeps 300 ms before its headers, once each per
// iteration, and reports the mean absolute difference of the cumulative
// points curl prints (namelookup, connect, appconnect, starttransfer,
// total), plus both tools' mean wait. Run e.g. with -benchtime 20x.
func BenchmarkAccuracyVsCurl(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("curl not installed")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, strings.Repeat("x", 16<<10))
	})
	kit := newCertKit(b, time.Now().Add(24*time.Hour))
	cert, _, _ := kit.issue(certOpts{cn: "shop.test", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	plain := httpServer(b, h).URL
	secure := tlsServer(b, &tls.Config{Certificates: []tls.Certificate{cert}}, h, true).URL

	for _, tc := range []struct{ name, url string }{{"http", plain}, {"https", secure}} {
		b.Run(tc.name, func(b *testing.B) {
			c := probe.Check{Name: "bench", URL: tc.url, Timeout: 5 * time.Second, HTTP: probe.HTTPSpec{CAFile: kit.caFile}}
			k, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			var n float64
			var diff [5]float64    // dns, connect, appconnect, starttransfer, total
			var diffs [5][]float64 // per run, for the median (robust to a busy machine)
			var oursWait, curlWait float64
			for b.Loop() {
				r := k.Run(context.Background())
				if !r.OK {
					b.Fatal(r.Failure)
				}
				out, err := exec.Command(curl, "-s", "-o", "/dev/null", "--noproxy", "*", "--cacert", kit.caFile,
					"-w", "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}", tc.url).Output()
				if err != nil {
					b.Fatalf("curl: %v", err)
				}
				var cv [5]float64
				if _, err := fmt.Sscan(string(out), &cv[0], &cv[1], &cv[2], &cv[3], &cv[4]); err != nil {
					b.Fatalf("curl -w output %q: %v", out, err)
				}
				for i := range cv {
					cv[i] *= 1000 // seconds -> ms
				}
				tm := r.Timings
				ours := [5]float64{tm.DNS, tm.DNS + tm.Connect, tm.DNS + tm.Connect + tm.TLS, tm.TTFB, tm.Total}
				if cv[2] == 0 { // plain http: curl reports no appconnect
					cv[2] = cv[1]
				}
				for i := range diff {
					d := math.Abs(ours[i] - cv[i])
					diff[i] += d
					diffs[i] = append(diffs[i], d)
				}
				if testing.Verbose() {
					b.Logf("ours %.3f curl %.3f", ours, cv)
				}
				oursWait += tm.Wait
				curlWait += cv[3] - cv[2]
				n++
			}
			for i, name := range []string{"dns", "connect", "tls", "ttfb", "total"} {
				b.ReportMetric(diff[i]/n, "ms-absdiff-"+name)
				b.ReportMetric(median(diffs[i]), "ms-medabsdiff-"+name)
			}
			b.ReportMetric(oursWait/n, "ms-wait-ours")
			b.ReportMetric(curlWait/n, "ms-wait-curl")
		})
	}
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

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
