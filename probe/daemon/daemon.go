// Package daemon is a running probe (`storeprobe run`, and the demo): it
// loads the config, opens the store, runs every check on its schedule
// through the prober, hands each finished run to the store, runs the
// background workers beside the scheduler (retention, InfluxDB shipping),
// serves /healthz and /metrics, applies a reload without ever dropping a
// working config, and stops gracefully.
//
// It declares what it needs of storage — Store, and a Storage func that
// opens one with its workers — and its caller supplies the implementations
// (storage/sqlite, storage/influx), so nothing in probe/ imports storage/.
//
// Policies:
//   - Precedence of every setting: flag (Options) > environment
//     (STOREPROBE_LOCATION, STOREPROBE_PROBE, STOREPROBE_CHROME) > config >
//     default.
//   - Chromium starts on the first browser or journey run, never at start:
//     a probe with only HTTP checks never runs it.
//   - A reload is all or nothing: a config that does not load, a check that
//     cannot be prepared or a schedule the scheduler refuses leaves the
//     running set untouched. Checks, their defaults and the grace period
//     apply at once; settings that need a restart are logged by key.
//   - Shutdown: no new runs; in-flight runs get the grace period; then the
//     workers stop (the shipper makes one last bounded flush), the browser
//     closes, the store closes.
package daemon

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alerter"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/notify"
	"github.com/storeprobe/storeprobe/probe/prober"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/probe/shard"
)

// Store is where runs, skips, check definitions and alert state go:
// storage/sqlite.Store.
type Store interface {
	Save(ctx context.Context, run probe.Run) (int64, error)
	RecordSkip(ctx context.Context, check string, scheduledAt time.Time, reason string) error
	SaveCheck(ctx context.Context, c probe.Check) error
	OutboxStats(ctx context.Context) (probe.OutboxStats, error)
	ArtifactDir() string
	Close() error
	alerter.Store
}

// Dispatchers builds the dispatcher of a config's notifiers.
type Dispatchers func(cfg *config.Config, log *slog.Logger) (alerter.Dispatcher, error)

// Worker runs beside the scheduler for the daemon's whole life: store
// retention, InfluxDB shipping. Run returns once ctx is done and the
// worker's own last steps (a final flush) are over, bounded. A Worker that
// is also a prometheus.Collector is registered on /metrics.
type Worker interface {
	Run(ctx context.Context)
}

// WorkerFunc adapts a function to Worker.
type WorkerFunc func(ctx context.Context)

// Run calls f.
func (f WorkerFunc) Run(ctx context.Context) { f(ctx) }

// Storage opens the store at path for cfg, with the workers that go with it.
// stats reads the scheduler's counters once it runs (for probe_health).
type Storage func(ctx context.Context, path string, cfg *config.Config, stats func() schedule.Stats) (Store, []Worker, error)

// Options configure a daemon. ConfigPath and Storage are required.
type Options struct {
	ConfigPath string
	// StorePath overrides the config's store.
	StorePath string
	// Location and Probe override every check's (flags; then
	// STOREPROBE_LOCATION / STOREPROBE_PROBE, then the config's).
	Location, Probe string
	// Chrome is the Chromium binary (flag; then the config's browser.path,
	// STOREPROBE_CHROME, browser.DefaultPath).
	Chrome string
	// Shard is "i/n" (flag; then STOREPROBE_SHARD, then the config's
	// shard): run only the checks that hash to shard i of n.
	Shard string
	// HostResolverRules is Chrome's --host-resolver-rules for browser checks.
	HostResolverRules string
	// ChromeFlags are added to Chrome's command line after
	// STOREPROBE_CHROME_FLAGS' ("name" or "name=value"): the demo's
	// --ignore-certificate-errors-spki-list for its stand-in vendors.
	ChromeFlags []string
	// Listen is the address of /healthz and /metrics; empty: none.
	Listen string
	// Getenv reads the environment (${VAR} in the config, STOREPROBE_*);
	// unset and empty are the same.
	Getenv  func(string) string
	Version string
	Logger  *slog.Logger
	Storage Storage
	// OnRun, if set, sees every stored run (the demo's progress lines).
	OnRun func(probe.Run)
	// Dispatchers delivers alerts; nil means probe/notify's (NotifyDispatchers).
	Dispatchers Dispatchers
	// NoNotify judges and records alerts but sends nothing: the probes of
	// a fleet whose evaluator does the notifying.
	NoNotify bool
}

