// Package sqlite is storeprobe's embedded store and the source of truth for
// everything it measured: every run with all its attempts, pages and journey
// steps, the checks' targets, skipped runs, and the durable outbox that the
// InfluxDB shipper drains.
//
// It uses modernc.org/sqlite (pure Go, no cgo) in WAL mode: one writer
// connection serialises writes, so a Save never meets SQLITE_BUSY from
// another Save, while a pool of read-only connections reads concurrently.
// With synchronous=NORMAL a committed Save survives a crash or kill -9 of the
// process; only a power loss can take back the last transactions
// (WithSyncFull closes that gap at the cost of an fsync per Save).
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
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open storeprobe database. It is safe for concurrent use.
type Store struct {
	path   string
	w      *sql.DB // exactly one connection: all writes
	r      *sql.DB // read-only pool
	logger *slog.Logger
	now    func() time.Time
	// noOutbox: Save does not queue runs (no InfluxDB configured).
	noOutbox bool

	artifactMaxFiles int
	artifactMaxAge   time.Duration

	stmts stmtCache // the writer's prepared statements
}

// sqlWriter is what the write path runs its statements through: a
// transaction, or a Save's transaction with prepared statements (cachedTx).
type sqlWriter interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// stmtCache holds the writer's hot statements, prepared once at Open (on
// the writer's one connection, so every transaction reuses them as they
// are). modernc's SQLite parses a statement on every Exec otherwise, which
// was a third of a Save's CPU: a Save runs a dozen statements (run,
// attempts, pages, steps, outbox, rollups). Read-only after Open.
type stmtCache map[string]*sql.Stmt

// writerStatements are the statements Save runs.
func writerStatements() []string {
	return []string{
		insertSQL("runs", runCols), insertSQL("attempts", attemptCols), insertSQL("pages", pageCols),
		insertSQL("steps", stepCols), insertArtifactSQL, insertOutboxSQL,
		selectRollupSQL, insertRollupSQL, selectRollupPagesSQL, insertRollupPageSQL,
	}
}

func prepareWriter(ctx context.Context, db *sql.DB) (stmtCache, error) {
	c := stmtCache{}
	for _, q := range writerStatements() {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		c[q] = st
	}
	return c, nil
}

func (c stmtCache) close() {
	for _, st := range c {
		st.Close()
	}
}

// cachedTx runs a Save's statements, prepared ones where there are.
type cachedTx struct {
	tx *sql.Tx
	s  *Store
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.s.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := t.s.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// Option configures Open.
type Option func(*options)

type options struct {
	mustExist        bool
	syncFull         bool
	busyTimeout      time.Duration
	logger           *slog.Logger
	now              func() time.Time
	artifactMaxFiles int
	artifactMaxAge   time.Duration
	noOutbox         bool
}

// MustExist makes Open fail with an error wrapping fs.ErrNotExist instead of
// creating an empty database: readers such as `report` must not invent one.
func MustExist() Option { return func(o *options) { o.mustExist = true } }

// WithSyncFull makes every commit fsync (synchronous=FULL), so even a power
// loss cannot take back a Save. The default, NORMAL, is crash-safe.
func WithSyncFull() Option { return func(o *options) { o.syncFull = true } }

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process (default 10s).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithLogger sets the logger for background work (retention).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock replaces time.Now, for tests of retention and outbox age.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithArtifactLimits bounds the artifact directory: at most maxFiles files
// and none older than maxAge (0 means no bound). Defaults: 1000 files, 30 days.
func WithArtifactLimits(maxFiles int, maxAge time.Duration) Option {
	return func(o *options) { o.artifactMaxFiles, o.artifactMaxAge = maxFiles, maxAge }
}

// WithoutOutbox makes Save store runs without queueing them for InfluxDB,
// for a probe with no influxdb section: nothing would drain the queue.
// `storeprobe export --since` still ships such runs later (Requeue).
func WithoutOutbox() Option { return func(o *options) { o.noOutbox = true } }

// Open opens (creating unless MustExist) the store at path and migrates it to
// the current schema. A store written by a newer storeprobe is refused.
// Every error reads "open store PATH: ...", so callers print it as it is.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New(`open store "": empty path`)
	}
	s, err := open(ctx, path, opts...)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// open is Open without the error prefix, which Open adds in one place.
