package browser

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/storeprobe/storeprobe/probe"
)

//go:embed collector.js
var collectorJS string

// bindingName is the CDP binding collector.js reports through.
const bindingName = "__storeprobeVitals"

const (
	// cleanupBudget bounds reading the vitals after a failure or deadline,
	// which runs past the run's own deadline; artifactBudget, separately,
	// the failure screenshot and request log, so a slow read cannot starve
	// them. The tab is torn down after both.
	cleanupBudget  = 4 * time.Second
	artifactBudget = 5 * time.Second
)

var (
	errRendererCrashed = errors.New("the page's renderer crashed")
	errHardLimit       = errors.New("run exceeded its hard time limit")
)

// session is one run: a fresh incognito browser context with one tab.
type session struct {
	b       *Browser
	inst    *instance
	caller  context.Context
	parent  context.Context // cancelled with a cause on crash or hard limit
	cancelP context.CancelCauseFunc
	ctx     context.Context // the tab's chromedp context; lives until close
	cancel  context.CancelFunc
	t       *chromedp.Target
	tr      *tracker
	dev     Device
	redact  *probe.Redactor
	cleanup []func()

	// secretFields are the selectors of fields a journey typed secret
	// text into; their values are hidden before any screenshot.
	secretFields []string

	artPath, artName string // this run's artifact directory, once made

	wd *watchdog // the run's heap watchdog, once its work started

	// hung is set when the page's main thread stopped answering (see
	// readResults): no screenshot is asked of it.
	hung bool

	// tab is s.t for the listeners, which run on another goroutine and
	// may see events before open has stored s.t; frames are the sessions
	// of the tab's cross-site frames (frames.go).
	tab    atomic.Pointer[chromedp.Target]
	frames frames
}

// open starts a run: a slot, a live Chrome, a new browser context and tab
// with the collector, binding and device emulation installed. limit is the
// run's time budget; the tab is torn down by force a little after it.
func (b *Browser) open(ctx context.Context, deviceName string, limit time.Duration, redact *probe.Redactor) (*session, *probe.Failure) {
	dev, err := b.device(deviceName)
	if err != nil {
		return nil, probe.Fail(probe.FailureProbeError, "", "%v", err)
	}
	s := &session{b: b, caller: ctx, dev: dev, redact: redact}
	release, err := b.acquire(ctx)
	if err != nil {
		if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			return nil, probe.Fail(probe.FailureTimeout, "", "no browser slot became free in time")
		}
		return nil, probe.Fail(probe.FailureProbeError, "", "run canceled while waiting for a browser slot: %v", context.Cause(ctx))
	}
	s.cleanup = append(s.cleanup, release)
	inst, err := b.instance(ctx)
	if err != nil {
		s.close()
		if errors.Is(err, ErrStart) {
			// No browser to run in: a probe fault of the browser's own kind.
			return nil, probe.Fail(probe.FailureBrowserCrash, "", "%v", err)
		}
		return nil, probe.Fail(probe.FailureProbeError, "", "%v", err)
	}
	s.inst = inst
	s.parent, s.cancelP = context.WithCancelCause(inst.ctx)
	stop := context.AfterFunc(ctx, func() {
		// A caller's deadline is the run's timeout: the runner notices it
		// on its own (see budget) and still reads partial vitals and takes
		// its failure screenshot; the tab is torn down after that grace.
		// Any other end (shutdown) stops the run at once.
		if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			time.AfterFunc(cleanupBudget+artifactBudget+time.Second, func() { s.cancelP(context.Cause(ctx)) })
			return
		}
		s.cancelP(context.Cause(ctx))
	})
	hard := time.AfterFunc(limit+cleanupBudget+artifactBudget+5*time.Second, func() { s.cancelP(errHardLimit) })
	s.cleanup = append(s.cleanup, func() { stop(); hard.Stop(); s.cancelP(nil) })

	nonce, err := newNonce()
	if err != nil {
		s.close()
		return nil, probe.Fail(probe.FailureProbeError, "", "%v", err)
	}
	s.tr = newTracker(redact, nonce)
	s.tr.onCrash = func() { s.cancelP(errRendererCrashed) }
	s.ctx, s.cancel = chromedp.NewContext(s.parent, chromedp.WithNewBrowserContext(), chromedp.WithListener(s.tr.handle),
		chromedp.WithListener(s.tabFrameListener))

	if err := chromedp.Do(s.ctx); err != nil {
		f := s.classify(err, "")
		s.close()
		if f == nil {
			f = probe.Fail(probe.FailureProbeError, "", "open a tab: %v", err)
		}
		return nil, f
	}
	s.t = chromedp.FromContext(s.ctx).Target
	s.tab.Store(s.t)
	// In Chrome the main frame of a page target has the target's id.
	s.tr.setMainFrame(cdp.FrameID(s.t.TargetID))
	go s.guard()

	setup := func(ctx context.Context) error {
		// A download link clicked must not write a file anywhere: the
		// run's browser context denies every download.
		c := chromedp.FromContext(s.ctx)
		if _, err := cdp.Call(ctx, c.Browser, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorDeny, BrowserContextID: c.BrowserContextID}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, s.t, runtime.AddBinding, runtime.AddBindingParams{Name: bindingName}); err != nil {
			return err
		}
		// The heap watchdog reads Performance metrics, which need the
		// domain on; it stays on across the tab's navigations.
		if _, err := cdp.Call(ctx, s.t, performance.Enable, performance.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, s.t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: collectorSource(nonce, b.opts.softNavFallback)}); err != nil {
			return err
		}
		if err := emulate(ctx, s.t, dev, userAgent(dev, inst.version, b.opts.Version)); err != nil {
			return err
		}
		// Every run's analytics beacons are answered in the browser
		// (analytics.go), whether or not the check expects them.
		return s.startBeacons(ctx)
	}
	sctx, scancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer scancel()
	if err := setup(sctx); err != nil {
		f := s.classify(err, "")
		s.close()
		if f == nil || f.Kind == probe.FailureTimeout {
			f = probe.Fail(probe.FailureProbeError, "", "set up the tab: %v", err)
		}
		return nil, f
	}
	return s, nil
}

