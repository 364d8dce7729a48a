package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

func queryWhere(q probe.RunQuery) (string, []any) {
	var conds []string
	var args []any
	if !q.Since.IsZero() {
		conds = append(conds, "scheduled_at >= ?")
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		conds = append(conds, "scheduled_at < ?")
		args = append(args, q.Until.UnixNano())
	}
	if q.Check != "" {
		conds = append(conds, "check_name = ?")
		args = append(args, q.Check)
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// Save stores one run with every attempt, page, step and artifact, and
// queues it in the outbox (unless WithoutOutbox), in one transaction: either all of it is durable
// or none. It returns the run's id. run.ID is ignored.
func (s *Store) Save(ctx context.Context, run probe.Run) (int64, error) {
	if run.Check == "" {
		return 0, fmt.Errorf("save run: empty check name")
	}
	if run.ScheduledAt.IsZero() {
		return 0, fmt.Errorf("save run of %s: zero scheduled time", run.Check)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("save run of %s: %w", run.Check, err)
	}
	defer tx.Rollback()
	w := cachedTx{tx, s}
	id, err := insertRun(ctx, w, run)
	if err != nil {
		return 0, fmt.Errorf("save run of %s: %w", run.Check, err)
	}
	if err := addRollup(ctx, w, slo.OutcomeOf(run)); err != nil {
		return 0, fmt.Errorf("save run of %s: %w", run.Check, err)
	}
	if !s.noOutbox {
		if _, err := w.ExecContext(ctx, insertOutboxSQL, id, s.now().UnixNano()); err != nil {
			return 0, fmt.Errorf("save run of %s: queue in outbox: %w", run.Check, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("save run of %s: commit: %w", run.Check, err)
	}
	return id, nil
}

func insertRun(ctx context.Context, tx sqlWriter, run probe.Run) (int64, error) {
	final := run.Final()
	fk, fp, fm := failureCols(final.Failure)
	tags, err := jsonOrNull(len(run.Tags) > 0, run.Tags)
	if err != nil {
		return 0, err
	}
	var load any
	if ms, ok := slo.Load(run); ok {
		load = ms
	}
	res, err := tx.ExecContext(ctx, insertSQL("runs", runCols),
		run.Check, string(run.Type), run.Location, run.Probe, tags,
		run.ScheduledAt.UnixNano(), timeOrNull(run.StartedAt), probe.Millis(run.Lag),
		final.OK, fk, fp, fm, final.DurationMS, len(run.Attempts), run.ProbeFault(), run.Maintenance,
		len(run.Attempts) > 0 && run.Attempts[0].OK, load)
	if err != nil {
		return 0, fmt.Errorf("insert run: %w", err)
	}
	runID, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	for i, a := range run.Attempts {
		if err := insertAttempt(ctx, tx, runID, i+1, a); err != nil {
			return 0, fmt.Errorf("insert attempt %d: %w", i+1, err)
		}
	}
	return runID, nil
}

var runCols = []string{"check_name", "type", "location", "probe", "tags", "scheduled_at", "started_at", "lag_ms",
	"ok", "failure_kind", "failure_phase", "failure_message", "duration_ms", "attempts", "probe_fault", "maintenance",
	"first_ok", "load_ms"}

var attemptCols = []string{"run_id", "n", "check_name", "type", "url", "final_url", "ok",
	"failure_kind", "failure_phase", "failure_message", "attempt", "started_at", "duration_ms",
	"has_http", "status_code", "dns_ms", "connect_ms", "tls_ms", "wait_ms", "transfer_ms", "ttfb_ms", "redirect_ms", "total_ms",
	"has_tls", "tls_version", "tls_cipher", "cert_subject", "cert_issuer", "cert_not_after", "cert_days_left",
	"bytes", "wire_bytes", "redirects", "http_version", "remote_ip",
	"platform", "cdn", "analytics", "payment_gateways",
	"cdn_cache", "cdn_cache_raw", "cdn_pop", "cdn_pop_raw", "cdn_age_s", "warmup_requests", "warmup_failed", "security_fail_on",
	"has_browser", "device", "console_errors", "dialogs", "popups"}

var originCols = []string{"attempt_id", "run_id", "url", "final_url", "ok", "failure_kind", "failure_phase", "failure_message",
	"status_code", "dns_ms", "connect_ms", "tls_ms", "wait_ms", "transfer_ms", "ttfb_ms", "redirect_ms", "total_ms",
	"has_tls", "tls_version", "tls_cipher", "cert_subject", "cert_issuer", "cert_not_after", "cert_days_left",
	"bytes", "wire_bytes", "redirects", "http_version", "remote_ip"}

var pageCols = []string{"attempt_id", "run_id", "idx", "name", "url",
	"lcp_ms", "cls", "inp_ms", "fcp_ms", "ttfb_ms",
	"lcp_rating", "cls_rating", "inp_rating", "fcp_rating", "ttfb_rating",
	"lcp_element", "load_ms", "dcl_ms", "requests", "failed_requests", "transfer_bytes",
	"console_errors_count", "render_blocking", "js_heap_bytes",
	"soft_navigation", "settled_ms", "settle_reason", "tbt_ms", "long_tasks", "longest_task_ms", "longest_tasks",
	"resources", "third_party_requests", "third_party_bytes", "third_party_blocking_ms", "third_parties",
	"render_blocking_resources", "lcp_url", "lcp_request_start_ms", "lcp_response_end_ms",
	"lcp_load_delay_ms", "lcp_load_duration_ms", "lcp_render_delay_ms",
	"payment_provider", "payment_ready_ms", "analytics", "analytics_findings", "mixed_content", "mixed_content_count"}

var stepCols = []string{"attempt_id", "run_id", "idx", "name", "action", "ok", "skipped", "duration_ms",
	"failure_kind", "failure_phase", "failure_message"}

const (
	insertOutboxSQL   = "INSERT INTO outbox (run_id, enqueued_at) VALUES (?, ?)"
	insertArtifactSQL = "INSERT INTO artifacts (attempt_id, run_id, idx, path) VALUES (?, ?, ?, ?)"
)

func insertSQL(table string, cols []string) string {
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
}

func insertAttempt(ctx context.Context, tx sqlWriter, runID int64, n int, a probe.Result) error {
	fk, fp, fm := failureCols(a.Failure)
	vals := []any{runID, n, a.Check, string(a.Type), a.URL, a.FinalURL, a.OK, fk, fp, fm,
		a.Attempt, timeOrNull(a.StartedAt), a.DurationMS}
	if h := a.HTTPDetails; h != nil {
		t := h.Timings
		vals = append(vals, true, h.StatusCode, t.DNS, t.Connect, t.TLS, t.Wait, t.Transfer, t.TTFB, t.Redirect, t.Total)
		if c := h.TLS; c != nil {
			vals = append(vals, true, c.Version, c.Cipher, c.CertSubject, c.CertIssuer, certTime(c.CertNotAfter), c.CertDaysLeft)
		} else {
			vals = append(vals, false, nil, nil, nil, nil, nil, nil)
		}
		analytics, err := jsonOrNull(len(h.Analytics) > 0, h.Analytics)
		if err != nil {
			return err
		}
		gateways, err := jsonOrNull(len(h.PaymentGateways) > 0, h.PaymentGateways)
		if err != nil {
			return err
		}
		vals = append(vals, h.Bytes, h.WireBytes, h.Redirects, h.HTTPVersion, h.RemoteIP,
			h.Platform, cdnProvider(h.CDN), analytics, gateways)
		vals = append(vals, cdnCols(h.CDN)...)
		if w := h.Warmup; w != nil {
			vals = append(vals, w.Requests, w.Failed)
		} else {
			vals = append(vals, nil, nil)
		}
		if sr := h.Security; sr != nil {
			vals = append(vals, string(sr.FailOn))
		} else {
			vals = append(vals, nil)
		}
	} else {
		vals = append(vals, false, nil, nil, nil, nil, nil, nil, nil, nil, nil,
			false, nil, nil, nil, nil, nil, nil,
			nil, nil, nil, nil, nil,
			nil, nil, nil, nil,
			nil, nil, nil, nil, nil, nil, nil, nil)
	}
	b := a.BrowserDetails
	if b != nil {
		ce, err := jsonOrNull(len(b.ConsoleErrors) > 0, b.ConsoleErrors)
		if err != nil {
			return err
		}
		dialogs, err := jsonOrNull(len(b.Dialogs) > 0, b.Dialogs)
		if err != nil {
			return err
		}
		popups, err := jsonOrNull(len(b.Popups) > 0, b.Popups)
		if err != nil {
			return err
		}
		vals = append(vals, true, b.Device, ce, dialogs, popups)
	} else {
		vals = append(vals, false, nil, nil, nil, nil)
	}
	res, err := tx.ExecContext(ctx, insertSQL("attempts", attemptCols), vals...)
	if err != nil {
		return err
	}
	if b == nil && a.HTTPDetails == nil {
		return nil
	}
	attemptID, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if h := a.HTTPDetails; h != nil {
		if err := insertHTTPChildren(ctx, tx, attemptID, runID, h); err != nil {
			return err
		}
	}
	if b == nil {
		return nil
	}
	if b.PageMetrics != nil {
		// Named after the check and its final URL so SQL users can query
		// every page alike; read back as the embedded PageMetrics.
		url := a.FinalURL
		if url == "" {
			url = a.URL
		}
		if err := insertPage(ctx, tx, attemptID, runID, -1, a.Check, url, *b.PageMetrics); err != nil {
			return err
		}
	}
	for i, p := range b.Pages {
		if err := insertPage(ctx, tx, attemptID, runID, i, p.Name, p.URL, p.PageMetrics); err != nil {
			return err
		}
	}
	for i, st := range b.Steps {
		fk, fp, fm := failureCols(st.Failure)
		if _, err := tx.ExecContext(ctx, insertSQL("steps", stepCols),
			attemptID, runID, i, st.Name, st.Action, st.OK, st.Skipped, st.DurationMS, fk, fp, fm); err != nil {
			return fmt.Errorf("insert step %d: %w", i, err)
		}
	}
	for i, p := range b.Artifacts {
		if _, err := tx.ExecContext(ctx, insertArtifactSQL, attemptID, runID, i, p); err != nil {
			return fmt.Errorf("insert artifact %d: %w", i, err)
		}
	}
	return nil
}

// cdnCols are the CDN object's columns after cdn itself: all NULL without
// one.
func cdnCols(c *probe.CDNInfo) []any {
	if c == nil {
		return []any{nil, nil, nil, nil, nil}
	}
	var age any
	if c.AgeS != nil {
		age = *c.AgeS
	}
	return []any{string(c.Cache), c.CacheRaw, c.POP, c.POPRaw, age}
}

func cdnProvider(c *probe.CDNInfo) any {
	if c == nil {
		return nil
	}
	return c.Provider
}

// insertHTTPChildren stores an HTTP attempt's security findings and its
// origin's measurement.
func insertHTTPChildren(ctx context.Context, tx sqlWriter, attemptID, runID int64, h *probe.HTTPDetails) error {
	if sr := h.Security; sr != nil {
		for i, f := range sr.Findings {
			if _, err := tx.ExecContext(ctx, "INSERT INTO security_findings (attempt_id, run_id, idx, finding, severity, message, reference) VALUES (?, ?, ?, ?, ?, ?, ?)",
				attemptID, runID, i, f.ID, string(f.Severity), f.Message, f.Reference); err != nil {
				return fmt.Errorf("insert security finding %d: %w", i, err)
			}
		}
	}
	if o := h.Origin; o != nil {
		fk, fp, fm := failureCols(o.Failure)
		t := o.Timings
		vals := []any{attemptID, runID, o.URL, o.FinalURL, o.OK, fk, fp, fm,
			o.StatusCode, t.DNS, t.Connect, t.TLS, t.Wait, t.Transfer, t.TTFB, t.Redirect, t.Total}
		if c := o.TLS; c != nil {
			vals = append(vals, true, c.Version, c.Cipher, c.CertSubject, c.CertIssuer, certTime(c.CertNotAfter), c.CertDaysLeft)
		} else {
			vals = append(vals, false, nil, nil, nil, nil, nil, nil)
		}
		vals = append(vals, o.Bytes, o.WireBytes, o.Redirects, o.HTTPVersion, o.RemoteIP)
		if _, err := tx.ExecContext(ctx, insertSQL("origins", originCols), vals...); err != nil {
			return fmt.Errorf("insert origin: %w", err)
		}
	}
	return nil
}

func insertPage(ctx context.Context, tx sqlWriter, attemptID, runID int64, idx int, name, url string, m probe.PageMetrics) error {
	v, r := m.Vitals, m.Ratings
	tasks, err := jsonOrNull(len(m.LongestTasks) > 0, m.LongestTasks)
	if err != nil {
		return err
	}
	resources, err := jsonOrNull(true, m.Resources)
	if err != nil {
		return err
	}
	third, err := jsonOrNull(len(m.ThirdParties) > 0, m.ThirdParties)
	if err != nil {
		return err
	}
	blocking, err := jsonOrNull(len(m.RenderBlocking) > 0, m.RenderBlocking)
	if err != nil {
		return err
	}
	analytics, err := jsonOrNull(m.Analytics != nil, m.Analytics)
	if err != nil {
		return err
	}
	findings, err := jsonOrNull(len(m.AnalyticsFindings) > 0, m.AnalyticsFindings)
	if err != nil {
		return err
	}
	mixed, err := jsonOrNull(len(m.MixedContent) > 0, m.MixedContent)
	if err != nil {
		return err
	}
	lcpURL, lcp := "", [5]any{}
	if b := m.LCPBreakdown; b != nil {
		lcpURL, lcp = b.URL, [5]any{b.RequestStartMS, b.ResponseEndMS, b.LoadDelayMS, b.LoadDurationMS, b.RenderDelayMS}
	}
	_, err = tx.ExecContext(ctx, insertSQL("pages", pageCols),
		attemptID, runID, idx, name, url,
		floatOrNull(v.LCP), floatOrNull(v.CLS), floatOrNull(v.INP), floatOrNull(v.FCP), floatOrNull(v.TTFB),
		string(r.LCP), string(r.CLS), string(r.INP), string(r.FCP), string(r.TTFB),
		m.LCPElement, m.LoadMS, m.DOMContentLoadedMS, m.Requests, m.FailedRequests, m.TransferBytes,
		m.ConsoleErrorCount, m.RenderBlockingCount, m.JSHeapBytes,
		m.SoftNavigation, m.SettledMS, m.SettleReason, m.TBTMS, m.LongTasks, m.LongestTaskMS, tasks,
		resources, m.ThirdPartyRequests, m.ThirdPartyBytes, m.ThirdPartyBlockingMS, third,
		blocking, lcpURL, lcp[0], lcp[1], lcp[2], lcp[3], lcp[4],
		m.PaymentProvider, floatOrNull(m.PaymentReadyMS), analytics, findings, mixed, m.MixedContentCount)
	if err != nil {
		return fmt.Errorf("insert page %d: %w", idx, err)
	}
	return nil
}

// Runs reads back the runs q selects, oldest scheduled first, exactly as
// they were saved: every field of every attempt, page and step (empty slices
// and maps come back nil; a certificate's NotAfter keeps whole seconds, all a
// certificate has). TestRoundTrip holds this to a run with every field set.
func (s *Store) Runs(ctx context.Context, q probe.RunQuery) ([]probe.Run, error) {
	where, args := queryWhere(q)
	runs, err := s.readRuns(ctx, where, args)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return runs, nil
}

// readRuns is loadRuns in a read transaction of its own, so the runs and
// everything below them come from one snapshot even while Saves commit.
func (s *Store) readRuns(ctx context.Context, where string, args []any) ([]probe.Run, error) {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	runs, _, err := loadRuns(ctx, tx, where, args)
	return runs, err
}

// loadRuns reads the runs matching where (an SQL condition on the runs
// table) with everything below them. It returns them ordered by scheduled
// time and an index from run id to position.
func loadRuns(ctx context.Context, tx *sql.Tx, where string, args []any) ([]probe.Run, map[int64]int, error) {
	var runs []probe.Run
	byID := map[int64]int{}
	err := eachRow(ctx, tx, "SELECT id, check_name, type, location, probe, tags, scheduled_at, started_at, lag_ms, maintenance "+
		"FROM runs WHERE "+where+" ORDER BY scheduled_at, id", args, func(rows *sql.Rows) error {
		var (
			r         probe.Run
			typ       string
			tags      sql.NullString
			scheduled int64
			started   sql.NullInt64
			lagMS     float64
		)
		if err := rows.Scan(&r.ID, &r.Check, &typ, &r.Location, &r.Probe, &tags, &scheduled, &started, &lagMS, &r.Maintenance); err != nil {
			return err
		}
		r.Type = probe.CheckType(typ)
		r.ScheduledAt = fromNanos(scheduled)
		r.StartedAt = fromNullNanos(started)
		r.Lag = time.Duration(math.Round(lagMS * float64(time.Millisecond)))
		if err := fromJSON(tags, &r.Tags); err != nil {
			return fmt.Errorf("run %d tags: %w", r.ID, err)
		}
		byID[r.ID] = len(runs)
		runs = append(runs, r)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(runs) == 0 {
		return nil, byID, nil
	}
	// The tables below are read whole for the selected runs, one query each,
	// rather than per run: a month of runs is four queries, not thousands.
	sub := "run_id IN (SELECT id FROM runs WHERE " + where + ")"

	// attempts: remember where each lands, by index (slices grow).
	type slot struct{ run, attempt int }
	attempts := map[int64]slot{}
	err = eachRow(ctx, tx, "SELECT id, "+strings.Join(attemptCols, ", ")+
		" FROM attempts WHERE "+sub+" ORDER BY run_id, n", args, func(rows *sql.Rows) error {
		id, runID, a, err := scanAttempt(rows)
		if err != nil {
			return err
		}
		if i, ok := byID[runID]; ok {
			attempts[id] = slot{i, len(runs[i].Attempts)}
			runs[i].Attempts = append(runs[i].Attempts, a)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	browser := func(attemptID int64) *probe.BrowserDetails {
		sl, ok := attempts[attemptID]
		if !ok {
			return nil
		}
		return runs[sl.run].Attempts[sl.attempt].BrowserDetails
	}
	httpOf := func(attemptID int64) *probe.HTTPDetails {
		sl, ok := attempts[attemptID]
		if !ok {
			return nil
		}
		return runs[sl.run].Attempts[sl.attempt].HTTPDetails
	}
	if err := loadHTTPChildren(ctx, tx, sub, args, httpOf); err != nil {
		return nil, nil, err
	}

	err = eachRow(ctx, tx, "SELECT attempt_id, idx, name, url, "+strings.Join(pageCols[5:], ", ")+
		" FROM pages WHERE "+sub+" ORDER BY attempt_id, idx", args, func(rows *sql.Rows) error {
		var (
			attemptID int64
			idx       int
			p         probe.PageResult
			m         = &p.PageMetrics
			v         [5]sql.NullFloat64
			rt        [5]string
			tasks     sql.NullString
			resources sql.NullString
			third     sql.NullString
			blocking  sql.NullString
			lcpURL    string
			lcp       [5]sql.NullFloat64
			payReady  sql.NullFloat64
			analytics sql.NullString
			findings  sql.NullString
			mixed     sql.NullString
		)
		if err := rows.Scan(&attemptID, &idx, &p.Name, &p.URL, &v[0], &v[1], &v[2], &v[3], &v[4],
			&rt[0], &rt[1], &rt[2], &rt[3], &rt[4], &m.LCPElement, &m.LoadMS, &m.DOMContentLoadedMS,
			&m.Requests, &m.FailedRequests, &m.TransferBytes, &m.ConsoleErrorCount, &m.RenderBlockingCount, &m.JSHeapBytes,
			&m.SoftNavigation, &m.SettledMS, &m.SettleReason, &m.TBTMS, &m.LongTasks, &m.LongestTaskMS, &tasks,
			&resources, &m.ThirdPartyRequests, &m.ThirdPartyBytes, &m.ThirdPartyBlockingMS, &third,
			&blocking, &lcpURL, &lcp[0], &lcp[1], &lcp[2], &lcp[3], &lcp[4], &m.PaymentProvider, &payReady,
			&analytics, &findings, &mixed, &m.MixedContentCount); err != nil {
			return err
		}
		for _, j := range []struct {
			col sql.NullString
			v   any
		}{{tasks, &m.LongestTasks}, {resources, &m.Resources}, {third, &m.ThirdParties}, {blocking, &m.RenderBlocking},
			{analytics, &m.Analytics}, {findings, &m.AnalyticsFindings}, {mixed, &m.MixedContent}} {
			if err := fromJSON(j.col, j.v); err != nil {
				return fmt.Errorf("page %d of attempt %d: %w", idx, attemptID, err)
			}
		}
		if lcp[2].Valid {
			m.LCPBreakdown = &probe.LCPBreakdown{URL: lcpURL, RequestStartMS: lcp[0].Float64, ResponseEndMS: lcp[1].Float64,
				LoadDelayMS: lcp[2].Float64, LoadDurationMS: lcp[3].Float64, RenderDelayMS: lcp[4].Float64}
		}
		m.PaymentReadyMS = nullFloat(payReady)
		m.Vitals = probe.Vitals{LCP: nullFloat(v[0]), CLS: nullFloat(v[1]), INP: nullFloat(v[2]), FCP: nullFloat(v[3]), TTFB: nullFloat(v[4])}
		m.Ratings = probe.Ratings{LCP: probe.Rating(rt[0]), CLS: probe.Rating(rt[1]), INP: probe.Rating(rt[2]),
			FCP: probe.Rating(rt[3]), TTFB: probe.Rating(rt[4])}
		b := browser(attemptID)
		switch {
		case b == nil:
		case idx < 0:
			pm := p.PageMetrics
			b.PageMetrics = &pm
		default:
			b.Pages = append(b.Pages, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}

	err = eachRow(ctx, tx, "SELECT attempt_id, name, action, ok, skipped, duration_ms, failure_kind, failure_phase, failure_message"+
		" FROM steps WHERE "+sub+" ORDER BY attempt_id, idx", args, func(rows *sql.Rows) error {
		var (
			attemptID  int64
			st         probe.StepResult
			fk, fp, fm sql.NullString
		)
		if err := rows.Scan(&attemptID, &st.Name, &st.Action, &st.OK, &st.Skipped, &st.DurationMS, &fk, &fp, &fm); err != nil {
			return err
		}
		st.Failure = failureOf(fk, fp, fm)
		if b := browser(attemptID); b != nil {
			b.Steps = append(b.Steps, st)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}

	err = eachRow(ctx, tx, "SELECT attempt_id, path FROM artifacts WHERE "+sub+" ORDER BY attempt_id, idx", args,
		func(rows *sql.Rows) error {
			var (
				attemptID int64
				path      string
			)
			if err := rows.Scan(&attemptID, &path); err != nil {
				return err
			}
			if b := browser(attemptID); b != nil {
				b.Artifacts = append(b.Artifacts, path)
			}
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	return runs, byID, nil
}

// loadHTTPChildren reads the security findings and origin measurements of
// the attempts sub selects into their HTTP details.
func loadHTTPChildren(ctx context.Context, tx *sql.Tx, sub string, args []any, httpOf func(int64) *probe.HTTPDetails) error {
	err := eachRow(ctx, tx, "SELECT attempt_id, finding, severity, message, reference FROM security_findings WHERE "+sub+
		" ORDER BY attempt_id, idx", args, func(rows *sql.Rows) error {
		var (
			attemptID int64
			f         probe.SecurityFinding
			severity  string
		)
		if err := rows.Scan(&attemptID, &f.ID, &severity, &f.Message, &f.Reference); err != nil {
			return err
		}
		f.Severity = probe.Severity(severity)
		if h := httpOf(attemptID); h != nil && h.Security != nil {
			h.Security.Findings = append(h.Security.Findings, f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return eachRow(ctx, tx, "SELECT "+strings.Join(originCols, ", ")+" FROM origins WHERE "+sub+" ORDER BY attempt_id", args,
		func(rows *sql.Rows) error {
			var (
				attemptID, runID             int64
				o                            probe.OriginResult
				fk, fp, fm                   sql.NullString
				t                            *probe.Timings = &o.Timings
				hasTLS                       bool
				tlsVer, cipher, subj, issuer sql.NullString
				notAfter                     sql.NullInt64
				daysLeft                     sql.NullFloat64
			)
			if err := rows.Scan(&attemptID, &runID, &o.URL, &o.FinalURL, &o.OK, &fk, &fp, &fm,
				&o.StatusCode, &t.DNS, &t.Connect, &t.TLS, &t.Wait, &t.Transfer, &t.TTFB, &t.Redirect, &t.Total,
				&hasTLS, &tlsVer, &cipher, &subj, &issuer, &notAfter, &daysLeft,
				&o.Bytes, &o.WireBytes, &o.Redirects, &o.HTTPVersion, &o.RemoteIP); err != nil {
				return err
			}
			o.Failure = failureOf(fk, fp, fm)
			if hasTLS {
				o.TLS = tlsOf(tlsVer, cipher, subj, issuer, notAfter, daysLeft)
			}
			if h := httpOf(attemptID); h != nil {
				h.Origin = &o
			}
			return nil
		})
}

// tlsOf reads the TLS columns attempts and origins share.
func tlsOf(ver, cipher, subj, issuer sql.NullString, notAfter sql.NullInt64, daysLeft sql.NullFloat64) *probe.TLSInfo {
	t := &probe.TLSInfo{Version: ver.String, Cipher: cipher.String, CertSubject: subj.String,
		CertIssuer: issuer.String, CertDaysLeft: daysLeft.Float64}
	if notAfter.Valid {
		t.CertNotAfter = time.Unix(notAfter.Int64, 0).UTC()
	}
	return t
}

func scanAttempt(rows *sql.Rows) (id, runID int64, a probe.Result, err error) {
	var (
		n, attempt                   int
		typ                          string
		fk, fp, fm                   sql.NullString
		started                      sql.NullInt64
		hasHTTP, hasTLS, hasBrowser  bool
		status, redirects            sql.NullInt64
		t                            [8]sql.NullFloat64
		tlsVer, cipher, subj, issuer sql.NullString
		notAfter                     sql.NullInt64
		daysLeft                     sql.NullFloat64
		bytes, wire                  sql.NullInt64
		httpVer, remoteIP            sql.NullString
		platform, cdn                sql.NullString
		analytics, gateways          sql.NullString
		cacheSt, cacheRaw            sql.NullString
		pop, popRaw                  sql.NullString
		ageS                         sql.NullInt64
		warmReq, warmFailed          sql.NullInt64
		secFailOn                    sql.NullString
		device, consoleErrs          sql.NullString
		dialogs, popups              sql.NullString
	)
	err = rows.Scan(&id, &runID, &n, &a.Check, &typ, &a.URL, &a.FinalURL, &a.OK, &fk, &fp, &fm,
		&attempt, &started, &a.DurationMS,
		&hasHTTP, &status, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7],
		&hasTLS, &tlsVer, &cipher, &subj, &issuer, &notAfter, &daysLeft,
		&bytes, &wire, &redirects, &httpVer, &remoteIP,
		&platform, &cdn, &analytics, &gateways,
		&cacheSt, &cacheRaw, &pop, &popRaw, &ageS, &warmReq, &warmFailed, &secFailOn,
		&hasBrowser, &device, &consoleErrs, &dialogs, &popups)
	if err != nil {
		return 0, 0, a, err
	}
	a.Type = probe.CheckType(typ)
	a.Failure = failureOf(fk, fp, fm)
	a.Attempt = attempt
	a.StartedAt = fromNullNanos(started)
	if hasHTTP {
		h := &probe.HTTPDetails{
			StatusCode: int(status.Int64),
			Timings: probe.Timings{DNS: t[0].Float64, Connect: t[1].Float64, TLS: t[2].Float64, Wait: t[3].Float64,
				Transfer: t[4].Float64, TTFB: t[5].Float64, Redirect: t[6].Float64, Total: t[7].Float64},
			Bytes: bytes.Int64, WireBytes: wire.Int64, Redirects: int(redirects.Int64),
			HTTPVersion: httpVer.String, RemoteIP: remoteIP.String,
			Platform: platform.String,
		}
		if cdn.String != "" {
			h.CDN = &probe.CDNInfo{Provider: cdn.String, Cache: probe.CacheStatus(orUnknown(cacheSt, string(probe.CacheUnknown))),
				CacheRaw: cacheRaw.String, POP: orUnknown(pop, probe.UnknownPOP), POPRaw: popRaw.String}
			if ageS.Valid {
				v := ageS.Int64
				h.CDN.AgeS = &v
			}
		}
		if warmReq.Valid {
			h.Warmup = &probe.Warmup{Requests: int(warmReq.Int64), Failed: int(warmFailed.Int64)}
		}
		if secFailOn.Valid {
			h.Security = &probe.SecurityReport{FailOn: probe.Severity(secFailOn.String)}
		}
		if err := fromJSON(analytics, &h.Analytics); err != nil {
			return 0, 0, a, fmt.Errorf("attempt %d analytics: %w", id, err)
		}
		if err := fromJSON(gateways, &h.PaymentGateways); err != nil {
			return 0, 0, a, fmt.Errorf("attempt %d payment gateways: %w", id, err)
		}
		if hasTLS {
			h.TLS = tlsOf(tlsVer, cipher, subj, issuer, notAfter, daysLeft)
		}
		a.HTTPDetails = h
	}
	if hasBrowser {
		b := &probe.BrowserDetails{Device: device.String}
		if err := fromJSON(consoleErrs, &b.ConsoleErrors); err != nil {
			return 0, 0, a, fmt.Errorf("attempt %d console errors: %w", id, err)
		}
		if err := fromJSON(dialogs, &b.Dialogs); err != nil {
			return 0, 0, a, fmt.Errorf("attempt %d dialogs: %w", id, err)
		}
		if err := fromJSON(popups, &b.Popups); err != nil {
			return 0, 0, a, fmt.Errorf("attempt %d popups: %w", id, err)
		}
		a.BrowserDetails = b
	}
	return id, runID, a, nil
}

// orUnknown reads a CDN column that attempts stored before migration 5
// left NULL: what they did not record is unknown.
func orUnknown(v sql.NullString, unknown string) string {
	if !v.Valid || v.String == "" {
		return unknown
	}
	return v.String
}

func failureCols(f *probe.Failure) (kind, phase, msg any) {
	if f == nil {
		return nil, nil, nil
	}
	return string(f.Kind), string(f.Phase), f.Message
}

func failureOf(kind, phase, msg sql.NullString) *probe.Failure {
	if !kind.Valid {
		return nil
	}
	return &probe.Failure{Kind: probe.FailureKind(kind.String), Phase: probe.Phase(phase.String), Message: msg.String}
}

func jsonOrNull(present bool, v any) (any, error) {
	if !present {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// fromJSON decodes what jsonOrNull stored into v, leaving v alone for NULL.
func fromJSON(col sql.NullString, v any) error {
	if !col.Valid {
		return nil
	}
	return json.Unmarshal([]byte(col.String), v)
}

func floatOrNull(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}

// timeOrNull stores a time as Unix nanoseconds; the zero time as NULL.
func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// certTime stores a certificate's NotAfter in whole seconds: certificates
// carry no finer precision, and far-future dates (year 9999) do not fit in
// int64 nanoseconds.
func certTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func fromNullNanos(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromNanos(v.Int64)
}
