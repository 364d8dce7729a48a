package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Most tests run inside a synctest bubble: its clock is virtual and only
// moves when every goroutine is blocked, so fire times, lags and deadlines
// can be asserted exactly. TestRunnerRealClock covers the real clock.

// memSink keeps what the runner hands it, in order.
type memSink struct {
	mu      sync.Mutex
	runs    []probe.Run
	skips   []skipRec
	saveErr error
}

type skipRec struct {
	check  string
	at     time.Time
	reason string
}

func (s *memSink) Save(_ context.Context, run probe.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, run)
	return s.saveErr
}

func (s *memSink) RecordSkip(_ context.Context, check string, at time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skips = append(s.skips, skipRec{check, at, reason})
	return nil
}

func (s *memSink) runsOf(check string) []probe.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []probe.Run
	for _, r := range s.runs {
		if r.Check == check {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b probe.Run) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	return out
}

func (s *memSink) skipsOf(check string) []skipRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []skipRec
	for _, k := range s.skips {
		if k.check == check {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b skipRec) int { return a.at.Compare(b.at) })
	return out
}

// sleepExec is a probe that takes d (honouring its context) and passes.
func sleepExec(d time.Duration) ExecutorFunc {
	return func(ctx context.Context, c probe.Check, attempt int) probe.Result {
		select {
		case <-time.After(d):
			return probe.Result{OK: true, DurationMS: probe.Millis(d)}
		case <-ctx.Done():
			return probe.Result{Failure: probe.Fail(probe.FailureTimeout, probe.PhaseWait, "deadline: %v", ctx.Err())}
		}
	}
}

func httpCheck(name, spec string) probe.Check {
	return probe.Check{Name: name, Type: probe.TypeHTTP, URL: "http://127.0.0.1:1/" + name, Schedule: spec,
		Location: "eu-west", Probe: "probe-1", Tags: map[string]string{"platform": "shopify"}}
}

