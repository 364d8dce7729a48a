package alert

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// evaluate applies every rule to one check. While a dependency is down the
// check's alerts keep their state (its failures are the dependency's), and
// afterwards only runs after the dependency recovered can fire one: a CDN
// outage pages once, and its end does not page every check behind it.
func (e *Engine) evaluate(cs *checkState, now time.Time) {
	if e.depDown(cs) {
		cs.heldAt = now
		return
	}
	e.down(cs)
	e.unhealthy(cs)
	e.burn(cs, now)
	e.cert(cs)
	e.breaches(cs)
	e.flapping(cs, now)
}

// down: the check is down where down_after consecutive runs failed, in at
// least quorum locations; it is up again when fewer locations are down
// (each recovers after up_after passing runs). Probe faults neither fail
// nor pass a run.
func (e *Engine) down(cs *checkState) {
	var downs, fresh []*series
	for _, s := range cs.series {
		if !s.down {
			continue
		}
		downs = append(downs, s)
		n := 0
		for _, t := range s.fails {
			if t.After(cs.heldAt) {
				n++
			}
		}
		if n >= e.pol.DownAfter {
			fresh = append(fresh, s)
		}
	}
	k := key(RuleDown, cs.c.Name, "")
	prev := e.alerts[k]
	wasActive := prev != nil && prev.Active
	active := len(fresh) >= e.pol.Quorum || wasActive && len(downs) >= e.pol.Quorum
	slices.SortFunc(downs, func(a, b *series) int { return strings.Compare(a.location, b.location) })
	var since time.Time
	var last *series
	for _, s := range downs {
		if since.IsZero() || s.fails[0].Before(since) {
			since = s.fails[0]
		}
		if last == nil || s.fails[len(s.fails)-1].After(last.fails[len(last.fails)-1]) {
			last = s
		}
	}
	probeName := ""
	if len(downs) == 1 {
		probeName = downs[0].probe
	}
	a := e.set(State{Key: k, Rule: RuleDown, Check: cs.c.Name, Location: joinLocations(downs), Probe: probeName, Severity: Critical},
		active, since, func(a *State) {
			failed := 0
			for _, s := range downs {
				failed += len(s.fails)
			}
			a.FailureKind, a.Message, a.Screenshot = failureOf(last.last)
			a.Summary = fmt.Sprintf("%s is down at %s: %s (%d failed %s since %s)", cs.c.Name, a.Location,
				describeFailure(a.FailureKind, a.Message), failed, plural(failed, "run", "runs"), clock(a.Since))
		})
	if a != nil && a.Active != wasActive {
		cs.changes = append(cs.changes, e.now())
	}
}

// unhealthy: the probe itself cannot run the check (probe_error,
// browser_crash) down_after times in a row at a location. It never counts
// as the shop being down.
func (e *Engine) unhealthy(cs *checkState) {
	for _, s := range cs.series {
		k := key(RuleProbeUnhealthy, cs.c.Name, s.location)
		e.set(State{Key: k, Rule: RuleProbeUnhealthy, Check: cs.c.Name, Location: s.location, Probe: s.probe, Severity: Warning},
			s.unhealthy, s.lastFault.StartedAt, func(a *State) {
				a.FailureKind, a.Message, a.Screenshot = failureOf(s.lastFault)
				a.Summary = fmt.Sprintf("probe %s at %s cannot run %s: %s (%d runs in a row; not counted as downtime)",
					s.probe, s.location, cs.c.Name, describeFailure(a.FailureKind, a.Message), s.faults)
			})
	}
}

// window counts the eligible runs after from (and after the check's last
// hold) and how many failed outside a down streak.
func (cs *checkState) window(from time.Time) (runs, failed int) {
	after := max(from.UnixNano(), cs.heldAt.UnixNano())
	for _, m := range cs.marks {
		if m.at > after {
			runs++
			if m.failed && !m.covered {
				failed++
			}
		}
	}
	return runs, failed
}

