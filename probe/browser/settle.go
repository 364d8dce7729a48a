package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"

	"github.com/storeprobe/storeprobe/probe"
)

// The settle rule: a page is observed until it is done, not for a fixed
// time. It is done when, all at once,
//
//   - its document has loaded (the load event),
//   - the network has been quiet for settleWindow, counted from the load
//     event at the earliest: at most netBusyRequests requests in flight (a
//     beacon every 250 ms or a long poll is not busy; Lighthouse's
//     network-2-quiet), none of them critical (Lighthouse's
//     network-critical-quiet: the main frame's High and VeryHigh priority
//     requests, such as the LCP image once Chrome sees it in the viewport;
//     but not XHR and fetch, which Lighthouse counts, so that a long poll
//     is not busy — a page whose content waits for a slow API call with
//     nothing painted for a second may be read before it),
//   - the main thread has been quiet for settleWindow: no long task ended
//     in that time, and a 50 ms timer fires on time (Lighthouse's CPU idle
//     check),
//   - the page has painted (FCP), and neither a new LCP candidate nor a
//     counted layout shift came for settleWindow, no image in the viewport
//     is still loading (a lazy hero is one request in flight, at Low
//     priority: neither network rule waits for it) and none finished
//     loading in that time (it paints a frame or more after its load),
//   - a route change the journey's last input caused is no longer pending:
//     it became a soft navigation, or nothing has changed in the DOM for
//     settleWindow and none of the requests it started is in flight.
//
// settleWindow is Lighthouse's pauseAfterFcpMs, pauseAfterLoadMs,
// networkQuietThresholdMs and cpuQuietThresholdMs of its desktop and mobile
// configurations (1 s each). The rule is capped by the run's time (see
// settle): a page that never settles is measured up to the cap and says so.
const (
	settleWindow    = time.Second
	netBusyRequests = 2
	// settleReserve is what a capped settle leaves of the run's time for
	// reading the results (a quarter of what is left when that is less).
	settleReserve = time.Second
	// quietProbeTimeout bounds one look at the page; a page whose main
	// thread is blocked longer answers late, which is a busy answer.
	quietProbeTimeout = 2 * time.Second
	// settlePoll is how soon a page is looked at again when what it waits
	// for has no end time (nothing painted yet, a pending route).
	settlePoll = 100 * time.Millisecond
	// reactCap bounds the wait for a page whose observation already ended
	// (a journey's input that neither navigated nor changed the route):
	// the page is given time to react before the next step, but a page
	// that never settles must not cost every step its whole timeout.
	reactCap = 3 * time.Second
)

// errPageHung ends a settle whose page did not answer its last look
// (quietProbeTimeout) when the cap came, or did not answer the end of its
// observation at the cap: its main thread is hung.
var errPageHung = fmt.Errorf("the page's main thread did not answer for %s", quietProbeTimeout)

// quietState is the collector's answer to __storeprobeQuiet: the current
// view and how long each of its activities has been quiet, in ms.
type quietState struct {
	ID         string  `json:"id"`
	Painted    bool    `json:"painted"`
	Ended      bool    `json:"ended"`
	PaintMS    float64 `json:"paint_ms"`
	CPUMS      float64 `json:"cpu_ms"`
	Route      bool    `json:"route"`
	MutationMS float64 `json:"mutation_ms"`
	Images     int     `json:"images"` // images in the viewport still loading
}

// wait is how much longer the page must stay as it is; 0 when it is done.
func (q quietState) wait() time.Duration {
	if !q.Painted {
		return settlePoll
	}
	window := probe.Millis(settleWindow)
	left := max(window-q.PaintMS, window-q.CPUMS)
	if q.Route {
		left = max(left, window-q.MutationMS, probe.Millis(settlePoll))
	}
	if q.Images > 0 {
		left = max(left, probe.Millis(settlePoll))
	}
	if left <= 0 {
		return 0
	}
	return time.Duration(left * float64(time.Millisecond))
}

