package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/daemon"
	"github.com/storeprobe/storeprobe/probe/report"
	"github.com/storeprobe/storeprobe/scenarios"
	"github.com/storeprobe/storeprobe/scenarios/demoshop"
	"github.com/storeprobe/storeprobe/scenarios/themes"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// runDemo implements `storeprobe demo`: the whole product offline in one
// command — a local storefront, a config of HTTP checks, browser pages and
// a checkout journey run by the real scheduler into a real store, then the
// report.
func runDemo(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "demo", "[flags]")
	duration := fs.Duration("duration", 60*time.Second, "how long to run the checks before the report")
	noBrowser := fs.Bool("no-browser", false, "leave out the browser page and journey checks")
	chrome := fs.String("chrome", "", "Chromium binary (default: $STOREPROBE_CHROME, /usr/bin/chromium)")
	keep := fs.Bool("keep", false, "keep the demo's directory (config, journey, store, artifacts) and print its path")
	dir := fs.String("dir", "", "directory for the demo's files (default: a new temporary directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *duration < 5*time.Second {
		return usagef("--duration %s: at least 5s, so every check runs", *duration)
	}
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "storeprobe-demo-"); err != nil {
			return fmt.Errorf("demo directory: %w", err)
		}
		if !*keep {
			defer os.RemoveAll(work)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}

	// The shop's pages load a GA4 tag and its checkout Stripe's card field
	// from stand-ins of those vendors on loopback, which the demo's Chrome
	// reaches by host-resolver rules and whose one certificate it accepts.
	vendors, err := demoshop.StartVendors(ctx, nil)
	if err != nil {
		return err
	}
	defer vendors.Close()
	shop := demoshop.New(demoshop.Options{CDN: "cloudflare", Vendors: true})
	base, stopShop, err := shop.Start(ctx)
	if err != nil {
		return err
	}
	defer stopShop()

	// A Shopify store on the Dawn theme (the fixture the shopify template
	// is proven on), run through the built-in template unchanged.
	dawn, stopDawn, err := serveLoopback(themes.Shopify(themes.Options{}))
	if err != nil {
		return err
	}
	defer stopDawn()

	chromePath := cmp.Or(*chrome, a.getenv("STOREPROBE_CHROME"), browser.DefaultPath)
	withBrowser := !*noBrowser
	if withBrowser {
		if _, err := exec.LookPath(chromePath); err != nil {
			fmt.Fprintf(a.stdout, "Chromium not found at %s: running the HTTP checks only (make demo installs it).\n", chromePath)
			withBrowser = false
		}
	}
	cfgPath := filepath.Join(work, "storeprobe.yaml")
	if err := os.WriteFile(filepath.Join(work, "checkout.yaml"), scenarios.DemoJourneyYAML(), 0o644); err != nil {
		return fmt.Errorf("write demo journey: %w", err)
	}
	// The demo's alerts go to a webhook of its own, printed as they come.
	var outMu sync.Mutex
	start := time.Now()
	hookURL, stopHook, err := demoAlertReceiver(a.stdout, &outMu, start)
	if err != nil {
		return err
	}
	defer stopHook()
	cfgText := demoConfig(base, dawn, hookURL, withBrowser)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		return fmt.Errorf("write demo config: %w", err)
	}
	storePath := filepath.Join(work, "storeprobe.db")

	fmt.Fprintf(a.stdout, "storeprobe demo: a shop at %s, %d checks, for %s.\n", base, strings.Count(cfgText, "  - name:"), *duration)
	outageFrom, outageTo := *duration/4, *duration*3/5
	fmt.Fprintf(a.stdout, "The search page is slow on purpose, /api/inventory fails every 5th request, and the PayPal\n"+
		"gateway goes down from %s to %s: its alerts arrive at the demo's webhook (🔔 lines).\n\n", outageFrom, outageTo)
	fmt.Fprintf(a.stdout, "  %6s  %-2s %-18s %-8s %9s  %s\n", "time", "", "check", "type", "ms", "details")

	stage := func(at time.Duration, down bool, what string) *time.Timer {
		return time.AfterFunc(at, func() {
			shop.SetGatewayDown("paypal", down)
			outMu.Lock()
			defer outMu.Unlock()
			fmt.Fprintf(a.stdout, "  %5.0fs  %-2s %s\n", time.Since(start).Seconds(), "⚡", what)
		})
	}
	defer stage(outageFrom, true, "the PayPal gateway goes down (planted outage)").Stop()
	defer stage(outageTo, false, "the PayPal gateway is back").Stop()
	progress := func(run probe.Run) {
		outMu.Lock()
		defer outMu.Unlock()
		printProgress(a.stdout, time.Since(start), run)
	}
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	// The daemon's own log is discarded (STOREPROBE_DEMO_LOG=1 shows it on
	// stderr at debug level): failures the demo provokes are shown in the
	// progress lines instead.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if a.getenv("STOREPROBE_DEMO_LOG") != "" {
		log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := startDaemon(runCtx, a, daemon.Options{
		ConfigPath: cfgPath, StorePath: storePath, Chrome: chromePath, Logger: log, OnRun: progress,
		HostResolverRules: vendors.ResolverRules(), ChromeFlags: []string{"ignore-certificate-errors-spki-list=" + vendors.SPKI},
	})
	if err != nil {
		return err
	}
	<-runCtx.Done()
	outMu.Lock() // in-flight runs still print progress
	if ctx.Err() != nil {
		fmt.Fprintf(a.stdout, "\nInterrupted: stopping, then the report so far...\n")
	} else {
		fmt.Fprintf(a.stdout, "\nStopping: letting in-flight runs finish...\n")
	}
	outMu.Unlock()
	if err := d.Shutdown(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\n")
	// The report runs even after Ctrl-C: what ran so far is worth seeing.
	rep, err := demoReport(context.WithoutCancel(ctx), storePath)
	if err != nil {
		return err
	}
	if err := report.WriteText(a.stdout, rep, report.TextOptions{}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if *keep {
		fmt.Fprintf(a.stdout, "\nDemo files kept in %s (try: storeprobe report --store %s)\n", work, storePath)
	}
	if rep.Breached {
		// The demo breaches targets on purpose; that is its point, not a failure.
		fmt.Fprintf(a.stdout, "\nThe ✗ verdicts are the demo's planted faults: a slow search page, a flaky inventory API and the\nPayPal outage.\n")
	}
	return nil
}

// demoReport judges the demo's last hour in its store.
func demoReport(ctx context.Context, storePath string) (report.Report, error) {
	store, err := sqlite.Open(ctx, storePath, sqlite.MustExist())
	if err != nil {
		return report.Report{}, err
	}
	defer store.Close()
	until := time.Now().UTC()
	return report.Build(ctx, store, report.Options{StorePath: storePath, Since: until.Add(-time.Hour), Until: until, Duration: "1h"})
}

// printProgress prints one line per run, and one per page of a journey.
func printProgress(w io.Writer, since time.Duration, run probe.Run) {
	f := run.Final()
	mark := "✓"
	details := ""
	if !f.OK {
		mark = "✗"
		if f.Failure != nil {
			details = string(f.Failure.Kind)
			if f.Failure.Phase != "" {
				details += " (" + string(f.Failure.Phase) + ")"
			}
			details += ": " + truncate(f.Failure.Message, 60)
		}
	}
	if f.HTTPDetails != nil && f.OK {
		details = fmt.Sprintf("%d, ttfb %.0f ms", f.StatusCode, f.Timings.TTFB)
		if c := f.HTTPDetails.CDN; c != nil && c.Provider != "" && c.Provider != "none" {
			details += fmt.Sprintf(", %s %s %s", c.Provider, c.Cache, c.POP)
		}
	}
	if f.BrowserDetails != nil && f.PageMetrics != nil && f.OK {
		details = vitalsLine(f.Device, f.PageMetrics)
	}
	if n := len(run.Attempts); n > 1 {
		// A retry rescued the run, or every attempt failed: say so.
		details = fmt.Sprintf("after %d attempts: %s", n, details)
	}
	fmt.Fprintf(w, "  %5.0fs  %-2s %-18s %-8s %9.0f  %s\n", since.Seconds(), mark, truncate(run.Check, 18), run.Type, f.DurationMS, details)
	if f.BrowserDetails != nil {
		for _, p := range f.Pages {
			fmt.Fprintf(w, "  %6s  %-2s %-18s %-8s %9.0f  %s\n", "", "", "  · "+truncate(p.Name, 14), "page", p.LoadMS, vitalsLine("", &p.PageMetrics))
		}
	}
}

func vitalsLine(device string, m *probe.PageMetrics) string {
	var b strings.Builder
	if device != "" {
		b.WriteString(device + " ")
	}
	v := m.Vitals
	for _, x := range []struct {
		name string
		p    *float64
		cls  bool
	}{{"ttfb", v.TTFB, false}, {"fcp", v.FCP, false}, {"lcp", v.LCP, false}, {"cls", v.CLS, true}, {"inp", v.INP, false}} {
		if x.p == nil {
			continue
		}
		if x.cls {
			fmt.Fprintf(&b, "%s %.3f ", x.name, *x.p)
		} else {
			fmt.Fprintf(&b, "%s %.0f ", x.name, *x.p)
		}
	}
	return strings.TrimSpace(b.String())
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// demoAlertReceiver is the demo's webhook: it prints each notification as a
// line among the progress lines.
func demoAlertReceiver(w io.Writer, mu *sync.Mutex, start time.Time) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo alert receiver: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var n alert.Notification
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil {
			http.Error(rw, "not a notification", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "  %5.0fs  %-2s %s %s: %s\n", time.Since(start).Seconds(), "🔔", strings.ToUpper(string(n.Status)), n.Alert, n.Summary)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/alerts", func() { srv.Close() }, nil
}

// serveLoopback serves h on a free loopback port until stop.
func serveLoopback(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo server: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// demoConfig is the demo's config: the shop's pages and APIs over HTTP,
// its payment gateways' health at payment-path targets, and, with a
// browser, the home page on desktop and mobile, the checkout journey and
// the shopify template's journey through the Dawn store at dawn. Alerts
// go to the demo's webhook at hookURL.
func demoConfig(base, dawn, hookURL string, withBrowser bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by storeprobe demo. The same file format as a real probe's config.
defaults:
  location: local-demo
  probe: demo
  timeout: 10s
  slo: {uptime: 99.9, load_time: 3s}
scheduler: {concurrency: 16, browser_concurrency: 2, grace_period: 20s}
retention: 1d
notifiers:
  - {name: demo-webhook, type: webhook, url: "%[2]s"}
alerting:
  notify: [demo-webhook]
  down_after: 2
  up_after: 2
checks:
  - name: home
    type: http
    url: %[1]s/
    schedule: "@every 5s"
    expect: {status: "200", body: ["Stoneware Mug"]}
    tags: {platform: custom, cdn: cloudflare}
  - name: stylesheet
    type: http
    url: %[1]s/static/shop.css
    schedule: "@every 10s"
    warmup: 1
    expect: {cache: hit}
  - name: dawn-home
    type: http
    url: %[3]s/
    schedule: "@every 10s"
    expect: {body: ["Stoneware Mug"]}
  - name: search
    type: http
    url: %[1]s/search?q=mug
    schedule: "@every 10s"
    expect: {body: ["Results"]}
    slo: {uptime: 99.9, load_time: 1s}
  - name: product
    type: http
    url: %[1]s/products/stoneware-mug
    schedule: "@every 5s"
    expect: {body: ["Add to cart"]}
  - name: inventory-api
    type: http
    url: %[1]s/api/inventory
    schedule: "@every 2s"
    expect: {status: "200", headers: {Content-Type: "application/json"}}
  - name: stripe-health
    type: http
    url: %[1]s/payments/stripe/health
    schedule: "@every 5s"
    retries: 1
    tags: {gateway: stripe}
    slo: {preset: payment}
  - name: paypal-health
    type: http
    url: %[1]s/payments/paypal/health
    schedule: "@every 5s"
    retries: 1
    tags: {gateway: paypal}
    slo: {preset: payment}
    runbook_url: https://wiki.example.com/runbooks/paypal
`, base, hookURL, dawn)
	if withBrowser {
		fmt.Fprintf(&b, `  - name: home-desktop
    type: browser
    url: %[1]s/
    schedule: "@every 15s"
    timeout: 30s
    device: desktop
    analytics: [ga4]
    slo: {uptime: 99.9, load_time: 3s, cwv_good: 90}
  - name: home-mobile
    type: browser
    url: %[1]s/
    schedule: "@every 20s"
    timeout: 40s
    device: mobile
    slo: {uptime: 99.9, load_time: 3s, cwv_good: 90}
  - name: card-field
    type: browser
    url: %[1]s/checkout
    schedule: "@every 20s"
    timeout: 30s
    payment: stripe
    slo: {preset: payment}
  - name: checkout
    type: journey
    journey: checkout.yaml
    params: {base_url: "%[1]s"}
    analytics: [ga4]
    schedule: "@every 20s"
    timeout: 60s
    slo: {uptime: 99.9, load_time: 10s, cwv_good: 90}
  - name: dawn-checkout
    type: journey
    template: shopify
    params: {base_url: "%[2]s", search_term: "stoneware mug"}
    schedule: "@every 30s"
    timeout: 60s
    slo: {uptime: 99.9, load_time: 3s, cwv_good: 90}
`, base, dawn)
	}
	return b.String()
}
