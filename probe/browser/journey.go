package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/storeprobe/storeprobe/probe"
)

// Step timing defaults.
const (
	// OptionalStepTimeout is how long an optional step (a consent banner)
	// waits for its target before it is skipped.
	OptionalStepTimeout = 3 * time.Second
	// AssertTimeout is how long assert_text and assert_url retry before
	// they fail: pages update after a step settles, too.
	AssertTimeout = 5 * time.Second
	// navStartWindow is how long after a click or key press a navigation
	// must start to be waited for as this step's navigation.
	navStartWindow = 200 * time.Millisecond
)

// RunJourney runs j's steps in a fresh incognito context. Every document the
// journey visits keeps its own vitals (pages[]), named by the step that
// landed on it; a failing or timed-out journey still reports every step and
// page it completed, names the failing step, and keeps a full-page
// screenshot and HAR-like request log under artifactsDir (if set). Typed
// secrets never appear in the result, logs or artifacts.
func (b *Browser) RunJourney(ctx context.Context, c probe.Check, j probe.Journey, artifactsDir string) probe.Result {
	start := time.Now()
	redact := probe.NewRedactor()
	firstURL := c.URL
	for _, v := range j.SecretValues() {
		redact.AddValue(v)
		redact.AddValue(url.QueryEscape(v))
	}
	for _, st := range j.Steps {
		if st.Action == probe.ActionGoto {
			redact.LearnURL(st.URL)
			if firstURL == "" {
				firstURL = st.URL
			}
		}
	}
	timeout := j.Timeout
	if timeout <= 0 {
		timeout = c.Timeout
	}
	if timeout <= 0 {
		timeout = probe.DefaultJourneyTimeout
	}
	timeout = budget(ctx, start, timeout)
	device := j.Device
	if device == "" {
		device = c.Browser.Device
	}
	name := c.Name
	if name == "" {
		name = j.Name
	}
	res := probe.Result{
		Check: name, Type: probe.TypeJourney, URL: redact.URL(firstURL), Attempt: 1, StartedAt: start.UTC(),
		BrowserDetails: &probe.BrowserDetails{Device: deviceLabel(device), Steps: []probe.StepResult{}, Pages: []probe.PageResult{}, ConsoleErrors: []string{}},
	}
	finish := func(f *probe.Failure) probe.Result {
		res.Failure, res.OK = f, f == nil
		res.DurationMS = round(probe.Millis(time.Since(start)), 1)
		return res
	}
	s, f := b.open(ctx, device, timeout, redact)
	if f != nil {
		return finish(f)
	}
	defer s.close()
	res.Device = s.dev.Name
	s.configure(c.Browser)

	r := &journeyRun{s: s, spec: c.Browser, artifacts: artifactsDir, check: name}
	if slices.ContainsFunc(j.Steps, func(st probe.Step) bool { return st.Action == probe.ActionWaitForPayment }) {
		if err := s.observePayments(s.ctx); err != nil {
			return finish(s.failOr(err, "", probe.FailureProbeError))
		}
	}
	deadline := start.Add(timeout)
	jctx, cancel := context.WithDeadline(s.ctx, deadline)
	defer cancel()
	jctx = s.watch(jctx)
	for i, st := range j.Steps {
		sr, f := r.step(jctx, i, st)
		res.Steps = append(res.Steps, sr)
		if f != nil {
			break
		}
	}
	f = r.failure
	ended := time.Since(start)
	s.wd.stop(f == nil, deadline)
	if f == nil && len(res.Steps) > 0 {
		// The cap was crossed after the last step's work was done.
		if f = s.wd.failure(r.lastPhase); f != nil {
			last := &res.Steps[len(res.Steps)-1]
			last.OK, last.Failure = false, f
		}
	}

	snap := s.readResults(f, deadline)
	if f == nil && s.hung && len(res.Steps) > 0 {
		f = s.hungFailure(r.lastPhase)
		last := &res.Steps[len(res.Steps)-1]
		last.OK, last.Failure = false, f
	}
	res.FinalURL = redact.URL(snap.url)
	res.ConsoleErrors = snap.consoleErrors
	res.Dialogs, res.Popups = snap.dialogs, snap.popups
	for i, m := range measure(snap, redact) {
		d := snap.docs[i]
		p := pageResult(d, m, redact)
		// The heap is the document's: its soft navigations share it.
		p.JSHeapBytes = s.wd.peakOf(d.loader)
		res.Pages = append(res.Pages, p)
	}
	if f == nil {
		for _, p := range res.Pages {
			if af := analyticsFailure(c.Browser.Analytics, p.PageMetrics, p.Name, probe.Phase(p.Name)); af != nil {
				f = af
				break
			}
		}
	}
	if f == nil {
		for _, p := range res.Pages {
			if tf := tooSlow(c.Browser, p.PageMetrics, probe.Phase(p.Name)); tf != nil {
				f = tf
				f.Message = "page " + p.Name + ": " + f.Message
				break
			}
		}
	}
	res.Artifacts = append(res.Artifacts, r.shots...)
	if f != nil && artifactsDir != "" {
		res.Artifacts = append(res.Artifacts, s.keepArtifacts(artifactsDir, name, f)...)
	}
	out := finish(f)
	out.DurationMS = round(probe.Millis(ended), 1)
	return out
}

