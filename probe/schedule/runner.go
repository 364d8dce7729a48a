// Package schedule runs checks on their cron schedules. It uses
// robfig/cron/v3's parser, and its Schedule.Next for calendar specs (@every
// is its own Every, anchored so a check keeps its phase across restarts),
// but drives time itself, because it needs what cron.Cron hides: the time
// each run was scheduled for, so that lag (actual start − scheduled time)
// and missed runs can be measured.
//
// On top of cron it adds what a monitoring daemon needs: a deterministic
// jitter offset per check (checks on one schedule spread out instead of
// firing together), a global concurrency limit and a lower one for browser
// checks, no overlapping runs of one check (a skipped run is recorded, never
// silently dropped), panic recovery, a per-attempt timeout, visible retries,
// atomic reloads and a graceful stop.
//
// Policies, in brief:
//   - Jitter: each check fires at its schedule shifted by Offset(name), a
//     stable hash of its name inside JitterWindow (the whole period for
//     @every, at most Options.MaxJitter for calendar specs).
//   - Retries: a failed attempt is retried when Check.RetryOn says its
//     failure may be transient (by default dns, connect, tls, timeout,
//     protocol, a 5xx status, navigation and the probe's own faults: a
//     crashed browser deserves a second try), up to Check.Retries times,
//     Options.RetryDelay apart. A deterministic failure (an assertion, a
//     body over the cap, too_slow) is not retried by default: the retry
//     would fail the same way, only later and with noisier timings. Every
//     attempt is kept in Run.Attempts, numbered from 1; the last decides
//     the run.
//   - A scheduled time that produces no run is counted and recorded with
//     the Sink: overlap (previous run in flight), missed (the scheduler fell
//     more than a period behind; only the latest due time runs), shutdown.
//     Of the times one stall misses, only the first 10 are recorded, and
//     past 10 000 the rest are estimated and none runs: the check resumes
//     at its next fire.
//   - Lag is the first attempt's start minus the scheduled time, so time
//     spent waiting for a concurrency slot shows as lag.
package schedule

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/storeprobe/storeprobe/probe"
)

// Executor runs one attempt of a check. A failed target is a Result with
// OK false, never a panic; the Runner still recovers panics and records them
// as probe_error. Execute must return soon after ctx is done.
type Executor interface {
	Execute(ctx context.Context, c probe.Check, attempt int) probe.Result
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, c probe.Check, attempt int) probe.Result

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, c probe.Check, attempt int) probe.Result {
	return f(ctx, c, attempt)
}

// Sink receives every finished run and every scheduled time that did not
// produce one. It is declared here, by its user, and implemented by the
// caller: typically an adapter over its store, not the store itself.
type Sink interface {
	Save(ctx context.Context, run probe.Run) error
	RecordSkip(ctx context.Context, check string, scheduledAt time.Time, reason string) error
}

// Reasons a scheduled run did not happen, as passed to Sink.RecordSkip.
const (
	// SkipOverlap: the check's previous run was still in flight.
	SkipOverlap = "overlap"
	// SkipMissed: the scheduler fell more than a period behind, and only the
	// latest due time of the check was run.
	SkipMissed = "missed"
	// SkipShutdown: the run was due but still waiting for a concurrency slot
	// when the Runner stopped.
	SkipShutdown = "shutdown"
)

