package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// runRun implements `storeprobe run`: the long-running probe of the fleet.
func runRun(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "run", "--config FILE [flags]")
	cfgPath := fs.StringP("config", "c", "", "config file (required)")
	storePath := fs.String("store", "", "SQLite store path (default: the config's store, else ./storeprobe.db)")
	listen := fs.String("listen", "", "address for /healthz and /metrics, e.g. :9090 (default: off)")
	location := fs.String("location", "", "override every check's location (default: $STOREPROBE_LOCATION, else the config's)")
	probeName := fs.String("probe", "", "override the probe instance name (default: $STOREPROBE_PROBE, else the config's)")
	chrome := fs.String("chrome", "", "Chromium binary (default: the config's browser.path, $STOREPROBE_CHROME, /usr/bin/chromium)")
	hostRules := fs.String("host-resolver-rules", "", "Chrome's --host-resolver-rules for browser checks, e.g. \"MAP shop.example.com 203.0.113.7\" to probe one origin")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (the config goes in --config)", fs.Arg(0))
	}
	if *cfgPath == "" {
		return usagef("--config FILE is required")
	}
	log, err := newLogger(a.stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	// Before anything slow: a SIGHUP during start-up (a config reloader
	// firing early) must not kill the daemon; it is handled once running.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	d, err := startDaemon(ctx, a, daemonOptions{
		configPath: *cfgPath,
		storePath:  *storePath,
		listen:     *listen,
		location:   cmp.Or(*location, a.getenv("STOREPROBE_LOCATION")),
		probe:      cmp.Or(*probeName, a.getenv("STOREPROBE_PROBE")),
		chrome:     *chrome,
		hostRules:  *hostRules,
		log:        log,
	})
	if err != nil {
		return err
	}
	for {
		select {
		case <-hup:
			if err := d.reload(); err != nil {
				// An invalid config never replaces a working one.
				log.Error("reload refused; keeping the running config", "config", *cfgPath, "err", err)
			}
		case <-ctx.Done():
			log.Info("stopping: waiting for in-flight runs", "grace", d.cfg().Scheduler.GracePeriod)
			return d.shutdown()
		}
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

type daemonOptions struct {
	configPath, storePath, listen string
	location, probe, chrome       string
	hostRules                     string // Chrome's --host-resolver-rules
	log                           *slog.Logger
	// onRun, if set, sees every stored run (the demo's progress lines).
	onRun func(probe.Run)
	// ready, if set, receives the address /healthz listens on.
	ready func(addr string)
}

// daemon is a running `storeprobe run`: config, store, scheduler, browser,
// shipper and the health endpoint, wired together.
type daemon struct {
	a     *app
	o     daemonOptions
	log   *slog.Logger
	store *sqlite.Store
	exec  *executor
	run   *schedule.Runner
	br    *browserPool
	ship  *shipping

	mu       sync.Mutex
	current  *config.Config
	stopping bool
	srv      *http.Server
	bg       sync.WaitGroup
	cancelBG context.CancelFunc
	started  time.Time
}

func startDaemon(ctx context.Context, a *app, o daemonOptions) (*daemon, error) {
	cfg, err := loadConfig(a, o.configPath)
	if err != nil {
		return nil, configError(err)
	}
	applyOverrides(cfg, o)
	// config already resolved a store it names against the config's directory.
	storePath := cmp.Or(o.storePath, cfg.Store)
	storeOpts := []sqlite.Option{sqlite.WithLogger(o.log)}
	if cfg.InfluxDB == nil {
		// Nothing would drain the outbox; `export --since` ships these runs
		// if InfluxDB is added later.
		storeOpts = append(storeOpts, sqlite.WithoutOutbox())
	}
	store, err := sqlite.Open(ctx, storePath, storeOpts...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	d := &daemon{a: a, o: o, log: o.log, store: store, current: cfg, started: time.Now()}
	d.br = newBrowserPool(cmp.Or(o.chrome, cfg.Browser.Path, a.getenv("STOREPROBE_CHROME")), cfg.Browser, a.getenv("STOREPROBE_CHROME_FLAGS"), a.version, o.log).
		withConcurrency(cfg.Scheduler.BrowserConcurrency)
	d.br.opts.HostResolverRules = o.hostRules
	d.exec = &executor{
		version:   a.version,
		log:       o.log,
		artifacts: store.ArtifactDir(),
		browser:   d.br.get,
	}
	fail := func(err error) (*daemon, error) {
		d.br.close()
		store.Close()
		return nil, err
	}
	prep, err := d.exec.prepare(cfg.Checks)
	if err != nil {
		return fail(usageError{err})
	}
	d.exec.install(prep)
	if err := d.saveChecks(ctx, cfg.Checks); err != nil {
		return fail(err)
	}
	d.run, err = schedule.New(schedule.Options{
		Executor:           d.exec,
		Sink:               storeSink{d},
		Logger:             o.log,
		Concurrency:        cfg.Scheduler.Concurrency,
		BrowserConcurrency: cfg.Scheduler.BrowserConcurrency,
	})
	if err != nil {
		return fail(err)
	}
	if d.ship, err = newShipping(cfg.InfluxDB, store, o.log); err != nil {
		return fail(err)
	}
	if d.ship != nil {
		d.ship.health, d.ship.location, d.ship.probe = d.run.Stats, cfg.Defaults.Location, cfg.Defaults.Probe
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancelBG = cancel
	if cfg.Retention > 0 {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			store.RunRetention(bgCtx, time.Hour, cfg.Retention, o.log)
		}()
	}
	if d.ship != nil {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			d.ship.run(bgCtx)
		}()
	}
	if o.listen != "" {
		if err := d.serve(o.listen); err != nil {
			cancel()
			d.bg.Wait()
			return fail(err)
		}
	}
	if err := d.run.Start(cfg.Checks); err != nil {
		cancel()
		d.bg.Wait()
		return fail(usageError{err})
	}
	o.log.Info("storeprobe running", "version", a.version, "config", o.configPath, "store", storePath,
		"checks", len(cfg.Checks), "location", cfg.Defaults.Location, "probe", cfg.Defaults.Probe,
		"influxdb", d.ship != nil)
	return d, nil
}

// configError makes config problems a usage error (exit 2) with every
// FILE:LINE problem in the message.
func configError(err error) error {
	var errs probe.Problems
	if errors.As(err, &errs) {
		return usageError{fmt.Errorf("invalid config:\n%s", errs.Error())}
	}
	return usageError{err}
}

// applyOverrides applies --location/--probe (or their environment
// variables): one config image serves every replica of the fleet.
func applyOverrides(cfg *config.Config, o daemonOptions) {
	if o.location != "" {
		cfg.Defaults.Location = o.location
	}
	if o.probe != "" {
		cfg.Defaults.Probe = o.probe
	}
	for i := range cfg.Checks {
		if o.location != "" {
			cfg.Checks[i].Location = o.location
		}
		if o.probe != "" {
			cfg.Checks[i].Probe = o.probe
		}
	}
}

func (d *daemon) saveChecks(ctx context.Context, checks []probe.Check) error {
	for _, c := range checks {
		if err := d.store.SaveCheck(ctx, c); err != nil {
			return fmt.Errorf("store check %s: %w", c.Name, err)
		}
	}
	return nil
}

func (d *daemon) cfg() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current
}

