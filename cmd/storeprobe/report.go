package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/report"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func runReport(ctx context.Context, a *app, args []string) error {
	flags := newFlagSet(a, "report", "[--store PATH] [--since DUR] [--check NAME] [--output text|json|junit|markdown] [--by location] [--exact] [--fail-on-probe-errors]")
	var (
		storePath   = flags.String("store", "./storeprobe.db", "SQLite store to read")
		sinceStr    = flags.String("since", "24h", "window to report on, back from now: 90m, 24h, 7d, 30d")
		checkName   = flags.String("check", "", "report only this check")
		output      = flags.String("output", "text", "output format: text, json, junit (JUnit XML for CI) or markdown (a PR comment)")
		by          = flags.String("by", "", "split each check's figures: location")
		exact       = flags.Bool("exact", false, "read every sample for exact percentiles, however long the window (slower)")
		failOnProbe = flags.Bool("fail-on-probe-errors", false, "exit 1 when more than half of a check's runs are probe errors")
	)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	write := reportWriter(*output)
	if write == nil {
		return usagef("--output %q: want text, json, junit or markdown", *output)
	}
	if *by != "" && *by != "location" {
		return usagef("--by %q: want location", *by)
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
		Duration: *sinceStr, Check: *checkName, ByLocation: *by == "location", Exact: *exact})
	var unknown *report.UnknownCheckError
	if errors.As(err, &unknown) {
		return usageError{err} // a typo in --check (exit 2), not a broken store
	}
	if err != nil {
		return err
	}
	if err := write(a.stdout, rep, report.TextOptions{FailOnProbeErrors: *failOnProbe}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if rep.Fails(*failOnProbe) {
		return errCheckFailed
	}
	return nil
}

// reportWriter is the writer of an --output format; nil for an unknown one.
func reportWriter(format string) func(io.Writer, report.Report, report.TextOptions) error {
	switch format {
	case "text":
		return report.WriteText
	case "json":
		return func(w io.Writer, r report.Report, _ report.TextOptions) error { return report.WriteJSON(w, r) }
	case "junit":
		return report.WriteJUnit
	case "markdown":
		return report.WriteMarkdown
	}
	return nil
}
