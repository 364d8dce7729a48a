package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkCLI runs one command line in-process and returns its exit code and
// streams.
func checkCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, version: "9.9.9"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, a, args)
	return code, out.String(), errOut.String()
}

func checkShop(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("X-Cache", "HIT")
			io.WriteString(w, "<h1>Shop</h1><button>Add to cart</button>")
		case "/old":
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/echo":
			w.Header().Set("X-Echo", r.Header.Get("Authorization")+" "+r.Header.Get("X-Partner")+" "+r.Header.Get("Cookie")+" "+r.URL.RawQuery)
			w.Header().Set("X-Ua", r.UserAgent())
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCheckExitCodesAndJSON(t *testing.T) {
	s := checkShop(t)
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secure") }))
	t.Cleanup(tls.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tls.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		kind     string // failure kind in JSON, "" for none
		stderr   string // substring of stderr
		jsonWant map[string]any
	}{
		{name: "pass", args: []string{s.URL + "/", "--expect-body", "Add to cart", "--expect-header", "X-Cache: HIT"}, code: 0,
			jsonWant: map[string]any{"status_code": 200.0, "redirects": 0.0, "http_version": "HTTP/1.1", "remote_ip": "127.0.0.1", "check": "127.0.0.1"}},
		{name: "redirect followed", args: []string{s.URL + "/old", "--name", "home"}, code: 0,
			jsonWant: map[string]any{"redirects": 1.0, "check": "home", "final_url": s.URL + "/"}},
		{name: "redirect not followed", args: []string{s.URL + "/old", "--follow-redirects=false", "--expect-status", "301"}, code: 0,
			jsonWant: map[string]any{"status_code": 301.0}},
		{name: "https with ca", args: []string{tls.URL, "--ca-file", caFile}, code: 0},
		{name: "status fails", args: []string{s.URL + "/down"}, code: 1, kind: "status"},
		{name: "status list", args: []string{s.URL + "/down", "--expect-status", "200,503"}, code: 0},
		{name: "body assertion", args: []string{s.URL + "/", "--expect-body", "checkout"}, code: 1, kind: "assertion"},
		{name: "too large", args: []string{s.URL + "/", "--max-body", "10B"}, code: 1, kind: "too_large"},
		{name: "tls unknown ca", args: []string{tls.URL}, code: 1, kind: "tls"},
		{name: "no url", args: nil, code: 2, stderr: "exactly one URL"},
		{name: "two urls", args: []string{s.URL, s.URL}, code: 2, stderr: "exactly one URL"},
		{name: "bad flag", args: []string{s.URL, "--nope"}, code: 2, stderr: "unknown flag"},
		{name: "bad scheme", args: []string{"ftp://shop.test/"}, code: 2, stderr: "URL: scheme"},
		{name: "bad status", args: []string{s.URL, "--expect-status", "2000"}, code: 2, stderr: "--expect-status"},
		{name: "bad header", args: []string{s.URL, "--header", "no colon here"}, code: 2, stderr: "--header"},
		{name: "bad regex", args: []string{s.URL, "--expect-body", "("}, code: 2, stderr: "--expect-body"},
		{name: "bad output", args: []string{s.URL, "--output", "xml"}, code: 2, stderr: "--output"},
		{name: "bad ip version", args: []string{s.URL, "--ip-version", "5"}, code: 2, stderr: "--ip-version"},
		{name: "bad resolver", args: []string{s.URL, "--resolver", "dns.test"}, code: 2, stderr: "--resolver"},
		{name: "missing ca file", args: []string{s.URL, "--ca-file", "/nonexistent.pem"}, code: 2, stderr: "--ca-file"},
		{name: "cert without key", args: []string{s.URL, "--client-cert", caFile}, code: 2, stderr: "--client-key"},
		{name: "bad max body", args: []string{s.URL, "--max-body", "lots"}, code: 2, stderr: "--max-body"},
		{name: "port out of range", args: []string{"http://127.0.0.1:99999/"}, code: 2, stderr: "URL: port 99999 is out of range"},
		{name: "expect-no-body matches", args: []string{s.URL + "/", "--expect-no-body", "(?i)add to cart"}, code: 1, kind: "assertion"},
		{name: "expect-no-body passes", args: []string{s.URL + "/", "--expect-no-body", "Traceback"}, code: 0},
		{name: "expect-no-header matches", args: []string{s.URL + "/", "--expect-no-header", "X-Cache: HIT"}, code: 1, kind: "assertion"},
		{name: "expect-no-header passes", args: []string{s.URL + "/", "--expect-no-header", "X-Powered-By: PHP"}, code: 0},
		{name: "require-tls on http", args: []string{s.URL + "/", "--require-tls"}, code: 1, kind: "assertion"},
		{name: "require-tls on https", args: []string{tls.URL, "--ca-file", caFile, "--require-tls"}, code: 0},
		{name: "bad no-body regex", args: []string{s.URL, "--expect-no-body", "("}, code: 2, stderr: "--expect-no-body"},
		{name: "bad no-header", args: []string{s.URL, "--expect-no-header", "X-Cache"}, code: 2, stderr: "--expect-no-header"},
		{name: "bad warmup", args: []string{s.URL, "--warmup", "11"}, code: 2, stderr: "--warmup 11: want 0 to 10"},
		{name: "bad expect-cache", args: []string{s.URL, "--expect-cache", "hit,warm"}, code: 2, stderr: `--expect-cache: "warm" is not a cache status`},
		{name: "bad security level", args: []string{s.URL, "--security-fail-on", "critical"}, code: 2, stderr: "--security-fail-on"},
		{name: "bad min-tls", args: []string{s.URL, "--min-tls", "1.4"}, code: 2, stderr: "--min-tls"},
		{name: "bad cert-min-days", args: []string{s.URL, "--cert-min-days", "-1"}, code: 2, stderr: "--cert-min-days"},
		{name: "min-tls on plain http", args: []string{s.URL + "/", "--min-tls", "1.2"}, code: 1, kind: "tls"},
		{name: "min-tls met", args: []string{tls.URL, "--ca-file", caFile, "--min-tls", "1.3", "--cert-min-days", "14"}, code: 0},
		{name: "cert-min-days not met", args: []string{tls.URL, "--ca-file", caFile, "--cert-min-days", "30000"}, code: 1, kind: "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"check", "--output", "json"}, tt.args...)
			if tt.name == "bad output" {
				args = append([]string{"check"}, tt.args...)
			}
			code, out, errOut := checkCLI(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if tt.stderr != "" && !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.stderr)
			}
			if code == 2 {
				if out != "" {
					t.Errorf("usage error printed a result: %s", out)
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			if strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("want a single line of JSON, got %q", out)
			}
			for _, key := range []string{"check", "url", "final_url", "ok", "failure", "status_code", "attempt", "started_at",
				"timings_ms", "tls", "bytes", "wire_bytes", "redirects", "http_version", "remote_ip"} {
				if _, ok := m[key]; !ok {
					t.Errorf("key %q missing", key)
				}
			}
			timings, _ := m["timings_ms"].(map[string]any)
			for _, key := range []string{"dns", "connect", "tls", "wait", "transfer", "ttfb", "redirect", "total"} {
				if _, ok := timings[key].(float64); !ok {
					t.Errorf("timings_ms.%s missing", key)
				}
			}
			if _, err := time.Parse(time.RFC3339, m["started_at"].(string)); err != nil || !strings.HasSuffix(m["started_at"].(string), "Z") {
				t.Errorf("started_at %v", m["started_at"])
			}
			if (m["ok"] == true) != (code == 0) {
				t.Errorf("ok %v with exit %d", m["ok"], code)
			}
			if tt.kind == "" && m["failure"] != nil {
				t.Errorf("failure %v, want null", m["failure"])
			}
			if tt.kind != "" {
				f, _ := m["failure"].(map[string]any)
				if f["kind"] != tt.kind || f["message"] == "" {
					t.Errorf("failure %v, want kind %s", f, tt.kind)
				}
			}
			// A failed verification still describes the presented leaf.
			isTLS := strings.HasPrefix(tt.args[0], "https")
			if tls, _ := m["tls"].(map[string]any); (tls != nil) != (isTLS && (code == 0 || tt.kind == "tls")) {
				t.Errorf("tls = %v", m["tls"])
			} else if tls != nil {
				for _, key := range []string{"version", "cipher", "cert_subject", "cert_issuer", "cert_not_after", "cert_days_left"} {
					if _, ok := tls[key]; !ok {
						t.Errorf("tls.%s missing", key)
					}
				}
			}
			for k, want := range tt.jsonWant {
				if m[k] != want {
					t.Errorf("%s = %v, want %v", k, m[k], want)
				}
			}
		})
	}
}

