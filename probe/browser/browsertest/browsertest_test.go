package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB whose Skip and Fatal record their message and
// return, so the rule's effect on a test is checked without ending this
// one. Any other method panics (nil embedded TB): apply must not use them.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }

// TestChromiumReadsTheEnvironment checks the wiring from the process's
// environment, -short and DefaultPath to the rule.
func TestChromiumReadsTheEnvironment(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PathVar, exe)
	t.Setenv(RequireVar, "")
	rec := &recorder{}
	got := Chromium(rec)
	if testing.Short() {
		if rec.skipped == "" {
			t.Errorf("-short: path %q, no skip", got)
		}
		return
	}
	if got != exe || rec.skipped != "" || rec.failed != "" {
		t.Errorf("path %q, skipped %q, failed %q; want %s", got, rec.skipped, rec.failed, exe)
	}
	t.Setenv(PathVar, exe+".missing")
	t.Setenv(RequireVar, "1")
	rec = &recorder{}
	if got := Chromium(rec); got != "" || rec.failed == "" {
		t.Errorf("missing and required: path %q, failed %q", got, rec.failed)
	}
	t.Setenv(PathVar, "")
	if r := Find(); r.Path != DefaultPath && !strings.Contains(r.Fail, DefaultPath) {
		t.Errorf("CHROMIUM empty: %+v, want the default %s", r, DefaultPath)
	}
}
