package sqlite

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/report"
)

// A month of a mid-sized shop fleet: 46 checks (40 HTTP, 4 single-page
// browser checks, 2 two-page journeys) every minute from 2 locations, 92
// runs a minute, 3,974,400 runs in 30 days.
const (
	fleetHTTP, fleetBrowser, fleetJourney = 40, 4, 2
	fleetDays                             = 30
)

var fleetLocations = []string{"eu-west", "us-east"}

// fleetStart is the first scheduled minute of the generated month.
var fleetStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fleetRun is the run of check c from location loc at minute m of the day:
// mostly passing single attempts with log-normal loads; about 0.5 % of HTTP
// runs fail (timeouts after a retry, 5xx), 0.05 % are probe faults, and pages
// carry every vital but INP on most runs.
func fleetRun(rng *rand.Rand, c int, loc string, at time.Time) probe.Run {
	var name string
	var typ probe.CheckType
	switch {
	case c < fleetHTTP:
		name, typ = fmt.Sprintf("http-%02d", c), probe.TypeHTTP
	case c < fleetHTTP+fleetBrowser:
		name, typ = fmt.Sprintf("browser-%d", c-fleetHTTP), probe.TypeBrowser
	default:
		name, typ = fmt.Sprintf("journey-%d", c-fleetHTTP-fleetBrowser), probe.TypeJourney
	}
	logNormal := func(median, sigma float64) float64 {
		return math.Round(median*math.Exp(sigma*rng.NormFloat64())*1000) / 1000
	}
	run := probe.Run{Check: name, Type: typ, Location: loc, Probe: "probe-" + loc, ScheduledAt: at,
		StartedAt: at.Add(2 * time.Millisecond), Lag: 2 * time.Millisecond}
	attempt := func(n int, ms float64, f *probe.Failure) probe.Result {
		return probe.Result{Check: name, Type: typ, URL: "https://shop.example.com/" + name, FinalURL: "https://shop.example.com/" + name,
			OK: f == nil, Failure: f, Attempt: n, StartedAt: run.StartedAt, DurationMS: ms}
	}
	page := func(loadMedian float64) probe.PageMetrics {
		lcp, cls, fcp, ttfb := logNormal(loadMedian*0.8, 0.35), math.Round(rng.ExpFloat64()*40)/1000, logNormal(loadMedian*0.4, 0.3), logNormal(250, 0.4)
		m := probe.PageMetrics{Vitals: probe.Vitals{LCP: &lcp, CLS: &cls, FCP: &fcp, TTFB: &ttfb}, LoadMS: logNormal(loadMedian, 0.3),
			DOMContentLoadedMS: logNormal(loadMedian*0.6, 0.3), Requests: 40 + rng.IntN(30), TransferBytes: 1_000_000}
		if rng.IntN(4) == 0 {
			inp := logNormal(120, 0.6)
			m.Vitals.INP = &inp
		}
		m.Ratings = probe.Ratings{LCP: probe.Rate(probe.VitalLCP, lcp), CLS: probe.Rate(probe.VitalCLS, cls),
			FCP: probe.Rate(probe.VitalFCP, fcp), TTFB: probe.Rate(probe.VitalTTFB, ttfb)}
		return m
	}
	r := rng.IntN(10000)
	switch typ {
	case probe.TypeHTTP:
		ms := logNormal(180+float64(c)*5, 0.4)
		http := func(a probe.Result, total float64, status int) probe.Result {
			a.HTTPDetails = &probe.HTTPDetails{StatusCode: status, Timings: probe.Timings{DNS: 1.2, Connect: 8.5, TLS: 22.1,
				Wait: total * 0.7, Transfer: total*0.3 - 31.8, TTFB: total * 0.7, Total: total}, Bytes: 80000, WireBytes: 21000,
				HTTPVersion: "HTTP/2.0", RemoteIP: "192.0.2.10", Platform: "shopware", CDN: &probe.CDNInfo{Provider: "fastly", Cache: probe.CacheHit, POP: "FRA"}}
			return a
		}
		switch {
		case r < 5: // probe fault
			run.Attempts = []probe.Result{attempt(1, 0, probe.Fail(probe.FailureProbeError, "", "too many open files"))}
		case r < 25: // timed out twice
			f := probe.Fail(probe.FailureTimeout, probe.PhaseWait, "no first byte within 10s")
			run.Attempts = []probe.Result{http(attempt(1, 10000, f), 10000, 0), http(attempt(2, 10000, f), 10000, 0)}
		case r < 45: // timed out, then passed on the retry
			run.Attempts = []probe.Result{http(attempt(1, 10000, probe.Fail(probe.FailureTimeout, probe.PhaseWait, "no first byte within 10s")), 10000, 0),
				http(attempt(2, ms, nil), ms, 200)}
		case r < 55:
			run.Attempts = []probe.Result{http(attempt(1, ms, probe.Fail(probe.FailureStatus, "", "status 503")), ms, 503)}
		default:
			run.Attempts = []probe.Result{http(attempt(1, ms, nil), ms, 200)}
		}
	case probe.TypeBrowser:
		m := page(1800)
		a := attempt(1, m.LoadMS, nil)
		if r < 40 {
			a = attempt(1, 30000, probe.Fail(probe.FailureTimeout, "", "page load not finished within 30s"))
		}
		a.BrowserDetails = &probe.BrowserDetails{Device: "desktop", PageMetrics: &m}
		run.Attempts = []probe.Result{a}
	default:
		home, product := page(1500), page(2200)
		a := attempt(1, logNormal(9000, 0.2), nil)
		steps := []probe.StepResult{{Name: "goto /", Action: "goto", OK: true, DurationMS: home.LoadMS},
			{Name: "goto product", Action: "goto", OK: true, DurationMS: product.LoadMS},
			{Name: "add to cart", Action: "click", OK: true, DurationMS: 300}}
		pages := []probe.PageResult{{Name: "home", URL: "https://shop.example.com/", PageMetrics: home},
			{Name: "product", URL: "https://shop.example.com/p/1", PageMetrics: product}}
		if r < 60 {
			a = attempt(1, 6000, probe.Fail(probe.FailureSelector, "click #add-to-cart", "#add-to-cart not visible within 5s"))
			steps[2].OK, steps[2].Failure = false, a.Failure
		}
		a.BrowserDetails = &probe.BrowserDetails{Device: "desktop", Steps: steps, Pages: pages}
		run.Attempts = []probe.Result{a}
	}
	return run
}

