package browser

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// BrowseOptions are extras of a single-page probe.
type BrowseOptions struct {
	// ScreenshotFile, if set, receives a full-page PNG of the page as the
	// probe left it (also on failure). A page taller than
	// MaxScreenshotHeight image pixels is cut at that height.
	ScreenshotFile string
	// OnScreenshot, if set, is told how ScreenshotFile went: an error if
	// it could not be taken or written, and whether the page was cut.
	OnScreenshot func(ScreenshotReport)
	// ArtifactsDir, if set, keeps a screenshot and the request log of a
	// failed probe there (see RunJourney).
	ArtifactsDir string
}

// ScreenshotReport is the outcome of BrowseOptions.ScreenshotFile.
type ScreenshotReport struct {
	File string
	Err  error // nil when the file was written
	// Clipped reports a page taller than the screenshot: PageHeight is
	// its full height in CSS pixels.
	Clipped    bool
	PageHeight float64
}

// Browse loads c.URL in a fresh incognito context and measures it.
func (b *Browser) Browse(ctx context.Context, c probe.Check) probe.Result {
	return b.BrowseWith(ctx, c, BrowseOptions{})
}

// BrowseWith is Browse with extras. The result's DurationMS is the page's
// load_ms (loadEventEnd), or the time spent when the page never loaded.
func (b *Browser) BrowseWith(ctx context.Context, c probe.Check, o BrowseOptions) probe.Result {
	start := time.Now()
	redact := probe.NewRedactor()
	redact.LearnURL(c.URL)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = probe.DefaultBrowserTimeout
	}
	timeout = budget(ctx, start, timeout)
	res := probe.Result{
		Check: c.Name, Type: probe.TypeBrowser, URL: redact.URL(c.URL), Attempt: 1, StartedAt: start.UTC(),
		BrowserDetails: &probe.BrowserDetails{Device: deviceLabel(c.Browser.Device), PageMetrics: &probe.PageMetrics{}, ConsoleErrors: []string{}},
	}
	var ended time.Time // when the page was done or given up on
	finish := func(f *probe.Failure) probe.Result {
		res.Failure = f
		res.OK = f == nil
		if ended.IsZero() {
			ended = time.Now()
		}
		if res.LoadMS > 0 {
			res.DurationMS = res.LoadMS
		} else {
			res.DurationMS = round(probe.Millis(ended.Sub(start)), 1)
		}
		return res
	}

	s, f := b.open(ctx, c.Browser.Device, timeout, redact)
	if f != nil {
		return finish(f)
	}
	defer s.close()
	res.Device = s.dev.Name
	s.configure(c.Browser)

	if c.Browser.Payment != "" {
		if err := s.observePayments(s.ctx); err != nil {
			return finish(s.failOr(err, "", probe.FailureProbeError))
		}
	}
	deadline := start.Add(timeout)
	tctx, cancel := context.WithDeadline(s.ctx, deadline)
	defer cancel()
	tctx = s.watch(tctx)
	f = s.navigate(tctx, c.URL, probe.PhaseNavigation)
	if f == nil && c.Browser.ConsentSelector != "" {
		f = s.clickConsent(tctx, c.Browser.ConsentSelector, probe.PhaseNavigation)
	}
	if f == nil {
		// Observed until done (the settle rule), at most until the
		// check's timeout: a page that never settles is measured up to
		// then and says so (settle_reason cap), it does not fail.
		if err := s.settle(tctx, true); err != nil {
			f = s.classify(err, probe.PhaseNavigation)
		}
	}
	if f == nil && c.Browser.Payment != "" {
		// Once settled, the payment field within the check's time left.
		f = s.waitPayment(tctx, c.Browser.Payment, PhasePayment)
	}
	if f == nil && s.tr.crashedNow() {
		f = s.crashed(0)
	}
	ended = time.Now()
	s.wd.stop(f == nil, deadline)
	if mf := s.wd.failure(probe.PhaseNavigation); mf != nil {
		f = mf
	}

	snap := s.readResults(f, deadline)
	if f == nil && s.hung {
		f = s.hungFailure(probe.PhaseNavigation)
	}
	res.FinalURL = redact.URL(snap.url)
	res.ConsoleErrors = snap.consoleErrors
	res.Dialogs, res.Popups = snap.dialogs, snap.popups
	if pages := measure(snap, redact); len(pages) > 0 {
		res.PageMetrics = &pages[len(pages)-1]
	}
	// One page: every reading of the run was of it (or of its redirects).
	res.JSHeapBytes = s.wd.maxPeak()
	if f == nil && c.Browser.FailOnConsole && len(snap.exceptions) > 0 {
		f = probe.Fail(probe.FailureScript, probe.PhaseNavigation, "uncaught error in the page: %s", snap.exceptions[0])
	}
	if f == nil {
		f = analyticsFailure(c.Browser.Analytics, *res.PageMetrics, res.FinalURL, probe.PhaseNavigation)
	}
	if f == nil {
		f = tooSlow(c.Browser, *res.PageMetrics, "")
	}
	if o.ScreenshotFile != "" {
		rep := s.screenshotFile(o.ScreenshotFile, f)
		if rep.Err != nil {
			b.log.Warn("screenshot", "file", o.ScreenshotFile, "err", rep.Err)
		}
		if o.OnScreenshot != nil {
			o.OnScreenshot(rep)
		}
	}
	if f != nil && o.ArtifactsDir != "" {
		res.Artifacts = s.keepArtifacts(o.ArtifactsDir, c.Name, f)
	}
	return finish(f)
}

// screenshotFile writes the page's screenshot to file, with its own budget.
func (s *session) screenshotFile(file string, f *probe.Failure) ScreenshotReport {
	rep := ScreenshotReport{File: file}
	if f != nil && f.Kind == probe.FailureBrowserCrash {
		rep.Err = fmt.Errorf("no screenshot: %s", f.Message)
		return rep
	}
	if s.hung {
		rep.Err = fmt.Errorf("no screenshot: the page's main thread does not answer")
		return rep
	}
	ctx, cancel := s.afterCtx(artifactBudget)
	defer cancel()
	sh, err := s.screenshot(ctx)
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Clipped, rep.PageHeight = sh.clipped, sh.height
	if err := os.WriteFile(file, sh.png, 0o644); err != nil {
		rep.Err = fmt.Errorf("write screenshot: %w", err)
	}
	return rep
}

func deviceLabel(d string) string {
	if d == "" {
		return probe.DeviceDesktop
	}
	return d
}

func (t *tracker) crashedNow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.crashed
}
