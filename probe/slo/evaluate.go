package slo

import (
	"github.com/storeprobe/storeprobe/probe"
)

// Target names, as in the config's slo keys and the report's JSON (defined
// once, in the domain root).
const (
	TargetUptime   = probe.TargetUptime
	TargetLoadTime = probe.TargetLoadTime
	TargetSuccess  = probe.TargetSuccess
	TargetCWVGood  = probe.TargetCWVGood
)

// Status is a verdict's outcome.
type Status string

// Verdict outcomes. NoData is not a breach: a window without eligible runs
// says nothing about the target.
const (
	Pass   Status = "pass"
	Fail   Status = "fail"
	NoData Status = "no_data"
)

// Verdict judges one target.
type Verdict struct {
	Target string      `json:"target"`          // uptime | load_time | success | cwv_good
	Page   string      `json:"page,omitempty"`  // per-page targets: the page
	Vital  probe.Vital `json:"vital,omitempty"` // cwv_good: the vital
	// Want is the target: a minimum percent for uptime, success and
	// cwv_good, a maximum p75 in ms for load_time.
	Want   float64  `json:"want"`
	Got    *float64 `json:"got"` // nil with no data
	Unit   string   `json:"unit"`
	Status Status   `json:"status"`
}

// Summary is one check judged over a window.
type Summary struct {
	Check        string                    `json:"check"`
	Type         probe.CheckType           `json:"type"`
	Availability Availability              `json:"availability"`
	Failures     map[probe.FailureKind]int `json:"failures"`
	Load         Distribution              `json:"load_ms"`
	Pages        []PageStats               `json:"pages"`
	Budget       *Budget                   `json:"error_budget"`
	Verdicts     []Verdict                 `json:"verdicts"`
}

// Breached reports whether any target failed.
func (s Summary) Breached() bool {
	for _, v := range s.Verdicts {
		if v.Status == Fail {
			return true
		}
	}
	return false
}

// Evaluate judges the runs of one check against its targets. Targets that
// are zero are not judged. The load target is judged on the check's p75
// load for HTTP and browser checks, and per page (p75 of load_ms) for
// journeys, whose whole duration is no page load. The CWV target is judged
// per page for each Core Web Vital that has samples.
func Evaluate(check string, typ probe.CheckType, runs []probe.Run, target probe.SLO) Summary {
	s := Summary{
		Check:        check,
		Type:         typ,
		Availability: Availabilities(runs),
		Failures:     FailuresByKind(runs),
		Load:         LoadDistribution(runs),
		Pages:        Pages(runs),
	}
	a := s.Availability
	s.Budget = ErrorBudget(a, target.Uptime)
	if target.Uptime > 0 {
		s.Verdicts = append(s.Verdicts, atLeast(Verdict{Target: TargetUptime, Want: target.Uptime, Unit: "%"}, a.UptimePercent))
	}
	if target.Success > 0 {
		s.Verdicts = append(s.Verdicts, atLeast(Verdict{Target: TargetSuccess, Want: target.Success, Unit: "%"}, a.SuccessPercent))
	}
	if target.LoadTime > 0 {
		want := probe.Millis(target.LoadTime)
		if typ == probe.TypeJourney {
			for _, p := range s.Pages {
				s.Verdicts = append(s.Verdicts, atMost(Verdict{Target: TargetLoadTime, Page: p.Name, Want: want, Unit: "ms"}, p.Load.P75))
			}
			if len(s.Pages) == 0 {
				s.Verdicts = append(s.Verdicts, Verdict{Target: TargetLoadTime, Want: want, Unit: "ms", Status: NoData})
			}
		} else {
			s.Verdicts = append(s.Verdicts, atMost(Verdict{Target: TargetLoadTime, Want: want, Unit: "ms"}, s.Load.P75))
		}
	}
	if target.CWVGood > 0 {
		judged := false
		for _, p := range s.Pages {
			for _, v := range CoreVitals {
				vs := p.Vital(v)
				if vs.Samples == 0 {
					continue // INP without interactions: nothing to judge
				}
				judged = true
				s.Verdicts = append(s.Verdicts, atLeast(Verdict{Target: TargetCWVGood, Page: p.Name, Vital: v, Want: target.CWVGood, Unit: "%"}, vs.GoodPercent))
			}
		}
		if !judged {
			s.Verdicts = append(s.Verdicts, Verdict{Target: TargetCWVGood, Want: target.CWVGood, Unit: "%", Status: NoData})
		}
	}
	return s
}

func atLeast(v Verdict, got *float64) Verdict {
	v.Got = got
	switch {
	case got == nil:
		v.Status = NoData
	case *got >= v.Want-eps:
		v.Status = Pass
	default:
		v.Status = Fail
	}
	return v
}

func atMost(v Verdict, got *float64) Verdict {
	v.Got = got
	switch {
	case got == nil:
		v.Status = NoData
	case *got <= v.Want+eps:
		v.Status = Pass
	default:
		v.Status = Fail
	}
	return v
}
