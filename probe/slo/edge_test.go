package slo

import (
	"reflect"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// TestCDNStats: the runs a CDN answered are counted by cache status and
// POP; the hit share leaves out the responses whose status nobody told;
// maintenance, probe faults and responses without a CDN count for nothing.
func TestCDNStats(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	run := func(provider string, cache probe.CacheStatus, pop string, mut func(*probe.Run)) probe.Run {
		r := probe.Run{Check: "home", Type: probe.TypeHTTP, ScheduledAt: at, Attempts: []probe.Result{{OK: true,
			HTTPDetails: &probe.HTTPDetails{StatusCode: 200}}}}
		if provider != "" {
			r.Attempts[0].HTTPDetails.CDN = &probe.CDNInfo{Provider: provider, Cache: cache, POP: pop}
		}
		if mut != nil {
			mut(&r)
		}
		return r
	}
	runs := []probe.Run{
		run("cloudflare", probe.CacheHit, "FRA", nil),
		run("cloudflare", probe.CacheHit, "FRA", nil),
		run("cloudflare", probe.CacheMiss, "AMS", nil),
		run("cloudflare", probe.CacheUnknown, probe.UnknownPOP, nil),
		run("fastly", probe.CacheHit, "IAD", nil),
		run("none", probe.CacheUnknown, probe.UnknownPOP, nil), // no CDN in front
		run("", "", "", nil),
		run("cloudflare", probe.CacheHit, "FRA", func(r *probe.Run) { r.Maintenance = "deploy" }),
		run("cloudflare", probe.CacheHit, "FRA", func(r *probe.Run) {
			r.Attempts[0].OK, r.Attempts[0].Failure = false, probe.Fail(probe.FailureProbeError, "", "no sockets")
		}),
	}
	var c Counts
	for _, r := range runs {
		c.Add(OutcomeOf(r))
	}
	got := CDN(c.Edges)
	hit := 100 * 2.0 / 3
	all := 100.0
	want := []CDNStats{
		{Provider: "cloudflare", Responses: 4, Cache: map[probe.CacheStatus]int{probe.CacheHit: 2, probe.CacheMiss: 1, probe.CacheUnknown: 1},
			HitPercent: &hit, POPs: map[string]int{"FRA": 2, "AMS": 1, probe.UnknownPOP: 1}},
		{Provider: "fastly", Responses: 1, Cache: map[probe.CacheStatus]int{probe.CacheHit: 1}, HitPercent: &all, POPs: map[string]int{"IAD": 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CDN stats\n got %+v\nwant %+v", got, want)
	}
	// Counts merged in another order say the same.
	var a, b Counts
	for i, r := range runs {
		if i%2 == 0 {
			a.Add(OutcomeOf(r))
		} else {
			b.Add(OutcomeOf(r))
		}
	}
	b.Merge(a)
	if !reflect.DeepEqual(CDN(b.Edges), want) {
		t.Errorf("merged: %+v", CDN(b.Edges))
	}
	if s := CDN(nil); s != nil {
		t.Errorf("no edges: %+v", s)
	}
}
