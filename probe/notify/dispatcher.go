package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// DropReason says why a notification was given up on. The set is closed: it
// is a label of storeprobe_notifier_dropped_total.
type DropReason string

// Drop reasons.
const (
	DropQueueFull DropReason = "queue_full" // the oldest waiting one, to make room
	DropExpired   DropReason = "expired"    // older than MaxAge, or would be by the next try
	DropPermanent DropReason = "permanent"  // the receiver refused it; retrying cannot help
	DropShutdown  DropReason = "shutdown"   // still waiting when Close's context ended
)

// DropReasons lists every DropReason, in the order metrics show them.
func DropReasons() []DropReason {
	return []DropReason{DropQueueFull, DropExpired, DropPermanent, DropShutdown}
}

// Dispatcher defaults.
const (
	DefaultQueueSize  = 256
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultMaxAge     = 24 * time.Hour
)

// DispatcherOptions bound the Dispatcher's memory and retries. Zero values
// take the defaults.
type DispatcherOptions struct {
	Logger *slog.Logger // default: discard
	// QueueSize bounds the notifications waiting per notifier (an SMS
	// notifier's queue holds one per recipient); past it the oldest waiting
	// one is dropped.
	QueueSize int
	// Backoff between attempts: MinBackoff·2^(n-1) capped at MaxBackoff,
	// jittered down to half, and never shorter than a Retry-After the
	// receiver asked for (capped at MaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// MaxAge: a notification still undelivered this long after Send is
	// dropped; by then it is news nobody needs.
	MaxAge time.Duration
	// DrainTimeout bounds the delivery of what is queued when Run's
	// context ends (default 5s).
	DrainTimeout time.Duration
}

// Dispatcher delivers notifications without ever making its caller wait:
// Send queues and returns, and each notifier has its own bounded queue and
// worker, so a slow or dead receiver delays only its own notifications.
// Within a notifier, notifications go out in the order sent, each retried
// until delivered before the next: a resolve never overtakes its trigger.
// It keeps nothing across restarts: the alert engine re-sends from its own
// persisted state.
type Dispatcher struct {
	log       *slog.Logger
	o         DispatcherOptions
	receivers map[string]*receiver
	names     []string // sorted, for metrics

	// runCtx bounds every delivery; Close cancels it once its own context
	// ends, to stop what could not be drained in time.
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu is held for reading through each Send, so once Close holds it
	// for writing no Send is half done and none can queue after the
	// workers' last look.
	mu     sync.RWMutex
	closed bool
}

// fanOut is a notifier that delivers to each recipient with its own
// request (sms): the Dispatcher queues and retries each recipient apart, so
// one that fails is not texted again when another is retried.
type fanOut interface {
	recipients() []string
	notifyOne(ctx context.Context, n alert.Notification, to string) error
}

// resolvedFilter is a notifier that may not want resolved notifications.
type resolvedFilter interface {
	skips(n alert.Notification) bool
}

type job struct {
	n        alert.Notification
	to       string // one recipient of a fanOut notifier
	enqueued time.Time
}

// receiver is one notifier's queue, worker and counters.
type receiver struct {
	nt   Notifier
	wake chan struct{} // a job was queued, or closing began

	mu       sync.Mutex
	queue    []job
	busy     bool // the worker holds a job
	closing  bool
	sent     int64
	failures map[Reason]int64
	dropped  map[DropReason]int64
}

// NewDispatcher starts one worker per notifier. Notifier names must be
// unique; a later one with the same name replaces the earlier.
func NewDispatcher(notifiers []Notifier, o DispatcherOptions) *Dispatcher {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 5 * time.Second
	}
	d := &Dispatcher{log: o.Logger, o: o, receivers: map[string]*receiver{}}
	d.runCtx, d.cancel = context.WithCancel(context.Background())
	for _, nt := range notifiers {
		if _, dup := d.receivers[nt.Name()]; !dup {
			d.names = append(d.names, nt.Name())
		}
		d.receivers[nt.Name()] = &receiver{nt: nt, wake: make(chan struct{}, 1),
			failures: map[Reason]int64{}, dropped: map[DropReason]int64{}}
	}
	sort.Strings(d.names)
	for _, name := range d.names {
		r := d.receivers[name]
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.work(r)
		}()
	}
	return d
}

// Send queues n for each named notifier and returns at once. A name with
// no notifier is logged and skipped (the config refuses such names, so it
// is a bug); so is everything sent after Close.
func (d *Dispatcher) Send(n alert.Notification, notifiers []string) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		d.log.Error("notification sent after the dispatcher closed; not delivered", logAttrs(n)...)
		return
	}
	now := time.Now()
	for _, name := range notifiers {
		r, ok := d.receivers[name]
		if !ok {
			d.log.Error("notification for an unknown notifier; not delivered", append(logAttrs(n), "notifier", name)...)
			continue
		}
		if f, ok := r.nt.(resolvedFilter); ok && f.skips(n) {
			continue
		}
		if fo, ok := r.nt.(fanOut); ok {
			for _, to := range fo.recipients() {
				d.enqueue(r, job{n: n, to: to, enqueued: now})
			}
			continue
		}
		d.enqueue(r, job{n: n, enqueued: now})
	}
}

