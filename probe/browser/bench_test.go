package browser

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// BenchmarkBrowse measures page probes per minute on a warm browser: each
// probe is a fresh incognito context, a load, the settle and the vitals
// read, so the settle bounds the rate of one sequential worker. The pages:
// plain text; late, whose content is rendered 700 ms after start; beacon,
// which posts a small beacon every 250 ms for as long as it is open.
func BenchmarkBrowse(b *testing.B) {
	shared := sharedBrowser(b)
	shop := newShop(b)
	for _, tc := range []struct {
		page string
		conc int
	}{{"plain", 1}, {"plain", 4}, {"late", 1}, {"beacon", 1}} {
		b.Run(fmt.Sprintf("page=%s/concurrency=%d", tc.page, tc.conc), func(b *testing.B) {
			conc := tc.conc
			c := probe.Check{URL: shop.URL + "/" + tc.page, Timeout: 30 * time.Second}
			shared.Browse(context.Background(), c) // warm
			b.ResetTimer()
			start := time.Now()
			sem := make(chan struct{}, conc)
			errs := make(chan error, b.N)
			for range b.N {
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					if res := shared.Browse(context.Background(), c); !res.OK {
						errs <- res.Failure
					}
				}()
			}
			for range conc {
				sem <- struct{}{}
			}
			elapsed := time.Since(start)
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Minutes(), "probes/min")
			b.ReportMetric(float64(shared.PSS())/(1<<20), "chrome-pss-MB")
		})
	}
}

// BenchmarkContextRSS measures the resident memory each concurrent run adds
// to the Chrome process group: n incognito contexts are held open on a
// loaded page (a 450 KB hero image) and the group's RSS is compared with the
// idle browser's.
func BenchmarkContextRSS(b *testing.B) {
	shared := sharedBrowser(b)
	shop := newShop(b)
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("contexts=%d", n), func(b *testing.B) {
			var perCtx, perCtxPSS float64
			for range b.N {
				time.Sleep(500 * time.Millisecond) // let closed contexts' renderers exit
				idle, idlePSS := shared.RSS(), shared.PSS()
				var sessions []*session
				for range n {
					s, f := shared.open(context.Background(), "", 30*time.Second, probe.NewRedactor())
					if f != nil {
						b.Fatal(f)
					}
					sessions = append(sessions, s)
					ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
					if f := s.navigate(ctx, shop.URL+"/hero", probe.PhaseNavigation); f != nil {
						b.Fatal(f)
					}
					cancel()
				}
				busy, busyPSS := shared.RSS(), shared.PSS()
				for _, s := range sessions {
					s.close()
				}
				perCtx += float64(busy-idle) / float64(n)
				perCtxPSS += float64(busyPSS-idlePSS) / float64(n)
			}
			b.ReportMetric(perCtx/float64(b.N)/(1<<20), "MB-RSS/context")
			b.ReportMetric(perCtxPSS/float64(b.N)/(1<<20), "MB-PSS/context")
			b.ReportMetric(float64(shared.PSS())/(1<<20), "idle-chrome-pss-MB")
		})
	}
}
