package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// status is a row's verdict.
type status string

const (
	statusMet status = "met"
	// statusMetNoise: beyond the goal, but by less than chance alone moves
	// the figure in this run (a comparison of two tools' separate loads).
	statusMetNoise status = "met (within chance)"
	statusMissed   status = "**not met**"
	statusNoGoal   status = "—"
	statusSkipped  status = "skipped"
	statusFailed   status = "**failed**"
)

// row is one line of the table.
type row struct {
	section                         int
	metric, ours, peer, ratio, goal string
	status                          status
}

// missing is the row for a measurement the run has no result for.
func missing(section int, metric string, r *results, bench string) row {
	why, skipped := r.why(bench)
	st := statusFailed
	if skipped {
		st = statusSkipped
	}
	return row{section: section, metric: metric, ours: "—", peer: "—", ratio: why, goal: "—", status: st}
}

func verdict(ok bool) status {
	if ok {
		return statusMet
	}
	return statusMissed
}

func buildRows(r *results) []row {
	var rows []row
	for _, f := range []func(*results) []row{accuracyRows, blackboxRows, browserAccuracyRows, throughputRows, growthRows, memoryRows} {
		rows = append(rows, f(r)...)
	}
	return rows
}

// 1. HTTP timing accuracy.
func accuracyRows(r *results) []row {
	var rows []row
	for _, t := range []struct{ name, what string }{
		{"headers", "`wait`, 50 ms before the headers"},
		{"midbody", "`transfer`, 50 ms mid-body"},
		{"tls", "`tls`, 50 ms before the handshake"},
	} {
		bench := "BenchmarkAccuracyVsCurl/target=" + t.name
		metric := "HTTP timing error vs the server's truth, p50 / p95: " + t.what
		o50, ok1 := r.get(bench, "ms-p50-err-ours")
		o95, ok2 := r.get(bench, "ms-p95-err-ours")
		if !ok1 || !ok2 {
			rows = append(rows, missing(1, metric, r, bench))
			continue
		}
		c50, _ := r.get(bench, "ms-p50-err-curl")
		c95, _ := r.get(bench, "ms-p95-err-curl")
		g50, _ := r.get(bench, "ms-p50-gap-curl")
		g95, _ := r.get(bench, "ms-p95-gap-curl")
		rows = append(rows, row{1, metric,
			fmt.Sprintf("%s / %s ms", num(o50), num(o95)),
			fmt.Sprintf("curl %s / %s ms", num(c50), num(c95)),
			fmt.Sprintf("vs curl's: %s / %s ms apart", num(g50), num(g95)),
			"p95 ≤ 2 ms", verdict(o95 <= 2)})
	}
	return rows
}

// 2. HTTP cost vs blackbox_exporter.
func blackboxRows(r *results) []row {
	var rows []row
	for _, c := range []int{1, 16, 256} {
		bench := fmt.Sprintf("BenchmarkVsBlackbox/concurrency=%d", c)
		spCPU, ok := r.get(bench, "sp-checks/cpu-s")
		if !ok {
			if !r.quick() || c != 256 { // make bench-quick measures 1 and 16
				rows = append(rows, missing(2, fmt.Sprintf("HTTP checks per CPU-second, concurrency %d", c), r, bench))
			}
			continue
		}
		bbCPU, _ := r.get(bench, "bb-checks/cpu-s")
		spWall, _ := r.get(bench, "sp-checks/s")
		bbWall, _ := r.get(bench, "bb-checks/s")
		skipped, _ := r.get(bench, "sp-saturated-skipped")
		// Per CPU-second storeprobe is offered blackbox_exporter's rate so
		// that it skips no run (a skipped run is stored too: a cost that is
		// not a check's); the row says so when it did skip.
		ours := num(spCPU)
		if n, _ := r.get(bench, "sp-matched-skipped"); n > 0 {
			ours += fmt.Sprintf(" (%s runs skipped)", num(n))
		}
		spRSS, _ := r.get(bench, "sp-RSS-MiB")
		bbRSS, _ := r.get(bench, "bb-RSS-MiB")
		rows = append(rows,
			row{2, fmt.Sprintf("HTTP checks per CPU-second of its process, concurrency %d (storeprobe offered blackbox_exporter's rate)", c),
				ours, "blackbox_exporter " + num(bbCPU), times(spCPU, bbCPU), "≥ 1.0×", verdict(spCPU >= bbCPU)},
			wallRow(c, spWall, bbWall, skipped),
			row{2, fmt.Sprintf("RSS at concurrency %d", c),
				num(spRSS) + " MiB", "blackbox_exporter " + num(bbRSS) + " MiB", times(spRSS, bbRSS), "—", statusNoGoal})
	}
	return rows
}

