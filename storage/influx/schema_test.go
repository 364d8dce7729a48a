package influx

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var goldenBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestGoldenLineProtocol pins the exact line protocol of every measurement:
// names, tags, field keys and, through the i-suffix and quoting, field types.
func TestGoldenLineProtocol(t *testing.T) {
	byMeasurement := map[string][]string{}
	for _, run := range fixtureRuns(goldenBase) {
		for _, p := range Points(run) {
			byMeasurement[p.Measurement] = append(byMeasurement[p.Measurement], p.Line())
		}
	}
	byMeasurement[MeasurementProbeHealth] = []string{HealthPoint(Health{
		Location: "eu-west", Probe: "eu-west-1", At: goldenBase, LagP99MS: 37.5,
		OutboxDepth: 12, RejectedPoints: 1, DroppedPoints: 0, Runs: 60, Skipped: 2,
	}).Line()}

	for _, m := range []string{MeasurementCheckResult, MeasurementCheckAttempt, MeasurementHTTPCheck,
		MeasurementBrowserPage, MeasurementJourneyStep, MeasurementProbeHealth} {
		t.Run(m, func(t *testing.T) {
			got := strings.Join(byMeasurement[m], "\n") + "\n"
			path := filepath.Join("testdata", m+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("line protocol of %s changed:\n--- got\n%s--- want\n%s", m, got, want)
			}
		})
	}
}

func TestPointsInvariants(t *testing.T) {
	for _, run := range fixtureRuns(goldenBase) {
		t.Run(run.Check, func(t *testing.T) {
			pts := Points(run)
			results := 0
			seen := map[string]bool{}
			for _, p := range pts {
				if !p.Time.Equal(run.ScheduledAt) {
					t.Errorf("%s: time %v, want the scheduled time %v", p.Measurement, p.Time, run.ScheduledAt)
				}
				if p.Measurement == MeasurementCheckResult {
					results++
				}
				// Identity of a point: measurement + tag set + time. Two points of
				// one run must never share it, or one would overwrite the other.
				var id strings.Builder
				id.WriteString(p.Measurement)
				for _, tg := range p.Tags {
					if tg.Key == "failure_kind" {
						continue // not an identity for the same attempt/page/step
					}
					id.WriteString("," + tg.Key + "=" + tg.Value)
					if strings.Contains(tg.Value, "?") || strings.Contains(tg.Value, "://") {
						t.Errorf("%s: tag %s=%q carries a URL or query", p.Measurement, tg.Key, tg.Value)
					}
				}
				if seen[id.String()] {
					t.Errorf("two points share series and time: %s", id.String())
				}
				seen[id.String()] = true
				for _, f := range p.Fields {
					switch f.Value.(type) {
					case float64, int64, bool, string:
					default:
						t.Errorf("%s.%s has type %T", p.Measurement, f.Key, f.Value)
					}
				}
			}
			if results != 1 {
				t.Errorf("%d check_result points, want 1", results)
			}
		})
	}
	if got := Points(probe.Run{Check: "x"}); got != nil {
		t.Errorf("run without attempts: %d points, want none", len(got))
	}
}

// TestFieldTypesStable: a field keeps its InfluxDB type whatever the value,
// e.g. an integral duration is still a float, a zero count still an int.
func TestFieldTypesStable(t *testing.T) {
	runs := fixtureRuns(goldenBase)
	types := map[string]string{}
	check := func(p Point) {
		for _, f := range p.Fields {
			var ty string
			switch f.Value.(type) {
			case float64:
				ty = "float"
			case int64:
				ty = "int"
			case bool:
				ty = "bool"
			case string:
				ty = "string"
			}
			k := p.Measurement + "." + f.Key
			if prev, ok := types[k]; ok && prev != ty {
				t.Errorf("%s is %s in one point and %s in another", k, prev, ty)
			}
			types[k] = ty
		}
	}
	for _, r := range runs {
		for _, p := range Points(r) {
			check(p)
		}
	}
	for k, want := range map[string]string{
		"check_result.duration_ms": "float", "check_result.lag_ms": "float", "check_result.ok": "bool",
		"check_result.attempts": "int", "check_result.status_code": "int", "http_check.total_ms": "float",
		"http_check.cert_days_left": "float", "http_check.bytes": "int", "browser_page.cls": "float",
		"browser_page.good_lcp": "int", "browser_page.load_ms": "float", "journey_step.duration_ms": "float",
		"journey_step.ok": "bool",
	} {
		if types[k] != want {
			t.Errorf("%s: type %q, want %s", k, types[k], want)
		}
	}
	// 10000 ms is integral but must still render as a float (no i suffix).
	line := Points(runs[0])[1].Line()
	if !strings.Contains(line, "duration_ms=10000,") {
		t.Errorf("integral float not rendered as float: %s", line)
	}
}

func TestTagCleaning(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a b,c=d", "a b,c=d"}, // escaped by Line, not changed
		{"line\nbreak", "line break"},
		{`back\slash\`, "back/slash/"},
		{"  padded  ", "padded"},
		{strings.Repeat("x", 100), strings.Repeat("x", maxTagLen)},
		{strings.Repeat("é", 40), strings.Repeat("é", 32)},
	} {
		if got := cleanTag(tc.in); got != tc.want {
			t.Errorf("cleanTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	p := newPoint("m", time.Unix(0, 5)).tag("k", "a b,c=d").str("s", `say "hi" \o/`).done()
	if got, want := p.Line(), `m,k=a\ b\,c\=d s="say \"hi\" \\o/" 5`; got != want {
		t.Errorf("Line() = %s, want %s", got, want)
	}
}

func TestHostOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://Shop.Example.com/a?b=c", "shop.example.com"},
		{"https://user:pw@shop.example.com:443/", "shop.example.com"},
		{"http://shop.example.com:80/", "shop.example.com"},
		{"http://127.0.0.1:8080/x", "127.0.0.1:8080"},
		{"https://[::1]:8443/", "[::1]:8443"},
		{"/relative", ""},
		{"", ""},
	} {
		if got := HostOf(tc.in); got != tc.want {
			t.Errorf("HostOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
