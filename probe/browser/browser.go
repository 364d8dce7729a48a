// Package browser runs browser checks and journeys in one long-lived headless
// Chromium: it owns the browser process (its own process group, restarted
// lazily after a crash, killed whole on Close), gives every run a fresh
// incognito browser context, observes each page until it is done (the
// settle rule, settle.go), measures Core Web Vitals, blocking time and soft
// navigations with its own in-page collector (collector.js) and what each
// page is made of from Chrome's network events (weight.go), and turns what
// happened into probe.Results.
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// DefaultPath is where Chromium is looked for when Options.Path is empty.
const DefaultPath = "/usr/bin/chromium"

// Defaults for runs. A page's and a journey's own timeouts are the
// domain's (probe.DefaultBrowserTimeout, probe.DefaultJourneyTimeout), which
// the config applies too.
const (
	DefaultStepTimeout   = 15 * time.Second // a journey step without its own timeout
	DefaultMaxConcurrent = 2
)

// smallShm is the /dev/shm size below which Chrome is told not to use it:
// Docker's default of 64 MB makes renderers crash on large pages.
const smallShm = 512 << 20

// Options configure the browser. The zero value runs /usr/bin/chromium
// headless with the default devices.
type Options struct {
	// Path of the Chromium or Chrome binary; DefaultPath when empty.
	Path string
	// Headful shows a window (debugging only; needs a display).
	Headful bool
	// ExtraFlags are added to Chrome's command line, as "name" or
	// "name=value", without the leading dashes.
	ExtraFlags []string
	// HostResolverRules is Chrome's --host-resolver-rules, answered inside
	// Chrome without asking the system resolver: "MAP shop.example.com
	// 203.0.113.7" probes one origin server behind a CDN, "MAP * ~NOTFOUND,
	// EXCLUDE 127.0.0.1" keeps a test browser off the network.
	HostResolverRules string
	// MaxConcurrent runs at most this many pages or journeys at once;
	// DefaultMaxConcurrent when 0.
	MaxConcurrent int
	// Devices overrides or adds device profiles by name (see Desktop and
	// Mobile for the defaults).
	Devices map[string]Device
	// Version goes into the User-Agent as "storeprobe/VERSION", so shops
	// can recognise and filter the probe's traffic.
	Version string
	// MaxPageMemory caps a run's page: when its JavaScript heap grows
	// past this many bytes, the run ends as too_large (the page is
	// stopped, partial results are kept). DefaultMaxPageMemory when 0;
	// negative turns the cap off (the heap is still measured).
	MaxPageMemory int64
	// StartTimeout bounds one start of Chromium; DefaultStartTimeout when 0.
	StartTimeout time.Duration
	// Logger receives lifecycle events; nil discards them.
	Logger *slog.Logger

	// softNavFallback makes the collector recognise soft navigations
	// itself even where Chrome reports them: the tests of the fallback
	// (this Chromium offers no switch that turns Chrome's off).
	softNavFallback bool
}

// Browser is one long-lived Chromium shared by all runs. It is safe for
// concurrent use. Chromium starts on first use (or Start), never while a
// lock is held: runs and readers of PID/RSS do not wait behind a launch. If
// Chromium dies, the runs in flight fail as browser_crash and the next run
// starts a new one.
type Browser struct {
	opts Options
	log  *slog.Logger
	sem  chan struct{}
	quit chan struct{} // closed by Close: a start in progress gives up

	mu       sync.Mutex
	inst     *instance
	starting chan struct{} // closed when the launch in progress ends; nil if none
	startErr error         // the last launch's error; nil after a success
	closed   bool
	starts   int // how many times Chrome was started, for logs and tests
}

// instance is one Chrome process and its chromedp contexts.
type instance struct {
	allocCancel context.CancelFunc
	ctx         context.Context // the browser's root chromedp context
	cancel      context.CancelFunc
	pid         int // also the process group id (Setpgid)
	version     string
	reaped      chan struct{} // closed when the process group is gone
	filter      *eventFilter
}