// pageResult names one visited page and gives it its metrics.
func pageResult(d document, m probe.PageMetrics, redact *probe.Redactor) probe.PageResult {
	name := d.name
	if name == "" {
		// Unnamed pages are known by their path.
		if u, err := url.Parse(d.v.URL); err == nil && u.Path != "" {
			name = u.Path
		} else {
			name = "page"
		}
	}
	return probe.PageResult{Name: name, URL: redact.URL(d.v.URL), PageMetrics: m}
}

// journeyRun is the state of one journey between steps.
type journeyRun struct {
	s         *session
	spec      probe.BrowserSpec
	artifacts string
	check     string
	shots     []string // screenshot steps' files, relative to artifacts
	failure   *probe.Failure
	seenExc   int
	lastPhase probe.Phase // the phase of the step run last
}

// stepName is the step's label in results: its name, or "<action>
// <target>" (never a typed text, secret or not).
func stepName(st probe.Step, redact *probe.Redactor) string {
	if st.Name != "" {
		return st.Name
	}
	target := st.Target()
	if st.Action == probe.ActionGoto {
		target = redact.URL(target)
	}
	return strings.TrimSpace(string(st.Action) + " " + target)
}

// step runs one step and records it.
func (r *journeyRun) step(jctx context.Context, i int, st probe.Step) (probe.StepResult, *probe.Failure) {
	s := r.s
	start := time.Now()
	sr := probe.StepResult{Name: stepName(st, s.redact), Action: string(st.Action)}
	phase := probe.Phase(fmt.Sprintf("step %d: %s", i+1, sr.Name))
	r.lastPhase = phase

	timeout := stepTimeout(st)
	sctx, cancel := context.WithTimeout(jctx, timeout)
	defer cancel()

	f, skipped := r.do(sctx, st, phase, timeout)
	if mf := s.wd.failure(phase); mf != nil && (f != nil || jctx.Err() != nil) {
		// The watchdog ended the run during this step: the heap, not
		// whatever the step was waiting for, is the cause.
		f, skipped = mf, false
	}
	if f != nil && jctx.Err() != nil && f.Kind != probe.FailureBrowserCrash && f.Kind != probe.FailureTooLarge {
		// The journey's own deadline, whatever the step was waiting for.
		f = probe.Fail(probe.FailureTimeout, phase, "the journey hit its deadline during this step (%s)", f.Message)
	}
	if f == nil && !skipped {
		f = r.scriptFailure(phase)
	}
	if f == nil && st.Page != "" {
		s.tr.nameCurrent(st.Page)
	}
	sr.DurationMS = round(probe.Millis(time.Since(start)), 1)
	sr.Skipped = skipped
	sr.OK = f == nil
	if f != nil {
		f.Message = s.redact.String(f.Message)
		sr.Failure = f
		r.failure = f
	}
	return sr, f
}

