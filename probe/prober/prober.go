// Package prober turns a due check into a result. It owns the checks as
// they are prepared for running — each HTTP check's Checker built once per
// config load (certificates read, resolver and proxy set up; a Checker is
// read-only while it runs) and each journey loaded with its params applied
// — swaps them as one set on reload, and dispatches every attempt by check
// type to probe/httpcheck or probe/browser.
//
// A Prober is the daemon's schedule.Executor. A fault of ours (a journey
// file that no longer loads, no browser) becomes a probe_error or
// browser_crash Result, never a Go error, so it is stored and counted like
// any run and kept out of the shop's uptime.
//
// Adding a check type means a case in Prepare and Execute here, its
// decoding in probe/config and its probe package; nothing in cmd/.
package prober

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/httpcheck"
	"github.com/storeprobe/storeprobe/scenarios"
)

// Browser is what browser and journey checks need: *browser.Browser, which
// starts Chromium on the first run that needs it.
type Browser interface {
	BrowseWith(ctx context.Context, c probe.Check, o browser.BrowseOptions) probe.Result
	RunJourney(ctx context.Context, c probe.Check, j probe.Journey, artifactsDir string) probe.Result
}

// Options configure a Prober.
type Options struct {
	Version string       // in the User-Agent of HTTP checks
	Logger  *slog.Logger // nil discards
	// ArtifactsDir receives browser runs' screenshots and request logs.
	ArtifactsDir string
	// Browser runs browser and journey checks; nil fails them as
	// browser_crash (a probe fault), for a probe without Chromium.
	Browser Browser
}

// Prober runs one attempt of any type of check. It is safe for concurrent
// use; Install swaps its checks while attempts run.
type Prober struct {
	o   Options
	log *slog.Logger

	mu  sync.Mutex
	cur *Prepared
}

// Prepared is a config's checks made ready to run, by check name.
type Prepared struct {
	http     map[string]*httpcheck.Checker
	journeys map[string]probe.Journey
}

// New returns a Prober with no checks prepared; Execute still runs any check
// it is given, preparing it on the spot.
func New(o Options) *Prober {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Prober{o: o, log: log, cur: &Prepared{}}
}

// Prepare builds every check's checker or journey, so a config (or a
// reload) with a broken one is refused before it replaces the running set.
func (p *Prober) Prepare(checks []probe.Check) (*Prepared, error) {
	out := &Prepared{http: map[string]*httpcheck.Checker{}, journeys: map[string]probe.Journey{}}
	for _, c := range checks {
		switch c.Type {
		case probe.TypeHTTP:
			k, err := p.checker(c)
			if err != nil {
				return nil, fmt.Errorf("check %s: %w", c.Name, err)
			}
			out.http[c.Name] = k
		case probe.TypeJourney:
			j, err := LoadJourney(c.Journey)
			if err != nil {
				return nil, fmt.Errorf("check %s: %w", c.Name, err)
			}
			out.journeys[c.Name] = j
		}
	}
	return out, nil
}

// Install makes prepared the current set and returns the previous one, so a
// reload the scheduler refuses can put it back.
func (p *Prober) Install(prepared *Prepared) *Prepared {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.cur
	p.cur = prepared
	return old
}

func (p *Prober) checker(c probe.Check) (*httpcheck.Checker, error) {
	return httpcheck.New(c, httpcheck.WithVersion(p.o.Version), httpcheck.WithLogger(p.log))
}

// LoadJourney reads the journey a check names (a file or a built-in
// template) and applies the check's params: exactly what a journey check
// runs, so validation can call it too.
func LoadJourney(spec probe.JourneySpec) (probe.Journey, error) {
	var j probe.Journey
	var err error
	if spec.Template != "" {
		j, err = scenarios.Template(spec.Template)
	} else {
		j, err = scenarios.LoadFile(spec.File)
	}
	if err != nil {
		return probe.Journey{}, err
	}
	return scenarios.Apply(j, spec.Params)
}

// Execute runs attempt number attempt of c; it implements schedule.Executor.
func (p *Prober) Execute(ctx context.Context, c probe.Check, attempt int) probe.Result {
	p.mu.Lock()
	cur := p.cur
	p.mu.Unlock()
	var res probe.Result
	switch c.Type {
	case probe.TypeHTTP:
		k, ok := cur.http[c.Name]
		if !ok {
			var err error
			if k, err = p.checker(c); err != nil {
				return faultResult(c, probe.FailureProbeError, fmt.Errorf("prepare http check: %w", err))
			}
		}
		res = k.Run(ctx)
	case probe.TypeBrowser:
		if p.o.Browser == nil {
			return faultResult(c, probe.FailureBrowserCrash, errNoBrowser)
		}
		res = p.o.Browser.BrowseWith(ctx, c, browser.BrowseOptions{ArtifactsDir: p.o.ArtifactsDir})
	case probe.TypeJourney:
		if p.o.Browser == nil {
			return faultResult(c, probe.FailureBrowserCrash, errNoBrowser)
		}
		j, ok := cur.journeys[c.Name]
		if !ok {
			var err error
			if j, err = LoadJourney(c.Journey); err != nil {
				return faultResult(c, probe.FailureProbeError, fmt.Errorf("load journey: %w", err))
			}
		}
		res = p.o.Browser.RunJourney(ctx, c, j, p.o.ArtifactsDir)
	default:
		return faultResult(c, probe.FailureProbeError, fmt.Errorf("unknown check type %q", c.Type))
	}
	res.Attempt = attempt
	return res
}

var errNoBrowser = fmt.Errorf("no browser configured for this probe")

// faultResult is a Result for a fault of ours, redacted like any result.
func faultResult(c probe.Check, kind probe.FailureKind, err error) probe.Result {
	red := probe.CheckRedactor(c)
	return probe.Result{
		Check:     c.Name,
		Type:      c.Type,
		URL:       red.URL(c.URL),
		StartedAt: time.Now().UTC(),
		Failure:   &probe.Failure{Kind: kind, Message: red.String(err.Error())},
	}
}
