package main

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	data, err := os.ReadFile("testdata/run.log")
	if err != nil {
		t.Fatal(err)
	}
	r := newResults()
	r.parse(string(data))
	if v, ok := r.get("BenchmarkAccuracyVsCurl/target=headers", "ms-p95-err-ours"); !ok || v != 0.8342 {
		t.Errorf("headers p95 = %v, %v", v, ok)
	}
	if v, ok := r.get("BenchmarkDaemonCapacity/checks=10000", "cpu-µs/run"); !ok || v != 1000 {
		t.Errorf("capacity cpu = %v, %v", v, ok)
	}
	// A parent's skip explains its sub-benchmarks.
	why, skipped := r.why("BenchmarkVsBlackbox/concurrency=1")
	if !skipped || !strings.HasPrefix(why, "skipped: no blackbox_exporter at /usr/bin/prometheus-blackbox-exporter") {
		t.Errorf("why = %q, %v", why, skipped)
	}
}

// TestExitStatus: a missed goal fails the run, and so does a benchmark
// missing from the log; a skipped peer (or Chromium) does not.
func TestExitStatus(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--from", "testdata/run.log"}, &out, &errs); code != 1 {
		t.Fatalf("exit %d with a p95 of 2.5 ms (goal 2 ms), want 1\n%s", code, errs.String())
	}
	table := out.String()
	for _, want := range []string{
		"| 1 HTTP timing accuracy | HTTP timing error vs the server's truth, p50 / p95: `transfer`, 50 ms mid-body | 0.16 / 2.50 ms | curl 0.13 / 1.86 ms | vs curl's: 0.11 / 1.68 ms apart | p95 ≤ 2 ms | **not met** |",
		"| 2 HTTP cost vs blackbox_exporter | HTTP checks per CPU-second, concurrency 1 | — | — | skipped: no blackbox_exporter at",
		"| 5 How cost grows | p99 schedule lag at 100 / 1,000 / 10,000 checks a minute (runs missed, skipped, not saved, failed: all sizes) | 1 / 1.50 / 1.90 ms (0 missed, 0 skipped, 0 store errors, 0 failed) |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks\n%s\n---\n%s", want, table)
		}
	}
	met := strings.Replace(mustRead(t, "testdata/run.log"), "2.5 ms-p95-err-ours", "1.5 ms-p95-err-ours", 1)
	met += "BenchmarkAccuracyVsCurl/target=tls-2 \t 20 \t 0.1 ms-p50-err-curl \t 0.1 ms-p50-err-ours \t 0.1 ms-p50-gap-curl \t 0.2 ms-p95-err-curl \t 0.2 ms-p95-err-ours \t 0.1 ms-p95-gap-curl\n"
	// testdata/run.log has no browser and no report benchmark: the run it
	// logs never started them.
	out.Reset()
	if code := run([]string{"--from", writeLog(t, met)}, &out, &errs); code != 1 || !strings.Contains(out.String(), "not run: no result in the log") {
		t.Fatalf("exit %d with benchmarks missing from the log, want 1 and the rows saying so\n%s", code, out.String())
	}
	for _, b := range []string{"BenchmarkVsLighthouse", "BenchmarkBrowse", "BenchmarkJourneyOverhead", "BenchmarkContextRSS", "BenchmarkReportGrowth", "BenchmarkBrowserMemory"} {
		met += b + "\n--- SKIP: " + b + "\n    x_test.go:1: no Chromium\n"
	}
	out.Reset()
	if code := run([]string{"--from", writeLog(t, met)}, &out, &errs); code != 0 {
		t.Fatalf("exit %d with every measured goal met and the rest skipped, want 0\n%s", code, out.String())
	}
}

