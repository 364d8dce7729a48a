package alert

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// Defaults of probe.Alerting, applied to zero values.
const (
	DefaultDownAfter       = 2
	DefaultUpAfter         = 2
	DefaultRenotify        = 4 * time.Hour
	DefaultCertWarningDays = 14
	DefaultBurnMinRuns     = 20
	DefaultBurnMinFailures = 3
	DefaultBreachWindow    = time.Hour
	DefaultBreachSamples   = 10
	DefaultFlapChanges     = 4
	DefaultFlapWindow      = time.Hour
	DefaultQuorum          = 1
	DefaultSilentAfter     = 10 * time.Minute
)

// WithDefaults returns a with every zero setting at its default.
func WithDefaults(a probe.Alerting) probe.Alerting {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&a.DownAfter, DefaultDownAfter)
	def(&a.UpAfter, DefaultUpAfter)
	def(&a.CertWarningDays, DefaultCertWarningDays)
	def(&a.BurnRate.MinRuns, DefaultBurnMinRuns)
	def(&a.BurnRate.MinFailures, DefaultBurnMinFailures)
	defD(&a.Breach.Window, DefaultBreachWindow)
	def(&a.Breach.MinSamples, DefaultBreachSamples)
	def(&a.Flapping.Changes, DefaultFlapChanges)
	defD(&a.Flapping.Window, DefaultFlapWindow)
	def(&a.Quorum, DefaultQuorum)
	defD(&a.SilentAfter, DefaultSilentAfter)
	if a.Renotify < 0 {
		a.Renotify = 0
	}
	return a
}

// Burn-rate windows and factors: the SRE workbook's multiwindow,
// multi-burn-rate alerts. Each fires only when both of its windows burn
// at least the factor.
var burnRules = []struct {
	rule        string
	long, short time.Duration
	factor      float64
	severity    Severity
}{
	{RuleBurnRateFast, time.Hour, 5 * time.Minute, 14.4, Critical},
	{RuleBurnRateSlow, 6 * time.Hour, 30 * time.Minute, 6, Warning},
}

// longestWindow is how far back the engine keeps outcomes.
const longestWindow = 6 * time.Hour

// Options configure an Engine.
type Options struct {
	Alerting probe.Alerting // zero values take the defaults
	// Now is the clock; time.Now when nil. Windows are measured back from it.
	Now func() time.Time
	// WatchSilence raises probe_silent for a location or probe that sent no
	// run for Alerting.SilentAfter (the fleet evaluator's dead man's switch).
	WatchSilence bool
}

// Delivery is one notification and the notifiers that receive it.
type Delivery struct {
	Notification
	Receivers []string
}

// State is one alert as the engine keeps it, and as a store persists it so
// a restarted probe neither repeats a firing notification nor forgets a
// resolution.
type State struct {
	Key      string
	Rule     string
	Check    string
	Location string
	Probe    string
	Severity Severity
	// Active is whether the condition holds; Since when it began, Until when
	// it ended.
	Active       bool
	Since, Until time.Time
	// Notified is what receivers were last told (empty: nothing yet), and
	// NotifiedAt when.
	Notified   Status
	NotifiedAt time.Time
	Summary    string
	// The failure behind the alert, when a run's failure is.
	FailureKind, Message, Screenshot string
}

// Engine applies the alert rules to runs as they land. It is not safe for
// concurrent use: its caller serialises Observe, Tick and Reload.
type Engine struct {
	o       Options
	pol     probe.Alerting
	now     func() time.Time
	windows []window
	checks  map[string]*checkState
	alerts  map[string]*State
	seen    map[string]seen // probe_silent: by location/probe
	// restored are persisted states waiting for Reconcile.
	restored []State
}

type seen struct {
	location, probe string
	at              time.Time
}