func open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{
		busyTimeout:      10 * time.Second,
		now:              time.Now,
		artifactMaxFiles: 1000,
		artifactMaxAge:   30 * 24 * time.Hour,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("path must not contain '?' or '#'")
	}
	if o.mustExist {
		if _, err := os.Stat(path); err != nil {
			// The PathError's own "stat PATH" would repeat the path.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, err
		}
	}
	sync := "NORMAL"
	if o.syncFull {
		sync = "FULL"
	}
	base := path + "?_pragma=busy_timeout(" + fmt.Sprint(o.busyTimeout.Milliseconds()) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")"

	// The writer first: it switches the file to WAL (a persistent setting)
	// and runs migrations before any reader looks at the schema. BEGIN
	// IMMEDIATE takes the write lock up front, so a transaction never fails
	// half-way with SQLITE_BUSY when upgrading a read lock.
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w, logger: o.logger, now: o.now, noOutbox: o.noOutbox,
		artifactMaxFiles: o.artifactMaxFiles, artifactMaxAge: o.artifactMaxAge}
	if err := s.checkWAL(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if s.stmts, err = prepareWriter(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	return s, nil
}

func (s *Store) checkWAL(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (is the file on a filesystem without shared memory?)", mode)
	}
	return nil
}

// ErrNewerSchema is returned by Open for a store written by a newer
// storeprobe: reading it could misinterpret data, writing it could corrupt it.
var ErrNewerSchema = errors.New("store was written by a newer storeprobe")

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&have); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("%w: schema version %d, this build knows up to %d; upgrade storeprobe", ErrNewerSchema, have, len(migrations))
	}
	for v := have; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", v+1, s.now().UnixNano()); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if err := afterMigrations(ctx, tx, have); err != nil {
		return fmt.Errorf("migrate from schema version %d: %w", have, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// ArtifactDir is where failed runs' files (screenshots, request logs) go:
// <directory of the database>/artifacts. Paths stored with runs are relative
// to it.
func (s *Store) ArtifactDir() string { return filepath.Join(filepath.Dir(s.path), "artifacts") }

// Version reports the schema version of the open store.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Integrity runs SQLite's integrity check and foreign-key check.
func (s *Store) Integrity(ctx context.Context) error {
	var problems []string
	err := eachRow(ctx, s.r, "PRAGMA integrity_check", nil, func(rows *sql.Rows) error {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var fk int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM pragma_foreign_key_check").Scan(&fk); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if fk > 0 {
		problems = append(problems, fmt.Sprintf("%d foreign key violations", fk))
	}
	if len(problems) > 0 {
		return fmt.Errorf("store %s is damaged: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}

// queryer is what eachRow reads through: a transaction or the read pool.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// eachRow runs query and hands every row to scan, stopping at its first
// error; the rows are closed whatever happens.
func eachRow(ctx context.Context, db queryer, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// columnStrings runs a query of one text column and returns its values.
func columnStrings(ctx context.Context, db queryer, query string, args []any) ([]string, error) {
	var out []string
	err := eachRow(ctx, db, query, args, func(rows *sql.Rows) error {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// Close checkpoints the WAL into the database file and closes it.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	// A truncating checkpoint leaves a single self-contained file behind
	// for backups. It must not wait: a `report` closing while the daemon
	// writes would otherwise hang for the busy timeout. Skipping it is
	// harmless (the WAL is replayed on next open).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if conn, err := s.w.Conn(ctx); err == nil {
		if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err == nil {
			var busy, logFrames, done int
			if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil || busy != 0 {
				s.logger.Debug("store checkpoint on close skipped", "path", s.path, "busy", busy, "err", err)
			}
		}
		conn.Close()
	}
	cancel()
	s.stmts.close()
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}
