package schedule

import (
	"math"
	"slices"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Stats is a snapshot of the Runner's health, for logs, /metrics and tests.
// Counters are totals since New.
type Stats struct {
	Checks          int   // checks scheduled now
	Runs            int64 // runs finished (each handed to the sink)
	Failed          int64 // runs whose final attempt failed
	Attempts        int64 // attempts made, retries included
	Retries         int64 // attempts after the first of a run
	Skipped         int64 // runs skipped because the check's previous run was in flight
	Missed          int64 // scheduled times passed over because the scheduler fell behind
	ShutdownSkipped int64 // runs due but not started when the runner stopped
	Panics          int64 // probe panics recovered
	Abandoned       int64 // attempts whose probe ignored its deadline
	SaveErrors      int64 // sink calls that failed
	InFlight        int   // attempts executing now
	Waiting         int   // runs and retries waiting for a concurrency slot

	// Lag is the distribution of schedule lag (first attempt's start −
	// scheduled time) over the most recent runs.
	Lag LagStats

	PerCheck map[string]CheckStats
}

// LagStats summarises schedule lag. Count, Sum and Max are over all runs
// since New (monotonic, as a Prometheus summary's _count and _sum must be);
// Samples and the percentiles over the last lagWindow runs.
type LagStats struct {
	Samples  int
	P50, P99 time.Duration
	Max      time.Duration
	Count    int64         // runs whose lag was recorded, ever
	Sum      time.Duration // total lag of those runs
}

// CheckStats is one check's scheduling state.
type CheckStats struct {
	Offset        time.Duration // its jitter offset
	Next          time.Time     // its next scheduled time (zero if no longer scheduled)
	Runs          int64
	Skipped       int64
	Missed        int64
	LastScheduled time.Time
	LastStarted   time.Time
	LastLag       time.Duration
	LastOK        bool
	LastFailure   probe.FailureKind // empty when the last run passed
}

// lagWindow is how many recent lags the percentiles are computed over.
const lagWindow = 4096

// counters are the Runner's mutable statistics, guarded by Runner.mu.
type counters struct {
	runs, failed, attempts, retries, skipped, missed, shutdownSkipped int64
	panics, abandoned, saveErrors                                     int64
	inFlight, waiting                                                 int

	lags     []time.Duration // ring of the last lagWindow lags
	lagNext  int
	lagMax   time.Duration
	lagCount int64
	lagSum   time.Duration
	checks   map[string]*CheckStats
}

func newCounters() counters {
	return counters{checks: map[string]*CheckStats{}}
}

func (c *counters) check(name string) *CheckStats {
	cs, ok := c.checks[name]
	if !ok {
		cs = &CheckStats{}
		c.checks[name] = cs
	}
	return cs
}

func (c *counters) recordRun(run probe.Run) {
	final := run.Final()
	c.runs++
	if !final.OK {
		c.failed++
	}
	if len(c.lags) < lagWindow {
		c.lags = append(c.lags, run.Lag)
	} else {
		c.lags[c.lagNext] = run.Lag
		c.lagNext = (c.lagNext + 1) % lagWindow
	}
	c.lagMax = max(c.lagMax, run.Lag)
	c.lagCount++
	c.lagSum += run.Lag
	cs := c.check(run.Check)
	cs.Runs++
	cs.LastScheduled = run.ScheduledAt
	cs.LastStarted = run.StartedAt
	cs.LastLag = run.Lag
	cs.LastOK = final.OK
	cs.LastFailure = ""
	if final.Failure != nil {
		cs.LastFailure = final.Failure.Kind
	}
}

// Stats returns a snapshot of the Runner's counters. Only copying happens
// under the scheduler's lock: sorting the lag window (and building the
// per-check map) would otherwise delay dispatch on every /metrics scrape.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	c := &r.st
	s := Stats{
		Checks:          len(r.entries),
		Runs:            c.runs,
		Failed:          c.failed,
		Attempts:        c.attempts,
		Retries:         c.retries,
		Skipped:         c.skipped,
		Missed:          c.missed,
		ShutdownSkipped: c.shutdownSkipped,
		Panics:          c.panics,
		Abandoned:       c.abandoned,
		SaveErrors:      c.saveErrors,
		InFlight:        c.inFlight,
		Waiting:         c.waiting,
		Lag:             LagStats{Max: c.lagMax, Count: c.lagCount, Sum: c.lagSum},
	}
	lags := slices.Clone(c.lags)
	checks := make([]namedCheck, 0, len(c.checks))
	for name, cs := range c.checks {
		checks = append(checks, namedCheck{name: name, stats: *cs})
	}
	next := make([]namedCheck, 0, len(r.entries))
	for name, e := range r.entries {
		next = append(next, namedCheck{name: name, stats: CheckStats{Next: e.next, Offset: e.offset}})
	}
	r.mu.Unlock()

	s.Lag = lagStats(lags, s.Lag)
	s.PerCheck = make(map[string]CheckStats, len(checks))
	for _, nc := range checks {
		v := nc.stats
		v.Next, v.Offset = time.Time{}, 0
		s.PerCheck[nc.name] = v
	}
	for _, nc := range next {
		v := s.PerCheck[nc.name]
		v.Next, v.Offset = nc.stats.Next, nc.stats.Offset
		s.PerCheck[nc.name] = v
	}
	return s
}

// namedCheck is a check's stats copied out from under the lock.
type namedCheck struct {
	name  string
	stats CheckStats
}

// lagStats fills in the window's percentiles; lags is a private copy and is
// sorted in place.
func lagStats(lags []time.Duration, ls LagStats) LagStats {
	if len(lags) == 0 {
		return ls
	}
	slices.Sort(lags)
	ls.Samples = len(lags)
	ls.P50 = percentile(lags, 50)
	ls.P99 = percentile(lags, 99)
	return ls
}

// percentile returns the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}
