package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
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

func TestOpenV1Store(t *testing.T) {
	dump, err := os.ReadFile(filepath.Join("testdata", "v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(string(dump)); err != nil {
		t.Fatalf("load v1 dump: %v", err)
	}
	raw.Close()

	ctx := context.Background()
	s, err := Open(ctx, path, MustExist())
	if err != nil {
		t.Fatalf("open a v1 store: %v", err)
	}
	defer s.Close()
	if v, _ := s.Version(ctx); v != SchemaVersion() {
		t.Errorf("after open, schema version %d, want %d", v, SchemaVersion())
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
		t.Errorf("v1 runs read back differently:\n got %#v\nwant %#v", got, want)
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
	if err := s.Integrity(ctx); err != nil {
		t.Error(err)
	}
}
