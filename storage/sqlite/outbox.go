package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// The outbox holds every saved run until the InfluxDB shipper has it
// acknowledged. Save queues a run in the same transaction that stores it, so
// a run is never stored without being queued, nor queued without being
// stored; Ack removes entries only after the remote side confirmed them.
// Shipping is at-least-once: a crash between a write and its Ack re-sends,
// which InfluxDB absorbs because a point's timestamp is the run's scheduled
// time.

// Pending returns up to limit queued runs, oldest first.
func (s *Store) Pending(ctx context.Context, limit int) ([]probe.OutboxEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer tx.Rollback()
	type entry struct{ seq, run int64 }
	var entries []entry
	err = eachRow(ctx, tx, "SELECT seq, run_id FROM outbox ORDER BY seq LIMIT ?", []any{limit}, func(rows *sql.Rows) error {
		var e entry
		if err := rows.Scan(&e.seq, &e.run); err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	if len(entries) == 0 {
		return nil, nil
	}
	// Entries are contiguous in seq order, so a seq range selects their runs.
	runs, byID, err := loadRuns(ctx, tx,
		"id IN (SELECT run_id FROM outbox WHERE seq BETWEEN ? AND ?)",
		[]any{entries[0].seq, entries[len(entries)-1].seq})
	if err != nil {
		return nil, fmt.Errorf("read outbox runs: %w", err)
	}
	out := make([]probe.OutboxEntry, 0, len(entries))
	for _, e := range entries {
		if i, ok := byID[e.run]; ok {
			out = append(out, probe.OutboxEntry{Seq: e.seq, Run: runs[i]})
		}
	}
	return out, nil
}

// Ack removes shipped entries from the outbox. Unknown seqs are ignored, so
// acknowledging twice is harmless.
func (s *Store) Ack(ctx context.Context, seqs ...int64) error {
	if len(seqs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ack outbox: %w", err)
	}
	defer tx.Rollback()
	const chunk = 500
	for len(seqs) > 0 {
		n := min(chunk, len(seqs))
		args := make([]any, n)
		for i, q := range seqs[:n] {
			args[i] = q
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE seq IN ("+placeholders(n)+")", args...); err != nil {
			return fmt.Errorf("ack outbox: %w", err)
		}
		seqs = seqs[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ack outbox: %w", err)
	}
	return nil
}

// Reject parks one poisoned point (line) of outbox entry seq with InfluxDB's
// reason and counts it. It does not remove the entry: a run has several
// points, and the entry is done only when the shipper Acks it after the
// others were written. Rejecting the same line of the same entry again (a
// retry after a crash) is a no-op, so the count stays true.
func (s *Store) Reject(ctx context.Context, seq int64, line, reason string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reject point: %w", err)
	}
	defer tx.Rollback()
	var (
		runID sql.NullInt64
		check sql.NullString
	)
	err = tx.QueryRowContext(ctx, "SELECT o.run_id, r.check_name FROM outbox o JOIN runs r ON r.id = o.run_id WHERE o.seq = ?", seq).
		Scan(&runID, &check)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("reject point: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO rejected_points (seq, run_id, check_name, line, reason, rejected_at)
		VALUES (?, ?, ?, ?, ?, ?)`, seq, runID, check.String, line, reason, s.now().UnixNano())
	if err != nil {
		return fmt.Errorf("reject point: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE counters SET value = value + ? WHERE name = 'points_rejected'", n); err != nil {
			return fmt.Errorf("reject point: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reject point: %w", err)
	}
	return nil
}

// Rejected returns up to limit rejected points, newest first.
func (s *Store) Rejected(ctx context.Context, limit int) ([]probe.RejectedPoint, error) {
	var out []probe.RejectedPoint
	err := eachRow(ctx, s.r, `SELECT id, seq, run_id, check_name, line, reason, rejected_at
		FROM rejected_points ORDER BY id DESC LIMIT ?`, []any{limit}, func(rows *sql.Rows) error {
		var (
			p     probe.RejectedPoint
			runID sql.NullInt64
			at    int64
		)
		if err := rows.Scan(&p.ID, &p.Seq, &runID, &p.Check, &p.Line, &p.Reason, &at); err != nil {
			return err
		}
		p.RunID = runID.Int64
		p.RejectedAt = fromNanos(at)
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rejected points: %w", err)
	}
	return out, nil
}

// OutboxStats reports the outbox's depth, age and counters.
func (s *Store) OutboxStats(ctx context.Context) (probe.OutboxStats, error) {
	var (
		st     probe.OutboxStats
		oldest sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox),
		(SELECT MIN(enqueued_at) FROM outbox),
		(SELECT value FROM counters WHERE name = 'points_rejected'),
		(SELECT value FROM counters WHERE name = 'outbox_dropped')`).Scan(&st.Depth, &oldest, &st.Rejected, &st.Dropped)
	if err != nil {
		return probe.OutboxStats{}, fmt.Errorf("read outbox stats: %w", err)
	}
	st.Oldest = fromNullNanos(oldest)
	return st, nil
}

// TrimOutbox enforces the outbox cap: it drops the oldest entries beyond
// maxRows and those queued longer than maxAge (0 means no bound), adds them
// to the persistent dropped counter and logs a warning. The runs themselves
// stay in the store (only shipping gives up on them); `export --since`
// can requeue them.
func (s *Store) TrimOutbox(ctx context.Context, maxRows int64, maxAge time.Duration) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("trim outbox: %w", err)
	}
	defer tx.Rollback()
	var dropped int64
	if maxAge > 0 {
		res, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE enqueued_at < ?", s.now().Add(-maxAge).UnixNano())
		if err != nil {
			return 0, fmt.Errorf("trim outbox by age: %w", err)
		}
		n, _ := res.RowsAffected()
		dropped += n
	}
	if maxRows > 0 {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <=
			(SELECT seq FROM outbox ORDER BY seq DESC LIMIT 1 OFFSET ?)`, maxRows)
		if err != nil {
			return 0, fmt.Errorf("trim outbox by size: %w", err)
		}
		n, _ := res.RowsAffected()
		dropped += n
	}
	if dropped > 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE counters SET value = value + ? WHERE name = 'outbox_dropped'", dropped); err != nil {
			return 0, fmt.Errorf("trim outbox: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("trim outbox: %w", err)
	}
	// The count is returned and kept in the persistent counter; the caller
	// (the shipper) makes the loud log line, once.
	return dropped, nil
}

// Requeue puts the stored runs q selects back in the outbox (for a backfill
// with `export --since`), skipping runs already queued. It returns how many
// were queued.
func (s *Store) Requeue(ctx context.Context, q probe.RunQuery) (int64, error) {
	where, args := queryWhere(q)
	args = append([]any{s.now().UnixNano()}, args...)
	res, err := s.w.ExecContext(ctx, `INSERT INTO outbox (run_id, enqueued_at)
		SELECT id, ? FROM runs WHERE `+where+` AND id NOT IN (SELECT run_id FROM outbox)
		ORDER BY scheduled_at, id`, args...)
	if err != nil {
		return 0, fmt.Errorf("requeue runs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("requeue runs: %w", err)
	}
	return n, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
