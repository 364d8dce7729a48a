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
}

// CoreVitals are the vitals the CWV "% good" target judges; FCP and TTFB
// are reported but, as on web.dev, are diagnostics rather than Core Web
// Vitals.
var CoreVitals = []probe.Vital{probe.VitalLCP, probe.VitalCLS, probe.VitalINP}

// pageSample is one measurement of a named page.
type pageSample struct {
	name string
	m    probe.PageMetrics
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
		out = append(out, pageSample{r.Check, *f.PageMetrics})
	}
	for _, p := range f.Pages {
		out = append(out, pageSample{p.Name, p.PageMetrics})
	}
	return out
}

// Pages summarises every page the runs measured, in order of first
// appearance.
func Pages(runs []probe.Run) []PageStats {
	type acc struct {
		samples int
		load    []float64
		tbt     []float64
		vitals  map[probe.Vital][]float64
	}
	var order []string
	accs := map[string]*acc{}
	for _, r := range runs {
		for _, p := range pagesOf(r) {
			a := accs[p.name]
			if a == nil {
				a = &acc{vitals: map[probe.Vital][]float64{}}
				accs[p.name] = a
				order = append(order, p.name)
			}
			a.samples++
			if p.m.LoadMS > 0 {
				a.load = append(a.load, p.m.LoadMS)
			}
			if p.m.SettleReason != "" {
				a.tbt = append(a.tbt, p.m.TBTMS)
			}
			for _, v := range probe.AllVitals {
				if x := p.m.Vitals.Get(v); x != nil {
					a.vitals[v] = append(a.vitals[v], *x)
				}
			}
		}
	}
	out := make([]PageStats, 0, len(order))
	for _, name := range order {
		a := accs[name]
		ps := PageStats{Name: name, Samples: a.samples, Load: Distribute(a.load), TBT: Distribute(a.tbt)}
		for _, v := range probe.AllVitals {
			ps.Vitals = append(ps.Vitals, vitalStats(v, a.vitals[v]))
		}
		out = append(out, ps)
	}
	return out
}

func vitalStats(v probe.Vital, values []float64) VitalStats {
	vs := VitalStats{Vital: v, Samples: len(values)}
	if len(values) == 0 {
		return vs
	}
	p75, _ := Percentile(values, 75)
	vs.P75 = &p75
	for _, x := range values {
		switch probe.Rate(v, x) {
		case probe.RatingGood:
			vs.Good++
		case probe.RatingNeedsImprovement:
			vs.NeedsImprovement++
		default:
			vs.Poor++
		}
	}
	good := 100 * float64(vs.Good) / float64(vs.Samples)
	vs.GoodPercent = &good
	return vs
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
