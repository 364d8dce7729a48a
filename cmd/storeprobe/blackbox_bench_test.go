package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/componenttest"
)

// blackboxExporter is Debian's prometheus-blackbox-exporter, found by the
// rule every component of the tests follows.
var blackboxExporter = componenttest.Component{
	Name: "blackbox_exporter", PathVar: "BLACKBOX_EXPORTER", RequireVar: "STOREPROBE_REQUIRE_BLACKBOX_EXPORTER",
	Defaults: componenttest.At("/usr/bin/prometheus-blackbox-exporter"),
	Install:  "does not install it; `make blackbox-exporter` installs Debian's prometheus-blackbox-exporter",
}

// blackboxTimes are how long each side warms up (connections, GC heap,
// the schedule's first round) and how long it is measured; shorter for
// `make bench-quick`.
func blackboxTimes() (warmup, window time.Duration) {
	if benchQuick() {
		return time.Second, 2 * time.Second
	}
	return 2 * time.Second, 5 * time.Second
}

// BenchmarkVsBlackbox compares the CPU and memory an HTTP check costs in
// storeprobe and in Prometheus's blackbox_exporter, each as its own
// process, on the same loopback target (a 4 KiB page served by this test
// process, whose CPU neither side is charged), at concurrency 1, 16 and 256.
//
// What each side does per check, as deployed:
//   - blackbox_exporter: answers GET /probe?module=http_2xx&target=URL — a
//     new connection to the target (it disables keep-alive), the body read,
//     the 2xx check, and the probe's metrics rendered in the response. The
//     benchmark is its Prometheus: N goroutines request /probe back to back
//     (keep-alive to the exporter, as Prometheus scrapes).
//   - storeprobe: `storeprobe run` with `scheduler.concurrency: N` and M
//     checks on `@every 1s` of the same URL — a new connection, the body
//     read into its bounded buffer, the status assertion, and the run saved
//     to SQLite with its outbox row: its results are durable, blackbox's are
//     not, so storeprobe does more per check.
//
// Measured over the same window after a warm-up, from /proc: each
// process's user+system CPU and its RSS at the end. Checks per CPU-second
// is the efficiency; checks per wall-second the throughput. storeprobe runs
// twice per level, because a scheduler is not a closed loop:
//   - matched: M = blackbox_exporter's checks per second in its window, the
//     same work offered; CPU per check is compared here, where no run
//     should be skipped (an overloaded scheduler also records each skipped
//     run, a cost that is not a check's; the table says when one was);
//   - saturated: M = four times that, as fast as it can go at concurrency
//     N; its runs a second are its throughput (skipped runs reported: with
//     none, it kept up and its throughput is at least that).
//
// Both are plain HTTP: TLS would add each side's handshake, which the
// accuracy benchmark in probe/httpcheck looks at.
// Run with: go test ./cmd/storeprobe -run '^$' -bench VsBlackbox -benchtime 1x
func BenchmarkVsBlackbox(b *testing.B) {
	exporter := componenttest.Apply(b, blackboxExporter.Find())
	bin := storeprobeBinary(b)
	page := bytes.Repeat([]byte("x"), 4096)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(page) }))
	defer target.Close()
	bb := startBlackbox(b, exporter)

	for _, conc := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			for range b.N {
				theirs := bb.measure(b, target.URL+"/", conc)
				rate := theirs.checks / theirs.wall.Seconds()
				matched := measureStoreprobe(b, bin, target.URL, conc, int(math.Ceil(rate)))
				saturated := measureStoreprobe(b, bin, target.URL, conc, int(math.Ceil(4*rate)))

				b.ReportMetric(theirs.checks/theirs.cpu.Seconds(), "bb-checks/cpu-s")
				b.ReportMetric(rate, "bb-checks/s")
				b.ReportMetric(mib(theirs.rss), "bb-RSS-MiB")
				b.ReportMetric(matched.checks/matched.cpu.Seconds(), "sp-checks/cpu-s")
				b.ReportMetric(matched.checks/matched.wall.Seconds(), "sp-matched-checks/s")
				b.ReportMetric(matched.skipped, "sp-matched-skipped")
				b.ReportMetric(mib(matched.rss), "sp-RSS-MiB")
				b.ReportMetric(saturated.checks/saturated.wall.Seconds(), "sp-checks/s")
				b.ReportMetric(saturated.skipped, "sp-saturated-skipped")
				b.ReportMetric(0, "ns/op")
				b.Logf("concurrency %d: blackbox_exporter %.0f checks/s, %.0f per CPU-second, RSS %.0f MiB; storeprobe offered %d/s: %.0f/s, %.0f per CPU-second, RSS %.0f MiB, %v skipped; saturated: %.0f/s, %v skipped",
					conc, rate, theirs.checks/theirs.cpu.Seconds(), mib(theirs.rss), int(math.Ceil(rate)),
					matched.checks/matched.wall.Seconds(), matched.checks/matched.cpu.Seconds(), mib(matched.rss), matched.skipped,
					saturated.checks/saturated.wall.Seconds(), saturated.skipped)
			}
		})
	}
}