// fillFleet writes fleetDays days of the fleet into s. The first day goes
// through insertRun, the code Save runs, in one transaction; the other days
// are copies of it made in SQL (ids and times shifted by a day each), which
// is about thirty times faster than saving 4 million runs one by one and
// stores the same rows a daemon would have. It returns the number of runs.
func fillFleet(ctx context.Context, tb testing.TB, s *Store) int64 {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	checks := fleetHTTP + fleetBrowser + fleetJourney
	for m := range 24 * 60 {
		at := fleetStart.Add(time.Duration(m) * time.Minute)
		for c := range checks {
			for _, loc := range fleetLocations {
				if _, err := insertRun(ctx, tx, fleetRun(rng, c, loc, at)); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	var maxRun, maxAttempt, maxPage, maxStep int64
	for _, q := range []struct {
		table string
		into  *int64
	}{{"runs", &maxRun}, {"attempts", &maxAttempt}, {"pages", &maxPage}, {"steps", &maxStep}} {
		if err := tx.QueryRowContext(ctx, "SELECT MAX(id) FROM "+q.table).Scan(q.into); err != nil {
			tb.Fatal(err)
		}
	}
	day := int64(24 * time.Hour)
	cols := func(table string) []string {
		out, err := columnStrings(ctx, tx, "SELECT name FROM pragma_table_info(?)", []any{table})
		if err != nil {
			tb.Fatal(err)
		}
		return out
	}
	// shift maps a column of a copied row: ids by the day's id offset,
	// times by k days.
	shift := map[string]map[string]string{
		"runs":     {"id": "id + ?1", "scheduled_at": "scheduled_at + ?4", "started_at": "started_at + ?4"},
		"attempts": {"id": "id + ?2", "run_id": "run_id + ?1", "started_at": "started_at + ?4"},
		"pages":    {"id": "id + ?3", "run_id": "run_id + ?1", "attempt_id": "attempt_id + ?2"},
		"steps":    {"id": "id + ?5", "run_id": "run_id + ?1", "attempt_id": "attempt_id + ?2"},
	}
	for _, table := range []string{"runs", "attempts", "pages", "steps"} {
		names := cols(table)
		var sel string
		for i, n := range names {
			if i > 0 {
				sel += ", "
			}
			if e, ok := shift[table][n]; ok {
				sel += e
			} else {
				sel += n
			}
		}
		q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE id <= ?6", table, joinCols(names), sel, table)
		limit := map[string]int64{"runs": maxRun, "attempts": maxAttempt, "pages": maxPage, "steps": maxStep}[table]
		for k := int64(1); k < fleetDays; k++ {
			if _, err := tx.ExecContext(ctx, q, k*maxRun, k*maxAttempt, k*maxPage, k*day, k*maxStep, limit); err != nil {
				tb.Fatalf("copy day %d of %s: %v", k, table, err)
			}
		}
	}
	// Save keeps the rollups; bulk copies need them counted like the
	// migration does for stores written before them.
	start := time.Now()
	if err := rebuildRollups(ctx, tx, math.MinInt64, math.MaxInt64, ""); err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rollups of %d runs counted in %v\n", maxRun*fleetDays, time.Since(start).Round(time.Second))
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return maxRun * fleetDays
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func joinCols(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

// fleetStore opens the month's store: the file $STOREPROBE_BENCH_STORE when
// set and already filled (generating it takes minutes), else a new one
// filled now (and kept there when the variable names a path).
func fleetStore(b *testing.B) *Store {
	ctx := context.Background()
	path := os.Getenv("STOREPROBE_BENCH_STORE")
	if path == "" {
		path = b.TempDir() + "/fleet.db"
	}
	_, statErr := os.Stat(path)
	start := time.Now()
	s, err := Open(ctx, path, WithoutOutbox())
	if err != nil {
		b.Fatal(err)
	}
	if statErr == nil {
		// Stderr: a parent benchmark's log is not shown.
		fmt.Fprintf(os.Stderr, "opened %s in %v (migrations included)\n", path, time.Since(start).Round(time.Millisecond))
	}
	b.Cleanup(func() { s.Close() })
	if statErr == nil {
		return s
	}
	start = time.Now()
	n := fillFleet(ctx, b, s)
	fmt.Fprintf(os.Stderr, "generated %d runs in %v\n", n, time.Since(start).Round(time.Second))
	return s
}

// BenchmarkReport times `storeprobe report --output json` over the month
// (report.Build plus the JSON writer): the whole 30 days from rollups, 7
// days, the default 24 hours (exact: under report.ExactRunLimit runs), and
// the 30 days with every sample read (--exact).
//
//	go test ./storage/sqlite -run '^$' -bench Report -benchtime 1x -timeout 60m
//
// STOREPROBE_BENCH_STORE=/some/fleet.db keeps the generated store for the
// next run (generating it takes a few minutes).
func BenchmarkReport(b *testing.B) {
	s := fleetStore(b)
	ctx := context.Background()
	until := fleetStart.Add(fleetDays * 24 * time.Hour)
	for _, bc := range []struct {
		name   string
		window time.Duration
		exact  bool
	}{
		{"30d", fleetDays * 24 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"24h", 24 * time.Hour, false},
		{"30d-exact", fleetDays * 24 * time.Hour, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// CPU time too: on a shared 2-core machine wall time also
			// counts other processes' turns.
			cpu0 := cpuTime()
			for b.Loop() {
				rep, err := report.Build(ctx, s, report.Options{StorePath: s.Path(), Since: until.Add(-bc.window),
					Until: until, Duration: bc.name, Exact: bc.exact, ByLocation: true})
				if err != nil {
					b.Fatal(err)
				}
				if err := report.WriteJSON(io.Discard, rep); err != nil {
					b.Fatal(err)
				}
				if len(rep.Checks) != fleetHTTP+fleetBrowser+fleetJourney {
					b.Fatalf("%d checks", len(rep.Checks))
				}
				b.ReportMetric(float64(len(rep.Checks)), "checks")
				if b.N == 1 {
					b.Logf("%s: percentiles %s", bc.name, rep.Percentiles.Method)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
