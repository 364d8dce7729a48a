package probe

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"
)

// CacheStatus is how a CDN says it answered a request, normalised across
// vendors into a closed set (it is an InfluxDB tag). The vendor's own words
// are kept beside it, in CDNInfo.CacheRaw.
type CacheStatus string

// Cache statuses. Their meaning is the same whichever CDN reported them.
const (
	CacheHit     CacheStatus = "hit"     // served from the CDN's cache; the origin was not asked
	CacheMiss    CacheStatus = "miss"    // not in the cache: fetched from the origin
	CacheExpired CacheStatus = "expired" // in the cache but expired: the origin was asked again (refetched or revalidated)
	CacheStale   CacheStatus = "stale"   // expired, and served from the cache anyway (origin unreachable, or updating in the background)
	CacheBypass  CacheStatus = "bypass"  // the cache was skipped for this request (a rule, a cookie, Cache-Control: private)
	CacheDynamic CacheStatus = "dynamic" // never eligible for the cache, or generated at the edge (a redirect, an edge function)
	CacheUnknown CacheStatus = "unknown" // no CDN, or nothing it said tells
)

// CacheStatuses lists every status, in the order above.
func CacheStatuses() []CacheStatus {
	return []CacheStatus{CacheHit, CacheMiss, CacheExpired, CacheStale, CacheBypass, CacheDynamic, CacheUnknown}
}

// ParseCacheStatus accepts a status as written in a config or a flag.
func ParseCacheStatus(s string) (CacheStatus, error) {
	c := CacheStatus(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range CacheStatuses() {
		if c == v {
			return c, nil
		}
	}
	names := make([]string, 0, 7)
	for _, v := range CacheStatuses() {
		names = append(names, string(v))
	}
	return "", fmt.Errorf("%q is not a cache status (want %s)", s, strings.Join(names, ", "))
}

// UnknownPOP is the pop of a response whose CDN names no point of
// presence storeprobe can read as a code.
const UnknownPOP = "unknown"

// MaxPOPLen bounds a POP code: vendors' codes are an IATA code with at most
// a facility number (FRA, FRA56); anything longer is not one.
const MaxPOPLen = 8

// POPCode normalises a vendor's POP code to upper-case letters and digits,
// at most MaxPOPLen of them, or UnknownPOP: it is an InfluxDB tag, so it
// must stay a code and never become a free-form string.
func POPCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || len(s) > MaxPOPLen || s == "UNKNOWN" {
		return UnknownPOP
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return UnknownPOP
		}
	}
	return s
}

// CDNInfo is what a response says about the CDN that served it
// (probe/platform reads it).
type CDNInfo struct {
	// Provider is the CDN in front: cloudflare, cloudfront, fastly, akamai
	// or none (a closed lower-case set).
	Provider string `json:"provider"`
	// Cache is the normalised cache status; CacheUnknown without a CDN.
	Cache CacheStatus `json:"cache"`
	// CacheRaw is the vendor's own value the status was read from, as
	// sent (clipped to 128 characters), e.g. "Hit from cloudfront".
	CacheRaw string `json:"cache_raw,omitempty"`
	// POP is the point of presence that answered as a vendor code: upper-
	// case letters and digits, at most 8 (FRA, FRA56), else UnknownPOP.
	POP string `json:"pop"`
	// POPRaw is the header value the POP was read from (clipped to 128
	// characters), e.g. "FRA56-P1" or "cache-ams4133-AMS, cache-fra19120-FRA".
	POPRaw string `json:"pop_raw,omitempty"`
	// AgeS is the Age header: seconds the response spent in caches. nil
	// without a (valid) Age header.
	AgeS *int64 `json:"age_s,omitempty"`
}

// OriginResult is the measurement of a check's origin_url, made beside the
// edge's with the same method, headers, body and options. Its verdict is
// its own: an origin failure does not fail the check, whose verdict is the
// edge's (what shoppers get).
type OriginResult struct {
	URL         string   `json:"url"`       // redacted
	FinalURL    string   `json:"final_url"` // redacted
	OK          bool     `json:"ok"`
	Failure     *Failure `json:"failure"`
	StatusCode  int      `json:"status_code"`
	Timings     Timings  `json:"timings_ms"`
	TLS         *TLSInfo `json:"tls"`
	Bytes       int64    `json:"bytes"`
	WireBytes   int64    `json:"wire_bytes"`
	Redirects   int      `json:"redirects"`
	HTTPVersion string   `json:"http_version"`
	RemoteIP    string   `json:"remote_ip"`
}

// Warmup counts the unmeasured requests sent before the measured one (to
// fill a CDN's cache). Their failures never fail the check.
type Warmup struct {
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
}

// MaxWarmup bounds the warm-up requests of one attempt: each may take the
// check's whole timeout.
const MaxWarmup = 10

// ParseTLSVersion reads a TLS version as the config and --min-tls write it:
// "1.0", "1.1", "1.2" or "1.3".
func ParseTLSVersion(s string) (uint16, error) {
	switch strings.TrimSpace(s) {
	case "1.0":
		return tls.VersionTLS10, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("%q is not a TLS version (want 1.0, 1.1, 1.2 or 1.3)", s)
}

// AttemptTimeout is the most one attempt of c may take: its timeout for
// the measured request, and as much again for each warm-up request and for
// the origin's, since each is bounded by the timeout on its own.
func (c Check) AttemptTimeout() time.Duration {
	n := 1
	if c.Type == TypeHTTP || c.Type == "" {
		n += max(c.HTTP.Warmup, 0)
		if c.HTTP.OriginURL != "" {
			n++
		}
	}
	return c.Timeout * time.Duration(n)
}
