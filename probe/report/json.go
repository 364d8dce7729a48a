package report

import (
	"encoding/json"
	"io"
	"math"

	"github.com/storeprobe/storeprobe/probe/slo"
)

// WriteJSON writes the report as indented JSON, the documented contract,
// with every float rounded to a few decimals (see rounded).
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep.rounded())
}

// decimals is the precision of the JSON report's floats: µs for
// milliseconds, a thousandth of a percent, which no target needs more of.
const decimals = 3

// rounded returns rep with every float rounded to decimals
// (0.012999999999999262 allowed failures are 0.013). rep itself is left
// alone: verdicts were judged on exact values. A failed verdict's value that
// would round onto its target is rounded away from it instead, so it never
// reads as meeting it.
func (rep Report) rounded() Report {
	out := rep
	out.Checks = make([]Check, len(rep.Checks))
	for i, c := range rep.Checks {
		t := &c.Targets
		t.Uptime, t.LoadTimeMS, t.Success, t.CWVGood = round3(t.Uptime), round3(t.LoadTimeMS), round3(t.Success), round3(t.CWVGood)
		t.PaymentReadyMS = round3(t.PaymentReadyMS)
		c.Availability.UptimePercent = round3p(c.Availability.UptimePercent)
		c.Availability.SuccessPercent = round3p(c.Availability.SuccessPercent)
		c.Load = roundDist(c.Load)
		c.Pages = roundPages(c.Pages)
		c.CDN = roundCDN(c.CDN)
		if c.Locations != nil {
			locs := make([]Location, len(c.Locations))
			for j, l := range c.Locations {
				l.Availability.UptimePercent = round3p(l.Availability.UptimePercent)
				l.Availability.SuccessPercent = round3p(l.Availability.SuccessPercent)
				l.Load = roundDist(l.Load)
				l.Pages = roundPages(l.Pages)
				l.CDN = roundCDN(l.CDN)
				locs[j] = l
			}
			c.Locations = locs
		}
		if c.Budget != nil {
			b := *c.Budget
			b.TargetPercent, b.Allowed = round3(b.TargetPercent), round3(b.Allowed)
			b.Remaining, b.BurnRate = round3p(b.Remaining), round3p(b.BurnRate)
			b.BurnRates = make([]slo.BurnRate, len(c.Budget.BurnRates))
			for j, br := range c.Budget.BurnRates {
				br.Rate = round3p(br.Rate)
				b.BurnRates[j] = br
			}
			c.Budget = &b
		}
		verdicts := make([]slo.Verdict, len(c.Verdicts))
		for j, v := range c.Verdicts {
			v.Want = round3(v.Want)
			if v.Got != nil {
				g := round3(*v.Got)
				scale := math.Pow10(decimals)
				switch {
				case v.Status != slo.Fail:
				case v.Unit == "ms" && g <= v.Want: // a maximum: round up
					g = math.Ceil(*v.Got*scale) / scale
				case v.Unit != "ms" && g >= v.Want: // a minimum: round down
					g = math.Floor(*v.Got*scale) / scale
				}
				v.Got = &g
			}
			verdicts[j] = v
		}
		c.Verdicts = verdicts
		out.Checks[i] = c
	}
	return out
}

func round3(f float64) float64 {
	scale := math.Pow10(decimals)
	return math.Round(f*scale) / scale
}

func round3p(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return ptr(round3(*p))
}

func roundPages(in []slo.PageStats) []slo.PageStats {
	pages := make([]slo.PageStats, len(in))
	for j, p := range in {
		p.Load = roundDist(p.Load)
		p.TBT = roundDist(p.TBT)
		if p.PaymentReady != nil {
			d := roundDist(*p.PaymentReady)
			p.PaymentReady = &d
		}
		if p.Analytics != nil {
			a := make(map[string]slo.AnalyticsStats, len(p.Analytics))
			for v, st := range p.Analytics {
				st.FiredPercent = round3(st.FiredPercent)
				a[v] = st
			}
			p.Analytics = a
		}
		vitals := make([]slo.VitalStats, len(p.Vitals))
		for k, v := range p.Vitals {
			v.P75, v.GoodPercent = round3p(v.P75), round3p(v.GoodPercent)
			vitals[k] = v
		}
		p.Vitals = vitals
		pages[j] = p
	}
	return pages
}

func roundCDN(in []slo.CDNStats) []slo.CDNStats {
	out := make([]slo.CDNStats, len(in))
	for i, c := range in {
		c.HitPercent = round3p(c.HitPercent)
		out[i] = c
	}
	return out
}

func roundDist(d slo.Distribution) slo.Distribution {
	d.P50, d.P75, d.P95 = round3p(d.P50), round3p(d.P75), round3p(d.P95)
	return d
}
