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

// LagStats summarises schedule lag. Max is over all runs; the percentiles
// over the last lagWindow runs.
type LagStats struct {
	Samples  int
	P50, P99 time.Duration
	Max      time.Duration
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

	lags    []time.Duration // ring of the last lagWindow lags
	lagNext int
	lagMax  time.Duration
	checks  map[string]*CheckStats
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

// Stats returns a snapshot of the Runner's counters.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
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
		Lag:             lagStats(c.lags, c.lagMax),
		PerCheck:        make(map[string]CheckStats, len(c.checks)),
	}
	for name, cs := range c.checks {
		v := *cs
		v.Next, v.Offset = time.Time{}, 0
		s.PerCheck[name] = v
	}
	for name, e := range r.entries {
		v := s.PerCheck[name]
		v.Next, v.Offset = e.next, e.offset
		s.PerCheck[name] = v
	}
	return s
}

func lagStats(lags []time.Duration, maxLag time.Duration) LagStats {
	if len(lags) == 0 {
		return LagStats{}
	}
	sorted := slices.Clone(lags)
	slices.Sort(sorted)
	return LagStats{
		Samples: len(sorted),
		P50:     percentile(sorted, 50),
		P99:     percentile(sorted, 99),
		Max:     maxLag,
	}
}

// percentile returns the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}