// nonceMark is the placeholder in collector.js for the run's nonce.
const nonceMark = "__STOREPROBE_NONCE__"

// newNonce is a run's secret that every collector message must start with.
func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// softNavMark is the placeholder in collector.js for how soft navigations
// are recognised: "auto" (Chrome's entries where it has them) or
// "fallback".
const softNavMark = "__STOREPROBE_SOFTNAV__"

// collectorSource is collector.js with the run's nonce and soft-navigation
// mode in place.
func collectorSource(nonce string, fallback bool) string {
	mode := "auto"
	if fallback {
		mode = "fallback"
	}
	return strings.Replace(strings.Replace(collectorJS, nonceMark, nonce, 1), softNavMark, mode, 1)
}

// guard answers what a page opens to block or escape the run: it accepts
// every alert, confirm, prompt and beforeunload dialog (each blocks the
// page until answered; accepting a beforeunload leaves the page, as the
// journey asked), and closes every popup the page opens, so the measured
// page stays the opener and no tab outlives its run.
func (s *session) guard() {
	for {
		select {
		case <-s.tr.dialogs:
			_, _ = cdp.Call(s.ctx, s.t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		case id := <-s.tr.popups:
			ctx, cancel := context.WithTimeout(s.ctx, time.Second)
			if _, err := cdp.Call(ctx, chromedp.FromContext(s.ctx).Browser, target.CloseTarget, target.CloseTargetParams{TargetID: id}); err != nil {
				s.b.log.Debug("close a popup", "err", err)
			}
			cancel()
		case <-s.ctx.Done():
			return
		}
	}
}

// close ends the run: the tab and its browser context are closed, so no
// cookie or cache entry reaches the next run.
//
// A hung page's context is torn down in the background: Chrome takes half
// a second to give up on its renderer, which would hold the run's result
// past its bound. The run's browser slot is released only once that is
// done, so concurrency is never exceeded.
func (s *session) close() {
	if s.wd != nil {
		s.wd.stop(false, time.Time{})
	}
	if s.hung {
		go s.teardown()
		return
	}
	s.teardown()
}

func (s *session) teardown() {
	if s.tr != nil && s.t != nil {
		// No beacon is left paused: answered before its session goes
		// (the browser answers them, not the page, so a hung page's are
		// answered too).
		ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
		s.answerPaused(ctx, time.Second)
		cancel()
	}
	s.closeTab()
	if s.cancel != nil {
		s.cancel()
	}
	// The frames' setups end with the tab's context.
	s.frames.close()
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
	s.cleanup = nil
}

// closeWait bounds the wait for a closed tab's last event.
const closeWait = 3 * time.Second

// closeTab disposes of the run's browser context (its tab, popups, service
// workers and renderer) while the tab still takes its events, and waits
// until the tab is detached: only then may its chromedp context end. A
// page can make Chrome send events as fast as it likes (one per console
// message, say; WebSocket frames are dropped on the pipe, see
// droppedEvents), and chromedp routes every event of a
// session to its tab; once the tab's context has ended nobody takes them,
// and when a closed tab's queue fills up chromedp's one routing loop blocks
// for good: no run of the browser would get an answer again. Chrome takes
// half a second to let go of a hung renderer.
func (s *session) closeTab() {
	if s.t == nil || s.inst == nil || s.ctx == nil || s.ctx.Err() != nil || s.inst.dead() {
		return
	}
	c := chromedp.FromContext(s.ctx)
	if c == nil || c.Browser == nil || c.BrowserContextID == "" {
		return
	}
	detached, err := chromedp.Detached(s.ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.inst.ctx, closeWait)
	defer cancel()
	if _, err := cdp.Call(ctx, c.Browser, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: c.BrowserContextID}); err != nil {
		s.b.log.Debug("dispose of the run's browser context", "err", err)
		return
	}
	// Closed once the tab handled every message Chrome sent it.
	select {
	case <-detached:
	case <-ctx.Done():
		s.b.log.Warn("the run's tab was not detached in time after its context was disposed of")
	}
}

