package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// RunsPage reads up to limit of the runs q selects that come after the
// cursor, oldest scheduled first, each with everything below it. Walking a
// long window page by page (CursorAfter the last run of each page) keeps
// memory bounded and, unlike the outbox, leaves no state behind: it is how
// `export` reads while the daemon keeps shipping from the same store.
func (s *Store) RunsPage(ctx context.Context, q probe.RunQuery, after probe.RunCursor, limit int) ([]probe.Run, error) {
	if limit <= 0 {
		return nil, nil
	}
	where, args := queryWhere(q)
	if after != (probe.RunCursor{}) {
		where += " AND (scheduled_at > ? OR (scheduled_at = ? AND id > ?))"
		args = append(args, after.ScheduledAtNanos, after.ScheduledAtNanos, after.ID)
	}
	// loadRuns re-uses the condition for its attempt/page/step subqueries,
	// so the page is pinned as an id set rather than a LIMIT on each query.
	where = "id IN (SELECT id FROM runs WHERE " + where + " ORDER BY scheduled_at, id LIMIT ?)"
	args = append(args, limit)
	runs, err := s.readRuns(ctx, where, args)
	if err != nil {
		return nil, fmt.Errorf("read runs page: %w", err)
	}
	return runs, nil
}

// LatestScheduled is the scheduled time of the newest stored run, zero when
// there is none: where a reader that fills the store from elsewhere (the
// fleet evaluator) resumes after a restart.
func (s *Store) LatestScheduled(ctx context.Context) (time.Time, error) {
	var ns sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT MAX(scheduled_at) FROM runs").Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("latest run: %w", err)
	}
	return fromNullNanos(ns), nil
}
