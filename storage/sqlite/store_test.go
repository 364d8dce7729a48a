package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func TestRoundTrip(t *testing.T) {
	// A field added to the domain is zero here until the fixture sets it,
	// and then the store must keep it for the comparison below to pass.
	if zero := zeroFields(fullRun(t0)); len(zero) > 0 {
		t.Fatalf("fullRun leaves %s zero: set every field, so the round trip below covers it", strings.Join(zero, ", "))
	}
	ctx := context.Background()
	s, _ := openTemp(t)
	tests := []struct {
		name string
		run  probe.Run
	}{
		{"http with retry and tls", httpRun(t0)},
		{"browser page with nil inp", browserRun(t0.Add(time.Minute))},
		{"journey with steps pages artifacts", journeyRun(t0.Add(2 * time.Minute))},
		{"no attempts", probe.Run{Check: "empty", Type: probe.TypeHTTP, ScheduledAt: t0.Add(3 * time.Minute)}},
		{"http without tls", func() probe.Run {
			r := httpRun(t0.Add(4 * time.Minute))
			r.Check, r.Tags, r.Attempts = "plain", nil, r.Attempts[1:]
			r.Attempts[0].HTTPDetails.TLS = nil
			return r
		}()},
		{"every field set", fullRun(t0.Add(5 * time.Minute))},
	}
	var want []probe.Run
	for _, tt := range tests {
		id, err := s.Save(ctx, tt.run)
		if err != nil {
			t.Fatalf("%s: Save: %v", tt.name, err)
		}
		r := tt.run
		r.ID = id
		want = append(want, r)
	}
	got, err := s.Runs(ctx, probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d runs, want %d", len(got), len(want))
	}
	for i, tt := range tests {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: round trip differs:\n%s", tt.name, strings.Join(differences(got[i], want[i]), "\n"))
		}
	}
	// The nil vital stays nil, not zero: zero would read as a perfect INP.
	if v := got[1].Final().PageMetrics.Vitals.INP; v != nil {
		t.Errorf("unobserved INP came back as %v", *v)
	}
}

func TestRunsQuery(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	for i := range 6 {
		r := httpRun(t0.Add(time.Duration(i) * time.Minute))
		if i%2 == 1 {
			r.Check = "other"
		}
		if _, err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		q    probe.RunQuery
		want []time.Duration // offsets from t0 of the runs expected, in order
	}{
		{"all", probe.RunQuery{}, []time.Duration{0, 1, 2, 3, 4, 5}},
		{"since inclusive", probe.RunQuery{Since: t0.Add(2 * time.Minute)}, []time.Duration{2, 3, 4, 5}},
		{"until exclusive", probe.RunQuery{Until: t0.Add(2 * time.Minute)}, []time.Duration{0, 1}},
		{"window and check", probe.RunQuery{Since: t0.Add(time.Minute), Until: t0.Add(5 * time.Minute), Check: "other"}, []time.Duration{1, 3}},
		{"unknown check", probe.RunQuery{Check: "nope"}, nil},
	}
	names, err := s.RunCheckNames(ctx, probe.RunQuery{Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)})
	if err != nil || !reflect.DeepEqual(names, []string{"other"}) {
		t.Errorf("RunCheckNames = %v, %v; want [other]", names, err)
	}
	if names, _ := s.RunCheckNames(ctx, probe.RunQuery{}); !reflect.DeepEqual(names, []string{"home", "other"}) {
		t.Errorf("RunCheckNames(all) = %v", names)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Runs(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var offs []time.Duration
			for _, r := range got {
				offs = append(offs, r.ScheduledAt.Sub(t0)/time.Minute)
				if len(r.Attempts) != 2 {
					t.Errorf("run %d has %d attempts, want 2", r.ID, len(r.Attempts))
				}
			}
			if !reflect.DeepEqual(offs, tt.want) {
				t.Errorf("got runs at %v, want %v", offs, tt.want)
			}
		})
	}
}

