package slo

import (
	"math"

	"github.com/storeprobe/storeprobe/probe"
)

// Target names, as in the config's slo keys and the report's JSON (defined
// once, in the domain root).
const (
	TargetUptime   = probe.TargetUptime
	TargetLoadTime = probe.TargetLoadTime
	TargetSuccess  = probe.TargetSuccess
	TargetCWVGood  = probe.TargetCWVGood
	// TargetPaymentReady judges each page's p75 payment_ready_ms.
	TargetPaymentReady = probe.TargetPaymentReady
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
	Target string      `json:"target"`          // uptime | load_time | success | cwv_good | payment_ready
	Page   string      `json:"page,omitempty"`  // per-page targets: the page
	Vital  probe.Vital `json:"vital,omitempty"` // cwv_good: the vital
	// Want is the target: a minimum percent for uptime, success and
	// cwv_good, a maximum p75 in ms for load_time and payment_ready.
	Want   float64  `json:"want"`
	Got    *float64 `json:"got"` // nil with no data
	Unit   string   `json:"unit"`
	Status Status   `json:"status"`
	// Samples is what Got rests on: eligible runs for uptime and success,
	// load samples for load_time, the vital's samples on the page for
	// cwv_good, the page's ready payment fields for payment_ready.
	Samples int `json:"samples"`
	// MinSamples is the fewest samples at which the target means
	// something (see MinSamples); 0 where the rule does not apply
	// (load_time, a 100 % target).
	MinSamples int `json:"min_samples"`
	// SmallSample: judged (pass or fail) on fewer than MinSamples samples,
	// so a single failed run or poor sample decides the verdict.
	SmallSample bool `json:"small_sample"`
}

// MinSamples is the fewest samples at which a minimum-percent target
// (uptime, success, cwv_good) survives a single failure: n such that
// (n−1)/n ≥ target/100, i.e. n ≥ 1/(1 − target/100), rounded up. Below it
// one failed run (or one poor sample) is already a breach and none is a
// pass, so the verdict says more about luck than about the target:
// 99.9 % needs 1,000 runs, 99.99 % 10,000, 99 % 100, 90 % 10, 75 % 4. It is
// 0 (no minimum) for targets of 100 % or more, which no failure at any
// count survives, and for no target.
func MinSamples(targetPercent float64) int {
	if targetPercent <= 0 || targetPercent >= 100 {
		return 0
	}
	// 1e-6 absorbs float noise: 100/(100−99.9) is 1000.00000000006.
	return int(math.Ceil(100/(100-targetPercent) - 1e-6))
}

// Summary is one check judged over a window.
type Summary struct {
	Check        string                    `json:"check"`
	Type         probe.CheckType           `json:"type"`
	Availability Availability              `json:"availability"`
	Failures     map[probe.FailureKind]int `json:"failures"`
	Load         Distribution              `json:"load_ms"`
	Pages        []PageStats               `json:"pages"`
	// CDN is the cache status of the responses, per CDN (HTTP checks
	// whose responses named one); empty otherwise.
	CDN      []CDNStats `json:"cdn"`
	Budget   *Budget    `json:"error_budget"`
	Verdicts []Verdict  `json:"verdicts"`
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

// Evaluate judges the runs of one check against its targets, every sample
// kept (exact percentiles). It is Judge over the runs' tally.
func Evaluate(check string, typ probe.CheckType, runs []probe.Run, target probe.SLO) Summary {
	var t Tally
	for _, r := range runs {
		o := OutcomeOf(r)
		t.Counts.Add(o)
		t.Samples.Add(o)
	}
	return Judge(check, typ, t.Counts, t.Samples, target)
}

// Judge judges a check's counted runs and samples against its targets.
// Targets that are zero are not judged. The load target is judged on the
// check's p75 load for HTTP and browser checks, and per page (p75 of
// load_ms) for journeys, whose whole duration is no page load. The CWV
// target is judged per page for each Core Web Vital that has samples; the
// payment_ready target per page waited on for a payment field (p75 of
// payment_ready_ms), no_data when no page was.
// Minimum-percent verdicts judged on fewer than MinSamples samples are
// flagged SmallSample.
func Judge(check string, typ probe.CheckType, c Counts, smp Samples, target probe.SLO) Summary {
	s := Summary{
		Check:        check,
		Type:         typ,
		Availability: c.Availability(),
		Failures:     c.Failures,
		Load:         smp.Load.Distribution(),
		Pages:        smp.Stats(),
		CDN:          CDN(c.Edges),
	}
	if s.Failures == nil {
		s.Failures = map[probe.FailureKind]int{}
	}
	a := s.Availability
	s.Budget = ErrorBudget(a, target.Uptime)
	if target.Uptime > 0 {
		s.Verdicts = append(s.Verdicts, atLeast(Verdict{Target: TargetUptime, Want: target.Uptime, Unit: "%", Samples: a.Eligible}, a.UptimePercent))
	}
	if target.Success > 0 {
		s.Verdicts = append(s.Verdicts, atLeast(Verdict{Target: TargetSuccess, Want: target.Success, Unit: "%", Samples: a.Eligible}, a.SuccessPercent))
	}
	if target.LoadTime > 0 {
		want := probe.Millis(target.LoadTime)
		if typ == probe.TypeJourney {
			for _, p := range s.Pages {
				s.Verdicts = append(s.Verdicts, atMost(Verdict{Target: TargetLoadTime, Page: p.Name, Want: want, Unit: "ms", Samples: p.Load.Samples}, p.Load.P75))
			}
			if len(s.Pages) == 0 {
				s.Verdicts = append(s.Verdicts, Verdict{Target: TargetLoadTime, Want: want, Unit: "ms", Status: NoData})
			}
		} else {
			s.Verdicts = append(s.Verdicts, atMost(Verdict{Target: TargetLoadTime, Want: want, Unit: "ms", Samples: s.Load.Samples}, s.Load.P75))
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
				s.Verdicts = append(s.Verdicts, atLeast(Verdict{Target: TargetCWVGood, Page: p.Name, Vital: v, Want: target.CWVGood, Unit: "%", Samples: vs.Samples}, vs.GoodPercent))
			}
		}
		if !judged {
			s.Verdicts = append(s.Verdicts, Verdict{Target: TargetCWVGood, Want: target.CWVGood, Unit: "%", Status: NoData})
		}
	}
	if target.PaymentReady > 0 {
		want, judged := probe.Millis(target.PaymentReady), false
		for _, p := range s.Pages {
			if p.PaymentReady == nil {
				continue
			}
			judged = true
			s.Verdicts = append(s.Verdicts, atMost(Verdict{Target: TargetPaymentReady, Page: p.Name, Want: want, Unit: "ms",
				Samples: p.PaymentReady.Samples}, p.PaymentReady.P75))
		}
		if !judged {
			s.Verdicts = append(s.Verdicts, Verdict{Target: TargetPaymentReady, Want: want, Unit: "ms", Status: NoData})
		}
	}
	return s
}

func atLeast(v Verdict, got *float64) Verdict {
	v.Got = got
	v.MinSamples = MinSamples(v.Want)
	v.SmallSample = got != nil && v.Samples < v.MinSamples
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
