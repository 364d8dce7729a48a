package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// reportJSON is `storeprobe report --output json`; its keys are documented in
// the README's "storeprobe report" section and are a public contract.
type reportJSON struct {
	Store    string        `json:"store"`
	Window   reportWindow  `json:"window"`
	Checks   []reportCheck `json:"checks"`
	Outbox   reportOutbox  `json:"outbox"`
	Breached bool          `json:"breached"`
}

type reportWindow struct {
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Duration string    `json:"duration"`
}

type reportTargets struct {
	Uptime     float64 `json:"uptime"`       // percent; 0 = none
	LoadTimeMS float64 `json:"load_time_ms"` // p75 limit; 0 = none
	Success    float64 `json:"success"`      // percent; 0 = none
	CWVGood    float64 `json:"cwv_good"`     // percent; 0 = none
}

type reportCheck struct {
	Check        string                    `json:"check"`
	Type         probe.CheckType           `json:"type"`
	URL          string                    `json:"url"`
	Targets      reportTargets             `json:"targets"`
	Skipped      int                       `json:"skipped"`
	Availability slo.Availability          `json:"availability"`
	Failures     map[probe.FailureKind]int `json:"failures"`
	Load         slo.Distribution          `json:"load_ms"`
	Pages        []slo.PageStats           `json:"pages"`
	Budget       *slo.Budget               `json:"error_budget"`
	Verdicts     []slo.Verdict             `json:"verdicts"`
	Warnings     []reportWarning           `json:"warnings"`
}

// reportWarning is something wrong with a check's figures themselves, not a
// breached target: most of its runs measured nothing.
type reportWarning struct {
	Kind    string `json:"kind"` // probe_errors
	Message string `json:"message"`
}

// warnProbeErrors is the kind of warning for a check whose runs are mostly
// probe faults (a check the probe cannot run: a bad resolver, a missing
// browser). Its uptime rests on few runs or none, and without a warning its
// "no data" verdicts would pass CI for ever.
const warnProbeErrors = "probe_errors"

type reportOutbox struct {
	Depth          int64            `json:"depth"`
	Oldest         *time.Time       `json:"oldest"`
	RejectedPoints int64            `json:"rejected_points"`
	Dropped        int64            `json:"dropped"`
	RecentRejected []reportRejected `json:"recent_rejected"`
}

// reportRejected is one point InfluxDB refused, newest first.
type reportRejected struct {
	Check      string    `json:"check"`
	Reason     string    `json:"reason"`
	Line       string    `json:"line"`
	RejectedAt time.Time `json:"rejected_at"`
}

// reportRecentRejected bounds how many refused points the report lists.
const reportRecentRejected = 5

func runReport(ctx context.Context, a *app, args []string) error {
	flags := newFlagSet(a, "report", "[--store PATH] [--since DUR] [--check NAME] [--output text|json] [--fail-on-probe-errors]")
	var (
		storePath   = flags.String("store", "./storeprobe.db", "SQLite store to read")
		sinceStr    = flags.String("since", "24h", "window to report on, back from now: 90m, 24h, 7d, 30d")
		checkName   = flags.String("check", "", "report only this check")
		output      = flags.String("output", "text", "output format: text or json")
		failOnProbe = flags.Bool("fail-on-probe-errors", false, "exit 1 when more than half of a check's runs are probe errors")
	)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	if *output != "text" && *output != "json" {
		return usagef("--output %q: want text or json", *output)
	}
	window, err := probe.ParseDuration(*sinceStr)
	if err != nil {
		return usagef("--since: %v", err)
	}
	if window <= 0 {
		return usagef("--since must be positive")
	}

	store, err := sqlite.Open(ctx, *storePath, sqlite.MustExist())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usagef("store %s does not exist: pass --store, or create one with `storeprobe run` or `storeprobe demo`", *storePath)
		}
		return err
	}
	defer store.Close()

	until := time.Now().UTC()
	rep, err := buildReport(ctx, store, *storePath, until.Add(-window), until, *checkName)
	if err != nil {
		return err
	}
	rep.Window.Duration = *sinceStr
	if *output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(roundReport(rep)); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else if err := writeReportText(a.stdout, rep, *failOnProbe); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if rep.Breached || *failOnProbe && rep.probeErrorChecks() > 0 {
		return errCheckFailed
	}
	return nil
}

