// Package report judges the runs a store holds against each check's targets
// and writes the verdict for a terminal (WriteText), for programs
// (WriteJSON), for CI test reports (WriteJUnit) and for a pull request or a
// ticket (WriteMarkdown).
//
// A report covers one window of scheduled time. For each check defined in
// the store or run or skipped in the window it gives availability (the final
// attempt decides, probe faults left out), failure kinds, the load
// distribution, per-page vitals, the error budget with its burn rates over
// 1h, 6h, 1d, 3d and the whole window, a verdict per target, and warnings
// when most runs were probe faults or a target was judged on too few
// samples to mean anything. On request it splits the figures per location.
// It also lists the alerts fired and resolved in the window and says how far
// InfluxDB delivery has fallen behind (the outbox).
//
// Report's JSON form is a public contract: its keys are documented in the
// README's "storeprobe report" section and CI scripts read them, so the JSON
// tags here change only compatibly.
//
// The report reads the store through Store, declared here in the domain's
// types (storage/sqlite's *Store satisfies it), so that this package, like
// all of probe/, never imports storage. It only reads, and it reads tallies
// (counts and samples per check and location, probe/slo), never whole runs:
// a store may count a long window from rollups. Percentiles are exact
// (nearest rank over every sample) when the window holds at most
// ExactRunLimit runs or Options.Exact asks for it, and read from histograms
// within slo.HistogramError otherwise; counts, ratings and so every uptime,
// success, budget and cwv_good figure are exact either way.
package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// Store is what a report reads: the window's runs counted, skips, alert
// history and check definitions, and the state of the InfluxDB outbox.
type Store interface {
	// Tally counts the runs q selects, one slo.Tally per check and
	// location, with the samples mode asks for. Counts are exact whatever
	// the mode; SamplesExact keeps every sample.
	Tally(ctx context.Context, q probe.RunQuery, mode slo.SampleMode) ([]slo.Tally, error)
	// AlertEvents returns the notifications handed to notifiers in q's
	// window, oldest first.
	AlertEvents(ctx context.Context, q probe.RunQuery) ([]alert.Event, error)
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
	// Percentiles says how the window's percentiles were computed.
	Percentiles Percentiles `json:"percentiles"`
	// Alerts are the alerts that fired or resolved in the window (first
	// notifications, not their repeats), oldest first.
	Alerts []Alert `json:"alerts"`
	// ByLocation: the checks carry their per-location split.
	ByLocation bool `json:"by_location"`
}

// Percentiles says how exact a report's percentiles are.
type Percentiles struct {
	// Method is "nearest_rank" (over every sample: exact) or "histogram"
	// (from the store's hourly rollups).
	Method string `json:"method"`
	// MaxErrorPercent bounds a percentile's relative error: 0, or 0.5 for
	// histograms (slo.HistogramError).
	MaxErrorPercent float64 `json:"max_error_percent"`
}

// Percentile methods.
const (
	MethodNearestRank = "nearest_rank"
	MethodHistogram   = "histogram"
)

// ExactRunLimit is the most runs in a window for which Build reads every
// sample (exact nearest-rank percentiles) without being asked to: reading
// them costs about 3 µs a run, so the default report stays well under two
// seconds. Longer windows read percentiles from histograms.
const ExactRunLimit = 250_000

// Alert is one alert notification of the window's alert history.
type Alert struct {
	Rule      string     `json:"rule"`
	Check     string     `json:"check"`
	Location  string     `json:"location"`
	Severity  string     `json:"severity"`
	Status    string     `json:"status"` // firing | resolved
	At        time.Time  `json:"at"`     // when the notification was handed over
	Summary   string     `json:"summary"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"` // resolved alerts only
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
	// PaymentReadyMS is the p75 limit of each page's payment_ready_ms;
	// absent without one.
	PaymentReadyMS float64 `json:"payment_ready_ms,omitempty"`
	// Preset is the SLO preset the targets started from (storefront,
	// payment, none; "" when none was named); FromPreset the targets that
	// kept its value rather than one set beside it.
	Preset     string   `json:"preset"`
	FromPreset []string `json:"from_preset"`
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
	// CDN is the cache status of the check's responses per CDN that
	// answered them (hit share, statuses, POPs); [] when none did.
	CDN      []slo.CDNStats `json:"cdn"`
	Budget   *slo.Budget    `json:"error_budget"`
	Verdicts []slo.Verdict  `json:"verdicts"`
	Warnings []Warning      `json:"warnings"`
	// Locations split the figures per location, sorted by name (with
	// Options.ByLocation; absent otherwise).
	Locations []Location `json:"locations,omitempty"`
}

