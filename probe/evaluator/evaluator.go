// Package evaluator is a fleet's single evaluator (`storeprobe evaluate`):
// it reads every location's runs from where the probes publish them
// (InfluxDB, through the Source it declares), keeps each run once in its
// own store, and judges them all with the alert rules — a check is down
// only where `quorum` locations agree, a location or probe that stops
// writing raises probe_silent — so a fleet notifies once per incident
// instead of once per probe.
//
// The loop, every Interval:
//
//   - read the runs scheduled in [cursor − Overlap, now), a Window at a
//     time (bounded memory). The overlap re-reads what probes wrote late
//     (a run lands after it ran, plus the shipper's flush interval and
//     retries); a run is known by check, location, probe and scheduled time,
//     so a run read again is skipped. Runs written later than Overlap after
//     their scheduled time are not judged.
//   - save each new run in the store, then hand it to the alerter (judged
//     once stored, as a probe does), and advance the cursor to the end of
//     the last window read.
//   - tick the alerter on the evaluator's clock: repeats, and probe_silent
//     for every location/probe whose newest run is older than silent_after.
//     A pass that could not read skips the tick: while the evaluator is
//     blind it cannot tell a silent probe from its own blindness.
//
// Start-up: the cursor is the newest run in the store (at most CatchUp
// back). The runs written while the evaluator was away are saved without
// being judged one by one; then the alerter restores its states, replays
// the store and sends only what changed while it was away. A restart in
// the middle of an incident therefore notifies nothing again, and probes
// seen before the restart are watched for silence from their last run.
package evaluator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/alerter"
)

// Source reads the fleet's runs: storage/influx.Reader. Runs returns the
// runs scheduled in [since, until), oldest first, each once.
type Source interface {
	Runs(ctx context.Context, since, until time.Time) ([]probe.Run, error)
}

// Store keeps the runs the evaluator has seen and its alert state:
// storage/sqlite.Store, without an outbox.
type Store interface {
	alerter.Store
	Save(ctx context.Context, run probe.Run) (int64, error)
	SaveCheck(ctx context.Context, c probe.Check) error
	// LatestScheduled is the newest stored run's scheduled time; zero for
	// an empty store.
	LatestScheduled(ctx context.Context) (time.Time, error)
}

// Defaults of Options.
const (
	DefaultInterval = 30 * time.Second
	DefaultOverlap  = 10 * time.Minute
	DefaultWindow   = 5 * time.Minute
	DefaultCatchUp  = 6 * time.Hour
)

// Options configure an Evaluator. Source and Store are required.
type Options struct {
	Checks   []probe.Check // every check of the config is judged
	Alerting probe.Alerting
	Source   Source
	Store    Store
	// Dispatcher delivers notifications; nil records them in the store's
	// history only.
	Dispatcher alerter.Dispatcher
	Logger     *slog.Logger
	Now        func() time.Time // time.Now when nil
	// Interval between passes (default 30s).
	Interval time.Duration
	// Overlap is how far before the cursor each pass reads again, for runs
	// written late (default 10m).
	Overlap time.Duration
	// Window is the longest stretch of scheduled time read at once
	// (default 5m): it bounds memory on a catch-up.
	Window time.Duration
	// CatchUp is the most history read at start or after a spell of failed
	// reads (default 6h, the alert rules' longest window).
	CatchUp time.Duration
}

// Evaluator judges a fleet's runs. Step and Run are not to be called
// concurrently; Stats and Handler are safe from any goroutine.
type Evaluator struct {
	o      Options
	log    *slog.Logger
	checks map[string]bool
	alerts *alerter.Alerter

	// Owned by the goroutine that steps.
	cursor time.Time           // end of the last window read
	seen   map[runKey]struct{} // runs read within Overlap of the cursor

	mu    sync.Mutex
	stats Stats
}

// Stats are the evaluator's counters, for /metrics and /healthz.
type Stats struct {
	Passes     int64 // passes that read everything they meant to
	ReadErrors int64 // passes cut short by a failed read
	Runs       int64 // new runs saved and judged (catch-up included)
	Repeats    int64 // runs read again inside the overlap and skipped
	Unknown    int64 // runs of checks the config does not have, skipped
	SaveErrors int64 // runs the store refused (read again next pass)
	// Cursor is the end of the last window read; LastPass when the last
	// full pass ended (the evaluator's clock).
	Cursor, LastPass time.Time
	LastError        string
	Stopping         bool
}

type runKey struct {
	check, location, probe string
	at                     int64
}

func keyOf(r probe.Run) runKey {
	return runKey{r.Check, r.Location, r.Probe, r.ScheduledAt.UnixNano()}
}

