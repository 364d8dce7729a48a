package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runWithEnv runs one command line in-process with the given environment.
func runWithEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }, version: "9.9.9"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, a, args)
	return code, out.String(), errOut.String()
}

func writeConfigFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The README's example config, with its journey parsed by the real journey
// parser, validates.
func TestValidateFullExample(t *testing.T) {
	env := map[string]string{"INFLUX_TOKEN": "tok", "STRIPE_RESTRICTED_KEY": "rk_test_1", "PAYPAL_CLIENT_ID": "cid",
		"INVENTORY_KEY": "key", "CHECKOUT_EMAIL": "probe@example.com",
		"HOOK_SECRET": "hook", "PAGERDUTY_ROUTING_KEY": "pd"}
	file := filepath.Join("..", "..", "probe", "config", "testdata", "full.yaml")
	code, out, errOut := runWithEnv(t, env, "validate", "--config", file)
	want := file + ": OK: 12 checks (9 http, 2 browser, 1 journey), 1 journey file; location eu-west, probe probe-eu-1; influxdb http://127.0.0.1:8086; 2 notifiers\n"
	if code != exitOK || out != want || errOut != "" {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errOut)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := writeConfigFiles(t, map[string]string{
		"storeprobe.yaml": `defaults:
  timeout: 10
checks:
  - name: home
    url: https://shop.example.com/
    schedule: "@every 1m"
    retires: 2
  - name: home
    type: journey
    journey: journeys/checkout.yaml
    schedule: "*/5 * * *"
  - name: buy
    type: journey
    template: prestashop
    schedule: "@hourly"
  - name: shopify
    type: journey
    template: shopify
    schedule: "@hourly"
    params: {base_ulr: "https://shop.example.com"}
`,
		"journeys/checkout.yaml": `name: checkout
steps:
  - goto: "https://shop.example.com/"
  - clik: "#buy"
`,
	})
	cfg := filepath.Join(dir, "storeprobe.yaml")
	code, out, errOut := runWithEnv(t, nil, "validate", "--config", cfg)
	if code != exitUsage || out != "" {
		t.Errorf("exit %d stdout %q, want 2 and nothing", code, out)
	}
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	want := []string{
		cfg + `:2: defaults.timeout: want a duration such as 500ms, 30s, 5m or 90d, got the integer 10`,
		cfg + `:7: check "home": unknown key "retires" (did you mean "retries"?)`,
		cfg + `:8: check "home": duplicate name (first at line 4); names identify a check's history, so they must be unique`,
		cfg + `:11: check "home": invalid schedule "*/5 * * *": expected 5 to 6 fields, found 4: [*/5 * * *]`,
		cfg + `:14: check "buy": template: unknown journey template "prestashop"`,
		cfg + `:20: check "shopify": params: `,
		filepath.Join(dir, "journeys", "checkout.yaml") + `:4: step 2: unknown key "clik"`,
		filepath.Join(dir, "journeys", "checkout.yaml") + `:4: step 2: no action`,
		"storeprobe validate: " + cfg + ": 8 problems",
	}
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s\nwant %d lines", errOut, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d:\n got %s\nwant %s...", i+1, lines[i], want[i])
		}
	}
	// The journey parser's and the params check's own words come through.
	if !strings.Contains(lines[5], "base_ulr") || !strings.Contains(lines[6], "clik") {
		t.Errorf("journey problems lost their detail:\n%s\n%s", lines[5], lines[6])
	}
}

