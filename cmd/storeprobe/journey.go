package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/scenarios"
)

// runJourney is `storeprobe journey FILE`: a declarative journey in
// headless Chromium, with per-page vitals.
func runJourney(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "journey", "(FILE | --template NAME) [flags]")
	var bf browserFlags
	params := fs.StringArray("param", nil, "set a journey param: key=value (repeatable; overrides the file's params)")
	template := fs.String("template", "", "run a built-in journey instead of a file (see storeprobe templates)")
	timeout := fs.Duration("timeout", 0, "deadline for the whole journey (default: the file's timeout, else 60s)")
	artifacts := fs.String("artifacts", "", "keep screenshots, and on failure a screenshot and request log, under DIR")
	bf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *template != "" && fs.NArg() > 0:
		return usagef("give a journey file or --template, not both")
	case *template == "" && fs.NArg() != 1:
		return usagef("want exactly one journey file (or --template NAME), got %d arguments (see storeprobe journey --help)", fs.NArg())
	}
	spec, err := bf.spec()
	if err != nil {
		return err
	}
	if *timeout < 0 {
		return usagef("--timeout must not be negative")
	}
	set := map[string]string{}
	for _, p := range *params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usagef("--param %q: want key=value", redactParam(p))
		}
		set[strings.TrimSpace(k)] = v
	}
	var j probe.Journey
	if *template != "" {
		j, err = scenarios.Template(*template)
	} else {
		j, err = scenarios.LoadFile(fs.Arg(0))
	}
	if err != nil {
		return usageError{err}
	}
	if j, err = scenarios.Apply(j, set); err != nil {
		return usageError{err}
	}
	if *timeout > 0 {
		j.Timeout = *timeout
	}
	if bf.device != "" {
		j.Device = bf.device // the flag overrides the file
	}
	c := probe.Check{Name: j.Name, Type: probe.TypeJourney, Browser: spec}
	b, err := bf.launch(ctx, a)
	if err != nil {
		return err
	}
	defer b.Close()
	res := b.RunJourney(ctx, c, j, *artifacts)
	return bf.report(a, res, writeJourneyText)
}

// redactParam shows a malformed --param without a value that may be secret.
func redactParam(p string) string {
	if len(p) > 12 {
		return probe.Clip(p, 4)
	}
	return p
}

// writeJourneyText prints a journey: verdict, steps, then each page's vitals.
func writeJourneyText(w io.Writer, r probe.Result) {
	fmt.Fprintf(w, "%s  %s  %s  %.0f ms\n", verdict(r.OK), r.Check, r.Device, r.DurationMS)
	if r.Failure != nil {
		fmt.Fprintf(w, "  failure: %s\n", r.Failure.Error())
	}
	d := r.BrowserDetails
	if d == nil {
		return
	}
	fmt.Fprintln(w, "  steps:")
	for i, s := range d.Steps {
		mark := "ok  "
		switch {
		case s.Skipped:
			mark = "skip"
		case !s.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "    %s %2d %-48s %8.0f ms", mark, i+1, s.Name, s.DurationMS)
		if s.Failure != nil {
			fmt.Fprintf(w, "  %s: %s", s.Failure.Kind, s.Failure.Message)
		}
		fmt.Fprintln(w)
	}
	if len(d.Pages) > 0 {
		fmt.Fprintln(w, "  pages:")
	}
	for _, p := range d.Pages {
		if p.SoftNavigation != "" {
			fmt.Fprintf(w, "    %s  %s  route change, %d requests, %s\n", p.Name, p.URL, p.Requests, formatBytes(p.TransferBytes))
		} else {
			fmt.Fprintf(w, "    %s  %s  load %.0f ms, %d requests, %s\n", p.Name, p.URL, p.LoadMS, p.Requests, formatBytes(p.TransferBytes))
		}
		writeVitals(w, "      ", p.PageMetrics)
		writeObservation(w, "      ", p.PageMetrics)
	}
	writeConsole(w, d)
}
