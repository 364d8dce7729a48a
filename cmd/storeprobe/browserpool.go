package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/config"
)

// browserPool launches the daemon's one shared Chromium on first use, so a
// probe with only HTTP checks never starts it, and a launch failure is
// retried on the next browser run instead of killing the daemon.
type browserPool struct {
	opts browser.Options
	log  *slog.Logger

	mu      sync.Mutex
	b       *browser.Browser
	closed  bool
	lastErr error
}

// newBrowserPool prepares the shared browser. extraFlags are Chrome flags
// separated by spaces (STOREPROBE_CHROME_FLAGS): the container image sets
// --no-sandbox there, since Docker's default seccomp profile denies the
// namespaces Chrome's sandbox needs and the container is the sandbox.
func newBrowserPool(path string, cfg config.Browser, extraFlags, version string, log *slog.Logger) *browserPool {
	return &browserPool{
		opts: browser.Options{Path: path, Devices: devices(cfg.Devices), Logger: log, ExtraFlags: strings.Fields(extraFlags),
			Version: version, MaxPageMemory: cfg.MaxPageMemory},
		log: log,
	}
}

// withConcurrency sets how many pages run at once in the browser.
func (p *browserPool) withConcurrency(n int) *browserPool {
	p.opts.MaxConcurrent = n
	return p
}

func (p *browserPool) get() (pageBrowser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("browser: shutting down")
	}
	if p.b != nil {
		return p.b, nil
	}
	// The browser outlives any one run: it gets a background context; Close
	// ends it.
	b, err := browser.Launch(context.Background(), p.opts)
	if err != nil {
		if p.lastErr == nil || p.lastErr.Error() != err.Error() {
			p.log.Error("cannot start Chromium; browser checks fail as browser_crash until it can", "err", err)
		}
		p.lastErr = err
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	p.lastErr = nil
	p.b = b
	return b, nil
}

// rss is the browser's resident memory in bytes, 0 if not running.
func (p *browserPool) rss() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.b == nil {
		return 0
	}
	return p.b.RSS()
}

func (p *browserPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.b != nil {
		if err := p.b.Close(); err != nil {
			p.log.Warn("closing chromium", "err", err)
		}
		p.b = nil
	}
}

// devices turns config overrides into browser device profiles, starting
// from the built-in profile of the same name (desktop for new names).
func devices(overrides map[string]config.DeviceOverride) map[string]browser.Device {
	if len(overrides) == 0 {
		return nil
	}
	out := map[string]browser.Device{}
	for name, o := range overrides {
		d := browser.Desktop()
		if name == probe.DeviceMobile {
			d = browser.Mobile()
		}
		d.Name = name
		if o.Width != nil {
			d.Width = int64(*o.Width)
		}
		if o.Height != nil {
			d.Height = int64(*o.Height)
		}
		if o.DeviceScaleFactor != nil {
			d.DPR = *o.DeviceScaleFactor
		}
		if o.Mobile != nil {
			d.Mobile = *o.Mobile
		}
		if o.UserAgent != nil {
			d.UserAgent = *o.UserAgent
		}
		if o.Latency != nil {
			d.Latency = *o.Latency
		}
		if o.DownloadKbps != nil {
			d.DownloadKbps = *o.DownloadKbps
		}
		if o.UploadKbps != nil {
			d.UploadKbps = *o.UploadKbps
		}
		if o.CPUSlowdown != nil {
			d.CPUSlowdown = *o.CPUSlowdown
		}
		out[name] = d
	}
	return out
}
