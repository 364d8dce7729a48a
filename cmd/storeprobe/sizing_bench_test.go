package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
	"github.com/storeprobe/storeprobe/scenarios"
	"github.com/storeprobe/storeprobe/scenarios/demoshop"
)

// BenchmarkFleetSizing measures what a Kubernetes pod running `storeprobe
// run` needs: the real binary runs as a child process (its page servers stay
// in this process, so their CPU is not counted), and memory and CPU are read
// from /proc for storeprobe plus Chromium's process group — what the pod's
// memory cgroup is charged for.
//
//   - idle/http, idle/browser: an idle daemon, without and with Chromium
//     started (a config with browser checks starts it at once).
//   - contexts=N: N browser runs held open at once on the demo shop's home
//     page (an image on it answers only after 25 s), browser_concurrency N.
//   - throughput/http: 2,000 HTTP checks on @every 10s, CPU per run.
//   - throughput/browser/DEVICE: four demo-shop pages on @every 10s with
//     browser_concurrency 2, CPU per run with Chromium's share.
//   - throughput/journey/DEVICE: the demo checkout journey (five pages).
//
// Memory is reported as RSS (shared pages counted in every process), PSS
// (shared pages split), and anon: the anonymous and shared-memory PSS, which
// the pod's memory cgroup cannot reclaim and which, unlike file-backed
// pages, no other Chromium on the machine shares, so it reads the same here
// as in a pod; file-max is the largest file-backed RSS of one process
// (Chromium's binary and resources, which all its processes map). The
// numbers back the README's Scaling section and deploy/kubernetes' resources.
// Run with: go test ./cmd/storeprobe -run '^$' -bench FleetSizing -benchtime 1x
func BenchmarkFleetSizing(b *testing.B) {
	chromium := browsertest.Chromium(b)
	bin := storeprobeBinary(b)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 4096))
	}))
	defer plain.Close()
	shop := demoshop.New(demoshop.Options{})
	shop.Warm()
	hold := make(chan struct{})
	defer close(hold)
	site := httptest.NewServer(heldPages(shop, hold))
	defer site.Close()

	b.Run("idle/http", func(b *testing.B) {
		for range b.N {
			p := startProbe(b, bin, chromium, fmt.Sprintf("checks:\n  - {name: home, url: %q, schedule: \"@every 1m\"}\n", plain.URL))
			time.Sleep(5 * time.Second)
			m := p.memory()
			p.stop(b)
			reportMemory(b, m)
		}
	})
	b.Run("idle/browser", func(b *testing.B) {
		for range b.N {
			// A yearly schedule: Chromium starts with the daemon and stays idle.
			p := startProbe(b, bin, chromium, fmt.Sprintf("checks:\n  - {name: home, type: browser, url: %q, schedule: \"0 0 1 1 *\"}\n", site.URL+"/"))
			p.waitReady(b)
			time.Sleep(5 * time.Second)
			r := p.window(b, 20*time.Second)
			m := p.memory()
			p.stop(b)
			reportMemory(b, m)
			b.ReportMetric(r.cpu.Seconds()/r.window.Seconds(), "cores")
		}
	})
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("contexts=%d", n), func(b *testing.B) {
			for range b.N {
				// Twice as many checks as slots, each run held 25 s: every slot
				// is busy for the whole window.
				var cfg strings.Builder
				fmt.Fprintf(&cfg, "scheduler: {browser_concurrency: %d}\nchecks:\n", n)
				for i := range 2 * n {
					fmt.Fprintf(&cfg, "  - {name: held%d, type: browser, url: %q, schedule: \"@every 10s\", timeout: 60s}\n", i, site.URL+"/held")
				}
				p := startProbe(b, bin, chromium, cfg.String())
				p.waitReady(b)
				time.Sleep(20 * time.Second)
				var samples []procMemory
				for range 20 {
					samples = append(samples, p.memory())
					time.Sleep(time.Second)
				}
				p.stop(b)
				m := medianMemory(samples)
				reportMemory(b, m)
				b.ReportMetric(mib(maxAnon(samples)), "max-anon-MiB")
				b.ReportMetric(float64(m.renderers), "renderers")
			}
		})
	}
	b.Run("throughput/http", func(b *testing.B) {
		for range b.N {
			const checks = 2000
			var cfg strings.Builder
			cfg.WriteString("scheduler: {concurrency: 32}\nchecks:\n")
			for i := range checks {
				fmt.Fprintf(&cfg, "  - {name: c%04d, url: \"%s/p%d\", schedule: \"@every 10s\"}\n", i, plain.URL, i)
			}
			// A whole period first: every check has run once.
			measureThroughput(b, startProbe(b, bin, chromium, cfg.String()), 12*time.Second, 30*time.Second)
		}
	})
	// Devices separately: the mobile profile renders at a higher pixel
	// ratio under 4x CPU throttling and costs several times the desktop's.
	journey := filepath.Join(b.TempDir(), "checkout.yaml")
	if err := os.WriteFile(journey, scenarios.DemoJourneyYAML(), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, dev := range []string{"desktop", "mobile"} {
		b.Run("throughput/browser/"+dev, func(b *testing.B) {
			for range b.N {
				var cfg strings.Builder
				cfg.WriteString("scheduler: {browser_concurrency: 2}\nchecks:\n")
				for i, path := range []string{"/", "/products/stoneware-mug", "/products/pour-over-kettle", "/cart"} {
					fmt.Fprintf(&cfg, "  - {name: page%d, type: browser, url: %q, device: %s, schedule: \"@every 10s\"}\n", i, site.URL+path, dev)
				}
				p := startProbe(b, bin, chromium, cfg.String())
				p.waitReady(b)
				measureThroughput(b, p, 15*time.Second, 60*time.Second)
			}
		})
		b.Run("throughput/journey/"+dev, func(b *testing.B) {
			for range b.N {
				// The demo checkout journey: five pages (home, search,
				// product, cart, checkout), the search page answering after
				// 300 ms.
				var cfg strings.Builder
				cfg.WriteString("scheduler: {browser_concurrency: 2}\nchecks:\n")
				for i := range 4 {
					fmt.Fprintf(&cfg, "  - {name: checkout%d, type: journey, journey: %q, device: %s, params: {base_url: %q}, schedule: \"@every 30s\", timeout: 60s}\n", i, journey, dev, site.URL)
				}
				p := startProbe(b, bin, chromium, cfg.String())
				p.waitReady(b)
				measureThroughput(b, p, 30*time.Second, 60*time.Second)
			}
		})
	}
}

