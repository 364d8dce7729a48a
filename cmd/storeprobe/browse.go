package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
)

// browserFlags are the flags browse and journey share.
type browserFlags struct {
	device, chrome, output, resolverRules string
	failOnConsole, verbose                bool
	expectAnalytics                       []string
	analyticsPassthrough                  bool
	consentSelector                       string
	maxLoad                               time.Duration
	maxLCP, maxINP, maxFCP, maxTTFB       time.Duration
	maxCLS                                float64
}

func (f *browserFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.device, "device", "", "device to emulate: desktop (1350x940, unthrottled) or mobile (Moto G Power, Lighthouse throttling)")
	fs.DurationVar(&f.maxLoad, "max-load", 0, "fail as too_slow if load_ms is over this (0: no limit)")
	fs.DurationVar(&f.maxLCP, "max-lcp", 0, "fail as too_slow if LCP is over this")
	fs.Float64Var(&f.maxCLS, "max-cls", 0, "fail as too_slow if CLS is over this (e.g. 0.1)")
	fs.DurationVar(&f.maxINP, "max-inp", 0, "fail as too_slow if INP is over this")
	fs.DurationVar(&f.maxFCP, "max-fcp", 0, "fail as too_slow if FCP is over this")
	fs.DurationVar(&f.maxTTFB, "max-ttfb", 0, "fail as too_slow if TTFB is over this")
	fs.BoolVar(&f.failOnConsole, "fail-on-console", false, "fail as script on an uncaught error in the page")
	fs.StringSliceVar(&f.expectAnalytics, "expect-analytics", nil, "fail as assertion if a vendor's beacons do not fire on every page: ga4, adobe (comma-separated)")
	fs.BoolVar(&f.analyticsPassthrough, "analytics-passthrough", false, "deliver analytics beacons to their vendors (default: answered in the browser, only recorded)")
	fs.StringVar(&f.consentSelector, "consent-selector", "", "click this consent button when it appears; beacons sent before the click are findings")
	fs.StringVar(&f.chrome, "chrome", "", "Chromium binary (default: $STOREPROBE_CHROME, "+browser.DefaultPath+")")
	fs.StringVar(&f.resolverRules, "host-resolver-rules", "", `Chrome's --host-resolver-rules, e.g. "MAP shop.example.com 203.0.113.7" to probe one origin`)
	fs.StringVar(&f.output, "output", "text", "output format: text or json")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log the browser's lifecycle to stderr")
}

// spec validates the flags into a BrowserSpec.
func (f *browserFlags) spec() (probe.BrowserSpec, error) {
	var s probe.BrowserSpec
	if f.output != "text" && f.output != "json" {
		return s, usagef("--output %q: want text or json", f.output)
	}
	switch f.device {
	case "", probe.DeviceDesktop, probe.DeviceMobile:
	default:
		return s, usagef("--device %q: want desktop or mobile", f.device)
	}
	s.Device, s.MaxLoad, s.FailOnConsole = f.device, f.maxLoad, f.failOnConsole
	vendors, err := probe.ParseAnalytics(f.expectAnalytics)
	if err != nil {
		return s, usagef("--expect-analytics: %v", err)
	}
	s.Analytics, s.AnalyticsPassthrough = vendors, f.analyticsPassthrough
	if f.consentSelector != "" && strings.TrimSpace(f.consentSelector) == "" {
		return s, usagef("--consent-selector must not be blank")
	}
	s.ConsentSelector = f.consentSelector
	limits := map[probe.Vital]time.Duration{probe.VitalLCP: f.maxLCP, probe.VitalINP: f.maxINP, probe.VitalFCP: f.maxFCP, probe.VitalTTFB: f.maxTTFB}
	for _, v := range probe.AllVitals {
		d, ok := limits[v]
		if !ok || d == 0 {
			continue
		}
		if d < 0 {
			return s, usagef("--max-%s must not be negative", v)
		}
		if s.MaxVitals == nil {
			s.MaxVitals = map[probe.Vital]float64{}
		}
		s.MaxVitals[v] = probe.Millis(d)
	}
	if f.maxCLS < 0 || f.maxLoad < 0 {
		return s, usagef("--max-cls and --max-load must not be negative")
	}
	if f.maxCLS > 0 {
		if s.MaxVitals == nil {
			s.MaxVitals = map[probe.Vital]float64{}
		}
		s.MaxVitals[probe.VitalCLS] = f.maxCLS
	}
	return s, nil
}

