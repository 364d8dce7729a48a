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

func TestRule(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "chromium")
	plain := filepath.Join(dir, "notes")
	missing := filepath.Join(dir, "missing")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const (
		path = "path"
		skip = "skip"
		fail = "fail"
	)
	tests := []struct {
		name        string
		env         map[string]string
		short       bool
		defaultPath string
		want        string   // path, skip or fail
		wantPath    string   // for path
		mention     []string // for skip and fail: what the message names
	}{
		{"CHROMIUM present", map[string]string{PathVar: exe}, false, missing, path, exe, nil},
		{"CHROMIUM present, required", map[string]string{PathVar: exe, RequireVar: "1"}, false, missing, path, exe, nil},
		{"CHROMIUM missing", map[string]string{PathVar: missing}, false, exe, skip, "",
			[]string{missing, "from CHROMIUM", RequireVar + " is unset", "make deps"}},
		{"CHROMIUM missing, required", map[string]string{PathVar: missing, RequireVar: "1"}, false, exe, fail, "",
			[]string{missing, "from CHROMIUM", RequireVar + " is set", "make deps", PathVar}},
		{"any non-empty value requires", map[string]string{PathVar: missing, RequireVar: "0"}, false, exe, fail, "", []string{RequireVar}},
		{"not executable, required", map[string]string{PathVar: plain, RequireVar: "1"}, false, exe, fail, "", []string{"not an executable file"}},
		{"a directory", map[string]string{PathVar: dir}, false, exe, skip, "", []string{"not an executable file"}},
		{"CHROMIUM unset: the default", nil, false, exe, path, exe, nil},
		{"CHROMIUM empty: the default", map[string]string{PathVar: "", RequireVar: "1"}, false, exe, path, exe, nil},
		{"default missing", nil, false, missing, skip, "", []string{missing, "the default", PathVar, RequireVar, "make deps"}},
		{"default missing, required", map[string]string{RequireVar: "1"}, false, missing, fail, "", []string{missing, "the default", RequireVar, "make deps"}},
		{"-short skips even when required", map[string]string{PathVar: exe, RequireVar: "1"}, true, exe, skip, "", []string{"-short"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := lookup(func(k string) string { return tc.env[k] }, tc.short, tc.defaultPath)
			if n := nonEmpty(r.Path, r.Skip, r.Fail); n != 1 {
				t.Fatalf("%+v: want exactly one of Path, Skip, Fail", r)
			}
			rec := &recorder{}
			got := apply(rec, r)
			switch tc.want {
			case path:
				if got != tc.wantPath || rec.skipped != "" || rec.failed != "" {
					t.Errorf("path %q, skipped %q, failed %q; want path %q", got, rec.skipped, rec.failed, tc.wantPath)
				}
			case skip:
				if got != "" || rec.skipped == "" || rec.failed != "" {
					t.Fatalf("path %q, skipped %q, failed %q; want a skip", got, rec.skipped, rec.failed)
				}
				mentions(t, rec.skipped, tc.mention)
			case fail:
				if got != "" || rec.failed == "" || rec.skipped != "" {
					t.Fatalf("path %q, skipped %q, failed %q; want a failure", got, rec.skipped, rec.failed)
				}
				mentions(t, rec.failed, tc.mention)
			}
		})
	}
}

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

func nonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
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
	if r := webVitals.lookup(env(map[string]string{WebVitalsVar: lib}), false, missing); r.Path != lib {
		t.Errorf("present: %+v", r)
	}
	if r := webVitals.lookup(env(nil), false, lib); r.Path != lib {
		t.Errorf("the default: %+v", r)
	}
	r := webVitals.lookup(env(map[string]string{WebVitalsVar: missing}), false, lib)
	if r.Skip == "" {
		t.Fatalf("missing: %+v, want a skip", r)
	}
	mentions(t, r.Skip, []string{missing, WebVitalsVar, RequireWebVitalsVar, "make deps"})
	r = webVitals.lookup(env(map[string]string{WebVitalsVar: missing, RequireWebVitalsVar: "1"}), false, lib)
	if r.Fail == "" {
		t.Fatalf("missing, required: %+v, want a failure", r)
	}
	mentions(t, r.Fail, []string{missing, RequireWebVitalsVar + " is set", "make deps"})
	if r := webVitals.lookup(env(map[string]string{WebVitalsVar: dir}), false, lib); r.Skip == "" {
		t.Errorf("a directory: %+v, want a skip", r)
	}
}
