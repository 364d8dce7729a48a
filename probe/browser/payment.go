package browser

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"

	"github.com/storeprobe/storeprobe/probe"
)

// Payment-field readiness. A gateway's card field or buttons are ready and
// interactive when (1) its SDK script has loaded, (2) the SDK's documented
// wrapper is in the page, (3) its iframe is attached inside it, (4) has a
// non-zero size and is visible (display, visibility and opacity of it and
// its ancestors: PayPal shows its buttons' frame by switching it from
// class invisible to visible once it has rendered) and takes pointer
// events, and (5) the iframe's document has loaded. The content of the
// cross-origin iframe is not readable from the page; its load is. It is
// recorded by an observer installed before the page's first script (a
// capturing load listener on the document, which sees every iframe's
// trusted load event), so the time is the page's own performance.now(),
// the clock of the vitals, from the page's navigation start.
//
// payment_ready_ms is the iframe's load when it was already visible then,
// or else the first animation frame after it that found it visible. A gateway script that fails (a network error, HTTP 4xx or 5xx)
// fails the wait at once as assertion, naming the script; a wait that
// runs out of time fails as timeout, naming the stage that was not
// reached (the script not requested, still loading, no wrapper, no
// iframe, the iframe not loaded, not visible).

// paymentPoll is how often the page is asked whether the field is ready.
const paymentPoll = 100 * time.Millisecond

// PhasePayment is the phase of a browser check's payment wait.
const PhasePayment probe.Phase = "payment"

// paymentObserverKey is the page-side accessor of the iframe load times.
const paymentObserverKey = "__storeprobePaymentLoad"

// paymentObserverJS records when each iframe's document loaded and when
// it was first shown from then on: at its load if it was visible then,
// otherwise at the first animation frame that found it visible (watched
// for at most paymentWatchFrames frames; a poll finds it after that). The
// records live in a closure; the page reaches them only through a frozen,
// non-writable accessor, and an untrusted (page-dispatched) load event is
// ignored, so the page cannot fake a load.
const paymentObserverJS = `(() => {
  if (Object.prototype.hasOwnProperty.call(window, '` + paymentObserverKey + `')) return;
  const seen = new WeakMap();
  const shown = (f) => {
    const r = f.getBoundingClientRect();
    return f.isConnected && r.width > 0 && r.height > 0 &&
      (typeof f.checkVisibility !== 'function' || f.checkVisibility({opacityProperty: true, visibilityProperty: true})) &&
      getComputedStyle(f).pointerEvents !== 'none' && !f.closest('[inert]');
  };
  const watch = (f, rec, frames) => {
    if (!f.isConnected || frames <= 0 || seen.get(f) !== rec) return;
    if (shown(f)) { rec.ready = performance.now(); return; }
    requestAnimationFrame(() => watch(f, rec, frames - 1));
  };
  document.addEventListener('load', (e) => {
    const f = e.target;
    if (!e.isTrusted || !(f instanceof HTMLIFrameElement)) return;
    // Not the initial about:blank of a frame created empty and navigated
    // afterwards (PayPal's zoid sets the frame's location, not its src):
    // its document is the parent's origin and blank. A cross-origin
    // document is not readable (null): the vendor's page.
    let blank = false;
    try {
      const d = f.contentDocument;
      blank = !!d && (d.URL === 'about:blank' || d.URL === 'about:srcdoc' || d.URL === '');
    } catch (_) {}
    if (blank) return;
    const rec = {load: performance.now(), ready: undefined};
    seen.set(f, rec);
    if (shown(f)) rec.ready = rec.load;
    else requestAnimationFrame(() => watch(f, rec, ` + paymentWatchFrames + `));
  }, true);
  Object.defineProperty(window, '` + paymentObserverKey + `', {
    value: Object.freeze({
      of: (f) => { const r = seen.get(f); return r ? {load: r.load, ready: r.ready} : undefined; },
      shown,
    }),
    writable: false, configurable: false, enumerable: false,
  });
})();`