// Options configure a Runner. Zero values mean the documented defaults.
type Options struct {
	Executor Executor // required
	Sink     Sink     // required
	Logger   *slog.Logger

	// Concurrency limits attempts in flight across all checks (default 32).
	Concurrency int
	// BrowserConcurrency limits browser and journey attempts in flight
	// (default 2); they hold a global slot too.
	BrowserConcurrency int
	// RetryDelay is the pause between a failed attempt and its retry
	// (default 1s).
	RetryDelay time.Duration
	// DefaultTimeout applies to checks whose Timeout is zero
	// (default probe.DefaultTimeout).
	DefaultTimeout time.Duration
	// TimeoutGrace is added to a check's Timeout for the attempt's context
	// deadline, so the probe's own timeout (with its phase) classifies the
	// failure rather than our cancellation (default 1s). A probe still
	// running TimeoutGrace after that deadline is abandoned: the attempt is
	// recorded as probe_error and its slot stays taken until it returns.
	TimeoutGrace time.Duration
	// MaxJitter caps the jitter of calendar specs such as "0 * * * *"
	// (default 1m; negative: none). @every schedules always spread over
	// their whole period.
	MaxJitter time.Duration
	// SaveTimeout is the deadline of the context given to each call to
	// the Sink (default 10s).
	SaveTimeout time.Duration
}

// Runner schedules and runs checks. Create it with New, then Start; Reload
// swaps the set of checks; Stop ends it.
type Runner struct {
	o       Options
	log     *slog.Logger
	global  chan struct{} // semaphores: a send takes a slot
	browser chan struct{}

	mu      sync.Mutex
	started bool
	stopped bool
	entries map[string]*entry
	queue   entryQueue
	busy    map[string]bool // checks with a run in flight, by name
	st      counters

	wake       chan struct{} // a Reload changed the queue
	quit       chan struct{} // closed by Stop: no new runs or attempts
	loopDone   chan struct{}
	runCtx     context.Context // parent of every attempt; cancelled when Stop's grace ends
	cancelRuns context.CancelFunc
	runs       sync.WaitGroup // run goroutines and skip recorders
}

// entry is one scheduled check.
type entry struct {
	check  probe.Check
	sched  cron.Schedule
	offset time.Duration
	next   time.Time // next jittered fire
	url    string    // c.URL redacted, for results whose probe left URL empty
}

// New returns a Runner with o's defaults filled in.
func New(o Options) (*Runner, error) {
	if o.Executor == nil {
		return nil, errors.New("schedule: no executor")
	}
	if o.Sink == nil {
		return nil, errors.New("schedule: no sink")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.BrowserConcurrency <= 0 {
		o.BrowserConcurrency = 2
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = probe.DefaultTimeout
	}
	if o.TimeoutGrace <= 0 {
		o.TimeoutGrace = time.Second
	}
	if o.MaxJitter == 0 {
		o.MaxJitter = time.Minute
	}
	if o.SaveTimeout <= 0 {
		o.SaveTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{
		o:          o,
		log:        o.Logger,
		global:     make(chan struct{}, o.Concurrency),
		browser:    make(chan struct{}, o.BrowserConcurrency),
		entries:    map[string]*entry{},
		busy:       map[string]bool{},
		st:         newCounters(),
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		loopDone:   make(chan struct{}),
		runCtx:     ctx,
		cancelRuns: cancel,
	}, nil
}

// Start validates every check and begins scheduling them. Nothing is
// scheduled if any check is invalid.
func (r *Runner) Start(checks []probe.Check) error {
	planned, err := r.plan(checks)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return errors.New("schedule: already started")
	}
	r.started = true
	r.install(planned, time.Now())
	go r.loop()
	return nil
}

// Reload atomically replaces the set of checks. Unchanged schedules keep
// their next fire time; new and changed ones are scheduled from now; removed
// checks stop. Runs in flight finish with the definition they started with,
// and a check with a run in flight still cannot overlap itself. If any check
// is invalid, nothing changes.
func (r *Runner) Reload(checks []probe.Check) error {
	planned, err := r.plan(checks)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if !r.started || r.stopped {
		r.mu.Unlock()
		return errors.New("schedule: reload of a runner that is not running")
	}
	r.install(planned, time.Now())
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.log.Info("schedule reloaded", "checks", len(planned))
	return nil
}

// plan validates checks and computes their schedules and offsets; it
// returns every problem at once.
func (r *Runner) plan(checks []probe.Check) ([]*entry, error) {
	var errs []error
	seen := map[string]bool{}
	now := time.Now()
	out := make([]*entry, 0, len(checks))
	for i, c := range checks {
		switch {
		case c.Name == "":
			errs = append(errs, fmt.Errorf("check %d: no name", i+1))
			continue
		case seen[c.Name]:
			errs = append(errs, fmt.Errorf("check %q: duplicate name", c.Name))
			continue
		}
		seen[c.Name] = true
		if !c.Type.Valid() {
			errs = append(errs, fmt.Errorf("check %q: unknown type %q", c.Name, c.Type))
		}
		if c.Retries < 0 {
			errs = append(errs, fmt.Errorf("check %q: negative retries", c.Name))
		}
		if c.Timeout < 0 {
			errs = append(errs, fmt.Errorf("check %q: negative timeout", c.Name))
		}
		for _, v := range c.RetryOn {
			if err := probe.ValidRetryOn(v); err != nil {
				errs = append(errs, fmt.Errorf("check %q: retry_on: %w", c.Name, err))
			}
		}
		s, err := ParseSpec(c.Schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("check %q: %w", c.Name, err))
			continue
		}
		if c.Timeout == 0 {
			c.Timeout = r.o.DefaultTimeout
		}
		out = append(out, &entry{
			check:  c,
			sched:  s,
			offset: Offset(c.Name, JitterWindow(s, r.o.MaxJitter, now)),
			url:    probe.CheckRedactor(c).URL(c.URL),
		})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("schedule: %w", errors.Join(errs...))
	}
	return out, nil
}

