package report

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestReportText(t *testing.T) {
	now := time.Now().UTC()
	s, path := fillStore(t, now)
	out := textOf(t, build(t, s, path, now, "24h", ""), TextOptions{})
	for _, want := range []string{
		"✗  uptime", "88.889 %", "≥ 90 %",
		"✓  load_time p75", "200 ms", "≤ 300 ms",
		"✗  cwv_good home lcp", "50 %", "≥ 75 %",
		"failures: probe_error 1, status 1",
		"result: 2 targets breached",
		"outbox: 16 waiting, 1 rejected points, 0 dropped",
		"home: field type conflict",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// The overview table is aligned: header and rows are equally wide.
	lines := strings.Split(out, "\n")
	var table []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "CHECK") {
			table = lines[i : i+4]
			break
		}
	}
	if len(table) != 4 {
		t.Fatalf("no overview table in:\n%s", out)
	}
	for _, l := range table[1:] {
		if utf8.RuneCountInString(l) != utf8.RuneCountInString(table[0]) {
			t.Errorf("misaligned table:\n%s", strings.Join(table, "\n"))
			break
		}
	}
	// home: 10 runs, 1 failed, 1 probe error, 2 skipped.
	if !rowIs(table, "home", "http", "10", "1", "1", "2", "88.889", "%", "160", "ms", "200", "ms", "240", "ms") {
		t.Errorf("home row wrong:\n%s", strings.Join(table, "\n"))
	}
}

func TestReportTextEmpty(t *testing.T) {
	now := time.Now().UTC()
	s, path := saveRuns(t, nil, nil)
	out := textOf(t, build(t, s, path, now, "24h", ""), TextOptions{})
	if !strings.Contains(out, "No checks and no runs in this window.\n") || !strings.Contains(out, "result: all targets met\n") {
		t.Errorf("empty store:\n%s", out)
	}
}

func rowIs(lines []string, fields ...string) bool {
	for _, l := range lines {
		if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}