// dead reports whether Chrome exited or lost its connection.
func (in *instance) dead() bool { return in.ctx.Err() != nil }

// ErrStart wraps every failure to start Chromium, so a caller can tell "no
// browser" (a probe fault) from a run that went wrong.
var ErrStart = errors.New("start chromium")

// ErrClosed is returned for runs after Close.
var ErrClosed = errors.New("browser is closed")

// New returns a Browser that starts Chromium on first use: a daemon whose
// checks are all HTTP never starts it, and a failed start is retried by the
// next run rather than being fatal.
func New(opts Options) *Browser {
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Browser{opts: opts, log: log, sem: make(chan struct{}, opts.MaxConcurrent), quit: make(chan struct{})}
}

// Launch returns a Browser with Chromium already started. It fails if Chrome
// cannot start, so a misconfigured path shows at once (the CLI's choice; the
// daemon uses New and starts on demand).
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	b := New(opts)
	if err := b.Start(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Start makes sure Chromium runs, starting it if needed, and waits at most
// until ctx is done. The launch itself is bounded by its own timeout, not by
// ctx: a caller that gives up does not abort a start others wait for.
func (b *Browser) Start(ctx context.Context) error {
	_, err := b.instance(ctx)
	return err
}

// State reports whether Chromium runs, whether a start is under way, and
// why the last start failed (nil after a success or before any start). It
// never waits: readiness probes call it.
func (b *Browser) State() (running, starting bool, lastErr error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inst != nil && !b.inst.dead(), b.starting != nil, b.startErr
}

// Warm starts Chromium in the background if it is not running and no start
// is under way; it returns at once.
func (b *Browser) Warm() {
	if running, starting, _ := b.State(); running || starting {
		return
	}
	go b.Start(context.Background())
}

// instance returns the running Chrome, starting one if there is none or the
// last one died. One launch runs at a time; concurrent callers wait for it.
func (b *Browser) instance(ctx context.Context) (*instance, error) {
	// Twice at most: a Chrome that dies between its launch and our look at
	// it gets one more launch, not a loop.
	for range 2 {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, ErrClosed
		}
		if b.inst != nil && !b.inst.dead() {
			in := b.inst
			b.mu.Unlock()
			return in, nil
		}
		if b.starting == nil {
			old := b.inst
			b.inst = nil
			b.starting = make(chan struct{})
			go b.launch(old, b.starting)
		}
		wait := b.starting
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		b.mu.Lock()
		in, err := b.inst, b.startErr
		b.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if in != nil && !in.dead() {
			return in, nil
		}
	}
	return nil, fmt.Errorf("%w: chromium exited right after starting", ErrStart)
}

// launch replaces a dead instance with a new one and wakes the waiters on
// done. It runs without b.mu held.
func (b *Browser) launch(old *instance, done chan struct{}) {
	if old != nil {
		b.log.Warn("chromium died; restarting", "pid", old.pid)
		old.stop()
	}
	in, err := b.start()
	b.mu.Lock()
	defer b.mu.Unlock()
	defer close(done)
	b.starting = nil
	if err == nil && b.closed {
		// Close came during the launch: this Chrome must not outlive it.
		in.stop()
		in, err = nil, ErrClosed
	}
	if err != nil {
		if b.startErr == nil || b.startErr.Error() != err.Error() {
			// Once per distinct cause, not once per run.
			b.log.Error("cannot start Chromium; browser runs fail as browser_crash until it can", "err", err)
		}
		b.startErr = err
		return
	}
	if b.startErr != nil {
		b.log.Info("Chromium starts again")
	}
	b.startErr = nil
	b.inst = in
	b.starts++
}

