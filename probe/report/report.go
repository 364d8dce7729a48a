// Package report judges the runs a store holds against each check's targets
// and writes the verdict for a terminal (WriteText) and for programs
// (WriteJSON).
//
// A report covers one window of scheduled time. For each check defined in
// the store or run or skipped in the window it gives availability (the final
// attempt decides, probe faults left out), failure kinds, the load
// distribution, per-page vitals, the error budget, a verdict per target, and
// a warning when most runs were probe faults and the figures mean little. It
// also says how far InfluxDB delivery has fallen behind (the outbox).
//
// Report's JSON form is a public contract: its keys are documented in the
// README's "storeprobe report" section and CI scripts read them, so the JSON
// tags here change only compatibly.
//
// The report reads the store through Store, declared here in the domain's
// types (storage/sqlite's *Store satisfies it), so that this package, like
// all of probe/, never imports storage. It only reads, and it reads runs one
// check at a time, so a long window of a large fleet need not fit in memory.
package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// Store is what a report reads: stored runs, skips and check definitions of
// the window, and the state of the InfluxDB outbox.
type Store interface {
	// RunCheckNames lists the checks with a run selected by q.
	RunCheckNames(ctx context.Context, q probe.RunQuery) ([]string, error)
	// Runs returns the runs selected by q, oldest scheduled first: a
	// check's type is taken from its newest run.
	Runs(ctx context.Context, q probe.RunQuery) ([]probe.Run, error)
	// Skips returns the scheduled runs that did not happen, selected by q.
	Skips(ctx context.Context, q probe.RunQuery) ([]probe.Skip, error)
	// Checks returns the stored check definitions, targets included.
	Checks(ctx context.Context) ([]probe.Check, error)
	// OutboxStats describes the runs still waiting for InfluxDB.
	OutboxStats(ctx context.Context) (probe.OutboxStats, error)
	// Rejected returns up to limit points InfluxDB refused, newest first.
	Rejected(ctx context.Context, limit int) ([]probe.RejectedPoint, error)
}

// Report is a store's window judged, as Build made it. Its JSON form is
// `storeprobe report --output json`.
type Report struct {
	Store    string  `json:"store"`
	Window   Window  `json:"window"`
	Checks   []Check `json:"checks"`
	Outbox   Outbox  `json:"outbox"`
	Breached bool    `json:"breached"`
}

// Window is the span of scheduled time the report covers.
type Window struct {
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Duration string    `json:"duration"` // as asked for: 24h, 7d
}

// Targets are a check's configured SLO targets.
type Targets struct {
	Uptime     float64 `json:"uptime"`       // percent; 0 = none
	LoadTimeMS float64 `json:"load_time_ms"` // p75 limit; 0 = none
	Success    float64 `json:"success"`      // percent; 0 = none
	CWVGood    float64 `json:"cwv_good"`     // percent; 0 = none
}

// Check is one check's figures over the window and its verdicts.
type Check struct {
	Check        string                    `json:"check"`
	Type         probe.CheckType           `json:"type"`
	URL          string                    `json:"url"`
	Targets      Targets                   `json:"targets"`
	Skipped      int                       `json:"skipped"`
	Availability slo.Availability          `json:"availability"`
	Failures     map[probe.FailureKind]int `json:"failures"`
	Load         slo.Distribution          `json:"load_ms"`
	Pages        []slo.PageStats           `json:"pages"`
	Budget       *slo.Budget               `json:"error_budget"`
	Verdicts     []slo.Verdict             `json:"verdicts"`
	Warnings     []Warning                 `json:"warnings"`
}

// Warning is something wrong with a check's figures themselves, not a
// breached target: most of its runs measured nothing.
type Warning struct {
	Kind    string `json:"kind"` // WarnProbeErrors
	Message string `json:"message"`
}

// WarnProbeErrors is the kind of warning for a check whose runs are mostly
// probe faults (a check the probe cannot run: a bad resolver, a missing
// browser). Its uptime rests on few runs or none, and without a warning its
// "no data" verdicts would pass CI for ever.
const WarnProbeErrors = "probe_errors"

// Outbox is the state of delivery to InfluxDB.
type Outbox struct {
	Depth          int64      `json:"depth"`
	Oldest         *time.Time `json:"oldest"`
	RejectedPoints int64      `json:"rejected_points"`
	Dropped        int64      `json:"dropped"`
	RecentRejected []Rejected `json:"recent_rejected"`
}

// Rejected is one point InfluxDB refused, newest first.
type Rejected struct {
	Check      string    `json:"check"`
	Reason     string    `json:"reason"`
	Line       string    `json:"line"`
	RejectedAt time.Time `json:"rejected_at"`
}

// recentRejected bounds how many refused points the report lists.
const recentRejected = 5

// Options choose what Build reports on.
type Options struct {
	StorePath    string    // how the report names the store
	Since, Until time.Time // scheduled times: Since inclusive, Until exclusive
	Duration     string    // the window as asked for (24h, 7d), shown as is
	Check        string    // only this check; "" for all
}

// UnknownCheckError is Build's answer to Options.Check naming a check the
// store has no definition, run or skip of. It is the caller's mistake, not
// the store's, so front ends tell it apart with errors.As.
type UnknownCheckError struct {
	Check string
	Store string   // Options.StorePath
	Known []string // the checks defined in the store, sorted
}

func (e *UnknownCheckError) Error() string {
	return fmt.Sprintf("no check named %q in %s (checks: %s)", e.Check, e.Store, strings.Join(e.Known, ", "))
}