// paymentWatchFrames bounds the observer's watch of a hidden frame (about
// a minute at 60 frames a second).
const paymentWatchFrames = "3600"

// paymentStateJS reports how far the gateway's field got: stage is the
// first condition not met (wrapper, iframe, load, visible) or ready, with
// the time it became ready.
const paymentStateJS = `(wrapperSel, frameSel) => {
  const now = performance.now();
  const obs = window['` + paymentObserverKey + `'];
  const wrappers = document.querySelectorAll(wrapperSel);
  if (!wrappers.length) return {stage: 'wrapper', now};
  let best = {stage: 'iframe', now};
  const rank = {iframe: 0, load: 1, visible: 2};
  for (const w of wrappers) {
    const f = w.querySelector(frameSel);
    if (!f || !f.isConnected) continue;
    const src = (f.getAttribute('src') || '').slice(0, 2048);
    const rec = obs ? obs.of(f) : undefined;
    if (!rec) {
      if (rank[best.stage] < rank.load) best = {stage: 'load', src, now};
      continue;
    }
    if (!obs.shown(f)) {
      const r = f.getBoundingClientRect();
      best = {stage: 'visible', src, now, load: rec.load, width: r.width, height: r.height};
      continue;
    }
    // Shown now: since the observer saw it, or (past its watch) now.
    return {stage: 'ready', src, now, load: rec.load, ready: rec.ready === undefined ? now : rec.ready};
  }
  return best;
}`

// paymentState is paymentStateJS's answer.
type paymentState struct {
	Stage  string   `json:"stage"`
	Src    string   `json:"src"`
	Now    float64  `json:"now"`
	Load   *float64 `json:"load"`
	Ready  *float64 `json:"ready"`
	Width  float64  `json:"width"`
	Height float64  `json:"height"`
}

// gateway is what storeprobe knows of one provider's embed: where its SDK
// script comes from and the DOM the SDK builds in the merchant's page.
type gateway struct {
	provider probe.PaymentProvider
	script   string // the script, as messages name it
	where    string // where it comes from, for a script never requested
	wrapper  string // CSS selector of the SDK's wrapper element
	frame    string // CSS selector of its iframe, inside the wrapper
	isScript func(u *url.URL) bool
}

// gatewayOf describes p's embed, from the vendors' documentation:
//   - Stripe.js (https://docs.stripe.com/js/including): loaded from
//     https://js.stripe.com/v3/ or a versioned path (/basil/stripe.js,
//     /clover/stripe.js ...); element.mount() puts a
//     div.__PrivateStripeElement holding an iframe named
//     __privateStripeFrame<n> into the mount point (Elements and the
//     Payment Element alike).
//   - PayPal JavaScript SDK (https://developer.paypal.com/sdk/js/configuration/):
//     https://www.paypal.com/sdk/js?client-id=...;
//     paypal.Buttons().render(container) puts a
//     div.paypal-buttons.paypal-buttons-context-iframe holding the
//     buttons' iframe.component-frame (and a prerender frame shown
//     meanwhile); the frame is created empty and navigated by script,
//     and shown (class invisible to visible) once the buttons rendered
//     (paypal-checkout-components src/zoid/buttons/container.jsx, zoid
//     src/parent/drivers.js).
//   - Square Web Payments SDK (https://developer.squareup.com/docs/web-payments/take-card-payment):
//     https://web.squarecdn.com/v1/square.js, or
//     https://sandbox.web.squarecdn.com/v1/square.js in the sandbox;
//     card.attach(container) puts a div.sq-card-iframe-container holding
//     iframe.sq-card-component.
func gatewayOf(p probe.PaymentProvider) (gateway, bool) {
	switch p {
	case probe.PaymentStripe:
		return gateway{provider: p, script: "Stripe.js", where: "https://js.stripe.com/v3/",
			wrapper: ".__PrivateStripeElement", frame: `iframe[name^="__privateStripeFrame"]`,
			isScript: func(u *url.URL) bool {
				// v3 and the versioned releases; not the scripts the
				// Stripe frames load for themselves (/v3/fingerprinted/).
				return u.Hostname() == "js.stripe.com" &&
					(u.Path == "/v3" || u.Path == "/v3/" || (strings.HasSuffix(u.Path, "/stripe.js") && strings.Count(u.Path, "/") == 2))
			}}, true
	case probe.PaymentPayPal:
		return gateway{provider: p, script: "the PayPal JS SDK", where: "https://www.paypal.com/sdk/js",
			wrapper: ".paypal-buttons", frame: "iframe.component-frame",
			isScript: func(u *url.URL) bool {
				h := u.Hostname()
				return (h == "www.paypal.com" || h == "www.sandbox.paypal.com") && u.Path == "/sdk/js"
			}}, true
	case probe.PaymentSquare:
		return gateway{provider: p, script: "the Square Web Payments SDK", where: "https://web.squarecdn.com/v1/square.js",
			wrapper: ".sq-card-iframe-container", frame: "iframe.sq-card-component",
			isScript: func(u *url.URL) bool {
				h := u.Hostname()
				return (h == "web.squarecdn.com" || h == "sandbox.web.squarecdn.com") && u.Path == "/v1/square.js"
			}}, true
	}
	return gateway{}, false
}