// checkState is what the rules remember of one check.
type checkState struct {
	c       probe.Check
	series  map[string]*series // by location
	marks   []mark             // eligible runs of every location, newest last, within longestWindow
	samples []sample           // what the breach rules read of each run, within the breach window
	names   []string           // locations (marks) and pages (samples) by index, so neither repeats a string
	changes []time.Time        // times the down alert turned on or off, within the flapping window
	// heldAt is the last time a dependency was down: until a condition is
	// re-established by runs after it, the check's alerts stay quiet.
	heldAt   time.Time
	cert     *probe.TLSInfo
	certSeen string // location of the run that saw cert
	url      string
}

// mark is one eligible run for the burn-rate windows: 16 bytes, since a
// check probed every minute keeps 360 of them for the 6h window.
type mark struct {
	at       int64  // scheduled, Unix nanoseconds
	location uint16 // index into names
	failed   bool
	// covered: the failure is part of a streak the down rule reports; the
	// burn-rate rules count only the failures it does not.
	covered bool
}

// sample is what the breach rules keep of one run: its load as probe/slo
// measures it and, per page, the page's load and whether each Core Web
// Vital rated good. Compact, because a breach window holds every run of
// an hour.
type sample struct {
	at      int64 // scheduled, Unix nanoseconds
	load    float32
	hasLoad bool
	pages   []pageSample
}

type pageSample struct {
	page uint16  // index into names
	load float32 // 0: the load event did not fire
	cwv  [3]int8 // LCP, CLS, INP (slo.CoreVitals): -1 unobserved, 0 not good, 1 good
}

// name returns the index of s in cs.names, adding it.
func (cs *checkState) name(s string) uint16 {
	for i, n := range cs.names {
		if n == s {
			return uint16(i)
		}
	}
	cs.names = append(cs.names, s)
	return uint16(len(cs.names) - 1)
}

// series is one check at one location.
type series struct {
	location, probe string
	fails           []time.Time  // scheduled times of the current streak of failed eligible runs
	last            probe.Result // the newest failed attempt
	passes          int          // passing runs since the last failure
	down            bool
	faults          int // consecutive probe faults
	healthy         int // runs without a probe fault since the last one
	unhealthy       bool
	lastFault       probe.Result
}