// burn: the multiwindow burn-rate alerts on the uptime target. Burn rate is
// the failed share of eligible runs over the share the target allows. A
// rule needs min_runs eligible runs and min_failures failed ones in its
// long window, so a single failure of a check probed once a minute does
// not page. Failures of a down streak are the down alert's to report: the
// burn rules catch what it cannot, failures that never come down_after in
// a row, and do not page again for an outage already paged.
func (e *Engine) burn(cs *checkState, now time.Time) {
	target := cs.c.SLO.Uptime
	if target <= 0 || target >= 100 {
		return
	}
	allowed := (100 - target) / 100
	rate := func(runs, failed int) float64 {
		if runs == 0 {
			return 0
		}
		return float64(failed) / float64(runs) / allowed
	}
	for _, r := range burnRules {
		k := key(r.rule, cs.c.Name, "")
		lr, lf := cs.window(now.Add(-r.long))
		sr, sf := cs.window(now.Add(-r.short))
		if lr < e.pol.BurnRate.MinRuns {
			continue // too few runs to judge: the state stands
		}
		long, short := rate(lr, lf), rate(sr, sf)
		active := lf >= e.pol.BurnRate.MinFailures && long >= r.factor && short >= r.factor
		e.set(State{Key: k, Rule: r.rule, Check: cs.c.Name, Location: cs.locations(), Severity: r.severity},
			active, now, func(a *State) {
				a.Summary = fmt.Sprintf("%s burns its %s %% uptime budget %s× over %s and %s× over %s: %d of %d runs failed in the last %s",
					cs.c.Name, trim(target), trim(long), duration(r.long), trim(short), duration(r.short), lf, lr, duration(r.long))
			})
	}
}

// cert: the newest certificate an HTTPS check saw expires within
// cert_warning_days.
func (e *Engine) cert(cs *checkState) {
	if cs.cert == nil {
		return
	}
	c := *cs.cert
	days := c.CertDaysLeft
	k := key(RuleCertExpiry, cs.c.Name, "")
	e.set(State{Key: k, Rule: RuleCertExpiry, Check: cs.c.Name, Location: cs.certSeen, Severity: Warning},
		days < float64(e.pol.CertWarningDays), e.now(), func(a *State) {
			// Runs read back from InfluxDB know the days left, not the subject.
			subject := ""
			if c.CertSubject != "" {
				subject = " (" + c.CertSubject + ")"
			}
			a.Summary = fmt.Sprintf("the certificate of %s%s expires in %.1f days, on %s (warning at %d days)",
				cs.c.Name, subject, days, c.CertNotAfter.UTC().Format("2006-01-02"), e.pol.CertWarningDays)
		})
}

// breaches: a load_time or cwv_good target missed over the whole breach
// window, judged as the report judges it (probe/slo's load and nearest-rank
// p75; per page for journeys; % of a page's samples rated good per Core Web
// Vital) on the runs of that window, once a figure rests on min_samples
// samples. Too few samples leave the alert as it stands.
func (e *Engine) breaches(cs *checkState) {
	held := cs.heldAt.UnixNano()
	min := e.pol.Breach.MinSamples
	window := duration(e.pol.Breach.Window)
	if t := cs.c.SLO.LoadTime; t > 0 {
		want := probe.Millis(t)
		var failed []string
		judged := false
		judge := func(what string, loads []float64) {
			if len(loads) < min {
				return
			}
			judged = true
			if p75, _ := slo.Percentile(loads, 75); p75 > want+1e-9 {
				failed = append(failed, fmt.Sprintf("%s %s ms (%d samples)", what, trim(p75), len(loads)))
			}
		}
		if cs.c.Type == probe.TypeJourney {
			// A journey's whole duration is no page load: each page is judged.
			byPage := map[uint16][]float64{}
			var order []uint16
			for _, s := range cs.samples {
				for _, p := range s.pages {
					if s.at <= held || p.load <= 0 {
						continue
					}
					if _, seen := byPage[p.page]; !seen {
						order = append(order, p.page)
					}
					byPage[p.page] = append(byPage[p.page], float64(p.load))
				}
			}
			for _, page := range order {
				judge(strings.TrimPrefix(cs.names[page], "page:")+" p75 load", byPage[page])
			}
		} else {
			var loads []float64
			for _, s := range cs.samples {
				if s.at > held && s.hasLoad {
					loads = append(loads, float64(s.load))
				}
			}
			judge("p75 load", loads)
		}
		if judged {
			e.set(State{Key: key(RuleLoadTime, cs.c.Name, ""), Rule: RuleLoadTime, Check: cs.c.Name, Location: cs.locations(), Severity: Warning},
				len(failed) > 0, e.now(), func(a *State) {
					a.Summary = fmt.Sprintf("%s is slow over the last %s: %s, target %s ms", cs.c.Name,
						window, strings.Join(failed, "; "), trim(want))
				})
		}
	}
	if t := cs.c.SLO.CWVGood; t > 0 {
		type tally struct{ good, samples int }
		counts := map[[2]uint16]*tally{} // page, vital index
		var order [][2]uint16
		for _, s := range cs.samples {
			if s.at <= held {
				continue
			}
			for _, p := range s.pages {
				for i, r := range p.cwv {
					if r < 0 {
						continue // INP without an interaction: nothing to judge
					}
					k := [2]uint16{p.page, uint16(i)}
					c := counts[k]
					if c == nil {
						c = &tally{}
						counts[k] = c
						order = append(order, k)
					}
					c.samples++
					c.good += int(r)
				}
			}
		}
		var failed []string
		judged := false
		for _, k := range order {
			c := counts[k]
			if c.samples < min {
				continue
			}
			judged = true
			if pct := 100 * float64(c.good) / float64(c.samples); pct < t-1e-9 {
				failed = append(failed, fmt.Sprintf("%s %s good on %s %%", strings.TrimPrefix(cs.names[k[0]], "page:"),
					strings.ToUpper(string(slo.CoreVitals[k[1]])), trim(pct)))
			}
		}
		if judged {
			e.set(State{Key: key(RuleCWVGood, cs.c.Name, ""), Rule: RuleCWVGood, Check: cs.c.Name, Location: cs.locations(), Severity: Warning},
				len(failed) > 0, e.now(), func(a *State) {
					a.Summary = fmt.Sprintf("%s misses its Core Web Vitals target over the last %s: %s (target %s %% good)",
						cs.c.Name, window, strings.Join(failed, "; "), trim(t))
				})
		}
	}
}

