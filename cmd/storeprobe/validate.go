package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/prober"
)

// runValidate implements `storeprobe validate --config FILE`: every problem
// of the config and of the journeys it names, one "FILE:LINE: message" per
// line on stderr, exit 2; otherwise a short summary on stdout, exit 0.
func runValidate(_ context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "validate", "--config FILE")
	path := fs.StringP("config", "c", "", "config file to check (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (the file goes in --config)", fs.Arg(0))
	}
	if *path == "" {
		return usagef("--config FILE is required")
	}
	cfg, err := loadConfig(a, *path)
	var errs probe.Problems
	if errors.As(err, &errs) {
		// The problems are the output, exactly as an editor or CI annotator
		// wants them; main then adds a one-line summary.
		fmt.Fprintln(a.stderr, errs.Error())
		n := len(errs)
		return usagef("%s: %d %s", *path, n, countNoun(n, "problem", "problems"))
	}
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintln(a.stdout, configSummary(cfg))
	return nil
}

// loadConfig loads a config the way every command must (prober.LoadConfig),
// with this process's environment and version.
func loadConfig(a *app, path string) (*config.Config, error) {
	env := func(k string) (string, bool) {
		// app.getenv cannot tell unset from empty; config treats both as
		// missing, so nothing is lost.
		v := a.getenv(k)
		return v, v != ""
	}
	return prober.LoadConfig(path, env, a.version)
}

// configSummary is the one line printed for a valid config.
func configSummary(cfg *config.Config) string {
	byType := map[probe.CheckType]int{}
	journeys := map[string]bool{}
	for _, c := range cfg.Checks {
		byType[c.Type]++
		if c.Journey.File != "" {
			journeys[c.Journey.File] = true
		}
	}
	types := make([]string, 0, len(byType))
	for _, t := range []probe.CheckType{probe.TypeHTTP, probe.TypeBrowser, probe.TypeJourney} {
		if n := byType[t]; n > 0 {
			types = append(types, fmt.Sprintf("%d %s", n, t))
		}
	}
	var b strings.Builder
	n := len(cfg.Checks)
	fmt.Fprintf(&b, "%s: OK: %d %s (%s)", cfg.File, n, countNoun(n, "check", "checks"), strings.Join(types, ", "))
	if len(journeys) > 0 {
		fmt.Fprintf(&b, ", %d journey %s", len(journeys), countNoun(len(journeys), "file", "files"))
	}
	fmt.Fprintf(&b, "; location %s, probe %s", cfg.Defaults.Location, cfg.Defaults.Probe)
	if cfg.InfluxDB != nil {
		fmt.Fprintf(&b, "; influxdb %s", cfg.InfluxDB.URL)
	}
	if n := len(cfg.Notifiers); n > 0 {
		fmt.Fprintf(&b, "; %d %s", n, countNoun(n, "notifier", "notifiers"))
	}
	return b.String()
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
