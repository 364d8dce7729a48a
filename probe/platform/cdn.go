package platform

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
)

// DetectCDN reads, from a response's headers, the CDN that served it (as
// Detect names it), how its cache answered and where: the cache status
// normalised into probe.CacheStatus with the vendor's value kept, the
// point of presence as a short upper-case code, and the Age header. Each
// vendor's headers are read only when that vendor is the provider, so one
// CDN's X-Cache is never read with another's grammar; without a CDN the
// cache and pop are unknown (a shop's own Varnish says nothing about a
// CDN). nil headers are fine.
func DetectCDN(h http.Header) probe.CDNInfo {
	info := probe.CDNInfo{Provider: cdnProvider(h), Cache: probe.CacheUnknown, POP: probe.UnknownPOP, AgeS: age(h)}
	switch info.Provider {
	case Cloudflare:
		cloudflareEdge(h, &info)
	case CloudFront:
		cloudfrontEdge(h, &info)
	case Fastly:
		fastlyEdge(h, &info)
	case Akamai:
		akamaiEdge(h, &info)
	}
	return info
}

// maxRaw bounds the vendor values kept beside the normalised ones: they
// come from the target and are evidence, not payload.
const maxRaw = 128

func raw(s string) string {
	return probe.Clip(strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD"), maxRaw)
}

// age reads the Age header (RFC 9111 §5.1): the first value when there are
// several, nil when it is not a non-negative integer, and 2^31 for a value
// too large to hold, as RFC 9111 §1.2.2 says of delta-seconds.
func age(h http.Header) *int64 {
	vals := h.Values("Age")
	if len(vals) == 0 {
		return nil
	}
	v := strings.TrimSpace(strings.Split(vals[0], ",")[0])
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > 1<<31 {
		n = 1 << 31 // all digits, so the only failure is overflow
	}
	return &n
}

// listValues splits every value of a header on commas, trimmed, empty
// entries dropped: a shielded Fastly or a tiered Akamai lists one entry per
// cache it crossed.
func listValues(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// alongPath combines the statuses of the caches a request crossed, listed
// from the one nearest the shopper: the first that did not miss decides
// (a miss at the edge answered from a shield's or parent's cache never
// reached the origin), all misses are a miss. Entries that say nothing
// (unknown) are skipped.
func alongPath(states []probe.CacheStatus) probe.CacheStatus {
	sawMiss := false
	for _, s := range states {
		switch s {
		case probe.CacheUnknown:
		case probe.CacheMiss:
			sawMiss = true
		default:
			return s
		}
	}
	if sawMiss {
		return probe.CacheMiss
	}
	return probe.CacheUnknown
}

// Cloudflare. CF-Cache-Status values, as documented at
// https://developers.cloudflare.com/cache/concepts/cache-responses/ :
// HIT, MISS, NONE/UNKNOWN, EXPIRED, STALE, BYPASS, REVALIDATED, UPDATING,
// DYNAMIC.
var cloudflareCache = map[string]probe.CacheStatus{
	"HIT":     probe.CacheHit,
	"MISS":    probe.CacheMiss,
	"EXPIRED": probe.CacheExpired, // in cache, expired, fetched from the origin again
	// "served from Cloudflare's cache but is stale", revalidated with the
	// origin (If-Modified-Since / If-None-Match): the origin was asked.
	"REVALIDATED": probe.CacheExpired,
	"STALE":       probe.CacheStale, // expired, served because the origin could not be reached
	"UPDATING":    probe.CacheStale, // expired, served while the origin is asked in the background
	"BYPASS":      probe.CacheBypass,
	"DYNAMIC":     probe.CacheDynamic, // not eligible to cache, fetched from the origin
	// A Worker, a WAF rule or a redirect rule answered before the cache was
	// consulted: there is no cache status to report.
	"NONE":    probe.CacheUnknown,
	"UNKNOWN": probe.CacheUnknown,
}

func cloudflareEdge(h http.Header, info *probe.CDNInfo) {
	if v := h.Get("Cf-Cache-Status"); v != "" {
		info.CacheRaw = raw(v)
		info.Cache = lookup(cloudflareCache, strings.ToUpper(strings.TrimSpace(v)))
	}
	// CF-RAY is the Ray ID, a hyphen and the IATA code of the data center
	// that handled the request, e.g. "230b030023ae2822-SJC"
	// (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-ray).
	if ray := h.Get("Cf-Ray"); ray != "" {
		info.POPRaw = raw(ray)
		if i := strings.LastIndexByte(ray, '-'); i >= 0 {
			info.POP = probe.POPCode(ray[i+1:])
		}
	}
}

// CloudFront. X-Cache is "<result> from cloudfront", the result being the
// edge result type of the access logs: Hit, RefreshHit, Miss, Error,
// Redirect, LimitExceeded, CapacityExceeded, LambdaGeneratedResponse, …
// (x-edge-result-type in
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html).
var cloudfrontCache = map[string]probe.CacheStatus{
	"hit":             probe.CacheHit,
	"originshieldhit": probe.CacheHit, // served by the Origin Shield's cache: the origin was not asked
	// "RefreshHit": in the cache but expired; CloudFront asked the origin,
	// which confirmed it (or sent a new copy).
	"refreshhit": probe.CacheExpired,
	"miss":       probe.CacheMiss,
	// Generated at the edge, never cached: a redirect (HTTP to HTTPS), a
	// Lambda@Edge or CloudFront Functions response.
	"redirect":                  probe.CacheDynamic,
	"lambdageneratedresponse":   probe.CacheDynamic,
	"functiongeneratedresponse": probe.CacheDynamic,
	// Error, LimitExceeded, CapacityExceeded: the edge failed; the cache's
	// part is not said.
}

func cloudfrontEdge(h http.Header, info *probe.CDNInfo) {
	if v := h.Get("X-Cache"); v != "" {
		info.CacheRaw = raw(v)
		word, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		info.Cache = lookup(cloudfrontCache, strings.ToLower(word))
	}
	// X-Amz-Cf-Pop names the edge location: a three-letter IATA code, the
	// facility's number and a tier suffix, e.g. "FRA56-P1" (the access
	// logs' x-edge-location, "a three-letter code and an arbitrarily
	// assigned number, for example, DFW3"). The POP is what precedes the
	// suffix.
	if v := h.Get("X-Amz-Cf-Pop"); v != "" {
		info.POPRaw = raw(v)
		code, _, _ := strings.Cut(strings.TrimSpace(v), "-")
		info.POP = probe.POPCode(code)
	}
}

// Fastly. X-Cache has one entry per cache server that handled the request
// (several with shielding), each HIT or MISS: "If the value of
// fastly_info.state is HIT or any value that starts with HIT- then X-Cache
// will be set to HIT, otherwise MISS"; a PASS reports as MISS, stale and
// synthetic responses as HIT, and "any entries in this header except MISS
// indicate that the request was satisfied from cache and not forwarded to
// origin" (https://www.fastly.com/documentation/reference/http/http-headers/X-Cache/).
// The finer states only appear when a service's own VCL writes them.
var fastlyCache = map[string]probe.CacheStatus{
	"HIT":       probe.CacheHit,
	"MISS":      probe.CacheMiss,
	"HIT-STALE": probe.CacheStale,
	"HIT-SYNTH": probe.CacheDynamic,
	"PASS":      probe.CacheBypass,
	"HITPASS":   probe.CacheBypass,
}

func fastlyEdge(h http.Header, info *probe.CDNInfo) {
	if entries := listValues(h, "X-Cache"); len(entries) > 0 {
		info.CacheRaw = raw(strings.Join(h.Values("X-Cache"), ", "))
		info.Cache = alongPath(reversed(entries, func(e string) probe.CacheStatus {
			return lookup(fastlyCache, strings.ToUpper(e))
		}))
	} else if hits := listValues(h, "X-Cache-Hits"); len(hits) > 0 {
		// X-Cache-Hits: obj.hits per server; "any positive value in this
		// header indicates that the request was satisfied from cache"
		// (https://www.fastly.com/documentation/reference/http/http-headers/X-Cache-Hits/).
		info.CacheRaw = raw(strings.Join(h.Values("X-Cache-Hits"), ", "))
		info.Cache = alongPath(reversed(hits, func(e string) probe.CacheStatus {
			n, err := strconv.ParseUint(e, 10, 64)
			switch {
			case err != nil:
				return probe.CacheUnknown
			case n > 0:
				return probe.CacheHit
			}
			return probe.CacheMiss
		}))
	}
	// X-Served-By lists the delivering cache servers as
	// cache-{datacenter}{nodeid}-{DATACENTER}
	// (https://www.fastly.com/documentation/reference/http/http-headers/X-Served-By/);
	// with shielding the shield comes first and the local delivering node,
	// the shopper's POP, last ("X-Served-By: cache-iad2120-IAD,
	// cache-sjc3120-SJC", https://docs.fastly.com/en/guides/understanding-cache-hit-and-miss-headers-with-shielded-services).
	if nodes := listValues(h, "X-Served-By"); len(nodes) > 0 {
		info.POPRaw = raw(strings.Join(h.Values("X-Served-By"), ", "))
		last := nodes[len(nodes)-1]
		if i := strings.LastIndexByte(last, '-'); i >= 0 && strings.HasPrefix(strings.ToLower(last), "cache-") {
			info.POP = probe.POPCode(last[i+1:])
		}
	}
}

// reversed classifies entries listed shield-first (Fastly's order) and
// returns them nearest-the-shopper first, as alongPath wants them.
func reversed(entries []string, classify func(string) probe.CacheStatus) []probe.CacheStatus {
	out := make([]probe.CacheStatus, len(entries))
	for i, e := range entries {
		out[len(entries)-1-i] = classify(e)
	}
	return out
}

// Akamai. X-Cache is only sent to a request carrying the debug header
// "Pragma: akamai-x-cache-on", as "<code> from <edge server> (AkamaiGHost/…)",
// the codes documented at
// https://techdocs.akamai.com/edge-diagnostics/docs/pragma-headers ;
// X-Cache-Remote (akamai-x-cache-remote-on) is the parent's, in the same
// form, and X-Check-Cacheable (akamai-x-check-cacheable) says YES or NO.
var akamaiCache = map[string]probe.CacheStatus{
	"TCP_HIT":          probe.CacheHit, // fresh in cache, from disk
	"TCP_MEM_HIT":      probe.CacheHit, // fresh in cache, from memory
	"TCP_IMS_HIT":      probe.CacheHit, // If-Modified-Since from the client, fresh in cache
	"TCP_NEGATIVE_HIT": probe.CacheHit, // a cached negative answer (a 404) hit
	"TCP_MISS":         probe.CacheMiss,
	// Stale in cache, refreshed from the origin with If-Modified-Since:
	// unchanged (REFRESH_HIT) or a new object (REFRESH_MISS).
	"TCP_REFRESH_HIT":  probe.CacheExpired,
	"TCP_REFRESH_MISS": probe.CacheExpired,
	// Stale in cache, the origin unreachable: the stale object was served.
	"TCP_REFRESH_FAIL_HIT": probe.CacheStale,
}

// akamaiCacheStatus reads the Akamai-Cache-Status header of the "Return
// Cache Status" behavior, "{status} from child[, {status} from parent]"
// (https://techdocs.akamai.com/property-mgr/docs/return-cache-status).
var akamaiCacheStatus = map[string]probe.CacheStatus{
	"hit":          probe.CacheHit,
	"miss":         probe.CacheMiss,
	"refreshhit":   probe.CacheExpired, // stale, revalidated with the origin (304)
	"hitstale":     probe.CacheStale,   // stale, nothing newer from the origin: served stale
	"notcacheable": probe.CacheDynamic, // the property never caches it: always the origin
	"constructed":  probe.CacheDynamic, // the edge built the response itself
	"redirect":     probe.CacheDynamic,
	// Error: authorization denied or a WAF rejection; no cache status.
}

func akamaiEdge(h http.Header, info *probe.CDNInfo) {
	if v := h.Get("X-Cache"); strings.HasPrefix(strings.ToUpper(strings.TrimSpace(v)), "TCP_") {
		info.CacheRaw = raw(v)
		code, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		states := []probe.CacheStatus{lookup(akamaiCache, strings.ToUpper(code))}
		if remote := h.Get("X-Cache-Remote"); remote != "" {
			rc, _, _ := strings.Cut(strings.TrimSpace(remote), " ")
			states = append(states, lookup(akamaiCache, strings.ToUpper(rc)))
		}
		info.Cache = alongPath(states)
		if info.Cache == probe.CacheMiss && strings.EqualFold(strings.TrimSpace(h.Get("X-Check-Cacheable")), "NO") {
			info.Cache = probe.CacheDynamic // a miss of what the property never caches
		}
		// The edge server is named, not its location: Akamai exposes no POP
		// code, so pop stays unknown and pop_raw keeps the server's name.
		if server, ok := strings.CutPrefix(strings.TrimSpace(rest), "from "); ok {
			name, _, _ := strings.Cut(server, " ")
			info.POPRaw = raw(name)
		}
		return
	}
	if v := h.Get("Akamai-Cache-Status"); v != "" {
		info.CacheRaw = raw(v)
		var states []probe.CacheStatus // child (the edge) first, then the parent
		for _, e := range listValues(h, "Akamai-Cache-Status") {
			word, _, _ := strings.Cut(e, " ")
			states = append(states, lookup(akamaiCacheStatus, strings.ToLower(word)))
		}
		info.Cache = alongPath(states)
	}
}

func lookup(m map[string]probe.CacheStatus, k string) probe.CacheStatus {
	if s, ok := m[k]; ok {
		return s
	}
	return probe.CacheUnknown
}