// InputError is bad input — the config, a flag — as opposed to a fault of
// the machine: the user fixes it, nothing retries it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Daemon is a running probe.
type Daemon struct {
	o         Options
	log       *slog.Logger
	store     Store
	storePath string
	browser   *browser.Browser
	prober    *prober.Prober
	alerter   *alerter.Alerter
	run       *schedule.Runner
	workers   []Worker
	metrics   *metrics
	srv       *http.Server
	addr      string
	started   time.Time

	mu       sync.Mutex
	current  *config.Config
	stopping bool
	running  bool  // the scheduler runs
	saveErr  error // the last run's save failed with this (nil once one succeeds)

	bg       sync.WaitGroup
	cancelBG context.CancelFunc
}

// Start loads the config, opens the store and starts scheduling. Bad input
// is an *InputError.
func Start(ctx context.Context, o Options) (*Daemon, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	d := &Daemon{o: o, log: o.Logger, started: time.Now()}
	cfg, err := d.load()
	if err != nil {
		return nil, err
	}
	d.current = cfg
	// config already resolved a store it names against the config's directory.
	d.storePath = cmp.Or(o.StorePath, cfg.Store)
	store, workers, err := o.Storage(ctx, d.storePath, cfg, d.Stats)
	if err != nil {
		return nil, err
	}
	d.store, d.workers = store, workers
	d.browser = browser.New(d.browserOptions(cfg))
	d.prober = prober.New(prober.Options{Version: o.Version, Logger: d.log, ArtifactsDir: store.ArtifactDir(), Browser: d.browser})
	fail := func(err error) (*Daemon, error) {
		if d.alerter != nil {
			d.alerter.Close(ctx)
		}
		d.browser.Close()
		store.Close()
		return nil, err
	}
	prep, err := d.prober.Prepare(cfg.Checks)
	if err != nil {
		return fail(&InputError{err})
	}
	d.prober.Install(prep)
	if err := d.saveChecks(ctx, cfg.Checks); err != nil {
		return fail(err)
	}
	disp, err := d.dispatcher(cfg)
	if err != nil {
		return fail(err)
	}
	if d.alerter, err = alerter.New(ctx, alerter.Options{Alerting: cfg.Alerting, Checks: cfg.Checks, Store: store,
		Dispatcher: disp, Logger: d.log}); err != nil {
		if disp != nil {
			disp.Close(ctx)
		}
		return fail(err)
	}
	d.metrics = newMetrics(d)
	if err := d.metrics.reg.Register(d.alerter); err != nil {
		return fail(fmt.Errorf("metrics: %w", err))
	}
	d.run, err = schedule.New(schedule.Options{
		Executor:           d.prober,
		Sink:               sink{d},
		Logger:             d.log,
		Concurrency:        cfg.Scheduler.Concurrency,
		BrowserConcurrency: cfg.Scheduler.BrowserConcurrency,
	})
	if err != nil {
		return fail(err)
	}
	if o.Listen != "" {
		if err := d.serve(o.Listen); err != nil {
			return fail(err)
		}
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancelBG = cancel
	for _, w := range workers {
		if c, ok := w.(prometheus.Collector); ok {
			if err := d.metrics.reg.Register(c); err != nil {
				cancel()
				d.bg.Wait()
				return fail(fmt.Errorf("metrics: %w", err))
			}
		}
		d.bg.Go(func() { w.Run(bgCtx) })
	}
	// The alerter stops with the workers, after the last run was seen,
	// and gives queued notifications a few seconds.
	d.bg.Go(func() { d.alerter.Run(bgCtx, 5*time.Second) })
	if err := d.run.Start(cfg.Checks); err != nil {
		cancel()
		d.bg.Wait()
		if d.srv != nil {
			d.srv.Close()
		}
		return fail(&InputError{err})
	}
	d.mu.Lock()
	d.running = true
	d.mu.Unlock()
	if hasBrowserChecks(cfg) {
		// Ready means ready to run every check: start Chromium now rather
		// than on the first browser run, so /readyz can say so.
		d.browser.Warm()
	}
	d.log.Info("storeprobe running", "version", o.Version, "config", o.ConfigPath, "store", d.storePath,
		"checks", len(cfg.Checks), "shard", cfg.Shard.String(), "checks_in_config", len(cfg.Lines),
		"location", cfg.Defaults.Location, "probe", cfg.Defaults.Probe, "influxdb", cfg.InfluxDB != nil)
	return d, nil
}

// load reads the config with the overrides applied.
func (d *Daemon) load() (*config.Config, error) {
	env := func(k string) (string, bool) {
		// Getenv cannot tell unset from empty; config treats both as
		// missing, so nothing is lost.
		v := d.o.Getenv(k)
		return v, v != ""
	}
	cfg, err := prober.LoadConfig(d.o.ConfigPath, env, d.o.Version)
	if err != nil {
		return nil, &InputError{err}
	}
	d.override(cfg)
	if err := d.shard(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// shard keeps the checks of this probe's shard (flag > STOREPROBE_SHARD >
// config). The config was validated whole, so a check named in another's
// depends_on may run on another shard; its alerts then do not wait for it.
func (d *Daemon) shard(cfg *config.Config) error {
	source, value := "--shard", d.o.Shard
	if value == "" {
		source, value = "STOREPROBE_SHARD", d.o.Getenv("STOREPROBE_SHARD")
	}
	if value != "" {
		sh, err := shard.Parse(value)
		if err != nil {
			return &InputError{fmt.Errorf("%s: %w", source, err)}
		}
		cfg.Shard = sh
	}
	if cfg.Shard.Count <= 1 {
		return nil
	}
	owned := cfg.Checks[:0:0]
	for _, c := range cfg.Checks {
		if cfg.Shard.Owns(c.Name) {
			owned = append(owned, c)
		}
	}
	cfg.Checks = owned
	return nil
}

// override applies the location and probe name of the flags or the
// environment to every check: one config image serves every replica.
func (d *Daemon) override(cfg *config.Config) {
	location := cmp.Or(d.o.Location, d.o.Getenv("STOREPROBE_LOCATION"))
	probeName := cmp.Or(d.o.Probe, d.o.Getenv("STOREPROBE_PROBE"))
	if location != "" {
		cfg.Defaults.Location = location
	}
	if probeName != "" {
		cfg.Defaults.Probe = probeName
	}
	for i := range cfg.Checks {
		if location != "" {
			cfg.Checks[i].Location = location
		}
		if probeName != "" {
			cfg.Checks[i].Probe = probeName
		}
	}
}

// browserOptions is the shared Chromium of cfg. STOREPROBE_CHROME_FLAGS
// adds Chrome flags separated by spaces: the container image sets
// --no-sandbox there, since Docker's default seccomp profile denies the
// namespaces Chrome's sandbox needs and the container is the sandbox.
func (d *Daemon) browserOptions(cfg *config.Config) browser.Options {
	return browser.Options{
		Path:              cmp.Or(d.o.Chrome, cfg.Browser.Path, d.o.Getenv("STOREPROBE_CHROME")),
		Devices:           devices(cfg.Browser.Devices),
		Logger:            d.log,
		ExtraFlags:        append(strings.Fields(d.o.Getenv("STOREPROBE_CHROME_FLAGS")), d.o.ChromeFlags...),
		HostResolverRules: d.o.HostResolverRules,
		Version:           d.o.Version,
		MaxPageMemory:     cfg.Browser.MaxPageMemory,
		MaxConcurrent:     cfg.Scheduler.BrowserConcurrency,
	}
}

func (d *Daemon) saveChecks(ctx context.Context, checks []probe.Check) error {
	for _, c := range checks {
		if err := d.store.SaveCheck(ctx, c); err != nil {
			return fmt.Errorf("store check %s: %w", c.Name, err)
		}
	}
	return nil
}

func (d *Daemon) setSaveErr(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.saveErr = err
}

func hasBrowserChecks(cfg *config.Config) bool {
	for _, c := range cfg.Checks {
		if c.Type == probe.TypeBrowser || c.Type == probe.TypeJourney {
			return true
		}
	}
	return false
}

// Config is the config running now.
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current
}

// Stats are the scheduler's counters; zero before it runs.
func (d *Daemon) Stats() schedule.Stats {
	if d.run == nil {
		return schedule.Stats{}
	}
	return d.run.Stats()
}

// Addr is the address /healthz and /metrics listen on; empty without Listen.
func (d *Daemon) Addr() string { return d.addr }

// StorePath is the store the daemon writes.
func (d *Daemon) StorePath() string { return d.storePath }

// Reload re-reads the config; on any problem the running set stays and the
// error says why.
func (d *Daemon) Reload() error {
	cfg, err := d.load()
	if err != nil {
		return err
	}
	prep, err := d.prober.Prepare(cfg.Checks)
	if err != nil {
		return &InputError{err}
	}
	// Prepared checks first, so a check the reload adds never fires before
	// its checker or journey is in place; the old set goes back if the
	// scheduler refuses the reload.
	old := d.prober.Install(prep)
	if err := d.run.Reload(cfg.Checks); err != nil {
		d.prober.Install(old)
		return &InputError{err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.saveChecks(ctx, cfg.Checks); err != nil {
		d.log.Warn("reload: storing check definitions", "err", err)
	}
	var disp alerter.Dispatcher
	if !reflect.DeepEqual(d.Config().Notifiers, cfg.Notifiers) {
		if disp, err = d.dispatcher(cfg); err != nil {
			d.log.Warn("reload: notifiers refused; alerts keep going to the previous ones", "err", err)
			disp = nil
		}
	}
	if err := d.alerter.Reload(context.Background(), cfg.Alerting, cfg.Checks, disp); err != nil {
		d.log.Warn("reload: alerting", "err", err)
	}
	d.mu.Lock()
	prev := d.current
	d.current = cfg
	d.mu.Unlock()
	gone := map[string]bool{}
	for _, c := range prev.Checks {
		gone[c.Name] = true
	}
	for _, c := range cfg.Checks {
		delete(gone, c.Name)
	}
	d.metrics.forget(gone)
	for _, key := range restartOnly(prev, cfg) {
		d.log.Warn("config reload: this setting takes effect after a restart", "key", key)
	}
	d.log.Info("config reloaded", "config", d.o.ConfigPath, "checks", len(cfg.Checks), "shard", cfg.Shard.String())
	return nil
}

// Shutdown stops scheduling, lets in-flight runs finish within the grace
// period, stops the workers (the shipper ships what it can), and closes the
// browser and the store.
func (d *Daemon) Shutdown() error {
	d.mu.Lock()
	d.stopping = true
	grace := d.current.Scheduler.GracePeriod
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
	d.log.Info("stopping: waiting for in-flight runs", "grace", grace)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := d.run.Stop(ctx)
	if err != nil {
		d.log.Warn("in-flight runs cancelled at the end of the grace period", "err", err)
	}
	d.cancelBG()
	d.bg.Wait()
	if d.srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		d.srv.Shutdown(sctx)
		scancel()
	}
	if berr := d.browser.Close(); berr != nil {
		d.log.Warn("closing chromium", "err", berr)
	}
	if cerr := d.store.Close(); cerr != nil {
		return fmt.Errorf("close store: %w", cerr)
	}
	st := d.run.Stats()
	d.log.Info("stopped", "runs", st.Runs, "skipped", st.Skipped, "cancelled", err != nil)
	return nil
}

// serve starts /healthz and /metrics on addr.
func (d *Daemon) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return &InputError{fmt.Errorf("--listen %s: %w", addr, err)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.healthz)
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}))
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	d.addr = ln.Addr().String()
	go d.srv.Serve(ln)
	return nil
}