// probeErrorChecks counts the checks warned of for probe errors.
func (r reportJSON) probeErrorChecks() int {
	n := 0
	for _, c := range r.Checks {
		for _, w := range c.Warnings {
			if w.Kind == warnProbeErrors {
				n++
				break
			}
		}
	}
	return n
}

// probeErrorWarning warns when more than half of a check's runs were probe
// faults, quoting the newest one's message, which usually names the cause.
func probeErrorWarning(a slo.Availability, runs []probe.Run) []reportWarning {
	if a.ProbeFaults == 0 || 2*a.ProbeFaults <= a.Runs {
		return []reportWarning{}
	}
	kinds := map[probe.FailureKind]int{}
	var last probe.Run
	for _, r := range runs {
		if len(r.Attempts) > 0 && !r.ProbeFault() {
			continue
		}
		k := probe.FailureProbeError
		if f := r.Final().Failure; f != nil && len(r.Attempts) > 0 {
			k = f.Kind
		}
		kinds[k]++
		if !r.ScheduledAt.Before(last.ScheduledAt) {
			last = r
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, string(k))
	}
	sort.Strings(names)
	for i, k := range names {
		names[i] = fmt.Sprintf("%s %d", k, kinds[probe.FailureKind(k)])
	}
	var msg string
	if a.Eligible == 0 {
		msg = fmt.Sprintf("all %d %s were probe faults (%s): nothing was measured", a.Runs, countNoun(a.Runs, "run", "runs"), strings.Join(names, ", "))
	} else {
		msg = fmt.Sprintf("%d of %d runs were probe faults (%s): the figures rest on %d %s", a.ProbeFaults, a.Runs,
			strings.Join(names, ", "), a.Eligible, countNoun(a.Eligible, "run", "runs"))
	}
	if f := last.Final().Failure; f != nil && f.Message != "" {
		m := f.Message
		if utf8.RuneCountInString(m) > 200 {
			m = string([]rune(m)[:197]) + "..."
		}
		msg += "; latest: " + m
	}
	return []reportWarning{{Kind: warnProbeErrors, Message: msg}}
}