// crashed reports a browser or renderer death as a browser_crash failure.
// Both are noticed a moment after the call that failed because of them (a
// navigation aborted by the dying renderer, a lost connection), so it waits
// up to wait for the crash event, the tab's detachment or the browser's
// end.
func (s *session) crashed(wait time.Duration) *probe.Failure {
	if s.tr == nil || s.inst == nil {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.tr.mu.Lock()
		gone := s.tr.crashed || s.tr.detached
		ch := s.tr.changed
		s.tr.mu.Unlock()
		if gone || errors.Is(context.Cause(s.parent), errRendererCrashed) {
			return probe.Fail(probe.FailureBrowserCrash, "", "%v", errRendererCrashed)
		}
		select {
		case <-ch:
			continue
		case <-s.inst.ctx.Done():
		case <-s.caller.Done():
			return nil
		case <-timer.C:
			return nil
		}
		break
	}
	s.b.mu.Lock()
	closed := s.b.closed
	s.b.mu.Unlock()
	if closed {
		return probe.Fail(probe.FailureProbeError, "", "the browser was closed during the run")
	}
	// No Chrome process may outlive the run: wait until the dead browser's
	// process group is gone.
	select {
	case <-s.inst.reaped:
	case <-time.After(10 * time.Second):
	}
	return probe.Fail(probe.FailureBrowserCrash, "", "chromium exited during the run")
}

