package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// BenchmarkBrowserMemory runs `storeprobe run` with browser checks until it
// has finished N browser runs (30 for `make bench-quick`, 1,000) and tells whether memory and
// Chromium's processes stay flat: the daemon's RSS, Chromium's process
// group RSS and its process count are sampled every second; the first
// tenth of the runs (at least 10) is the warm-up; growth compares the
// median of the first and of the second half of the samples after it, as
// TestSoak does, so one sample caught mid-run (a renderer starting) is not
// taken for a leak. After SIGTERM no process of Chromium's group may be
// left. The page is small (text and an image) so that runs are many.
//
// Every slot is busy all the time, so that count swings with the
// renderers of runs starting and ending (two a run in flight, measured).
// Whether runs leave processes behind is told by Chromium's process count
// with no run in flight, after the warm-up and after the last run: the
// checks are reloaded (SIGHUP) to a yearly schedule, and the count taken
// once it has held for 3 s with nothing running.
//
// Reported: rss-growth-% (storeprobe's; goal < 5) and chrome-rss-growth-%
// (Chromium's, shown without a goal), the medians before and after,
// chrome-procs-growth (the per-second count's medians, a difference of
// counts), chrome-quiet-procs-before/after (goal: growth < 5 %),
// leftover-procs (goal 0), runs/min.
// Run with: go test ./cmd/storeprobe -run '^$' -bench BrowserMemory/runs=1000 -benchtime 1x
func BenchmarkBrowserMemory(b *testing.B) {
	chromium := browsertest.Chromium(b)
	bin := storeprobeBinary(b)
	img := make([]byte, 64<<10)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/img.png" {
			w.Header().Set("Content-Type", "image/png")
			w.Write(img)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>shop</title></head><body><h1>Shop</h1><p>`+
			strings.Repeat("Things to buy. ", 50)+`</p><img src="/img.png" width="200" height="100" alt=""></body></html>`)
	}))
	defer site.Close()
	for _, runs := range []int{30, 1000} {
		b.Run(fmt.Sprintf("runs=%d", runs), func(b *testing.B) {
			for range b.N {
				benchBrowserMemory(b, bin, chromium, site.URL, runs)
			}
		})
	}
}

func benchBrowserMemory(b *testing.B, bin, chromium, site string, runs int) {
	// More due runs than slots: every slot stays busy; runs that find their
	// check's previous run in flight are skipped (and stored as skips).
	config := func(schedule string) string {
		var cfg strings.Builder
		cfg.WriteString("scheduler: {browser_concurrency: 3}\nchecks:\n")
		for i := range 6 {
			fmt.Fprintf(&cfg, "  - {name: page%d, type: browser, url: %q, schedule: %q, timeout: 30s}\n", i, fmt.Sprintf("%s/p%d", site, i), schedule)
		}
		return cfg.String()
	}
	const busy, idle = "@every 2s", "0 0 1 1 *" // idle: the same checks, due once a year
	p := startProbe(b, bin, chromium, config(busy))
	p.waitReady(b)
	pid := p.cmd.Process.Pid
	groups := map[int]bool{} // every Chromium group seen, for the check after the stop
	reload := func(schedule string) {
		if err := os.WriteFile(filepath.Join(p.dir, "storeprobe.yaml"), []byte(config(schedule)), 0o644); err != nil {
			b.Fatal(err)
		}
		p.cmd.Process.Signal(syscall.SIGHUP)
	}
	// quiet stops scheduling and counts Chromium's processes once no run is
	// in flight, no run has finished for 3 s and the count held for as long:
	// what the browser keeps between runs.
	quiet := func() float64 {
		reload(idle)
		lastRuns, lastProcs, since := -1.0, -1, time.Now()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			g := chromeGroups(pid)
			for k := range g {
				groups[k] = true
			}
			runs, procs := p.metric(b, "storeprobe_runs_total"), inGroups(g)
			if p.metric(b, "storeprobe_in_flight") != 0 || runs != lastRuns || procs != lastProcs {
				lastRuns, lastProcs, since = runs, procs, time.Now()
				continue
			}
			if time.Since(since) >= 3*time.Second {
				b.Logf("after %v runs, with none in flight: %d Chromium processes: %s", runs, procs, processKinds(g))
				return float64(procs)
			}
		}
		b.Fatalf("runs never stopped after a reload to %q\n%s", idle, p.log)
		return 0
	}
	// resume schedules the runs again and waits for one to finish.
	resume := func() {
		from := p.metric(b, "storeprobe_runs_total")
		reload(busy)
		for deadline := time.Now().Add(time.Minute); p.metric(b, "storeprobe_runs_total") == from; time.Sleep(250 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("no run within a minute of a reload to %q\n%s", busy, p.log)
			}
		}
	}
	type sample struct{ rss, chromeRSS, procs float64 }
	take := func() sample {
		g := chromeGroups(pid)
		var chromeRSS int64
		for k := range g {
			groups[k] = true
			chromeRSS += browser.GroupRSS(k)
		}
		return sample{rss: float64(statusKB(pid, "VmRSS:") << 10), chromeRSS: float64(chromeRSS), procs: float64(inGroups(g))}
	}
	warm := max(10, runs/10)
	start := time.Now()
	deadline := start.Add(time.Duration(runs) * 5 * time.Second) // a run takes about 1 s of a slot
	var after []sample
	var done, warmAt, quietBefore float64
	var warmTime time.Time
	for done < float64(runs) {
		if time.Now().After(deadline) {
			b.Fatalf("%v runs after %v, want %d\n%s", done, time.Since(start), runs, p.log)
		}
		time.Sleep(time.Second)
		done = p.metric(b, "storeprobe_runs_total")
		if done < float64(warm) {
			continue
		}
		if warmTime.IsZero() {
			quietBefore = quiet()
			resume()
			done = p.metric(b, "storeprobe_runs_total")
			warmAt, warmTime = done, time.Now()
		}
		after = append(after, take())
	}
	rate := (done - warmAt) / time.Since(warmTime).Minutes()
	quietAfter := quiet()
	if failed := p.metric(b, "storeprobe_runs_failed_total"); failed > 0 {
		b.Errorf("%v of %v runs failed", failed, done)
	}
	p.stop(b)
	// Chromium's group exits with the daemon; give the kernel a moment to
	// reap what the browser process was still closing.
	leftover := inGroups(groups)
	for i := 0; i < 20 && leftover > 0; i++ {
		time.Sleep(100 * time.Millisecond)
		leftover = inGroups(groups)
	}
	if leftover > 0 {
		for g := range groups {
			syscall.Kill(-g, syscall.SIGKILL) // do not leave them to the next benchmark
		}
	}

	half := len(after) / 2
	if half < 2 {
		b.Fatalf("only %d samples after the warm-up", len(after))
	}
	growth := func(f func(sample) float64) (from, to, pct float64) {
		from, to = medianOf(after[:half], f), medianOf(after[half:], f)
		return from, to, 100 * (to - from) / from
	}
	from, to, pct := growth(func(s sample) float64 { return s.rss })
	b.ReportMetric(mib(int64(from)), "rss-before-MiB")
	b.ReportMetric(mib(int64(to)), "rss-after-MiB")
	b.ReportMetric(pct, "rss-growth-%")
	cfrom, cto, cpct := growth(func(s sample) float64 { return s.chromeRSS })
	b.ReportMetric(cpct, "chrome-rss-growth-%")
	pfrom, pto, _ := growth(func(s sample) float64 { return s.procs })
	b.ReportMetric(pfrom, "chrome-procs-before")
	b.ReportMetric(pto, "chrome-procs-after")
	b.ReportMetric(pto-pfrom, "chrome-procs-growth")
	b.ReportMetric(quietBefore, "chrome-quiet-procs-before")
	b.ReportMetric(quietAfter, "chrome-quiet-procs-after")
	b.ReportMetric(float64(leftover), "leftover-procs")
	b.ReportMetric(done, "runs")
	b.ReportMetric(rate, "runs/min")
	b.ReportMetric(0, "ns/op")
	b.Logf("%v runs (%.0f/min after the warm-up of %d): storeprobe RSS %.1f → %.1f MiB (%+.1f %%), Chromium RSS %.0f → %.0f MiB (%+.1f %%), Chromium processes %.0f → %.0f (%.0f → %.0f with no run in flight), %d left after the stop",
		done, rate, warm, mib(int64(from)), mib(int64(to)), pct, mib(int64(cfrom)), mib(int64(cto)), cpct, pfrom, pto, quietBefore, quietAfter, leftover)
}

// processKinds names the live processes of groups by Chromium's --type (and
// --utility-sub-type), counted: "renderer ×2, zygote ×2, …".
func processKinds(groups map[int]bool) string {
	count := map[string]int{}
	for g := range groups {
		for _, pid := range browser.GroupPIDs(g) {
			count[processKind(pid)]++
		}
	}
	kinds := make([]string, 0, len(count))
	for k, n := range count {
		kinds = append(kinds, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(kinds)
	return strings.Join(kinds, ", ")
}

// processKind names a Chromium process by its --type (and
// --utility-sub-type): "browser" when it has none.
func processKind(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	// A zygote's children rewrite their argv into one space-separated
	// string; the browser's arguments are NUL-separated.
	kind := "browser"
	for _, arg := range strings.FieldsFunc(string(cmdline), func(r rune) bool { return r == 0 || r == ' ' }) {
		if v, ok := strings.CutPrefix(arg, "--type="); ok {
			kind = v
		}
		if v, ok := strings.CutPrefix(arg, "--utility-sub-type="); ok {
			kind += " " + v
		}
	}
	if strings.Contains(string(cmdline), "crashpad") && kind == "browser" {
		kind = "crashpad"
	}
	return kind
}