// launch starts the browser for one command.
func (f *browserFlags) launch(ctx context.Context, a *app) (*browser.Browser, error) {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	b, err := browser.Launch(ctx, browser.Options{
		Path:              cmp.Or(f.chrome, a.getenv("STOREPROBE_CHROME"), browser.DefaultPath),
		HostResolverRules: f.resolverRules,
		Version:           a.version,
		MaxConcurrent:     1,
		ExtraFlags:        strings.Fields(a.getenv("STOREPROBE_CHROME_FLAGS")),
		Logger:            slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return nil, fmt.Errorf("start the browser: %w", err)
	}
	return b, nil
}

// report prints res and turns it into the command's error.
func (f *browserFlags) report(a *app, res probe.Result, text func(io.Writer, probe.Result)) error {
	return printResult(a, f.output, res, text)
}

// runBrowse is `storeprobe browse URL`: one page in headless Chromium.
func runBrowse(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "browse", "URL [flags]")
	var bf browserFlags
	timeout := fs.Duration("timeout", probe.DefaultBrowserTimeout, "deadline for the page, settling included")
	screenshot := fs.String("screenshot", "", "write a full-page PNG of the page to FILE")
	artifacts := fs.String("artifacts", "", "on failure, keep a screenshot and request log under DIR")
	name := fs.String("name", "", "check name in the output (default: the URL's host)")
	payment := fs.String("payment", "", "after the page settles, wait until this gateway's card field or buttons are ready: "+probe.PaymentProviderNames())
	bf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one URL, got %d arguments (see storeprobe browse --help)", fs.NArg())
	}
	spec, err := bf.spec()
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if p := probe.PaymentProvider(*payment); *payment != "" && !p.Valid() {
		return usagef("--payment %q: want one of %s", *payment, probe.PaymentProviderNames())
	}
	spec.Payment = probe.PaymentProvider(*payment)
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("URL %q: want an absolute http or https URL", probe.NewRedactor().URL(fs.Arg(0)))
	}
	c := probe.Check{Name: *name, Type: probe.TypeBrowser, URL: fs.Arg(0), Timeout: *timeout, Browser: spec}
	if c.Name == "" {
		c.Name = u.Hostname()
	}
	b, err := bf.launch(ctx, a)
	if err != nil {
		return err
	}
	defer b.Close()
	var shot *browser.ScreenshotReport
	res := b.BrowseWith(ctx, c, browser.BrowseOptions{ScreenshotFile: *screenshot, ArtifactsDir: *artifacts,
		OnScreenshot: func(r browser.ScreenshotReport) { shot = &r }})
	err = bf.report(a, res, writeBrowseText)
	if shot != nil && shot.Clipped {
		fmt.Fprintf(a.stderr, "storeprobe: screenshot %s shows the top %d px of a %.0f px page\n",
			shot.File, browser.MaxScreenshotHeight, shot.PageHeight)
	}
	if shot != nil && shot.Err != nil {
		// Asked for and not written: our fault, unless the page already
		// failed (that verdict stays).
		if err == nil {
			return fmt.Errorf("--screenshot: %w", shot.Err)
		}
		fmt.Fprintf(a.stderr, "storeprobe: --screenshot: %v\n", shot.Err)
	}
	return err
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// writeBrowseText prints a page probe for a terminal.
func writeBrowseText(w io.Writer, r probe.Result) {
	fmt.Fprintf(w, "%s  %s  %s  %s  load %.0f ms\n", verdict(r.OK), r.Check, orDash(r.FinalURL), r.Device, r.DurationMS)
	if r.Failure != nil {
		fmt.Fprintf(w, "  failure: %s\n", r.Failure.Error())
	}
	if m := r.PageMetrics; m != nil {
		writeVitals(w, "  ", *m)
		fmt.Fprintf(w, "  %d requests (%d failed), %s transferred, DOMContentLoaded %.0f ms\n",
			m.Requests, m.FailedRequests, formatBytes(m.TransferBytes), m.DOMContentLoadedMS)
		writeObservation(w, "  ", *m)
	}
	writeConsole(w, r.BrowserDetails)
}