// install replaces the entries with planned ones. Called with r.mu held.
func (r *Runner) install(planned []*entry, now time.Time) {
	next := make(map[string]*entry, len(planned))
	for _, e := range planned {
		if old, ok := r.entries[e.check.Name]; ok && old.check.Schedule == e.check.Schedule && old.offset == e.offset {
			e.next = old.next // same times: a due run is neither lost nor doubled
		} else {
			e.next = fireAfter(e.sched, e.offset, now)
		}
		if e.next.IsZero() {
			r.log.Warn("check will never fire again", "check", e.check.Name, "schedule", e.check.Schedule)
			continue
		}
		next[e.check.Name] = e
	}
	r.entries = next
	r.queue = r.queue[:0]
	for _, e := range next {
		r.queue = append(r.queue, e)
	}
	heap.Init(&r.queue)
}

// loop sleeps until the earliest fire, dispatches what is due, repeats.
func (r *Runner) loop() {
	defer close(r.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait, ok := r.dispatchDue(time.Now())
		if ok {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-timer.C:
		case <-r.wake:
		case <-r.quit:
			return
		}
	}
}

type skip struct {
	check       string
	scheduledAt time.Time
	reason      string
}

// maxMissedRecorded bounds the skip rows written for one check falling
// behind once (a laptop waking after a night with @every 1s checks); the
// counter still counts every missed time.
const maxMissedRecorded = 10

// maxMissedScan bounds the fires walked one by one after a stall.
const maxMissedScan = 10000

