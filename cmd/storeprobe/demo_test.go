package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoHTTPOnly runs the offline demo briefly without a browser: the
// shop starts, the checks run through the real scheduler and store, and
// the report shows the planted faults.
func TestDemoHTTPOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 6 s")
	}
	a, out, errb := testApp()
	dir := t.TempDir()
	code := run(context.Background(), a, []string{"demo", "--duration", "6s", "--no-browser", "--dir", dir})
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errb)
	}
	got := out.String()
	for _, want := range []string{"✓  home", "inventory-api", "CHECK", "UPTIME", "outbox:"} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if _, err := filepath.Glob(filepath.Join(dir, "storeprobe.db")); err != nil {
		t.Error(err)
	}
}
