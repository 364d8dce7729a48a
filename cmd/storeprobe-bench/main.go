// Command storeprobe-bench runs the benchmarks behind the README's
// Performance section and prints one table of storeprobe beside its peers
// (curl, blackbox_exporter, Lighthouse) and of how its costs grow: metric,
// storeprobe, peer, ratio or error, goal, met or not. `make bench-quick`
// and `make bench` run it after installing the peers.
//
// It measures nothing itself. Each item is a Go benchmark beside the code it
// measures, run with `go test -bench` one at a time (two would share the 2
// cores and spoil each other's numbers); the benchmarks report with
// b.ReportMetric under stable unit names, and this command parses those
// lines, so every figure in the table comes from the run that printed it.
//
// Exit status: 0 when every goal the run measured is met, 1 when one is
// missed or a benchmark failed, 2 on a usage error. A comparison whose peer
// could not be installed is skipped with the benchmark's reason and does
// not fail the run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("storeprobe-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "fewer sizes and iterations (make bench-quick)")
	out := fs.String("out", "", "also write the table to this file (markdown)")
	readme := fs.String("readme", "", "replace the generated block of this README's Performance section with the table")
	goBin := fs.String("go", "go", "the go command")
	only := fs.String("only", "", "run only the items whose name matches this regexp")
	from := fs.String("from", "", "build the table from this saved output of a run (its log) instead of running")
	logPath := fs.String("log", "", "write the benchmarks' whole output here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var filter *regexp.Regexp
	if *only != "" {
		var err error
		if filter, err = regexp.Compile(*only); err != nil {
			fmt.Fprintf(stderr, "storeprobe-bench: --only: %v\n", err)
			return 2
		}
	}
	mode := "full"
	if *quick {
		mode = "quick"
	}

	env := describeMachine(mode)
	res := newResults()
	start := time.Now()
	var log bytes.Buffer
	if *from != "" {
		data, err := os.ReadFile(*from)
		if err != nil {
			fmt.Fprintf(stderr, "storeprobe-bench: %v\n", err)
			return 2
		}
		res.parse(string(data))
	} else {
		for _, it := range items(*quick) {
			if filter != nil && !filter.MatchString(it.name) {
				continue
			}
			fmt.Fprintf(stderr, "== %s: %s -bench '%s' -benchtime %s\n", it.name, it.pkg, it.bench, it.benchtime)
			t := time.Now()
			output, err := runItem(*goBin, it, *quick)
			log.WriteString(output)
			res.parse(output)
			if err != nil {
				res.fail(it, err, output)
				fmt.Fprintf(stderr, "   failed after %v: %v\n", time.Since(t).Round(time.Second), err)
				continue
			}
			fmt.Fprintf(stderr, "   %v\n", time.Since(t).Round(time.Second))
		}
	}
	if *logPath != "" && *from == "" {
		env.Took, env.LoadAfter = time.Since(start), loadAverage()
		js, _ := json.Marshal(env)
		if err := os.WriteFile(*logPath, append([]byte(machineLinePrefix+string(js)+"\n"), log.Bytes()...), 0o644); err != nil {
			fmt.Fprintf(stderr, "storeprobe-bench: %v\n", err)
			return 2
		}
	}
	env.Took = time.Since(start)
	env.LoadAfter = loadAverage()
	if *from != "" {
		// The facts of the run that wrote the log, not of this machine now.
		if res.machine == nil {
			fmt.Fprintf(stderr, "storeprobe-bench: %s has no %q line\n", *from, strings.TrimSpace(machineLinePrefix))
			return 2
		}
		env = *res.machine
	}
	res.machine = &env

	rows := buildRows(res)
	table := renderMarkdown(env, rows, lighthousePairs(res))
	fmt.Fprint(stdout, table)
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			fmt.Fprintf(stderr, "storeprobe-bench: %v\n", err)
			return 2
		}
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fmt.Fprintf(stderr, "storeprobe-bench: %v\n", err)
			return 2
		}
	}
	if *readme != "" {
		if err := replaceBlock(*readme, table); err != nil {
			fmt.Fprintf(stderr, "storeprobe-bench: %v\n", err)
			return 2
		}
	}
	missed, unmeasured := 0, 0
	for _, r := range rows {
		switch r.status {
		case statusMissed:
			missed++
		case statusFailed:
			unmeasured++
		}
	}
	if missed > 0 || unmeasured > 0 || res.failures() > 0 {
		fmt.Fprintf(stderr, "storeprobe-bench: %d goal(s) missed, %d row(s) not measured, %d benchmark run(s) failed\n", missed, unmeasured, res.failures())
		return 1
	}
	return 0
}