// sideResult is one side's measurement window.
type sideResult struct {
	checks, skipped float64
	wall, cpu       time.Duration
	rss             int64
}

// measureStoreprobe runs `storeprobe run` with checks copies of the target
// on @every 1s at the given concurrency and measures a window.
func measureStoreprobe(b *testing.B, bin, target string, conc, checks int) sideResult {
	b.Helper()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "scheduler: {concurrency: %d}\nchecks:\n", conc)
	for i := range checks {
		fmt.Fprintf(&cfg, "  - {name: c%05d, url: \"%s/p%d\", schedule: \"@every 1s\"}\n", i, target, i)
	}
	p := startProbe(b, bin, "", cfg.String())
	warmup, window := blackboxTimes()
	time.Sleep(warmup)
	pid := p.cmd.Process.Pid
	runs0, skipped0, cpu0 := p.metric(b, "storeprobe_runs_total"), p.metric(b, "storeprobe_runs_skipped_total"), cpuOf(pid)
	start := time.Now()
	time.Sleep(window)
	runs1, skipped1, cpu1 := p.metric(b, "storeprobe_runs_total"), p.metric(b, "storeprobe_runs_skipped_total"), cpuOf(pid)
	r := sideResult{checks: runs1 - runs0, skipped: skipped1 - skipped0, wall: time.Since(start), cpu: cpu1 - cpu0,
		rss: statusKB(pid, "VmRSS:") << 10}
	if failed := p.metric(b, "storeprobe_runs_failed_total"); failed > 0 {
		b.Fatalf("storeprobe: %v runs failed\n%s", failed, p.log)
	}
	p.stop(b)
	return r
}

// blackbox is a running blackbox_exporter.
type blackbox struct {
	cmd    *exec.Cmd
	addr   string
	client *http.Client
	log    *bytes.Buffer
}

// startBlackbox starts the exporter on a free loopback port with one
// module, http_2xx: GET, 2xx expected, IPv4, a 5 s timeout — what the
// storeprobe checks above do.
func startBlackbox(b *testing.B, exporter string) *blackbox {
	b.Helper()
	dir := b.TempDir()
	cfg := filepath.Join(dir, "blackbox.yml")
	if err := os.WriteFile(cfg, []byte(`modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      method: GET
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
`), 0o644); err != nil {
		b.Fatal(err)
	}
	addr := freePort(b)
	cmd := exec.Command(exporter, "--config.file="+cfg, "--web.listen-address="+addr, "--log.level=error")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	bb := &blackbox{cmd: cmd, addr: addr, log: &bytes.Buffer{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
	cmd.Stdout, cmd.Stderr = bb.log, bb.log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := bb.client.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return bb
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("blackbox_exporter did not come up on %s: %v\n%s", addr, err, bb.log)
		}
	}
}

// probeOnce asks the exporter to probe target and checks it succeeded.
func (bb *blackbox) probeOnce(ctx context.Context, target string) error {
	u := "http://" + bb.addr + "/probe?module=http_2xx&target=" + url.QueryEscape(target)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := bb.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !bytes.Contains(body, []byte("\nprobe_success 1\n")) {
		return fmt.Errorf("blackbox_exporter: probe of %s did not succeed:\n%s", target, body)
	}
	return nil
}

// measure drives conc back-to-back /probe requests through a warm-up and a
// window, and reads the exporter's CPU and RSS around the window.
func (bb *blackbox) measure(b *testing.B, target string, conc int) sideResult {
	b.Helper()
	warmup, window := blackboxTimes()
	ctx, cancel := context.WithTimeout(context.Background(), warmup+window+30*time.Second)
	defer cancel()
	var counting atomic.Bool
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := bb.probeOnce(ctx, target); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				if counting.Load() {
					done.Add(1)
				}
			}
		})
	}
	time.Sleep(warmup)
	pid := bb.cmd.Process.Pid
	cpu0 := cpuOf(pid)
	counting.Store(true)
	start := time.Now()
	time.Sleep(window)
	counting.Store(false)
	r := sideResult{checks: float64(done.Load()), wall: time.Since(start), cpu: cpuOf(pid) - cpu0,
		rss: statusKB(pid, "VmRSS:") << 10}
	close(stop)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("%v\n%s", firstErr, bb.log)
	}
	return r
}
