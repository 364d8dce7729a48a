package browser

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/cdp"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Cross-site frames. Chrome keeps its default site isolation: a frame of
// another site (a payment field of js.stripe.com, a PayPal button, an
// analytics or chat widget) runs in a renderer of its own, as a target of
// type "iframe" apart from the tab, whose requests the tab's session does
// not see. Its beacons are intercepted the way Puppeteer, Playwright and
// chromium-bidi reach such frames: the tab's session auto-attaches to its
// iframe targets with waitForDebuggerOnStart (Target.setAutoAttach,
// filtered to iframes: workers stay unattached), so each frame is held
// before its document loads; on its session we enable Fetch with the
// beacon patterns, auto-attach in turn (auto-attach is not recursive: a
// cross-site frame in a cross-site frame is the child's), and only then
// let it run (Runtime.runIfWaitingForDebugger). Its paused requests are
// answered on its own session. Chrome DevTools Protocol, Target domain:
// chromedevtools.github.io/devtools-protocol/tot/Target/#method-setAutoAttach
//
// The child sessions are not flattened: their messages travel inside the
// parent session's (Target.sendMessageToTarget, Target.receivedMessage
// FromTarget). chromedp (v0.23) routes a flat session's messages only if
// it attached the session itself, so the replies and events of a flat
// auto-attached session are dropped, and the only session that can let a
// held frame run is the one that holds it: a second session attached by
// chromedp.WithTargetID can neither start on a held frame ("Cannot find
// default execution context") nor release it, and detaching the holder
// does not release it either (both tried with Chromium 156).

// maxFrameSessions bounds the cross-site frames of one run whose beacons
// are intercepted; frames past it are let run at once, unwatched.
const maxFrameSessions = 32

// frameSetupTimeout bounds setting up one frame: it is let run after it
// whatever happened, so a page never waits on us longer.
const frameSetupTimeout = 5 * time.Second

// frameAutoAttach is the auto-attach of the tab's and each frame's
// session: iframe targets only, held until their interception is on.
func frameAutoAttach() target.SetAutoAttachParams {
	return target.SetAutoAttachParams{AutoAttach: true, WaitForDebuggerOnStart: true, Flatten: new(false),
		Filter: target.Filter{{Type: "iframe"}, {Exclude: true}}}
}

// sendMessageToTarget sends a message to a session that is not flat.
// Chrome still has the command; cdproto no longer lists it (deprecated
// with the non-flat sessions, which chromedp does not route).
const sendMessageToTarget = "Target.sendMessageToTarget"

type sendMessageParams struct {
	Message   string           `json:"message"`
	SessionID target.SessionID `json:"sessionId"`
}

// errFrameGone is a call to a frame whose session ended.
var errFrameGone = errors.New("the frame's session ended")

// frames is a run's cross-site frame sessions.
type frames struct {
	mu     sync.Mutex
	made   int                                // frame sessions set up (at most maxFrameSessions)
	kids   map[target.SessionID]*frameSession // the tab's own
	closed bool                               // the run is ending: no new setups
	wg     sync.WaitGroup                     // the setups in flight
}

// add counts a setup in flight, unless the run is ending.
func (f *frames) add() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.wg.Add(1)
	return true
}

// close waits for the setups in flight; no new one starts.
func (f *frames) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.wg.Wait()
}

// frameSession is the session of one cross-site frame, spoken to through
// its parent's session (the tab's or another frame's). It is a
// cdp.Session: the beacons it pauses are answered through it.
type frameSession struct {
	s      *session
	id     target.SessionID
	parent cdp.Session
	next   atomic.Int64
	gone   chan struct{} // closed when the session ends

	mu    sync.Mutex
	ended bool
	waits map[int64]chan *cdproto.Message
	kids  map[target.SessionID]*frameSession
}

// Call sends a command to the frame and waits for its answer.
func (f *frameSession) Call(ctx context.Context, method string, params, res any) error {
	id := f.next.Add(1)
	var raw []byte
	if params != nil {
		var err error
		if raw, err = jsonv2.Marshal(params, chromedp.DefaultMarshalOptions); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
	}
	msg, err := jsonv2.Marshal(&cdproto.Message{ID: id, Method: cdproto.MethodType(method), Params: raw}, chromedp.DefaultMarshalOptions)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	ch := make(chan *cdproto.Message, 1)
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return fmt.Errorf("%s: %w", method, errFrameGone)
	}
	f.waits[id] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waits, id)
		f.mu.Unlock()
	}()
	if err := f.parent.Call(ctx, sendMessageToTarget, sendMessageParams{Message: string(msg), SessionID: f.id}, nil); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case reply := <-ch:
		if reply.Error != nil {
			return fmt.Errorf("%s: %w", method, reply.Error)
		}
		if res != nil && len(reply.Result) > 0 {
			return jsonv2.Unmarshal(reply.Result, res, chromedp.DefaultUnmarshalOptions)
		}
		return nil
	case <-f.gone:
		return fmt.Errorf("%s: %w", method, errFrameGone)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe is not offered: a frame's events are read by dispatch.
