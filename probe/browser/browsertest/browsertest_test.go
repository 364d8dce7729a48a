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

func mentions(t *testing.T, msg string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not mention %q", msg, w)
		}
	}
}

// TestWebVitalsRule: web-vitals follows Chromium's rule with its own
// variables, and needs a readable file, not an executable.
func TestWebVitalsRule(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "web-vitals.iife.js")
	if err := os.WriteFile(lib, []byte("var webVitals;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.js")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if r := webVitals(missing).Lookup(env(map[string]string{WebVitalsVar: lib}), false); r.Path != lib {
		t.Errorf("present: %+v", r)
	}
	if r := webVitals(lib).Lookup(env(nil), false); r.Path != lib {
		t.Errorf("the default: %+v", r)
	}
	r := webVitals(lib).Lookup(env(map[string]string{WebVitalsVar: missing}), false)
	if r.Skip == "" {
		t.Fatalf("missing: %+v, want a skip", r)
	}
	mentions(t, r.Skip, []string{missing, WebVitalsVar, RequireWebVitalsVar, "make deps"})
	r = webVitals(lib).Lookup(env(map[string]string{WebVitalsVar: missing, RequireWebVitalsVar: "1"}), false)
	if r.Fail == "" {
		t.Fatalf("missing, required: %+v, want a failure", r)
	}
	mentions(t, r.Fail, []string{missing, RequireWebVitalsVar + " is set", "make deps"})
	if r := webVitals(lib).Lookup(env(map[string]string{WebVitalsVar: dir}), false); r.Skip == "" {
		t.Errorf("a directory: %+v, want a skip", r)
	}
}