func TestSaveRejectsBadRuns(t *testing.T) {
	s, _ := openTemp(t)
	for _, r := range []probe.Run{
		{Type: probe.TypeHTTP, ScheduledAt: t0},
		{Check: "x", Type: probe.TypeHTTP},
	} {
		if _, err := s.Save(context.Background(), r); err == nil {
			t.Errorf("Save(%+v) succeeded, want an error", r)
		}
	}
}

func TestOpenAndMigrations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("fresh then existing v1", func(t *testing.T) {
		path := filepath.Join(dir, "v1.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Version(ctx); err != nil || v != SchemaVersion() {
			t.Fatalf("fresh store version = %d, %v; want %d", v, err, SchemaVersion())
		}
		id, err := s.Save(ctx, httpRun(t0))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(ctx, path, MustExist())
		if err != nil {
			t.Fatalf("reopen existing store: %v", err)
		}
		defer s.Close()
		runs, err := s.Runs(ctx, probe.RunQuery{})
		if err != nil || len(runs) != 1 || runs[0].ID != id {
			t.Fatalf("after reopen: %d runs, %v; want run %d", len(runs), err, id)
		}
		var mode string
		if err := s.r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		var fk int
		if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		var sync int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
			t.Errorf("synchronous = %d, %v; want 1 (NORMAL)", sync, err)
		}
		var versions int
		if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&versions); err != nil || versions != SchemaVersion() {
			t.Errorf("schema_version rows = %d, %v; a reopen must not re-apply migrations", versions, err)
		}
	})

	t.Run("must exist", func(t *testing.T) {
		path := filepath.Join(dir, "missing.db")
		_, err := Open(ctx, path, MustExist())
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want fs.ErrNotExist", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("MustExist created %s", path)
		}
	})
}