// measureThroughput lets p warm up, measures a window, stops it and reports
// runs, CPU, memory and the store's growth.
func measureThroughput(b *testing.B, p *probeProcess, warmup, window time.Duration) {
	b.Helper()
	time.Sleep(warmup)
	r := p.window(b, window)
	m := p.memory()
	p.stopAndReportStore(b)
	r.report(b)
	reportMemory(b, m)
}

// heldPages serves the demo shop, plus /held: its home page with one more
// image that answers only after 25 s (or when hold closes), so a browser run
// keeps its context open on a fully rendered page.
func heldPages(shop http.Handler, hold <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/held":
			rec := httptest.NewRecorder()
			shop.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			page := strings.Replace(rec.Body.String(), "</body>", `<img src="/held.png" alt=""></body>`, 1)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/held.png":
			select {
			case <-time.After(25 * time.Second):
			case <-hold:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			shop.ServeHTTP(w, r)
		}
	})
}

// probeProcess is a running `storeprobe run`.
type probeProcess struct {
	cmd  *exec.Cmd
	addr string
	dir  string // config, store
	log  *bytes.Buffer
}

func startProbe(tb testing.TB, bin, chromium, config string) *probeProcess {
	tb.Helper()
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "storeprobe.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		tb.Fatal(err)
	}
	addr := freePort(tb)
	cmd := exec.Command(bin, "run", "--config", cfg, "--store", filepath.Join(dir, "s.db"), "--listen", addr,
		"--chrome", chromium, "--host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	p := &probeProcess{cmd: cmd, addr: addr, dir: dir, log: &bytes.Buffer{}}
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p.waitStatus(tb, "/healthz")
	return p
}

