package influx

import (
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		Location: "eu-west", Probe: "eu-west-1", Shard: "1/3", At: goldenBase, LagP99MS: 37.5,
		OutboxDepth: 12, RejectedPoints: 1, DroppedPoints: 0, Runs: 60, Skipped: 2,
	}).Line()}

	for _, m := range []string{MeasurementCheckResult, MeasurementCheckAttempt, MeasurementHTTPCheck, MeasurementHTTPOrigin,
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
		"journey_step.ok": "bool", "check_result.failure_message": "string",
		"http_check.cache_hit": "int", "http_check.age_s": "int", "http_check.security_findings": "int",
		"http_origin.ttfb_ms": "float", "http_origin.ok": "bool", "http_origin.status_code": "int", "http_origin.cert_days_left": "float",
		"browser_page.tbt_ms": "float", "browser_page.settled_ms": "float",
		"browser_page.long_tasks": "int", "browser_page.third_party_bytes": "int", "browser_page.third_party_blocking_ms": "float",
		"browser_page.settle_reason": "string", "browser_page.script_bytes": "int",
		"browser_page.payment_provider": "string", "browser_page.payment_ready_ms": "float",
		"browser_page.ga4_hits": "int", "browser_page.adobe_hits": "int", "browser_page.mixed_content": "int",
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

// TestCDNTags: http_check's cache and pop tags stay in their bounded sets
// whatever a run holds (a store edited by hand, a future value), and are
// present without a CDN object too.
func TestCDNTags(t *testing.T) {
	for _, tc := range []struct {
		cdn         *probe.CDNInfo
		cache, pop  string
		hit, hasHit bool
	}{
		{nil, "unknown", "unknown", false, false},
		{&probe.CDNInfo{Provider: "fastly", Cache: probe.CacheHit, POP: "FRA"}, "hit", "FRA", true, true},
		{&probe.CDNInfo{Provider: "cloudfront", Cache: probe.CacheExpired, POP: "fra56"}, "expired", "FRA56", false, true},
		{&probe.CDNInfo{Provider: "cloudflare", Cache: "HIT!", POP: "Frankfurt-am-Main"}, "unknown", "unknown", false, true},
		{&probe.CDNInfo{Provider: "none", Cache: probe.CacheUnknown, POP: probe.UnknownPOP}, "unknown", "unknown", false, false},
	} {
		run := probe.Run{Check: "c", Type: probe.TypeHTTP, ScheduledAt: goldenBase, Attempts: []probe.Result{{
			Check: "c", Type: probe.TypeHTTP, OK: true, HTTPDetails: &probe.HTTPDetails{StatusCode: 200, CDN: tc.cdn}}}}
		var hp Point
		for _, p := range Points(run) {
			if p.Measurement == MeasurementHTTPCheck {
				hp = p
			}
		}
		tags := map[string]string{}
		for _, tg := range hp.Tags {
			tags[tg.Key] = tg.Value
		}
		var hit any
		for _, f := range hp.Fields {
			if f.Key == "cache_hit" {
				hit = f.Value
			}
		}
		if tags["cache"] != tc.cache || tags["pop"] != tc.pop || (hit != nil) != tc.hasHit || tc.hasHit && hit != map[bool]int64{true: 1, false: 0}[tc.hit] {
			t.Errorf("%+v: tags %v cache_hit %v", tc.cdn, tags, hit)
		}
	}
}

func TestTagCleaning(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a b,c=d", "a b,c=d"}, // escaped by Line, not changed
		{"line\nbreak", "line break"},
		{`back\slash\`, "back/slash/"},
		{"  padded  ", "padded"},
		{strings.Repeat("x", maxTagLen), strings.Repeat("x", maxTagLen)},
		{strings.Repeat("x", 100), strings.Repeat("x", 55) + "~" + fnvHex(strings.Repeat("x", 100))},
		{strings.Repeat("é", 40), strings.Repeat("é", 27) + "~" + fnvHex(strings.Repeat("é", 40))},
	} {
		got := cleanTag(tc.in)
		if got != tc.want {
			t.Errorf("cleanTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > maxTagLen || cleanTag(got) != got {
			t.Errorf("cleanTag(%q) = %q: %d bytes, not a fixed point", tc.in, got, len(got))
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

func fnvHex(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// TestLongAndRepeatedNamesStayDistinct: every point of a run must be its own
// series at the run's timestamp, or InfluxDB keeps only the last one. Long
// check names sharing 64 bytes, a step repeated with a long name, a third
// sharing its 64-byte prefix, and pages of 63+ bytes visited twice.
func TestLongAndRepeatedNamesStayDistinct(t *testing.T) {
	at := time.Unix(1700000000, 0).UTC()
	longStep := `wait_for text "Thank you for your order — your confirmation e-mail is on its way"`
	longPage := strings.Repeat("p", 63)
	journey := func(check string) probe.Run {
		return probe.Run{
			Check: check, Type: probe.TypeJourney, Location: "eu", Probe: "eu-1", ScheduledAt: at,
			Attempts: []probe.Result{{
				Check: check, Type: probe.TypeJourney, URL: "https://shop.example.com/", OK: true, Attempt: 1,
				BrowserDetails: &probe.BrowserDetails{
					Pages: []probe.PageResult{{Name: longPage}, {Name: longPage}, {Name: longPage + "#2"}, {Name: "home"}, {Name: "home"}},
					Steps: []probe.StepResult{
						{Name: longStep, Action: "wait_for", OK: true},
						{Name: longStep, Action: "wait_for", OK: true},
						{Name: longStep[:70] + " and more", Action: "wait_for", OK: true},
						{Name: "click", Action: "click", OK: true},
						{Name: "click", Action: "click", OK: true},
						{Name: "click#2", Action: "click", OK: true},
					},
				},
			}},
		}
	}
	prefix := "checkout-de-mobile-paypal-express-with-voucher-and-guest-account-variant-"
	seen := map[string]string{}
	checks := map[string]bool{}
	for _, r := range []probe.Run{journey(prefix + "A"), journey(prefix + "B")} {
		for _, p := range Points(r) {
			var key strings.Builder
			key.WriteString(p.Measurement)
			for _, tg := range p.Tags {
				if len(tg.Value) > maxTagLen {
					t.Errorf("%s tag %s is %d bytes: %q", p.Measurement, tg.Key, len(tg.Value), tg.Value)
				}
				if tg.Key == "check" {
					checks[tg.Value] = true
				}
				key.WriteString("," + tg.Key + "=" + tg.Value)
			}
			key.WriteString(" " + strconv.FormatInt(p.Time.UnixNano(), 10))
			if prev, dup := seen[key.String()]; dup {
				t.Errorf("two points share series and time:\n%s\n%s", prev, p.Line())
			}
			seen[key.String()] = p.Line()
		}
	}
	if len(checks) != 2 {
		t.Errorf("check tags %v: two long check names must stay two series", checks)
	}
	// 2 runs × (check_result + attempt + 5 pages + 6 steps).
	if len(seen) != 2*13 {
		t.Errorf("%d distinct points, want %d", len(seen), 2*13)
	}
}

// TestFailureMessage: a failed run's message rides on check_result, clipped
// to MaxFailureMessage runes (a body quoted into an assertion failure must
// not bloat every point) and on one line; a passing run has none.
func TestFailureMessage(t *testing.T) {
	at := time.Unix(1700000000, 0).UTC()
	long := "expected \"Add to cart\" in body:\n" + strings.Repeat("ü", 400)
	run := probe.Run{Check: "home", Type: probe.TypeHTTP, Location: "eu", Probe: "eu-1", ScheduledAt: at,
		Attempts: []probe.Result{{Check: "home", Type: probe.TypeHTTP, OK: false, Attempt: 1,
			Failure: probe.Fail(probe.FailureAssertion, "", "%s", long)}}}
	msg := func(r probe.Run) (string, bool) {
		for _, f := range Points(r)[0].Fields {
			if f.Key == "failure_message" {
				return f.Value.(string), true
			}
		}
		return "", false
	}
	got, ok := msg(run)
	if !ok {
		t.Fatal("no failure_message on a failed run")
	}
	if n := utf8.RuneCountInString(got); n != MaxFailureMessage {
		t.Errorf("failure_message has %d runes, want %d", n, MaxFailureMessage)
	}
	if !strings.HasPrefix(got, `expected "Add to cart" in body: ü`) || !strings.HasSuffix(got, "ü…") {
		t.Errorf("failure_message = %q", got)
	}
	line := Points(run)[0].Line()
	if strings.Contains(line, "\n") {
		t.Errorf("line protocol carries a newline: %q", line)
	}
	run.Attempts[0] = probe.Result{Check: "home", Type: probe.TypeHTTP, OK: true, Attempt: 1}
	if got, ok := msg(run); ok {
		t.Errorf("a passing run has failure_message %q", got)
	}
}