func TestChecksAndSkips(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	c := probe.Check{
		Name: "login", Type: probe.TypeHTTP, URL: "https://user:hunter22@shop.test/login?api_key=abc123&x=1",
		Schedule: "@every 1m", Location: "eu", Probe: "p1", Tags: map[string]string{"team": "web"},
		SLO: probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second, Success: 99, CWVGood: 90, PaymentReady: 1500 * time.Millisecond,
			Preset: "payment", FromPreset: probe.Targets(0).With(probe.TargetUptime).With(probe.TargetSuccess)},
	}
	if err := s.SaveCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.SLO.Uptime = 99.5 // an update replaces the old definition
	if err := s.SaveCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Checks(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("Checks = %v, %v", got, err)
	}
	g := got[0]
	if strings.Contains(g.URL, "hunter22") || strings.Contains(g.URL, "abc123") {
		t.Errorf("stored URL %q keeps a secret", g.URL)
	}
	if g.SLO != c.SLO || g.Schedule != c.Schedule || g.Type != c.Type || !reflect.DeepEqual(g.Tags, c.Tags) {
		t.Errorf("stored check = %+v, want targets %+v", g, c.SLO)
	}

	for i, reason := range []string{"previous run still going", "concurrency limit"} {
		if err := s.RecordSkip(ctx, "login", t0.Add(time.Duration(i)*time.Minute), reason); err != nil {
			t.Fatal(err)
		}
	}
	skips, err := s.Skips(ctx, probe.RunQuery{Check: "login", Since: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	want := []probe.Skip{{Check: "login", ScheduledAt: t0.Add(time.Minute), Reason: "concurrency limit"}}
	if !reflect.DeepEqual(skips, want) {
		t.Errorf("Skips = %+v, want %+v", skips, want)
	}
}

// TestConcurrentWritersAndReaders: the daemon saves from many goroutines
// while the shipper and report read; none may see SQLITE_BUSY.
func TestConcurrentWritersAndReaders(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	const writers, perWriter = 4, 25
	var writersWG, readersWG sync.WaitGroup
	errs := make(chan error, writers*perWriter+100)
	for w := range writers {
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			for i := range perWriter {
				r := journeyRun(t0.Add(time.Duration(w*perWriter+i) * time.Second))
				if _, err := s.Save(ctx, r); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Readers run while the writers do (bounded), reading small slices as
	// the shipper and report would.
	writing := make(chan struct{})
	for range 2 {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			for n := 0; n < 500; n++ {
				select {
				case <-writing:
					return
				default:
				}
				if _, err := s.Pending(ctx, 5); err != nil {
					errs <- err
					return
				}
				if _, err := s.Runs(ctx, probe.RunQuery{Since: t0.Add(time.Duration(n%100) * time.Second), Until: t0.Add(time.Duration(n%100+3) * time.Second)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	writersWG.Wait()
	close(writing)
	readersWG.Wait()
	close(errs)
	var first error
	count := 0
	for err := range errs {
		if first == nil {
			first = err
		}
		count++
	}
	if first != nil {
		t.Fatalf("%d errors under concurrency, first: %v", count, first)
	}
	runs, err := s.Runs(ctx, probe.RunQuery{})
	if err != nil || len(runs) != writers*perWriter {
		t.Fatalf("stored %d runs (%v), want %d", len(runs), err, writers*perWriter)
	}
	if err := s.Integrity(ctx); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM %s", table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCloseDoesNotWaitForOthers: a reader (report) closing while another
// process holds the database must not sit out the busy timeout in its
// closing checkpoint.
func TestCloseDoesNotWaitForOthers(t *testing.T) {
	ctx := context.Background()
	daemon, path := openTemp(t)
	if _, err := daemon.Save(ctx, httpRun(t0)); err != nil {
		t.Fatal(err)
	}
	// The daemon is mid-read: its snapshot pins the WAL.
	tx, err := daemon.r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM runs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// ...and writes after that snapshot, so a truncating checkpoint would
	// have to wait for the reader.
	if _, err := daemon.Save(ctx, httpRun(t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	report, err := Open(ctx, path, MustExist(), WithBusyTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- report.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * time.Second): // the checkpoint gives up at once; 5 s is its hard cap
		t.Fatal("Close waited on the other connection's lock")
	}
}

// TestOpenErrors: every error of Open names the store once, as
// "open store PATH: ...", so a caller can print it without a prefix of its
// own and a user sees neither "open store: open store" nor the path twice.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		file  string // below a fresh directory; "" for an empty path
		setup func(t *testing.T, path string)
		opts  []Option
		want  string // the message after "open store PATH: ", or "" for any
		is    error
	}{
		{name: "empty path", want: "empty path"},
		{name: "query in path", file: "a?mode=ro.db", want: "path must not contain '?' or '#'"},
		{name: "missing with MustExist", file: "missing.db", opts: []Option{MustExist()},
			want: "no such file or directory", is: fs.ErrNotExist},
		{name: "missing directory", file: "no/such/dir/s.db"},
		{name: "a directory", file: "dir.db", setup: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "not a database", file: "junk.db", setup: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not sqlite ", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "newer schema", file: "newer.db", is: ErrNewerSchema,
			want: fmt.Sprintf("store was written by a newer storeprobe: schema version %d, this build knows up to %d; upgrade storeprobe",
				SchemaVersion()+1, SchemaVersion()),
			setup: func(t *testing.T, path string) {
				s, err := Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				raw, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				if _, err := raw.Exec("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", SchemaVersion()+1); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, shown := "", `""`
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), tt.file)
				shown = path
			}
			if tt.setup != nil {
				tt.setup(t, path)
			}
			s, err := Open(ctx, path, tt.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			prefix := "open store " + shown + ": "
			if !strings.HasPrefix(msg, prefix) || strings.Count(msg, "open store") != 1 || strings.Count(msg, shown) != 1 {
				t.Errorf("error %q: want it to start %q and name the store once", msg, prefix)
			}
			if tt.want != "" && msg != prefix+tt.want {
				t.Errorf("error %q, want %q", msg, prefix+tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", msg, tt.is)
			}
		})
	}
}
