// Package slo judges stored runs against a check's targets: uptime, load
// time percentiles, success rate, Core Web Vitals "% good", error budget and
// burn rate. Everything here is a pure function of runs and targets, so the
// report, alerts and dashboards agree on one set of definitions:
//
//   - Only a run's final attempt counts: retries are reported, but the last
//     attempt decides (CONVENTIONS.md).
//   - Runs that failed for the probe's own reasons (probe_error,
//     browser_crash; also a run with no attempt at all) are neither up nor
//     down: they are excluded from uptime, success and load, and counted
//     separately. With no eligible run there is no verdict, not a breach.
//   - Runs inside a maintenance window are stored but judged by nothing:
//     they are counted as maintenance and left out of everything else
//     (uptime, success, failures, load, pages, budget, burn rates), so a
//     planned outage spends no budget.
//   - Percentiles use the nearest-rank method: the p-th percentile of n
//     samples is the smallest sample with at least p % of samples at or
//     below it, i.e. sorted[ceil(p/100·n)−1]. It is always a value that was
//     actually measured, and needs no interpolation between a fast and a
//     timed-out run.
package slo

import (
	"math"
	"slices"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// eps absorbs float noise when a measured value sits exactly on a target
// (999 of 1000 runs up against 99.9 %): on the target counts as met.
const eps = 1e-9

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// values, which need not be sorted; ok is false when values is empty.
func Percentile(values []float64, p float64) (v float64, ok bool) {
	if len(values) == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
		return 0, false
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return percentileSorted(s, p), true
}

func percentileSorted(sorted []float64, p float64) float64 {
	n := len(sorted)
	// p·n first keeps integer inputs exact (95·20/100 = 19, not 19.000…04).
	rank := int(math.Ceil(p*float64(n)/100 - eps))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// Distribution is a sample count and its nearest-rank p50/p75/p95; the
// percentiles are nil when there are no samples.
type Distribution struct {
	Samples int      `json:"samples"`
	P50     *float64 `json:"p50"`
	P75     *float64 `json:"p75"`
	P95     *float64 `json:"p95"`
}

// Distribute summarises values.
func Distribute(values []float64) Distribution {
	d := Distribution{Samples: len(values)}
	if len(values) == 0 {
		return d
	}
	s := slices.Clone(values)
	slices.Sort(s)
	p := func(q float64) *float64 { v := percentileSorted(s, q); return &v }
	d.P50, d.P75, d.P95 = p(50), p(75), p(95)
	return d
}

// probeFault reports whether a run is excluded from the target's figures.
func probeFault(r probe.Run) bool { return len(r.Attempts) == 0 || r.ProbeFault() }

// Availability counts runs for uptime and success.
type Availability struct {
	Runs        int `json:"runs"`         // every run in the window, maintenance included
	Eligible    int `json:"eligible"`     // runs that count: Runs − Maintenance − ProbeFaults
	Up          int `json:"up"`           // eligible runs whose final attempt passed
	FirstTry    int `json:"first_try_ok"` // eligible runs whose first attempt passed
	ProbeFaults int `json:"probe_errors"` // runs failed by the probe itself
	// UptimePercent is 100·Up/Eligible; nil without eligible runs.
	UptimePercent *float64 `json:"uptime_percent"`
	// SuccessPercent is 100·FirstTry/Eligible: what a shopper, who gets no
	// retry, experiences. Nil without eligible runs.
	SuccessPercent *float64 `json:"success_percent"`
	// Maintenance counts runs inside a maintenance window: in Runs, in
	// nothing else.
	Maintenance int `json:"maintenance"`
}

// Availabilities counts runs as up, down, probe faults or maintenance.
func Availabilities(runs []probe.Run) Availability {
	var c Counts
	for _, r := range runs {
		c.Add(OutcomeOf(r))
	}
	return c.Availability()
}

// FailuresByKind counts runs by the failure kind of their final attempt,
// probe faults included (a run with no attempt counts as probe_error),
// maintenance excluded.
func FailuresByKind(runs []probe.Run) map[probe.FailureKind]int {
	var c Counts
	for _, r := range runs {
		c.Add(OutcomeOf(r))
	}
	if c.Failures == nil {
		return map[probe.FailureKind]int{}
	}
	return c.Failures
}

// Load returns a run's load time in ms: total time for HTTP, load_ms
// (loadEventEnd) for a browser page, the whole journey's duration for a
// journey. ok is false for runs that did not measure a load: probe faults
// and failures other than too_slow and timeout (a refused connection is
// fast, not a fast page). too_slow counts: it is a complete, slow load.
//
// A timeout counts as a censored sample at the attempt's duration: the load
// took at least that long (the timeout), so it belongs at the slow end of
// the distribution. Leaving it out would let a page that times out on a
// third of its runs pass its p75 target on the fast runs alone. Its exact
// value only matters where a percentile lands on it, and then the verdict
// (above any sensible target) is right regardless.
func Load(r probe.Run) (ms float64, ok bool) {
	if probeFault(r) {
		return 0, false
	}
	f := r.Final()
	if !f.OK {
		switch {
		case f.Failure == nil:
			return 0, false
		case f.Failure.Kind == probe.FailureTimeout:
			return censored(f)
		case f.Failure.Kind != probe.FailureTooSlow:
			return 0, false
		}
	}
	switch {
	case r.Type == probe.TypeHTTP && f.HTTPDetails != nil:
		return f.Timings.Total, true
	case r.Type == probe.TypeBrowser:
		if f.BrowserDetails != nil && f.PageMetrics != nil && f.PageMetrics.LoadMS > 0 {
			return f.PageMetrics.LoadMS, true
		}
		return 0, false
	}
	return f.DurationMS, true
}

// censored is a timed-out attempt's load: the longest time it recorded (its
// duration is cut at the timeout; a page whose load event fired before the
// deadline hit elsewhere took at least load_ms). A timeout that recorded no
// time at all measured nothing.
func censored(f probe.Result) (float64, bool) {
	ms := f.DurationMS
	if f.HTTPDetails != nil {
		ms = max(ms, f.Timings.Total)
	}
	if f.BrowserDetails != nil && f.PageMetrics != nil {
		ms = max(ms, f.PageMetrics.LoadMS)
	}
	return ms, ms > 0
}

// Point is one sample of a load time series.
type Point struct {
	At time.Time `json:"at"` // the run's scheduled time
	MS float64   `json:"ms"`
	OK bool      `json:"ok"` // false for a too_slow or timed-out run
}

// LoadSeries returns each check's load samples in scheduled order
// (maintenance excluded).
func LoadSeries(runs []probe.Run) map[string][]Point {
	out := map[string][]Point{}
	for _, r := range runs {
		if ms, ok := Load(r); ok && r.Maintenance == "" {
			out[r.Check] = append(out[r.Check], Point{At: r.ScheduledAt, MS: ms, OK: r.OK()})
		}
	}
	for _, ps := range out {
		slices.SortStableFunc(ps, func(a, b Point) int { return a.At.Compare(b.At) })
	}
	return out
}

// LoadDistribution is the distribution of the runs' load times
// (maintenance excluded).
func LoadDistribution(runs []probe.Run) Distribution {
	var v []float64
	for _, r := range runs {
		if ms, ok := Load(r); ok && r.Maintenance == "" {
			v = append(v, ms)
		}
	}
	return Distribute(v)
}

// Budget is the uptime error budget over the window: how many failed runs
// the target allows, how much of that is left and how fast it burns.
type Budget struct {
	TargetPercent float64 `json:"target_percent"`
	Allowed       float64 `json:"allowed_failures"` // (100 − target)/100 · eligible runs
	Failed        int     `json:"failed"`           // eligible runs that failed
	// Remaining is the fraction of the budget left, 1 − Failed/Allowed:
	// 1 untouched, 0 spent, negative overspent. Nil when the target is
	// 100 % (no budget) or no run was eligible.
	Remaining *float64 `json:"remaining"`
	// BurnRate is the observed failure ratio over the allowed one: 1 spends
	// the budget exactly over the window, 10 spends it in a tenth of it.
	BurnRate *float64 `json:"burn_rate"`
	// BurnRates are the burn rates over windows back from the window's
	// end, shortest first, the whole window last (the report fills them).
	BurnRates []BurnRate `json:"burn_rates"`
}

// BurnRate is the error budget's burn over one window ending where the
// report's window ends.
type BurnRate struct {
	Window   string    `json:"window"` // 1h, 6h, 1d, 3d, or the report's whole window as asked for
	Since    time.Time `json:"since"`  // the window's start; it ends at the report's end
	Runs     int       `json:"runs"`   // runs in it, maintenance included
	Eligible int       `json:"eligible"`
	Failed   int       `json:"failed"` // eligible runs that failed
	// Rate is the observed failure ratio over the allowed one; nil with
	// no eligible run or a 100 % target.
	Rate *float64 `json:"burn_rate"`
}

// Burn is the burn rate of counted runs against an uptime target.
func Burn(window string, since time.Time, c Counts, targetPercent float64) BurnRate {
	b := BurnRate{Window: window, Since: since, Runs: c.Runs, Eligible: c.Eligible, Failed: c.Eligible - c.Up}
	if bud := ErrorBudget(c.Availability(), targetPercent); bud != nil {
		b.Rate = bud.BurnRate
	}
	return b
}

// ErrorBudget computes the budget for an uptime target (percent) from
// counted runs. It returns nil when there is no target.
func ErrorBudget(a Availability, targetPercent float64) *Budget {
	if targetPercent <= 0 {
		return nil
	}
	b := &Budget{TargetPercent: targetPercent, Failed: a.Eligible - a.Up}
	allowedRatio := (100 - targetPercent) / 100
	b.Allowed = allowedRatio * float64(a.Eligible)
	if a.Eligible == 0 || allowedRatio <= 0 {
		return b
	}
	rem := 1 - float64(b.Failed)/b.Allowed
	burn := (float64(b.Failed) / float64(a.Eligible)) / allowedRatio
	b.Remaining, b.BurnRate = &rem, &burn
	return b
}
