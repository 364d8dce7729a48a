package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// pruneBatch bounds how many runs one retention transaction deletes, so the
// single writer is never held long enough to delay the scheduler's Saves.
const pruneBatch = 2000

// Prune deletes runs scheduled before before, with their attempts, pages,
// steps and artifact rows, plus skips and rejected points older than before.
// It returns the number of runs deleted.
//
// Runs still waiting in the outbox are kept whatever their age: deleting them
// would lose data InfluxDB has not seen yet. The outbox cap (TrimOutbox) is
// what bounds them; once trimmed, they are pruned like any other run.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := before.UnixNano()
	var total int64
	for {
		n, err := s.pruneBatch(ctx, cut)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune runs: %w", err)
		}
		if n < pruneBatch {
			break
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM skips WHERE scheduled_at < ?", cut); err != nil {
		return total, fmt.Errorf("prune skips: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM rejected_points WHERE rejected_at < ?", cut); err != nil {
		return total, fmt.Errorf("prune rejected points: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM alert_events WHERE at < ?", cut); err != nil {
		return total, fmt.Errorf("prune alert events: %w", err)
	}
	return total, nil
}

// pruneBatch deletes up to pruneBatch prunable runs scheduled before cut,
// and recounts the rollups of the hours they leave (runs still in the
// outbox may stay behind in them), in one transaction.
func (s *Store) pruneBatch(ctx context.Context, cut int64) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var ids []any
	hours := map[rollupKey]bool{}
	err = eachRow(ctx, tx, `SELECT id, check_name, scheduled_at FROM runs
		WHERE scheduled_at < ? AND id NOT IN (SELECT run_id FROM outbox) ORDER BY scheduled_at LIMIT ?`,
		[]any{cut, pruneBatch}, func(rows *sql.Rows) error {
			var (
				id, at int64
				check  string
			)
			if err := rows.Scan(&id, &check, &at); err != nil {
				return err
			}
			ids = append(ids, id)
			hours[rollupKey{check: check, hour: floorHour(at)}] = true
			return nil
		})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE id IN ("+placeholders(len(ids))+")", ids...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	for k := range hours {
		if err := rebuildRollups(ctx, tx, k.hour, k.hour+hourNanos, k.check); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

// PruneArtifacts bounds the artifact directory to the configured count and
// age (WithArtifactLimits): files older than the age go first, then the
// oldest beyond the count. Emptied subdirectories are removed. It returns
// how many files it deleted; a missing directory is not an error.
func (s *Store) PruneArtifacts() (int, error) {
	dir := s.ArtifactDir()
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if p != dir {
				dirs = append(dirs, p)
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		files = append(files, file{p, info.ModTime()})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune artifacts in %s: %w", dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	var doomed []string
	cut := s.now().Add(-s.artifactMaxAge)
	keep := files[:0]
	for _, f := range files {
		if s.artifactMaxAge > 0 && f.mod.Before(cut) {
			doomed = append(doomed, f.path)
		} else {
			keep = append(keep, f)
		}
	}
	if s.artifactMaxFiles > 0 && len(keep) > s.artifactMaxFiles {
		for _, f := range keep[:len(keep)-s.artifactMaxFiles] {
			doomed = append(doomed, f.path)
		}
	}
	removed := 0
	var errs []error
	for _, p := range doomed {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	// Deepest first, so parents empty out after their children; a
	// non-empty directory simply refuses.
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		_ = os.Remove(d)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("prune artifacts in %s: %w", dir, err)
	}
	return removed, nil
}

// RunRetention prunes runs older than keep, and the artifact directory, now
// and then every period, until ctx ends. Failures are logged and retried at
// the next tick: retention must never stop the daemon.
func (s *Store) RunRetention(ctx context.Context, every, keep time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = s.logger
	}
	if every <= 0 {
		every = time.Hour
	}
	prune := func() {
		start := s.now()
		n, err := s.Prune(ctx, start.Add(-keep))
		if err != nil && ctx.Err() == nil {
			logger.Error("retention: pruning runs failed", "err", err)
		}
		files, ferr := s.PruneArtifacts()
		if ferr != nil {
			logger.Error("retention: pruning artifacts failed", "err", ferr)
		}
		if n > 0 || files > 0 {
			logger.Info("retention: pruned", "runs", n, "artifact_files", files,
				"older_than", start.Add(-keep).UTC().Format(time.RFC3339), "took", s.now().Sub(start).String())
		}
	}
	prune()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			prune()
		}
	}
}