// stepTimeout is a step's own time limit: its timeout, or a default; a
// sleep is given its length on top of the default, so a long pause is not
// a timeout (the journey's deadline still holds).
func stepTimeout(st probe.Step) time.Duration {
	switch {
	case st.Timeout > 0:
		return st.Timeout
	case st.Action == probe.ActionSleep:
		return st.Sleep + DefaultStepTimeout
	case st.Optional:
		return OptionalStepTimeout
	}
	return DefaultStepTimeout
}

// scriptFailure fails the step on a new uncaught page error, if asked.
func (r *journeyRun) scriptFailure(phase probe.Phase) *probe.Failure {
	exc := r.s.tr.snapshot().exceptions
	if !r.spec.FailOnConsole || len(exc) <= r.seenExc {
		return nil
	}
	msg := exc[r.seenExc]
	r.seenExc = len(exc)
	return probe.Fail(probe.FailureScript, phase, "uncaught error in the page: %s", msg)
}

// do performs one action. skipped reports an optional step whose target
// was absent.
func (r *journeyRun) do(ctx context.Context, st probe.Step, phase probe.Phase, timeout time.Duration) (f *probe.Failure, skipped bool) {
	s := r.s
	// missing turns a failed wait for the step's target into a selector
	// failure, or a skip for an optional step.
	missing := func(err error, what string) (*probe.Failure, bool) {
		if cf := s.classify(err, phase); cf != nil && cf.Kind != probe.FailureTimeout {
			return cf, false
		}
		if st.Optional {
			return nil, true
		}
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return probe.Fail(probe.FailureSelector, phase, "%s did not appear within %s", what, timeout), false
		}
		return probe.Fail(probe.FailureSelector, phase, "%s: %v", what, err), false
	}
	switch st.Action {
	case probe.ActionGoto:
		if f := s.navigate(ctx, st.URL, phase); f != nil {
			return f, false
		}
		if r.spec.ConsentSelector != "" {
			if f := s.clickConsent(ctx, r.spec.ConsentSelector, phase); f != nil {
				return f, false
			}
		}
		return r.settled(ctx, phase), false

	case probe.ActionClick:
		before := s.tr.snapshot().navSeq
		var err error
		if s.dev.Mobile {
			_, err = chromedp.Run(ctx, chromedp.Tap(chromedp.CSS(st.Selector)))
		} else {
			_, err = chromedp.Run(ctx, chromedp.Click(chromedp.CSS(st.Selector)))
		}
		if err != nil {
			return missing(err, fmt.Sprintf("%q", st.Selector))
		}
		return r.afterInput(ctx, before, phase), false

	case probe.ActionType:
		before := s.tr.snapshot().navSeq
		if st.Secret && !slices.Contains(s.secretFields, st.Selector) {
			// Before typing: a failure halfway must still hide it.
			s.secretFields = append(s.secretFields, st.Selector)
		}
		if _, err := chromedp.Run(ctx, chromedp.SendKeys(chromedp.CSS(st.Selector), st.Text, chromedp.NodeVisible)); err != nil {
			return missing(err, fmt.Sprintf("%q", st.Selector))
		}
		return r.afterInput(ctx, before, phase), false

	case probe.ActionSelect:
		if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(st.Selector))); err != nil {
			return missing(err, fmt.Sprintf("%q", st.Selector))
		}
		before := s.tr.snapshot().navSeq
		problem, err := evalJSON[string](ctx, s, selectJS, st.Selector, st.Value)
		if err != nil {
			return s.failOr(err, phase, probe.FailureProbeError), false
		}
		if problem != "" {
			return probe.Fail(probe.FailureSelector, phase, "%q: %s", st.Selector, problem), false
		}
		return r.afterInput(ctx, before, phase), false

	case probe.ActionWaitFor:
		switch {
		case st.Selector != "":
			if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(st.Selector))); err != nil {
				return missing(err, fmt.Sprintf("%q", st.Selector))
			}
		case st.URLMatch != "":
			re, err := regexp.Compile(st.URLMatch)
			if err != nil {
				return probe.Fail(probe.FailureProbeError, phase, "url pattern: %v", err), false
			}
			if err := s.tr.wait(ctx, func() bool { return re.MatchString(s.tr.url) }); err != nil {
				if cf := s.classify(err, phase); cf != nil && cf.Kind != probe.FailureTimeout {
					return cf, false
				}
				if st.Optional {
					return nil, true
				}
				return probe.Fail(probe.FailureNavigation, phase, "the URL did not match %q within %s (at %s)",
					st.URLMatch, timeout, s.redact.URL(s.tr.snapshot().url)), false
			}
		default:
			if err := pollJS(ctx, s, hasTextJS, st.Text); err != nil {
				return missing(err, fmt.Sprintf("text %q", st.Text))
			}
		}
		return r.settled(ctx, phase), false

	case probe.ActionAssertText:
		actx, cancel := context.WithTimeout(ctx, min(timeout, AssertTimeout))
		defer cancel()
		if _, err := chromedp.Run(actx, chromedp.WaitReady(chromedp.CSS(st.Selector))); err != nil {
			return missing(err, fmt.Sprintf("%q", st.Selector))
		}
		if err := pollJS(actx, s, elementHasTextJS, st.Selector, st.Text); err != nil {
			if cf := s.classify(err, phase); cf != nil && cf.Kind != probe.FailureTimeout {
				return cf, false
			}
			got, _ := evalJSON[string](ctx, s, elementTextJS, st.Selector)
			return probe.Fail(probe.FailureAssertion, phase, "%q has text %q, want it to contain %q",
				st.Selector, probe.Clip(got, 200), st.Text), false
		}
		return nil, false

	case probe.ActionAssertURL:
		re, err := regexp.Compile(st.URL)
		if err != nil {
			return probe.Fail(probe.FailureProbeError, phase, "url pattern: %v", err), false
		}
		actx, cancel := context.WithTimeout(ctx, min(timeout, AssertTimeout))
		defer cancel()
		if err := s.tr.wait(actx, func() bool { return re.MatchString(s.tr.url) }); err != nil {
			if cf := s.classify(err, phase); cf != nil && cf.Kind != probe.FailureTimeout {
				return cf, false
			}
			return probe.Fail(probe.FailureAssertion, phase, "the URL %s does not match %q",
				s.redact.URL(s.tr.snapshot().url), st.URL), false
		}
		return nil, false

	case probe.ActionScreenshot:
		sh, err := s.screenshotHidingSecrets(ctx)
		if err != nil {
			return s.failOr(err, phase, probe.FailureProbeError), false
		}
		if sh.clipped {
			s.b.log.Info("screenshot cut to its maximum height", "check", r.check, "shot", st.Shot,
				"max_px", MaxScreenshotHeight, "page_css_px", sh.height)
		}
		if r.artifacts != "" {
			dir, name, err := s.artifactDir(r.artifacts, r.check)
			if err != nil {
				return probe.Fail(probe.FailureProbeError, phase, "%v", err), false
			}
			file := safeName(st.Shot) + ".png"
			if err := os.WriteFile(filepath.Join(dir, file), sh.png, 0o640); err != nil {
				return probe.Fail(probe.FailureProbeError, phase, "write screenshot: %v", err), false
			}
			r.shots = append(r.shots, filepath.Join(name, file))
		}
		return nil, false

	case probe.ActionWaitForPayment:
		f := s.waitPayment(ctx, st.Payment, phase)
		if f != nil && f.Kind == probe.FailureTimeout && st.Optional {
			return nil, true
		}
		return f, false

	case probe.ActionSleep:
		select {
		case <-time.After(st.Sleep):
			return nil, false
		case <-ctx.Done():
			return s.failOr(ctx.Err(), phase, probe.FailureTimeout), false
		}
	}
	return probe.Fail(probe.FailureProbeError, phase, "unknown action %q", st.Action), false
}