// observePayments installs the iframe load observer for every document the
// tab loads from now on; call it before the first navigation.
func (s *session) observePayments(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cdp.Call(sctx, s.t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: paymentObserverJS}); err != nil {
		return fmt.Errorf("install the payment observer: %w", err)
	}
	return nil
}

// scriptStatus is how the gateway's script requests of the current
// document went.
type scriptStatus struct {
	requested, loaded bool
	failed            string // the failed request's URL (redacted) and why
	failedStatus      bool   // failed says its HTTP status
	pending           string // a request still in flight (redacted URL)
}

// gatewayScripts reads the request log for the gateway's script requests
// of the main frame's current document.
func (t *tracker) gatewayScripts(isScript func(*url.URL) bool) scriptStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	var st scriptStatus
	for _, r := range t.requests {
		if !r.main || r.loader != t.loader || r.Redirected || r.URL == "" {
			continue
		}
		u, err := url.Parse(r.URL)
		if err != nil || !isScript(u) {
			continue
		}
		st.requested = true
		status := r.Status
		if status == 0 {
			status = r.wireStatus
		}
		switch {
		case r.Failed && status >= 400:
			st.failed, st.failedStatus = fmt.Sprintf("%s answered HTTP %d", r.URL, status), true
		case r.Failed:
			st.failed = fmt.Sprintf("%s failed: %s", r.URL, r.Error)
		case !r.done:
			st.pending = r.URL
		case r.Error == "":
			st.loaded = true
		}
	}
	return st
}