// buildReport reads the window from the store and judges each check. Runs
// are read one check at a time: a month of a large fleet does not fit in
// memory at once, one check's month does.
func buildReport(ctx context.Context, store *sqlite.Store, path string, since, until time.Time, only string) (reportJSON, error) {
	q := probe.RunQuery{Since: since, Until: until, Check: only}
	withRuns, err := store.RunCheckNames(ctx, q)
	if err != nil {
		return reportJSON{}, err
	}
	skips, err := store.Skips(ctx, q)
	if err != nil {
		return reportJSON{}, err
	}
	defs, err := store.Checks(ctx)
	if err != nil {
		return reportJSON{}, err
	}
	stats, err := store.OutboxStats(ctx)
	if err != nil {
		return reportJSON{}, err
	}
	rejected, err := store.Rejected(ctx, reportRecentRejected)
	if err != nil {
		return reportJSON{}, err
	}

	skipped := map[string]int{}
	for _, s := range skips {
		skipped[s.Check]++
	}
	known := map[string]probe.Check{}
	names := map[string]bool{}
	for _, d := range defs {
		known[d.Name] = d
		if only == "" || d.Name == only {
			names[d.Name] = true
		}
	}
	for _, n := range withRuns {
		names[n] = true
	}
	for n := range skipped {
		names[n] = true
	}
	if only != "" && !names[only] {
		all := make([]string, 0, len(known))
		for n := range known {
			all = append(all, n)
		}
		sort.Strings(all)
		return reportJSON{}, usagef("no check named %q in %s (checks: %s)", only, path, strings.Join(all, ", "))
	}

	rep := reportJSON{
		Store:  path,
		Window: reportWindow{Since: since, Until: until},
		Checks: []reportCheck{},
		Outbox: reportOutbox{Depth: stats.Depth, RejectedPoints: stats.Rejected, Dropped: stats.Dropped,
			RecentRejected: []reportRejected{}},
	}
	for _, r := range rejected {
		rep.Outbox.RecentRejected = append(rep.Outbox.RecentRejected,
			reportRejected{Check: r.Check, Reason: r.Reason, Line: r.Line, RejectedAt: r.RejectedAt})
	}
	if !stats.Oldest.IsZero() {
		o := stats.Oldest
		rep.Outbox.Oldest = &o
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		def := known[name]
		q.Check = name
		runs, err := store.Runs(ctx, q)
		if err != nil {
			return reportJSON{}, err
		}
		typ := def.Type
		if len(runs) > 0 {
			typ = runs[len(runs)-1].Type // what the check is now, if its config changed
		}
		s := slo.Evaluate(name, typ, runs, def.SLO)
		rc := reportCheck{
			Check: s.Check, Type: s.Type, URL: def.URL,
			Targets: reportTargets{Uptime: def.SLO.Uptime, LoadTimeMS: probe.Millis(def.SLO.LoadTime),
				Success: def.SLO.Success, CWVGood: def.SLO.CWVGood},
			Skipped:      skipped[name],
			Availability: s.Availability, Failures: s.Failures, Load: s.Load,
			Pages: s.Pages, Budget: s.Budget, Verdicts: s.Verdicts,
			Warnings: probeErrorWarning(s.Availability, runs),
		}
		if rc.Pages == nil {
			rc.Pages = []slo.PageStats{}
		}
		if rc.Verdicts == nil {
			rc.Verdicts = []slo.Verdict{}
		}
		rep.Checks = append(rep.Checks, rc)
		rep.Breached = rep.Breached || s.Breached()
	}
	return rep, nil
}

