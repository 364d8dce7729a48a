package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// SaveAlerts replaces the persisted alert states with states, in one
// transaction: a restart finds exactly the set of the last save.
func (s *Store) SaveAlerts(ctx context.Context, states []alert.State) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM alert_states"); err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, insertSQL("alert_states", []string{"key", "rule", "check_name", "location", "probe",
		"severity", "active", "since", "until", "notified", "notified_at", "summary", "failure_kind", "message", "screenshot"}))
	if err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	defer ins.Close()
	for _, a := range states {
		if _, err := ins.ExecContext(ctx, a.Key, a.Rule, a.Check, a.Location, a.Probe, string(a.Severity), a.Active,
			timeOrNull(a.Since), timeOrNull(a.Until), string(a.Notified), timeOrNull(a.NotifiedAt),
			a.Summary, a.FailureKind, a.Message, a.Screenshot); err != nil {
			return fmt.Errorf("save alert %s: %w", a.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	return nil
}

// LoadAlerts returns the alert states of the last SaveAlerts, by key.
func (s *Store) LoadAlerts(ctx context.Context) ([]alert.State, error) {
	var out []alert.State
	err := eachRow(ctx, s.r, `SELECT key, rule, check_name, location, probe, severity, active, since, until,
		notified, notified_at, summary, failure_kind, message, screenshot FROM alert_states ORDER BY key`, nil,
		func(rows *sql.Rows) error {
			var (
				a                       alert.State
				sev, notified           string
				since, until, notifedAt sql.NullInt64
			)
			if err := rows.Scan(&a.Key, &a.Rule, &a.Check, &a.Location, &a.Probe, &sev, &a.Active, &since, &until,
				&notified, &notifedAt, &a.Summary, &a.FailureKind, &a.Message, &a.Screenshot); err != nil {
				return err
			}
			a.Severity, a.Notified = alert.Severity(sev), alert.Status(notified)
			a.Since, a.Until, a.NotifiedAt = fromNullNanos(since), fromNullNanos(until), fromNullNanos(notifedAt)
			out = append(out, a)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load alerts: %w", err)
	}
	return out, nil
}

// RecordAlert keeps a notification handed to the notifiers in the alert
// history.
func (s *Store) RecordAlert(ctx context.Context, ev alert.Event) error {
	n := ev.Notification
	receivers, err := jsonOrNull(len(ev.Receivers) > 0, ev.Receivers)
	if err != nil {
		return err
	}
	var ended any
	if n.EndedAt != nil {
		ended = n.EndedAt.UnixNano()
	}
	_, err = s.w.ExecContext(ctx, insertSQL("alert_events", []string{"at", "key", "status", "rule", "check_name", "location",
		"probe", "severity", "summary", "started_at", "ended_at", "failure_kind", "message", "url", "runbook_url", "screenshot",
		"repeat", "receivers"}),
		ev.At.UnixNano(), n.Key, string(n.Status), n.Alert, n.Check, n.Location, n.Probe, string(n.Severity), n.Summary,
		n.StartedAt.UnixNano(), ended, n.FailureKind, n.Message, n.URL, n.RunbookURL, n.Screenshot, n.Repeat, receivers)
	if err != nil {
		return fmt.Errorf("record alert %s: %w", n.Key, err)
	}
	return nil
}

// AlertEvents returns the alert history of q's window (by the time each
// notification was handed over; q.Check selects one check), oldest first.
func (s *Store) AlertEvents(ctx context.Context, q probe.RunQuery) ([]alert.Event, error) {
	var (
		conds = "1"
		args  []any
	)
	if !q.Since.IsZero() {
		conds += " AND at >= ?"
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		conds += " AND at < ?"
		args = append(args, q.Until.UnixNano())
	}
	if q.Check != "" {
		conds += " AND check_name = ?"
		args = append(args, q.Check)
	}
	var out []alert.Event
	err := eachRow(ctx, s.r, `SELECT at, key, status, rule, check_name, location, probe, severity, summary, started_at,
		ended_at, failure_kind, message, url, runbook_url, screenshot, repeat, receivers
		FROM alert_events WHERE `+conds+` ORDER BY at, id`, args, func(rows *sql.Rows) error {
		var (
			ev          alert.Event
			at, started int64
			ended       sql.NullInt64
			status, sev string
			receivers   sql.NullString
		)
		n := &ev.Notification
		if err := rows.Scan(&at, &n.Key, &status, &n.Alert, &n.Check, &n.Location, &n.Probe, &sev, &n.Summary, &started,
			&ended, &n.FailureKind, &n.Message, &n.URL, &n.RunbookURL, &n.Screenshot, &n.Repeat, &receivers); err != nil {
			return err
		}
		ev.At, n.StartedAt = fromNanos(at), fromNanos(started)
		n.Status, n.Severity = alert.Status(status), alert.Severity(sev)
		if ended.Valid {
			t := fromNanos(ended.Int64)
			n.EndedAt = &t
		}
		if err := fromJSON(receivers, &ev.Receivers); err != nil {
			return fmt.Errorf("alert event receivers: %w", err)
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read alert events: %w", err)
	}
	return out, nil
}
