package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// WriteMarkdown writes a GitHub-flavoured markdown summary for a pull
// request comment or a ticket: the result, a table of checks, the breached
// targets, warnings, the alerts of the window and, with the per-location
// split, a table per location. Cells are escaped so that a check name or an
// alert summary cannot break a table or inject HTML.
func WriteMarkdown(w io.Writer, rep Report, o TextOptions) error {
	var b strings.Builder
	breached := 0
	for _, c := range rep.Checks {
		for _, v := range c.Verdicts {
			if v.Status == slo.Fail {
				breached++
			}
		}
	}
	result := "✅ all targets met"
	if breached > 0 {
		result = fmt.Sprintf("❌ %d %s breached", breached, plural(breached, "target", "targets"))
	}
	if n := rep.ProbeErrorChecks(); n > 0 {
		result += fmt.Sprintf(", ⚠️ %d %s mostly probe faults", n, plural(n, "check is", "checks are"))
		if o.FailOnProbeErrors {
			result += " (failing: `--fail-on-probe-errors`)"
		}
	}
	fmt.Fprintf(&b, "### storeprobe report: %s\n\n", result)
	method := "exact (nearest rank)"
	if rep.Percentiles.Method == MethodHistogram {
		method = "from hourly rollups, within " + trim(rep.Percentiles.MaxErrorPercent, 2) + " %"
	}
	fmt.Fprintf(&b, "Last %s (%s → %s UTC), store `%s`, percentiles %s.\n\n", mdCell(rep.Window.Duration),
		rep.Window.Since.UTC().Format("2006-01-02 15:04"), rep.Window.Until.UTC().Format("2006-01-02 15:04"),
		strings.ReplaceAll(rep.Store, "`", "'"), method)
	if len(rep.Checks) == 0 {
		b.WriteString("No checks and no runs in this window.\n")
	} else {
		rows := [][]string{{"", "Check", "Type", "Runs", "Uptime", "Load p75", "Error budget", "Burn rate", "Targets"}}
		for _, c := range rep.Checks {
			mark, failed := "✅", 0
			for _, v := range c.Verdicts {
				if v.Status == slo.Fail {
					failed++
				}
			}
			switch {
			case failed > 0:
				mark = "❌"
			case len(c.Verdicts) == 0:
				mark = "➖"
			}
			budget, burn := "-", "-"
			if bud := c.Budget; bud != nil && bud.Remaining != nil {
				budget = budgetLeft(bud)
				burn = trim(*bud.BurnRate, 2) + "×" + burnWindowsText(bud.BurnRates)
			}
			targets := fmt.Sprintf("%d of %d met", len(c.Verdicts)-failed, len(c.Verdicts))
			if c.Targets.Preset != "" {
				targets += ", preset " + c.Targets.Preset
			}
			rows = append(rows, []string{mark, "**" + mdCell(c.Check) + "**", string(c.Type), strconv.Itoa(c.Availability.Runs),
				pct(c.Availability.UptimePercent), ms(c.Load.P75), budget, burn, targets})
		}
		mdTable(&b, rows, "lllrrrrrl")
	}
	var rows [][]string
	for _, c := range rep.Checks {
		for _, v := range c.Verdicts {
			if v.Status != slo.Fail {
				continue
			}
			n := strconv.Itoa(v.Samples)
			if v.SmallSample {
				n += fmt.Sprintf(" (small sample: needs %d)", v.MinSamples)
			}
			got, want := pct(v.Got), "≥ "+pct(&v.Want)
			if v.Unit == "ms" {
				got, want = ms(v.Got), "≤ "+ms(&v.Want)
			}
			rows = append(rows, []string{mdCell(c.Check), mdCell(verdictName(v)), got, want, n})
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n#### Breached targets\n\n")
		mdTable(&b, append([][]string{{"Check", "Target", "Got", "Want", "Samples"}}, rows...), "llrrr")
	}
	var warnings []string
	for _, c := range rep.Checks {
		for _, w := range c.Warnings {
			warnings = append(warnings, fmt.Sprintf("- ⚠️ **%s**: %s", mdCell(c.Check), mdCell(w.Message)))
		}
	}
	if len(warnings) > 0 {
		b.WriteString("\n#### Warnings\n\n" + strings.Join(warnings, "\n") + "\n")
	}
	if len(rep.Alerts) > 0 {
		fmt.Fprintf(&b, "\n#### Alerts fired and resolved (%d)\n\n", len(rep.Alerts))
		rows := [][]string{{"At (UTC)", "Status", "Severity", "Rule", "Check", "Location", "Summary"}}
		for _, a := range rep.Alerts {
			rows = append(rows, []string{a.At.UTC().Format("2006-01-02 15:04"), a.Status, a.Severity, mdCell(a.Rule),
				mdCell(a.Check), mdCell(a.Location), mdCell(clip(a.Summary, 200))})
		}
		mdTable(&b, rows, "lllllll")
	}
	if rep.ByLocation {
		rows := [][]string{{"Check", "Location", "Runs", "Failed", "Maintenance", "Uptime", "Load p75"}}
		pages := [][]string{{"Check", "Location", "Page", "Samples", "Load p75", "LCP p75", "LCP good", "CLS good", "INP good"}}
		for _, c := range rep.Checks {
			for _, l := range c.Locations {
				a := l.Availability
				rows = append(rows, []string{mdCell(c.Check), mdCell(l.Location), strconv.Itoa(a.Runs), strconv.Itoa(a.Eligible - a.Up),
					strconv.Itoa(a.Maintenance), pct(a.UptimePercent), ms(l.Load.P75)})
				for _, p := range l.Pages {
					pages = append(pages, []string{mdCell(c.Check), mdCell(l.Location), mdCell(p.Name), strconv.Itoa(p.Samples),
						ms(p.Load.P75), vitalValue(probe.VitalLCP, p.Vital(probe.VitalLCP).P75),
						pct(p.Vital(probe.VitalLCP).GoodPercent), pct(p.Vital(probe.VitalCLS).GoodPercent),
						pct(p.Vital(probe.VitalINP).GoodPercent)})
				}
			}
		}
		b.WriteString("\n#### By location\n\n")
		mdTable(&b, rows, "llrrrrr")
		if len(pages) > 1 {
			b.WriteString("\n")
			mdTable(&b, pages, "lllrrrrrr")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdTable writes a GitHub table, each column aligned as align says: l
// left (names, text), r right (numbers).
func mdTable(b *strings.Builder, rows [][]string, align string) {
	for i, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		if i == 0 {
			seps := make([]string, len(r))
			for j := range seps {
				seps[j] = "---"
				if j < len(align) && align[j] == 'r' {
					seps[j] = "--:"
				}
			}
			b.WriteString("|" + strings.Join(seps, "|") + "|\n")
		}
	}
}

// mdCell escapes text for a table cell or a list item: a pipe would end
// the cell, a newline the row, and < > & would be read as HTML.
func mdCell(s string) string {
	return strings.NewReplacer("\\", "\\\\", "|", "\\|", "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "&", "&amp;",
		"*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]").Replace(s)
}
