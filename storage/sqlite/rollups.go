package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// Rollups: per check, location and UTC hour, the runs counted as probe/slo
// counts them (runs, maintenance, probe faults, eligible, up, first try,
// failures by kind) with histograms of their loads, and per page the
// vitals' ratings and histograms. Save keeps them in the run's own
// transaction, migration 4 built them for the runs stored before it, and
// Prune rebuilds the hours it thins, so an hour's rollup is always exactly
// the tally of the runs the store holds for it.
//
// They make a month's report cheap: 92 runs a minute are 4 million runs a
// month, but only 66,000 rollup rows. Counts read from them are exact;
// percentiles are read from the histograms, within slo.HistogramError.
// Tally reads the whole hours of a window from them and the partial hours
// at its edges from the runs.

const hourNanos = int64(time.Hour)

// floorHour is the start of the UTC hour holding ns.
func floorHour(ns int64) int64 {
	h := ns - ns%hourNanos
	if ns < 0 && ns%hourNanos != 0 {
		h -= hourNanos
	}
	return h
}

// ceilHour is the first hour start at or after ns.
func ceilHour(ns int64) int64 {
	h := floorHour(ns)
	if h < ns {
		h += hourNanos
	}
	return h
}

// afterMigrations runs what the migrations from version from need beyond
// their SQL, in the same transaction, once every migration has run (the
// backfill writes the latest schema's columns): a store older than the
// rollups (4) has them built from its runs.
func afterMigrations(ctx context.Context, tx *sql.Tx, from int) error {
	if from < 4 {
		return backfillRuns(ctx, tx)
	}
	return nil
}

type rollupKey struct {
	check, location string
	hour            int64
}

// vitalCols are the column prefixes of rollup_pages, in probe.AllVitals order.
var vitalCols = [len(probe.AllVitals)]string{"lcp", "cls", "inp", "fcp", "ttfb"}

func rollupPageCols() []string {
	cols := []string{"hour", "check_name", "location", "page", "first_at", "idx", "measured", "load_hist"}
	for _, v := range vitalCols {
		cols = append(cols, v+"_good", v+"_ni", v+"_poor", v+"_hist")
	}
	return append(cols, "tbt_hist", "payment_provider", "payment_ready_hist", "ga4_pages", "ga4_hits", "adobe_pages", "adobe_hits")
}

// The statements a Save runs on the rollups (prepared at Open).
var (
	selectRollupSQL      = "SELECT " + strings.Join(rollupCols, ", ") + " FROM rollups WHERE hour = ? AND check_name = ? AND location = ?"
	insertRollupSQL      = "INSERT OR REPLACE INTO rollups (" + strings.Join(rollupCols, ", ") + ") VALUES (" + placeholders(len(rollupCols)) + ")"
	selectRollupPagesSQL = "SELECT " + strings.Join(rollupPageCols(), ", ") + " FROM rollup_pages WHERE hour = ? AND check_name = ? AND location = ?"
	insertRollupPageSQL  = "INSERT OR REPLACE INTO rollup_pages (" + strings.Join(rollupPageCols(), ", ") + ") VALUES (" +
		placeholders(len(rollupPageCols())) + ")"
)

var rollupCols = []string{"hour", "check_name", "location", "runs", "maintenance", "probe_faults", "eligible", "up",
	"first_try", "failures", "last_at", "last_type", "last_fault_at", "last_fault_message", "edges", "load_hist"}

// addRollup counts one saved run into its hour's rollup.
func addRollup(ctx context.Context, tx sqlWriter, o slo.Outcome) error {
	k := rollupKey{o.Check, o.Location, floorHour(o.ScheduledAt.UnixNano())}
	t, err := readRollup(ctx, tx, k, o.Pages)
	if err != nil {
		return err
	}
	t.Counts.Add(o)
	t.Samples.Add(o)
	return writeRollup(ctx, tx, k, t)
}