// Build reads the window from the store and judges each check. Runs are
// read one check at a time: a month of a large fleet does not fit in memory
// at once, one check's month does.
func Build(ctx context.Context, store Store, o Options) (Report, error) {
	only := o.Check
	q := probe.RunQuery{Since: o.Since, Until: o.Until, Check: only}
	withRuns, err := store.RunCheckNames(ctx, q)
	if err != nil {
		return Report{}, err
	}
	skips, err := store.Skips(ctx, q)
	if err != nil {
		return Report{}, err
	}
	defs, err := store.Checks(ctx)
	if err != nil {
		return Report{}, err
	}
	stats, err := store.OutboxStats(ctx)
	if err != nil {
		return Report{}, err
	}
	rejected, err := store.Rejected(ctx, recentRejected)
	if err != nil {
		return Report{}, err
	}

	skipped := map[string]int{}
	for _, s := range skips {
		skipped[s.Check]++
	}
	known := map[string]probe.Check{}
	names := map[string]bool{}
	for _, d := range defs {
		known[d.Name] = d
		if only == "" || d.Name == only {
			names[d.Name] = true
		}
	}
	for _, n := range withRuns {
		names[n] = true
	}
	for n := range skipped {
		names[n] = true
	}
	if only != "" && !names[only] {
		all := make([]string, 0, len(known))
		for n := range known {
			all = append(all, n)
		}
		sort.Strings(all)
		return Report{}, &UnknownCheckError{Check: only, Store: o.StorePath, Known: all}
	}

	rep := Report{
		Store:  o.StorePath,
		Window: Window{Since: o.Since, Until: o.Until, Duration: o.Duration},
		Checks: []Check{},
		Outbox: Outbox{Depth: stats.Depth, RejectedPoints: stats.Rejected, Dropped: stats.Dropped,
			RecentRejected: []Rejected{}},
	}
	for _, r := range rejected {
		rep.Outbox.RecentRejected = append(rep.Outbox.RecentRejected,
			Rejected{Check: r.Check, Reason: r.Reason, Line: r.Line, RejectedAt: r.RejectedAt})
	}
	if !stats.Oldest.IsZero() {
		o := stats.Oldest
		rep.Outbox.Oldest = &o
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		def := known[name]
		q.Check = name
		runs, err := store.Runs(ctx, q)
		if err != nil {
			return Report{}, err
		}
		typ := def.Type
		if len(runs) > 0 {
			typ = runs[len(runs)-1].Type // what the check is now, if its config changed
		}
		s := slo.Evaluate(name, typ, runs, def.SLO)
		rc := Check{
			Check: s.Check, Type: s.Type, URL: def.URL,
			Targets: Targets{Uptime: def.SLO.Uptime, LoadTimeMS: probe.Millis(def.SLO.LoadTime),
				Success: def.SLO.Success, CWVGood: def.SLO.CWVGood},
			Skipped:      skipped[name],
			Availability: s.Availability, Failures: s.Failures, Load: s.Load,
			Pages: s.Pages, Budget: s.Budget, Verdicts: s.Verdicts,
			Warnings: probeErrorWarning(s.Availability, runs),
		}
		if rc.Pages == nil {
			rc.Pages = []slo.PageStats{}
		}
		if rc.Verdicts == nil {
			rc.Verdicts = []slo.Verdict{}
		}
		rep.Checks = append(rep.Checks, rc)
		rep.Breached = rep.Breached || s.Breached()
	}
	return rep, nil
}

// ProbeErrorChecks counts the checks warned of for probe errors.
func (r Report) ProbeErrorChecks() int {
	n := 0
	for _, c := range r.Checks {
		for _, w := range c.Warnings {
			if w.Kind == WarnProbeErrors {
				n++
				break
			}
		}
	}
	return n
}

// Fails says whether the report fails a gate such as CI: a target was
// breached or, with failOnProbeErrors, a check is warned of for probe errors
// (a check nobody can run must not pass for ever on "no data").
func (r Report) Fails(failOnProbeErrors bool) bool {
	return r.Breached || failOnProbeErrors && r.ProbeErrorChecks() > 0
}

// probeErrorWarning warns when more than half of a check's runs were probe
// faults, quoting the newest one's message, which usually names the cause.
func probeErrorWarning(a slo.Availability, runs []probe.Run) []Warning {
	if a.ProbeFaults == 0 || 2*a.ProbeFaults <= a.Runs {
		return []Warning{}
	}
	kinds := map[probe.FailureKind]int{}
	var last probe.Run
	for _, r := range runs {
		if len(r.Attempts) > 0 && !r.ProbeFault() {
			continue
		}
		k := probe.FailureProbeError
		if f := r.Final().Failure; f != nil && len(r.Attempts) > 0 {
			k = f.Kind
		}
		kinds[k]++
		if !r.ScheduledAt.Before(last.ScheduledAt) {
			last = r
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, string(k))
	}
	sort.Strings(names)
	for i, k := range names {
		names[i] = fmt.Sprintf("%s %d", k, kinds[probe.FailureKind(k)])
	}
	var msg string
	if a.Eligible == 0 {
		msg = fmt.Sprintf("all %d %s were probe faults (%s): nothing was measured", a.Runs, plural(a.Runs, "run", "runs"), strings.Join(names, ", "))
	} else {
		msg = fmt.Sprintf("%d of %d runs were probe faults (%s): the figures rest on %d %s", a.ProbeFaults, a.Runs,
			strings.Join(names, ", "), a.Eligible, plural(a.Eligible, "run", "runs"))
	}
	if f := last.Final().Failure; f != nil && f.Message != "" {
		m := f.Message
		if utf8.RuneCountInString(m) > 200 {
			m = string([]rune(m)[:197]) + "..."
		}
		msg += "; latest: " + m
	}
	return []Warning{{Kind: WarnProbeErrors, Message: msg}}
}

// plural picks the noun form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