// writeObservation prints how long the page was observed and why it
// stopped, its blocking time, and its third parties' share.
func writeObservation(w io.Writer, indent string, m probe.PageMetrics) {
	if m.PaymentProvider != "" {
		if m.PaymentReadyMS != nil {
			fmt.Fprintf(w, "%spayment: %s ready at %.0f ms\n", indent, m.PaymentProvider, *m.PaymentReadyMS)
		} else {
			fmt.Fprintf(w, "%spayment: %s not ready\n", indent, m.PaymentProvider)
		}
	}
	if m.SettleReason != "" {
		fmt.Fprintf(w, "%sobserved %.0f ms (%s); TBT %.0f ms, %d long tasks", indent, m.SettledMS, m.SettleReason, m.TBTMS, m.LongTasks)
		if m.LongTasks > 0 {
			fmt.Fprintf(w, " (longest %.0f ms)", m.LongestTaskMS)
		}
		fmt.Fprintln(w)
	}
	if a := m.Analytics; a != nil {
		fmt.Fprintf(w, "%sanalytics:", indent)
		for _, v := range probe.AnalyticsVendors() {
			if t := a.Vendor(v); t != nil {
				fmt.Fprintf(w, " %s %d (%s)", v, t.Fired, strings.Join(t.Events, ", "))
			}
		}
		fmt.Fprintln(w)
	}
	for _, f := range m.AnalyticsFindings {
		fmt.Fprintf(w, "%sfinding %s: %s\n", indent, f.ID, f.Message)
	}
	if m.MixedContentCount > 0 {
		fmt.Fprintf(w, "%smixed content: %d http resources", indent, m.MixedContentCount)
		for i, mc := range m.MixedContent {
			if i == 3 {
				break
			}
			fmt.Fprintf(w, "; %s (%s, %s)", mc.URL, mc.Type, mc.Resolution)
		}
		fmt.Fprintln(w)
	}
	if m.ThirdPartyRequests > 0 {
		fmt.Fprintf(w, "%sthird parties: %d requests, %s, %.0f ms blocking", indent, m.ThirdPartyRequests, formatBytes(m.ThirdPartyBytes), m.ThirdPartyBlockingMS)
		for i, tp := range m.ThirdParties {
			if i == 3 {
				break
			}
			fmt.Fprintf(w, "; %s %s", tp.Domain, formatBytes(tp.Bytes))
		}
		fmt.Fprintln(w)
	}
}

// writeVitals prints one line per vital with its rating.
func writeVitals(w io.Writer, indent string, m probe.PageMetrics) {
	for _, v := range probe.AllVitals {
		val := m.Vitals.Get(v)
		rating := ratingOf(m.Ratings, v)
		switch {
		case val == nil:
			fmt.Fprintf(w, "%s%-5s %10s\n", indent, strings.ToUpper(string(v)), "-")
		case v == probe.VitalCLS:
			fmt.Fprintf(w, "%s%-5s %10.3f  %s\n", indent, "CLS", *val, rating)
		case v == probe.VitalLCP && m.LCPElement != "":
			fmt.Fprintf(w, "%s%-5s %7.0f ms  %-17s %s\n", indent, "LCP", *val, rating, m.LCPElement)
		default:
			fmt.Fprintf(w, "%s%-5s %7.0f ms  %s\n", indent, strings.ToUpper(string(v)), *val, rating)
		}
	}
}

func ratingOf(r probe.Ratings, v probe.Vital) probe.Rating {
	switch v {
	case probe.VitalLCP:
		return r.LCP
	case probe.VitalCLS:
		return r.CLS
	case probe.VitalINP:
		return r.INP
	case probe.VitalFCP:
		return r.FCP
	case probe.VitalTTFB:
		return r.TTFB
	}
	return ""
}

func writeConsole(w io.Writer, d *probe.BrowserDetails) {
	if d == nil {
		return
	}
	for i, e := range d.ConsoleErrors {
		if i == 5 {
			fmt.Fprintf(w, "  … %d more console errors\n", len(d.ConsoleErrors)-5)
			break
		}
		fmt.Fprintf(w, "  console: %s\n", e)
	}
	for _, m := range d.Dialogs {
		fmt.Fprintf(w, "  dialog accepted: %s\n", m)
	}
	for _, u := range d.Popups {
		fmt.Fprintf(w, "  popup closed: %s\n", u)
	}
	for _, a := range d.Artifacts {
		fmt.Fprintf(w, "  artifact: %s\n", a)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