// waitReady waits for /readyz: for a browser config, Chromium runs.
func (p *probeProcess) waitReady(tb testing.TB) { tb.Helper(); p.waitStatus(tb, "/readyz") }

func (p *probeProcess) waitStatus(tb testing.TB, path string) {
	tb.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + p.addr + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	tb.Fatalf("%s never answered 200\n%s", path, p.log)
}

func (p *probeProcess) stop(tb testing.TB) {
	tb.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		tb.Fatalf("storeprobe run: %v\n%s", err, p.log)
	}
}

// stopAndReportStore stops the daemon and reports the store's size per
// run (after the final checkpoint), for sizing the volume.
func (p *probeProcess) stopAndReportStore(b *testing.B) {
	b.Helper()
	runs := p.metric(b, "storeprobe_runs_total")
	p.stop(b)
	var size int64
	files, _ := filepath.Glob(filepath.Join(p.dir, "s.db*"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	if runs > 0 {
		b.ReportMetric(float64(size)/runs/1024, "store-KiB/run")
	}
}

// chromePGID is Chromium's process group (its main process's pid, since
// the browser package starts it with Setpgid), or 0 when none runs.
func (p *probeProcess) chromePGID() int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStatFields(pid); len(f) > 1 && f[1] == strconv.Itoa(p.cmd.Process.Pid) {
			return pid
		}
	}
	return 0
}

// procMemory is one sample of the pod's processes.
type procMemory struct {
	rss, pss             int64 // storeprobe
	chromeRSS, chromePSS int64 // Chromium's process group
	// anon is the anonymous and shared-memory part of the PSS of all of
	// them: memory the cgroup cannot reclaim, and, unlike the file-backed
	// part, not shared with other Chromiums on the machine, so the same
	// here as in a pod. fileMax is the largest file-backed RSS of one
	// process (Chromium's binary and resources, mapped by all).
	anon, fileMax int64
	renderers     int
}

func (m procMemory) totalPSS() int64 { return m.pss + m.chromePSS }

func (p *probeProcess) memory() procMemory {
	pid := p.cmd.Process.Pid
	m := procMemory{rss: statusKB(pid, "VmRSS:") << 10, pss: rollupKB(pid, "Pss:") << 10}
	pids := []int{pid}
	if pg := p.chromePGID(); pg > 0 {
		m.chromeRSS, m.chromePSS = browser.GroupRSS(pg), browser.GroupPSS(pg)
		for _, c := range browser.GroupPIDs(pg) {
			pids = append(pids, c)
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
			if bytes.Contains(cmdline, []byte("--type=renderer")) {
				m.renderers++
			}
		}
	}
	for _, c := range pids {
		m.anon += (rollupKB(c, "Pss_Anon:") + rollupKB(c, "Pss_Shmem:")) << 10
		m.fileMax = max(m.fileMax, statusKB(c, "RssFile:")<<10)
	}
	return m
}

func medianMemory(s []procMemory) procMemory {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b procMemory) int { return int(a.anon - b.anon) })
	return s[len(s)/2]
}

func maxAnon(s []procMemory) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.anon)
	}
	return m
}

