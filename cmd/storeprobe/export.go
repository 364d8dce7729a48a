package main

import (
	"context"
	"fmt"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// runExport implements `storeprobe export --since 30d`: it puts the stored
// runs of the window back in the outbox and ships them, backfilling a new
// InfluxDB. Points carry their run's scheduled time, so runs InfluxDB
// already has are overwritten, never duplicated.
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
	batch := fs.Int("batch-size", 5000, "points per write request")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long; what is not shipped stays in the outbox")
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
		path = firstNonEmpty(path, cfg.Store)
	}
	path = firstNonEmpty(path, config.DefaultStore)
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
	store, err := sqlite.Open(ctx, path, sqlite.MustExist())
	if err != nil {
		return usagef("store %s: %v", path, err)
	}
	defer store.Close()
	q := sqlite.RunQuery{Since: time.Now().Add(-since), Check: *check}
	queued, err := store.Requeue(ctx, q)
	if err != nil {
		return err
	}
	sh, err := influx.NewShipper(influx.ShipperOptions{
		URL: ic.URL, Org: ic.Org, Bucket: ic.Bucket, Token: ic.Token,
		BatchSize: *batch, Outbox: store, MaxBackoff: 30 * time.Second,
	})
	if err != nil {
		return usageError{err}
	}
	defer sh.Close()
	fmt.Fprintf(a.stdout, "export: %d runs of the last %s queued from %s to %s (%s)\n", queued, *sinceFlag, path, ic.URL, ic.Bucket)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	shipped, err := sh.Flush(ctx)
	st := sh.Stats()
	fmt.Fprintf(a.stdout, "export: %d runs shipped (%d points, %d rejected); %d left in the outbox\n",
		shipped, st.ShippedPoints, st.RejectedPoints, st.OutboxDepth)
	if err != nil {
		return fmt.Errorf("export incomplete, the rest stays in the outbox for `storeprobe run` to ship: %w", err)
	}
	if st.RejectedPoints > 0 {
		return fmt.Errorf("%d points were rejected by InfluxDB (kept in the store with their errors)", st.RejectedPoints)
	}
	return nil
}
