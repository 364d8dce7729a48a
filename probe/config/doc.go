// Package config reads storeprobe's YAML configuration into domain types
// (probe.Check and the daemon's settings) and validates it strictly: unknown
// keys, wrong types, bad cron specs, durations, URLs, status lists, regular
// expressions, unknown check types, duplicate names and keys that belong to
// another check type are all errors. Every problem is collected, not just the
// first, and each is reported as "FILE:LINE: message" (a probe.Problems), so
// `storeprobe validate` can show a user everything to fix in one go.
//
// The decoder walks yaml.Node trees instead of unmarshalling into structs:
// that is what gives every message the line of the offending key or value,
// and what lets one bad value not hide the next. The YAML handling itself
// (the single document, syntax errors at the right line, aliases, repeated
// keys, how a value is described and clipped in a message) is
// probe/yamldoc's, shared with the journey parser, so the two formats report
// alike. Merge keys (<<) are resolved here: the config supports them.
//
// A check's grammar is tables of keys: the keys every check has, then one
// table per check type (http, browser, and journey, which also takes the
// browser keys). Each entry maps a key to its decoder, and the same tables
// word a key of another type ("applies to journey checks only") and an
// unknown one; the rules between the keys of one check (what a type
// requires, limits below the timeout, certificate with key) are in one
// validator that runs once every key is decoded.
//
// # Schema
//
// Every key, its type and default (the README's Configuration section holds
// the same, with the full example):
//
//	defaults:                 # applied to every check unless the check sets it
//	  location: eu-west       # where this probe runs (a tag on every result); default "local"
//	  probe: probe-eu-1       # stable name of this probe instance; default: the host name
//	  timeout: 10s            # http checks, per attempt; default 10s (browser checks: 30s, journeys: 60s,
//	                          # set per check: a page load takes longer than a request)
//	  retries: 1              # extra attempts after a failure (0-10), every type; default 0
//	  user_agent: "..."       # http checks; default "storeprobe/<version> (+synthetic monitoring)"
//	  resolver: 127.0.0.1:53  # http checks: DNS server IP:PORT instead of the system's (not a name)
//	  tags: {team: web}       # merged under each check's tags
//	  slo: {preset: storefront, uptime: 99.9, load_time: 3s, success: 99.5, cwv_good: 90, payment_ready: 2s}
//	                          # a preset (storefront | payment | none) and keys that override it;
//	                          # keys without a preset are merged key by key; with no slo anywhere a
//	                          # check is judged against the storefront preset
//	retention: 90d            # store retention; 0 keeps everything; default 90d
//	store: ./storeprobe.db    # store path (relative to this file); default ./storeprobe.db in the
//	                          # working directory; `run --store` overrides
//	shard: "0/3"              # run only the checks that hash to shard i of n (rendezvous hashing);
//	                          # `run --shard` and STOREPROBE_SHARD override; default: every check
//	scheduler:
//	  concurrency: 32         # checks running at once, all types; default 32
//	  browser_concurrency: 2  # browser and journey checks at once; default 2
//	  grace_period: 30s       # on shutdown, how long in-flight runs may finish; default 30s
//	browser:
//	  path: /usr/bin/chromium # Chromium binary (a bare name is looked up on PATH); default:
//	                          # $STOREPROBE_CHROME, then /usr/bin/chromium; `run --chrome` overrides
//	  max_page_memory: 1GiB   # a page's JS heap cap per run; over it fails as too_large
//	  devices:                # override the built-in desktop/mobile profiles or add new ones
//	    mobile: {latency: 150ms, download_kbps: 9000, upload_kbps: 1500, cpu_slowdown: 4}
//	    tablet: {width: 820, height: 1180, device_scale_factor: 2, mobile: true,
//	             user_agent: "...", latency: 0s, download_kbps: 0, upload_kbps: 0, cpu_slowdown: 1}
//	influxdb:                 # optional; ship results from the store's outbox
//	  url: http://127.0.0.1:8086
//	  org: ""                 # InfluxDB 2.x organisation; empty for 1.8
//	  bucket: storeprobe/autogen   # 2.x bucket or 1.8 "database/retention-policy"
//	  token_env: INFLUX_TOKEN # name of the environment variable holding the token (never the token)
//	  batch_size: 500         # points per write; default 500
//	  flush_interval: 10s     # default 10s
//	  max_outbox_rows: 1000000  # unshipped rows kept before the oldest are dropped (loudly); default 1000000
//	  max_outbox_age: 7d      # unshipped rows older than this are dropped (loudly); default 7d
//	notifiers:                # who is told; each names its type and a unique name
//	  - name: ops
//	    type: webhook         # webhook | slack | pagerduty | email | sms | alertmanager
//	    url: https://hooks.example.com/storeprobe   # webhook, slack, alertmanager; pagerduty, sms: optional
//	    secret_env: HOOK_SECRET   # webhook: signs bodies (X-Storeprobe-Signature: sha256=HMAC)
//	    headers: {X-Team: web}    # webhook: extra headers (values treated as secrets)
//	    routing_key_env: PD_KEY   # pagerduty: Events API v2 routing key
//	    smtp: smtp.example.com:587  # email; tls: starttls (default) | tls | none; ca_file
//	    username: probe           # email: SMTP auth with password_env
//	    password_env: SMTP_PASSWORD
//	    account_sid: AC123        # sms (Twilio Messages API shape) with auth_token_env
//	    auth_token_env: TWILIO_TOKEN
//	    from: storeprobe@example.com  # email, sms
//	    to: [oncall@example.com]      # email addresses or phone numbers
//	    send_resolved: true       # default true
//	    timeout: 10s
//	alerting:
//	  notify: [ops]           # receivers of every check; a check's own notify replaces it
//	  down_after: 2           # consecutive failed runs that fire down (probe faults excluded)
//	  up_after: 2             # passing runs that resolve it
//	  renotify: 4h            # repeat a firing alert; 0 never
//	  cert_warning_days: 14   # cert_expiry under this many days left
//	  quorum: 1               # locations that must agree (the fleet evaluator)
//	  silent_after: 10m       # probe_silent after this long without results (the fleet evaluator)
//	  burn_rate: {min_runs: 20, min_failures: 3}   # the burn-rate alerts' minimums
//	  breach: {window: 1h, min_samples: 10}        # load_time and cwv_good judged over this window
//	  flapping: {changes: 4, window: 1h}
//	  maintenance:            # runs inside are stored, judged by nothing
//	    - name: nightly-deploy
//	      schedule: "0 3 * * *"   # recurring: cron spec of each start, with duration
//	      duration: 30m
//	      timezone: Europe/Berlin # IANA name; default UTC
//	      tags: {team: web}       # checks with all these tags; or checks: [names]; neither: every check
//	    - name: migration
//	      start: "2026-12-24 22:00"   # one-off, in timezone (or RFC 3339)
//	      end: "2026-12-25 02:00"
//	checks:
//	  - name: home            # required, unique
//	    type: http            # http (default) | browser | journey
//	    url: https://shop.example.com/   # required for http and browser
//	    schedule: "@every 1m" # required: cron spec, 5 fields, optional seconds field, or @every/@hourly...
//	    timeout: 10s
//	    retries: 2
//	    retry_on: [dns, connect, tls, timeout, protocol, 5xx]  # failure kinds, 4xx, 5xx or any; this list (plus navigation and probe faults) by default
//	    tags: {platform: shopify, cdn: cloudflare}
//	    slo: {preset: payment}
//	    notify: [ops]         # replaces alerting.notify for this check ([] tells no one)
//	    depends_on: [cdn-edge]  # its alerts wait while a dependency is down
//	    runbook_url: https://wiki.example.com/home-down
//	    # http only
//	    method: GET           # upper-cased, as --method is
//	    headers: {Authorization: "Bearer ${SHOP_TOKEN}"}
//	    body: ""
//	    secret_headers: [X-Shop-Key]
//	    expect: {status: "200-399", body: ["Add to cart"], headers: {Content-Type: "text/html"},
//	             body_not: ["Something went wrong"], headers_not: {X-Powered-By: "PHP/5"}, tls: true,
//	             cache: hit}          # a CDN cache status or a list: hit miss expired stale bypass dynamic unknown
//	    max_duration: 3s
//	    insecure: false
//	    ca_file: ca.pem
//	    client_cert: client.pem
//	    client_key: client-key.pem
//	    proxy: http://proxy.internal:3128
//	    resolver: 127.0.0.1:53
//	    ip_version: 4         # 4 | 6 | any
//	    follow_redirects: true
//	    max_redirects: 10
//	    user_agent: "..."
//	    max_body: 10MiB       # as --max-body; max_body_bytes (bytes) is its older name
//	    warmup: 2             # 0-10 unmeasured requests first (fill the CDN's cache)
//	    origin_url: https://origin.shop.example.com/  # measured after the edge, stored beside it
//	    security: {fail_on: medium}  # or true (fails on high); OWASP secure-headers findings
//	    tls: {min_version: "1.3", cert_min_days: 14}  # fail as tls below them
//	    # browser and journey
//	    device: mobile        # desktop | mobile | a name under browser.devices; default desktop
//	                          # (journeys: the journey file's device, else desktop)
//	    max_load: 3s
//	    max_vitals: {lcp: 2500ms, cls: 0.1, inp: 200ms, fcp: 1800ms, ttfb: 800ms}
//	    fail_on_console_errors: false
//	    # browser only
//	    payment: stripe       # stripe | paypal | square: wait for the gateway's card field or buttons
//	    # journey only
//	    journey: journeys/checkout.yaml  # relative to this file; or:
//	    template: shopify      # built-in: shopify, woocommerce, magento, custom
//	    params: {base_url: https://shop.example.com}
//
// Any string value may use ${VAR}, replaced by the environment variable VAR;
// an unset or empty variable is an error, and $${ stands for a literal ${.
package config
