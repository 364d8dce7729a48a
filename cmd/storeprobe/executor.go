package main

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

// pageBrowser is what the executor needs of a browser: the probe/browser
// package's *Browser satisfies it.
type pageBrowser interface {
	BrowseWith(ctx context.Context, c probe.Check, o browser.BrowseOptions) probe.Result
	RunJourney(ctx context.Context, c probe.Check, j probe.Journey, artifactsDir string) probe.Result
}

// executor runs one attempt of any type of check. It is what the scheduler
// calls; a fault of ours (a journey that no longer loads, no browser) is a
// probe_error Result, never a Go error, so it is stored and counted.
type executor struct {
	version   string
	log       *slog.Logger
	artifacts string
	// browser returns the shared browser, launching it on first use so a
	// config with only HTTP checks never starts Chromium.
	browser func() (pageBrowser, error)

	mu  sync.Mutex
	cur prepared
}

// prepared is what a config's checks need before they run, built once per
// load rather than per attempt: HTTP checkers (certificates, resolver,
// proxy; a Checker is read-only while it runs) and journeys with their
// params applied, by check name.
type prepared struct {
	http     map[string]*httpcheck.Checker
	journeys map[string]probe.Journey
}

// prepare builds every check's checker or journey, so a reload with a
// broken one is refused before it replaces the running set.
func (e *executor) prepare(checks []probe.Check) (prepared, error) {
	p := prepared{http: map[string]*httpcheck.Checker{}, journeys: map[string]probe.Journey{}}
	for _, c := range checks {
		switch c.Type {
		case probe.TypeHTTP:
			k, err := e.newChecker(c)
			if err != nil {
				return prepared{}, fmt.Errorf("check %s: %w", c.Name, err)
			}
			p.http[c.Name] = k
		case probe.TypeJourney:
			j, err := loadJourney(c.Journey)
			if err != nil {
				return prepared{}, fmt.Errorf("check %s: %w", c.Name, err)
			}
			p.journeys[c.Name] = j
		}
	}
	return p, nil
}

// install makes a prepared set current and returns the previous one.
func (e *executor) install(p prepared) prepared {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur
	e.cur = p
	return old
}

func (e *executor) newChecker(c probe.Check) (*httpcheck.Checker, error) {
	return httpcheck.New(c, httpcheck.WithVersion(e.version), httpcheck.WithLogger(e.log))
}

func loadJourney(spec probe.JourneySpec) (probe.Journey, error) {
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

// Execute implements schedule.Executor.
func (e *executor) Execute(ctx context.Context, c probe.Check, attempt int) probe.Result {
	var res probe.Result
	switch c.Type {
	case probe.TypeHTTP:
		e.mu.Lock()
		k, ok := e.cur.http[c.Name]
		e.mu.Unlock()
		if !ok {
			var err error
			if k, err = e.newChecker(c); err != nil {
				return faultResult(c, fmt.Errorf("prepare http check: %w", err))
			}
		}
		res = k.Run(ctx)
	case probe.TypeBrowser, probe.TypeJourney:
		b, err := e.browser()
		if err != nil {
			r := faultResult(c, err)
			r.Failure.Kind = probe.FailureBrowserCrash
			return r
		}
		if c.Type == probe.TypeBrowser {
			res = b.BrowseWith(ctx, c, browser.BrowseOptions{ArtifactsDir: e.artifacts})
			break
		}
		e.mu.Lock()
		j, ok := e.cur.journeys[c.Name]
		e.mu.Unlock()
		if !ok {
			if j, err = loadJourney(c.Journey); err != nil {
				return faultResult(c, fmt.Errorf("load journey: %w", err))
			}
		}
		res = b.RunJourney(ctx, c, j, e.artifacts)
	default:
		return faultResult(c, fmt.Errorf("unknown check type %q", c.Type))
	}
	res.Attempt = attempt
	return res
}

// faultResult is a probe_error Result for a fault of ours.
func faultResult(c probe.Check, err error) probe.Result {
	red := probe.CheckRedactor(c)
	return probe.Result{
		Check:     c.Name,
		Type:      c.Type,
		URL:       red.URL(c.URL),
		StartedAt: time.Now().UTC(),
		Failure:   &probe.Failure{Kind: probe.FailureProbeError, Message: red.String(err.Error())},
	}
}
