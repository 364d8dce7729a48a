package slo

import (
	"cmp"
	"slices"

	"github.com/storeprobe/storeprobe/probe"
)

// Edge is where a run's final response came from: the CDN in front, its
// normalised cache status and the point of presence that answered.
type Edge struct {
	Provider string            `json:"provider"` // cloudflare, cloudfront, fastly, akamai
	Cache    probe.CacheStatus `json:"cache"`
	POP      string            `json:"pop"` // probe.POPCode's form, or probe.UnknownPOP
}

// edgeOf is the edge of a run's final attempt: nil without a CDN (no HTTP
// details, no CDN object, or the provider none).
func edgeOf(f probe.Result) *Edge {
	if f.HTTPDetails == nil || f.HTTPDetails.CDN == nil {
		return nil
	}
	c := f.HTTPDetails.CDN
	if c.Provider == "" || c.Provider == "none" {
		return nil
	}
	e := Edge{Provider: c.Provider, Cache: cmp.Or(c.Cache, probe.CacheUnknown), POP: cmp.Or(c.POP, probe.UnknownPOP)}
	return &e
}

// EdgeCount is how many runs an edge answered.
type EdgeCount struct {
	Edge
	Runs int `json:"runs"`
}

// addEdge counts n runs answered by e into counts, kept sorted (provider,
// cache, pop) so equal counts compare equal.
func addEdge(counts []EdgeCount, e Edge, n int) []EdgeCount {
	i, found := slices.BinarySearchFunc(counts, e, func(c EdgeCount, e Edge) int { return compareEdge(c.Edge, e) })
	if found {
		counts[i].Runs += n
		return counts
	}
	return slices.Insert(counts, i, EdgeCount{Edge: e, Runs: n})
}

func compareEdge(a, b Edge) int {
	return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Cache, b.Cache), cmp.Compare(a.POP, b.POP))
}

// CDNStats summarise the responses one CDN gave a check over the window:
// the report's cache status per check.
type CDNStats struct {
	Provider string `json:"provider"`
	// Responses are the runs whose final response came through this CDN
	// (outside maintenance and probe faults).
	Responses int `json:"responses"`
	// Cache counts the responses by normalised status (probe.CacheStatuses).
	Cache map[probe.CacheStatus]int `json:"cache"`
	// HitPercent is 100·hit/(responses − unknown): the share of the
	// responses whose status the CDN told that it served from its cache;
	// nil when none told.
	HitPercent *float64 `json:"hit_percent"`
	// POPs counts the responses by the point of presence that answered.
	POPs map[string]int `json:"pops"`
}

// CDN summarises edge counts per provider, sorted by provider.
func CDN(counts []EdgeCount) []CDNStats {
	var out []CDNStats
	for _, c := range counts {
		if len(out) == 0 || out[len(out)-1].Provider != c.Provider {
			out = append(out, CDNStats{Provider: c.Provider, Cache: map[probe.CacheStatus]int{}, POPs: map[string]int{}})
		}
		s := &out[len(out)-1]
		s.Responses += c.Runs
		s.Cache[c.Cache] += c.Runs
		s.POPs[c.POP] += c.Runs
	}
	for i := range out {
		s := &out[i]
		if told := s.Responses - s.Cache[probe.CacheUnknown]; told > 0 {
			hit := 100 * float64(s.Cache[probe.CacheHit]) / float64(told)
			s.HitPercent = &hit
		}
	}
	return out
}