// Location is a check's figures at one location. Targets are judged over
// all locations together; these say where a problem is.
type Location struct {
	Location     string                    `json:"location"`
	Availability slo.Availability          `json:"availability"`
	Failures     map[probe.FailureKind]int `json:"failures"`
	Load         slo.Distribution          `json:"load_ms"`
	Pages        []slo.PageStats           `json:"pages"`
	CDN          []slo.CDNStats            `json:"cdn"`
}

// Warning is something wrong with a check's figures themselves, not a
// breached target: most of its runs measured nothing, or a target was
// judged on too few samples.
type Warning struct {
	Kind    string `json:"kind"` // WarnProbeErrors, WarnSmallSample
	Message string `json:"message"`
}

// WarnSmallSample is the kind of warning for a check with a verdict judged
// on fewer samples than its target needs to mean anything
// (slo.MinSamples): a single failure decides it.
const WarnSmallSample = "small_sample"

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
	ByLocation   bool      // split each check's figures per location
	// Exact reads every sample whatever the window's size (exact
	// percentiles, slower over long windows).
	Exact bool
	// MaxExactRuns overrides ExactRunLimit (0 keeps it; negative: never
	// read every sample unless Exact), to tune or test the histogram path.
	MaxExactRuns int
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

// burnWindows are the burn-rate windows the report gives besides the whole
// window, back from its end: the SRE workbook's alerting windows (1h, 6h)
// and the day and three days an on-call looks back over.
var burnWindows = [...]struct {
	name string
	d    time.Duration
}{{"1h", time.Hour}, {"6h", 6 * time.Hour}, {"1d", 24 * time.Hour}, {"3d", 72 * time.Hour}}

// Build reads the window from the store and judges each check. The store
// hands over tallies, never runs, so the window's length costs the store,
// not this package's memory.
func Build(ctx context.Context, store Store, o Options) (Report, error) {
	only := o.Check
	q := probe.RunQuery{Since: o.Since, Until: o.Until, Check: only}
	// Histograms first: cheap from rollups, and their counts say whether
	// the window is small enough to read every sample.
	tallies, err := store.Tally(ctx, q, slo.SamplesHistogram)
	if err != nil {
		return Report{}, err
	}
	runs := 0
	for _, t := range tallies {
		runs += t.Counts.Runs
	}
	pct := Percentiles{Method: MethodHistogram, MaxErrorPercent: 100 * slo.HistogramError}
	limit := ExactRunLimit
	if o.MaxExactRuns != 0 {
		limit = o.MaxExactRuns
	}
	if o.Exact || runs <= limit {
		if tallies, err = store.Tally(ctx, q, slo.SamplesExact); err != nil {
			return Report{}, err
		}
		pct = Percentiles{Method: MethodNearestRank}
	}
	// Burn-rate windows: counts only, each back from the window's end.
	type burnSpan struct {
		name  string
		since time.Time
		by    map[string]slo.Counts
	}
	var spans []burnSpan
	for _, w := range burnWindows {
		since := o.Until.Add(-w.d)
		if !since.After(o.Since) {
			break // as long as the window or longer: the whole window says it
		}
		ts, err := store.Tally(ctx, probe.RunQuery{Since: since, Until: o.Until, Check: only}, slo.SamplesNone)
		if err != nil {
			return Report{}, err
		}
		sp := burnSpan{name: w.name, since: since, by: map[string]slo.Counts{}}
		for _, t := range ts {
			c := sp.by[t.Check]
			c.Merge(t.Counts)
			sp.by[t.Check] = c
		}
		spans = append(spans, sp)
	}
	skips, err := store.Skips(ctx, q)
	if err != nil {
		return Report{}, err
	}
	events, err := store.AlertEvents(ctx, q)
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
	byCheck := map[string][]slo.Tally{}
	for _, t := range tallies {
		byCheck[t.Check] = append(byCheck[t.Check], t)
	}
	known := map[string]probe.Check{}
	names := map[string]bool{}
	for _, d := range defs {
		known[d.Name] = d
		if only == "" || d.Name == only {
			names[d.Name] = true
		}
	}
	for n := range byCheck {
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
		Percentiles: pct,
		Alerts:      alertsOf(events),
		ByLocation:  o.ByLocation,
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
		var total slo.Tally
		for _, t := range byCheck[name] {
			total.Merge(t)
		}
		typ := def.Type
		if total.Counts.LastType != "" {
			typ = total.Counts.LastType // what the check is now, if its config changed
		}
		s := slo.Judge(name, typ, total.Counts, total.Samples, def.SLO)
		if s.Budget != nil {
			for _, sp := range spans {
				s.Budget.BurnRates = append(s.Budget.BurnRates, slo.Burn(sp.name, sp.since, sp.by[name], def.SLO.Uptime))
			}
			s.Budget.BurnRates = append(s.Budget.BurnRates, slo.Burn(o.Duration, o.Since, total.Counts, def.SLO.Uptime))
		}
		from := def.SLO.FromPreset.Names()
		if from == nil {
			from = []string{}
		}
		rc := Check{
			Check: s.Check, Type: s.Type, URL: def.URL,
			Targets: Targets{Uptime: def.SLO.Uptime, LoadTimeMS: probe.Millis(def.SLO.LoadTime),
				Success: def.SLO.Success, CWVGood: def.SLO.CWVGood, PaymentReadyMS: probe.Millis(def.SLO.PaymentReady),
				Preset: def.SLO.Preset, FromPreset: from},
			Skipped:      skipped[name],
			Availability: s.Availability, Failures: s.Failures, Load: s.Load,
			Pages: s.Pages, CDN: cdnOrEmpty(s.CDN), Budget: s.Budget, Verdicts: s.Verdicts,
			Warnings: append(probeErrorWarning(total.Counts), smallSampleWarning(s.Verdicts)...),
		}
		if rc.Pages == nil {
			rc.Pages = []slo.PageStats{}
		}
		if rc.Verdicts == nil {
			rc.Verdicts = []slo.Verdict{}
		}
		if o.ByLocation {
			rc.Locations = []Location{}
			for _, t := range byCheck[name] { // sorted by location
				ls := slo.Judge(name, typ, t.Counts, t.Samples, probe.SLO{})
				rc.Locations = append(rc.Locations, Location{Location: t.Location, Availability: ls.Availability,
					Failures: ls.Failures, Load: ls.Load, Pages: ls.Pages, CDN: cdnOrEmpty(ls.CDN)})
			}
		}
		rep.Checks = append(rep.Checks, rc)
		rep.Breached = rep.Breached || s.Breached()
	}
	return rep, nil
}