// dispatchDue starts the runs due at now and returns how long until the next
// fire (false if nothing is scheduled).
func (r *Runner) dispatchDue(now time.Time) (time.Duration, bool) {
	var skips []skip
	r.mu.Lock()
	for len(r.queue) > 0 && !r.queue[0].next.After(now) {
		e := r.queue[0]
		name := e.check.Name
		cs := r.st.check(name)
		// When more than a period behind, run only the latest due time and
		// count the earlier ones as missed.
		first, due := e.next, e.next
		var missed int
		for {
			n := fireAfter(e.sched, e.offset, due)
			if n.IsZero() || n.After(now) {
				e.next = n
				break
			}
			if missed < maxMissedRecorded {
				skips = append(skips, skip{name, due, SkipMissed})
			}
			missed++
			due = n
			if missed == maxMissedScan {
				// A stall of days: estimate the rest instead of walking
				// every fire, and resume at the next one.
				missed += 1 + int(now.Sub(due)/max(Period(e.sched, due), time.Second))
				e.next = fireAfter(e.sched, e.offset, now)
				due = time.Time{}
				break
			}
		}
		if missed > 0 {
			r.st.missed += int64(missed)
			cs.Missed += int64(missed)
			r.log.Warn("scheduler fell behind; runs missed", "check", name, "missed", missed, "behind", now.Sub(first))
		}
		switch {
		case due.IsZero():
		case r.busy[name]:
			r.st.skipped++
			cs.Skipped++
			skips = append(skips, skip{name, due, SkipOverlap})
			r.log.Warn("previous run still in flight; run skipped", "check", name, "scheduled_at", due)
		default:
			r.busy[name] = true
			r.runs.Add(1)
			go r.run(e.check, e.url, due)
		}
		if e.next.IsZero() {
			heap.Pop(&r.queue)
			delete(r.entries, name)
			r.log.Warn("check will never fire again", "check", name)
		} else {
			heap.Fix(&r.queue, 0)
		}
	}
	var wait time.Duration
	ok := len(r.queue) > 0
	if ok {
		wait = r.queue[0].next.Sub(now)
	}
	if len(skips) > 0 {
		r.runs.Add(1)
		go r.recordSkips(skips)
	}
	r.mu.Unlock()
	return wait, ok
}

func (r *Runner) recordSkips(skips []skip) {
	defer r.runs.Done()
	for _, s := range skips {
		ctx, cancel := context.WithTimeout(context.Background(), r.o.SaveTimeout)
		err := r.o.Sink.RecordSkip(ctx, s.check, s.scheduledAt, s.reason)
		cancel()
		if err != nil {
			r.mu.Lock()
			r.st.saveErrors++
			r.mu.Unlock()
			r.log.Error("record skipped run", "check", s.check, "scheduled_at", s.scheduledAt, "reason", s.reason, "err", err)
		}
	}
}

// run performs one scheduled run: attempts until one passes or the retries
// are used up, then hands the run to the sink.
func (r *Runner) run(c probe.Check, url string, scheduled time.Time) {
	var abandoned []<-chan struct{}
	defer func() {
		// The check stays busy until every abandoned probe has returned, so a
		// hung probe shows up as skipped runs instead of piling up.
		release := func() {
			r.mu.Lock()
			delete(r.busy, c.Name)
			r.mu.Unlock()
		}
		if len(abandoned) == 0 {
			release()
		} else {
			go func() {
				for _, a := range abandoned {
					<-a
				}
				release()
			}()
		}
		r.runs.Done()
	}()

	run := probe.Run{
		Check:       c.Name,
		Type:        c.Type,
		Location:    c.Location,
		Probe:       c.Probe,
		Tags:        maps.Clone(c.Tags),
		ScheduledAt: scheduled.UTC(),
	}
	for n := 1; n <= 1+c.Retries; n++ {
		if n > 1 {
			if !r.pause(r.o.RetryDelay) {
				break // stopping: no new attempts
			}
		}
		release, ok := r.acquire(c.Type)
		if !ok {
			break
		}
		start := time.Now()
		if n == 1 {
			run.StartedAt = start.UTC()
			run.Lag = start.Sub(scheduled)
		}
		res, pending := r.attempt(c, url, n, start, release)
		if pending != nil {
			abandoned = append(abandoned, pending)
		}
		run.Attempts = append(run.Attempts, res)
		r.mu.Lock()
		r.st.attempts++
		if n > 1 {
			r.st.retries++
		}
		r.mu.Unlock()
		if !c.RetryOn.Retries(res) {
			break // passed, or a failure a retry would not change
		}
	}
	if len(run.Attempts) == 0 {
		r.mu.Lock()
		r.st.shutdownSkipped++
		r.mu.Unlock()
		r.runs.Add(1)
		r.recordSkips([]skip{{c.Name, scheduled, SkipShutdown}})
		return
	}
	r.finish(run)
}

