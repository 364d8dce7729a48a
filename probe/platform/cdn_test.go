package platform

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

func i64(v int64) *int64 { return &v }

// TestDetectCDN holds every rule of DetectCDN to the header shapes the
// vendors document; the source of each shape is cited beside it.
func TestDetectCDN(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	type want = probe.CDNInfo
	unknown := func(provider string) want {
		return want{Provider: provider, Cache: probe.CacheUnknown, POP: probe.UnknownPOP}
	}
	tests := []struct {
		name string
		h    http.Header
		want want
	}{
		{"nothing", nil, unknown(NoCDN)},
		// A shop's own Varnish: its X-Cache and Age say nothing of a CDN,
		// but Age is standard HTTP and kept.
		{"own varnish", hdr("Via", "1.1 varnish (Varnish/7.1)", "X-Cache", "HIT", "Age", "12"),
			want{Provider: NoCDN, Cache: probe.CacheUnknown, POP: probe.UnknownPOP, AgeS: i64(12)}},

		// Cloudflare: CF-Cache-Status values from
		// https://developers.cloudflare.com/cache/concepts/cache-responses/ and
		// the CF-RAY example "230b030023ae2822-SJC" from
		// https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-ray
		{"cloudflare hit", hdr("Server", "cloudflare", "CF-RAY", "230b030023ae2822-SJC", "CF-Cache-Status", "HIT", "Age", "3042"),
			want{Provider: Cloudflare, Cache: probe.CacheHit, CacheRaw: "HIT", POP: "SJC", POPRaw: "230b030023ae2822-SJC", AgeS: i64(3042)}},
		{"cloudflare miss", hdr("CF-RAY", "8e6c1f2b9d4a2c31-FRA", "CF-Cache-Status", "MISS"),
			want{Provider: Cloudflare, Cache: probe.CacheMiss, CacheRaw: "MISS", POP: "FRA", POPRaw: "8e6c1f2b9d4a2c31-FRA"}},
		{"cloudflare expired", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "EXPIRED"), cf(probe.CacheExpired, "EXPIRED")},
		{"cloudflare revalidated", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "REVALIDATED"), cf(probe.CacheExpired, "REVALIDATED")},
		{"cloudflare stale", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "STALE"), cf(probe.CacheStale, "STALE")},
		{"cloudflare updating", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "UPDATING"), cf(probe.CacheStale, "UPDATING")},
		{"cloudflare bypass", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "BYPASS"), cf(probe.CacheBypass, "BYPASS")},
		{"cloudflare dynamic", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "DYNAMIC"), cf(probe.CacheDynamic, "DYNAMIC")},
		{"cloudflare none", hdr("CF-RAY", "1-FRA", "CF-Cache-Status", "NONE"), cf(probe.CacheUnknown, "NONE")},
		{"cloudflare lower case", hdr("CF-RAY", "1-fra", "CF-Cache-Status", "hit"),
			want{Provider: Cloudflare, Cache: probe.CacheHit, CacheRaw: "hit", POP: "FRA", POPRaw: "1-fra"}},
		{"cloudflare without ray suffix", hdr("Server", "cloudflare", "CF-Cache-Status", "HIT"),
			want{Provider: Cloudflare, Cache: probe.CacheHit, CacheRaw: "HIT", POP: probe.UnknownPOP}},
		{"cloudflare odd suffix", hdr("CF-RAY", "1-FRA/x", "CF-Cache-Status", "HIT"),
			want{Provider: Cloudflare, Cache: probe.CacheHit, CacheRaw: "HIT", POP: probe.UnknownPOP, POPRaw: "1-FRA/x"}},

		// CloudFront: X-Cache "Hit from cloudfront" and the edge result types
		// of https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html ;
		// X-Amz-Cf-Pop "FRA56-P1" (IATA code, facility number, tier).
		{"cloudfront hit", hdr("Via", "1.1 0a1b.cloudfront.net (CloudFront)", "X-Cache", "Hit from cloudfront", "X-Amz-Cf-Pop", "FRA56-P1", "X-Amz-Cf-Id", "x==", "Age", "1350"),
			want{Provider: CloudFront, Cache: probe.CacheHit, CacheRaw: "Hit from cloudfront", POP: "FRA56", POPRaw: "FRA56-P1", AgeS: i64(1350)}},
		{"cloudfront miss", hdr("X-Cache", "Miss from cloudfront", "X-Amz-Cf-Pop", "JFK52-P2"),
			want{Provider: CloudFront, Cache: probe.CacheMiss, CacheRaw: "Miss from cloudfront", POP: "JFK52", POPRaw: "JFK52-P2"}},
		{"cloudfront refresh hit", hdr("X-Cache", "RefreshHit from cloudfront", "X-Amz-Cf-Pop", "IAD89-C1"),
			want{Provider: CloudFront, Cache: probe.CacheExpired, CacheRaw: "RefreshHit from cloudfront", POP: "IAD89", POPRaw: "IAD89-C1"}},
		{"cloudfront error", hdr("X-Cache", "Error from cloudfront", "X-Amz-Cf-Pop", "FRA56-P1"),
			want{Provider: CloudFront, Cache: probe.CacheUnknown, CacheRaw: "Error from cloudfront", POP: "FRA56", POPRaw: "FRA56-P1"}},
		{"cloudfront lambda", hdr("X-Cache", "LambdaGeneratedResponse from cloudfront", "X-Amz-Cf-Pop", "FRA56-P1"),
			want{Provider: CloudFront, Cache: probe.CacheDynamic, CacheRaw: "LambdaGeneratedResponse from cloudfront", POP: "FRA56", POPRaw: "FRA56-P1"}},
		{"cloudfront function", hdr("X-Cache", "FunctionGeneratedResponse from cloudfront", "X-Amz-Cf-Id", "x=="),
			want{Provider: CloudFront, Cache: probe.CacheDynamic, CacheRaw: "FunctionGeneratedResponse from cloudfront", POP: probe.UnknownPOP}},
		{"cloudfront redirect", hdr("X-Cache", "Redirect from cloudfront", "X-Amz-Cf-Pop", "SFO5-C1"),
			want{Provider: CloudFront, Cache: probe.CacheDynamic, CacheRaw: "Redirect from cloudfront", POP: "SFO5", POPRaw: "SFO5-C1"}},
		{"cloudfront pop too long", hdr("X-Cache", "Hit from cloudfront", "X-Amz-Cf-Pop", "FRANKFURT56-P1"),
			want{Provider: CloudFront, Cache: probe.CacheHit, CacheRaw: "Hit from cloudfront", POP: probe.UnknownPOP, POPRaw: "FRANKFURT56-P1"}},

		// Fastly: X-Served-By "cache-{datacenter}{nodeid}-{datacenter}",
		// X-Cache and X-Cache-Hits from
		// https://www.fastly.com/documentation/reference/http/http-headers/ ;
		// the shielded examples from
		// https://docs.fastly.com/en/guides/understanding-cache-hit-and-miss-headers-with-shielded-services
		{"fastly hit", hdr("Via", "1.1 varnish", "X-Served-By", "cache-fra19120-FRA", "X-Cache", "HIT", "X-Cache-Hits", "4", "Age", "142"),
			want{Provider: Fastly, Cache: probe.CacheHit, CacheRaw: "HIT", POP: "FRA", POPRaw: "cache-fra19120-FRA", AgeS: i64(142)}},
		{"fastly shielded, both missed", hdr("X-Served-By", "cache-iad2120-IAD, cache-sjc3120-SJC", "X-Cache", "MISS, MISS", "X-Cache-Hits", "0, 0"),
			want{Provider: Fastly, Cache: probe.CacheMiss, CacheRaw: "MISS, MISS", POP: "SJC", POPRaw: "cache-iad2120-IAD, cache-sjc3120-SJC"}},
		{"fastly shielded, edge hit", hdr("X-Served-By", "cache-iad2120-IAD, cache-sjc3120-SJC", "X-Cache", "MISS, HIT", "X-Cache-Hits", "0, 1"),
			want{Provider: Fastly, Cache: probe.CacheHit, CacheRaw: "MISS, HIT", POP: "SJC", POPRaw: "cache-iad2120-IAD, cache-sjc3120-SJC"}},
		// The edge missed, the shield had it: the origin was never asked.
		{"fastly shielded, shield hit", hdr("X-Served-By", "cache-iad2120-IAD, cache-sjc3120-SJC", "X-Cache", "HIT, MISS", "X-Cache-Hits", "1, 0"),
			want{Provider: Fastly, Cache: probe.CacheHit, CacheRaw: "HIT, MISS", POP: "SJC", POPRaw: "cache-iad2120-IAD, cache-sjc3120-SJC"}},
		{"fastly new node names", hdr("X-Served-By", "cache-fra-etou8220029-FRA", "X-Cache", "MISS", "X-Fastly-Request-ID", "1"),
			want{Provider: Fastly, Cache: probe.CacheMiss, CacheRaw: "MISS", POP: "FRA", POPRaw: "cache-fra-etou8220029-FRA"}},
		{"fastly hits without x-cache", hdr("X-Served-By", "cache-lhr7331-LHR", "X-Cache-Hits", "0, 7"),
			want{Provider: Fastly, Cache: probe.CacheHit, CacheRaw: "0, 7", POP: "LHR", POPRaw: "cache-lhr7331-LHR"}},
		{"fastly custom vcl stale", hdr("X-Served-By", "cache-lhr7331-LHR", "X-Cache", "HIT-STALE"),
			want{Provider: Fastly, Cache: probe.CacheStale, CacheRaw: "HIT-STALE", POP: "LHR", POPRaw: "cache-lhr7331-LHR"}},
		{"fastly custom vcl pass", hdr("X-Served-By", "cache-lhr7331-LHR", "X-Cache", "PASS"),
			want{Provider: Fastly, Cache: probe.CacheBypass, CacheRaw: "PASS", POP: "LHR", POPRaw: "cache-lhr7331-LHR"}},

		// Akamai: X-Cache codes, X-Cache-Remote and X-Check-Cacheable from
		// https://techdocs.akamai.com/edge-diagnostics/docs/pragma-headers ;
		// Akamai-Cache-Status from
		// https://techdocs.akamai.com/property-mgr/docs/return-cache-status
		{"akamai tcp hit", hdr("Server", "AkamaiGHost", "X-Cache", "TCP_HIT from a23-45-67-89.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0-12345) (-)", "X-Check-Cacheable", "YES", "Age", "60"),
			want{Provider: Akamai, Cache: probe.CacheHit, CacheRaw: "TCP_HIT from a23-45-67-89.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0-12345) (-)",
				POP: probe.UnknownPOP, POPRaw: "a23-45-67-89.deploy.akamaitechnologies.com", AgeS: i64(60)}},
		{"akamai mem hit", hdr("X-Cache", "TCP_MEM_HIT from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheHit, "TCP_MEM_HIT")},
		{"akamai ims hit", hdr("X-Cache", "TCP_IMS_HIT from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheHit, "TCP_IMS_HIT")},
		{"akamai negative hit", hdr("X-Cache", "TCP_NEGATIVE_HIT from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheHit, "TCP_NEGATIVE_HIT")},
		{"akamai miss", hdr("X-Cache", "TCP_MISS from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheMiss, "TCP_MISS")},
		{"akamai refresh hit", hdr("X-Cache", "TCP_REFRESH_HIT from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheExpired, "TCP_REFRESH_HIT")},
		{"akamai refresh miss", hdr("X-Cache", "TCP_REFRESH_MISS from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheExpired, "TCP_REFRESH_MISS")},
		{"akamai refresh fail hit", hdr("X-Cache", "TCP_REFRESH_FAIL_HIT from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheStale, "TCP_REFRESH_FAIL_HIT")},
		{"akamai not cacheable", hdr("X-Cache", "TCP_MISS from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)", "X-Check-Cacheable", "NO"), ak(probe.CacheDynamic, "TCP_MISS")},
		// The edge missed, its parent had it.
		{"akamai parent hit", hdr("X-Cache", "TCP_MISS from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)",
			"X-Cache-Remote", "TCP_HIT from a2.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)"), ak(probe.CacheHit, "TCP_MISS")},
		{"akamai cache status header", hdr("Akamai-GRN", "0.1.2", "Akamai-Cache-Status", "Miss from child, Hit from parent"),
			want{Provider: Akamai, Cache: probe.CacheHit, CacheRaw: "Miss from child, Hit from parent", POP: probe.UnknownPOP}},
		{"akamai cache status refresh", hdr("Akamai-Cache-Status", "RefreshHit from child"),
			want{Provider: Akamai, Cache: probe.CacheExpired, CacheRaw: "RefreshHit from child", POP: probe.UnknownPOP}},
		{"akamai cache status not cacheable", hdr("Akamai-Cache-Status", "NotCacheable from child"),
			want{Provider: Akamai, Cache: probe.CacheDynamic, CacheRaw: "NotCacheable from child", POP: probe.UnknownPOP}},
		{"akamai cache status stale", hdr("Akamai-Cache-Status", "HitStale from child"),
			want{Provider: Akamai, Cache: probe.CacheStale, CacheRaw: "HitStale from child", POP: probe.UnknownPOP}},
		// Without the debug Pragma the edge says nothing about its cache.
		{"akamai without debug headers", hdr("Server", "AkamaiGHost", "X-Akamai-Request-ID", "1a2b3c"), unknown(Akamai)},

		// Age: RFC 9111 §5.1 and §1.2.2.
		{"age first of several", hdr("Age", "7", "Age", "9"), want{Provider: NoCDN, Cache: probe.CacheUnknown, POP: probe.UnknownPOP, AgeS: i64(7)}},
		{"age not a number", hdr("Age", "-3"), unknown(NoCDN)},
		{"age overflow", hdr("Age", "99999999999999999999999"), want{Provider: NoCDN, Cache: probe.CacheUnknown, POP: probe.UnknownPOP, AgeS: i64(1 << 31)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectCDN(tt.h)
			if d := diffCDN(got, tt.want); d != "" {
				t.Errorf("DetectCDN: %s\n got %+v\nwant %+v", d, got, tt.want)
			}
		})
	}
}

func cf(c probe.CacheStatus, raw string) probe.CDNInfo {
	return probe.CDNInfo{Provider: Cloudflare, Cache: c, CacheRaw: raw, POP: "FRA", POPRaw: "1-FRA"}
}

func ak(c probe.CacheStatus, code string) probe.CDNInfo {
	return probe.CDNInfo{Provider: Akamai, Cache: c, CacheRaw: code + " from a1.deploy.akamaitechnologies.com (AkamaiGHost/22.1.0)",
		POP: probe.UnknownPOP, POPRaw: "a1.deploy.akamaitechnologies.com"}
}

func diffCDN(got, want probe.CDNInfo) string {
	var d []string
	if got.Provider != want.Provider {
		d = append(d, "provider "+got.Provider)
	}
	if got.Cache != want.Cache || got.CacheRaw != want.CacheRaw {
		d = append(d, "cache "+string(got.Cache)+" "+got.CacheRaw)
	}
	if got.POP != want.POP || got.POPRaw != want.POPRaw {
		d = append(d, "pop "+got.POP+" "+got.POPRaw)
	}
	if (got.AgeS == nil) != (want.AgeS == nil) || got.AgeS != nil && *got.AgeS != *want.AgeS {
		d = append(d, "age")
	}
	return strings.Join(d, "; ")
}

// TestDetectCDNFixtures reads the captured responses every CDN fixture
// holds: each says what the edge answered.
func TestDetectCDNFixtures(t *testing.T) {
	for _, tc := range []struct {
		fixture  string
		provider string
		cache    probe.CacheStatus
		pop      string
	}{
		{"shopify-dawn.http", Cloudflare, probe.CacheDynamic, "FRA"},
		{"magento-cloud-fastly.http", Fastly, probe.CacheMiss, "FRA"},
		{"custom-cloudfront-square-adobe.http", CloudFront, probe.CacheHit, "FRA56"},
		// No X-Cache without the debug Pragma: Akamai says nothing of its cache.
		{"custom-akamai-appmeasurement.http", Akamai, probe.CacheUnknown, probe.UnknownPOP},
		{"magento-own-varnish.http", NoCDN, probe.CacheUnknown, probe.UnknownPOP},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			h, _ := readFixture(t, tc.fixture)
			got := DetectCDN(h)
			if got.Provider != tc.provider || got.Cache != tc.cache || got.POP != tc.pop {
				t.Errorf("DetectCDN = %+v, want %s/%s/%s", got, tc.provider, tc.cache, tc.pop)
			}
		})
	}
}

// FuzzDetectCDN: whatever the headers, the cache status is from the closed
// set and the POP a short upper-case code or unknown (both are tags).
func FuzzDetectCDN(f *testing.F) {
	f.Add("CF-RAY: 1-FRA\r\nCF-Cache-Status: HIT\r\nAge: 3\r\n")
	f.Add("X-Cache: Hit from cloudfront\r\nX-Amz-Cf-Pop: FRA56-P1\r\n")
	f.Add("X-Served-By: cache-iad2120-IAD, cache-sjc3120-SJC\r\nX-Cache: MISS, HIT\r\nX-Cache-Hits: 0, 1\r\n")
	f.Add("X-Cache: TCP_MISS from a1.deploy.akamaitechnologies.com (AkamaiGHost/1)\r\nX-Check-Cacheable: NO\r\n")
	f.Add("Akamai-Cache-Status: Miss from child, Hit from parent\r\n")
	f.Fuzz(func(t *testing.T, head string) {
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader([]byte("HTTP/1.1 200 OK\r\n"+head+"\r\n"))), nil)
		if err != nil {
			return
		}
		res.Body.Close()
		got := DetectCDN(res.Header)
		_, cdns, _, _ := Values()
		if !slices.Contains(cdns, got.Provider) || !slices.Contains(probe.CacheStatuses(), got.Cache) {
			t.Fatalf("outside the closed sets: %+v", got)
		}
		if got.POP != probe.UnknownPOP && (probe.POPCode(got.POP) != got.POP || got.POP == "") {
			t.Fatalf("pop %q is not a code", got.POP)
		}
		if len(got.CacheRaw) > 3*maxRaw || len(got.POPRaw) > 3*maxRaw || got.AgeS != nil && *got.AgeS < 0 {
			t.Fatalf("unbounded: %+v", got)
		}
	})
}