func (d *Dispatcher) enqueue(r *receiver, j job) {
	r.mu.Lock()
	var dropped *job
	if len(r.queue) >= d.o.QueueSize {
		// The oldest goes: the newest says most about the alert now.
		old := r.queue[0]
		dropped = &old
		r.queue = append(r.queue[:0], r.queue[1:]...)
		r.dropped[DropQueueFull]++
	}
	r.queue = append(r.queue, j)
	r.mu.Unlock()
	if dropped != nil {
		d.log.Error("notifier queue full; dropped the oldest notification",
			append(logAttrs(dropped.n), "notifier", r.nt.Name(), "queue_size", d.o.QueueSize)...)
	}
	r.poke()
}

// poke wakes r's worker without waiting: one pending wake-up is enough,
// the worker looks at the whole queue when it wakes.
func (r *receiver) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest job; false once closing with nothing left, or
// once Close gave up waiting.
func (d *Dispatcher) next(r *receiver) (job, bool) {
	for {
		r.mu.Lock()
		if len(r.queue) > 0 && d.runCtx.Err() == nil {
			j := r.queue[0]
			r.queue = append(r.queue[:0], r.queue[1:]...)
			r.busy = true
			r.mu.Unlock()
			return j, true
		}
		done := r.closing && len(r.queue) == 0 || d.runCtx.Err() != nil
		r.mu.Unlock()
		if done {
			return job{}, false
		}
		select {
		case <-r.wake:
		case <-d.runCtx.Done():
		}
	}
}

// work delivers r's jobs one at a time until Close.
func (d *Dispatcher) work(r *receiver) {
	for {
		j, ok := d.next(r)
		if !ok {
			break
		}
		d.deliver(r, j)
		r.mu.Lock()
		r.busy = false
		r.mu.Unlock()
	}
	// What Close could not wait for is dropped, loudly.
	r.mu.Lock()
	left := len(r.queue)
	r.queue = nil
	if left > 0 {
		r.dropped[DropShutdown] += int64(left)
	}
	r.mu.Unlock()
	if left > 0 {
		d.log.Error("notifications not delivered before shutdown; dropped", "notifier", r.nt.Name(), "count", left)
	}
}

// deliver tries j until it is delivered, refused, too old or shut down.
func (d *Dispatcher) deliver(r *receiver, j job) {
	name := r.nt.Name()
	for attempt := 1; ; attempt++ {
		if time.Since(j.enqueued) >= d.o.MaxAge {
			d.drop(r, j, DropExpired, nil)
			return
		}
		var err error
		if fo, ok := r.nt.(fanOut); ok && j.to != "" {
			err = fo.notifyOne(d.runCtx, j.n, j.to)
		} else {
			err = r.nt.Notify(d.runCtx, j.n)
		}
		if err == nil {
			r.mu.Lock()
			r.sent++
			r.mu.Unlock()
			if attempt > 1 {
				d.log.Info("notification delivered after retries", append(logAttrs(j.n), "notifier", name, "attempts", attempt)...)
			}
			return
		}
		if d.runCtx.Err() != nil {
			// Close stopped this attempt: not the receiver's failure.
			d.drop(r, j, DropShutdown, nil)
			return
		}
		reason := reasonOf(err)
		r.mu.Lock()
		r.failures[reason]++
		r.mu.Unlock()
		if Permanent(err) {
			d.drop(r, j, DropPermanent, err)
			return
		}
		wait := d.backoff(attempt, err)
		if time.Since(j.enqueued)+wait >= d.o.MaxAge {
			d.drop(r, j, DropExpired, err)
			return
		}
		d.log.Warn("notification failed; will retry", append(logAttrs(j.n), "notifier", name, "type", r.nt.Type(),
			"attempt", attempt, "reason", string(reason), "retry_in", wait, "err", err)...)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.runCtx.Done():
			t.Stop()
			d.drop(r, j, DropShutdown, nil)
			return
		}
	}
}

func (d *Dispatcher) drop(r *receiver, j job, why DropReason, err error) {
	r.mu.Lock()
	r.dropped[why]++
	r.mu.Unlock()
	attrs := append(logAttrs(j.n), "notifier", r.nt.Name(), "type", r.nt.Type(), "reason", string(why),
		"age", time.Since(j.enqueued).Round(time.Second))
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	d.log.Error("notification dropped", attrs...)
}

