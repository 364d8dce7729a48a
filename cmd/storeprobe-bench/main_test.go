package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
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

// TestExitStatus: a missed goal fails the run, a skipped peer does not.
func TestExitStatus(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--from", "testdata/run.log"}, &out, &errs); code != 1 {
		t.Fatalf("exit %d with a p95 of 2.5 ms (goal 2 ms), want 1\n%s", code, errs.String())
	}
	table := out.String()
	for _, want := range []string{
		"| 1 HTTP timing accuracy | HTTP timing error vs the server's truth, p50 / p95: `transfer`, 50 ms mid-body | 0.16 / 2.50 ms | curl 0.13 / 1.86 ms | vs curl's: 0.11 / 1.68 ms apart | p95 ≤ 2 ms | **not met** |",
		"| 2 HTTP cost vs blackbox_exporter | HTTP checks per CPU-second, concurrency 1 | — | — | skipped: no blackbox_exporter at",
		"| 5 How cost grows | p99 schedule lag at 100 / 1,000 / 10,000 checks a minute | 1 / 1.50 / 1.90 ms |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks\n%s\n---\n%s", want, table)
		}
	}
	ok := strings.Replace(mustRead(t, "testdata/run.log"), "2.5 ms-p95-err-ours", "1.5 ms-p95-err-ours", 1)
	path := filepath.Join(t.TempDir(), "ok.log")
	if err := os.WriteFile(path, []byte(ok), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"--from", path}, &out, &errs); code != 0 {
		t.Fatalf("exit %d with every measured goal met and a peer skipped, want 0\n%s", code, out.String())
	}
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
	} {
		if got := curve(tc.xs, tc.ys, "runs", "", 1); !strings.HasPrefix(got, tc.want) {
			t.Errorf("curve(%v, %v) = %q, want %q…", tc.xs, tc.ys, got, tc.want)
		}
	}
}

func TestCurveMargin(t *testing.T) {
	// A fixed base plus a constant cost: sub-linear by exponent, constant
	// by margin.
	got := curve([]float64{1, 2, 4}, []float64{1100, 1200, 1400}, "contexts", "MB a context", 1)
	if want := "sub-linear; exponent per step 0.13, 0.22; each step adds 100, 100 MB a context"; got != want {
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
	r.fail(item{name: "memory", bench: "^BenchmarkBrowserMemory$/^runs=50$"}, errors.New("go test exited 2"), "panic: test timed out after 1h0m0s")
	if r.failures() != 2 {
		t.Errorf("failures = %d, want 2", r.failures())
	}
	found := map[string]bool{}
	for _, row := range buildRows(r) {
		if row.status == statusFailed {
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
