package influxtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Locations and checks of the sample fleet that SampleRuns produces.
var (
	SampleLocations = []string{"eu-west", "us-east"}
	SampleChecks    = []string{"home", "search", "pdp", "checkout"}
)

// SamplePOP is the Fastly POP a location's home check is served from.
func SamplePOP(location string) string {
	if location == "us-east" {
		return "IAD"
	}
	return "FRA"
}

func fp(v float64) *float64 { return &v }

// SampleRuns returns a realistic fleet history: every check of SampleChecks
// from every location in SampleLocations once a minute for n minutes ending
// at end — two HTTP checks (one with TLS behind a CDN with its origin
// measured beside it, intermittent 503s, one slow redirect), a mobile browser page and a three-page checkout journey that
// sometimes fails at its last step. Values vary deterministically.
func SampleRuns(end time.Time, n int) []probe.Run {
	end = end.Truncate(time.Minute)
	var runs []probe.Run
	for li, loc := range SampleLocations {
		probeName := loc + "-1"
		for i := 0; i < n; i++ {
			at := end.Add(-time.Duration(n-1-i) * time.Minute)
			lag := time.Duration(1+(i*7+li*3)%40) * time.Millisecond
			v := float64((i*37 + li*11) % 100) // 0..99, deterministic noise
			tags := map[string]string{"platform": "shopware", "cdn": "fastly"}

			// home: HTTPS, every 17th run a 503.
			home := probe.Result{Check: "home", Type: probe.TypeHTTP, URL: "https://shop.test/", FinalURL: "https://shop.test/",
				OK: true, Attempt: 1, StartedAt: at.Add(lag), DurationMS: 180 + v*3,
				HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Bytes: 48000, WireBytes: 15000, HTTPVersion: "HTTP/2.0",
					Timings: probe.Timings{DNS: 2, Connect: 8, TLS: 25, Wait: 120 + v*3, Transfer: 25, TTFB: 155 + v*3, Total: 180 + v*3},
					TLS:     &probe.TLSInfo{Version: "TLS 1.3", CertDaysLeft: 40 - float64(i)/1440}}}
			// Behind Fastly, a POP per location: mostly hits, every tenth a
			// miss and every tenth (offset) an expired copy; the origin
			// measured beside it, slower.
			cache, raw := probe.CacheHit, "MISS, HIT"
			switch i % 10 {
			case 0:
				cache, raw = probe.CacheMiss, "MISS, MISS"
			case 5:
				cache, raw = probe.CacheExpired, "HIT-STALE"
			}
			pop := SamplePOP(loc)
			age := int64(i % 60)
			home.CDN = &probe.CDNInfo{Provider: "fastly", Cache: cache, CacheRaw: raw, POP: pop,
				POPRaw: "cache-iad2120-IAD, cache-" + strings.ToLower(pop) + "19120-" + pop, AgeS: &age}
			home.Origin = &probe.OriginResult{URL: "https://origin.shop.test/", FinalURL: "https://origin.shop.test/", OK: true,
				StatusCode: 200, Bytes: 48000, WireBytes: 16000, HTTPVersion: "HTTP/1.1", RemoteIP: "10.0.0.5",
				Timings: probe.Timings{DNS: 1, Connect: 30, TLS: 60, Wait: 400 + v*4, Transfer: 40, TTFB: 491 + v*4, Total: 531 + v*4},
				TLS:     &probe.TLSInfo{Version: "TLS 1.2", CertDaysLeft: 200}}
			homeRun := probe.Run{Check: "home", Type: probe.TypeHTTP, Location: loc, Probe: probeName, Tags: tags,
				ScheduledAt: at, StartedAt: at.Add(lag), Lag: lag, Attempts: []probe.Result{home}}
			if i%17 == 3 {
				failed := home
				failed.OK, failed.Failure = false, probe.Fail(probe.FailureStatus, "", "status 503 not in 200-399")
				failed.StatusCode = 503
				failed.HTTPDetails = &probe.HTTPDetails{StatusCode: 503, Bytes: 120, WireBytes: 400, HTTPVersion: "HTTP/2.0",
					Timings: probe.Timings{DNS: 2, Connect: 8, TLS: 25, Wait: 40, Transfer: 1, TTFB: 75, Total: 76},
					TLS:     home.TLS, CDN: home.CDN, Origin: home.Origin}
				failed.DurationMS = 76
				second := failed
				second.Attempt, second.StartedAt = 2, at.Add(lag+time.Second)
				homeRun.Attempts = []probe.Result{failed, second}
			}
			runs = append(runs, homeRun)

			// search: plain HTTP behind a redirect, slow, sometimes too slow.
			total := 900 + v*25
			search := probe.Result{Check: "search", Type: probe.TypeHTTP, URL: "http://shop.test:8080/search?q=shoes",
				FinalURL: "http://shop.test:8080/s/shoes", OK: total <= 3000, Attempt: 1, StartedAt: at.Add(lag), DurationMS: total,
				HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Bytes: 90000, WireBytes: 30000, Redirects: 1, HTTPVersion: "HTTP/1.1",
					Timings: probe.Timings{Connect: 1, Wait: total - 150, Transfer: 49, TTFB: total - 149, Redirect: 100, Total: total}}}
			if !search.OK {
				search.Failure = probe.Fail(probe.FailureTooSlow, "", "took %.0f ms, limit 3000 ms", total)
			}
			runs = append(runs, probe.Run{Check: "search", Type: probe.TypeHTTP, Location: loc, Probe: probeName,
				ScheduledAt: at, StartedAt: at.Add(lag), Lag: lag, Attempts: []probe.Result{search}})

			// pdp: a mobile browser page.
			pm := pageMetrics(v, 1.0)
			runs = append(runs, probe.Run{Check: "pdp", Type: probe.TypeBrowser, Location: loc, Probe: probeName, Tags: tags,
				ScheduledAt: at, StartedAt: at.Add(lag), Lag: lag, Attempts: []probe.Result{{
					Check: "pdp", Type: probe.TypeBrowser, URL: "https://shop.test/p/shoe", OK: true, Attempt: 1,
					StartedAt: at.Add(lag), DurationMS: pm.LoadMS,
					BrowserDetails: &probe.BrowserDetails{Device: "mobile", PageMetrics: &pm}}}})

			// checkout: a journey over three pages; every 11th fails at pay.
			pages := []probe.PageResult{
				{Name: "home", URL: "https://shop.test/", PageMetrics: pageMetrics(v, 0.8)},
				{Name: "product", URL: "https://shop.test/p/shoe", PageMetrics: pageMetrics(v, 1.1)},
				{Name: "cart", URL: "https://shop.test/cart", PageMetrics: pageMetrics(v, 1.4)},
			}
			steps := []probe.StepResult{
				{Name: "goto https://shop.test/", Action: "goto", OK: true, DurationMS: 1200 + v*5},
				{Name: "open product", Action: "click", OK: true, DurationMS: 900 + v*4},
				{Name: "add to cart", Action: "click", OK: true, DurationMS: 300 + v},
				{Name: "open cart", Action: "click", OK: true, DurationMS: 1100 + v*6},
				{Name: "pay", Action: "click", OK: true, DurationMS: 200 + v},
			}
			jr := probe.Result{Check: "checkout", Type: probe.TypeJourney, URL: "https://shop.test/", OK: true, Attempt: 1,
				StartedAt: at.Add(lag), BrowserDetails: &probe.BrowserDetails{Device: "desktop", Pages: pages, Steps: steps}}
			if i%11 == 5 {
				jr.OK = false
				jr.Failure = probe.Fail(probe.FailureSelector, "", "#pay not found within 5s")
				steps[4].OK, steps[4].DurationMS, steps[4].Failure = false, 5000, jr.Failure
			}
			for _, s := range steps {
				jr.DurationMS += s.DurationMS
			}
			runs = append(runs, probe.Run{Check: "checkout", Type: probe.TypeJourney, Location: loc, Probe: probeName, Tags: tags,
				ScheduledAt: at, StartedAt: at.Add(lag), Lag: lag, Attempts: []probe.Result{jr}})
		}
	}
	return runs
}