// flags builds Chrome's command line from chromedp's defaults plus ours.
func (b *Browser) flags(filter *eventFilter) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(b.opts.Path),
		// The probe should talk to the shop only: no updaters, no QUIC
		// probes, no sync, no GPU process (and see disabledFeatures). Chrome
		// 156 still asks accounts.google.com for signed-in accounts (at start
		// and a few times after) and update.googleapis.com for its on-device
		// model's component (once, at start) whatever the flags; no switch
		// found stops either.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-dev-shm-usage", shmTooSmall("/dev/shm")),
		// Chrome evaluates the machine for its on-device AI model three
		// minutes after it starts, in an on_device_model utility process
		// that then lives as long as the browser: a process the probe has
		// no use for, and one more in every count of Chrome's processes.
		// A performance class given on the command line skips the
		// evaluation; 8 is "GPU blocked", which is what --disable-gpu makes
		// it (TestNoOnDeviceModelService).
		chromedp.Flag("optimization-guide-performance-class", "8"),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			if cmd.SysProcAttr == nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{}
			}
			// Its own process group, so Close and crash recovery can kill
			// the zygote, renderers and utilities together; and killed if
			// we die.
			cmd.SysProcAttr.Setpgid = true
			cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
			// When the allocator's context ends the whole group goes, not
			// only the main process: a Chrome that hangs at start has no
			// known pid yet, and its zygote must not outlive the attempt.
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			filter.attach(cmd)
		}),
	)
	if os.Getuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	if b.opts.Headful {
		opts = append(opts, chromedp.VisibleWindow)
	}
	if b.opts.HostResolverRules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", b.opts.HostResolverRules))
	}
	// Feature lists given in ExtraFlags are added to ours, not put in
	// their place: Chrome reads one --disable-features and one
	// --enable-features.
	features := map[string][]string{"disable-features": {disabledFeatures}, "enable-features": {enabledFeatures}}
	for _, f := range b.opts.ExtraFlags {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch list, isList := features[name]; {
		case isList && hasValue:
			features[name] = append(list, value)
		case hasValue:
			opts = append(opts, chromedp.Flag(name, value))
		default:
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	for name, list := range features {
		opts = append(opts, chromedp.Flag(name, strings.Join(list, ",")))
	}
	return opts
}

// disabledFeatures are the Chrome features turned off: chromedp's
// (Translate, BlinkGenPropertyTrees) and the optimization guide's hints and
// model list (a request to Google's optimization guide service three minutes
// after start) and network-time queries (one to clients2.google.com at
// start), which --disable-background-networking leaves on.
const disabledFeatures = "Translate,BlinkGenPropertyTrees,OptimizationHints,NetworkTimeServiceQuerying"

// enabledFeatures are chromedp's defaults, kept when ExtraFlags add to them.
const enabledFeatures = "NetworkService,NetworkServiceInProcess"

// shmTooSmall reports whether the tmpfs at path is too small for Chrome's
// shared memory (or missing).
func shmTooSmall(path string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return true
	}
	return uint64(st.Blocks)*uint64(st.Bsize) < smallShm
}

// DefaultStartTimeout bounds Chrome's start. No caller's context bounds it:
// the allocator's context becomes the browser's lifetime.
const DefaultStartTimeout = 30 * time.Second

func (b *Browser) start() (*instance, error) {
	if _, err := exec.LookPath(b.opts.Path); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	filter, err := newEventFilter()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), b.flags(filter)...)
	bctx, bcancel := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(func(f string, a ...any) { b.log.Debug(fmt.Sprintf(f, a...)) }),
		chromedp.WithErrorf(func(f string, a ...any) { b.log.Debug("chromedp: " + fmt.Sprintf(f, a...)) }),
	)
	in := &instance{allocCancel: allocCancel, ctx: bctx, cancel: bcancel, reaped: make(chan struct{}), filter: filter}

	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err = <-started:
		if err == nil {
			err = filter.failed()
		}
	case <-b.quit:
		err = ErrClosed
	case <-time.After(b.opts.StartTimeout):
		err = fmt.Errorf("no answer within %s", b.opts.StartTimeout)
	}
	filter.started()
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		in.pid = c.Browser.Process().Pid
	}
	go in.reap()
	if err != nil {
		in.stop()
		return nil, fmt.Errorf("%w %s: %w", ErrStart, b.opts.Path, err)
	}
	v, verr := chromedp.CallBrowser(bctx, browser.GetVersion, struct{}{})
	if verr == nil {
		in.version = v.UserAgent
	}
	b.log.Info("chromium started", "pid", in.pid, "product", v.Product)
	return in, nil
}

