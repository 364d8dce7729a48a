package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// The report's figures, rules and output are tested in probe/report; these
// tests cover what the command adds: flags, the window back from now, the
// store on disk and exit codes.

func reportHTTPRun(check string, at time.Time, total float64, f *probe.Failure) probe.Run {
	return probe.Run{Check: check, Type: probe.TypeHTTP, ScheduledAt: at, StartedAt: at,
		Attempts: []probe.Result{{Check: check, Type: probe.TypeHTTP, OK: f == nil, Failure: f, Attempt: 1,
			StartedAt: at, DurationMS: total,
			HTTPDetails: &probe.HTTPDetails{StatusCode: 200, Timings: probe.Timings{Total: total}}}}}
}

// fillReportStore writes a store with one check of each exit code: api
// meets its target in the last day but not over a week (a failure two days
// ago), slow breaches its load time, broken measures nothing (probe errors).
func fillReportStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	path := filepath.Join(t.TempDir(), "storeprobe.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checks := []probe.Check{
		{Name: "api", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99}},
		{Name: "slow", Type: probe.TypeHTTP, SLO: probe.SLO{LoadTime: 100 * time.Millisecond}},
		{Name: "broken", Type: probe.TypeHTTP, SLO: probe.SLO{Uptime: 99.9}},
	}
	runs := []probe.Run{
		reportHTTPRun("api", now.Add(-48*time.Hour), 0, probe.Fail(probe.FailureConnect, probe.PhaseConnect, "refused")),
		reportHTTPRun("slow", now.Add(-3*time.Minute), 200, nil),
		reportHTTPRun("slow", now.Add(-2*time.Minute), 250, nil),
	}
	for i := range 3 {
		at := now.Add(-time.Duration(i+1) * time.Minute)
		runs = append(runs, reportHTTPRun("api", at, 30, nil),
			reportHTTPRun("broken", at, 0, probe.Fail(probe.FailureProbeError, "", "resolver: no such host")))
	}
	for _, c := range checks {
		if err := s.SaveCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range runs {
		if _, err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func reportCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	a, out, errb := testApp()
	code = run(context.Background(), a, args)
	return code, out.String(), errb.String()
}

func TestReportExitCodes(t *testing.T) {
	path := fillReportStore(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"breached, text", nil, exitFailed,
			"result: 1 target breached; 1 check is mostly probe faults (--fail-on-probe-errors fails on this)\n"},
		{"breached, json", []string{"--output", "json"}, exitFailed, `"breached": true`},
		{"one passing check", []string{"--check", "api"}, exitOK, "result: all targets met\n"},
		{"7 days include the old failure", []string{"--check", "api", "--since", "7d", "--output", "json"}, exitFailed, `"duration": "7d"`},
		{"90 minutes", []string{"--since", "90m"}, exitFailed, ", last 90m ("},
		{"probe errors pass by default", []string{"--check", "broken"}, exitOK, "(--fail-on-probe-errors fails on this)"},
		{"probe errors fail on request, text", []string{"--check", "broken", "--fail-on-probe-errors"}, exitFailed,
			"(failing: --fail-on-probe-errors)"},
		{"probe errors fail on request, json", []string{"--check", "broken", "--fail-on-probe-errors", "--output", "json"},
			exitFailed, `"kind": "probe_errors"`},
		{"a check without the warning", []string{"--check", "api", "--fail-on-probe-errors"}, exitOK, "result: all targets met\n"},
		// The exit code is the same whatever the output.
		{"breached, junit", []string{"--output", "junit"}, exitFailed, `<failure message="got 250 ms, want ≤ 100 ms" type="breach">`},
		{"passing, junit", []string{"--output", "junit", "--check", "api"}, exitOK, `<testsuite name="api" tests="1" failures="0"`},
		{"breached, markdown", []string{"--output", "markdown"}, exitFailed, "### storeprobe report: ❌ 1 target breached"},
		{"passing, markdown", []string{"--output", "markdown", "--check", "api"}, exitOK, "### storeprobe report: ✅ all targets met"},
		{"probe errors fail on request, junit", []string{"--check", "broken", "--fail-on-probe-errors", "--output", "junit"},
			exitFailed, `<testcase name="probe_errors" classname="broken"`},
		{"by location, text", []string{"--check", "api", "--by", "location"}, exitOK, "  LOCATION  RUNS  FAILED"},
		{"by location, json", []string{"--check", "api", "--by", "location", "--output", "json"}, exitOK, `"locations": [`},
		{"exact", []string{"--check", "api", "--exact", "--output", "json"}, exitOK, `"method": "nearest_rank"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := reportCLI(t, append([]string{"report", "--store", path}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errs)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("output lacks %q:\n%s", tt.stdout, out)
			}
			if strings.Contains(strings.Join(tt.args, " "), "json") && !json.Valid([]byte(out)) {
				t.Errorf("output is not JSON:\n%s", out)
			}
		})
	}
}

func TestReportUsage(t *testing.T) {
	path := fillReportStore(t)
	missing := filepath.Join(t.TempDir(), "nope.db")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"missing store", []string{"--store", missing}, exitUsage, "does not exist"},
		{"bad output", []string{"--store", path, "--output", "xml"}, exitUsage, "--output"},
		{"bad split", []string{"--store", path, "--by", "probe"}, exitUsage, `--by "probe": want location`},
		{"bad since", []string{"--store", path, "--since", "yesterday"}, exitUsage, "--since"},
		{"zero since", []string{"--store", path, "--since", "0s"}, exitUsage, "positive"},
		{"unknown flag", []string{"--store", path, "--nope"}, exitUsage, "nope"},
		{"unknown check", []string{"--store", path, "--check", "cart"}, exitUsage, `no check named "cart" in ` + path + " (checks: api, broken, slow)"},
		{"stray argument", []string{"--store", path, "extra"}, exitUsage, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := reportCLI(t, append([]string{"report"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d stderr %q; want %d and %q", code, errs, tt.code, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("report created the missing store %s", missing)
	}
	code, out, _ := reportCLI(t, "report", "--help")
	if code != exitOK || !strings.Contains(out, "--since") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

func TestReportEmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, _ := reportCLI(t, "report", "--store", path)
	if code != exitOK || !strings.Contains(out, "No checks") {
		t.Errorf("empty store: exit %d\n%s", code, out)
	}
}