// afterInput waits for what an input caused: a navigation that starts
// right after it is waited for to load; then the page must settle.
func (r *journeyRun) afterInput(ctx context.Context, before int, phase probe.Phase) *probe.Failure {
	s := r.s
	wctx, cancel := context.WithTimeout(ctx, navStartWindow)
	err := s.tr.wait(wctx, func() bool { return s.tr.navSeq > before })
	cancel()
	if err == nil {
		if f := s.waitLoaded(ctx, before, phase); f != nil {
			return f
		}
	} else if ctx.Err() != nil {
		return s.failOr(ctx.Err(), phase, probe.FailureTimeout)
	}
	return r.settled(ctx, phase)
}

// settled lets the page settle before the next step acts on it, by the
// same rule as a page probe, capped by the step's time: a page that does
// not settle by then is acted on anyway (its settle_reason says input).
func (r *journeyRun) settled(ctx context.Context, phase probe.Phase) *probe.Failure {
	if err := r.s.settle(ctx, false); err != nil {
		return r.s.failOr(err, phase, probe.FailureTimeout)
	}
	return nil
}

// failOr classifies err, falling back to kind.
func (s *session) failOr(err error, phase probe.Phase, kind probe.FailureKind) *probe.Failure {
	if f := s.classify(err, phase); f != nil {
		return f
	}
	return probe.Fail(kind, phase, "%v", err)
}