// reload re-reads the config; on any problem the running set stays.
func (d *daemon) reload() error {
	cfg, err := loadConfig(d.a, d.o.configPath)
	if err != nil {
		return configError(err)
	}
	applyOverrides(cfg, d.o)
	prep, err := d.exec.prepare(cfg.Checks)
	if err != nil {
		return err
	}
	// Prepared checks first, so a check the reload adds never fires before
	// its checker or journey is in place; the old set goes back if the
	// reload is refused.
	old := d.exec.install(prep)
	if err := d.run.Reload(cfg.Checks); err != nil {
		d.exec.install(old)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.saveChecks(ctx, cfg.Checks); err != nil {
		d.log.Warn("reload: storing check definitions", "err", err)
	}
	d.mu.Lock()
	prev := d.current
	d.current = cfg
	d.mu.Unlock()
	for _, key := range restartOnly(prev, cfg) {
		d.log.Warn("config reload: this setting takes effect after a restart", "key", key)
	}
	d.log.Info("config reloaded", "config", d.o.configPath, "checks", len(cfg.Checks))
	return nil
}

// shutdown stops scheduling, lets in-flight runs finish within the grace
// period, ships what it can, and closes the store.
func (d *daemon) shutdown() error {
	d.mu.Lock()
	d.stopping = true
	grace := d.current.Scheduler.GracePeriod
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := d.run.Stop(ctx)
	if err != nil {
		d.log.Warn("in-flight runs cancelled at the end of the grace period", "err", err)
	}
	d.cancelBG()
	d.bg.Wait()
	if d.ship != nil {
		// One last bounded flush; what does not make it stays in the outbox.
		fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
		d.ship.flush(fctx)
		fcancel()
	}
	if d.srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		d.srv.Shutdown(sctx)
		scancel()
	}
	d.br.close()
	if cerr := d.store.Close(); cerr != nil {
		return fmt.Errorf("close store: %w", cerr)
	}
	st := d.run.Stats()
	d.log.Info("stopped", "runs", st.Runs, "skipped", st.Skipped, "cancelled", err != nil)
	return nil
}

// storeSink adapts the store to the scheduler's Sink and logs each run.
type storeSink struct{ d *daemon }

func (s storeSink) Save(ctx context.Context, run probe.Run) error {
	tagDetected(&run)
	if _, err := s.d.store.Save(ctx, run); err != nil {
		return err
	}
	// The scheduler logs every run; nothing is formatted here per run.
	if s.d.o.onRun != nil {
		s.d.o.onRun(run)
	}
	return nil
}

func (s storeSink) RecordSkip(ctx context.Context, check string, at time.Time, reason string) error {
	// The scheduler already logs skips; this only records them.
	return s.d.store.RecordSkip(ctx, check, at, reason)
}

// serve starts /healthz and /metrics on addr.
func (d *daemon) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("--listen %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.healthz)
	mux.HandleFunc("GET /metrics", d.metrics)
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go d.srv.Serve(ln)
	if d.o.ready != nil {
		d.o.ready(ln.Addr().String())
	}
	return nil
}

func (d *daemon) healthz(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	stopping := d.stopping
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	st := d.run.Stats()
	status, code := "ok", http.StatusOK
	if stopping {
		status, code = "stopping", http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%q,"checks":%d,"runs":%d,"in_flight":%d,"uptime_s":%.0f}`+"\n",
		status, st.Checks, st.Runs, st.InFlight, time.Since(d.started).Seconds())
}

// metricLabel escapes a Prometheus label value.
func metricLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// tagDetected fills the platform and cdn tags the check's config leaves
// unset from what the response revealed (both from a closed set, so the
// InfluxDB series stay bounded). Configured tags always win.
func tagDetected(run *probe.Run) {
	d := run.Final().HTTPDetails
	if d == nil {
		return
	}
	for k, v := range map[string]string{"platform": d.Platform, "cdn": d.CDN} {
		if v == "" || run.Tags[k] != "" {
			continue
		}
		if run.Tags == nil {
			run.Tags = map[string]string{}
		}
		run.Tags[k] = v
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
