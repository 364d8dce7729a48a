package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodesOfStoreAndHelp: the help text names every exit code, and a
// store is the user's to fix (2) when its path does not exist, ours (3) when
// it exists and cannot be read; the error names the store once.
func TestExitCodesOfStoreAndHelp(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "storeprobe.yaml")
	if err := os.WriteFile(cfg, []byte("checks:\n  - name: a\n    url: http://127.0.0.1:1/\n    schedule: \"@every 1h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "none", "runs.db")
	influx := []string{"--influx-url", "http://127.0.0.1:1", "--bucket", "db/rp"}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"help lists every code", []string{"--help"}, exitOK,
			[]string{"0 passed", "1 a check failed", "2 usage or config error", "3 storeprobe's own fault"}, nil},
		{"export: no such store", append([]string{"export", "--store", missing}, influx...), exitUsage,
			nil, []string{"store " + missing + " does not exist"}},
		{"export: unreadable store", append([]string{"export", "--store", junk}, influx...), exitInternal,
			nil, []string{"open store " + junk}},
		{"report: unreadable store", []string{"report", "--store", junk}, exitInternal,
			nil, []string{"open store " + junk}},
		{"run: store in a missing directory", []string{"run", "--config", cfg, "--store", missing}, exitInternal,
			nil, []string{"open store " + missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runWithEnv(t, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			if n := strings.Count(errOut, "open store"); n > 1 {
				t.Errorf("\"open store\" %d times in: %s", n, errOut)
			}
		})
	}
}