// classify turns an error of a CDP call into a failure: a crash, the run's
// deadline (timeout) or the caller's cancellation. It returns nil for other
// errors, which the caller interprets in its own terms.
func (s *session) classify(err error, phase probe.Phase) *probe.Failure {
	if err == nil {
		return nil
	}
	// The watchdog cancelled the run: whatever the call was waiting
	// for, the page's heap ended it.
	if f := s.wd.failure(phase); f != nil {
		return f
	}
	wait := time.Second
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errPageHung) {
		wait = 0
	}
	if f := s.crashed(wait); f != nil {
		return f
	}
	if errors.Is(err, errPageHung) {
		return probe.Fail(probe.FailureTimeout, phase, "%v", err)
	}
	if errors.Is(context.Cause(s.parent), errHardLimit) || errors.Is(err, context.DeadlineExceeded) {
		return probe.Fail(probe.FailureTimeout, phase, "deadline exceeded")
	}
	if s.caller.Err() != nil {
		if errors.Is(context.Cause(s.caller), context.DeadlineExceeded) {
			return probe.Fail(probe.FailureTimeout, phase, "deadline exceeded")
		}
		return probe.Fail(probe.FailureProbeError, phase, "run canceled: %v", context.Cause(s.caller))
	}
	return nil
}

// navigate loads url in the tab and waits for its load event.
func (s *session) navigate(ctx context.Context, url string, phase probe.Phase) *probe.Failure {
	before := s.tr.snapshot().navSeq
	res, err := cdp.Call(ctx, s.t, page.Navigate, page.NavigateParams{URL: url})
	if err != nil {
		if f := s.classify(err, phase); f != nil {
			if f.Kind == probe.FailureTimeout {
				f.Message = "the page did not respond in time"
			}
			return f
		}
		return probe.Fail(probe.FailureNavigation, phase, "%s", s.redact.String(err.Error()))
	}
	if res.ErrorText != "" {
		// A renderer dying mid-navigation aborts it: that is ours, not
		// the shop's, and its crash event may trail the answer.
		wait := 100 * time.Millisecond
		if strings.Contains(res.ErrorText, "ERR_ABORTED") {
			wait = 500 * time.Millisecond
		}
		if f := s.crashed(wait); f != nil {
			return f
		}
		return netFailure(res.ErrorText, phase)
	}
	return s.waitLoaded(ctx, before, phase)
}

// waitLoaded waits until a navigation started after navSeq before has
// finished loading, then checks how its main document fared.
func (s *session) waitLoaded(ctx context.Context, before int, phase probe.Phase) *probe.Failure {
	err := s.tr.wait(ctx, func() bool { return s.tr.navSeq > before && !s.tr.loading })
	if err != nil {
		if f := s.classify(err, phase); f != nil {
			if f.Kind == probe.FailureTimeout {
				f.Message = "the page did not finish loading in time"
			}
			return f
		}
		return probe.Fail(probe.FailureProbeError, phase, "%v", err)
	}
	return s.documentFailure(phase)
}

// documentFailure reports a failed or error-status main document.
func (s *session) documentFailure(phase probe.Phase) *probe.Failure {
	snap := s.tr.snapshot()
	if snap.docErr != "" && !strings.Contains(snap.docErr, "ERR_ABORTED") {
		if f := s.crashed(100 * time.Millisecond); f != nil {
			return f
		}
		return netFailure(snap.docErr, phase)
	}
	if snap.docStatus >= 400 {
		return probe.Fail(probe.FailureStatus, phase, "the page answered HTTP %d", snap.docStatus)
	}
	return nil
}

// maxSnapshot bounds the collector's answer to a snapshot: every view of
// one document.
const maxSnapshot = 32 * maxPayload

// collect asks the current document for the values of its views (the
// collector also pushes them on its own; this gets the latest values).
func (s *session) collect(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// A raw Runtime.evaluate: chromedp.Evaluate would wait for a pending
	// navigation's new document, which may never come.
	res, err := cdp.Call(cctx, s.t, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    `typeof window.__storeprobeSnapshot === 'function' ? window.__storeprobeSnapshot() : ''`,
		ReturnByValue: new(true),
	})
	if err != nil || res.Result == nil || res.ExceptionDetails != nil {
		return
	}
	var raw string
	if json.Unmarshal(res.Result.Value, &raw) != nil || raw == "" || len(raw) > maxSnapshot {
		return
	}
	var views []json.RawMessage
	if json.Unmarshal([]byte(raw), &views) != nil {
		return
	}
	s.tr.mu.Lock()
	for _, v := range views {
		s.tr.collectLocked(string(v))
	}
	s.tr.notifyLocked()
	s.tr.mu.Unlock()
}