// settle observes the current page until the settle rule holds, then ends
// its observation (reason quiet). It stops at the cap: ctx's deadline less
// settleReserve. At the cap, with endAtCap (a page probe: its time is up),
// it ends the observation as cap; without it (a journey step's deadline)
// the page stays observed, and the journey's next input, navigation or end
// ends it. A page already observed to its end, with no route change
// pending, is waited for reactCap at most. Reaching a cap is no error; ctx
// ending is.
func (s *session) settle(ctx context.Context, endAtCap bool) error {
	started := time.Now()
	capAt := started.Add(24 * time.Hour)
	if dl, ok := ctx.Deadline(); ok {
		capAt = dl.Add(-min(settleReserve, time.Until(dl)/4))
	}
	var probeAt time.Time
	var last quietState // the page as last seen
	probed := false
	unanswered := false // the last look at the page got no answer in time
	for {
		now := time.Now()
		if probed && last.Ended && !last.Route && now.Sub(started) >= reactCap {
			return nil
		}
		if !now.Before(capAt) {
			if unanswered {
				// A page hung at the cap (an endless loop, a task of
				// seconds) cannot be measured, nor used: a timeout.
				s.hung = true
				return errPageHung
			}
			if endAtCap {
				if err := s.endView(ctx, "", probe.SettleCap); errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					// Not even ending the view was answered in a second.
					s.hung = true
					return errPageHung
				}
			}
			return nil
		}
		netWait, ch := s.tr.netQuietIn(now)
		wait := netWait
		if netWait == 0 && !now.Before(probeAt) {
			q, present, err := s.quietProbe(ctx)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			unanswered = errors.Is(err, context.DeadlineExceeded)
			switch {
			case err != nil:
				// A document replaced under the call, or a main thread
				// blocked past the probe's timeout: look again soon.
				wait = settlePoll
			case !present:
				// No collector in this document (not http, or no JS):
				// the network decides alone.
				return nil
			default:
				wait = q.wait()
				if q.Route && s.tr.routeRequests() > 0 {
					wait = max(wait, settlePoll)
				}
				last, probed = q, true
			}
			if wait == 0 {
				// The network may have woken during the look.
				if w, _ := s.tr.netQuietIn(time.Now()); w == 0 {
					if !q.Ended {
						_ = s.endView(ctx, q.ID, probe.SettleQuiet)
					}
					return nil
				}
				continue
			}
			probeAt = time.Now().Add(wait)
		} else if netWait == 0 {
			wait = probeAt.Sub(now)
		}
		// Sleep until the page may be done; a network event wakes us to
		// re-check the network (not the page: its own clock is probeAt).
		d := min(wait, capAt.Sub(now))
		if probed && last.Ended && !last.Route {
			d = min(d, started.Add(reactCap).Sub(now))
		}
		timer := time.NewTimer(max(d, 0))
		select {
		case <-ch:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
		timer.Stop()
	}
}

// quietProbe asks the collector how quiet the current view is. present is
// false for a document without the collector.
func (s *session) quietProbe(ctx context.Context) (q quietState, present bool, err error) {
	pctx, cancel := context.WithTimeout(ctx, quietProbeTimeout)
	defer cancel()
	res, err := cdp.Call(pctx, s.t, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    `typeof window.__storeprobeQuiet === 'function' ? window.__storeprobeQuiet() : ''`,
		AwaitPromise:  new(true),
		ReturnByValue: new(true),
	})
	if err != nil {
		return q, false, err
	}
	if res.ExceptionDetails != nil || res.Result == nil {
		return q, false, errors.New("quiet probe: " + exceptionText(res.ExceptionDetails))
	}
	var raw string
	if err := json.Unmarshal(res.Result.Value, &raw); err != nil {
		return q, false, err
	}
	if raw == "" {
		return q, false, nil
	}
	if len(raw) > maxPayload {
		return q, false, errors.New("quiet probe: answer too large")
	}
	if err := json.Unmarshal([]byte(raw), &q); err != nil {
		return q, false, err
	}
	return q, true, nil
}

// endView ends the observation of the current page's view id ("" for
// whichever is current) for reason, if it is still observed. The
// collector only takes it with the run's nonce.
// It returns the call's error: a page that does not answer within a second
// is busy or hung.
func (s *session) endView(ctx context.Context, id, reason string) error {
	expr, err := callExpr(`(n, id, r) => typeof window.__storeprobeEnd === 'function' && window.__storeprobeEnd(n, id, r)`,
		s.tr.nonce, id, reason)
	if err != nil {
		return err
	}
	ectx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = cdp.Call(ectx, s.t, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, ReturnByValue: new(true)})
	return err
}

// settledMS formats a view's end of observation for the result.
func settledMS(c collected) (float64, string) {
	if c.End == nil {
		return 0, ""
	}
	return round(*c.End, 1), c.EndReason
}
