package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/storeprobe/storeprobe/probe/daemon"
	"github.com/storeprobe/storeprobe/probe/evaluator"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// defaultEvaluatorStore is the evaluator's own store; never a probe's
// (`run`'s default is storeprobe.db), so both can run in one directory.
const defaultEvaluatorStore = "storeprobe-evaluator.db"

// runEvaluate implements `storeprobe evaluate`: the fleet's single
// evaluator, judging every location's runs from InfluxDB.
func runEvaluate(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "evaluate", "--config FILE [flags]")
	cfgPath := fs.StringP("config", "c", "", "config file (required): the fleet's checks, alerting, notifiers and influxdb")
	storePath := fs.String("store", defaultEvaluatorStore, "the evaluator's own SQLite store: the runs it read, alert state and history")
	interval := fs.Duration("interval", evaluator.DefaultInterval, "time between reads of InfluxDB")
	overlap := fs.Duration("overlap", evaluator.DefaultOverlap, "how far back each read starts again, for runs written late; later ones are not judged")
	listen := fs.String("listen", "", "address for /healthz and /metrics, e.g. :9091 (default: off)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q (the config goes in --config)", fs.Arg(0))
	case *cfgPath == "":
		return usagef("--config FILE is required")
	case *interval <= 0:
		return usagef("--interval must be positive")
	case *overlap <= 0:
		return usagef("--overlap must be positive")
	case *storePath == "":
		return usagef("--store must not be empty")
	}
	log, err := newLogger(a.stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(a, *cfgPath)
	if err != nil {
		return configError(err)
	}
	ic := cfg.InfluxDB
	if ic == nil {
		return usagef("%s has no influxdb section: the evaluator reads the fleet's runs from the InfluxDB the probes write to", *cfgPath)
	}
	// Not a reload: a SIGHUP must not kill the evaluator either.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	disp, err := daemon.NotifyDispatchers(a.version)(cfg, log)
	if err != nil {
		return configError(fmt.Errorf("notifiers: %w", err))
	}
	closeDisp := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		disp.Close(cctx)
	}
	st, err := sqlite.Open(ctx, *storePath, sqlite.WithoutOutbox(), sqlite.WithLogger(log))
	if err != nil {
		closeDisp()
		return err
	}
	// Closed once: on every early return, or at the end with its error.
	closeStore := sync.OnceValue(st.Close)
	defer closeStore()
	names := make([]string, len(cfg.Checks))
	for i, c := range cfg.Checks {
		names[i] = c.Name
	}
	src, err := influx.NewReader(influx.ReaderOptions{URL: ic.URL, Org: ic.Org, Bucket: ic.Bucket, Token: ic.Token, Checks: names})
	if err != nil {
		closeDisp()
		return usageError{err}
	}
	defer src.Close()
	ev, err := evaluator.New(ctx, evaluator.Options{
		Checks: cfg.Checks, Alerting: cfg.Alerting, Source: src, Store: st, Dispatcher: disp, Logger: log,
		Interval: *interval, Overlap: *overlap,
	})
	if err != nil {
		closeDisp()
		return err
	}
	var srv *http.Server
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			ev.Close(ctx)
			return usagef("--listen %s: %v", *listen, err)
		}
		srv = &http.Server{Handler: ev.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		log.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	}
	var bg sync.WaitGroup
	if cfg.Retention > 0 {
		bg.Go(func() { st.RunRetention(ctx, time.Hour, cfg.Retention, log) })
	}
	bg.Go(func() {
		for {
			select {
			case <-hup:
				log.Warn("SIGHUP: evaluate does not reload its config; restart it to apply changes", "config", *cfgPath)
			case <-ctx.Done():
				return
			}
		}
	})
	log.Info("storeprobe evaluating", "version", a.version, "config", *cfgPath, "store", *storePath,
		"checks", len(cfg.Checks), "influxdb", ic.URL, "bucket", ic.Bucket, "interval", interval.String(),
		"quorum", cfg.Alerting.Quorum, "silent_after", cfg.Alerting.SilentAfter.String())
	// Run returns once ctx is done (SIGINT, SIGTERM) and queued
	// notifications had their few seconds.
	ev.Run(ctx, 5*time.Second)
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	bg.Wait()
	s := ev.Stats()
	log.Info("stopped", "runs", s.Runs, "passes", s.Passes, "read_errors", s.ReadErrors)
	return closeStore()
}