// budget is the run's time limit: its own timeout, cut short by an
// earlier deadline of the caller's context.
func budget(ctx context.Context, start time.Time, timeout time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok && dl.Sub(start) < timeout {
		return dl.Sub(start)
	}
	return timeout
}

// afterCtx is a context for work after the run's deadline passed: it lives
// as long as the tab but at most d.
func (s *session) afterCtx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, d)
}

// MaxScreenshotHeight is the tallest screenshot taken, in image pixels:
// Chrome's largest texture, and some 90 MB of pixels at desktop width.
// Taller pages are cut at the bottom.
const MaxScreenshotHeight = 16384

// shot is a full-page PNG.
type shot struct {
	png     []byte
	clipped bool    // cut at MaxScreenshotHeight
	height  float64 // the page's full height, CSS pixels
}

// screenshot takes a full-page PNG of what the tab shows now. It uses raw
// CDP calls, which unlike chromedp's actions do not wait for a pending
// navigation (a timed-out page has one).
func (s *session) screenshot(ctx context.Context) (shot, error) {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lm, err := cdp.Call(sctx, s.t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return shot{}, fmt.Errorf("screenshot: layout: %w", err)
	}
	w, h := float64(s.dev.Width), float64(s.dev.Height)
	if vp := lm.CSSLayoutViewport; vp != nil {
		w, h = float64(vp.ClientWidth), float64(vp.ClientHeight)
	}
	if cs := lm.CSSContentSize; cs != nil {
		w, h = max(w, cs.Width), max(h, cs.Height)
	}
	dpr := s.dev.DPR
	if dpr <= 0 {
		dpr = 1
	}
	out := shot{height: h}
	if limit := math.Floor(MaxScreenshotHeight / dpr); h > limit {
		h, out.clipped = limit, true
	}
	res, err := cdp.Call(sctx, s.t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		Clip:                  &page.Viewport{Width: math.Ceil(w), Height: math.Ceil(h), Scale: 1},
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
	})
	if err != nil {
		return shot{}, fmt.Errorf("screenshot: %w", err)
	}
	out.png = res.Data
	return out, nil
}

// stopLoading stops a pending navigation, so a timed-out page can still be
// read and photographed.
func (s *session) stopLoading(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, _ = cdp.Call(sctx, s.t, page.StopLoading, cdp.Empty{})
}

// measure builds the metrics of every page the run saw, in order: each
// document's and soft navigation's own vitals, and its network from its
// start to the next page of its document.
func measure(snap snapshot, redact *probe.Redactor) []probe.PageMetrics {
	byLoader := map[cdp.LoaderID][]int{}
	for i, d := range snap.docs {
		byLoader[d.loader] = append(byLoader[d.loader], i)
	}
	segs := make([][]*segment, len(snap.docs))
	for loader, idx := range byLoader {
		pages := make([]document, len(idx))
		for k, i := range idx {
			pages[k] = snap.docs[i]
		}
		for k, sg := range splitSegments(pages, snap.stats[loader].segs) {
			segs[idx[k]] = sg
		}
	}
	out := make([]probe.PageMetrics, len(snap.docs))
	for i, d := range snap.docs {
		out[i] = metrics(d, segs[i], redact)
	}
	return out
}