// readRollup reads one hour's rollup, with the named pages only (the ones
// a run adds to: the rest are left as they are).
func readRollup(ctx context.Context, tx sqlWriter, k rollupKey, pages []slo.PageOutcome) (slo.Tally, error) {
	t := slo.Tally{Check: k.check, Location: k.location, Samples: slo.HistogramSamples()}
	found := false
	err := eachRow(ctx, tx, selectRollupSQL, []any{k.hour, k.check, k.location}, func(rows *sql.Rows) error {
		found = true
		r, err := scanRollup(rows)
		if err != nil {
			return err
		}
		return r.addTo(&t)
	})
	if err != nil || !found || len(pages) == 0 {
		return t, err
	}
	// The hour's pages in one query (a check has a handful).
	err = eachRow(ctx, tx, selectRollupPagesSQL, []any{k.hour, k.check, k.location}, func(rows *sql.Rows) error {
		r, err := scanRollupPage(rows)
		if err != nil || !slices.ContainsFunc(pages, func(p slo.PageOutcome) bool { return p.Name == r.name }) {
			return err
		}
		return r.addTo(&t.Samples)
	})
	return t, err
}

// writeRollup stores t as the rollup of hour k, replacing the row and the
// rows of t's pages.
func writeRollup(ctx context.Context, tx sqlWriter, k rollupKey, t slo.Tally) error {
	c := t.Counts
	failures, err := jsonOrNull(len(c.Failures) > 0, c.Failures)
	if err != nil {
		return err
	}
	edges, err := jsonOrNull(len(c.Edges) > 0, c.Edges)
	if err != nil {
		return err
	}
	var faultAt, faultMsg any
	if !c.LastFaultAt.IsZero() {
		faultAt, faultMsg = c.LastFaultAt.UnixNano(), c.LastFaultMessage
	}
	if _, err := tx.ExecContext(ctx, insertRollupSQL,
		k.hour, k.check, k.location, c.Runs, c.Maintenance, c.ProbeFaults, c.Eligible, c.Up, c.FirstTry, failures,
		c.LastAt.UnixNano(), string(c.LastType), faultAt, faultMsg, edges, encodeHist(t.Samples.Load.Histogram())); err != nil {
		return fmt.Errorf("write rollup: %w", err)
	}
	for _, p := range t.Samples.Pages {
		vals := []any{k.hour, k.check, k.location, p.Name, p.FirstAt.UnixNano(), p.Index, p.Measured, encodeHist(p.Load.Histogram())}
		for _, v := range p.Vitals {
			vals = append(vals, v.Good, v.NeedsImprovement, v.Poor, encodeHist(v.Values.Histogram()))
		}
		vals = append(vals, encodeHist(p.TBT.Histogram()), p.PaymentProvider, encodeHist(p.PaymentReady.Histogram()),
			p.Beacons[0].Pages, p.Beacons[0].Hits, p.Beacons[1].Pages, p.Beacons[1].Hits)
		if _, err := tx.ExecContext(ctx, insertRollupPageSQL, vals...); err != nil {
			return fmt.Errorf("write page rollup: %w", err)
		}
	}
	return nil
}

// rollupRow is a rollups row as read (rollupCols); its histogram is only
// valid until the next row.
type rollupRow struct {
	key    rollupKey
	counts slo.Counts
	load   sql.RawBytes
}

func scanRollup(rows *sql.Rows) (rollupRow, error) {
	var (
		r        rollupRow
		c        = &r.counts
		lastAt   int64
		failures sql.NullString
		lastType string
		faultAt  sql.NullInt64
		faultMsg sql.NullString
		edges    sql.NullString
	)
	if err := rows.Scan(&r.key.hour, &r.key.check, &r.key.location, &c.Runs, &c.Maintenance, &c.ProbeFaults, &c.Eligible,
		&c.Up, &c.FirstTry, &failures, &lastAt, &lastType, &faultAt, &faultMsg, &edges, &r.load); err != nil {
		return r, err
	}
	if err := fromJSON(failures, &c.Failures); err != nil {
		return r, fmt.Errorf("rollup failures: %w", err)
	}
	if err := fromJSON(edges, &c.Edges); err != nil {
		return r, fmt.Errorf("rollup edges: %w", err)
	}
	c.LastAt, c.LastType = fromNanos(lastAt), probe.CheckType(lastType)
	if faultAt.Valid {
		c.LastFaultAt, c.LastFaultMessage = fromNanos(faultAt.Int64), faultMsg.String
	}
	return r, nil
}

