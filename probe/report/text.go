package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// TextOptions shape the text report.
type TextOptions struct {
	// FailOnProbeErrors says probe-fault warnings fail the run (the CLI's
	// --fail-on-probe-errors), so the result line says why it fails
	// instead of how to make it fail.
	FailOnProbeErrors bool
}

// WriteText prints the report for a terminal: an overview table, then
// each check's failures, pages and verdicts.
func WriteText(w io.Writer, rep Report, o TextOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "storeprobe report: %s, last %s (%s → %s UTC)\n", rep.Store, rep.Window.Duration,
		rep.Window.Since.Format("2006-01-02 15:04"), rep.Window.Until.Format("2006-01-02 15:04"))
	if rep.Percentiles.Method == MethodHistogram {
		fmt.Fprintf(&b, "percentiles from hourly rollups, within %s %% (--exact reads every sample)\n", trim(rep.Percentiles.MaxErrorPercent, 2))
	}
	b.WriteString("\n")
	if len(rep.Checks) == 0 {
		b.WriteString("No checks and no runs in this window.\n")
	} else {
		rows := [][]string{{"CHECK", "TYPE", "RUNS", "FAILED", "PROBE ERR", "SKIPPED", "UPTIME", "LOAD P50", "P75", "P95"}}
		for _, c := range rep.Checks {
			a := c.Availability
			rows = append(rows, []string{c.Check, string(c.Type), strconv.Itoa(a.Runs), strconv.Itoa(a.Eligible - a.Up),
				strconv.Itoa(a.ProbeFaults), strconv.Itoa(c.Skipped), pct(a.UptimePercent),
				ms(c.Load.P50), ms(c.Load.P75), ms(c.Load.P95)})
		}
		writeTable(&b, "", 2, rows)
	}
	// Loud, right under the table: these checks' figures mean little.
	for _, c := range rep.Checks {
		for _, w := range c.Warnings {
			if w.Kind == WarnProbeErrors {
				fmt.Fprintf(&b, "\n⚠ %s: %s", c.Check, w.Message)
			}
		}
	}
	if rep.ProbeErrorChecks() > 0 {
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
		if t := c.Targets; t.Preset != "" {
			from := "none of its targets"
			if len(t.FromPreset) > 0 {
				from = strings.Join(t.FromPreset, ", ")
			}
			fmt.Fprintf(&b, "  targets from the %s preset: %s\n", t.Preset, from)
		}
		if n := c.Availability.Maintenance; n > 0 {
			fmt.Fprintf(&b, "  maintenance: %d %s in a maintenance window, not judged\n", n, plural(n, "run", "runs"))
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
		for _, cdn := range c.CDN {
			fmt.Fprintf(&b, "  %s\n", cdnLine(cdn))
		}
		if len(c.Pages) > 0 {
			head := []string{"PAGE", "SAMPLES", "LOAD P75"}
			for _, v := range probe.AllVitals {
				u := strings.ToUpper(string(v))
				head = append(head, u+" P75", u+" GOOD")
			}
			head = append(head, "TBT P75")
			// The payment field's readiness, where a page was waited on.
			payment := slices.ContainsFunc(c.Pages, func(p slo.PageStats) bool { return p.PaymentProvider != "" })
			if payment {
				head = append(head, "PAYMENT READY P75")
			}
			// Which analytics tags fired, where any page sent a beacon.
			analytics := slices.ContainsFunc(c.Pages, func(p slo.PageStats) bool { return len(p.Analytics) > 0 })
			if analytics {
				head = append(head, "ANALYTICS FIRED")
			}
			rows := [][]string{head}
			for _, p := range c.Pages {
				row := []string{p.Name, strconv.Itoa(p.Samples), ms(p.Load.P75)}
				for _, v := range probe.AllVitals {
					vs := p.Vital(v)
					row = append(row, vitalValue(v, vs.P75), pct(vs.GoodPercent))
				}
				row = append(row, ms(p.TBT.P75))
				if payment {
					cell := "-"
					if p.PaymentReady != nil {
						cell = p.PaymentProvider + " " + ms(p.PaymentReady.P75)
					}
					row = append(row, cell)
				}
				if analytics {
					row = append(row, analyticsCell(p.Analytics))
				}
				rows = append(rows, row)
			}
			writeTable(&b, "  ", 1, rows)
		}
		if c.Locations != nil {
			writeLocations(&b, c)
		}
		if bud := c.Budget; bud != nil && bud.Remaining != nil {
			fmt.Fprintf(&b, "  error budget (%s uptime): %s, burn rate %s×%s\n", pct(&bud.TargetPercent),
				budgetLeft(bud), trim(*bud.BurnRate, 2), burnWindowsText(bud.BurnRates))
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
			op, got, want := "≥", pct(v.Got), pct(&v.Want)
			if v.Unit == "ms" {
				op, got, want = "≤", ms(v.Got), ms(&v.Want)
				what += " p75"
			}
			if v.Status == slo.NoData {
				got = "no data"
			}
			note := ""
			if v.SmallSample {
				note = fmt.Sprintf("small sample: %d of %d", v.Samples, v.MinSamples)
			}
			rows = append(rows, []string{mark, what, got, op + " " + want, note})
		}
		writeTable(&b, "  ", 5, rows)
	}
	if len(rep.Alerts) > 0 {
		fmt.Fprintf(&b, "\nalerts fired and resolved in the window (%d):\n", len(rep.Alerts))
		var rows [][]string
		for _, a := range rep.Alerts {
			where := a.Check
			if a.Location != "" {
				where += " @ " + a.Location
			}
			rows = append(rows, []string{a.At.UTC().Format("2006-01-02 15:04"), a.Status, a.Severity, a.Rule, where, clip(a.Summary, 100)})
		}
		writeTable(&b, "  ", 6, rows)
	}
	ob := rep.Outbox
	fmt.Fprintf(&b, "\noutbox: %d waiting, %d rejected points, %d dropped\n", ob.Depth, ob.RejectedPoints, ob.Dropped)
	for _, r := range ob.RecentRejected {
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
	if n := rep.ProbeErrorChecks(); n > 0 {
		fmt.Fprintf(&b, "; %d %s mostly probe faults", n, plural(n, "check is", "checks are"))
		if o.FailOnProbeErrors {
			b.WriteString(" (failing: --fail-on-probe-errors)")
		} else {
			b.WriteString(" (--fail-on-probe-errors fails on this)")
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// burnWindowsText lists the burn rates of the windows shorter than the
// report's (the last one is the whole window, already printed).
func burnWindowsText(rates []slo.BurnRate) string {
	if len(rates) < 2 {
		return ""
	}
	parts := make([]string, 0, len(rates)-1)
	for _, r := range rates[:len(rates)-1] {
		v := "-"
		if r.Rate != nil {
			v = trim(*r.Rate, 2) + "×"
		}
		parts = append(parts, r.Window+" "+v)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// writeLocations prints a check's per-location split: availability and
// load, then each location's pages.
func writeLocations(b *strings.Builder, c Check) {
	rows := [][]string{{"LOCATION", "RUNS", "FAILED", "PROBE ERR", "MAINT", "UPTIME", "LOAD P50", "P75", "P95"}}
	for _, l := range c.Locations {
		a := l.Availability
		rows = append(rows, []string{l.Location, strconv.Itoa(a.Runs), strconv.Itoa(a.Eligible - a.Up), strconv.Itoa(a.ProbeFaults),
			strconv.Itoa(a.Maintenance), pct(a.UptimePercent), ms(l.Load.P50), ms(l.Load.P75), ms(l.Load.P95)})
	}
	writeTable(b, "  ", 1, rows)
	head := []string{"LOCATION", "PAGE", "SAMPLES", "LOAD P75"}
	for _, v := range probe.AllVitals {
		u := strings.ToUpper(string(v))
		head = append(head, u+" P75", u+" GOOD")
	}
	rows = [][]string{head}
	for _, l := range c.Locations {
		for _, p := range l.Pages {
			row := []string{l.Location, p.Name, strconv.Itoa(p.Samples), ms(p.Load.P75)}
			for _, v := range probe.AllVitals {
				vs := p.Vital(v)
				row = append(row, vitalValue(v, vs.P75), pct(vs.GoodPercent))
			}
			rows = append(rows, row)
		}
	}
	if len(rows) > 1 {
		writeTable(b, "  ", 2, rows)
	}
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-3]) + "..."
}

// writeTable writes rows as aligned columns two spaces apart, the first
// left columns aligned left (names), the rest right (numbers). Widths
// count runes, so ✓, ≥ and → take one column.
func writeTable(b *strings.Builder, indent string, left int, rows [][]string) {
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

// budgetLeft says how much budget is left, clamped: an overspent budget is
// exhausted (the burn rate says by how much), not "-99900 % left".
func budgetLeft(b *slo.Budget) string {
	if *b.Remaining <= 0 {
		return fmt.Sprintf("exhausted (%d failed, %s allowed)", b.Failed, trim(b.Allowed, 3))
	}
	return pct(ptr(100**b.Remaining)) + " left"
}

func ptr(v float64) *float64 { return &v }

// pct formats a percentage with up to three decimals: 99.9 % stays
// distinguishable from 99.899 %.
func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return trim(*p, 3) + " %"
}

// ms formats milliseconds: a decimal below 10 ms (loopback checks take
// 0.4 ms, not 0), seconds from 10 s up.
func ms(p *float64) string {
	switch {
	case p == nil:
		return "-"
	case *p >= 10000:
		return trim(*p/1000, 2) + " s"
	case *p < 10:
		return trim(*p, 1) + " ms"
	}
	return trim(*p, 0) + " ms"
}

// vitalValue formats a vital: CLS is unitless, the others are milliseconds.
func vitalValue(v probe.Vital, p *float64) string {
	if p == nil {
		return "-"
	}
	if v == probe.VitalCLS {
		return trim(*p, 3)
	}
	return ms(p)
}

// trim formats f with at most decimals decimals, dropping trailing zeros.
func trim(f float64, decimals int) string {
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// cdnLine is a CDN's cache status over the window: "cdn cloudflare: 120
// responses, cache hit 91.7 % (hit 110, miss 10), pop FRA 120".
func cdnLine(c slo.CDNStats) string {
	var statuses []string
	for _, st := range probe.CacheStatuses() {
		if n := c.Cache[st]; n > 0 {
			statuses = append(statuses, fmt.Sprintf("%s %d", st, n))
		}
	}
	pops := make([]string, 0, len(c.POPs))
	for p := range c.POPs {
		pops = append(pops, p)
	}
	// The busiest first; at most five named.
	sort.Slice(pops, func(i, j int) bool {
		if c.POPs[pops[i]] != c.POPs[pops[j]] {
			return c.POPs[pops[i]] > c.POPs[pops[j]]
		}
		return pops[i] < pops[j]
	})
	var named []string
	for i, p := range pops {
		if i == 5 {
			named = append(named, fmt.Sprintf("%d more", len(pops)-5))
			break
		}
		named = append(named, fmt.Sprintf("%s %d", p, c.POPs[p]))
	}
	return fmt.Sprintf("cdn %s: %d %s, cache hit %s (%s), pop %s", c.Provider, c.Responses, plural(c.Responses, "response", "responses"),
		pct(c.HitPercent), strings.Join(statuses, ", "), strings.Join(named, ", "))
}

// analyticsCell is a page's analytics tags and the share of its
// measurements each fired on: "ga4 100 %, adobe 50 %"; "-" for none.
func analyticsCell(a map[string]slo.AnalyticsStats) string {
	var parts []string
	for _, v := range probe.AnalyticsVendors() {
		if st, ok := a[v]; ok {
			f := st.FiredPercent
			parts = append(parts, v+" "+pct(&f))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