// metrics builds one page's metrics from its collected values and the
// segments of its network.
func metrics(d document, segs []*segment, redact *probe.Redactor) probe.PageMetrics {
	c := d.v
	v := probe.Vitals{
		LCP: roundp(c.LCP, 1), CLS: roundp(c.CLS, 4), INP: roundp(c.INP, 1),
		FCP: roundp(c.FCP, 1), TTFB: roundp(c.TTFB, 1),
	}
	m := probe.PageMetrics{Vitals: v, Ratings: v.Rate(), LCPElement: c.LCPElement, ConsoleErrorCount: d.errors,
		SoftNavigation: c.Soft, TBTMS: round(c.TBT, 1), LongTasks: c.LongTasks, LongestTaskMS: round(c.LongestTask, 1),
		RenderBlockingCount: c.RenderBlocking}
	if c.Load != nil {
		m.LoadMS = round(*c.Load, 1)
	}
	if c.DCL != nil {
		m.DOMContentLoadedMS = round(*c.DCL, 1)
	}
	m.SettledMS, m.SettleReason = settledMS(c)
	for _, t := range c.Tasks {
		m.LongestTasks = append(m.LongestTasks, probe.LongTask{StartMS: round(t.Start, 1), DurationMS: round(t.Duration, 1), Script: redactURL(redact, t.Script)})
	}
	for _, b := range c.RenderBlockingList {
		m.RenderBlocking = append(m.RenderBlocking, probe.RenderBlockingResource{URL: redactURL(redact, b.URL), Type: b.Type,
			StartMS: round(b.Start, 1), EndMS: round(b.End, 1)})
	}
	if c.LCP != nil {
		// web-vitals' attribution: TTFB, then the resource's request and
		// response, then the paint; a text LCP has no resource.
		var ttfb float64
		if c.TTFB != nil {
			ttfb = *c.TTFB
		}
		reqStart, respEnd := ttfb, ttfb
		if c.LCPRequestStart != nil {
			reqStart = max(*c.LCPRequestStart, ttfb)
		}
		if c.LCPResponseEnd != nil {
			respEnd = max(*c.LCPResponseEnd, reqStart)
		}
		respEnd = min(respEnd, *c.LCP)
		reqStart = min(reqStart, respEnd)
		m.LCPBreakdown = &probe.LCPBreakdown{URL: redactURL(redact, c.LCPURL),
			RequestStartMS: round(reqStart, 1), ResponseEndMS: round(respEnd, 1),
			LoadDelayMS: round(reqStart-ttfb, 1), LoadDurationMS: round(respEnd-reqStart, 1), RenderDelayMS: round(*c.LCP-respEnd, 1)}
	}
	composition(&m, segs, c.Scripts, registrableDomain(hostOf(c.URL)))
	paymentMetrics(&m, d)
	for _, sg := range segs {
		addTags(&m, sg.tags)
	}
	return m
}