// finish records a run's statistics and saves it.
func (r *Runner) finish(run probe.Run) {
	final := run.Final()
	r.mu.Lock()
	r.st.recordRun(run)
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.o.SaveTimeout)
	defer cancel()
	if err := r.o.Sink.Save(ctx, run); err != nil {
		r.mu.Lock()
		r.st.saveErrors++
		r.mu.Unlock()
		r.log.Error("save run", "check", run.Check, "scheduled_at", run.ScheduledAt, "err", err)
		return
	}
	lvl := slog.LevelDebug
	if !final.OK {
		lvl = slog.LevelInfo
	}
	attrs := []any{"check", run.Check, "ok", final.OK, "attempts", len(run.Attempts), "lag", run.Lag, "duration_ms", final.DurationMS}
	if final.Failure != nil {
		attrs = append(attrs, "failure", final.Failure.Kind, "message", final.Failure.Message)
	}
	r.log.Log(context.Background(), lvl, "run", attrs...)
}

// pause waits d unless the Runner stops first.
func (r *Runner) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.quit:
		return false
	}
}

// acquire takes a global slot, and first a browser slot for browser checks
// (so browser runs queued on their small limit do not hold global slots).
// Waiting runs queue in order: channel senders are woken first come, first
// served, so the longest waiting run starts first.
func (r *Runner) acquire(t probe.CheckType) (release func(), ok bool) {
	select {
	case <-r.quit:
		return nil, false
	default:
	}
	browser := t == probe.TypeBrowser || t == probe.TypeJourney
	r.mu.Lock()
	r.st.waiting++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.st.waiting--
		if ok {
			r.st.inFlight++
		}
		r.mu.Unlock()
	}()
	if browser {
		select {
		case r.browser <- struct{}{}:
		case <-r.quit:
			return nil, false
		}
	}
	select {
	case r.global <- struct{}{}:
	case <-r.quit:
		if browser {
			<-r.browser
		}
		return nil, false
	}
	return func() {
		<-r.global
		if browser {
			<-r.browser
		}
		r.mu.Lock()
		r.st.inFlight--
		r.mu.Unlock()
	}, true
}

// attempt runs one attempt with the check's deadline and panic recovery.
// It returns a channel closed when the probe finally returns if it had to be
// abandoned (still running TimeoutGrace after its deadline), else nil.
// release is called when the probe returns, never earlier.
func (r *Runner) attempt(c probe.Check, url string, n int, start time.Time, release func()) (probe.Result, <-chan struct{}) {
	// An HTTP check with warm-up requests or an origin takes up to its
	// timeout for each of them (probe.Check.AttemptTimeout).
	deadline := c.AttemptTimeout() + r.o.TimeoutGrace
	ctx, cancel := context.WithTimeout(r.runCtx, deadline)
	defer cancel()
	out := make(chan probe.Result, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		// The slot is released as the probe returns, before its result is
		// handed on: once a run is done, it no longer counts as in flight
		// (Stop's caller reads the stats right after).
		res := func() (res probe.Result) {
			defer release()
			defer func() {
				if p := recover(); p != nil {
					res = r.panicResult(c, p, debug.Stack())
				}
			}()
			return r.o.Executor.Execute(ctx, c, n)
		}()
		out <- res
	}()

	var res probe.Result
	var pending <-chan struct{}
	select {
	case res = <-out:
	case <-ctx.Done():
		t := time.NewTimer(r.o.TimeoutGrace)
		select {
		case res = <-out:
		case <-t.C:
			pending = returned
			r.mu.Lock()
			r.st.abandoned++
			r.mu.Unlock()
			r.log.Error("probe ignored its deadline; abandoned", "check", c.Name, "attempt", n, "timeout", c.Timeout)
			res = probe.Result{Failure: probe.Fail(probe.FailureProbeError, "",
				"the probe did not return within %s after its %s deadline", r.o.TimeoutGrace, deadline)}
		}
		t.Stop()
	}
	normalise(&res, c, url, n, start)
	if r.runCtx.Err() != nil && !res.OK {
		// Our shutdown cut the attempt short: that is not the target's fault.
		res.Failure = probe.Fail(probe.FailureProbeError, "", "cancelled at shutdown: %s", res.Failure.Message)
	}
	return res, pending
}