// item is one `go test -bench` invocation.
type item struct {
	name      string // for --only and messages
	pkg       string
	bench     string // the -bench regexp
	benchtime string
	timeout   time.Duration
}

// items are what a run measures; quick keeps the same benchmarks with fewer
// sizes and iterations (sub-benchmarks picked by the regexp).
func items(quick bool) []item {
	pick := func(q, f string) string {
		if quick {
			return q
		}
		return f
	}
	return []item{
		{"accuracy", "./probe/httpcheck", "^BenchmarkAccuracyVsCurl$", pick("20x", "100x"), 5 * time.Minute},
		{"blackbox", "./cmd/storeprobe", pick("^BenchmarkVsBlackbox$/^concurrency=(1|16)$", "^BenchmarkVsBlackbox$"), "1x", 15 * time.Minute},
		// Quick: one page a device (the benchmark picks them).
		{"lighthouse", "./probe/browser", "^BenchmarkVsLighthouse$", pick("1x", "3x"), 60 * time.Minute},
		// One go test for the three: one warm browser started, not three.
		{"browser", "./probe/browser", pick("^Benchmark(Browse|JourneyOverhead|ContextRSS)$/^(concurrency=(1|4)|pages=3|contexts=(1|4))$",
			"^Benchmark(Browse|JourneyOverhead|ContextRSS)$"), pick("1x", "5x"), 20 * time.Minute},
		{"capacity", "./cmd/storeprobe", pick("^BenchmarkDaemonCapacity$/^checks=(100|1000)$", "^BenchmarkDaemonCapacity$"), "1x", 15 * time.Minute},
		{"report", "./storage/sqlite", pick("^BenchmarkReportGrowth$/^runs=(10000|100000)$", "^BenchmarkReportGrowth$"), "1x", 90 * time.Minute},
		{"memory", "./cmd/storeprobe", pick("^BenchmarkBrowserMemory$/^runs=30$", "^BenchmarkBrowserMemory$/^runs=1000$"), "1x", 60 * time.Minute},
	}
}

// runItem runs one item and returns its whole output.
func runItem(goBin string, it item, quick bool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), it.timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-run", "^$", "-bench", it.bench, "-benchtime", it.benchtime,
		"-count", "1", "-timeout", it.timeout.String(), "-v", it.pkg)
	cmd.Env = os.Environ()
	if quick {
		cmd.Env = append(cmd.Env, "STOREPROBE_BENCH_QUICK=1")
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		err = fmt.Errorf("go test exited %d", exit.ExitCode())
	}
	return buf.String(), err
}

// block markers of the README's generated part.
const (
	blockBegin = "<!-- storeprobe-bench:begin (generated by `make bench`; do not edit) -->"
	blockEnd   = "<!-- storeprobe-bench:end -->"
)

// replaceBlock puts table between the markers in the file at path.
func replaceBlock(path, table string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	updated, err := withBlock(string(data), table)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(updated), 0o644)
}

// withBlock returns doc with the text between the markers replaced by table.
func withBlock(doc, table string) (string, error) {
	i := strings.Index(doc, blockBegin)
	j := strings.Index(doc, blockEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q … %q block", blockBegin, blockEnd)
	}
	return doc[:i+len(blockBegin)] + "\n" + table + doc[j:], nil
}

// block returns the text between the markers of doc.
func block(doc string) (string, bool) {
	i := strings.Index(doc, blockBegin)
	j := strings.Index(doc, blockEnd)
	if i < 0 || j < i {
		return "", false
	}
	return strings.TrimPrefix(doc[i+len(blockBegin):j], "\n"), true
}
