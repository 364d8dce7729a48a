package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// runExport implements `storeprobe export --since 30d`: it reads the stored
// runs of the window straight from the store, a page at a time, and ships
// them, backfilling a new InfluxDB. It never touches the outbox, so a daemon
// shipping from the same store keeps shipping to its own InfluxDB. Points
// carry their run's scheduled time, so runs InfluxDB already has are
// overwritten, never duplicated, and an interrupted export can simply be
// run again.
func runExport(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "export", "--since DUR (--config FILE | --influx-url URL --bucket DB/RP) [flags]")
	storePath := fs.String("store", "", "SQLite store (default: the config's store, else ./storeprobe.db)")
	sinceFlag := fs.String("since", "30d", "export runs scheduled within this window, e.g. 24h, 30d")
	check := fs.String("check", "", "only this check")
	cfgPath := fs.StringP("config", "c", "", "take the influxdb section (and store) from this config")
	url := fs.String("influx-url", "", "InfluxDB URL (overrides the config's)")
	org := fs.String("org", "", "organisation (InfluxDB 2.x; empty for 1.8)")
	bucket := fs.String("bucket", "", "bucket, or db/rp for InfluxDB 1.8 (overrides the config's)")
	tokenEnv := fs.String("token-env", "", "environment variable holding the token (overrides the config's)")
	batch := fs.Int("batch-size", 0, "points per write request (default: the config's batch_size, else 5000)")
	timeout := fs.Duration("timeout", 10*time.Minute, "keep retrying InfluxDB failures for at most this long")
	verbose := fs.BoolP("verbose", "v", false, "debug logging")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	since, err := probe.ParseDuration(*sinceFlag)
	if err != nil {
		return usagef("--since: %v", err)
	}
	var ic config.InfluxDB
	path := *storePath
	if *cfgPath != "" {
		cfg, err := loadConfig(a, *cfgPath)
		if err != nil {
			return configError(err)
		}
		if cfg.InfluxDB != nil {
			ic = *cfg.InfluxDB
		}
		path = cmp.Or(path, cfg.Store)
	}
	path = cmp.Or(path, config.DefaultStore)
	if *url != "" {
		ic.URL = *url
	}
	if *bucket != "" {
		ic.Bucket = *bucket
	}
	if *org != "" {
		ic.Org = *org
	}
	if *tokenEnv != "" {
		ic.TokenEnv = *tokenEnv
		ic.Token = a.getenv(*tokenEnv)
		if ic.Token == "" {
			return usagef("--token-env %s: the variable is not set", *tokenEnv)
		}
	}
	if ic.URL == "" || ic.Bucket == "" {
		return usagef("no InfluxDB: give --config with an influxdb section, or --influx-url and --bucket")
	}
	if *batch > 0 {
		ic.BatchSize = *batch
	}
	store, err := sqlite.Open(ctx, path, sqlite.MustExist())
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			// The wrong path is the user's to fix; a store that exists and
			// cannot be read is ours (exit 3).
			return usagef("store %s does not exist: pass --store or --config", path)
		}
		return err
	}
	defer store.Close()
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	sh, err := influx.NewShipper(influx.ShipperOptions{
		URL: ic.URL, Org: ic.Org, Bucket: ic.Bucket, Token: ic.Token,
		BatchSize: ic.BatchSize, Logger: log, MaxBackoff: 30 * time.Second,
	})
	if err != nil {
		return usageError{err}
	}
	defer sh.Close()
	q := probe.RunQuery{Since: time.Now().Add(-since), Check: *check}
	fmt.Fprintf(a.stdout, "export: runs of the last %s from %s to %s (%s)\n", *sinceFlag, path, ic.URL, ic.Bucket)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := sh.Export(ctx, store, q)
	fmt.Fprintf(a.stdout, "export: %d runs shipped (%d points written, %d points rejected by InfluxDB in %d runs)\n",
		res.ShippedRuns, res.Points, res.RejectedPoints, res.RejectedRuns)
	if err != nil {
		return fmt.Errorf("export incomplete: %d runs read, %d shipped, the rest of the window not exported; "+
			"run export again (points are overwritten, never duplicated): %w", res.Runs, res.ShippedRuns, err)
	}
	if res.ShippedRuns != res.Runs {
		return fmt.Errorf("export incomplete: %d of %d runs shipped", res.ShippedRuns, res.Runs)
	}
	if res.RejectedPoints > 0 {
		fmt.Fprintf(a.stdout, "export: the rejected points are logged above with InfluxDB's reason; the runs' other points were written\n")
	}
	return nil
}
