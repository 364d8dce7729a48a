package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/daemon"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/storage/influx"
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
	shardFlag := fs.String("shard", "", "run only the checks that hash to shard i of n, as i/n (0-based; default: $STOREPROBE_SHARD, else the config's shard, else every check)")
	chrome := fs.String("chrome", "", "Chromium binary (default: the config's browser.path, $STOREPROBE_CHROME, /usr/bin/chromium)")
	hostRules := fs.String("host-resolver-rules", "", "Chrome's --host-resolver-rules for browser checks, e.g. \"MAP shop.example.com 203.0.113.7\" to probe one origin")
	noNotify := fs.Bool("no-notify", false, "judge and record alerts but send no notification (a fleet whose evaluator notifies)")
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
	log.Info("starting", "config", *cfgPath, "version", a.version)
	d, err := startDaemon(ctx, a, daemon.Options{
		ConfigPath:        *cfgPath,
		StorePath:         *storePath,
		Listen:            *listen,
		Location:          *location,
		Probe:             *probeName,
		Shard:             *shardFlag,
		Chrome:            *chrome,
		HostResolverRules: *hostRules,
		Logger:            log,
		NoNotify:          *noNotify,
	})
	if err != nil {
		return err
	}
	for {
		select {
		case <-hup:
			if err := d.Reload(); err != nil {
				// An invalid config never replaces a working one.
				log.Error("reload refused; keeping the running config", "config", *cfgPath, "err", err)
			}
		case <-ctx.Done():
			return d.Shutdown()
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

// startDaemon starts a daemon wired to this process (environment, version)
// and to the SQLite store and InfluxDB; bad input is a usage error.
func startDaemon(ctx context.Context, a *app, o daemon.Options) (*daemon.Daemon, error) {
	o.Getenv, o.Version = a.getenv, a.version
	o.Storage = storage(o.Logger)
	d, err := daemon.Start(ctx, o)
	var ie *daemon.InputError
	if errors.As(err, &ie) {
		return nil, configError(ie.Err)
	}
	return d, err
}

// storage wires the daemon to its store: SQLite, with an outbox and the
// InfluxDB shipper when the config has an influxdb section, and retention.
func storage(log *slog.Logger) daemon.Storage {
	return func(ctx context.Context, path string, cfg *config.Config, stats func() schedule.Stats) (daemon.Store, []daemon.Worker, error) {
		opts := []sqlite.Option{sqlite.WithLogger(log)}
		if cfg.InfluxDB == nil {
			// Nothing would drain the outbox; `export --since` ships these
			// runs if InfluxDB is added later.
			opts = append(opts, sqlite.WithoutOutbox())
		}
		st, err := sqlite.Open(ctx, path, opts...)
		if err != nil {
			return nil, nil, err
		}
		var workers []daemon.Worker
		if cfg.Retention > 0 {
			workers = append(workers, daemon.WorkerFunc(func(ctx context.Context) {
				st.RunRetention(ctx, time.Hour, cfg.Retention, log)
			}))
		}
		if ic := cfg.InfluxDB; ic != nil {
			sh, err := influx.NewShipper(influx.ShipperOptions{
				URL: ic.URL, Org: ic.Org, Bucket: ic.Bucket, Token: ic.Token,
				BatchSize: ic.BatchSize, FlushInterval: ic.FlushInterval,
				Outbox: st, Logger: log,
				MaxOutboxRows: int64(ic.MaxOutboxRows), MaxOutboxAge: ic.MaxOutboxAge,
			})
			if err != nil {
				st.Close()
				return nil, nil, &daemon.InputError{Err: err}
			}
			workers = append(workers, influx.NewShipping(sh, influx.ShippingOptions{
				Location: cfg.Defaults.Location, Probe: cfg.Defaults.Probe, Shard: cfg.Shard.String(),
				Counters: func() influx.HealthCounters {
					s := stats()
					return influx.HealthCounters{Runs: s.Runs, Skipped: s.Skipped, LagP99: s.Lag.P99}
				},
			}))
		}
		return st, workers, nil
	}
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