// writeReportText prints the report for a terminal: an overview table, then
// each check's failures, pages and verdicts.
func writeReportText(w io.Writer, rep reportJSON, failOnProbe bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "storeprobe report: %s, last %s (%s → %s UTC)\n\n", rep.Store, rep.Window.Duration,
		rep.Window.Since.Format("2006-01-02 15:04"), rep.Window.Until.Format("2006-01-02 15:04"))
	if len(rep.Checks) == 0 {
		b.WriteString("No checks and no runs in this window.\n")
	} else {
		rows := [][]string{{"CHECK", "TYPE", "RUNS", "FAILED", "PROBE ERR", "SKIPPED", "UPTIME", "LOAD P50", "P75", "P95"}}
		for _, c := range rep.Checks {
			a := c.Availability
			rows = append(rows, []string{c.Check, string(c.Type), strconv.Itoa(a.Runs), strconv.Itoa(a.Eligible - a.Up),
				strconv.Itoa(a.ProbeFaults), strconv.Itoa(c.Skipped), reportPct(a.UptimePercent),
				reportMS(c.Load.P50), reportMS(c.Load.P75), reportMS(c.Load.P95)})
		}
		reportTable(&b, "", 2, rows)
	}
	// Loud, right under the table: these checks' figures mean little.
	for _, c := range rep.Checks {
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "\n⚠ %s: %s", c.Check, w.Message)
		}
	}
	if rep.probeErrorChecks() > 0 {
		b.WriteString("\n")
	}
	breaches := 0
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "\n%s (%s", c.Check, c.Type)
		if c.URL != "" {
			fmt.Fprintf(&b, ", %s", c.URL)
		}
		b.WriteString(")\n")
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "  ⚠ %s\n", w.Message)
		}
		if len(c.Failures) > 0 {
			kinds := make([]string, 0, len(c.Failures))
			for k := range c.Failures {
				kinds = append(kinds, string(k))
			}
			sort.Strings(kinds)
			parts := make([]string, len(kinds))
			for i, k := range kinds {
				parts[i] = fmt.Sprintf("%s %d", k, c.Failures[probe.FailureKind(k)])
			}
			fmt.Fprintf(&b, "  failures: %s\n", strings.Join(parts, ", "))
		}
		if len(c.Pages) > 0 {
			head := []string{"PAGE", "SAMPLES", "LOAD P75"}
			for _, v := range probe.AllVitals {
				u := strings.ToUpper(string(v))
				head = append(head, u+" P75", u+" GOOD")
			}
			rows := [][]string{head}
			for _, p := range c.Pages {
				row := []string{p.Name, strconv.Itoa(p.Samples), reportMS(p.Load.P75)}
				for _, v := range probe.AllVitals {
					vs := p.Vital(v)
					row = append(row, reportVital(v, vs.P75), reportPct(vs.GoodPercent))
				}
				rows = append(rows, row)
			}
			reportTable(&b, "  ", 1, rows)
		}
		if bud := c.Budget; bud != nil && bud.Remaining != nil {
			fmt.Fprintf(&b, "  error budget (%s uptime): %s, burn rate %s×\n", reportPct(&bud.TargetPercent),
				reportBudgetLeft(bud), reportTrim(*bud.BurnRate, 2))
		}
		if len(c.Verdicts) == 0 {
			b.WriteString("  no targets\n")
			continue
		}
		var rows [][]string
		for _, v := range c.Verdicts {
			mark := "✓"
			switch v.Status {
			case slo.Fail:
				mark = "✗"
				breaches++
			case slo.NoData:
				mark = "-"
			}
			what := v.Target
			if v.Page != "" {
				what += " " + v.Page
			}
			if v.Vital != "" {
				what += " " + string(v.Vital)
			}
			op, got, want := "≥", reportPct(v.Got), reportPct(&v.Want)
			if v.Unit == "ms" {
				op, got, want = "≤", reportMS(v.Got), reportMS(&v.Want)
				what += " p75"
			}
			if v.Status == slo.NoData {
				got = "no data"
			}
			rows = append(rows, []string{mark, what, got, op + " " + want})
		}
		reportTable(&b, "  ", 4, rows)
	}
	o := rep.Outbox
	fmt.Fprintf(&b, "\noutbox: %d waiting, %d rejected points, %d dropped\n", o.Depth, o.RejectedPoints, o.Dropped)
	for _, r := range o.RecentRejected {
		line := r.Line
		if utf8.RuneCountInString(line) > 120 {
			line = string([]rune(line)[:117]) + "..."
		}
		fmt.Fprintf(&b, "  rejected %s %s: %s\n    %s\n", r.RejectedAt.Format("2006-01-02 15:04:05"), r.Check, r.Reason, line)
	}
	switch breaches {
	case 0:
		b.WriteString("result: all targets met")
	case 1:
		b.WriteString("result: 1 target breached")
	default:
		fmt.Fprintf(&b, "result: %d targets breached", breaches)
	}
	if n := rep.probeErrorChecks(); n > 0 {
		fmt.Fprintf(&b, "; %d %s mostly probe faults", n, countNoun(n, "check is", "checks are"))
		if failOnProbe {
			b.WriteString(" (failing: --fail-on-probe-errors)")
		} else {
			b.WriteString(" (--fail-on-probe-errors fails on this)")
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// reportTable writes rows as aligned columns two spaces apart, the first
// left columns aligned left (names), the rest right (numbers). Widths
// count runes, so ✓, ≥ and → take one column.
func reportTable(b *strings.Builder, indent string, left int, rows [][]string) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		line.WriteString(indent)
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < left {
				line.WriteString(c + pad)
			} else {
				line.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// reportBudgetLeft says how much budget is left, clamped: an overspent
// budget is exhausted (the burn rate says by how much), not "-99900 % left".
func reportBudgetLeft(b *slo.Budget) string {
	if *b.Remaining <= 0 {
		return fmt.Sprintf("exhausted (%d failed, %s allowed)", b.Failed, reportTrim(b.Allowed, 3))
	}
	return reportPct(reportPtr(100**b.Remaining)) + " left"
}

func reportPtr(v float64) *float64 { return &v }

// reportDecimals is the precision of the JSON report's floats: µs for
// milliseconds, a thousandth of a percent, which no target needs more of.
const reportDecimals = 3

// roundReport returns rep with every float rounded to reportDecimals
// (0.012999999999999262 allowed failures are 0.013). rep itself is left
// alone: verdicts were judged on exact values. A failed verdict's value that
// would round onto its target is rounded away from it instead, so it never
// reads as meeting it.
func roundReport(rep reportJSON) reportJSON {
	out := rep
	out.Checks = make([]reportCheck, len(rep.Checks))
	for i, c := range rep.Checks {
		c.Targets = reportTargets{Uptime: round3(c.Targets.Uptime), LoadTimeMS: round3(c.Targets.LoadTimeMS),
			Success: round3(c.Targets.Success), CWVGood: round3(c.Targets.CWVGood)}
		c.Availability.UptimePercent = round3p(c.Availability.UptimePercent)
		c.Availability.SuccessPercent = round3p(c.Availability.SuccessPercent)
		c.Load = roundDist(c.Load)
		pages := make([]slo.PageStats, len(c.Pages))
		for j, p := range c.Pages {
			p.Load = roundDist(p.Load)
			vitals := make([]slo.VitalStats, len(p.Vitals))
			for k, v := range p.Vitals {
				v.P75, v.GoodPercent = round3p(v.P75), round3p(v.GoodPercent)
				vitals[k] = v
			}
			p.Vitals = vitals
			pages[j] = p
		}
		c.Pages = pages
		if c.Budget != nil {
			b := *c.Budget
			b.TargetPercent, b.Allowed = round3(b.TargetPercent), round3(b.Allowed)
			b.Remaining, b.BurnRate = round3p(b.Remaining), round3p(b.BurnRate)
			c.Budget = &b
		}
		verdicts := make([]slo.Verdict, len(c.Verdicts))
		for j, v := range c.Verdicts {
			v.Want = round3(v.Want)
			if v.Got != nil {
				g := round3(*v.Got)
				scale := math.Pow10(reportDecimals)
				switch {
				case v.Status != slo.Fail:
				case v.Unit == "ms" && g <= v.Want: // a maximum: round up
					g = math.Ceil(*v.Got*scale) / scale
				case v.Unit != "ms" && g >= v.Want: // a minimum: round down
					g = math.Floor(*v.Got*scale) / scale
				}
				v.Got = &g
			}
			verdicts[j] = v
		}
		c.Verdicts = verdicts
		out.Checks[i] = c
	}
	return out
}

func round3(f float64) float64 {
	scale := math.Pow10(reportDecimals)
	return math.Round(f*scale) / scale
}

func round3p(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return reportPtr(round3(*p))
}

func roundDist(d slo.Distribution) slo.Distribution {
	d.P50, d.P75, d.P95 = round3p(d.P50), round3p(d.P75), round3p(d.P95)
	return d
}

// reportPct formats a percentage with up to three decimals: 99.9 % stays
// distinguishable from 99.899 %.
func reportPct(p *float64) string {
	if p == nil {
		return "-"
	}
	return reportTrim(*p, 3) + " %"
}

// reportMS formats milliseconds: a decimal below 10 ms (loopback checks
// take 0.4 ms, not 0), seconds from 10 s up.
func reportMS(p *float64) string {
	switch {
	case p == nil:
		return "-"
	case *p >= 10000:
		return reportTrim(*p/1000, 2) + " s"
	case *p < 10:
		return reportTrim(*p, 1) + " ms"
	}
	return reportTrim(*p, 0) + " ms"
}

func reportVital(v probe.Vital, p *float64) string {
	if p == nil {
		return "-"
	}
	if v == probe.VitalCLS {
		return reportTrim(*p, 3)
	}
	return reportMS(p)
}

func reportTrim(f float64, decimals int) string {
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