// Page-side helpers. Arguments are passed as JSON, never spliced into code.
const (
	hasTextJS        = `(t) => !!document.body && document.body.innerText.includes(t)`
	elementHasTextJS = `(sel, t) => { const e = document.querySelector(sel); return !!e && e.innerText.includes(t); }`
	elementTextJS    = `(sel) => { const e = document.querySelector(sel); return e ? e.innerText : ''; }`
	selectJS         = `(sel, v) => {
  const el = document.querySelector(sel);
  if (!el) return 'not found';
  if (!el.options) return 'not a <select>';
  const opt = Array.from(el.options).find(o => o.value === v) || Array.from(el.options).find(o => o.text.trim() === v);
  if (!opt) return 'has no option ' + JSON.stringify(v);
  el.value = opt.value;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return '';
}`
)

// callExpr builds "(fn)(args...)" with JSON-encoded arguments.
func callExpr(fn string, args ...any) (string, error) {
	parts := make([]string, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return "", err
		}
		parts[i] = string(b)
	}
	return "(" + fn + ")(" + strings.Join(parts, ", ") + ")", nil
}

// evalJSON evaluates fn(args...) in the page and decodes its value.
func evalJSON[T any](ctx context.Context, s *session, fn string, args ...any) (T, error) {
	var out T
	expr, err := callExpr(fn, args...)
	if err != nil {
		return out, err
	}
	res, err := cdp.Call(ctx, s.t, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, ReturnByValue: new(true)})
	if err != nil {
		return out, err
	}
	if res.ExceptionDetails != nil {
		return out, fmt.Errorf("page script: %s", exceptionText(res.ExceptionDetails))
	}
	if res.Result != nil && len(res.Result.Value) > 0 {
		err = json.Unmarshal(res.Result.Value, &out)
	}
	return out, err
}

// pollJS evaluates fn(args...) every 100 ms until it is true or ctx ends.
// Evaluation errors (a navigation replacing the document) are retried.
func pollJS(ctx context.Context, s *session, fn string, args ...any) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := evalJSON[bool](ctx, s, fn, args...)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