// pageMetrics scales a baseline page by f, with noise v in [0,100).
func pageMetrics(v, f float64) probe.PageMetrics {
	vs := probe.Vitals{
		LCP: fp((1500 + v*20) * f), CLS: fp(0.02 + v/1000*f), FCP: fp((700 + v*8) * f), TTFB: fp((150 + v*4) * f),
	}
	if int(v)%3 == 0 {
		vs.INP = fp((80 + v*3) * f)
	}
	return probe.PageMetrics{Vitals: vs, Ratings: vs.Rate(), LCPElement: "img.hero",
		LoadMS: (2000 + v*20) * f, DOMContentLoadedMS: (900 + v*10) * f, Requests: 40 + int(v)%10,
		FailedRequests: int(v) % 4 / 3, TransferBytes: int64(800000 * f),
		SettledMS: (3000 + v*20) * f, SettleReason: probe.SettleQuiet, TBTMS: (100 + v*4) * f, LongTasks: 2 + int(v)%5,
		LongestTaskMS: (90 + v) * f, ThirdPartyRequests: 10 + int(v)%6, ThirdPartyBytes: int64((250000 + v*1000) * f),
		ThirdPartyBlockingMS: (40 + v*2) * f,
		Analytics:            &probe.PageAnalytics{GA4: &probe.BeaconTally{Fired: 1 + int(v)%3, Events: []string{"page_view"}}},
		MixedContentCount:    int(v) % 2}
}

// SampleSummary names what SampleRuns(end, n) holds, for assertions.
func SampleSummary(n int) string {
	return fmt.Sprintf("%d runs: %d checks × %d locations × %d minutes", n*len(SampleChecks)*len(SampleLocations),
		len(SampleChecks), len(SampleLocations), n)
}