func newRunner(t *testing.T, o Options) *Runner {
	t.Helper()
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func stop(t *testing.T, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// sleepUntil sleeps until the bubble's clock reads start+d.
func sleepUntil(start time.Time, d time.Duration) { time.Sleep(time.Until(start.Add(d))) }

func TestNewValidates(t *testing.T) {
	if _, err := New(Options{Sink: &memSink{}}); err == nil {
		t.Error("New without executor: no error")
	}
	if _, err := New(Options{Executor: sleepExec(0)}); err == nil {
		t.Error("New without sink: no error")
	}
}

func TestStartRejectsInvalidChecks(t *testing.T) {
	tests := []struct {
		name   string
		checks []probe.Check
		want   []string
	}{
		{"bad spec", []probe.Check{httpCheck("a", "bogus")}, []string{`check "a"`, "bogus"}},
		{"duplicate", []probe.Check{httpCheck("a", "@every 1s"), httpCheck("a", "@every 2s")}, []string{"duplicate"}},
		{"no name", []probe.Check{httpCheck("", "@every 1s")}, []string{"no name"}},
		{"no schedule", []probe.Check{httpCheck("a", "")}, []string{"empty schedule"}},
		{"bad type", []probe.Check{{Name: "a", Type: "ftp", Schedule: "@every 1s"}}, []string{"unknown type"}},
		{"negative retries", []probe.Check{{Name: "a", Type: probe.TypeHTTP, Schedule: "@every 1s", Retries: -1}}, []string{"negative retries"}},
		{"unknown retry_on", []probe.Check{{Name: "a", Type: probe.TypeHTTP, Schedule: "@every 1s", RetryOn: probe.RetryOn{"flaky"}}}, []string{`retry_on: "flaky" is not a failure kind`}},
		{"every problem reported", []probe.Check{httpCheck("a", "bogus"), httpCheck("b", "@every 10ms")}, []string{`check "a"`, `check "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, Options{Executor: sleepExec(0), Sink: &memSink{}})
			err := r.Start(tt.checks)
			if err == nil {
				stop(t, r)
				t.Fatal("Start: no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if r.Stats().Checks != 0 {
				t.Error("an invalid set was scheduled")
			}
		})
	}
}

// Runs fire at start+offset+k·period exactly, with the Run filled from the
// Check.
func TestRunnerFiresOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{}
		r := newRunner(t, Options{Executor: sleepExec(100 * time.Millisecond), Sink: sink})
		checks := []probe.Check{httpCheck("a", "@every 10s"), httpCheck("b", "*/15 * * * * *"), httpCheck("c", "@every 1m")}
		periods := map[string]time.Duration{"a": 10 * time.Second, "b": 15 * time.Second, "c": time.Minute}
		if err := r.Start(checks); err != nil {
			t.Fatal(err)
		}
		end := 2*time.Minute + 500*time.Microsecond // offsets are whole ms: no ties with the end
		sleepUntil(start, end)
		stats := r.Stats()
		stop(t, r)

		for _, c := range checks {
			p := periods[c.Name]
			off := Offset(c.Name, p) // b's window is its 15 s period (< MaxJitter)
			if got := stats.PerCheck[c.Name].Offset; got != off {
				t.Errorf("%s: offset %v, want %v", c.Name, got, off)
			}
			var want []time.Time
			for at := start.Add(off); at.Sub(start) <= end; at = at.Add(p) {
				if at.After(start) {
					want = append(want, at.UTC())
				}
			}
			var got []time.Time
			for _, run := range sink.runsOf(c.Name) {
				got = append(got, run.ScheduledAt)
				if run.Lag != 0 || !run.StartedAt.Equal(run.ScheduledAt) {
					t.Errorf("%s: lag %v (started %v, scheduled %v), want 0 on the virtual clock", c.Name, run.Lag, run.StartedAt, run.ScheduledAt)
				}
				if run.Location != "eu-west" || run.Probe != "probe-1" || run.Type != probe.TypeHTTP || run.Tags["platform"] != "shopify" {
					t.Errorf("%s: run lacks the check's identity: %+v", c.Name, run)
				}
				if len(run.Attempts) != 1 || run.Final().Attempt != 1 || run.Final().Check != c.Name || !run.OK() {
					t.Errorf("%s: attempts %+v", c.Name, run.Attempts)
				}
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("%s (offset %v): fired at %v, want %v", c.Name, off, got, want)
			}
		}
		if stats.Lag.Max != 0 || stats.Missed != 0 || stats.Skipped != 0 {
			t.Errorf("stats %+v", stats)
		}
	})
}

// On the real clock: @every 1s fires each second at its offset, with small lag.
func TestRunnerRealClock(t *testing.T) {
	sink := &memSink{}
	r := newRunner(t, Options{Executor: sleepExec(time.Millisecond), Sink: sink})
	if err := r.Start([]probe.Check{httpCheck("tick", "@every 1s")}); err != nil {
		t.Fatal(err)
	}
	// Wait for three runs, bounded: at most 3 s plus scheduling delays.
	deadline := time.Now().Add(6 * time.Second)
	for len(sink.runsOf("tick")) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop(t, r)
	runs := sink.runsOf("tick")
	if len(runs) < 3 {
		t.Fatalf("%d runs in 6 s of @every 1s", len(runs))
	}
	off := Offset("tick", time.Second)
	for i, run := range runs {
		if got := run.ScheduledAt.Sub(run.ScheduledAt.Truncate(time.Second)); got != off {
			t.Errorf("run %d scheduled %v: phase %v, want offset %v", i, run.ScheduledAt, got, off)
		}
		if i > 0 && run.ScheduledAt.Sub(runs[i-1].ScheduledAt) != time.Second {
			t.Errorf("runs %d and %d are %v apart", i-1, i, run.ScheduledAt.Sub(runs[i-1].ScheduledAt))
		}
		// Generous: timer slack under -race on two overloaded cores. The
		// precise figure comes from BenchmarkSchedulerCapacity.
		if run.Lag < 0 || run.Lag > 750*time.Millisecond {
			t.Errorf("run %d lag %v", i, run.Lag)
		}
	}
}

// inFlight counts concurrent executions, overall and of browser checks.
type inFlight struct {
	now, max, browserNow, browserMax atomic.Int64
}

func (f *inFlight) exec(d time.Duration) ExecutorFunc {
	return func(ctx context.Context, c probe.Check, attempt int) probe.Result {
		bump := func(now, mx *atomic.Int64) {
			n := now.Add(1)
			for m := mx.Load(); n > m && !mx.CompareAndSwap(m, n); m = mx.Load() {
			}
		}
		bump(&f.now, &f.max)
		defer f.now.Add(-1)
		if c.Type == probe.TypeBrowser || c.Type == probe.TypeJourney {
			bump(&f.browserNow, &f.browserMax)
			defer f.browserNow.Add(-1)
		}
		return sleepExec(d)(ctx, c, attempt)
	}
}

// Nine checks due at once with three slots: three waves one second apart,
// and the waiting shows up as lag.
func TestConcurrencyLimitAndLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{}
		var f inFlight
		r := newRunner(t, Options{Executor: f.exec(time.Second), Sink: sink, Concurrency: 3, MaxJitter: -1})
		var checks []probe.Check
		for i := range 9 {
			checks = append(checks, httpCheck(fmt.Sprintf("c%d", i), "*/10 * * * * *"))
		}
		if err := r.Start(checks); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 10*time.Second+500*time.Millisecond)
		if s := r.Stats(); s.InFlight != 3 || s.Waiting != 6 {
			t.Errorf("mid-wave: in flight %d, waiting %d; want 3 and 6", s.InFlight, s.Waiting)
		}
		sleepUntil(start, 15*time.Second)
		stats := r.Stats()
		stop(t, r)

		if got := f.max.Load(); got != 3 {
			t.Errorf("max in flight %d, want 3", got)
		}
		var lags []time.Duration
		for _, c := range checks {
			runs := sink.runsOf(c.Name)
			if len(runs) != 1 {
				t.Fatalf("%s: %d runs", c.Name, len(runs))
			}
			if !runs[0].ScheduledAt.Equal(start.Add(10 * time.Second)) {
				t.Errorf("%s scheduled at %v", c.Name, runs[0].ScheduledAt)
			}
			lags = append(lags, runs[0].Lag)
		}
		slices.Sort(lags)
		s := time.Second
		if want := []time.Duration{0, 0, 0, s, s, s, 2 * s, 2 * s, 2 * s}; !slices.Equal(lags, want) {
			t.Errorf("lags %v, want %v", lags, want)
		}
		if stats.Lag.Max != 2*s || stats.Lag.P50 != s || stats.Lag.Samples != 9 {
			t.Errorf("lag stats %+v", stats.Lag)
		}
	})
}

// Browser checks have their own, lower limit on top of the global one.
func TestBrowserLimitSeparate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{}
		var f inFlight
		r := newRunner(t, Options{Executor: f.exec(time.Second), Sink: sink, Concurrency: 3, BrowserConcurrency: 1, MaxJitter: -1})
		var checks []probe.Check
		for i := range 4 {
			checks = append(checks, httpCheck(fmt.Sprintf("h%d", i), "*/30 * * * * *"))
			b := httpCheck(fmt.Sprintf("b%d", i), "*/30 * * * * *")
			b.Type = probe.TypeBrowser
			if i%2 == 1 {
				b.Type = probe.TypeJourney
			}
			checks = append(checks, b)
		}
		if err := r.Start(checks); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 40*time.Second)
		stop(t, r)
		if got := f.browserMax.Load(); got != 1 {
			t.Errorf("max browser in flight %d, want 1", got)
		}
		if got := f.max.Load(); got != 3 {
			t.Errorf("max in flight %d, want 3", got)
		}
		var browserLags []time.Duration
		for i := range 4 {
			runs := sink.runsOf(fmt.Sprintf("b%d", i))
			if len(runs) != 1 {
				t.Fatalf("b%d: %d runs", i, len(runs))
			}
			browserLags = append(browserLags, runs[0].Lag)
		}
		slices.Sort(browserLags)
		for i := 1; i < len(browserLags); i++ {
			if browserLags[i]-browserLags[i-1] < time.Second {
				t.Errorf("browser runs overlapped: lags %v", browserLags)
			}
		}
	})
}

// A run due while the previous run of the same check is in flight is
// skipped and recorded, not run alongside or dropped silently.
func TestOverlapSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{}
		var f inFlight
		r := newRunner(t, Options{Executor: f.exec(25 * time.Second), Sink: sink, MaxJitter: -1})
		c := httpCheck("slow", "*/10 * * * * *")
		c.Timeout = time.Minute
		if err := r.Start([]probe.Check{c}); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 45*time.Second)
		stats := r.Stats()
		stop(t, r)

		var got []time.Duration
		for _, run := range sink.runsOf("slow") {
			got = append(got, run.ScheduledAt.Sub(start))
		}
		if want := []time.Duration{10 * time.Second, 40 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("runs scheduled at %v, want %v", got, want)
		}
		var skipped []time.Duration
		for _, s := range sink.skipsOf("slow") {
			if s.reason != SkipOverlap {
				t.Errorf("skip reason %q", s.reason)
			}
			skipped = append(skipped, s.at.Sub(start))
		}
		if want := []time.Duration{20 * time.Second, 30 * time.Second}; !slices.Equal(skipped, want) {
			t.Errorf("skips at %v, want %v", skipped, want)
		}
		if stats.Skipped != 2 || stats.PerCheck["slow"].Skipped != 2 || f.max.Load() != 1 {
			t.Errorf("skipped %d (per check %d), max in flight %d", stats.Skipped, stats.PerCheck["slow"].Skipped, f.max.Load())
		}
	})
}

// A panicking probe becomes a probe_error run with the secret redacted, and
// the runner carries on.
func TestPanicRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{}
		var calls atomic.Int64
		exec := ExecutorFunc(func(ctx context.Context, c probe.Check, attempt int) probe.Result {
			if calls.Add(1) == 1 {
				panic("boom fetching " + c.URL)
			}
			return probe.Result{OK: true}
		})
		r := newRunner(t, Options{Executor: exec, Sink: sink, MaxJitter: -1})
		c := httpCheck("p", "*/10 * * * * *")
		c.URL = "http://127.0.0.1:1/cart?access_token=s3cr3t-t0ken"
		if err := r.Start([]probe.Check{c}); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 25*time.Second)
		stats := r.Stats()
		stop(t, r)
		runs := sink.runsOf("p")
		if len(runs) != 2 {
			t.Fatalf("%d runs, want 2", len(runs))
		}
		f := runs[0].Final().Failure
		if f == nil || f.Kind != probe.FailureProbeError || !strings.Contains(f.Message, "panicked") {
			t.Fatalf("first run failure %+v, want probe_error panic", f)
		}
		if strings.Contains(f.Message, "s3cr3t") || strings.Contains(runs[0].Final().URL, "s3cr3t") {
			t.Errorf("secret leaked: %q / %q", f.Message, runs[0].Final().URL)
		}
		if !runs[0].ProbeFault() || !runs[1].OK() {
			t.Errorf("runs %+v", runs)
		}
		if stats.Panics != 1 || stats.Failed != 1 || stats.Runs != 2 {
			t.Errorf("stats %+v", stats)
		}
	})
}

func TestRetriesRecordedAsAttempts(t *testing.T) {
	const delay = 3 * time.Second
	tests := []struct {
		name     string
		retries  int
		failures int // attempts that fail before one passes
		want     []bool
	}{
		{"passes first time", 2, 0, []bool{true}},
		{"passes on third", 3, 2, []bool{false, false, true}},
		{"always fails", 1, 99, []bool{false, false}},
		{"no retries", 0, 99, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sink := &memSink{}
				exec := ExecutorFunc(func(ctx context.Context, c probe.Check, attempt int) probe.Result {
					if attempt <= tt.failures {
						return probe.Result{Failure: probe.Fail(probe.FailureStatus, "", "503"), HTTPDetails: &probe.HTTPDetails{StatusCode: 503}}
					}
					return probe.Result{OK: true}
				})
				r := newRunner(t, Options{Executor: exec, Sink: sink, MaxJitter: -1, RetryDelay: delay})
				c := httpCheck("r", "*/30 * * * * *")
				c.Retries = tt.retries
				if err := r.Start([]probe.Check{c}); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, 45*time.Second)
				stats := r.Stats()
				stop(t, r)
				runs := sink.runsOf("r")
				if len(runs) != 1 {
					t.Fatalf("%d runs", len(runs))
				}
				var got []bool
				for i, a := range runs[0].Attempts {
					got = append(got, a.OK)
					if a.Attempt != i+1 {
						t.Errorf("attempt %d numbered %d", i+1, a.Attempt)
					}
					if want := runs[0].ScheduledAt.Add(time.Duration(i) * delay); !a.StartedAt.Equal(want) {
						t.Errorf("attempt %d started %v, want %v (retry delay)", i+1, a.StartedAt, want)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("attempts ok %v, want %v", got, tt.want)
				}
				if runs[0].OK() != tt.want[len(tt.want)-1] {
					t.Error("the final attempt did not decide the run")
				}
				if stats.Retries != int64(len(tt.want)-1) || stats.Attempts != int64(len(tt.want)) {
					t.Errorf("retries %d attempts %d", stats.Retries, stats.Attempts)
				}
			})
		})
	}
}

// TestRetryOn: a failed attempt is retried only when the check's retry_on
// (by default the transient failures) names its failure; a deterministic
// one ends the run at once, so it is neither slower nor noisier. Exact
// attempt times on the virtual clock prove what was and was not retried.
func TestRetryOn(t *testing.T) {
	const delay = 2 * time.Second
	status := func(code int) probe.Result {
		return probe.Result{Failure: probe.Fail(probe.FailureStatus, "", "status %d", code), HTTPDetails: &probe.HTTPDetails{StatusCode: code}}
	}
	kind := func(k probe.FailureKind) probe.Result {
		return probe.Result{Failure: probe.Fail(k, "", "%s", k), HTTPDetails: &probe.HTTPDetails{}}
	}
	tests := []struct {
		name     string
		retryOn  probe.RetryOn
		fail     probe.Result
		attempts int // of 1 + 3 retries
	}{
		{"default retries dns", nil, kind(probe.FailureDNS), 4},
		{"default retries connect", nil, kind(probe.FailureConnect), 4},
		{"default retries tls", nil, kind(probe.FailureTLS), 4},
		{"default retries timeout", nil, kind(probe.FailureTimeout), 4},
		{"default retries protocol", nil, kind(probe.FailureProtocol), 4},
		{"default retries a 5xx", nil, status(503), 4},
		{"default retries a probe fault", nil, kind(probe.FailureProbeError), 4},
		{"default retries a browser crash", nil, kind(probe.FailureBrowserCrash), 4},
		{"default does not retry an assertion", nil, kind(probe.FailureAssertion), 1},
		{"default does not retry too_slow", nil, kind(probe.FailureTooSlow), 1},
		{"default does not retry too_large", nil, kind(probe.FailureTooLarge), 1},
		{"default does not retry a 404", nil, status(404), 1},
		{"default does not retry a redirect loop", nil, kind(probe.FailureRedirectLoop), 1},
		{"4xx retries a 404", probe.RetryOn{"4xx"}, status(404), 4},
		{"5xx alone skips a timeout", probe.RetryOn{"5xx"}, kind(probe.FailureTimeout), 1},
		{"status retries any status", probe.RetryOn{"status"}, status(200), 4},
		{"a kind named retries it", probe.RetryOn{"assertion"}, kind(probe.FailureAssertion), 4},
		{"any retries everything", probe.RetryOn{"any"}, kind(probe.FailureTooSlow), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sink := &memSink{}
				exec := ExecutorFunc(func(ctx context.Context, c probe.Check, attempt int) probe.Result {
					r := tt.fail
					f := *r.Failure
					r.Failure = &f
					return r
				})
				r := newRunner(t, Options{Executor: exec, Sink: sink, MaxJitter: -1, RetryDelay: delay})
				c := httpCheck("r", "*/30 * * * * *")
				c.Retries, c.RetryOn = 3, tt.retryOn
				if err := r.Start([]probe.Check{c}); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, 45*time.Second)
				stats := r.Stats()
				stop(t, r)
				runs := sink.runsOf("r")
				if len(runs) != 1 {
					t.Fatalf("%d runs", len(runs))
				}
				got := runs[0].Attempts
				if len(got) != tt.attempts {
					t.Fatalf("%d attempts, want %d", len(got), tt.attempts)
				}
				for i, a := range got {
					if want := runs[0].ScheduledAt.Add(time.Duration(i) * delay); !a.StartedAt.Equal(want) {
						t.Errorf("attempt %d started %v, want %v", i+1, a.StartedAt, want)
					}
				}
				if stats.Retries != int64(tt.attempts-1) {
					t.Errorf("retries %d, want %d", stats.Retries, tt.attempts-1)
				}
			})
		})
	}
}

// The attempt's context carries the check's timeout plus grace; a probe
// ignoring it is abandoned and recorded, and its check stays busy until it
// returns.
func TestTimeout(t *testing.T) {
	const grace = 500 * time.Millisecond
	tests := []struct {
		name        string
		timeout     time.Duration
		ignoreCtx   bool
		wantTimeout time.Duration // the timeout the probe sees
		wantKind    probe.FailureKind
		wantDur     time.Duration // until the attempt is recorded
	}{
		{"honoured", 2 * time.Second, false, 2 * time.Second, probe.FailureTimeout, 2*time.Second + grace},
		{"default", 0, false, 4 * time.Second, probe.FailureTimeout, 4*time.Second + grace},
		{"ignored", 2 * time.Second, true, 2 * time.Second, probe.FailureProbeError, 2*time.Second + 2*grace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sink := &memSink{}
				var sawTimeout, sawDeadline time.Duration
				exec := ExecutorFunc(func(ctx context.Context, c probe.Check, attempt int) probe.Result {
					sawTimeout = c.Timeout
					dl, _ := ctx.Deadline()
					sawDeadline = time.Until(dl)
					if tt.ignoreCtx {
						time.Sleep(14 * time.Second)
						return probe.Result{OK: true}
					}
					return sleepExec(time.Hour)(ctx, c, attempt)
				})
				r := newRunner(t, Options{Executor: exec, Sink: sink, MaxJitter: -1, TimeoutGrace: grace, DefaultTimeout: 4 * time.Second})
				c := httpCheck("t", "*/10 * * * * *")
				c.Timeout = tt.timeout
				if err := r.Start([]probe.Check{c}); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, 25*time.Second)
				stats := r.Stats()
				stop(t, r)
				runs := sink.runsOf("t")
				if len(runs) == 0 {
					t.Fatal("no runs")
				}
				final := runs[0].Final()
				if final.Failure == nil || final.Failure.Kind != tt.wantKind {
					t.Fatalf("failure %+v, want %s", final.Failure, tt.wantKind)
				}
				if sawTimeout != tt.wantTimeout || sawDeadline != tt.wantTimeout+grace {
					t.Errorf("probe saw timeout %v deadline in %v, want %v and %v", sawTimeout, sawDeadline, tt.wantTimeout, tt.wantTimeout+grace)
				}
				if got := time.Duration(final.DurationMS * float64(time.Millisecond)); got != tt.wantDur {
					t.Errorf("attempt took %v, want %v", got, tt.wantDur)
				}
				if tt.ignoreCtx {
					// Busy for 14 s from 10 s: the run due at 20 s is skipped.
					if stats.Abandoned != 1 || stats.Skipped != 1 || len(runs) != 1 {
						t.Errorf("abandoned %d skipped %d runs %d", stats.Abandoned, stats.Skipped, len(runs))
					}
				} else if len(runs) != 2 {
					t.Errorf("%d runs, want 2", len(runs))
				}
			})
		})
	}
}

// An HTTP check's warm-up requests and origin each have the whole timeout:
// its attempt's deadline is the timeout once for each, plus grace, so a
// probe spending it honestly is never abandoned.
func TestTimeoutCoversWarmupAndOrigin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 500 * time.Millisecond
		start := time.Now()
		sink := &memSink{}
		var sawDeadline time.Duration
		exec := ExecutorFunc(func(ctx context.Context, c probe.Check, attempt int) probe.Result {
			dl, _ := ctx.Deadline()
			sawDeadline = time.Until(dl)
			// Two warm-up requests, the edge and the origin, each 0.9 s.
			time.Sleep(3600 * time.Millisecond)
			return probe.Result{OK: ctx.Err() == nil}
		})
		r := newRunner(t, Options{Executor: exec, Sink: sink, MaxJitter: -1, TimeoutGrace: grace})
		c := httpCheck("t", "*/10 * * * * *")
		c.Timeout = time.Second
		c.HTTP.Warmup, c.HTTP.OriginURL = 2, "http://127.0.0.1:1/origin"
		if err := r.Start([]probe.Check{c}); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 15*time.Second)
		stats := r.Stats()
		stop(t, r)
		runs := sink.runsOf("t")
		if len(runs) != 1 || !runs[0].OK() || stats.Abandoned != 0 {
			t.Fatalf("runs %+v, abandoned %d", runs, stats.Abandoned)
		}
		if want := 4*time.Second + grace; sawDeadline != want {
			t.Errorf("deadline in %v, want %v", sawDeadline, want)
		}
	})
}

func TestReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{}
		exec := ExecutorFunc(func(ctx context.Context, c probe.Check, attempt int) probe.Result {
			if c.Name == "slow" {
				return sleepExec(12*time.Second)(ctx, c, attempt)
			}
			return probe.Result{OK: true, URL: c.URL}
		})
		r := newRunner(t, Options{Executor: exec, Sink: sink, MaxJitter: -1})
		slow := httpCheck("slow", "*/10 * * * * *")
		slow.Timeout = time.Minute
		if err := r.Start([]probe.Check{httpCheck("a", "*/10 * * * * *"), httpCheck("b", "*/10 * * * * *"), slow}); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 15*time.Second)

		// An invalid set changes nothing.
		if err := r.Reload([]probe.Check{httpCheck("c", "*/10 * * * * *"), httpCheck("d", "bogus")}); err == nil {
			t.Fatal("Reload with a bad spec: no error")
		}
		if err := r.Reload([]probe.Check{httpCheck("x", "@every 1s"), httpCheck("x", "@every 1s")}); err == nil {
			t.Fatal("Reload with duplicate names: no error")
		}
		sleepUntil(start, 25*time.Second)

		// a removed, b rescheduled, c added, slow changed while in flight.
		b2 := httpCheck("b", "*/15 * * * * *")
		b2.URL = "http://127.0.0.1:1/b2"
		slow2 := slow
		slow2.Schedule = "*/5 * * * * *"
		if err := r.Reload([]probe.Check{b2, httpCheck("c", "*/10 * * * * *"), slow2}); err != nil {
			t.Fatal(err)
		}
		if n := r.Stats().Checks; n != 3 {
			t.Errorf("%d checks after reload, want 3", n)
		}
		sleepUntil(start, 61*time.Second)
		stop(t, r)

		at := func(name string) (out []time.Duration) {
			for _, run := range sink.runsOf(name) {
				out = append(out, run.ScheduledAt.Sub(start))
			}
			return out
		}
		s := time.Second
		want := map[string][]time.Duration{
			"a":    {10 * s, 20 * s},
			"b":    {10 * s, 20 * s, 30 * s, 45 * s, 60 * s},
			"c":    {30 * s, 40 * s, 50 * s, 60 * s},
			"d":    nil,
			"slow": {10 * s, 30 * s, 45 * s, 60 * s}, // 20 s: previous run in flight; then 12 s runs every 5 s
		}
		for name, w := range want {
			if got := at(name); !slices.Equal(got, w) {
				t.Errorf("%s ran at %v, want %v", name, got, w)
			}
		}
		if b := sink.runsOf("b"); b[len(b)-1].Final().URL != "http://127.0.0.1:1/b2" {
			t.Errorf("b after reload probed %s", b[len(b)-1].Final().URL)
		}
		for _, k := range sink.skipsOf("slow") {
			if k.reason != SkipOverlap {
				t.Errorf("slow skip %+v", k)
			}
		}
		// slow at 5 s steps from 25 s: 30 runs till 42, 35 and 40 skip, 45 runs till 57, 50 and 55 skip, 60 runs.
		if n := len(sink.skipsOf("slow")); n != 5 {
			t.Errorf("slow: %d skips, want 5 (20, 35, 40, 50, 55)", n)
		}
		if err := r.Reload(nil); err == nil {
			t.Error("Reload after Stop: no error")
		}
	})
}

func TestStop(t *testing.T) {
	tests := []struct {
		name     string
		probe    time.Duration // how long the probe takes
		grace    time.Duration
		wantErr  bool
		wantWait time.Duration // Stop's duration
		wantKind probe.FailureKind
	}{
		{"finishes within grace", 3 * time.Second, 10 * time.Second, false, 2500 * time.Millisecond, ""},
		{"cancelled after grace", time.Hour, 2 * time.Second, true, 2 * time.Second, probe.FailureProbeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sink := &memSink{}
				r := newRunner(t, Options{Executor: sleepExec(tt.probe), Sink: sink, MaxJitter: -1, Concurrency: 1})
				c := httpCheck("long", "*/10 * * * * *")
				c.Timeout = 2 * time.Hour
				// Due at the same time but waiting for the only slot.
				if err := r.Start([]probe.Check{c, httpCheck("queued", "*/10 * * * * *")}); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, 10*time.Second+500*time.Millisecond)
				first := "long"
				if r.Stats().InFlight != 1 {
					t.Fatal("nothing in flight")
				}
				ctx, cancel := context.WithTimeout(context.Background(), tt.grace)
				defer cancel()
				t0 := time.Now()
				err := r.Stop(ctx)
				if took := time.Since(t0); took != tt.wantWait {
					t.Errorf("Stop took %v, want %v", took, tt.wantWait)
				}
				if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, context.DeadlineExceeded)) {
					t.Fatalf("Stop error %v, want error %v", err, tt.wantErr)
				}
				// Whichever check won the slot ran; the other was skipped at shutdown.
				if len(sink.runsOf(first)) == 0 {
					first = "queued"
				}
				runs := sink.runsOf(first)
				if len(runs) != 1 {
					t.Fatalf("%d runs saved", len(runs))
				}
				if f := runs[0].Final().Failure; (f == nil) != (tt.wantKind == "") || (f != nil && (f.Kind != tt.wantKind || !strings.Contains(f.Message, "shutdown"))) {
					t.Errorf("failure %+v, want %q", f, tt.wantKind)
				}
				other := map[string]string{"long": "queued", "queued": "long"}[first]
				if sk := sink.skipsOf(other); len(sk) != 1 || sk[0].reason != SkipShutdown {
					t.Errorf("%s skips %+v, want one shutdown skip", other, sk)
				}
				if s := r.Stats(); s.ShutdownSkipped != 1 || s.InFlight != 0 || s.Waiting != 0 {
					t.Errorf("stats %+v", s)
				}
			})
		})
	}
}

// Falling more than a period behind runs the latest due time once and
// records the rest as missed; a stall of hours is estimated, not walked.
func TestMissedRuns(t *testing.T) {
	s := time.Second
	tests := []struct {
		name         string
		spec         string
		stall        time.Duration
		wantMissed   int64
		wantRecorded []time.Duration // skip rows, by scheduled time
		wantRunAt    time.Duration   // 0: no run
		wantNext     time.Duration
	}{
		{"a few", "*/10 * * * * *", 45 * s, 3, []time.Duration{10 * s, 20 * s, 30 * s}, 40 * s, 50 * s},
		{"none", "*/10 * * * * *", 15 * s, 0, nil, 10 * s, 20 * s},
		{"hours", "* * * * * *", 5*time.Hour + s/2, 18000,
			[]time.Duration{1 * s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s, 8 * s, 9 * s, 10 * s}, 0, 5*time.Hour + s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sink := &memSink{}
				r := newRunner(t, Options{Executor: sleepExec(0), Sink: sink, MaxJitter: -1})
				planned, err := r.plan([]probe.Check{httpCheck("m", tt.spec)})
				if err != nil {
					t.Fatal(err)
				}
				r.mu.Lock()
				r.install(planned, start)
				r.mu.Unlock()
				// The dispatcher is not running: as if it was stalled.
				sleepUntil(start, tt.stall)
				wait, ok := r.dispatchDue(time.Now())
				if got := time.Now().Add(wait).Sub(start); !ok || got != tt.wantNext {
					t.Errorf("next fire at %v (%v), want %v", got, ok, tt.wantNext)
				}
				r.runs.Wait()
				runs := sink.runsOf("m")
				if tt.wantRunAt == 0 {
					if len(runs) != 0 {
						t.Errorf("runs %+v, want none", runs)
					}
				} else if len(runs) != 1 || runs[0].ScheduledAt.Sub(start) != tt.wantRunAt || runs[0].Lag != tt.stall-tt.wantRunAt {
					t.Fatalf("runs %+v, want one scheduled at %v with lag %v", runs, tt.wantRunAt, tt.stall-tt.wantRunAt)
				}
				var recorded []time.Duration
				for _, k := range sink.skipsOf("m") {
					if k.reason != SkipMissed {
						t.Errorf("reason %q", k.reason)
					}
					recorded = append(recorded, k.at.Sub(start))
				}
				if !slices.Equal(recorded, tt.wantRecorded) {
					t.Errorf("recorded %v, want %v", recorded, tt.wantRecorded)
				}
				if st := r.Stats(); st.Missed != tt.wantMissed || st.PerCheck["m"].Missed != tt.wantMissed {
					t.Errorf("missed %d, want %d", st.Missed, tt.wantMissed)
				}
			})
		})
	}
}

func TestSaveErrorsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sink := &memSink{saveErr: errors.New("disk full")}
		r := newRunner(t, Options{Executor: sleepExec(0), Sink: sink, MaxJitter: -1})
		if err := r.Start([]probe.Check{httpCheck("s", "*/10 * * * * *")}); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, 25*time.Second)
		stop(t, r)
		if st := r.Stats(); st.SaveErrors != 2 || st.Runs != 2 {
			t.Errorf("save errors %d runs %d, want 2 and 2", st.SaveErrors, st.Runs)
		}
	})
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) (out []time.Duration) {
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}