// backoff is min(MaxBackoff, MinBackoff·2^(n-1)) jittered into [d/2, d],
// so that many notifiers failing together do not retry in step, and never
// shorter than the receiver's Retry-After (itself capped at MaxBackoff).
func (d *Dispatcher) backoff(n int, err error) time.Duration {
	b := d.o.MinBackoff
	for i := 1; i < n && b < d.o.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.o.MaxBackoff)
	b = b/2 + rand.N(b/2+1)
	if ra := RetryAfter(err); ra > 0 {
		b = max(b, min(ra, d.o.MaxBackoff))
	}
	return b
}

// logAttrs name a notification in logs: which alert, never its text.
func logAttrs(n alert.Notification) []any {
	return []any{"alert", n.Alert, "check", n.Check, "status", string(n.Status), "key", n.Key}
}

// Close stops taking notifications and delivers what is queued, retrying
// as usual, until the queues are empty or ctx ends; then it stops every
// attempt and drops (and logs) the rest. It returns ctx's error when it
// had to stop early.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	for _, r := range d.receivers {
		r.mu.Lock()
		r.closing = true
		r.mu.Unlock()
		r.poke()
	}
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return ctx.Err()
	}
}

// Run is the Dispatcher as a daemon worker: it waits for ctx, then closes,
// draining for at most DrainTimeout.
func (d *Dispatcher) Run(ctx context.Context) {
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.o.DrainTimeout)
	defer cancel()
	if err := d.Close(cctx); err != nil {
		d.log.Warn("notifications left undelivered at shutdown", "err", err)
	}
}

// NotifierStats are one notifier's counters since the Dispatcher started.
type NotifierStats struct {
	Sent     int64                // notifications delivered (an SMS per recipient)
	Failures map[Reason]int64     // failed attempts, by reason
	Dropped  map[DropReason]int64 // notifications given up on, by reason
	Queued   int                  // waiting, the one being delivered included
}

// Stats returns every notifier's counters, by name.
func (d *Dispatcher) Stats() map[string]NotifierStats {
	out := make(map[string]NotifierStats, len(d.receivers))
	for name, r := range d.receivers {
		r.mu.Lock()
		s := NotifierStats{Sent: r.sent, Queued: len(r.queue),
			Failures: make(map[Reason]int64, len(r.failures)), Dropped: make(map[DropReason]int64, len(r.dropped))}
		if r.busy {
			s.Queued++
		}
		for k, v := range r.failures {
			s.Failures[k] = v
		}
		for k, v := range r.dropped {
			s.Dropped[k] = v
		}
		r.mu.Unlock()
		out[name] = s
	}
	return out
}

// Describe and Collect make the Dispatcher a prometheus.Collector of its
// counters: every notifier with every reason (zeros included) so rates work
// from the first failure on. Label values are notifier names from the
// config and the closed reason sets: few, and fixed.
func (d *Dispatcher) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range notifierDescs() {
		ch <- desc
	}
}

// Collect reads the counters once per scrape.
func (d *Dispatcher) Collect(ch chan<- prometheus.Metric) {
	descs := notifierDescs()
	st := d.Stats()
	for _, name := range d.names {
		s := st[name]
		ch <- prometheus.MustNewConstMetric(descs[0], prometheus.CounterValue, float64(s.Sent), name)
		for _, r := range Reasons() {
			ch <- prometheus.MustNewConstMetric(descs[1], prometheus.CounterValue, float64(s.Failures[r]), name, string(r))
		}
		for _, r := range DropReasons() {
			ch <- prometheus.MustNewConstMetric(descs[2], prometheus.CounterValue, float64(s.Dropped[r]), name, string(r))
		}
		ch <- prometheus.MustNewConstMetric(descs[3], prometheus.GaugeValue, float64(s.Queued), name)
	}
}

// notifierDescs are the notifier metrics: sent, failures, dropped, queue.
func notifierDescs() [4]*prometheus.Desc {
	return [4]*prometheus.Desc{
		prometheus.NewDesc("storeprobe_notifier_sent_total", "Notifications delivered, per notifier (an SMS per recipient).", []string{"notifier"}, nil),
		prometheus.NewDesc("storeprobe_notifier_failures_total", "Failed delivery attempts, by reason; transient ones are retried.", []string{"notifier", "reason"}, nil),
		prometheus.NewDesc("storeprobe_notifier_dropped_total", "Notifications given up on, by reason.", []string{"notifier", "reason"}, nil),
		prometheus.NewDesc("storeprobe_notifier_queue_length", "Notifications waiting for delivery, the one being tried included.", []string{"notifier"}, nil),
	}
}

// Build makes every notifier of a config and a Dispatcher for them, started.
// The error joins each notifier's problems.
func Build(ns []probe.Notifier, o DispatcherOptions, opts ...Option) (*Dispatcher, error) {
	built := make([]Notifier, 0, len(ns))
	var errs []error
	for _, n := range ns {
		nf, err := New(n, opts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("notifier %s: %w", n.Name, err))
			continue
		}
		built = append(built, nf)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewDispatcher(built, o), nil
}
