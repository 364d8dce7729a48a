// Package alerter runs alerting for a probe or a fleet evaluator: it feeds
// every run to the alert engine (probe/alert) as it lands, re-evaluates on
// a tick what time alone changes, keeps the engine's state and the alert
// history in a store so a restart neither repeats nor forgets a
// notification, and hands each notification to the notifiers (probe/notify)
// without ever blocking the caller.
//
// Restart: the persisted states are restored, the runs of the engine's
// longest window are replayed from the store in scheduled order (bounded
// memory, a page at a time), and only the differences between what holds
// now and what receivers were last told are sent.
package alerter

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// Store keeps alert state and history, and replays runs: storage/sqlite.Store.
type Store interface {
	LoadAlerts(ctx context.Context) ([]alert.State, error)
	SaveAlerts(ctx context.Context, states []alert.State) error
	RecordAlert(ctx context.Context, ev alert.Event) error
	RunsPage(ctx context.Context, q probe.RunQuery, after probe.RunCursor, limit int) ([]probe.Run, error)
}

// Dispatcher delivers notifications without blocking and reports its
// counters: probe/notify's Dispatcher.
type Dispatcher interface {
	Send(n alert.Notification, receivers []string)
	Close(ctx context.Context) error
	prometheus.Collector
}

// Options configure an Alerter.
type Options struct {
	Alerting probe.Alerting
	Checks   []probe.Check
	Store    Store
	// Dispatcher delivers; nil records alerts in the history only.
	Dispatcher Dispatcher
	Logger     *slog.Logger
	Now        func() time.Time // time.Now when nil
	// WatchSilence raises probe_silent (the fleet evaluator).
	WatchSilence bool
	// Tick is how often time-based rules are re-evaluated (default 15s).
	Tick time.Duration
	// Replay is how far back runs are replayed at start (default 6h, the
	// longest burn-rate window).
	Replay time.Duration
}

// Alerter is safe for concurrent use.
type Alerter struct {
	o   Options
	log *slog.Logger

	mu     sync.Mutex
	engine *alert.Engine
	disp   Dispatcher
}

// New restores the persisted alert states, replays the store's recent runs
// and sends what changed while the probe was away.
func New(ctx context.Context, o Options) (*Alerter, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = 15 * time.Second
	}
	if o.Replay <= 0 {
		o.Replay = 6 * time.Hour
	}
	e, err := alert.New(alert.Options{Alerting: o.Alerting, Now: o.Now, WatchSilence: o.WatchSilence}, o.Checks)
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	a := &Alerter{o: o, log: o.Logger, engine: e, disp: o.Dispatcher}
	states, err := o.Store.LoadAlerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	e.Restore(states)
	q := probe.RunQuery{Since: o.Now().Add(-o.Replay)}
	var after probe.RunCursor
	for {
		page, err := o.Store.RunsPage(ctx, q, after, 500)
		if err != nil {
			return nil, fmt.Errorf("alerting: replay: %w", err)
		}
		for _, r := range page {
			e.Replay(r)
		}
		if len(page) < 500 {
			break
		}
		after = probe.CursorAfter(page[len(page)-1])
	}
	a.deliver(ctx, e.Reconcile())
	return a, nil
}

// Maintenance names the maintenance window run falls in ("" if none): the
// run is stored with it and judged by nothing.
func (a *Alerter) Maintenance(run probe.Run) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.engine.MaintenanceOf(run)
}

// Observe applies a stored run.
func (a *Alerter) Observe(ctx context.Context, run probe.Run) {
	a.mu.Lock()
	ds := a.engine.Observe(run)
	a.mu.Unlock()
	a.deliver(ctx, ds)
}

// Reload replaces the policy, the checks and the dispatcher (nil keeps the
// current one). The old dispatcher is closed after its queue drains, within
// ctx.
func (a *Alerter) Reload(ctx context.Context, alerting probe.Alerting, checks []probe.Check, d Dispatcher) error {
	a.mu.Lock()
	err := a.engine.Reload(alerting, checks)
	var old Dispatcher
	if err == nil && d != nil {
		old, a.disp = a.disp, d
	}
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	if old != nil {
		go func() {
			if err := old.Close(ctx); err != nil {
				a.log.Warn("notifications of the previous config not all sent", "err", err)
			}
		}()
	}
	return nil
}

