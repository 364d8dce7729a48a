package report

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestReportGolden pins the whole text and JSON output of three stores, byte for
// byte: people read the text, programs parse the JSON.
func TestReportGolden(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fixed := func(checks []probe.Check, runs []probe.Run) func(*testing.T) *sqlite.Store {
		return func(t *testing.T) *sqlite.Store { s, _ := saveRuns(t, checks, runs); return s }
	}
	tests := []struct {
		name string
		fill func(*testing.T) *sqlite.Store
	}{
		{"report", func(t *testing.T) *sqlite.Store { s, _ := fillStore(t, now); return s }},
		{"probe_errors", fixed(probeErrorRuns(now))},
		{"budget_exhausted", fixed(downRuns(now))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := build(t, tt.fill(t), "storeprobe.db", now, "24h", "")
			// The store stamps enqueue and rejection times with the wall clock.
			if rep.Outbox.Oldest != nil {
				rep.Outbox.Oldest = &now
			}
			for i := range rep.Outbox.RecentRejected {
				rep.Outbox.RecentRejected[i].RejectedAt = now
			}
			var text, js bytes.Buffer
			if err := WriteText(&text, rep, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, rep); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".txt.golden", text.Bytes())
			golden(t, tt.name+".json.golden", js.Bytes())
			var junit, md bytes.Buffer
			if err := WriteJUnit(&junit, rep, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&md, rep, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".junit.xml.golden", junit.Bytes())
			golden(t, tt.name+".md.golden", md.Bytes())
		})
	}
}

// TestShopGolden pins every output of a shop checked from two locations,
// split per location, over both sample paths: maintenance, a preset, burn
// windows, small samples and alerts.
func TestShopGolden(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)
	s, _ := saveShop(t, now)
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			rep, err := Build(context.Background(), s, Options{StorePath: "storeprobe.db", Since: now.Add(-24 * time.Hour),
				Until: now, Duration: "24h", ByLocation: true, MaxExactRuns: p.max})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Outbox.Oldest != nil {
				rep.Outbox.Oldest = &now
			}
			for name, write := range map[string]func(io.Writer, Report) error{
				"txt":       func(w io.Writer, r Report) error { return WriteText(w, r, TextOptions{}) },
				"json":      WriteJSON,
				"junit.xml": func(w io.Writer, r Report) error { return WriteJUnit(w, r, TextOptions{}) },
				"md":        func(w io.Writer, r Report) error { return WriteMarkdown(w, r, TextOptions{}) },
			} {
				var b bytes.Buffer
				if err := write(&b, rep); err != nil {
					t.Fatal(err)
				}
				golden(t, "shop_"+p.name+"."+name+".golden", b.Bytes())
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}