// redactURL redacts a URL the page reported; "" stays "".
func redactURL(r *probe.Redactor, u string) string {
	if u == "" || r == nil {
		return u
	}
	return r.URL(u)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func roundp(v *float64, digits int) *float64 {
	if v == nil {
		return nil
	}
	r := round(*v, digits)
	return &r
}

// tooSlow checks the page against the check's limits.
func tooSlow(spec probe.BrowserSpec, m probe.PageMetrics, phase probe.Phase) *probe.Failure {
	var over []string
	if spec.MaxLoad > 0 && m.LoadMS > probe.Millis(spec.MaxLoad) {
		over = append(over, fmt.Sprintf("load %.0f ms > %.0f ms", m.LoadMS, probe.Millis(spec.MaxLoad)))
	}
	for _, v := range probe.AllVitals {
		limit, ok := spec.MaxVitals[v]
		val := m.Vitals.Get(v)
		if !ok || val == nil || *val <= limit {
			continue
		}
		if v == probe.VitalCLS {
			over = append(over, fmt.Sprintf("cls %.3f > %.3f", *val, limit))
		} else {
			over = append(over, fmt.Sprintf("%s %.0f ms > %.0f ms", v, *val, limit))
		}
	}
	if len(over) == 0 {
		return nil
	}
	return probe.Fail(probe.FailureTooSlow, phase, "%s", strings.Join(over, ", "))
}

// netFailure maps a Chrome net error ("net::ERR_...") to a failure kind.
func netFailure(errText string, phase probe.Phase) *probe.Failure {
	kind := probe.FailureNavigation
	switch e := errText; {
	case strings.Contains(e, "ERR_NAME_NOT_RESOLVED"), strings.Contains(e, "ERR_NAME_RESOLUTION_FAILED"):
		kind = probe.FailureDNS
	case strings.Contains(e, "ERR_CONNECTION_REFUSED"), strings.Contains(e, "ERR_CONNECTION_RESET"),
		strings.Contains(e, "ERR_ADDRESS_UNREACHABLE"), strings.Contains(e, "ERR_CONNECTION_FAILED"),
		strings.Contains(e, "ERR_NETWORK_UNREACHABLE"), strings.Contains(e, "ERR_CONNECTION_ABORTED"):
		kind = probe.FailureConnect
	case strings.Contains(e, "ERR_CERT_"), strings.Contains(e, "ERR_SSL_"), strings.Contains(e, "ERR_BAD_SSL"):
		kind = probe.FailureTLS
	case strings.Contains(e, "ERR_TIMED_OUT"), strings.Contains(e, "ERR_CONNECTION_TIMED_OUT"):
		kind = probe.FailureTimeout
	case strings.Contains(e, "ERR_TOO_MANY_REDIRECTS"):
		kind = probe.FailureRedirectLoop
	case strings.Contains(e, "ERR_EMPTY_RESPONSE"), strings.Contains(e, "ERR_INVALID_RESPONSE"),
		strings.Contains(e, "ERR_INVALID_CHUNKED_ENCODING"), strings.Contains(e, "ERR_RESPONSE_HEADERS_TOO_BIG"),
		strings.Contains(e, "ERR_HTTP2_"), strings.Contains(e, "ERR_CONTENT_LENGTH_MISMATCH"):
		kind = probe.FailureProtocol
	}
	return probe.Fail(kind, phase, "%s", errText)
}

// lateBudget bounds what a run does once its deadline has passed: stopping
// the page and reading its last values. A run ends within its timeout and
// this (the screenshot of a failed run has its own budget, and is skipped
// for a page that does not answer).
const lateBudget = 800 * time.Millisecond

// answerTimeout is how long a page has to answer a trivial evaluation
// before its main thread counts as hung (an infinite loop, a task of
// seconds): nothing that needs the page is then asked of it.
const answerTimeout = 300 * time.Millisecond

// readResults reads what the run measured, also after a failure: a
// timed-out page still has its FCP or TTFB to show. A pending navigation is
// stopped first, so the reads (and a failure screenshot after them) are not
// queued behind it. The reads have cleanupBudget, cut to lateBudget past
// the run's deadline: a page whose main thread is hung is not read at all
// (s.hung), so it cannot hold the run past its timeout; the runner fails
// such a run as timeout even if it had passed (hungFailure). A crashed
// browser has nothing left to read.
func (s *session) readResults(f *probe.Failure, deadline time.Time) snapshot {
	if f != nil && f.Kind == probe.FailureBrowserCrash {
		return s.tr.snapshot()
	}
	budget := min(max(time.Until(deadline), 0)+lateBudget, cleanupBudget)
	actx, cancel := s.afterCtx(budget)
	defer cancel()
	if f != nil && f.Kind == probe.FailureTimeout {
		// Chrome's browser process answers this, hung page or not; a
		// page with a navigation pending answers nothing before it.
		s.stopLoading(actx)
	}
	// A page that stopped answering is given until the deadline (and at
	// least one look) to answer again.
	for !s.answers(actx) {
		if actx.Err() != nil || !time.Now().Before(deadline) {
			s.hung = true
			s.b.log.Warn("the page's main thread does not answer; its last values are not read")
			return s.tr.snapshot()
		}
	}
	// A page still observed when the run ends was cut by its time.
	_ = s.endView(actx, "", probe.SettleCap)
	s.collect(actx)
	return s.tr.snapshot()
}

// hungFailure is the failure of a run whose page stopped answering (an
// endless loop after it loaded, a task of seconds at the end): it cannot be
// measured nor used, so it did not respond in time.
func (s *session) hungFailure(phase probe.Phase) *probe.Failure {
	return probe.Fail(probe.FailureTimeout, phase, "the page's main thread stopped answering")
}

// answers reports whether the page's main thread evaluates a trivial
// expression within answerTimeout.
func (s *session) answers(ctx context.Context) bool {
	actx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	_, err := cdp.Call(actx, s.t, runtime.Evaluate, runtime.EvaluateParams{Expression: "0", ReturnByValue: new(true)})
	return err == nil
}