// dispatcher builds the notifiers of cfg.
func (d *Daemon) dispatcher(cfg *config.Config) (alerter.Dispatcher, error) {
	if d.o.NoNotify {
		return nil, nil
	}
	build := d.o.Dispatchers
	if build == nil {
		build = NotifyDispatchers(d.o.Version)
	}
	disp, err := build(cfg, d.log)
	if err != nil {
		return nil, &InputError{fmt.Errorf("notifiers: %w", err)}
	}
	return disp, nil
}

// NotifyDispatchers delivers through probe/notify. Alertmanager keeps a
// firing alert for twice the renotify interval (at least a day), so a
// repeat always comes before it would expire there.
func NotifyDispatchers(version string) Dispatchers {
	return func(cfg *config.Config, log *slog.Logger) (alerter.Dispatcher, error) {
		hold := max(notify.DefaultAlertmanagerHold, 2*cfg.Alerting.Renotify)
		disp, err := notify.Build(cfg.Notifiers, notify.DispatcherOptions{Logger: log},
			notify.WithVersion(version), notify.WithAlertmanagerHold(hold))
		if err != nil {
			return nil, err
		}
		return disp, nil
	}
}

// restartOnly lists the settings a reload cannot apply to a running daemon
// (checks, their defaults and the grace period can) and that changed.
func restartOnly(old, new *config.Config) []string {
	var keys []string
	if old.Store != new.Store {
		keys = append(keys, "store")
	}
	if old.Retention != new.Retention {
		keys = append(keys, "retention")
	}
	if old.Scheduler.Concurrency != new.Scheduler.Concurrency {
		keys = append(keys, "scheduler.concurrency")
	}
	if old.Scheduler.BrowserConcurrency != new.Scheduler.BrowserConcurrency {
		keys = append(keys, "scheduler.browser_concurrency")
	}
	if !reflect.DeepEqual(old.Browser, new.Browser) {
		keys = append(keys, "browser")
	}
	if !reflect.DeepEqual(old.InfluxDB, new.InfluxDB) {
		keys = append(keys, "influxdb")
	}
	return keys
}
