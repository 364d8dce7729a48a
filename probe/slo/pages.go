package slo

import (
	"github.com/storeprobe/storeprobe/probe"
)

// VitalStats summarises one vital of one page over the window.
type VitalStats struct {
	Vital            probe.Vital `json:"vital"`
	Samples          int         `json:"samples"` // observed values (INP needs an interaction)
	P75              *float64    `json:"p75"`     // nearest-rank, over raw samples; nil without samples
	Good             int         `json:"good"`
	NeedsImprovement int         `json:"needs_improvement"`
	Poor             int         `json:"poor"`
	// GoodPercent is 100·Good/Samples, each sample rated with probe.Rate
	// (web.dev thresholds); nil without samples.
	GoodPercent *float64 `json:"good_percent"`
}

// PageStats summarises one named page over the window.
type PageStats struct {
	Name    string       `json:"name"`
	Samples int          `json:"samples"` // times the page was measured
	Load    Distribution `json:"load_ms"` // of load_ms (loadEventEnd), pages that fired load
	Vitals  []VitalStats `json:"vitals"`  // in probe.AllVitals order
	// TBT is the distribution of tbt_ms (Total Blocking Time, the lab
	// proxy for INP on pages nobody clicks) over the pages measured with
	// it (a settle_reason says so; pages stored before have none).
	TBT Distribution `json:"tbt_ms"`
	// PaymentProvider and PaymentReady are set on a page waited on for a
	// payment field (a wait_for_payment step, a browser check's payment
	// key): the gateway, and the distribution of payment_ready_ms over
	// the waits that saw the field ready.
	PaymentProvider string        `json:"payment_provider,omitempty"`
	PaymentReady    *Distribution `json:"payment_ready_ms,omitempty"`
	// Analytics are, per vendor that fired on the page at least once
	// (ga4, adobe), how often it did; omitted when none ever did.
	Analytics map[string]AnalyticsStats `json:"analytics,omitempty"`
}

// AnalyticsStats are one analytics vendor's beacons on a page over the
// window: on how many of its measurements it fired, its hits on them, and
// that share of the measurements (a tag that stops firing shows as a
// falling share before a page's expectation fails).
type AnalyticsStats struct {
	Pages        int     `json:"pages"`
	Hits         int     `json:"hits"`
	FiredPercent float64 `json:"fired_percent"`
}

// CoreVitals are the vitals the CWV "% good" target judges; FCP and TTFB
// are reported but, as on web.dev, are diagnostics rather than Core Web
// Vitals.
var CoreVitals = []probe.Vital{probe.VitalLCP, probe.VitalCLS, probe.VitalINP}

// pageSample is one measurement of a named page.
type pageSample struct {
	name  string
	index int // −1: a browser check's own page; 0..: a journey's
	m     probe.PageMetrics
}

// pagesOf lists the pages a run's final attempt measured: a journey's named
// pages, or a single-page browser check's own page under the check's name.
// Pages a failed journey completed count; probe faults do not.
func pagesOf(r probe.Run) []pageSample {
	if probeFault(r) {
		return nil
	}
	f := r.Final()
	if f.BrowserDetails == nil {
		return nil
	}
	var out []pageSample
	if f.PageMetrics != nil {
		out = append(out, pageSample{r.Check, -1, *f.PageMetrics})
	}
	for i, p := range f.Pages {
		out = append(out, pageSample{p.Name, i, p.PageMetrics})
	}
	return out
}

// Pages summarises every page the runs measured (maintenance excluded), in
// order of first appearance.
func Pages(runs []probe.Run) []PageStats {
	var s Samples
	for _, r := range runs {
		s.Add(OutcomeOf(r))
	}
	return s.Stats()
}

// Vital returns the stats of vital v.
func (p PageStats) Vital(v probe.Vital) VitalStats {
	for _, vs := range p.Vitals {
		if vs.Vital == v {
			return vs
		}
	}
	return VitalStats{Vital: v}
}