// New catches up on what the fleet wrote since the store's newest run,
// then builds the alerter, which restores, replays and reconciles. A
// Source that cannot be read is logged and read again by the first Step;
// a Store that fails is an error.
func New(ctx context.Context, o Options) (*Evaluator, error) {
	if o.Source == nil || o.Store == nil {
		return nil, errors.New("evaluator: a source and a store are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, DefaultInterval)
	def(&o.Overlap, DefaultOverlap)
	def(&o.Window, DefaultWindow)
	def(&o.CatchUp, DefaultCatchUp)
	e := &Evaluator{o: o, log: o.Logger, checks: map[string]bool{}, seen: map[runKey]struct{}{}}
	for _, c := range o.Checks {
		e.checks[c.Name] = true
		// The targets `report --store` judges the fleet's runs against.
		if err := o.Store.SaveCheck(ctx, c); err != nil {
			return nil, fmt.Errorf("evaluator: store check %s: %w", c.Name, err)
		}
	}
	if err := e.resume(ctx); err != nil {
		return nil, err
	}
	// Catch-up runs are saved, not observed: the alerter's replay judges
	// them all at once and tells receivers only what changed.
	maint, err := alert.New(alert.Options{Alerting: o.Alerting, Now: o.Now}, o.Checks)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	if err := e.read(ctx, maint.MaintenanceOf, nil); err != nil {
		e.log.Warn("catching up on the fleet's runs failed; the first pass reads them again", "err", err)
	}
	a, err := alerter.New(ctx, alerter.Options{
		Alerting: o.Alerting, Checks: o.Checks, Store: o.Store, Dispatcher: o.Dispatcher,
		Logger: o.Logger, Now: o.Now, WatchSilence: true, Replay: o.CatchUp,
	})
	if err != nil {
		return nil, err
	}
	e.alerts = a
	return e, nil
}

// resume sets the cursor from the store and remembers the runs stored
// within Overlap of it, so the first read skips them.
func (e *Evaluator) resume(ctx context.Context) error {
	latest, err := e.o.Store.LatestScheduled(ctx)
	if err != nil {
		return fmt.Errorf("evaluator: %w", err)
	}
	floor := e.o.Now().Add(-e.o.CatchUp)
	if latest.Before(floor) {
		// Empty, or older than anything the rules still look at.
		e.cursor = floor.Add(e.o.Overlap)
		return nil
	}
	e.cursor = latest
	q := probe.RunQuery{Since: latest.Add(-e.o.Overlap)}
	var after probe.RunCursor
	for {
		page, err := e.o.Store.RunsPage(ctx, q, after, 500)
		if err != nil {
			return fmt.Errorf("evaluator: resume: %w", err)
		}
		for _, r := range page {
			e.seen[keyOf(r)] = struct{}{}
		}
		if len(page) < 500 {
			return nil
		}
		after = probe.CursorAfter(page[len(page)-1])
	}
}

// Step is one pass: read what is new, save and judge it, then tick. It
// returns the read or store error that cut the pass short, if any.
func (e *Evaluator) Step(ctx context.Context) error {
	err := e.read(ctx, e.alerts.Maintenance, func(r probe.Run) { e.alerts.Observe(ctx, r) })
	e.mu.Lock()
	if err != nil {
		e.stats.ReadErrors++
		e.stats.LastError = err.Error()
	} else {
		e.stats.Passes++
		e.stats.LastPass = e.o.Now()
		e.stats.LastError = ""
	}
	e.mu.Unlock()
	if err != nil {
		return err
	}
	e.alerts.Tick(ctx)
	return nil
}

// read walks [cursor − Overlap, now) a window at a time, saving each run
// not seen yet (tagged with its maintenance window, as a probe stores it)
// and handing it to observe. The cursor advances past each window whose
// runs are all stored.
func (e *Evaluator) read(ctx context.Context, maintenance func(probe.Run) string, observe func(probe.Run)) error {
	now := e.o.Now()
	from := later(e.cursor.Add(-e.o.Overlap), now.Add(-e.o.CatchUp))
	var st Stats
	defer func() {
		e.mu.Lock()
		e.stats.Runs += st.Runs
		e.stats.Repeats += st.Repeats
		e.stats.Unknown += st.Unknown
		e.stats.SaveErrors += st.SaveErrors
		e.stats.Cursor = e.cursor
		e.mu.Unlock()
	}()
	for start := from; start.Before(now); start = start.Add(e.o.Window) {
		end := start.Add(e.o.Window)
		if end.After(now) {
			end = now
		}
		runs, err := e.o.Source.Runs(ctx, start, end)
		if err != nil {
			return err
		}
		var saveErr error
		for _, r := range runs {
			k := keyOf(r)
			if _, ok := e.seen[k]; ok {
				st.Repeats++
				continue
			}
			if !e.checks[r.Check] {
				// Another config's check in the same database: counted once.
				e.seen[k] = struct{}{}
				st.Unknown++
				continue
			}
			r.Maintenance = maintenance(r)
			if _, err := e.o.Store.Save(ctx, r); err != nil {
				// Not marked seen: the next pass reads it again.
				st.SaveErrors++
				if saveErr == nil {
					saveErr = fmt.Errorf("save run of %s at %s: %w", r.Check, r.Location, err)
				}
				continue
			}
			e.seen[k] = struct{}{}
			st.Runs++
			if observe != nil {
				observe(r)
			}
		}
		if saveErr != nil {
			return saveErr
		}
		e.cursor = later(e.cursor, end)
		e.forget()
	}
	return nil
}

// forget drops the runs scheduled before the next read can start: they
// are never read again. Done per window, so a catch-up over hours keeps
// no more than Overlap and a Window of keys.
func (e *Evaluator) forget() {
	horizon := e.cursor.Add(-e.o.Overlap).UnixNano()
	for k := range e.seen {
		if k.at < horizon {
			delete(e.seen, k)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Run steps every Interval until ctx is done, then closes the notifiers,
// giving queued notifications at most drain.
func (e *Evaluator) Run(ctx context.Context, drain time.Duration) {
	t := time.NewTicker(e.o.Interval)
	defer t.Stop()
	for {
		if err := e.Step(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("reading the fleet's runs failed; not judging silence until a read succeeds", "err", err)
		}
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.stats.Stopping = true
			e.mu.Unlock()
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
			defer cancel()
			if err := e.alerts.Close(cctx); err != nil {
				e.log.Warn("notifications still queued at shutdown were not sent", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

// Close stops delivery, waiting until ctx is done for queued
// notifications (Run does this itself when it ends).
func (e *Evaluator) Close(ctx context.Context) error { return e.alerts.Close(ctx) }

// Stats returns a snapshot of the counters.
func (e *Evaluator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Checks is how many checks the evaluator judges.
func (e *Evaluator) Checks() int { return len(e.checks) }