// flapping: the down alert turned on or off flapping.changes times within
// flapping.window. While it flaps, one flapping alert stands for it.
func (e *Engine) flapping(cs *checkState, now time.Time) {
	n := 0
	for _, t := range cs.changes {
		if now.Sub(t) <= e.pol.Flapping.Window {
			n++
		}
	}
	k := key(RuleFlapping, cs.c.Name, "")
	since := now
	if len(cs.changes) > 0 {
		since = cs.changes[0]
	}
	e.set(State{Key: k, Rule: RuleFlapping, Check: cs.c.Name, Location: cs.locations(), Severity: Warning},
		n >= e.pol.Flapping.Changes, since, func(a *State) {
			a.Summary = fmt.Sprintf("%s is flapping: down and up %d times in the last %s; its down and up notifications wait until it settles",
				cs.c.Name, n, duration(e.pol.Flapping.Window))
		})
}

// locations lists where the check runs.
func (cs *checkState) locations() string {
	ss := make([]*series, 0, len(cs.series))
	for _, s := range cs.series {
		ss = append(ss, s)
	}
	return joinLocations(ss)
}

// failureOf returns a result's failure kind and message and the path of its
// screenshot, if it kept one.
func failureOf(r probe.Result) (kind, message, screenshot string) {
	if r.Failure != nil {
		kind, message = string(r.Failure.Kind), r.Failure.Message
	}
	if r.BrowserDetails != nil {
		for _, a := range r.Artifacts {
			if strings.HasSuffix(a, ".png") {
				screenshot = a
				break
			}
		}
	}
	return kind, message, screenshot
}

func describeFailure(kind, message string) string {
	switch {
	case kind == "":
		return "failed"
	case message == "":
		return kind
	}
	return kind + ": " + probe.Clip(message, 200)
}

func resolvedSummary(a *State) string {
	after := duration(a.Until.Sub(a.Since).Round(time.Second))
	switch a.Rule {
	case RuleDown:
		return fmt.Sprintf("%s is up again at %s after %s", a.Check, a.Location, after)
	case RuleProbeUnhealthy:
		return fmt.Sprintf("probe %s at %s runs %s again", a.Probe, a.Location, a.Check)
	case RuleProbeSilent:
		return fmt.Sprintf("probe %s at %s sends results again", a.Probe, a.Location)
	}
	return fmt.Sprintf("%s: %s ended after %s", a.Check, strings.ReplaceAll(a.Rule, "_", " "), after)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// trim formats a number with at most two decimals.
func trim(f float64) string {
	if math.Abs(f-math.Round(f)) < 0.005 {
		return fmt.Sprintf("%.0f", f)
	}
	s := fmt.Sprintf("%.2f", f)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

// duration formats 1h0m0s as 1h, 30m0s as 30m.
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
