package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

// problemCases are configs with known problems and the exact report each
// must produce: one FILE:LINE: message per problem, every problem found.
var problemCases = []struct {
	name string
	yaml string
	want []string
}{
	{"unknown top-level keys", `chekcs: []
foo: 1
`, []string{
		`c.yaml:1: unknown key "chekcs" (did you mean "checks"?)`,
		`c.yaml:1: no checks: add a "checks" list`,
		`c.yaml:2: unknown key "foo" (known: defaults, retention, store, scheduler, browser, influxdb, notifiers, alerting, shard, checks)`,
	}},
	{"unknown and misplaced check keys", `checks:
  - name: home
    url: https://shop.example.com/
    schedule: "@every 1m"
    retires: 2
    bogus: 1
    journey: x.yaml
`, []string{
		`c.yaml:5: check "home": unknown key "retires" (did you mean "retries"?)`,
		`c.yaml:6: check "home": unknown key "bogus" (known: name, type, url, schedule, timeout, retries, retry_on, tags, slo, notify, depends_on, runbook_url, analytics, analytics_passthrough, body, ca_file, client_cert, client_key, consent_selector, device, expect, fail_on_console_errors, follow_redirects, headers, insecure, ip_version, journey, max_body, max_body_bytes, max_duration, max_load, max_redirects, max_vitals, method, origin_url, params, payment, proxy, resolver, secret_headers, security, template, tls, user_agent, warmup)`,
		`c.yaml:7: check "home": journey applies to journey checks only, not http checks`,
	}},
	{"wrong types", `checks:
  - name: 404
    url: 12
    schedule: "@every 1m"
    retries: "2"
    timeout: 10
    insecure: yes
    follow_redirects: null
    headers: [a, b]
    tags: {team: [a]}
`, []string{
		`c.yaml:2: checks[0]: name: want a string, got the integer 404 (quote it to make it a string)`,
		`c.yaml:3: checks[0]: url: want a string, got the integer 12 (quote it to make it a string)`,
		`c.yaml:5: checks[0]: retries: want an integer, got the string "2"`,
		`c.yaml:6: checks[0]: timeout: want a duration such as 500ms, 30s, 5m or 90d, got the integer 10`,
		`c.yaml:7: checks[0]: insecure: want true or false, got the string "yes"`,
		`c.yaml:8: checks[0]: follow_redirects: want true or false, got nothing (null)`,
		`c.yaml:9: checks[0]: headers: want a mapping, got a list`,
		`c.yaml:10: checks[0]: tags.team: want a string, got a list`,
	}},
	{"bad cron specs", `checks:
  - {name: a, url: "http://x.example/", schedule: "* * *"}
  - {name: b, url: "http://x.example/", schedule: "@every 500ms"}
  - {name: c, url: "http://x.example/", schedule: "0 0 30 2 *"}
  - {name: d, url: "http://x.example/", schedule: "@hourly"}
  - {name: e, url: "http://x.example/", schedule: "*/5 * * * * *"}
  - {name: f, url: "http://x.example/", schedule: "TZ=Europe/Berlin"}
  - {name: g, url: "http://x.example/", schedule: "@every 1d"}
  - {name: h, url: "http://x.example/", schedule: "61 * * * *"}
`, []string{
		`c.yaml:2: check "a": invalid schedule "* * *": expected 5 to 6 fields, found 3: [* * *]`,
		`c.yaml:3: check "b": invalid schedule "@every 500ms": @every needs whole seconds, at least 1s`,
		`c.yaml:4: check "c": invalid schedule "0 0 30 2 *": never fires`,
		`c.yaml:7: check "f": invalid schedule "TZ=Europe/Berlin": time zone without a spec`,
		`c.yaml:8: check "g": invalid schedule "@every 1d": failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"`,
		`c.yaml:9: check "h": invalid schedule "61 * * * *": end of range (61) above maximum (59): 61`,
	}},
	{"bad durations and ranges", `retention: -1d
defaults: {timeout: 10x, retries: 11}
scheduler: {concurrency: 0, grace_period: 5}
checks:
  - {name: a, url: "http://x.example/", schedule: "@every 1m", timeout: 0s, max_duration: 1.5}
`, []string{
		`c.yaml:1: retention: duration "-1d": bad day count`,
		`c.yaml:2: defaults.timeout: duration "10x": want e.g. 500ms, 30s, 5m, 2h or 90d`,
		`c.yaml:2: defaults.retries: want an integer from 0 to 10, got 11`,
		`c.yaml:3: scheduler.concurrency: want an integer from 1 to 100000, got 0`,
		`c.yaml:3: scheduler.grace_period: want a duration such as 500ms, 30s, 5m or 90d, got the integer 5`,
		`c.yaml:5: check "a": timeout: must be above 0`,
		`c.yaml:5: check "a": max_duration: want a duration such as 500ms, 30s, 5m or 90d, got the number 1.5`,
	}},
	{"unknown type and duplicate names", `checks:
  - name: a
    type: ftp
    url: ftp://x.example/
    schedule: "@every 1m"
    method: GET
  - name: a
    type: http
    url: "http://x.example/"
    schedule: "@every 1m"
  - name: a
    url: "http://x.example/"
    schedule: "@every 1m"
`, []string{
		`c.yaml:3: check "a": unknown check type "ftp" (want http, browser or journey)`,
		`c.yaml:4: check "a": url: "ftp://x.example/": want an http:// or https:// URL`,
		`c.yaml:7: check "a": duplicate name (first at line 2); names identify a check's history, so they must be unique`,
		`c.yaml:11: check "a": duplicate name (first at line 2); names identify a check's history, so they must be unique`,
	}},
	{"bad URLs and addresses", `checks:
  - {name: a, schedule: "@every 1m", url: "ftp://x.example/"}
  - {name: b, schedule: "@every 1m", url: "https://user:pw@/x"}
  - {name: c, schedule: "@every 1m", url: "http://[::1"}
  - {name: d, schedule: "@every 1m", url: "shop.example.com"}
  - {name: e, schedule: "@every 1m", url: "http://x.example:99999/"}
  - {name: f, schedule: "@every 1m", url: "http://x.example/", proxy: "ftp://p:3128", resolver: "1.2.3.4"}
`, []string{
		`c.yaml:2: check "a": url: "ftp://x.example/": want an http:// or https:// URL`,
		`c.yaml:3: check "b": url: "https://REDACTED@/x" has no host`,
		`c.yaml:4: check "c": url: "http://[::1" is not a valid URL: missing ']' in host`,
		`c.yaml:5: check "d": url: "shop.example.com": want an http:// or https:// URL`,
		`c.yaml:6: check "e": url: "http://x.example:99999/": port 99999 is out of range`,
		`c.yaml:7: check "f": proxy: "ftp://p:3128": want an http://, https:// or socks5:// proxy URL`,
		`c.yaml:7: check "f": resolver: want IP:PORT (e.g. 127.0.0.1:53 or [::1]:53), got "1.2.3.4"`,
	}},
	{"bad status lists and regexes", `checks:
  - name: a
    schedule: "@every 1m"
    url: "http://x.example/"
    expect:
      status: "200-99"
      body: ["ok", "("]
      headers: {Content-Type: "[", "Bad Name": "x"}
      bdy: x
  - name: b
    schedule: "@every 1m"
    url: "http://x.example/"
    expect: {status: 700}
  - name: c
    schedule: "@every 1m"
    url: "http://x.example/"
    expect: {status: [200, {a: b}]}
  - name: d
    schedule: "@every 1m"
    url: "http://x.example/"
    expect: {status: []}
`, []string{
		`c.yaml:6: check "a": expect.status: status range "200-99": "99" is not an HTTP status code (100-599)`,
		"c.yaml:7: check \"a\": expect.body: bad regular expression \"(\": missing closing ): `(`",
		"c.yaml:8: check \"a\": expect.headers.Content-Type: bad regular expression \"[\": missing closing ]: `[`",
		`c.yaml:8: check "a": expect.headers: header name "Bad Name" is not a valid token`,
		`c.yaml:9: check "a": expect: unknown key "bdy" (did you mean "body"?)`,
		`c.yaml:13: check "b": expect.status: "700" is not an HTTP status code (100-599)`,
		`c.yaml:17: check "c": expect.status: want a status code, range or list such as "200-399" or [200, 301], got a mapping`,
		`c.yaml:21: check "d": expect.status: the list is empty`,
	}},
	{"bad negative assertions, tls and retry_on", `checks:
  - name: a
    schedule: "@every 1m"
    url: "http://x.example/"
    retries: 2
    retry_on: [timeout, 5XX, flaky]
    expect:
      body_not: ["ok", "("]
      headers_not: {Server: "[", "Bad Name": "x"}
      tls: "yes"
  - name: b
    schedule: "@every 1m"
    url: "http://x.example/"
    retry_on: timeout
  - name: c
    schedule: "@every 1m"
    url: "http://x.example/"
    retries: 1
    retry_on: []
`, []string{
		`c.yaml:6: check "a": retry_on: "5XX" is not a failure kind, 4xx, 5xx or any (want one of any, 4xx, 5xx, assertion, browser_crash, connect, dns, navigation, probe_error, protocol, redirect_loop, script, selector, status, timeout, tls, too_large, too_slow)`,
		`c.yaml:6: check "a": retry_on: "flaky" is not a failure kind, 4xx, 5xx or any (want one of any, 4xx, 5xx, assertion, browser_crash, connect, dns, navigation, probe_error, protocol, redirect_loop, script, selector, status, timeout, tls, too_large, too_slow)`,
		"c.yaml:8: check \"a\": expect.body_not: bad regular expression \"(\": missing closing ): `(`",
		"c.yaml:9: check \"a\": expect.headers_not.Server: bad regular expression \"[\": missing closing ]: `[`",
		`c.yaml:9: check "a": expect.headers_not: header name "Bad Name" is not a valid token`,
		`c.yaml:10: check "a": expect.tls: want true or false, got the string "yes"`,
		`c.yaml:14: check "b": retry_on has no effect without retries (retries is 0)`,
		`c.yaml:19: check "c": retry_on: the list is empty; to retry nothing, set retries: 0`,
	}},
	{"missing required fields", `checks:
  - url: "http://x.example/"
  - name: b
    schedule: "@every 1m"
    type: browser
  - name: c
    type: journey
    schedule: "@every 1m"
  - name: d
    type: journey
    schedule: "@every 1m"
    journey: j.yaml
    template: shopify
`, []string{
		`c.yaml:2: checks[0]: name is required`,
		`c.yaml:2: checks[0]: schedule is required (a cron spec such as "*/5 * * * *" or "@every 1m")`,
		`c.yaml:3: check "b": url is required for browser checks`,
		`c.yaml:6: check "c": a journey check needs journey: FILE or template: NAME`,
		`c.yaml:12: check "d": journey: stat j.yaml: no such file or directory`,
		`c.yaml:13: check "d": set journey or template, not both`,
	}},
	{"analytics keys", `checks:
  - name: b
    type: browser
    schedule: "@every 1m"
    url: "http://x.example/"
    analytics: [ga4, matomo, ga4]
    analytics_passthrough: "yes"
    consent_selector: ""
  - name: h
    schedule: "@every 1m"
    url: "http://x.example/"
    analytics: [ga4]
`, []string{
		`c.yaml:6: check "b": analytics: unknown analytics vendor "matomo" (want ga4, adobe)`,
		`c.yaml:6: check "b": analytics: analytics vendor "ga4" listed twice`,
		`c.yaml:7: check "b": analytics_passthrough: want true or false, got the string "yes"`,
		`c.yaml:8: check "b": consent_selector: must not be empty`,
		`c.yaml:12: check "h": analytics applies to browser and journey checks only, not http checks`,
	}},
	{"keys of another check type", `checks:
  - name: h
    schedule: "@every 1m"
    url: "http://x.example/"
    journey: j.yaml
    device: mobile
    max_load: 2s
  - name: b
    type: browser
    schedule: "@every 1m"
    url: "http://x.example/"
    method: POST
    params: {a: b}
  - name: j
    type: journey
    schedule: "@every 1m"
    template: shopify
    expect: {status: 200}
`, []string{
		`c.yaml:5: check "h": journey applies to journey checks only, not http checks`,
		`c.yaml:6: check "h": device applies to browser and journey checks only, not http checks`,
		`c.yaml:7: check "h": max_load applies to browser and journey checks only, not http checks`,
		`c.yaml:12: check "b": method applies to http checks only, not browser checks`,
		`c.yaml:13: check "b": params applies to journey checks only, not browser checks`,
		`c.yaml:18: check "j": expect applies to http checks only, not journey checks`,
	}},
	{"secrets and environment", `influxdb:
  url: http://127.0.0.1:8086
  token: abc
  token_env: NOPE
checks:
  - {name: a, url: "http://x.example/${TOKEN}", schedule: "@every 1m", headers: {Authorization: "Bearer ${MISSING}", X-A: "${EMPTY}", X-B: "$${LITERAL} ${", X-C: "${bad-name}"}}
  - {name: b, url: "ftp://x.example/${TOKEN}", schedule: "@every 1m", proxy: "http://u:${TOKEN}@"}
`, []string{
		`c.yaml:1: influxdb: bucket is required (for InfluxDB 1.8: "database/retention-policy")`,
		`c.yaml:3: influxdb.token: secrets do not belong in the config file: put the token in an environment variable and name it with token_env`,
		`c.yaml:4: influxdb.token_env: environment variable NOPE is not set`,
		`c.yaml:6: check "a": headers.Authorization: environment variable MISSING is not set`,
		`c.yaml:6: check "a": headers.X-A: environment variable EMPTY is not set`,
		`c.yaml:6: check "a": headers.X-B: unterminated ${ (write $${ for a literal ${)`,
		`c.yaml:6: check "a": headers.X-C: ${bad-name}: not a valid environment variable name`,
		`c.yaml:7: check "b": url: "ftp://x.example/${TOKEN}": want an http:// or https:// URL`,
		`c.yaml:7: check "b": proxy: "http://REDACTED@" has no host`,
	}},
	{"repeated key", `checks:
  - name: a
    url: "http://x.example/"
    schedule: "@every 1m"
    name: b
`, []string{
		`c.yaml:5: checks[0]: key "name" repeated (first at line 2)`,
	}},
	{"YAML syntax error", `checks:
  - name: a
    url: "http://x.example/
    schedule: x
`, []string{
		`c.yaml:3: YAML syntax: found unexpected end of stream`,
	}},
	{"empty file", ``, []string{
		`c.yaml:1: empty config: want a mapping with at least a checks list`,
	}},
	{"two documents", `checks:
  - {name: a, url: "http://x.example/", schedule: "@every 1m"}
---
checks: []
`, []string{
		`c.yaml:3: only one YAML document is allowed`,
	}},
	{"limits, devices, tags", `checks:
  - name: a
    url: "http://x.example/"
    schedule: "@every 1m"
    timeout: 2s
    max_duration: 3s
  - name: b
    type: browser
    url: "http://x.example/"
    schedule: "@every 1m"
    max_load: 30s
    device: tablet
    max_vitals: {lcp: 2500, cls: 0.1, inp: 200ms, tti: 1s}
  - name: c
    url: "http://x.example/"
    schedule: "@every 1m"
    follow_redirects: false
    max_redirects: 3
    tags: {check: x, "bad tag": y, team: ""}
    ip_version: 5
    method: get
browser:
  devices:
    phablet: {width: 400}
    Big: {width: 400, height: 800}
    mobile: {cpu_slowdown: 0.5, latency: 100ms, speed: 3}
`, []string{
		`c.yaml:6: check "a": max_duration 3s is not below the timeout 2s, so the check would time out before it is too slow`,
		`c.yaml:11: check "b": max_load 30s is not below the default timeout 30s, so the check would time out before it is too slow`,
		`c.yaml:12: check "b": device: unknown device "tablet" (want desktop, mobile or a name under browser.devices)`,
		`c.yaml:13: check "b": max_vitals.lcp: want a duration such as 2500ms, got the number 2500 (add a unit)`,
		`c.yaml:13: check "b": max_vitals: unknown key "tti" (did you mean "ttfb"?)`,
		`c.yaml:18: check "c": max_redirects has no effect with follow_redirects: false`,
		`c.yaml:19: check "c": tags: tag "check" is set by storeprobe itself; choose another name`,
		`c.yaml:19: check "c": tags: tag name "bad tag": want letters, digits and _ (not starting with a digit)`,
		`c.yaml:19: check "c": tags.team: must not be empty`,
		`c.yaml:20: check "c": ip_version: want 4, 6 or any, got the integer 5`,
		`c.yaml:24: browser.devices.phablet: a new device needs width and height (only desktop and mobile have built-in values)`,
		`c.yaml:25: browser.devices.Big: a device name is lower-case letters, digits, - and _`,
		`c.yaml:26: browser.devices.mobile.cpu_slowdown: want a number from 1 to 20, got 0.5`,
		`c.yaml:26: browser.devices.mobile: unknown key "speed" (known: width, height, device_scale_factor, mobile, user_agent, latency, download_kbps, upload_kbps, cpu_slowdown)`,
	}},
	{"empty sections and entries", `defaults:
scheduler:
influxdb:
checks:
  -
  - name: a
    url: "http://x.example/"
    schedule: "@every 1m"
    expect:
    tags:
`, []string{
		`c.yaml:5: checks[0]: empty entry`,
	}},
	{"values out of range", `defaults:
  user_agent: "bad\tagent"
  slo: {uptime: 0, cwv_good: 101, success: "99", load_time: 0s}
  location: ""
influxdb: {url: "http://127.0.0.1:8086", bucket: b, batch_size: 0, flush_interval: 10ms, max_outbox_age: 30s, token_env: "1X"}
checks:
  - {name: a, url: "http://x.example/", schedule: "@every 1m", resolver: "127.0.0.1:0", proxy: "socks5://127.0.0.1:1080", max_body_bytes: 0}
  - {name: "b\u0007", url: "http://x.example/", schedule: "@every 1m"}
  - {name: c, type: journey, journey: "", schedule: "@every 1m", params: {1st: x}}
`, []string{
		`c.yaml:2: defaults.user_agent: contains a control character`,
		`c.yaml:3: defaults.slo.uptime: want a percentage above 0 and at most 100, got 0 (leave the key out for no target)`,
		`c.yaml:3: defaults.slo.cwv_good: want a number from 0 to 100, got 101`,
		`c.yaml:3: defaults.slo.success: want a number, got the string "99"`,
		`c.yaml:3: defaults.slo.load_time: must be above 0`,
		`c.yaml:4: defaults.location: must not be empty`,
		`c.yaml:5: influxdb.batch_size: want an integer from 1 to 100000, got 0`,
		`c.yaml:5: influxdb.flush_interval: must be at least 100ms, got 10ms`,
		`c.yaml:5: influxdb.max_outbox_age: must be at least 1m0s, got 30s`,
		`c.yaml:5: influxdb.token_env: "1X" is not an environment variable name`,
		`c.yaml:7: check "a": resolver: want IP:PORT with a port from 1 to 65535, got "127.0.0.1:0"`,
		`c.yaml:7: check "a": max_body_bytes: size "0": must be positive`,
		`c.yaml:8: checks[1]: name: contains a control character`,
		`c.yaml:9: check "c": journey: must not be empty`,
		`c.yaml:9: check "c": params: parameter name "1st": want letters, digits and _ (not starting with a digit)`,
	}},
	// The HTTP probe refuses a resolver given by name (finding it would need
	// the system resolver), so the config must too, or every run of the
	// check would be a probe_error that no uptime figure shows.
	{"resolvers by name and body caps", `defaults:
  resolver: "dns.example:53"
checks:
  - {name: a, url: "http://x.example/", schedule: "@every 1m", resolver: "localhost:15353"}
  - {name: b, url: "http://x.example/", schedule: "@every 1m", resolver: "127.0.0.1"}
  - {name: c, url: "http://x.example/", schedule: "@every 1m", max_body: 2GiB}
  - {name: d, url: "http://x.example/", schedule: "@every 1m", max_body: ten}
  - {name: e, url: "http://x.example/", schedule: "@every 1m", max_body: 1MiB, max_body_bytes: 1024}
  - {name: f, url: "http://x.example/", schedule: "@every 1m", max_body: [1]}
`, []string{
		`c.yaml:2: defaults.resolver: "dns.example:53": "dns.example" is not an IP address; give the DNS server's IP (IP:PORT), which needs no resolver to be found`,
		`c.yaml:4: check "a": resolver: "localhost:15353": "localhost" is not an IP address; give the DNS server's IP (IP:PORT), which needs no resolver to be found`,
		`c.yaml:5: check "b": resolver: want IP:PORT (e.g. 127.0.0.1:53 or [::1]:53), got "127.0.0.1"`,
		`c.yaml:6: check "c": max_body: at most 1GiB, got 2GiB`,
		`c.yaml:7: check "d": max_body: size "ten": want bytes or a number with B, KB, MB, GB, KiB, MiB or GiB`,
		`c.yaml:8: check "e": set max_body or max_body_bytes (its older name), not both (max_body at line 8)`,
		`c.yaml:9: check "f": max_body: want a size such as 10MiB, 512KB or a number of bytes, got a list`,
	}},
	// A long value is quoted clipped, between characters: 70 two-byte
	// characters, cut at 60 characters, not at a byte inside one.
	{"long multi-byte values clipped", `checks:
  - name: a
    type: "` + strings.Repeat("é", 70) + `"
    schedule: "@every 1m"
`, []string{
		`c.yaml:3: check "a": unknown check type "` + strings.Repeat("é", 60) + `…" (want http, browser or journey)`,
	}},
	{"cdn, origin, security and tls keys", `checks:
  - name: a
    schedule: "@every 1m"
    url: "https://shop.example/"
    warmup: 11
    origin_url: "ftp://origin.example/"
    security: {fail_on: critical, level: high}
    tls: {min_version: 1.4, cert_min_days: 0, ciphers: x}
    expect: {cache: [hit, warm]}
  - name: b
    schedule: "@every 1m"
    url: "https://shop.example/"
    origin_url: "https://user:pw@origin.example/"
    security: "yes"
    tls: {min_version: [1.3]}
    expect: {cache: {hit: true}}
  - name: c
    schedule: "@every 1m"
    url: "https://shop.example/"
    origin_url: "https://shop.example/"
  - name: d
    type: browser
    schedule: "@every 1m"
    url: "https://shop.example/"
    warmup: 1
`, []string{
		`c.yaml:5: check "a": warmup: want an integer from 0 to 10, got 11`,
		`c.yaml:6: check "a": origin_url: "ftp://origin.example/": want an http:// or https:// URL`,
		`c.yaml:7: check "a": security.fail_on: "critical" is not a severity (want info, low, medium or high)`,
		`c.yaml:7: check "a": security: unknown key "level" (known: fail_on)`,
		`c.yaml:8: check "a": tls.min_version: "1.4" is not a TLS version (want 1.0, 1.1, 1.2 or 1.3)`,
		`c.yaml:8: check "a": tls.cert_min_days: want an integer from 1 to 3650, got 0`,
		`c.yaml:8: check "a": tls: unknown key "ciphers" (known: cert_min_days, min_version)`,
		`c.yaml:9: check "a": expect.cache: "warm" is not a cache status (want hit, miss, expired, stale, bypass, dynamic, unknown)`,
		`c.yaml:13: check "b": origin_url: "https://REDACTED@origin.example/" must not carry credentials (user:password@); set an Authorization header instead`,
		`c.yaml:14: check "b": security: want true or false, got the string "yes"`,
		`c.yaml:15: check "b": tls.min_version: want a TLS version such as "1.3", got a list`,
		`c.yaml:16: check "b": expect.cache: want a string or a list of strings, got a mapping`,
		`c.yaml:20: check "c": origin_url is the check's url; name the origin behind the CDN`,
		`c.yaml:25: check "d": warmup applies to http checks only, not browser checks`,
	}},
	{"sections of the wrong shape", `influxdb: {org: x}
checks: {name: a}
`, []string{
		`c.yaml:1: influxdb: url is required`,
		`c.yaml:1: influxdb: bucket is required (for InfluxDB 1.8: "database/retention-policy")`,
		`c.yaml:2: checks: want a list of checks, got a mapping`,
	}},
}

