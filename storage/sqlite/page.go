package sqlite

import (
	"context"
	"fmt"

	"github.com/storeprobe/storeprobe/probe"
)

// RunCursor is a position in the (scheduled_at, id) order in which Runs and
// RunsPage return runs. The zero cursor is before the first run.
type RunCursor struct {
	ScheduledAtNanos int64
	ID               int64
}

// CursorAfter is the cursor just past run (a run read from the store).
func CursorAfter(run probe.Run) RunCursor {
	return RunCursor{ScheduledAtNanos: run.ScheduledAt.UnixNano(), ID: run.ID}
}

// RunsPage reads up to limit of the runs q selects that come after the
// cursor, oldest scheduled first, each with everything below it. Walking a
// long window page by page (CursorAfter the last run of each page) keeps
// memory bounded and, unlike the outbox, leaves no state behind: it is how
// `export` reads while the daemon keeps shipping from the same store.
func (s *Store) RunsPage(ctx context.Context, q RunQuery, after RunCursor, limit int) ([]probe.Run, error) {
	if limit <= 0 {
		return nil, nil
	}
	where, args := q.where()
	if after != (RunCursor{}) {
		where += " AND (scheduled_at > ? OR (scheduled_at = ? AND id > ?))"
		args = append(args, after.ScheduledAtNanos, after.ScheduledAtNanos, after.ID)
	}
	// loadRuns re-uses the condition for its attempt/page/step subqueries,
	// so the page is pinned as an id set rather than a LIMIT on each query.
	where = "id IN (SELECT id FROM runs WHERE " + where + " ORDER BY scheduled_at, id LIMIT ?)"
	args = append(args, limit)
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read runs page: %w", err)
	}
	defer tx.Rollback()
	runs, _, err := loadRuns(ctx, tx, where, args)
	if err != nil {
		return nil, fmt.Errorf("read runs page: %w", err)
	}
	return runs, nil
}