func (f *frameSession) Subscribe(string) (<-chan jsonv2.Value, func()) {
	ch := make(chan jsonv2.Value)
	close(ch)
	return ch, func() {}
}

// end marks the session (and every session under it) ended.
func (f *frameSession) end() {
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return
	}
	f.ended = true
	kids := f.kids
	f.kids = nil
	f.mu.Unlock()
	close(f.gone)
	for _, k := range kids {
		k.end()
	}
}

// dispatch handles one message of the frame's session: an answer, a
// paused request, a frame attached under it, or a message of one of those.
// It runs on the tab's read loop: it must not block.
func (f *frameSession) dispatch(raw string) {
	var msg cdproto.Message
	if jsonv2.Unmarshal([]byte(raw), &msg, chromedp.DefaultUnmarshalOptions) != nil {
		return
	}
	if msg.ID != 0 {
		f.mu.Lock()
		ch := f.waits[msg.ID]
		f.mu.Unlock()
		if ch != nil {
			select {
			case ch <- &msg:
			default:
			}
		}
		return
	}
	switch msg.Method {
	case cdproto.EventFetchRequestPaused, cdproto.EventTargetAttachedToTarget,
		cdproto.EventTargetReceivedMessageFromTarget, cdproto.EventTargetDetachedFromTarget:
	default:
		return
	}
	ev, err := cdproto.UnmarshalMessage(&msg, chromedp.DefaultUnmarshalOptions)
	if err != nil {
		return
	}
	f.s.frameEvent(f, ev)
}

// frameEvent handles an event of the tab's session (parent nil) or of a
// frame's: an iframe attached under it is set up on its own goroutine (a
// listener must not send commands), a message of a child is dispatched to
// it, and a request a frame paused is a beacon answered on that frame's
// session (the tab's go through tracker.handle).
func (s *session) frameEvent(parent *frameSession, ev any) {
	kids := func() map[target.SessionID]*frameSession {
		if parent == nil {
			if s.frames.kids == nil {
				s.frames.kids = map[target.SessionID]*frameSession{}
			}
			return s.frames.kids
		}
		return parent.kids
	}
	lock := func() {
		if parent == nil {
			s.frames.mu.Lock()
		} else {
			parent.mu.Lock()
		}
	}
	unlock := func() {
		if parent == nil {
			s.frames.mu.Unlock()
		} else {
			parent.mu.Unlock()
		}
	}
	switch ev := ev.(type) {
	case *target.EventAttachedToTarget:
		var via cdp.Session = parent
		if parent == nil {
			t := s.tab.Load()
			if t == nil {
				return
			}
			via = t
		}
		f := &frameSession{s: s, id: ev.SessionID, parent: via, gone: make(chan struct{}),
			waits: map[int64]chan *cdproto.Message{}, kids: map[target.SessionID]*frameSession{}}
		lock()
		if k := kids(); k != nil {
			k[ev.SessionID] = f
		}
		unlock()
		if !s.frames.add() {
			return // the run is ending: the tab goes with its frames
		}
		go func() {
			defer s.frames.wg.Done()
			s.setUpFrame(f, ev)
		}()
	case *target.EventReceivedMessageFromTarget:
		lock()
		f := kids()[ev.SessionID]
		unlock()
		if f != nil {
			f.dispatch(ev.Message)
		}
	case *target.EventDetachedFromTarget:
		lock()
		f := kids()[ev.SessionID]
		delete(kids(), ev.SessionID)
		unlock()
		if f != nil {
			f.end()
		}
	case *fetch.EventRequestPaused:
		if parent != nil {
			s.tr.mu.Lock()
			s.tr.beaconLocked(ev, parent)
			s.tr.mu.Unlock()
		}
	}
}

// setUpFrame turns the interception on in a frame held at its start, then
// lets it run.
func (s *session) setUpFrame(f *frameSession, ev *target.EventAttachedToTarget) {
	ctx, cancel := context.WithTimeout(s.ctx, frameSetupTimeout)
	defer cancel()
	// Whatever happens, the held frame runs (with a budget of its own:
	// the setup's may be spent).
	defer func() {
		rctx, rcancel := context.WithTimeout(s.ctx, 2*time.Second)
		defer rcancel()
		_ = f.Call(rctx, runtime.CommandRunIfWaitingForDebugger, nil, nil)
	}()
	if ev.TargetInfo == nil || ev.TargetInfo.Type != "iframe" {
		return
	}
	s.frames.mu.Lock()
	full := s.frames.made >= maxFrameSessions
	if !full {
		s.frames.made++
	}
	s.frames.mu.Unlock()
	if full {
		return
	}
	if err := f.Call(ctx, fetch.CommandEnable, fetch.EnableParams{Patterns: beaconPatterns()}, nil); err != nil {
		return
	}
	_ = f.Call(ctx, target.CommandSetAutoAttach, frameAutoAttach(), nil)
}

// tabFrameListener is the tab's listener for its cross-site frames.
func (s *session) tabFrameListener(ev any) {
	switch ev.(type) {
	case *target.EventAttachedToTarget, *target.EventReceivedMessageFromTarget, *target.EventDetachedFromTarget:
		s.frameEvent(nil, ev)
	}
}
