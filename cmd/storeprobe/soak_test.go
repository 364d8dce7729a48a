package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
	"github.com/storeprobe/storeprobe/scenarios"
	"github.com/storeprobe/storeprobe/scenarios/demoshop"
)

// TestSoak runs `storeprobe run` for STOREPROBE_SOAK (e.g. 10m; `make soak`)
// with 200 HTTP checks and 4 browser journeys on a fast schedule against
// the demo shop, and holds it to: RSS, goroutines, open files and Chromium
// processes stable after a warm-up (under 5 % growth between the end of the
// warm-up and the end), no Chromium left behind, and p99 schedule lag of
// the HTTP checks within a second.
func TestSoak(t *testing.T) {
	length, _ := time.ParseDuration(os.Getenv("STOREPROBE_SOAK"))
	if length <= 0 {
		t.Skip("a soak: set STOREPROBE_SOAK=10m (make soak)")
	}
	chromium := browsertest.Chromium(t)
	bin := storeprobeBinary(t)
	shop := demoshop.New(demoshop.Options{SearchDelay: 50 * time.Millisecond, FailEvery: -1})
	base, stop, err := shop.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "checkout.yaml"), string(scenarios.DemoJourneyYAML()))
	var cfg strings.Builder
	cfg.WriteString("scheduler: {concurrency: 32, browser_concurrency: 2}\nretention: 1d\nchecks:\n")
	paths := []string{"/", "/search?q=mug", "/products/stoneware-mug", "/api/inventory?sku=walnut-serving-board", "/payments/stripe/health"}
	for i := range 200 {
		fmt.Fprintf(&cfg, "  - {name: http-%03d, url: \"%s%s\", schedule: \"@every 10s\"}\n", i, base, paths[i%len(paths)])
	}
	for i := range 4 {
		fmt.Fprintf(&cfg, "  - {name: journey-%d, type: journey, journey: checkout.yaml, params: {base_url: %q}, schedule: \"@every 30s\", timeout: 60s}\n", i, base)
	}
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfgPath, cfg.String())
	addr := freePort(t)
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--store", filepath.Join(dir, "s.db"), "--listen", addr,
		"--chrome", chromium, "--host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--log-level", "error")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid

	type sample struct {
		at                   time.Duration
		rss, goroutines, fds float64
		chrome               int
		lagP99               float64
		runs                 float64
	}
	groups := map[int]bool{} // every Chromium group seen, for the check after the stop
	take := func(since time.Time) sample {
		m := scrape(t, addr)
		g := chromeGroups(pid)
		for k := range g {
			groups[k] = true
		}
		return sample{at: time.Since(since), rss: vmRSS(pid), goroutines: m["go_goroutines"], fds: float64(openFiles(pid)),
			chrome: inGroups(g), lagP99: m["lag_p99"], runs: m["storeprobe_runs_total"]}
	}
	start := time.Now()
	warmup := min(3*time.Minute, length/3)
	var after []sample // samples after the warm-up
	var last sample
	for time.Since(start) < length {
		time.Sleep(15 * time.Second)
		s := take(start)
		t.Logf("%6.0fs rss %.0f MiB, goroutines %.0f, open files %.0f, chromium processes %d, p99 lag %.3f s, runs %.0f",
			s.at.Seconds(), s.rss/(1<<20), s.goroutines, s.fds, s.chrome, s.lagP99, s.runs)
		if s.at >= warmup {
			after = append(after, s)
		}
		last = s
	}
	// Growth compares the first and the second half of what came after the
	// warm-up: medians for what a single sample catches mid-run (a journey's
	// renderers, a burst of goroutines), so one sample's timing is not
	// mistaken for a leak.
	half := len(after) / 2
	if half < 2 {
		t.Fatalf("only %d samples after the warm-up: soak longer", len(after))
	}
	for _, m := range []struct {
		what string
		f    func(sample) float64
	}{
		{"RSS", func(s sample) float64 { return s.rss }},
		{"goroutines", func(s sample) float64 { return s.goroutines }},
		{"open files", func(s sample) float64 { return s.fds }},
		{"chromium processes", func(s sample) float64 { return float64(s.chrome) }},
	} {
		from, to := medianOf(after[:half], m.f), medianOf(after[half:], m.f)
		t.Logf("%s: median %.0f → %.0f", m.what, from, to)
		if from > 0 && (to-from)/from > 0.05 {
			t.Errorf("%s grew %.1f %% after the warm-up (median %.0f → %.0f)", m.what, 100*(to-from)/from, from, to)
		}
	}
	if last.lagP99 > 1 {
		t.Errorf("p99 schedule lag %.3f s, want ≤ 1 s", last.lagP99)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if n := inGroups(groups); n != 0 {
		t.Errorf("%d chromium processes left after the daemon stopped", n)
	}
}

// medianOf is the median of f over samples (the upper one of an even
// count): what the soak and BenchmarkBrowserMemory judge growth on.
func medianOf[S any](samples []S, f func(S) float64) float64 {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// scrape reads the daemon's /metrics: the gauges and counters by name, and
// the p99 of the schedule lag histogram (as lag_p99, seconds; linear within
// the bucket, as histogram_quantile does).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[name] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[name] += m.GetCounter().GetValue()
			}
		}
	}
	if f := fams["storeprobe_schedule_lag_seconds"]; f != nil && len(f.GetMetric()) > 0 {
		h := f.GetMetric()[0].GetHistogram()
		total := float64(h.GetSampleCount())
		prevBound, prevCount := 0.0, 0.0
		for _, b := range h.GetBucket() {
			c := float64(b.GetCumulativeCount())
			if c >= 0.99*total && total > 0 {
				frac := 0.0
				if c > prevCount {
					frac = (0.99*total - prevCount) / (c - prevCount)
				}
				out["lag_p99"] = prevBound + frac*(b.GetUpperBound()-prevBound)
				break
			}
			prevBound, prevCount = b.GetUpperBound(), c
		}
		if _, ok := out["lag_p99"]; !ok && total > 0 {
			out["lag_p99"] = math.Inf(1)
		}
	}
	return out
}

func vmRSS(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

func openFiles(pid int) int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries)
}

// procStat is a live process's parent and process group, from /proc.
type procStat struct{ ppid, pgrp int }

func liveProcesses() map[int]procStat {
	out := map[int]procStat{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		pgrp, _ := strconv.Atoi(fields[2])
		out[p] = procStat{ppid, pgrp}
	}
	return out
}

// chromeGroups are the process groups of pid's children: Chromium runs in
// its own group (the daemon starts nothing else).
func chromeGroups(pid int) map[int]bool {
	out := map[int]bool{}
	for _, st := range liveProcesses() {
		if st.ppid == pid {
			out[st.pgrp] = true
		}
	}
	return out
}

// inGroups counts the live processes in the given groups: Chromium, its
// zygote and renderers, wherever they were reparented.
func inGroups(groups map[int]bool) int {
	n := 0
	for _, st := range liveProcesses() {
		if groups[st.pgrp] {
			n++
		}
	}
	return n
}