// reap waits for the browser context to end (Close, crash or lost pipe) and
// then kills whatever is left of the process group.
func (in *instance) reap() {
	<-in.ctx.Done()
	in.cancel()
	in.allocCancel() // waits for the main process and removes the profile
	if in.pid > 0 {
		killGroup(in.pid)
	}
	close(in.reaped)
}

// stop ends the instance and waits until its processes are gone.
func (in *instance) stop() {
	in.cancel()
	select {
	case <-in.reaped:
	case <-time.After(10 * time.Second):
	}
}

// killGroup SIGKILLs process group pgid and waits (bounded) until no live
// member is left. Zombies count as gone: their reaping is init's business.
func killGroup(pgid int) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if len(GroupPIDs(pgid)) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops Chromium and every process it started. Runs in flight end
// with a failure. Close is idempotent.
func (b *Browser) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.quit)
	}
	in, starting := b.inst, b.starting
	b.inst = nil
	b.mu.Unlock()
	if starting != nil {
		// The launch sees closed and stops what it started.
		<-starting
	}
	if in == nil {
		return nil
	}
	// Graceful first so Chrome flushes nothing we care about but exits
	// cleanly; the group kill in reap covers the rest.
	cctx, cancel := context.WithTimeout(in.ctx, 3*time.Second)
	_ = chromedp.Cancel(cctx)
	cancel()
	in.stop()
	if in.pid > 0 && len(GroupPIDs(in.pid)) > 0 {
		return fmt.Errorf("chromium process group %d survived Close", in.pid)
	}
	return nil
}

// PID returns the process id (and process group id) of the running Chrome,
// 0 if none runs.
func (b *Browser) PID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst == nil || b.inst.dead() {
		return 0
	}
	return b.inst.pid
}

// RSS is the resident memory of the whole Chrome process group in bytes.
func (b *Browser) RSS() int64 {
	pid := b.PID()
	if pid == 0 {
		return 0
	}
	return GroupRSS(pid)
}

// PSS is the proportional memory of the Chrome process group in bytes
// (shared pages split between processes); the honest per-run figure.
func (b *Browser) PSS() int64 {
	pid := b.PID()
	if pid == 0 {
		return 0
	}
	return GroupPSS(pid)
}

// Starts reports how many times Chrome was started (1 + restarts).
func (b *Browser) Starts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts
}

// InUse is how many runs hold a browser context now (at most
// MaxConcurrent).
func (b *Browser) InUse() int { return len(b.sem) }

// Contexts asks Chrome how many browser contexts it has open: the runs'
// incognito contexts, as Chrome sees them (0 when it does not run). Unlike
// InUse it counts what exists in the browser, not the slots taken, so
// tests and diagnostics can check the one against the other.
func (b *Browser) Contexts(ctx context.Context) (int, error) {
	b.mu.Lock()
	in := b.inst
	b.mu.Unlock()
	if in == nil || in.dead() {
		return 0, nil
	}
	c := chromedp.FromContext(in.ctx)
	if c == nil || c.Browser == nil {
		return 0, nil
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(in.ctx, cancel)()
	ids, err := cdp.Call(cctx, c.Browser, target.GetBrowserContexts, cdp.Empty{})
	if err != nil {
		return 0, fmt.Errorf("list browser contexts: %w", err)
	}
	return len(ids.BrowserContextIDs), nil
}

// acquire takes a concurrency slot.
func (b *Browser) acquire(ctx context.Context) (release func(), err error) {
	select {
	case b.sem <- struct{}{}:
		return func() { <-b.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
