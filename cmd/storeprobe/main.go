// Command storeprobe is synthetic monitoring for online shops: HTTP checks,
// headless-Chrome journeys with Core Web Vitals, a scheduler with a durable
// store, and shipping to InfluxDB.
//
// main only wires: each subcommand lives in its own file with its own pflag
// FlagSet, and every subcommand returns an error whose type decides the exit
// code (see exit.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is what every subcommand gets: its streams and environment. Nothing
// global, so tests run commands in-process side by side.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	version        string
}

type command struct {
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"check":     {"run one HTTP(S) check now", runCheck},
		"browse":    {"load one page in headless Chromium and measure Core Web Vitals", runBrowse},
		"journey":   {"run a scripted shopping journey in headless Chromium", runJourney},
		"templates": {"list the built-in journeys, or show one's YAML", runTemplates},
		"validate":  {"check a config file and the journeys it names", runValidate},
		"report":    {"summarise stored runs against the targets", runReport},
		"run":       {"run the scheduled checks of a config (the probe daemon)", runRun},
		"export":    {"backfill InfluxDB from the store", runExport},
		"evaluate":  {"judge a fleet's runs from InfluxDB and notify once (the fleet's evaluator)", runEvaluate},
		"demo":      {"run the offline demo: a local shop, checks, a journey, then the report", runDemo},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, version: version}
	os.Exit(run(ctx, a, os.Args[1:]))
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, a *app, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(a.stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "version" {
		fmt.Fprintf(a.stdout, "storeprobe %s\n", a.version)
		return exitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(a.stderr, "storeprobe: unknown command %q (see storeprobe --help)\n", args[0])
		return exitUsage
	}
	err := cmd.run(ctx, a, args[1:])
	code := exitCodeOf(err)
	if err != nil && !errors.Is(err, errCheckFailed) && !errors.Is(err, errHelp) {
		fmt.Fprintf(a.stderr, "storeprobe %s: %v\n", args[0], err)
	}
	return code
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("storeprobe — synthetic monitoring for online shops\n\nUsage:\n  storeprobe <command> [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-11s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'storeprobe <command> --help' for a command's flags.\n" +
		"Exit codes: 0 passed, 1 a check failed or a target was breached, 2 usage or config error,\n" +
		"3 storeprobe's own fault (a probe_error, an unreadable store, Chromium that cannot start).\n")
	io.WriteString(w, b.String())
}