func cdnOrEmpty(c []slo.CDNStats) []slo.CDNStats {
	if c == nil {
		return []slo.CDNStats{}
	}
	return c
}

// alertsOf lists the alert history's firing and resolved notifications;
// repeats of a firing alert are reminders, not events.
func alertsOf(events []alert.Event) []Alert {
	out := []Alert{}
	for _, e := range events {
		n := e.Notification
		if n.Repeat {
			continue
		}
		out = append(out, Alert{Rule: n.Alert, Check: n.Check, Location: n.Location, Severity: string(n.Severity),
			Status: string(n.Status), At: e.At, Summary: n.Summary, StartedAt: n.StartedAt, EndedAt: n.EndedAt})
	}
	return out
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

// probeErrorWarning warns when more than half of a check's runs outside
// maintenance were probe faults, quoting the newest one's message, which
// usually names the cause.
func probeErrorWarning(c slo.Counts) []Warning {
	judged := c.Runs - c.Maintenance
	if c.ProbeFaults == 0 || 2*c.ProbeFaults <= judged {
		return []Warning{}
	}
	var names []string
	for k, n := range c.Failures {
		if k.ProbeFault() {
			names = append(names, fmt.Sprintf("%s %d", k, n))
		}
	}
	sort.Strings(names)
	var msg string
	if c.Eligible == 0 {
		msg = fmt.Sprintf("all %d %s were probe faults (%s): nothing was measured", judged, plural(judged, "run", "runs"), strings.Join(names, ", "))
	} else {
		msg = fmt.Sprintf("%d of %d runs were probe faults (%s): the figures rest on %d %s", c.ProbeFaults, judged,
			strings.Join(names, ", "), c.Eligible, plural(c.Eligible, "run", "runs"))
	}
	if m := c.LastFaultMessage; m != "" {
		if utf8.RuneCountInString(m) > 200 {
			m = string([]rune(m)[:197]) + "..."
		}
		msg += "; latest: " + m
	}
	return []Warning{{Kind: WarnProbeErrors, Message: msg}}
}

// smallSampleWarning names the verdicts judged on fewer samples than their
// target needs (slo.MinSamples), in one warning.
func smallSampleWarning(vs []slo.Verdict) []Warning {
	var parts []string
	for _, v := range vs {
		if !v.SmallSample {
			continue
		}
		what := v.Target
		if v.Page != "" {
			what += " " + v.Page
		}
		if v.Vital != "" {
			what += " " + string(v.Vital)
		}
		unit := plural(v.Samples, "sample", "samples")
		if v.Target == slo.TargetUptime || v.Target == slo.TargetSuccess {
			unit = plural(v.Samples, "run", "runs")
		}
		parts = append(parts, fmt.Sprintf("%s ≥ %s %% on %d %s (needs %d)", what, trim(v.Want, 3), v.Samples, unit, v.MinSamples))
	}
	if len(parts) == 0 {
		return nil
	}
	return []Warning{{Kind: WarnSmallSample, Message: "small sample, a single failure decides: " + strings.Join(parts, "; ")}}
}

// plural picks the noun form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