// addTo adds the row's counts and load histogram to t.
func (r rollupRow) addTo(t *slo.Tally) error {
	t.Counts.Merge(r.counts)
	return decodeHist(r.load, t.Samples.Load.AddBucket)
}

// rollupPageRow is a rollup_pages row as read (rollupPageCols); its
// histograms are only valid until the next row.
type rollupPageRow struct {
	key      rollupKey
	name     string
	firstAt  int64
	idx      int
	measured int
	ratings  [len(probe.AllVitals)][3]int           // good, needs improvement, poor
	hists    [1 + len(probe.AllVitals)]sql.RawBytes // load, then each vital's
	tbt      sql.RawBytes
	provider string // the gateway the page was waited on for, '' none
	payment  sql.RawBytes
	beacons  [2][2]int // per analytics vendor: pages it fired on, hits
}

func scanRollupPage(rows *sql.Rows) (rollupPageRow, error) {
	var r rollupPageRow
	dest := []any{&r.key.hour, &r.key.check, &r.key.location, &r.name, &r.firstAt, &r.idx, &r.measured, &r.hists[0]}
	for i := range r.ratings {
		dest = append(dest, &r.ratings[i][0], &r.ratings[i][1], &r.ratings[i][2], &r.hists[i+1])
	}
	return r, rows.Scan(append(dest, &r.tbt, &r.provider, &r.payment, &r.beacons[0][0], &r.beacons[0][1], &r.beacons[1][0], &r.beacons[1][1])...)
}

// addTo adds the page row to its page in s.
func (r rollupPageRow) addTo(s *slo.Samples) error {
	p := s.Page(r.name, fromNanos(r.firstAt), r.idx)
	p.Measured += r.measured
	if err := decodeHist(r.hists[0], p.Load.AddBucket); err != nil {
		return err
	}
	if err := decodeHist(r.tbt, p.TBT.AddBucket); err != nil {
		return err
	}
	if err := decodeHist(r.payment, p.PaymentReady.AddBucket); err != nil {
		return err
	}
	for i, b := range r.beacons {
		p.Beacons[i].Pages += b[0]
		p.Beacons[i].Hits += b[1]
	}
	if r.provider != "" {
		p.PaymentProvider = r.provider
	}
	for i, rt := range r.ratings {
		v := &p.Vitals[i]
		v.Good, v.NeedsImprovement, v.Poor = v.Good+rt[0], v.NeedsImprovement+rt[1], v.Poor+rt[2]
		if err := decodeHist(r.hists[i+1], v.Values.AddBucket); err != nil {
			return err
		}
	}
	return nil
}

// encodeHist packs a histogram as uvarint pairs (bucket − previous bucket,
// count), ascending; NULL when empty.
func encodeHist(h slo.Histogram) any {
	if h.Len() == 0 {
		return nil
	}
	index, count := h.Buckets()
	out := make([]byte, 0, 4*len(index))
	prev := 0
	for k, i := range index {
		out = binary.AppendUvarint(out, uint64(i-prev))
		out = binary.AppendUvarint(out, uint64(count[k]))
		prev = i
	}
	return out
}

var errBadHist = errors.New("damaged histogram in rollup")

// decodeHist hands each (bucket, count) of an encoded histogram to add.
func decodeHist(b []byte, add func(bucket, n int)) error {
	i := 0
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadHist
		}
		b = b[n:]
		c, m := binary.Uvarint(b)
		if m <= 0 {
			return errBadHist
		}
		b = b[m:]
		// A damaged blob must not make a histogram allocate its way to
		// a bucket no value reaches.
		if d > slo.HistogramMaxBucket || uint64(i)+d > slo.HistogramMaxBucket || c > math.MaxInt32 {
			return errBadHist
		}
		i += int(d)
		add(i, int(c))
	}
	return nil
}

