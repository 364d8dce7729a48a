package influxtest

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

// TestRule checks the rule without starting influxd: its variables point
// at an executable file, a plain file or nothing in temporary directories,
// and GOPATH and PATH are given so the machine's own influxd is never seen.
func TestRule(t *testing.T) {
	dir := t.TempDir()
	mkdir := func(p string) string {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(p string, mode os.FileMode) string {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe := write(filepath.Join(dir, "influxd"), 0o755)
	plain := write(filepath.Join(dir, "notes"), 0o644)
	missing := filepath.Join(dir, "missing")
	emptyGopath := mkdir(filepath.Join(dir, "empty-gopath"))
	fullGopath := filepath.Join(dir, "gopath")
	installed := write(filepath.Join(mkdir(filepath.Join(fullGopath, "bin")), "influxd"), 0o755)
	pathDir := mkdir(filepath.Join(dir, "on-path"))
	onPath := write(filepath.Join(pathDir, "influxd"), 0o755)
	noneOnPath := mkdir(filepath.Join(dir, "empty-path"))

	const (
		path = "path"
		skip = "skip"
		fail = "fail"
	)
	tests := []struct {
		name     string
		env      map[string]string
		short    bool
		want     string   // path, skip or fail
		wantPath string   // for path
		mention  []string // for skip and fail: what the message names
	}{
		{"INFLUXD present", map[string]string{PathVar: exe, "GOPATH": fullGopath}, false, path, exe, nil},
		{"INFLUXD present, required", map[string]string{PathVar: exe, RequireVar: "1"}, false, path, exe, nil},
		{"alias present", map[string]string{PathVarAlias: exe, "GOPATH": fullGopath}, false, path, exe, nil},
		{"INFLUXD wins over the alias", map[string]string{PathVar: exe, PathVarAlias: missing}, false, path, exe, nil},
		{"INFLUXD missing", map[string]string{PathVar: missing, "GOPATH": fullGopath, "PATH": pathDir}, false, skip, "",
			[]string{missing, "from INFLUXD", RequireVar + " is unset", "make deps"}},
		{"INFLUXD missing, required", map[string]string{PathVar: missing, "GOPATH": fullGopath, RequireVar: "1"}, false, fail, "",
			[]string{missing, "from INFLUXD", RequireVar + " is set", "make deps", PathVar}},
		{"alias missing, required", map[string]string{PathVarAlias: missing, RequireVar: "1"}, false, fail, "",
			[]string{missing, "from " + PathVarAlias}},
		{"any non-empty value requires", map[string]string{PathVar: missing, RequireVar: "0"}, false, fail, "", []string{RequireVar}},
		{"not executable, required", map[string]string{PathVar: plain, RequireVar: "1"}, false, fail, "", []string{"not an executable file"}},
		{"a directory", map[string]string{PathVar: dir}, false, skip, "", []string{"not an executable file"}},
		{"default: GOPATH/bin first", map[string]string{"GOPATH": fullGopath, "PATH": pathDir}, false, path, installed, nil},
		{"default: then PATH", map[string]string{"GOPATH": emptyGopath, "PATH": noneOnPath + string(os.PathListSeparator) + pathDir}, false, path, onPath, nil},
		{"default missing", map[string]string{"GOPATH": emptyGopath, "PATH": noneOnPath}, false, skip, "",
			[]string{filepath.Join(emptyGopath, "bin", "influxd"), filepath.Join(noneOnPath, "influxd"), "the default", PathVar, RequireVar, "make deps"}},
		{"default missing, required", map[string]string{"GOPATH": emptyGopath, "PATH": noneOnPath, RequireVar: "1"}, false, fail, "",
			[]string{filepath.Join(emptyGopath, "bin", "influxd"), "the default", RequireVar, "make deps"}},
		{"-short skips even when required", map[string]string{PathVar: exe, RequireVar: "1"}, true, skip, "", []string{"-short"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := lookup(func(k string) string { return tc.env[k] }, tc.short)
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

// TestRequireReadsTheEnvironment checks the wiring from the process's
// environment and -short to the rule.
func TestRequireReadsTheEnvironment(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "influxd")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PathVar, exe)
	t.Setenv(RequireVar, "")
	rec := &recorder{}
	got := Require(rec)
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
	if got := Require(rec); got != "" || rec.failed == "" {
		t.Errorf("missing and required: path %q, failed %q", got, rec.failed)
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