// New returns an Engine watching checks.
func New(o Options, checks []probe.Check) (*Engine, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &Engine{o: o, now: o.Now, checks: map[string]*checkState{}, alerts: map[string]*State{}, seen: map[string]seen{}}
	if err := e.Reload(o.Alerting, checks); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload replaces the policy and the checks. A check that is gone resolves
// its alerts; the others keep their state.
func (e *Engine) Reload(a probe.Alerting, checks []probe.Check) error {
	ws, err := compileWindows(a.Maintenance)
	if err != nil {
		return err
	}
	e.pol, e.windows = WithDefaults(a), ws
	keep := map[string]*checkState{}
	for _, c := range checks {
		if c.Name == "" {
			return errors.New("alert: a check without a name")
		}
		cs := e.checks[c.Name]
		if cs == nil {
			cs = &checkState{series: map[string]*series{}}
		}
		cs.c = c
		cs.url = probe.CheckRedactor(c).URL(c.URL)
		keep[c.Name] = cs
	}
	e.checks = keep
	for _, a := range e.alerts {
		if _, ok := e.checks[a.Check]; !ok && a.Check != "" && a.Active {
			a.Active, a.Until = false, e.now()
			a.Summary = a.Check + " is no longer configured"
		}
	}
	return nil
}

// Observe applies one finished run and returns the notifications it causes.
func (e *Engine) Observe(run probe.Run) []Delivery {
	e.observe(run)
	return e.reconcile()
}

// Replay applies a stored run without notifying: a restarted probe rebuilds
// its windows and streaks from the store, then calls Reconcile.
func (e *Engine) Replay(run probe.Run) { e.observe(run) }

// Tick re-evaluates what time alone changes (repeats, silent probes,
// flapping that settled, windows that moved on) and returns the
// notifications due.
func (e *Engine) Tick() []Delivery {
	now := e.now()
	for _, cs := range e.checks {
		cs.prune(now, e.pol)
		e.evaluate(cs, now)
	}
	if e.o.WatchSilence {
		for k, s := range e.seen {
			e.set(State{Key: RuleProbeSilent + ":" + k, Rule: RuleProbeSilent, Location: s.location, Probe: s.probe, Severity: Critical},
				now.Sub(s.at) > e.pol.SilentAfter, s.at, func(a *State) {
					a.Summary = "no results from probe " + s.probe + " at " + s.location + " since " + clock(s.at)
				})
		}
	}
	out := e.reconcile()
	if e.pol.Renotify > 0 {
		for _, a := range e.sortedAlerts() {
			if a.Active && a.Notified == Firing && now.Sub(a.NotifiedAt) >= e.pol.Renotify && !e.held(a, now) {
				a.NotifiedAt = now
				out = append(out, e.delivery(a, true))
			}
		}
	}
	return out
}

// Reconcile returns the notifications that bring receivers up to date with
// the alerts' states: after Restore and Replay, what changed while the
// probe was away. The replayed runs decide each alert of a check they
// cover; the persisted state says what its receivers were told.
func (e *Engine) Reconcile() []Delivery {
	for _, s := range e.restored {
		cs := e.checks[s.Check]
		replayed := cs != nil && len(cs.series) > 0
		switch a := e.alerts[s.Key]; {
		case a != nil:
			a.Notified, a.NotifiedAt = s.Notified, s.NotifiedAt
		case !replayed && (cs != nil || s.Check == ""):
			// No run says otherwise: it stands as it was.
			st := s
			e.alerts[s.Key] = &st
		case s.Notified == Firing:
			// It ended while the probe was away (or its check is gone).
			st := s
			st.Active, st.Until = false, e.now()
			e.alerts[s.Key] = &st
		}
	}
	e.restored = nil
	return e.reconcile()
}

// States returns every alert that is active or whose receivers were told
// it fires, for a store to persist.
func (e *Engine) States() []State {
	out := make([]State, 0, len(e.alerts))
	for _, a := range e.sortedAlerts() {
		out = append(out, *a)
	}
	return out
}

// Restore takes persisted states; then Replay the stored runs and call
// Reconcile.
func (e *Engine) Restore(states []State) { e.restored = append(e.restored, states...) }

func (e *Engine) observe(run probe.Run) {
	cs := e.checks[run.Check]
	if cs == nil || run.Maintenance != "" {
		return
	}
	if _, in := e.InMaintenance(cs.c, run.ScheduledAt); in {
		return
	}
	now := e.now()
	k := run.Location + "/" + run.Probe
	if prev, ok := e.seen[k]; !ok || run.ScheduledAt.After(prev.at) {
		e.seen[k] = seen{location: run.Location, probe: run.Probe, at: run.ScheduledAt}
	}
	s := cs.series[run.Location]
	if s == nil {
		s = &series{location: run.Location}
		cs.series[run.Location] = s
	}
	s.probe = run.Probe
	f := run.Final()
	if len(run.Attempts) == 0 || run.ProbeFault() {
		s.faults++
		s.healthy = 0
		s.lastFault = f
		if s.faults >= e.pol.DownAfter {
			s.unhealthy = true
		}
	} else {
		s.faults = 0
		s.healthy++
		if s.unhealthy && s.healthy >= e.pol.UpAfter {
			s.unhealthy = false
		}
		if run.OK() {
			s.passes++
			if !s.down || s.passes >= e.pol.UpAfter {
				s.down, s.fails = false, nil
			}
		} else {
			s.passes = 0
			s.fails = append(s.fails, run.ScheduledAt)
			s.last = f
		}
		loc := cs.name(run.Location)
		cs.marks = append(cs.marks, mark{at: run.ScheduledAt.UnixNano(), location: loc, failed: !run.OK()})
		if !run.OK() && len(s.fails) >= e.pol.DownAfter {
			s.down = true
			cs.cover(loc, len(s.fails))
		}
		if f.HTTPDetails != nil && f.TLS != nil && !f.TLS.CertNotAfter.IsZero() {
			tls := *f.TLS
			cs.cert, cs.certSeen = &tls, run.Location
		}
	}
	if cs.c.SLO.LoadTime > 0 || cs.c.SLO.CWVGood > 0 {
		cs.samples = append(cs.samples, cs.sampleOf(run))
	}
	cs.prune(now, e.pol)
	e.evaluate(cs, now)
}

// cover marks the newest n failures at location as reported by the down
// rule.
func (cs *checkState) cover(location uint16, n int) {
	for i := len(cs.marks) - 1; i >= 0 && n > 0; i-- {
		if m := &cs.marks[i]; m.location == location && m.failed {
			m.covered = true
			n--
		}
	}
}

// prune drops what no window looks at any more.
func (cs *checkState) prune(now time.Time, pol probe.Alerting) {
	cut := func(t time.Time, w time.Duration) bool { return now.Sub(t) > w }
	i := 0
	for i < len(cs.marks) && cut(time.Unix(0, cs.marks[i].at), longestWindow) {
		i++
	}
	cs.marks = slices.Delete(cs.marks, 0, i) // in place: the backing array is reused, not grown
	i = 0
	for i < len(cs.samples) && cut(time.Unix(0, cs.samples[i].at), pol.Breach.Window) {
		i++
	}
	cs.samples = slices.Delete(cs.samples, 0, i)
	i = 0
	for i < len(cs.changes) && cut(cs.changes[i], pol.Flapping.Window) {
		i++
	}
	cs.changes = cs.changes[i:]
}

// sampleOf keeps what the breach rules read of a run, measured as the
// report measures it: slo.Load for the check's load; for pages, load_ms
// when the load event fired and each Core Web Vital's rating. Probe faults
// measure nothing.
func (cs *checkState) sampleOf(run probe.Run) sample {
	out := sample{at: run.ScheduledAt.UnixNano()}
	if ms, ok := slo.Load(run); ok {
		out.load, out.hasLoad = float32(ms), true
	}
	if len(run.Attempts) == 0 || run.ProbeFault() {
		return out
	}
	f := run.Final()
	if f.BrowserDetails == nil {
		return out
	}
	add := func(name string, m probe.PageMetrics) {
		ps := pageSample{page: cs.name("page:" + name), load: float32(m.LoadMS)}
		for i, v := range slo.CoreVitals {
			ps.cwv[i] = -1
			if x := m.Vitals.Get(v); x != nil {
				ps.cwv[i] = 0
				if probe.Rate(v, *x) == probe.RatingGood {
					ps.cwv[i] = 1
				}
			}
		}
		out.pages = append(out.pages, ps)
	}
	if f.PageMetrics != nil {
		add(run.Check, *f.PageMetrics)
	}
	for _, p := range f.Pages {
		add(p.Name, p.PageMetrics)
	}
	return out
}

// depDown reports whether a dependency of cs is down, or failing on its
// latest run: a dependency that runs a little later than its dependants
// must not let them page first.
func (e *Engine) depDown(cs *checkState) bool {
	for _, d := range cs.c.DependsOn {
		dep := e.checks[d]
		if dep == nil {
			continue
		}
		if a := e.alerts[key(RuleDown, d, "")]; a != nil && a.Active {
			return true
		}
		for _, s := range dep.series {
			if len(s.fails) > 0 {
				return true
			}
		}
	}
	return false
}

// held reports whether a's firing notifications wait: its check is in
// maintenance, flaps (for down) or has a dependency down.
func (e *Engine) held(a *State, now time.Time) bool {
	if e.heldResolve(a, now) {
		return true
	}
	cs := e.checks[a.Check]
	return cs != nil && e.depDown(cs) && a.Rule != RuleProbeUnhealthy
}

func key(rule, check, location string) string {
	k := rule + ":" + check
	if location != "" {
		k += ":" + location
	}
	return k
}

// set records a rule's verdict: active or not, since when, and, while it
// holds, its details.
func (e *Engine) set(base State, active bool, since time.Time, detail func(*State)) *State {
	a := e.alerts[base.Key]
	if a == nil {
		if !active {
			return nil
		}
		a = &base
		e.alerts[base.Key] = a
	}
	now := e.now()
	switch {
	case active && !a.Active:
		a.Active, a.Since, a.Until = true, since, time.Time{}
		a.Location, a.Probe, a.Severity = base.Location, base.Probe, base.Severity
	case !active && a.Active:
		a.Active, a.Until = false, now
	}
	if active {
		a.Location, a.Probe = base.Location, base.Probe
		detail(a)
	}
	return a
}

// reconcile turns differences between what holds and what receivers were
// told into notifications, except where they are held back.
func (e *Engine) reconcile() []Delivery {
	now := e.now()
	var out []Delivery
	for _, a := range e.sortedAlerts() {
		switch {
		case a.Active && a.Notified != Firing && !e.held(a, now):
			a.Notified, a.NotifiedAt = Firing, now
			out = append(out, e.delivery(a, false))
		case !a.Active && a.Notified == Firing && !e.heldResolve(a, now):
			a.Notified, a.NotifiedAt = Resolved, now
			if e.sendResolved() {
				out = append(out, e.delivery(a, false))
			}
		}
		if !a.Active && a.Notified != Firing {
			delete(e.alerts, a.Key)
		}
	}
	return out
}

// heldResolve: a resolution goes out unless the check flaps (the flapping
// alert speaks for it) or sits in maintenance. A dependency holds back only
// firing: the end of an outage is good news whatever explains it.
func (e *Engine) heldResolve(a *State, now time.Time) bool {
	cs := e.checks[a.Check]
	if cs == nil {
		return false
	}
	if _, in := e.InMaintenance(cs.c, now); in {
		return true
	}
	if a.Rule == RuleDown {
		if f := e.alerts[key(RuleFlapping, a.Check, "")]; f != nil && f.Active {
			return true
		}
	}
	return false
}

func (e *Engine) sendResolved() bool { return true }

func (e *Engine) sortedAlerts() []*State {
	out := make([]*State, 0, len(e.alerts))
	for _, a := range e.alerts {
		out = append(out, a)
	}
	// Down before the rest, then by key: deterministic order, the most
	// urgent first.
	slices.SortFunc(out, func(x, y *State) int {
		if (x.Rule == RuleDown) != (y.Rule == RuleDown) {
			if x.Rule == RuleDown {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.Key, y.Key)
	})
	return out
}

// delivery is the notification of a's current state to its receivers.
func (e *Engine) delivery(a *State, repeat bool) Delivery {
	n := Notification{
		Status: Firing, Alert: a.Rule, Check: a.Check, Location: a.Location, Probe: a.Probe,
		Severity: a.Severity, Summary: a.Summary, StartedAt: a.Since.UTC(),
		FailureKind: a.FailureKind, Message: a.Message, Screenshot: a.Screenshot,
		Key: a.Key, Repeat: repeat,
	}
	receivers := e.pol.Notify
	if cs := e.checks[a.Check]; cs != nil {
		n.URL, n.RunbookURL = cs.url, cs.c.RunbookURL
		if cs.c.Notify != nil {
			receivers = cs.c.Notify
		}
	}
	if !a.Active {
		n.Status = Resolved
		end := a.Until.UTC()
		n.EndedAt = &end
		n.Summary = resolvedSummary(a)
	}
	return Delivery{Notification: n, Receivers: slices.Clone(receivers)}
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

func joinLocations(ss []*series) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.location
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