// rebuildRollups recounts the rollups of the hours in [fromHour, toHour)
// from the runs (for one check when check is set): the backfill of
// migration 4 and Prune's repair of the hours it thinned. It works a day at
// a time so memory stays bounded by a day of the fleet.
func rebuildRollups(ctx context.Context, tx *sql.Tx, fromHour, toHour int64, check string) error {
	// The span that actually holds runs, so an unbounded rebuild does not
	// walk every day since 1970.
	var lo, hi sql.NullInt64
	cond, args := "1", []any(nil)
	if check != "" {
		cond, args = "check_name = ?", []any{check}
	}
	if err := tx.QueryRowContext(ctx, "SELECT MIN(scheduled_at), MAX(scheduled_at) FROM runs WHERE "+cond, args...).Scan(&lo, &hi); err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	del := func(table string, a, b int64) error {
		q, qa := "DELETE FROM "+table+" WHERE hour >= ? AND hour < ?", []any{a, b}
		if check != "" {
			q, qa = q+" AND check_name = ?", append(qa, check)
		}
		_, err := tx.ExecContext(ctx, q, qa...)
		return err
	}
	for _, t := range []string{"rollups", "rollup_pages"} {
		if err := del(t, fromHour, toHour); err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
	}
	if !lo.Valid {
		return nil
	}
	from, to := max(fromHour, floorHour(lo.Int64)), min(toHour, floorHour(hi.Int64)+hourNanos)
	const day = 24 * hourNanos
	for start := from; start < to; start += day {
		end := min(start+day, to)
		tallies := hourTallies{}
		where, wargs := "r.scheduled_at >= ? AND r.scheduled_at < ?", []any{start, end}
		if check != "" {
			where, wargs = where+" AND r.check_name = ?", append(wargs, check)
		}
		err := readOutcomes(ctx, tx, where, wargs, func(o slo.Outcome) error {
			tallies.add(o)
			return nil
		})
		if err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		for k, t := range tallies {
			if err := writeRollup(ctx, tx, k, *t); err != nil {
				return fmt.Errorf("rebuild rollups: %w", err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// finalPages reads the pages of the final attempts of the runs matching
// where (a condition on runs as r), by run id, in their order in the run.
// Only browser and journey runs have any; maintenance runs are skipped, as
// nothing looks at their pages.
func finalPages(ctx context.Context, db queryer, where string, args []any) (map[int64][]storedPage, error) {
	pages := map[int64][]storedPage{}
	err := eachRow(ctx, db, `SELECT p.run_id, `+samplePageCols+`
		FROM runs r JOIN attempts f ON f.run_id = r.id AND f.n = r.attempts JOIN pages p ON p.attempt_id = f.id
		WHERE `+where+` AND r.type != 'http' AND r.maintenance = '' ORDER BY p.run_id, p.idx`, args, func(rows *sql.Rows) error {
		var (
			runID int64
			ps    pageScan
		)
		if err := rows.Scan(append([]any{&runID}, ps.dest()...)...); err != nil {
			return err
		}
		p, err := ps.page()
		if err != nil {
			return err
		}
		pages[runID] = append(pages[runID], p)
		return nil
	})
	return pages, err
}

type storedPage struct {
	idx int // −1: a browser check's own page (PageMetrics)
	probe.PageResult
}

// samplePageCols are the columns of a page (as p) that slo's samples read,
// in pageScan's order.
const samplePageCols = `p.idx, p.name, p.load_ms, p.lcp_ms, p.cls, p.inp_ms, p.fcp_ms, p.ttfb_ms, p.tbt_ms,
		p.settle_reason, p.payment_provider, p.payment_ready_ms, p.analytics`

// pageScan receives samplePageCols of one row.
type pageScan struct {
	p   storedPage
	v   [5]sql.NullFloat64
	pay sql.NullFloat64
	an  sql.NullString
}

func (s *pageScan) dest() []any {
	return []any{&s.p.idx, &s.p.Name, &s.p.LoadMS, &s.v[0], &s.v[1], &s.v[2], &s.v[3], &s.v[4], &s.p.TBTMS,
		&s.p.SettleReason, &s.p.PaymentProvider, &s.pay, &s.an}
}

// page is the page scanned.
func (s *pageScan) page() (storedPage, error) {
	p := s.p
	p.PaymentReadyMS = nullFloat(s.pay)
	if err := fromJSON(s.an, &p.Analytics); err != nil {
		return p, fmt.Errorf("page analytics: %w", err)
	}
	p.Vitals = probe.Vitals{LCP: nullFloat(s.v[0]), CLS: nullFloat(s.v[1]), INP: nullFloat(s.v[2]), FCP: nullFloat(s.v[3]), TTFB: nullFloat(s.v[4])}
	return p, nil
}

// attachPages gives a final attempt the browser details its stored pages
// make: what slo's page figures read.
func attachPages(final *probe.Result, pages []storedPage) {
	if final.BrowserDetails == nil {
		final.BrowserDetails = &probe.BrowserDetails{}
	}
	b := final.BrowserDetails
	for _, p := range pages {
		if p.idx < 0 {
			pm := p.PageMetrics
			b.PageMetrics = &pm
		} else {
			b.Pages = append(b.Pages, p.PageResult)
		}
	}
}

// skeleton is a run rebuilt from stored columns with just what slo looks
// at: its first attempt's OK and its final attempt.
func skeleton(run probe.Run, attempts int, firstOK bool, final probe.Result) probe.Run {
	switch {
	case attempts == 1:
		run.Attempts = []probe.Result{final}
	case attempts > 1:
		run.Attempts = []probe.Result{{OK: firstOK}, final}
	}
	return run
}

// storedRun sets what both run readers take from a runs row alike: the
// run's type and scheduled time, and its final attempt's failure.
func storedRun(run *probe.Run, typ string, scheduled int64, final *probe.Result, kind, msg sql.NullString) {
	run.Type, run.ScheduledAt = probe.CheckType(typ), fromNanos(scheduled)
	if kind.Valid {
		final.Failure = &probe.Failure{Kind: probe.FailureKind(kind.String), Message: msg.String}
	}
}

// storedEdge gives a final attempt the CDN its row names (cdn, cdn_cache,
// cdn_pop), which is what slo's edge counts read; nothing without a
// provider. Attempts stored before schema 5 have no cache or pop: unknown.
func storedEdge(final *probe.Result, cdn [3]sql.NullString) {
	if !cdn[0].Valid || cdn[0].String == "" {
		return
	}
	if final.HTTPDetails == nil {
		final.HTTPDetails = &probe.HTTPDetails{}
	}
	final.HTTPDetails.CDN = &probe.CDNInfo{Provider: cdn[0].String,
		Cache: probe.CacheStatus(orUnknown(cdn[1], string(probe.CacheUnknown))), POP: orUnknown(cdn[2], probe.UnknownPOP)}
}

// readOutcomes classifies the runs matching where (an SQL condition on the
// runs table as r) with slo.OutcomeOf, reading only the runs rows and the
// final attempts' pages: a run's first attempt and load sample were kept in
// its row at Save (first_ok, load_ms). Runs come in no particular order.
func readOutcomes(ctx context.Context, db queryer, where string, args []any, fn func(slo.Outcome) error) error {
	pages, err := finalPages(ctx, db, where, args)
	if err != nil {
		return err
	}
	return eachRow(ctx, db, `SELECT r.id, r.check_name, r.type, r.location, r.scheduled_at, r.ok, r.failure_kind,
		r.failure_message, r.attempts, r.maintenance, r.first_ok, r.load_ms, f.cdn, f.cdn_cache, f.cdn_pop
		FROM runs r LEFT JOIN attempts f ON f.run_id = r.id AND f.n = r.attempts WHERE `+where, args, func(rows *sql.Rows) error {
		var (
			id, scheduled int64
			run           probe.Run
			typ           string
			final         probe.Result
			kind, msg     sql.NullString
			attempts      int
			firstOK       bool
			load          sql.NullFloat64
			cdn           [3]sql.NullString
		)
		if err := rows.Scan(&id, &run.Check, &typ, &run.Location, &scheduled, &final.OK, &kind, &msg,
			&attempts, &run.Maintenance, &firstOK, &load, &cdn[0], &cdn[1], &cdn[2]); err != nil {
			return err
		}
		storedRun(&run, typ, scheduled, &final, kind, msg)
		storedEdge(&final, cdn)
		if ps := pages[id]; len(ps) > 0 {
			attachPages(&final, ps)
		}
		o := slo.OutcomeOf(skeleton(run, attempts, firstOK, final))
		if !o.Maintenance && !o.ProbeFault {
			o.Load, o.HasLoad = load.Float64, load.Valid // slo.Load, computed at Save
		}
		return fn(o)
	})
}

// backfillRuns is migration 4's pass over the runs stored before it: it
// reads each run's first and final attempts and final pages, keeps the
// run's first-attempt result and load sample in its row (as Save now does)
// and counts it into the hourly rollups.
func backfillRuns(ctx context.Context, tx *sql.Tx) error {
	var maxID int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM runs").Scan(&maxID); err != nil {
		return err
	}
	upd, err := tx.PrepareContext(ctx, "UPDATE runs SET first_ok = ?, load_ms = ? WHERE id = ?")
	if err != nil {
		return err
	}
	defer upd.Close()
	// A chunk of ids at a time bounds memory; rollups of an hour that
	// straddles chunks are read back and added to (addTallies).
	const chunk = 100_000
	for lo := int64(0); lo < maxID; lo += chunk {
		where, args := "r.id > ? AND r.id <= ?", []any{lo, lo + chunk}
		pages, err := finalPages(ctx, tx, where, args)
		if err != nil {
			return err
		}
		tallies := hourTallies{}
		err = eachRow(ctx, tx, `SELECT r.id, r.check_name, r.type, r.location, r.scheduled_at, r.ok, r.failure_kind,
			r.failure_message, r.duration_ms, r.attempts, r.maintenance, f.has_http, f.total_ms, f.has_browser, f.cdn, f.cdn_cache, f.cdn_pop,
			CASE WHEN r.attempts > 1 THEN (SELECT a1.ok FROM attempts a1 WHERE a1.run_id = r.id AND a1.n = 1) ELSE r.ok END
			FROM runs r LEFT JOIN attempts f ON f.run_id = r.id AND f.n = r.attempts WHERE `+where, args, func(rows *sql.Rows) error {
			var (
				id, scheduled      int64
				run                probe.Run
				typ                string
				final              probe.Result
				kind, msg          sql.NullString
				attempts           int
				hasHTTP, hasBrowse sql.NullBool
				total              sql.NullFloat64
				firstOK            sql.NullBool
				cdn                [3]sql.NullString
			)
			if err := rows.Scan(&id, &run.Check, &typ, &run.Location, &scheduled, &final.OK, &kind, &msg, &final.DurationMS,
				&attempts, &run.Maintenance, &hasHTTP, &total, &hasBrowse, &cdn[0], &cdn[1], &cdn[2], &firstOK); err != nil {
				return err
			}
			storedRun(&run, typ, scheduled, &final, kind, msg)
			if hasHTTP.Bool {
				final.HTTPDetails = &probe.HTTPDetails{Timings: probe.Timings{Total: total.Float64}}
				storedEdge(&final, cdn)
			}
			if hasBrowse.Bool {
				attachPages(&final, pages[id])
			}
			run = skeleton(run, attempts, firstOK.Bool, final)
			var load any
			if ms, ok := slo.Load(run); ok {
				load = ms
			}
			if _, err := upd.ExecContext(ctx, attempts > 0 && firstOK.Bool, load, id); err != nil {
				return err
			}
			tallies.add(slo.OutcomeOf(run))
			return nil
		})
		if err != nil {
			return err
		}
		if err := addTallies(ctx, tx, tallies); err != nil {
			return err
		}
	}
	return nil
}

// hourTallies count runs into the rollups of their hours.
type hourTallies map[rollupKey]*slo.Tally

func (h hourTallies) add(o slo.Outcome) {
	k := rollupKey{o.Check, o.Location, floorHour(o.ScheduledAt.UnixNano())}
	t := h[k]
	if t == nil {
		t = &slo.Tally{Check: k.check, Location: k.location, Samples: slo.HistogramSamples()}
		h[k] = t
	}
	t.Counts.Add(o)
	t.Samples.Add(o)
}

// addTallies adds tallies to the rollups of their hours.
func addTallies(ctx context.Context, tx *sql.Tx, tallies hourTallies) error {
	for k, t := range tallies {
		names := make([]slo.PageOutcome, len(t.Samples.Pages))
		for i, p := range t.Samples.Pages {
			names[i].Name = p.Name
		}
		have, err := readRollup(ctx, tx, k, names)
		if err != nil {
			return err
		}
		have.Merge(*t)
		if err := writeRollup(ctx, tx, k, have); err != nil {
			return err
		}
	}
	return nil
}

// Tally counts the runs q selects per check and location, with the samples
// mode asks for: exactly from the runs (SamplesExact), or from the hourly
// rollups for the window's whole hours and from the runs for the partial
// hours at its edges (SamplesNone, SamplesHistogram; the counts are the same
// either way). Tallies come sorted by check and location.
func (s *Store) Tally(ctx context.Context, q probe.RunQuery, mode slo.SampleMode) ([]slo.Tally, error) {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("tally runs: %w", err)
	}
	defer tx.Rollback()
	out, err := tally(ctx, tx, q, mode)
	if err != nil {
		return nil, fmt.Errorf("tally runs: %w", err)
	}
	return out, nil
}

func tally(ctx context.Context, tx *sql.Tx, q probe.RunQuery, mode slo.SampleMode) ([]slo.Tally, error) {
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixNano()
	}
	tallies := map[[2]string]*slo.Tally{}
	get := func(check, location string) *slo.Tally {
		k := [2]string{check, location}
		t := tallies[k]
		if t == nil {
			t = &slo.Tally{Check: check, Location: location}
			if mode == slo.SamplesHistogram {
				t.Samples = slo.HistogramSamples()
			}
			tallies[k] = t
		}
		return t
	}
	raw := func(a, b int64) error {
		if a >= b {
			return nil
		}
		where, args := "r.scheduled_at >= ? AND r.scheduled_at < ?", []any{a, b}
		if q.Check != "" {
			where, args = where+" AND r.check_name = ?", append(args, q.Check)
		}
		return readOutcomes(ctx, tx, where, args, func(o slo.Outcome) error {
			t := get(o.Check, o.Location)
			t.Counts.Add(o)
			if mode == slo.SamplesHistogram {
				t.Samples.Add(o) // exact samples are read below, all at once
			}
			return nil
		})
	}
	hFrom, hTo := ceilHour(since), floorHour(until)
	if since == math.MinInt64 {
		hFrom = since
	}
	if until == math.MaxInt64 {
		hTo = until
	}
	// Counts (and histograms) from the rollups of the whole hours and the
	// runs of the partial ones; every sample from the runs when asked.
	rollupMode := mode
	if mode == slo.SamplesExact {
		rollupMode = slo.SamplesNone
	}
	if hFrom >= hTo {
		if err := raw(since, until); err != nil {
			return nil, err
		}
	} else {
		if err := raw(since, hFrom); err != nil {
			return nil, err
		}
		if err := raw(hTo, until); err != nil {
			return nil, err
		}
		if err := rollupTallies(ctx, tx, hFrom, hTo, q.Check, rollupMode, get); err != nil {
			return nil, err
		}
	}
	if mode == slo.SamplesExact {
		if err := exactSamples(ctx, tx, since, until, q.Check, get); err != nil {
			return nil, err
		}
	}
	return sortedTallies(tallies), nil
}

// rollupTallies adds the rollups of the hours [from, to) to the tallies
// get returns, with their histograms unless mode is SamplesNone.
func rollupTallies(ctx context.Context, tx *sql.Tx, from, to int64, check string, mode slo.SampleMode,
	get func(check, location string) *slo.Tally) error {
	where, args := "hour >= ? AND hour < ?", []any{from, to}
	if check != "" {
		where, args = where+" AND check_name = ?", append(args, check)
	}
	cols := rollupCols
	if mode == slo.SamplesNone {
		cols = append(cols[:len(cols)-1:len(cols)-1], "NULL") // no histograms to read
	}
	err := eachRow(ctx, tx, "SELECT "+strings.Join(cols, ", ")+" FROM rollups WHERE "+where, args, func(rows *sql.Rows) error {
		r, err := scanRollup(rows)
		if err != nil {
			return err
		}
		return r.addTo(get(r.key.check, r.key.location))
	})
	if err != nil || mode == slo.SamplesNone {
		return err
	}
	return eachRow(ctx, tx, "SELECT "+strings.Join(rollupPageCols(), ", ")+" FROM rollup_pages WHERE "+where, args,
		func(rows *sql.Rows) error {
			r, err := scanRollupPage(rows)
			if err != nil {
				return err
			}
			return r.addTo(&get(r.key.check, r.key.location).Samples)
		})
}

// exactSamples adds every sample of the runs scheduled in [since, until)
// to the tallies get returns: each run's load (kept in its row at Save)
// and the pages of its final attempt, classified by slo. Only the columns
// samples need are read, so this costs a few µs a run.
func exactSamples(ctx context.Context, tx *sql.Tx, since, until int64, check string, get func(check, location string) *slo.Tally) error {
	where, args := "r.scheduled_at >= ? AND r.scheduled_at < ?", []any{since, until}
	if check != "" {
		where, args = where+" AND r.check_name = ?", append(args, check)
	}
	// Raw bytes and a two-level map: no string is allocated per run.
	byName := map[string]map[string]*slo.Tally{}
	lookup := func(c, l sql.RawBytes) *slo.Tally {
		if t := byName[string(c)][string(l)]; t != nil {
			return t
		}
		cs, ls := string(c), string(l)
		if byName[cs] == nil {
			byName[cs] = map[string]*slo.Tally{}
		}
		t := get(cs, ls)
		byName[cs][ls] = t
		return t
	}
	err := eachRow(ctx, tx, "SELECT r.check_name, r.location, r.load_ms FROM runs r WHERE "+where+
		" AND r.maintenance = '' AND r.load_ms IS NOT NULL", args, func(rows *sql.Rows) error {
		var (
			c, l sql.RawBytes
			ms   float64
		)
		if err := rows.Scan(&c, &l, &ms); err != nil {
			return err
		}
		lookup(c, l).Samples.Load.Add(ms)
		return nil
	})
	if err != nil {
		return err
	}
	// Pages, grouped by run, of runs that measured any: not probe faults.
	var (
		cur   int64 = -1
		run   probe.Run
		pages []storedPage
	)
	flush := func() {
		if cur < 0 {
			return
		}
		final := probe.Result{OK: true}
		attachPages(&final, pages)
		run.Attempts = []probe.Result{final}
		o := slo.OutcomeOf(run)
		get(run.Check, run.Location).Samples.Add(slo.Outcome{ScheduledAt: o.ScheduledAt, Pages: o.Pages})
	}
	err = eachRow(ctx, tx, `SELECT r.id, r.check_name, r.location, r.scheduled_at, `+samplePageCols+`
		FROM runs r JOIN attempts f ON f.run_id = r.id AND f.n = r.attempts JOIN pages p ON p.attempt_id = f.id
		WHERE `+where+` AND r.type != 'http' AND r.maintenance = '' AND r.probe_fault = 0 ORDER BY p.run_id, p.idx`, args,
		func(rows *sql.Rows) error {
			var (
				id, at int64
				c, l   string
				ps     pageScan
			)
			if err := rows.Scan(append([]any{&id, &c, &l, &at}, ps.dest()...)...); err != nil {
				return err
			}
			p, err := ps.page()
			if err != nil {
				return err
			}
			if id != cur {
				flush()
				cur, run, pages = id, probe.Run{Check: c, Location: l, ScheduledAt: fromNanos(at)}, pages[:0]
			}
			pages = append(pages, p)
			return nil
		})
	flush()
	return err
}

func sortedTallies(m map[[2]string]*slo.Tally) []slo.Tally {
	out := make([]slo.Tally, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b slo.Tally) int {
		return cmp.Or(cmp.Compare(a.Check, b.Check), cmp.Compare(a.Location, b.Location))
	})
	return out
}