func TestValidateUsage(t *testing.T) {
	dir := writeConfigFiles(t, map[string]string{"ok.yaml": "checks:\n  - {name: a, url: \"https://shop.example.com/\", schedule: \"@every 1m\"}\n"})
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no config", []string{"validate"}, exitUsage, "", "storeprobe validate: --config FILE is required\n"},
		{"positional", []string{"validate", "x.yaml"}, exitUsage, "", "storeprobe validate: unexpected argument \"x.yaml\" (the file goes in --config)\n"},
		{"missing file", []string{"validate", "--config", filepath.Join(dir, "nope.yaml")}, exitUsage, "",
			"storeprobe validate: read config: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory\n"},
		{"bad flag", []string{"validate", "--cofig", "x"}, exitUsage, "", "storeprobe validate: unknown flag: --cofig\n"},
		{"valid", []string{"validate", "-c", filepath.Join(dir, "ok.yaml")}, exitOK,
			filepath.Join(dir, "ok.yaml") + ": OK: 1 check (1 http); location local, probe " + osHostname(t) + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runWithEnv(t, nil, tc.args...)
			if code != tc.code || out != tc.stdout || errOut != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant %d, %q, %q", code, out, errOut, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	code, out, _ := runWithEnv(t, nil, "validate", "--help")
	if code != exitOK || !strings.Contains(out, "--config") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

func osHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Secrets from the environment never reach validate's output.
func TestValidateDoesNotPrintSecrets(t *testing.T) {
	dir := writeConfigFiles(t, map[string]string{"c.yaml": `checks:
  - name: api
    url: "ftp://${SHOP_HOST}/?token=${SHOP_TOKEN}"
    schedule: "@every 1m"
    headers: {Authorization: "Bearer ${SHOP_TOKEN}"}
    proxy: "http://proxyuser:hunter22@"
`})
	env := map[string]string{"SHOP_HOST": "shop.example.com", "SHOP_TOKEN": "tok_live_9f8e7d"}
	code, out, errOut := runWithEnv(t, env, "validate", "--config", filepath.Join(dir, "c.yaml"))
	if code != exitUsage || strings.Contains(out+errOut, "tok_live_9f8e7d") || strings.Contains(out+errOut, "hunter22") {
		t.Errorf("exit %d, output leaks a secret or misses the problems:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, `url: "ftp://${SHOP_HOST}/?token=${SHOP_TOKEN}"`) {
		t.Errorf("the url problem should quote the file's text:\n%s", errOut)
	}
}

// What the HTTP probe would refuse on every run is refused by validate and
// run, at the key's line: before, both accepted these and every run became
// a probe_error that report leaves out of uptime (exit 0).
func TestValidateRefusesWhatTheProbeRefuses(t *testing.T) {
	dir := writeConfigFiles(t, map[string]string{"c.yaml": `defaults:
  resolver: "127.0.0.1:15353"
checks:
  - name: a
    url: http://shop.test:18080/ok
    schedule: "@every 1s"
    resolver: localhost:15353
  - name: b
    url: http://127.0.0.1:18080/ok
    schedule: "@every 1s"
    proxy: "socks5://user:${PROXY_PASS}@127.0.0.1:1080"
  - name: c
    url: http://127.0.0.1:18080/ok
    schedule: "@every 1s"
    method: post
    max_body: 1MiB
`})
	cfg := filepath.Join(dir, "c.yaml")
	env := map[string]string{"PROXY_PASS": "pr0xyS3cret"}
	want := cfg + `:7: check "a": resolver: "localhost:15353": "localhost" is not an IP address; give the DNS server's IP (IP:PORT), which needs no resolver to be found
` + cfg + `:11: check "b": proxy: scheme "socks5": want http or https
storeprobe validate: ` + cfg + `: 2 problems
`
	code, out, errOut := runWithEnv(t, env, "validate", "--config", cfg)
	if code != exitUsage || out != "" || errOut != want {
		t.Errorf("validate: exit %d, stdout %q\nstderr:\n%s\nwant 2 and:\n%s", code, out, errOut, want)
	}
	code, _, errOut = runWithEnv(t, env, "run", "--config", cfg, "--store", filepath.Join(dir, "r.db"))
	if code != exitUsage || !strings.Contains(errOut, `:11: check "b": proxy: scheme "socks5"`) {
		t.Errorf("run: exit %d, stderr:\n%s\nwant 2 and the proxy problem", code, errOut)
	}
	if strings.Contains(errOut, "pr0xyS3cret") {
		t.Errorf("a problem leaks the proxy password:\n%s", errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.db")); err == nil {
		t.Errorf("run created a store for a config it refused")
	}
}