// normalise fills what the runner knows better than the probe and repairs
// inconsistent results, so every stored attempt is well formed.
func normalise(res *probe.Result, c probe.Check, url string, n int, start time.Time) {
	res.Attempt = n
	if res.Check == "" {
		res.Check = c.Name
	}
	if res.Type == "" {
		res.Type = c.Type
	}
	if res.URL == "" {
		res.URL = url
	}
	if res.StartedAt.IsZero() {
		res.StartedAt = start.UTC()
	}
	if res.DurationMS == 0 && !res.OK {
		res.DurationMS = probe.Millis(time.Since(start))
	}
	if res.Failure != nil {
		res.OK = false
	} else if !res.OK {
		res.Failure = probe.Fail(probe.FailureProbeError, "", "the probe reported a failure without a reason")
	}
}

func (r *Runner) panicResult(c probe.Check, p any, stack []byte) probe.Result {
	red := probe.CheckRedactor(c)
	msg := red.String(fmt.Sprint(p))
	r.mu.Lock()
	r.st.panics++
	r.mu.Unlock()
	r.log.Error("probe panicked", "check", c.Name, "panic", msg, "stack", red.String(string(stack)))
	return probe.Result{Failure: probe.Fail(probe.FailureProbeError, "", "the probe panicked: %s", msg)}
}

// Stop stops scheduling: no new runs start, no new attempts or retries begin,
// and runs still waiting for a slot for their first attempt are recorded as
// skipped (shutdown); a run waiting to retry is saved with the attempts it
// has. It waits for runs in flight until ctx is done (the grace period), then
// cancels them; a cancelled attempt that did not pass is recorded as
// probe_error ("cancelled at shutdown"). The runs are saved before Stop
// returns, so the store can be closed afterwards, unless saving outlasts
// 2×TimeoutGrace + SaveTimeout after the cancellation (a Sink slower than
// its deadline; logged). The error is non-nil only if the grace period ran
// out.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if !r.started || r.stopped {
		r.stopped = true
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	close(r.quit)
	r.mu.Unlock()
	<-r.loopDone

	done := make(chan struct{})
	go func() {
		r.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.cancelRuns()
		return nil
	case <-ctx.Done():
	}
	r.mu.Lock()
	inFlight := r.st.inFlight
	r.mu.Unlock()
	r.log.Warn("grace period over; cancelling runs in flight", "in_flight", inFlight)
	r.cancelRuns()
	// Cancelled attempts return (or are abandoned) within TimeoutGrace, then
	// save within SaveTimeout.
	t := time.NewTimer(2*r.o.TimeoutGrace + r.o.SaveTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		r.log.Error("runs still unfinished after cancellation")
	}
	return fmt.Errorf("schedule: stop: cancelled %d runs in flight: %w", inFlight, ctx.Err())
}

// entryQueue is a min-heap of entries by next fire.
type entryQueue []*entry

func (q entryQueue) Len() int { return len(q) }
func (q entryQueue) Less(i, j int) bool {
	if q[i].next.Equal(q[j].next) {
		return q[i].check.Name < q[j].check.Name
	}
	return q[i].next.Before(q[j].next)
}
func (q entryQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *entryQueue) Push(x any)   { *q = append(*q, x.(*entry)) }
func (q *entryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}
