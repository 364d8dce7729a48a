package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// v1Runs are the runs frozen in testdata/v1.sql, a dump (sqlite3 .dump) of
// a store written by the first schema. Never regenerate it: it stands for
// users' existing files, which every later storeprobe must open and read the
// same. Changing the fixtures it was made from means freezing a copy here.
func v1Runs() []probe.Run {
	return []probe.Run{httpRun(t0), browserRun(t0.Add(time.Minute)), journeyRun(t0.Add(2 * time.Minute))}
}

// loadDump writes the frozen dump testdata/name into a fresh database file,
// as the storeprobe that wrote it left it, and returns the file's path.
func loadDump(t *testing.T, name string) string {
	t.Helper()
	dump, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(string(dump)); err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return path
}

// TestOpenV1Store: a store written by schema 1 opens, is migrated to the
// current schema, reads back its runs as they were, and from then on keeps
// every field of a new run.
func TestOpenV1Store(t *testing.T) {
	path := loadDump(t, "v1.sql")
	ctx := context.Background()
	s, err := Open(ctx, path, MustExist())
	if err != nil {
		t.Fatalf("open a v1 store: %v", err)
	}
	defer s.Close()
	var versions []int
	err = eachRow(ctx, s.r, "SELECT version FROM schema_version ORDER BY version", nil, func(rows *sql.Rows) error {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		versions = append(versions, v)
		return nil
	})
	if want := wantVersions(1, SchemaVersion()); err != nil || !reflect.DeepEqual(versions, want) {
		t.Errorf("after open, schema versions %v (%v), want %v: v1 kept, the later ones applied once", versions, err, want)
	}
	got, err := s.Runs(ctx, probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := v1Runs()
	for i := range want {
		want[i].ID = int64(i + 1)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("v1 runs read back differently:\n%s", strings.Join(differences(got, want), "\n"))
	}
	// The v1 outbox still ships, and new runs append after it.
	p, err := s.Pending(ctx, 10)
	if err != nil || len(p) != 3 {
		t.Fatalf("v1 outbox: %d entries, %v", len(p), err)
	}
	id, err := s.Save(ctx, httpRun(t0.Add(time.Hour)))
	if err != nil || id != 4 {
		t.Errorf("save into a v1 store: id %d, %v", id, err)
	}
	full := fullRun(t0.Add(2 * time.Hour))
	if full.ID, err = s.Save(ctx, full); err != nil {
		t.Fatal(err)
	}
	got, err = s.Runs(ctx, probe.RunQuery{Check: full.Check})
	if err != nil || len(got) != 1 {
		t.Fatalf("read back from a migrated v1 store: %d runs, %v", len(got), err)
	}
	if !reflect.DeepEqual(got[0], full) {
		t.Errorf("a migrated v1 store loses fields:\n%s", strings.Join(differences(got[0], full), "\n"))
	}
	if err := s.Integrity(ctx); err != nil {
		t.Error(err)
	}
}

func wantVersions(from, to int) []int {
	var vs []int
	for v := from; v <= to; v++ {
		vs = append(vs, v)
	}
	return vs
}

// TestMigratedSchemaIsFresh: migrating a v1 store gives the schema a new
// store gets, table by table and index by index. It fails when a released
// migration is edited, which would leave existing stores behind.
func TestMigratedSchemaIsFresh(t *testing.T) {
	ctx := context.Background()
	schema := func(path string) []string {
		t.Helper()
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out []string
		err = eachRow(ctx, s.r, "SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name", nil,
			func(rows *sql.Rows) error {
				var typ, name, text string
				if err := rows.Scan(&typ, &name, &text); err != nil {
					return err
				}
				out = append(out, typ+" "+name+": "+strings.Join(strings.Fields(text), " "))
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fresh := schema(filepath.Join(t.TempDir(), "fresh.db"))
	if len(fresh) < 10 {
		t.Fatalf("fresh schema has %d objects: %q", len(fresh), fresh)
	}
	migrated := schema(loadDump(t, "v1.sql"))
	if !reflect.DeepEqual(migrated, fresh) {
		t.Errorf("migrated v1 schema differs from a fresh one:\n%s", strings.Join(differences(migrated, fresh), "\n"))
	}
}
