package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/report"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func runReport(ctx context.Context, a *app, args []string) error {
	flags := newFlagSet(a, "report", "[--store PATH] [--since DUR] [--check NAME] [--output text|json] [--fail-on-probe-errors]")
	var (
		storePath   = flags.String("store", "./storeprobe.db", "SQLite store to read")
		sinceStr    = flags.String("since", "24h", "window to report on, back from now: 90m, 24h, 7d, 30d")
		checkName   = flags.String("check", "", "report only this check")
		output      = flags.String("output", "text", "output format: text or json")
		failOnProbe = flags.Bool("fail-on-probe-errors", false, "exit 1 when more than half of a check's runs are probe errors")
	)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	if *output != "text" && *output != "json" {
		return usagef("--output %q: want text or json", *output)
	}
	window, err := probe.ParseDuration(*sinceStr)
	if err != nil {
		return usagef("--since: %v", err)
	}
	if window <= 0 {
		return usagef("--since must be positive")
	}

	store, err := sqlite.Open(ctx, *storePath, sqlite.MustExist())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usagef("store %s does not exist: pass --store, or create one with `storeprobe run` or `storeprobe demo`", *storePath)
		}
		return err
	}
	defer store.Close()

	until := time.Now().UTC()
	rep, err := report.Build(ctx, store, report.Options{StorePath: *storePath, Since: until.Add(-window), Until: until,
		Duration: *sinceStr, Check: *checkName})
	var unknown *report.UnknownCheckError
	if errors.As(err, &unknown) {
		return usageError{err} // a typo in --check (exit 2), not a broken store
	}
	if err != nil {
		return err
	}
	if *output == "json" {
		err = report.WriteJSON(a.stdout, rep)
	} else {
		err = report.WriteText(a.stdout, rep, report.TextOptions{FailOnProbeErrors: *failOnProbe})
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if rep.Fails(*failOnProbe) {
		return errCheckFailed
	}
	return nil
}