// wallRow compares throughput. storeprobe is offered four times
// blackbox_exporter's rate; when it skipped no run it kept up with all of
// it, and its capacity is at least what it ran.
func wallRow(c int, sp, bb, skipped float64) row {
	metric := fmt.Sprintf("HTTP checks per wall-second, concurrency %d (storeprobe offered 4× blackbox_exporter's rate)", c)
	if skipped == 0 {
		return row{2, metric, "≥ " + num(sp) + " (kept up: 0 runs skipped)", "blackbox_exporter " + num(bb), "≥ " + times(sp, bb), "—", statusNoGoal}
	}
	return row{2, metric, fmt.Sprintf("%s (saturated: %s runs skipped)", num(sp), num(skipped)), "blackbox_exporter " + num(bb), times(sp, bb), "—", statusNoGoal}
}

// lighthousePair is one device/page of BenchmarkVsLighthouse.
type lighthousePair struct {
	name string // "desktop hero"
	m    map[string]float64
}

func lighthousePairs(r *results) []lighthousePair {
	var out []lighthousePair
	for name, m := range r.metrics {
		rest, ok := strings.CutPrefix(name, "BenchmarkVsLighthouse/device=")
		if !ok {
			continue
		}
		dev, page, ok := strings.Cut(rest, "/page=")
		if !ok {
			continue
		}
		out = append(out, lighthousePair{dev + " " + page, m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// 3. Browser accuracy vs Lighthouse and the page's own record.
func browserAccuracyRows(r *results) []row {
	pairs := lighthousePairs(r)
	if len(pairs) == 0 {
		return []row{missing(3, "LCP, FCP, CLS vs Lighthouse and the page's own record", r, "BenchmarkVsLighthouse")}
	}
	var rows []row
	for _, v := range []struct{ name, unit string }{{"LCP", "lcp-ms"}, {"FCP", "fcp-ms"}, {"CLS", "cls"}} {
		cls := v.unit == "cls"
		// err is a pair's error against its goal: relative for times
		// (goal 10 %), absolute for CLS (goal 0.01).
		err := func(diff, ref float64) float64 {
			if cls {
				return diff
			}
			if ref == 0 {
				return math.Inf(1)
			}
			return diff / ref
		}
		limit, goal := 0.10, "≤ 10 %"
		if cls {
			limit, goal = 0.01, "≤ 0.01"
		}
		show := func(e float64) string {
			if cls {
				return strconv.FormatFloat(e, 'f', 4, 64)
			}
			return fmt.Sprintf("%.1f %%", 100*e)
		}
		value := func(x float64) string {
			if cls {
				return strconv.FormatFloat(x, 'f', 4, 64)
			}
			return num(x) + " ms"
		}
		// vs Lighthouse: the difference of the two tools' means. Each pair
		// is two loads, so chance moves it as well as any disagreement:
		// within the goal, or within what chance alone moves it (see
		// noiseBound), is met; beyond both is not. The page
		// shown is the one nearest to missing.
		worst, worstMargin := -1, -1.0
		for i, p := range pairs {
			if m := accuracyMargin(p, v.unit, limit, cls); m > worstMargin {
				worst, worstMargin = i, m
			}
		}
		p := pairs[worst]
		diff := math.Abs(p.m["ours-"+v.unit] - p.m["lh-"+v.unit])
		e, noise := err(diff, p.m["lh-"+v.unit]), noiseBound(p, v.unit)
		ratio := show(e) + " (" + value(diff) + " apart"
		st := verdict(e <= limit)
		if !math.IsNaN(noise) {
			ratio += "; chance alone ±" + value(noise)
			if e > limit && diff <= noise {
				st = statusMetNoise
			}
		}
		rows = append(rows, row{3, fmt.Sprintf("%s vs Lighthouse, worst of %s (%s; difference of the means of %s)", v.name, pagesOf(len(pairs)), p.name, runsOf(p.m["runs"])),
			value(p.m["ours-"+v.unit]), "Lighthouse " + value(p.m["lh-"+v.unit]),
			ratio + ")", goal + " or within chance", st})
		// vs the page's own record: each tool against the record of its own
		// load; the worst page for ours.
		worst, worstErr := -1, -1.0
		lhWorst := -1.0
		for i, p := range pairs {
			if e := err(p.m["absdiff-rec-"+v.unit], p.m["rec-"+v.unit]); e > worstErr {
				worst, worstErr = i, e
			}
			lhWorst = max(lhWorst, err(p.m["lh-absdiff-rec-"+v.unit], p.m["lhrec-"+v.unit]))
		}
		p = pairs[worst]
		rows = append(rows, row{3, fmt.Sprintf("%s vs the page's own in-browser record, worst of %s (%s)", v.name, pagesOf(len(pairs)), p.name),
			value(p.m["absdiff-rec-"+v.unit]) + " off", "Lighthouse's worst: " + show(lhWorst) + " off",
			show(worstErr), goal, verdict(worstErr <= limit)})
	}
	return rows
}

func pagesOf(n int) string { return fmt.Sprintf("%d %s", n, plural(n, "page", "pages")) }

// runsOf says how many runs each tool made of a page: "1 run", "3 runs each".
func runsOf(n float64) string {
	if n == 1 {
		return "1 run each"
	}
	return num(n) + " runs each"
}

// noiseBound is how far chance alone moves the difference of the two tools'
// means when both tools' loads vary as Lighthouse's do: two standard errors,
// 2·sd_lh·√(2/n). Lighthouse's spread is the page's load-to-load noise; a
// spread of ours beyond it is ours to answer for (a probe that sometimes
// ends before the LCP image must not buy itself allowance). About 95 % for
// many runs; with 3 runs a tool Student's t would allow about 1.4 times more,
// so this errs towards "not met". NaN without the spreads (a log from before
// they were reported).
func noiseBound(p lighthousePair, unit string) float64 {
	sdL, ok := p.m["sd-lh-"+unit]
	n := p.m["runs"]
	if !ok || n < 2 {
		return math.NaN()
	}
	return 2 * sdL * math.Sqrt(2/n)
}

// accuracyMargin is how near a page comes to missing: the difference of the
// means over what is allowed (the goal, or chance when that is wider);
// over 1 is a miss.
func accuracyMargin(p lighthousePair, unit string, limit float64, abs bool) float64 {
	diff := math.Abs(p.m["ours-"+unit] - p.m["lh-"+unit])
	allowed := limit
	if !abs {
		allowed = limit * p.m["lh-"+unit]
	}
	if noise := noiseBound(p, unit); noise > allowed {
		allowed = noise
	}
	if allowed == 0 {
		if diff == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return diff / allowed
}

// browsePages are the pages BenchmarkBrowse cycles through on desktop, by
// their BenchmarkVsLighthouse names: probe/browser's benchPages
// (TestBrowsePagesAreBenchPages holds the two lists equal).
func browsePages() []string { return []string{"hero", "shift", "text"} }

// 4. Browser throughput.
func throughputRows(r *results) []row {
	var rows []row
	// Lighthouse's rate on the pages Browse loads (browsePages, desktop),
	// or on the mobile pages when it measured none of those (make
	// bench-quick measures the mobile banner page only: a mobile run takes
	// a little longer, so there the ratio flatters storeprobe somewhat; the
	// per-page table's last column shows both). The row says which.
	lhRate, n, device := 0.0, 0, "desktop"
	for _, dev := range []string{"desktop", "mobile"} {
		var sec float64
		pages := 0
		for _, p := range lighthousePairs(r) {
			page, ok := strings.CutPrefix(p.name, dev+" ")
			if ok && (dev == "mobile" || slices.Contains(browsePages(), page)) {
				sec += p.m["lh-s/run"]
				pages++
			}
		}
		if pages > 0 && sec > 0 {
			lhRate, n, device = 60/(sec/float64(pages)), pages, dev
			break
		}
	}
	for _, c := range []int{1, 2, 4} {
		bench := fmt.Sprintf("BenchmarkBrowse/concurrency=%d", c)
		metric := fmt.Sprintf("Page probes per minute, warm browser, %d at once (desktop: %s)", c, strings.Join(browsePages(), ", "))
		v, ok := r.get(bench, "probes/min")
		if !ok && c == 2 && r.quick() {
			continue // make bench-quick measures 1 and 4 at once
		}
		switch {
		case !ok:
			rows = append(rows, missing(4, metric, r, bench))
		case lhRate == 0:
			rw := missing(4, metric, r, "BenchmarkVsLighthouse")
			rw.ours = num(v)
			rows = append(rows, rw)
		default:
			rows = append(rows, row{4, metric, num(v), fmt.Sprintf("Lighthouse %s runs/min (one at a time, %d %s %s)", num(lhRate), n, device, plural(n, "page", "pages")),
				times(v, lhRate), "≥ 5×", verdict(v >= 5*lhRate)})
		}
	}
	bench := "BenchmarkJourneyOverhead/pages=3"
	metric := "Journey overhead beyond its pages' own load times (3 pages, navigation steps)"
	if o, ok := r.get(bench, "overhead-ms"); ok {
		perPage, _ := r.get(bench, "overhead-ms/page")
		single, _ := r.get(bench, "page-probe-overhead-ms")
		rows = append(rows, row{4, metric, fmt.Sprintf("%s ms (%s ms a page)", num(o), num(perPage)),
			"a single page probe: " + num(single) + " ms beyond its load", "—", "—", statusNoGoal})
	} else {
		rows = append(rows, missing(4, metric, r, bench))
	}
	return rows
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// series reads one metric of sub-benchmarks prefix+size for the sizes the
// run measured.
func series(r *results, prefix, unit string, sizes []float64) (xs, ys []float64) {
	for _, s := range sizes {
		if v, ok := r.get(prefix+strconv.FormatFloat(s, 'f', -1, 64), unit); ok {
			xs, ys = append(xs, s), append(ys, v)
		}
	}
	return xs, ys
}

func joinNums(ys []float64, unit string) string {
	parts := make([]string, len(ys))
	for i, y := range ys {
		parts[i] = num(y)
	}
	return strings.Join(parts, " / ") + unit
}

func joinSizes(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = num(x)
	}
	return strings.Join(parts, " / ")
}

// 5. How cost grows.
func growthRows(r *results) []row {
	var rows []row
	const capPrefix = "BenchmarkDaemonCapacity/checks="
	xs, cpu := series(r, capPrefix, "cpu-µs/run", []float64{100, 1000, 10000})
	if len(xs) == 0 {
		rows = append(rows, missing(5, "CPU per HTTP run and p99 schedule lag by checks a minute", r, "BenchmarkDaemonCapacity"))
	} else {
		total := make([]float64, len(xs)) // CPU a minute: per run × runs
		for i := range xs {
			total[i] = cpu[i] * xs[i]
		}
		rows = append(rows, row{5, "CPU per HTTP run (daemon, SQLite store) at " + joinSizes(xs) + " checks a minute",
			joinNums(cpu, " µs"), "—", "CPU a minute: " + curve(xs, total, "checks/min", "µs a run", 1), "—", statusNoGoal})
		_, lag := series(r, capPrefix, "p99-lag-ms", xs)
		worst := 0.0
		for _, l := range lag {
			worst = max(worst, l)
		}
		// Every scheduled run ran and was saved: lag means little otherwise.
		lost := 0.0
		var counts []string
		for _, c := range []struct{ unit, what string }{{"missed", "missed"}, {"skipped", "skipped"}, {"store-errors", "store errors"}, {"failed-runs", "failed"}} {
			_, n := series(r, capPrefix, c.unit, xs)
			total := 0.0
			for _, v := range n {
				total += v
			}
			if len(n) < len(xs) {
				total = math.NaN() // not reported: not known to be 0
			}
			lost += total
			counts = append(counts, num(total)+" "+c.what)
		}
		rows = append(rows, row{5, "p99 schedule lag at " + joinSizes(xs) + " checks a minute (runs missed, skipped, not saved, failed: all sizes)",
			joinNums(lag, " ms") + " (" + strings.Join(counts, ", ") + ")", "—", "lag: " + curve(xs, lag, "checks/min", "", 1),
			"< 100 ms, no run lost", verdict(worst < 100 && lost == 0)})
	}
	xs, rss := series(r, "BenchmarkContextRSS/contexts=", "chrome-RSS-MB", []float64{1, 2, 4, 8})
	if len(xs) == 0 {
		rows = append(rows, missing(5, "Chromium RSS by contexts open", r, "BenchmarkContextRSS"))
	} else {
		// RSS counts Chromium's shared binary once per process; PSS splits
		// shared pages, so its curve is the memory a context really adds.
		_, pss := series(r, "BenchmarkContextRSS/contexts=", "chrome-PSS-MB", xs)
		rows = append(rows, row{5, "Chromium RSS (process group) with " + joinSizes(xs) + " contexts open on a page",
			joinNums(rss, " MB"), "—", "RSS " + curve(xs, rss, "contexts", "MB a context", 1) + "; PSS " + joinNums(pss, " MB") + ": " + curve(xs, pss, "contexts", "MB a context", 1),
			"—", statusNoGoal})
	}
	xs, ms := series(r, "BenchmarkReportGrowth/runs=", "ms/report", []float64{1e4, 1e5, 1e6, 4e6})
	if len(xs) == 0 {
		rows = append(rows, missing(5, "`report` time by stored runs", r, "BenchmarkReportGrowth"))
	} else {
		_, cpuMS := series(r, "BenchmarkReportGrowth/runs=", "cpu-ms/report", xs)
		secs := make([]float64, len(ms))
		for i := range ms {
			secs[i] = ms[i] / 1000
		}
		cpuSecs := make([]float64, len(cpuMS))
		for i := range cpuMS {
			cpuSecs[i] = cpuMS[i] / 1000
		}
		goal, st := "< 2 s at 4,000,000", statusNoGoal
		switch {
		case xs[len(xs)-1] == 4e6:
			st = verdict(secs[len(secs)-1] < 2)
		case r.quick():
			goal += " (not measured: quick)"
		default:
			goal += " (not measured)"
			st = statusFailed
		}
		rows = append(rows, row{5, "`report` (JSON) over " + joinSizes(xs) + " stored runs, all in the window",
			joinNums(secs, " s") + " (CPU " + joinNums(cpuSecs, " s") + ")", "—", curve(xs, secs, "runs", "µs a run", 1e6), goal, st})
	}
	return rows
}

// 6. Memory stability.
func memoryRows(r *results) []row {
	var bench string
	for _, n := range []string{"1000", "30"} {
		if _, ok := r.get("BenchmarkBrowserMemory/runs="+n, "runs"); ok {
			bench = "BenchmarkBrowserMemory/runs=" + n
			break
		}
	}
	if bench == "" {
		return []row{missing(6, "Memory and Chromium processes over many browser runs", r, "BenchmarkBrowserMemory")}
	}
	m := r.metrics[bench]
	runs := num(m["runs"])
	growth := func(before, after float64) float64 {
		if before <= 0 {
			return 0
		}
		return 100 * (after - before) / before
	}
	procGrowth := growth(m["chrome-procs-before"], m["chrome-procs-after"])
	procs := row{6, "Chromium processes after the warm-up, " + runs + " browser runs",
		fmt.Sprintf("%s → %s", num(m["chrome-procs-before"]), num(m["chrome-procs-after"])),
		"—", fmt.Sprintf("%+.1f %%", procGrowth), "< 5 %", verdict(procGrowth < 5)}
	rows := []row{
		{6, "storeprobe RSS after the warm-up, " + runs + " browser runs (medians of the two halves)",
			fmt.Sprintf("%s → %s MiB (%+.1f %%)", num(m["rss-before-MiB"]), num(m["rss-after-MiB"]), m["rss-growth-%"]),
			"—", fmt.Sprintf("%+.1f %%", m["rss-growth-%"]), "< 5 %", verdict(m["rss-growth-%"] < 5)},
	}
	if quietBefore, ok := m["chrome-quiet-procs-before"]; ok {
		// The goal is judged on the count with no run in flight; sampled
		// while runs go on, the count swings with their renderers.
		quiet := growth(quietBefore, m["chrome-quiet-procs-after"])
		rows = append(rows, row{6, "Chromium processes with no run in flight, after the warm-up and after " + runs + " browser runs",
			fmt.Sprintf("%s → %s", num(quietBefore), num(m["chrome-quiet-procs-after"])),
			"—", fmt.Sprintf("%+.1f %%", quiet), "< 5 %", verdict(quiet < 5)})
		procs.metric += " (sampled with runs in flight: two renderers each)"
		procs.goal, procs.status = "—", statusNoGoal
	}
	return append(rows, procs,
		row{6, "Chromium process group RSS after the warm-up (renderers come and go)",
			fmt.Sprintf("%+.1f %%", m["chrome-rss-growth-%"]), "—", "—", "—", statusNoGoal},
		row{6, "Chromium processes left after the daemon stops",
			num(m["leftover-procs"]), "—", "—", "0", verdict(m["leftover-procs"] == 0)})
}

// curve describes how y grows with x: the exponent k of y ∝ x^k on each
// step between measured sizes (about 1 linear, below sub-linear, above
// super-linear) and where it bends (the size after which the class
// changes); with a marginal unit, also what each step adds per unit of x
// (times scale): a fixed base plus a constant cost per unit reads as
// sub-linear by exponent and constant by margin.
func curve(xs, ys []float64, unit, marginal string, scale float64) string {
	if len(xs) < 2 {
		return "one size measured"
	}
	class := func(k float64) string {
		switch {
		case k <= -0.15:
			return "falling"
		case k < 0.15:
			return "flat"
		case k < 0.85:
			return "sub-linear"
		case k > 1.15:
			return "super-linear"
		}
		return "linear"
	}
	var ks, margins, classes []string
	for i := 0; i+1 < len(xs); i++ {
		k := math.NaN()
		if ys[i] > 0 && ys[i+1] > 0 {
			k = math.Log(ys[i+1]/ys[i]) / math.Log(xs[i+1]/xs[i])
		}
		ks = append(ks, fmt.Sprintf("%.2f", k))
		margins = append(margins, num(scale*(ys[i+1]-ys[i])/(xs[i+1]-xs[i])))
		classes = append(classes, class(k))
	}
	desc := classes[0]
	for i := 1; i < len(classes); i++ {
		if classes[i] != classes[i-1] {
			desc = fmt.Sprintf("%s up to %s %s, %s beyond (bends at %s)", classes[0], num(xs[i]), unit, classes[i], num(xs[i]))
			break
		}
	}
	out := fmt.Sprintf("%s; exponent per step %s", desc, strings.Join(ks, ", "))
	if marginal != "" {
		out += fmt.Sprintf("; each step adds %s %s", strings.Join(margins, ", "), marginal)
	}
	return out
}

// times is a ratio as "1.65×".
func times(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// num formats a measured value with the precision its size deserves and
// thousands separators.
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		return thousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

var sectionNames = map[int]string{
	1: "HTTP timing accuracy", 2: "HTTP cost vs blackbox_exporter", 3: "Browser accuracy",
	4: "Browser throughput", 5: "How cost grows", 6: "Memory stability",
}

// renderMarkdown is the table with the facts of the run above it, and the
// Lighthouse comparison page by page below it.
func renderMarkdown(m machine, rows []row, pairs []lighthousePair) string {
	var b strings.Builder
	target := "make bench"
	if m.Mode == "quick" {
		target = "make bench-quick"
	}
	fmt.Fprintf(&b, "`%s`, %s, commit %s, took %s.  \n", target, m.Date, m.Commit, m.Took.Round(1e9))
	fmt.Fprintf(&b, "Machine: %d cores, %s, Linux %s; load average (1, 5, 15 min) %s at the start, %s at the end.  \n",
		m.Cores, m.CPU, m.Kernel, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(&b, "Peers: %s.\n\n", strings.Join(m.Peers, "; "))
	b.WriteString("| # | Metric | storeprobe | Peer | Ratio / error | Goal | Result |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d %s | %s | %s | %s | %s | %s | %s |\n", r.section, sectionNames[r.section],
			cell(r.metric), cell(r.ours), cell(r.peer), cell(r.ratio), cell(r.goal), r.status)
	}
	if len(pairs) > 0 {
		b.WriteString("\nThe browser comparison page by page, same run (means of paired runs: ours / Lighthouse / the page's own record of our load):\n\n")
		b.WriteString("| device | page | LCP ms | FCP ms | CLS | s/run ours / Lighthouse |\n|---|---|---|---|---|---|\n")
		for _, p := range pairs {
			dev, page, _ := strings.Cut(p.name, " ")
			three := func(unit string, f func(float64) string) string {
				return f(p.m["ours-"+unit]) + " / " + f(p.m["lh-"+unit]) + " / " + f(p.m["rec-"+unit])
			}
			clsF := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s / %s |\n", dev, page, three("lcp-ms", num), three("fcp-ms", num),
				three("cls", clsF), num(p.m["ours-s/run"]), num(p.m["lh-s/run"]))
		}
	}
	return b.String()
}

// cell keeps a value from breaking the table.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