func TestCheckTextOutput(t *testing.T) {
	s := checkShop(t)
	code, out, _ := checkCLI(t, "check", s.URL+"/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "PASS  127.0.0.1  "+s.URL+"/  200 HTTP/1.1") {
		t.Errorf("summary %q", lines[0])
	}
	for _, phase := range []string{"dns", "connect", "tls", "wait", "transfer"} {
		found := false
		for _, l := range lines[1:] {
			if strings.HasPrefix(strings.TrimSpace(l), phase+" ") && strings.HasSuffix(l, "|") {
				found = true
			}
		}
		if !found {
			t.Errorf("no bar for %s in\n%s", phase, out)
		}
	}
	code, out, _ = checkCLI(t, "check", s.URL+"/down")
	if code != 1 || !strings.HasPrefix(out, "FAIL") || !strings.Contains(out, "failure: status: status 503") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestCheckCDNAndSecurity: against a loopback shop behind an imitation of
// CloudFront (its documented X-Cache "Miss from cloudfront" / "Hit from
// cloudfront" and X-Amz-Cf-Pop "FRA56-P1"), --warmup fills the cache that
// --expect-cache asks for, the JSON carries the cdn object, and --security
// judges the headers.
func TestCheckCDNAndSecurity(t *testing.T) {
	var seen sync.Map
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Via", "1.1 4f0b1a2c3d4e5f60718293a4b5c6d7e8.cloudfront.net (CloudFront)")
		h.Set("X-Amz-Cf-Pop", "FRA56-P1")
		if _, hit := seen.LoadOrStore(r.URL.Path, true); hit {
			h.Set("X-Cache", "Hit from cloudfront")
			h.Set("Age", "7")
		} else {
			h.Set("X-Cache", "Miss from cloudfront")
			h.Set("Age", "0")
		}
		h.Set("Server", "Apache/2.4.29 (Ubuntu)")
		h.Add("Set-Cookie", "sid=1; Path=/")
		io.WriteString(w, "<h1>Shop</h1>")
	}))
	t.Cleanup(s.Close)

	code, out, errOut := checkCLI(t, "check", "--output", "json", s.URL+"/a", "--expect-cache", "hit")
	if code != 1 || !strings.Contains(out, `"kind":"assertion"`) || !strings.Contains(out, `cache miss (cloudfront said \"Miss from cloudfront\"), want hit`) {
		t.Fatalf("cold cache: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = checkCLI(t, "check", "--output", "json", s.URL+"/b", "--warmup", "1", "--expect-cache", "hit")
	if code != 0 {
		t.Fatalf("warm cache: exit %d\n%s%s", code, out, errOut)
	}
	var m struct {
		CDN    map[string]any `json:"cdn"`
		Warmup map[string]any `json:"warmup"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"provider": "cloudfront", "cache": "hit", "cache_raw": "Hit from cloudfront", "pop": "FRA56",
		"pop_raw": "FRA56-P1", "age_s": 7.0}
	for k, v := range want {
		if m.CDN[k] != v {
			t.Errorf("cdn.%s = %v, want %v", k, m.CDN[k], v)
		}
	}
	if m.Warmup["requests"] != 1.0 || m.Warmup["failed"] != 0.0 {
		t.Errorf("warmup %v", m.Warmup)
	}

	// Text: the cdn line, then the findings; the cookie without Secure is
	// high and fails at the default level.
	code, out, _ = checkCLI(t, "check", s.URL+"/c", "--security")
	if code != 1 || !strings.Contains(out, `  cdn: cloudfront, cache miss ("Miss from cloudfront"), pop FRA56, age 0 s`) ||
		!strings.Contains(out, "  security: 9 findings (fails on high and above)") ||
		!strings.Contains(out, "    high    cookie-not-secure        cookie \"sid\" is set without Secure") ||
		!strings.Contains(out, `failure: assertion: security: cookie-not-secure (high)`) {
		t.Errorf("exit %d\n%s", code, out)
	}
	// --security-fail-on alone turns it on, and every finding is at least info.
	code, out, _ = checkCLI(t, "check", "--output", "json", s.URL+"/d", "--security-fail-on", "info")
	if code != 1 || !strings.Contains(out, `"security":{"fail_on":"info","findings":[{"id":"hsts-missing"`) {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestCheckHelpListsEveryFlag(t *testing.T) {
	code, out, _ := checkCLI(t, "check", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"--method", "--header", "--body", "--timeout", "--expect-status", "--expect-body", "--expect-header",
		"--max-duration", "--insecure", "--ca-file", "--client-cert", "--client-key", "--proxy", "--resolver", "--ip-version",
		"--follow-redirects", "--max-redirects", "--user-agent", "--output", "--secret-header", "--name", "--max-body",
		"--expect-no-body", "--expect-no-header", "--require-tls", "--warmup", "--expect-cache", "--security", "--security-fail-on",
		"--min-tls", "--cert-min-days"} {
		if !strings.Contains(out, f+" ") && !strings.Contains(out, f+"[") {
			t.Errorf("--help does not list %s", f)
		}
	}
	if !strings.Contains(out, "storeprobe/9.9.9 (+synthetic monitoring)") || !strings.Contains(out, "(default 10s)") {
		t.Errorf("defaults missing from help:\n%s", out)
	}
	if code, out, _ := checkCLI(t, "--help"); code != 0 || !strings.Contains(out, "check") {
		t.Errorf("storeprobe --help: %d %s", code, out)
	}
}

func TestCheckNeverPrintsSecrets(t *testing.T) {
	s := checkShop(t)
	secrets := []string{"s3cret-bearer-xyz", "partner-k3y-777", "c00kie-jar-val", "us3r-pa55word", "t0ken-in-query"}
	url := strings.Replace(s.URL, "http://", "http://shop:us3r-pa55word@", 1) + "/echo?api_key=t0ken-in-query&lang=de"
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			code, out, errOut := checkCLI(t, "check", url, "--output", output, "--verbose",
				"--header", "Authorization: Bearer s3cret-bearer-xyz",
				"--header", "X-Partner: partner-k3y-777",
				"--header", "Cookie: session=c00kie-jar-val",
				"--secret-header", "X-Partner",
				"--expect-header", "X-Echo: ^never$")
			if code != 1 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			for _, sec := range secrets {
				if strings.Contains(out, sec) || strings.Contains(errOut, sec) {
					t.Errorf("%q leaked\nstdout: %s\nstderr: %s", sec, out, errOut)
				}
			}
			if !strings.Contains(out, "lang=de") || !strings.Contains(errOut, "http check") {
				t.Errorf("over-redacted or no log\nstdout: %s\nstderr: %s", out, errOut)
			}
		})
	}
	// A bad header line names no secret either.
	code, _, errOut := checkCLI(t, "check", s.URL, "--header", "Authorization Bearer s3cret-bearer-xyz")
	if code != 2 || strings.Contains(errOut, "s3cret-bearer-xyz") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestCheckUserAgent(t *testing.T) {
	s := checkShop(t)
	_, out, _ := checkCLI(t, "check", s.URL+"/echo", "--expect-header", "X-Ua: ^storeprobe/9\\.9\\.9 \\(\\+synthetic monitoring\\)$")
	if !strings.HasPrefix(out, "PASS") {
		t.Errorf("default user agent not sent:\n%s", out)
	}
	_, out, _ = checkCLI(t, "check", s.URL+"/echo", "--user-agent", "shopbot/1", "--expect-header", "X-Ua: ^shopbot/1$")
	if !strings.HasPrefix(out, "PASS") {
		t.Errorf("--user-agent not sent:\n%s", out)
	}
}