// waitPayment waits until p's field is ready on the current page and
// records provider and ready time on it; the failure says what was not
// reached (see the package comment above).
func (s *session) waitPayment(ctx context.Context, p probe.PaymentProvider, phase probe.Phase) *probe.Failure {
	start := time.Now()
	g, ok := gatewayOf(p)
	if !ok {
		return probe.Fail(probe.FailureProbeError, phase, "unknown payment provider %q", p)
	}
	var (
		last        paymentState
		lastEvalErr error
		failedAt    time.Time
	)
	tick := time.NewTicker(paymentPoll)
	defer tick.Stop()
	for {
		if sc := s.tr.gatewayScripts(g.isScript); sc.failed != "" && !sc.loaded {
			// A response Chrome blocked (ORB) has its status in an event
			// that may come just after the failure: wait a poll or two.
			if failedAt.IsZero() {
				failedAt = time.Now()
			}
			if sc.failedStatus || time.Since(failedAt) >= 2*paymentPoll {
				s.markPayment(ctx, p, nil)
				return probe.Fail(probe.FailureAssertion, phase, "%s did not load: %s", g.script, sc.failed)
			}
		}
		st, err := evalJSON[paymentState](ctx, s, paymentStateJS, g.wrapper, g.frame)
		switch {
		case err != nil:
			// A navigation replacing the document: ask again.
			lastEvalErr = err
		case st.Stage == "ready" && st.Ready != nil:
			s.markPayment(ctx, p, st.Ready)
			return nil
		default:
			last = st
		}
		select {
		case <-ctx.Done():
			s.markPayment(ctx, p, nil)
			if cf := s.classify(ctx.Err(), phase); cf != nil && cf.Kind != probe.FailureTimeout {
				return cf
			}
			return probe.Fail(probe.FailureTimeout, phase, "%s within %s", s.notReady(g, last, lastEvalErr),
				time.Since(start).Round(100*time.Millisecond))
		case <-tick.C:
		}
	}
}

// notReady says which stage of p's readiness was not reached.
func (s *session) notReady(g gateway, st paymentState, evalErr error) string {
	sc := s.tr.gatewayScripts(g.isScript)
	// The iframe by its URL, or by its selector when it has no src (a
	// frame navigated by script).
	frame := g.frame
	if st.Src != "" {
		frame = redactURL(s.redact, st.Src)
	}
	switch {
	case st.Stage == "" && evalErr != nil:
		return fmt.Sprintf("the page could not be asked for the %s field (%v)", g.provider, evalErr)
	case st.Stage == "wrapper" && sc.pending != "":
		return fmt.Sprintf("%s %s did not finish loading", g.script, sc.pending)
	case st.Stage == "wrapper" && !sc.requested:
		return fmt.Sprintf("%s (%s) was never requested and no %s appeared", g.script, g.where, g.wrapper)
	case st.Stage == "wrapper":
		return fmt.Sprintf("%s loaded but no %s appeared", g.script, g.wrapper)
	case st.Stage == "iframe":
		return fmt.Sprintf("%s has no %s", g.wrapper, g.frame)
	case st.Stage == "load":
		return fmt.Sprintf("the %s iframe %s in %s did not load", g.provider, frame, g.wrapper)
	case st.Stage == "visible":
		return fmt.Sprintf("the %s iframe %s loaded but is not visible (%.0f×%.0f px, or hidden)",
			g.provider, frame, st.Width, st.Height)
	}
	return fmt.Sprintf("the %s field was not ready", g.provider)
}

// markPayment records on the current page that it was waited on for p,
// and when the field was ready (nil: it was not). The collector is asked
// first, so the page is the one being looked at.
func (s *session) markPayment(ctx context.Context, p probe.PaymentProvider, at *float64) {
	cctx, cancel := s.afterCtx(time.Second)
	defer cancel()
	if ctx.Err() == nil {
		cctx = ctx
	}
	s.collect(cctx)
	s.tr.markPayment(p, at)
}

// markPayment records a payment wait on the newest view of the main
// frame's current document.
func (t *tracker) markPayment(p probe.PaymentProvider, at *float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.docs) - 1; i >= 0; i-- {
		if d := t.docs[i]; d.loader == t.loader {
			d.payment = p
			if at != nil && *at >= 0 && *at <= maxTimingMS {
				v := *at
				d.paymentAt = &v
			} else {
				d.paymentAt = nil
			}
			return
		}
	}
}

// paymentMetrics sets a page's payment keys: the ready time from the view's
// own start (a soft navigation's route change; 0 for a document).
func paymentMetrics(m *probe.PageMetrics, d document) {
	if d.payment == "" {
		return
	}
	m.PaymentProvider = string(d.payment)
	if d.paymentAt != nil {
		v := round(max(*d.paymentAt-d.v.Start, 0), 1)
		m.PaymentReadyMS = &v
	}
}