func writeLog(t *testing.T, log string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCurve(t *testing.T) {
	for _, tc := range []struct {
		xs, ys []float64
		want   string
	}{
		{[]float64{100, 1000, 10000}, []float64{1, 10, 100}, "linear; exponent per step 1.00, 1.00"},
		{[]float64{1e4, 1e5, 1e6}, []float64{0.1, 0.2, 2}, "sub-linear up to 100,000 runs, linear beyond (bends at 100,000)"},
		{[]float64{1, 2}, []float64{1, 8}, "super-linear; exponent per step 3.00"},
		{[]float64{1e4, 1e5, 1e6}, []float64{2, 1, 1.5}, "falling up to 100,000 runs, sub-linear beyond (bends at 100,000)"},
	} {
		if got := curve(tc.xs, tc.ys, "runs", "", 1); !strings.HasPrefix(got, tc.want) {
			t.Errorf("curve(%v, %v) = %q, want %q…", tc.xs, tc.ys, got, tc.want)
		}
	}
}

func TestCurveMargin(t *testing.T) {
	// A fixed base plus a constant cost: flat, then sub-linear by exponent,
	// constant by margin.
	got := curve([]float64{1, 2, 4}, []float64{1100, 1200, 1400}, "contexts", "MB a context", 1)
	if want := "flat up to 2 contexts, sub-linear beyond (bends at 2); exponent per step 0.13, 0.22; each step adds 100, 100 MB a context"; got != want {
		t.Errorf("curve = %q, want %q", got, want)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 12.345: "12.3", 0.1234: "0.12", 5: "5", math.NaN(): "—"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestFailedRun: a go test that fails as a whole (a timeout, a build error)
// marks its rows failed and fails the run.
func TestFailedRun(t *testing.T) {
	r := newResults()
	r.parse("--- FAIL: BenchmarkVsBlackbox/concurrency=1\n    blackbox_bench_test.go:90: storeprobe: 3 runs failed\n")
	r.fail(item{name: "memory", bench: "^BenchmarkBrowserMemory$/^runs=30$"}, errors.New("go test exited 2"), "panic: test timed out after 1h0m0s")
	if r.failures() != 2 {
		t.Errorf("failures = %d, want 2", r.failures())
	}
	found := map[string]bool{}
	for _, row := range buildRows(r) {
		// The other benchmarks are missing from this log: failed rows too,
		// saying so.
		if row.status == statusFailed && !strings.HasPrefix(row.ratio, "not run: ") {
			found[strings.SplitN(row.ratio, ":", 3)[1]] = true
			if !strings.HasPrefix(row.ratio, "failed: ") {
				t.Errorf("failed row %q says %q", row.metric, row.ratio)
			}
		}
	}
	if !found[" storeprobe"] || !found[" memory"] {
		t.Errorf("failed rows: %v, want the blackbox and the memory rows", found)
	}
}

// TestBrowserAccuracyVerdict: a tool comparison is judged on the difference
// of the two tools' means, met within the goal or within what chance alone
// moves it in that run (from Lighthouse's spread), missed beyond both.
func TestBrowserAccuracyVerdict(t *testing.T) {
	for _, tc := range []struct {
		name                string
		ours, lh, sdO, sdL  float64
		runs                float64
		want                status
		wantRatioStartsWith string
	}{
		{"within 10 %", 880, 850, 20, 20, 3, statusMet, "3.5 % (30 ms apart; chance alone ±32.7 ms)"},
		// 72 vs 85.2 ms: 15.5 %, but Lighthouse's run-to-run spread of
		// 15 ms over 3 runs lets chance move the difference by ±24.5 ms.
		{"beyond 10 %, within chance", 72, 85.2, 5, 15, 3, statusMetNoise, "15.5 % (13.2 ms apart; chance alone ±24.5 ms)"},
		// The same difference on steady runs is a disagreement.
		{"beyond both", 72, 85.2, 2, 3, 3, statusMissed, "15.5 % (13.2 ms apart; chance alone ±4.90 ms)"},
		// Many runs shrink what chance allows.
		{"beyond both with many runs", 72, 85.2, 5, 15, 100, statusMissed, "15.5 % (13.2 ms apart; chance alone ±4.24 ms)"},
		// Our own spread buys nothing: one of our three runs ending before
		// the LCP image (2,843 vs 3,964 ms, ours spread 1,918 ms,
		// Lighthouse's 6.7) is a miss.
		{"our own spread", 2843, 3964, 1918, 6.7, 3, statusMissed, "28.3 % (1,121 ms apart; chance alone ±10.9 ms)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newResults()
			m := map[string]float64{"runs": tc.runs}
			for _, u := range []string{"lcp-ms", "fcp-ms"} {
				m["ours-"+u], m["lh-"+u], m["sd-ours-"+u], m["sd-lh-"+u] = tc.ours, tc.lh, tc.sdO, tc.sdL
			}
			m["ours-cls"], m["lh-cls"] = 0.1, 0.1
			r.metrics["BenchmarkVsLighthouse/device=desktop/page=shift"] = m
			var got []row
			for _, row := range browserAccuracyRows(r) {
				if strings.Contains(row.metric, "vs Lighthouse") && !strings.HasPrefix(row.metric, "CLS") {
					got = append(got, row)
				}
			}
			if len(got) != 2 {
				t.Fatalf("%d LCP/FCP rows vs Lighthouse, want 2", len(got))
			}
			for _, row := range got {
				if row.status != tc.want || !strings.HasPrefix(row.ratio, tc.wantRatioStartsWith) {
					t.Errorf("%s: %q %q, want %q %q…", row.metric, row.status, row.ratio, tc.want, tc.wantRatioStartsWith)
				}
			}
		})
	}
}

// TestMemoryProcessRows: the process goal is judged on the count with no
// run in flight when the benchmark reports it (sampled while runs go on,
// the count swings with their renderers), on the sampled count in logs from
// before.
func TestMemoryProcessRows(t *testing.T) {
	for _, tc := range []struct {
		name       string
		m          map[string]float64
		wantGated  string // the metric of the row with the goal
		wantStatus status
	}{
		{"quiet count flat, renderers swing", map[string]float64{"chrome-procs-before": 15, "chrome-procs-after": 16,
			"chrome-quiet-procs-before": 8, "chrome-quiet-procs-after": 8}, "with no run in flight", statusMet},
		{"quiet count grows", map[string]float64{"chrome-procs-before": 15, "chrome-procs-after": 15,
			"chrome-quiet-procs-before": 8, "chrome-quiet-procs-after": 9}, "with no run in flight", statusMissed},
		{"an older log", map[string]float64{"chrome-procs-before": 15, "chrome-procs-after": 16}, "Chromium processes after the warm-up", statusMissed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newResults()
			tc.m["runs"] = 1000
			r.metrics["BenchmarkBrowserMemory/runs=1000"] = tc.m
			gated := 0
			for _, row := range memoryRows(r) {
				if !strings.Contains(row.metric, "processes") || strings.Contains(row.metric, "left after") {
					continue
				}
				if row.goal == "—" {
					continue
				}
				gated++
				if !strings.Contains(row.metric, tc.wantGated) || row.status != tc.wantStatus {
					t.Errorf("gated row %q: %q, want one on %q: %q", row.metric, row.status, tc.wantGated, tc.wantStatus)
				}
			}
			if gated != 1 {
				t.Errorf("%d process rows with a goal, want 1", gated)
			}
		})
	}
}

// TestQuickThroughputLevels: make bench-quick measures 1 and 4 probes at
// once; the level it leaves out is no row, while a full run that lacks it
// says so; the peer's rate says whose runs it is.
func TestQuickThroughputLevels(t *testing.T) {
	for _, mode := range []string{"quick", "full"} {
		r := newResults()
		r.machine = &machine{Mode: mode}
		r.metrics["BenchmarkBrowse/concurrency=1"] = map[string]float64{"probes/min": 30}
		r.metrics["BenchmarkBrowse/concurrency=4"] = map[string]float64{"probes/min": 90}
		// Lighthouse's rate: of its desktop runs, of its mobile runs when it
		// made none on desktop (quick), and the row says which.
		r.metrics["BenchmarkVsLighthouse/device=mobile/page=shift"] = map[string]float64{"lh-s/run": 20}
		r.metrics["BenchmarkVsLighthouse/device=mobile/page=hero"] = map[string]float64{"lh-s/run": 24}
		wantPeer := "Lighthouse 2.73 runs/min (one at a time, 2 mobile pages)"
		if mode == "full" {
			r.metrics["BenchmarkVsLighthouse/device=desktop/page=tasks"] = map[string]float64{"lh-s/run": 30} // not a page Browse loads
			r.metrics["BenchmarkVsLighthouse/device=desktop/page=hero"] = map[string]float64{"lh-s/run": 18}
			wantPeer = "Lighthouse 3.33 runs/min (one at a time, 1 desktop page)"
		}
		var levels []string
		for _, row := range throughputRows(r) {
			if strings.HasPrefix(row.metric, "Page probes per minute") {
				levels = append(levels, strings.Fields(row.metric)[6])
				if row.ours != "—" && row.peer != wantPeer {
					t.Errorf("%s: peer %q, want %q", mode, row.peer, wantPeer)
				}
			}
		}
		want := "1 4"
		if mode == "full" {
			want = "1 2 4"
		}
		if got := strings.Join(levels, " "); got != want {
			t.Errorf("%s: rows for %s at once, want %s", mode, got, want)
		}
	}
}

// TestReadmeBlockIsTheLastRun: the README's generated block is the table of
// deploy/bench/last.md, the last `make bench` run, character for character.
func TestReadmeBlockIsTheLastRun(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	last, err := os.ReadFile(filepath.Join("..", "..", "deploy", "bench", "last.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := block(string(readme))
	if !ok {
		t.Fatalf("README.md has no %q … %q block", blockBegin, blockEnd)
	}
	if got != string(last) {
		t.Errorf("README.md's generated block differs from deploy/bench/last.md: run `make bench`, or rebuild both from its log with `go run ./cmd/storeprobe-bench --from bin/bench.log --out deploy/bench/last.md --readme README.md`")
	}
}

// TestBrowsePagesAreBenchPages: the pages the driver takes Lighthouse's rate
// on are the ones BenchmarkBrowse loads (probe/browser's benchPages).
func TestBrowsePagesAreBenchPages(t *testing.T) {
	path := filepath.Join("..", "..", "probe", "browser", "bench_test.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "benchPages" || len(spec.Values) != 1 {
			return true
		}
		lit, _ := spec.Values[0].(*ast.CompositeLit)
		for _, e := range lit.Elts {
			if page, ok := e.(*ast.CompositeLit); ok && len(page.Elts) > 0 {
				if name, ok := page.Elts[0].(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(name.Value)
					names = append(names, s)
				}
			}
		}
		return false
	})
	if !slices.Equal(names, browsePages()) {
		t.Errorf("probe/browser's benchPages are %q, browsePages %q", names, browsePages())
	}
}