func TestProblems(t *testing.T) {
	for _, tc := range problemCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("c.yaml", []byte(tc.yaml), testEnv(map[string]string{"TOKEN": "s3cr3t", "EMPTY": ""}), withHostname(fixedHost))
			var errs probe.Problems
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: got config %v, error %v; want probe.Problems", cfg, err)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config together with problems")
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, p := range errs {
				if p.File != "c.yaml" || p.Line < 1 {
					t.Errorf("problem %+v: want file c.yaml and a line", p)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("a problem message leaks an expanded secret: %v", err)
			}
		})
	}
}

// yaml.v3 prints a parser error's line 0-based and a scanner error's
// 1-based; both must come out as the line the user has to look at. A parser
// error is placed where the collection it was parsing began, unless that is
// the document's first line: then where it failed.
func TestYAMLErrorLines(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
	}{
		// The flow sequence opened on line 2 is never closed.
		{"unclosed flow sequence", "a: 1\nb: [1, 2\nc: 3",
			`c.yaml:2: YAML syntax: did not find expected ',' or ']'`},
		// The tags mapping opened on line 3 runs into the next key.
		{"unclosed flow mapping", "checks:\n  - name: a\n    tags: {team: web, tier: 1\n    schedule: \"@every 1m\"\n",
			`c.yaml:3: YAML syntax: did not find expected ',' or '}'`},
		// grace_period is indented under nothing: no key where one must be.
		{"bad indentation", "scheduler:\n  concurrency: 4\n grace_period: 30s\nchecks: []\n",
			`c.yaml:3: YAML syntax: did not find expected key`},
		// Inside the list of checks: the list began on line 2.
		{"bad indentation in a list", "checks:\n  - name: a\n    url: \"http://x.example/\"\n   schedule: \"@every 1m\"\n",
			`c.yaml:2: YAML syntax: did not find expected '-' indicator`},
		// A tab starts line 2 (scanner error).
		{"tab", "checks:\n\t- name: a\n", `c.yaml:2: YAML syntax: found character that cannot start any token`},
		// The quote opened on line 2 never closes (scanner error).
		{"unclosed quote", "checks:\n  - name: \"home\n    url: http://x.example/\n",
			`c.yaml:2: YAML syntax: found unexpected end of stream`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}