func reportMemory(b *testing.B, m procMemory) {
	b.ReportMetric(mib(m.rss), "storeprobe-RSS-MiB")
	b.ReportMetric(mib(m.pss), "storeprobe-PSS-MiB")
	b.ReportMetric(mib(m.chromeRSS), "chrome-RSS-MiB")
	b.ReportMetric(mib(m.chromePSS), "chrome-PSS-MiB")
	b.ReportMetric(mib(m.rss+m.chromeRSS), "total-RSS-MiB")
	b.ReportMetric(mib(m.totalPSS()), "total-PSS-MiB")
	b.ReportMetric(mib(m.anon), "anon-MiB")
	b.ReportMetric(mib(m.fileMax), "file-max-MiB")
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// throughput is what one measurement window saw.
type throughput struct {
	window       time.Duration
	runs, failed float64
	cpu          time.Duration // storeprobe and Chromium, user + system
	chromeCPU    time.Duration // Chromium's share
	inFlight     float64       // mean runs in flight
	lagP99       float64
}

// window counts runs and CPU over d, both read at its ends, so the start
// (Chromium's launch, loading the config) is left out.
func (p *probeProcess) window(tb testing.TB, d time.Duration) throughput {
	tb.Helper()
	runs0, failed0 := p.metric(tb, "storeprobe_runs_total"), p.metric(tb, "storeprobe_runs_failed_total")
	own0, chrome0 := p.treeCPU()
	start := time.Now()
	// Runs in flight, sampled each second: CPU per run in flight is what a
	// run uses while it loads, which CPU requests must cover.
	var inFlight float64
	samples := 0
	for time.Since(start) < d {
		time.Sleep(time.Second)
		inFlight += p.metric(tb, "storeprobe_in_flight")
		samples++
	}
	runs1, failed1 := p.metric(tb, "storeprobe_runs_total"), p.metric(tb, "storeprobe_runs_failed_total")
	own1, chrome1 := p.treeCPU()
	return throughput{window: time.Since(start), runs: runs1 - runs0, failed: failed1 - failed0,
		cpu: own1 + chrome1 - own0 - chrome0, chromeCPU: chrome1 - chrome0, inFlight: inFlight / float64(samples),
		lagP99: p.metric(tb, `storeprobe_schedule_lag_seconds{quantile="0.99"}`)}
}

func (r throughput) report(b *testing.B) {
	b.ReportMetric(r.runs/r.window.Minutes(), "runs/min")
	b.ReportMetric(r.cpu.Seconds()/r.window.Seconds(), "cores")
	b.ReportMetric(r.inFlight, "in-flight")
	if r.inFlight > 0 {
		b.ReportMetric(r.cpu.Seconds()/r.window.Seconds()/r.inFlight, "cores/in-flight-run")
	}
	b.ReportMetric(r.failed, "failed-runs")
	if r.cpu > 0 && r.runs > 0 {
		// Runs per CPU-minute: what one fully used core sustains per minute.
		b.ReportMetric(r.runs/r.cpu.Minutes(), "runs/min/core")
		b.ReportMetric(float64(r.cpu.Microseconds())/r.runs/1000, "cpu-ms/run")
		b.ReportMetric(float64(r.chromeCPU.Microseconds())/r.runs/1000, "chrome-cpu-ms/run")
	}
	b.ReportMetric(r.lagP99*1000, "p99-lag-ms")
	b.ReportMetric(0, "ns/op")
}

// treeCPU is the CPU time of storeprobe and of Chromium's process group,
// counting each process's own time and that of the children it reaped (the
// renderers of closed contexts, reaped by Chromium's zygote).
func (p *probeProcess) treeCPU() (own, chrome time.Duration) {
	own = cpuOf(p.cmd.Process.Pid)
	if pg := p.chromePGID(); pg > 0 {
		chrome = cpuOf(browser.GroupPIDs(pg)...)
	}
	return own, chrome
}

func cpuOf(pids ...int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		f := procStatFields(pid)
		// After the command name: state(0) ppid(1) ... utime(11) stime(12)
		// cutime(13) cstime(14).
		if len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}

func (p *probeProcess) metric(tb testing.TB, series string) float64 {
	tb.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				tb.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	tb.Fatalf("/metrics has no %s", series)
	return 0
}

// procStatFields are the fields of /proc/PID/stat after the command name.
func procStatFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// statusKB reads a "Key:  N kB" line of /proc/PID/status.
func statusKB(pid int, key string) int64 { return procKB(fmt.Sprintf("/proc/%d/status", pid), key) }

// rollupKB reads a line of /proc/PID/smaps_rollup.
func rollupKB(pid int, key string) int64 {
	return procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), key)
}

func procKB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