// Run ticks until ctx is done, then closes the dispatcher, waiting at most
// drain for notifications still queued.
func (a *Alerter) Run(ctx context.Context, drain time.Duration) {
	t := time.NewTicker(a.o.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
			defer cancel()
			if err := a.Close(cctx); err != nil {
				a.log.Warn("notifications still queued at shutdown were not sent", "err", err)
			}
			return
		case <-t.C:
			a.Tick(ctx)
		}
	}
}

// Tick re-evaluates what time alone changes (repeats, silent probes,
// windows that moved on) and delivers what is due. Run calls it on its
// ticker; the fleet evaluator calls it after each read of the fleet's runs,
// on its own clock.
func (a *Alerter) Tick(ctx context.Context) {
	a.mu.Lock()
	ds := a.engine.Tick()
	a.mu.Unlock()
	a.deliver(ctx, ds)
}

// Close stops delivery, waiting until ctx is done for queued
// notifications; later notifications are only recorded.
func (a *Alerter) Close(ctx context.Context) error {
	a.mu.Lock()
	d := a.disp
	a.disp = nil
	a.mu.Unlock()
	if d == nil {
		return nil
	}
	return d.Close(ctx)
}

// Active counts the active alerts by rule, for /metrics.
func (a *Alerter) Active() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, s := range a.engine.States() {
		if s.Active {
			out[s.Rule]++
		}
	}
	return out
}

// Describe sends nothing: the Alerter is an unchecked collector, since a
// reload may replace its dispatcher and the notifiers it reports.
func (a *Alerter) Describe(chan<- *prometheus.Desc) {}

// Collect reports the active alerts by rule (every rule, zeros included)
// and the current dispatcher's counters.
func (a *Alerter) Collect(ch chan<- prometheus.Metric) {
	active := a.Active()
	desc := prometheus.NewDesc("storeprobe_alerts_active", "Alerts whose condition holds now, by rule.", []string{"rule"}, nil)
	for _, r := range []string{alert.RuleDown, alert.RuleBurnRateFast, alert.RuleBurnRateSlow, alert.RuleCertExpiry,
		alert.RuleLoadTime, alert.RuleCWVGood, alert.RuleProbeUnhealthy, alert.RuleProbeSilent, alert.RuleFlapping} {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(active[r]), r)
	}
	a.mu.Lock()
	d := a.disp
	a.mu.Unlock()
	if d != nil {
		d.Collect(ch)
	}
}

// deliver records each notification in the history, hands it to the
// notifiers, and persists the engine's states: what receivers were told is
// saved before a crash could make the probe tell them again.
func (a *Alerter) deliver(ctx context.Context, ds []alert.Delivery) {
	if len(ds) == 0 {
		return
	}
	a.mu.Lock()
	d := a.disp
	states := a.engine.States()
	a.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.o.Store.SaveAlerts(sctx, states); err != nil {
		a.log.Error("saving alert states; a restart may repeat these notifications", "err", err)
	}
	for _, dl := range ds {
		a.log.Info("alert", "status", dl.Status, "alert", dl.Alert, "check", dl.Check, "location", dl.Location,
			"severity", dl.Severity, "summary", dl.Summary, "receivers", dl.Receivers)
		// The history says who was told: nobody without a dispatcher.
		told := dl.Receivers
		if d == nil {
			told = nil
		}
		if err := a.o.Store.RecordAlert(sctx, alert.Event{At: a.o.Now(), Receivers: told, Notification: dl.Notification}); err != nil {
			a.log.Error("recording an alert in the history", "alert", dl.Key, "err", err)
		}
		if d != nil && len(dl.Receivers) > 0 {
			d.Send(dl.Notification, dl.Receivers)
		}
	}
}
