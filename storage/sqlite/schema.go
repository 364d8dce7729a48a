package sqlite

// migrations are applied in order; migrations[i] takes the schema from
// version i to i+1. Never edit a released migration: append a new one, so a
// store written by any earlier storeprobe opens with any later one.
//
// Conventions of the schema: times are INTEGER Unix nanoseconds UTC (exact,
// and sortable for window queries); durations are REAL milliseconds, the unit
// of every duration storeprobe outputs; booleans are INTEGER 0/1; an
// unobserved vital is NULL.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE checks (
	name          TEXT PRIMARY KEY,
	type          TEXT NOT NULL,
	url           TEXT NOT NULL,          -- redacted
	schedule      TEXT NOT NULL DEFAULT '',
	location      TEXT NOT NULL DEFAULT '',
	probe         TEXT NOT NULL DEFAULT '',
	slo_uptime    REAL NOT NULL DEFAULT 0, -- percent; 0 = no target
	slo_load_ms   REAL NOT NULL DEFAULT 0, -- p75 load target, ms; 0 = no target
	slo_success   REAL NOT NULL DEFAULT 0, -- percent
	slo_cwv_good  REAL NOT NULL DEFAULT 0, -- percent of page samples rated good, per vital
	tags          TEXT,                    -- JSON object, NULL when none
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE runs (
	id              INTEGER PRIMARY KEY,
	check_name      TEXT NOT NULL,
	type            TEXT NOT NULL,
	location        TEXT NOT NULL DEFAULT '',
	probe           TEXT NOT NULL DEFAULT '',
	tags            TEXT,                  -- JSON object, NULL when none
	scheduled_at    INTEGER NOT NULL,
	started_at      INTEGER,
	lag_ms          REAL NOT NULL DEFAULT 0,
	ok              INTEGER NOT NULL,      -- of the final attempt
	failure_kind    TEXT,                  -- of the final attempt, NULL when ok
	failure_phase   TEXT,
	failure_message TEXT,
	duration_ms     REAL NOT NULL DEFAULT 0, -- of the final attempt
	attempts        INTEGER NOT NULL,
	probe_fault     INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_scheduled ON runs (scheduled_at);
CREATE INDEX runs_check_scheduled ON runs (check_name, scheduled_at);

CREATE TABLE attempts (
	id                INTEGER PRIMARY KEY,
	run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	n                 INTEGER NOT NULL,    -- position in the run, 1-based
	check_name        TEXT NOT NULL,
	type              TEXT NOT NULL,
	url               TEXT NOT NULL,
	final_url         TEXT NOT NULL,
	ok                INTEGER NOT NULL,
	failure_kind      TEXT,
	failure_phase     TEXT,
	failure_message   TEXT,
	attempt           INTEGER NOT NULL,    -- Result.Attempt as the prober numbered it
	started_at        INTEGER,
	duration_ms       REAL NOT NULL,
	-- HTTP details; has_http = 0 means the result had none.
	has_http          INTEGER NOT NULL,
	status_code       INTEGER,
	dns_ms            REAL,
	connect_ms        REAL,
	tls_ms            REAL,
	wait_ms           REAL,
	transfer_ms       REAL,
	ttfb_ms           REAL,
	redirect_ms       REAL,
	total_ms          REAL,
	has_tls           INTEGER NOT NULL,
	tls_version       TEXT,
	tls_cipher        TEXT,
	cert_subject      TEXT,
	cert_issuer       TEXT,
	cert_not_after    INTEGER,
	cert_days_left    REAL,
	bytes             INTEGER,
	wire_bytes        INTEGER,
	redirects         INTEGER,
	http_version      TEXT,
	remote_ip         TEXT,
	-- Browser details; has_browser = 0 means the result had none.
	has_browser       INTEGER NOT NULL,
	device            TEXT,
	console_errors    TEXT,                -- JSON array, NULL when none
	UNIQUE (run_id, n)
) STRICT;

-- pages: idx -1 is a single-page browser check's own page (Result's embedded
-- PageMetrics), 0.. are a journey's named pages in order.
CREATE TABLE pages (
	id                   INTEGER PRIMARY KEY,
	attempt_id           INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	run_id               INTEGER NOT NULL,
	idx                  INTEGER NOT NULL,
	name                 TEXT NOT NULL,
	url                  TEXT NOT NULL,
	lcp_ms               REAL,
	cls                  REAL,
	inp_ms               REAL,
	fcp_ms               REAL,
	ttfb_ms              REAL,
	lcp_rating           TEXT NOT NULL DEFAULT '',
	cls_rating           TEXT NOT NULL DEFAULT '',
	inp_rating           TEXT NOT NULL DEFAULT '',
	fcp_rating           TEXT NOT NULL DEFAULT '',
	ttfb_rating          TEXT NOT NULL DEFAULT '',
	lcp_element          TEXT NOT NULL DEFAULT '',
	load_ms              REAL NOT NULL,
	dcl_ms               REAL NOT NULL,
	requests             INTEGER NOT NULL,
	failed_requests      INTEGER NOT NULL,
	transfer_bytes       INTEGER NOT NULL,
	console_errors_count INTEGER NOT NULL DEFAULT 0,
	render_blocking      INTEGER NOT NULL DEFAULT 0,
	UNIQUE (attempt_id, idx)
) STRICT;
CREATE INDEX pages_run ON pages (run_id);

CREATE TABLE steps (
	id              INTEGER PRIMARY KEY,
	attempt_id      INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	run_id          INTEGER NOT NULL,
	idx             INTEGER NOT NULL,
	name            TEXT NOT NULL,
	action          TEXT NOT NULL,
	ok              INTEGER NOT NULL,
	skipped         INTEGER NOT NULL,
	duration_ms     REAL NOT NULL,
	failure_kind    TEXT,
	failure_phase   TEXT,
	failure_message TEXT,
	UNIQUE (attempt_id, idx)
) STRICT;
CREATE INDEX steps_run ON steps (run_id);

-- artifacts: files kept for a failed attempt, relative to the artifact dir.
CREATE TABLE artifacts (
	id         INTEGER PRIMARY KEY,
	attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	run_id     INTEGER NOT NULL,
	idx        INTEGER NOT NULL,
	path       TEXT NOT NULL,
	UNIQUE (attempt_id, idx)
) STRICT;
CREATE INDEX artifacts_run ON artifacts (run_id);

CREATE INDEX attempts_run ON attempts (run_id);

CREATE TABLE skips (
	id           INTEGER PRIMARY KEY,
	check_name   TEXT NOT NULL,
	scheduled_at INTEGER NOT NULL,
	reason       TEXT NOT NULL
) STRICT;
CREATE INDEX skips_check_scheduled ON skips (check_name, scheduled_at);
CREATE INDEX skips_scheduled ON skips (scheduled_at);

-- outbox: runs not yet acknowledged by InfluxDB, shipped oldest first.
CREATE TABLE outbox (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	enqueued_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_run ON outbox (run_id);

-- rejected_points: line-protocol points InfluxDB refused, kept with why.
-- No foreign key: a rejected point outlives its run's retention window.
CREATE TABLE rejected_points (
	id          INTEGER PRIMARY KEY,
	seq         INTEGER NOT NULL,
	run_id      INTEGER,
	check_name  TEXT NOT NULL DEFAULT '',
	line        TEXT NOT NULL,
	reason      TEXT NOT NULL,
	rejected_at INTEGER NOT NULL,
	UNIQUE (seq, line)
) STRICT;
CREATE INDEX rejected_points_at ON rejected_points (rejected_at);

-- counters: persistent event counts (outbox overflow drops, rejections).
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('outbox_dropped', 0), ('points_rejected', 0);
`,
	// 2: what the first schema lost on the way: the shop facts of an HTTP
	// response (probe/platform) and a page's peak JavaScript heap. Attempts
	// and pages stored before it read back with these empty.
	`
ALTER TABLE attempts ADD COLUMN platform         TEXT; -- closed lower-case set; NULL without HTTP details
ALTER TABLE attempts ADD COLUMN cdn              TEXT; -- closed lower-case set
ALTER TABLE attempts ADD COLUMN analytics        TEXT; -- JSON array, NULL when none
ALTER TABLE attempts ADD COLUMN payment_gateways TEXT; -- JSON array, NULL when none
ALTER TABLE pages ADD COLUMN js_heap_bytes INTEGER NOT NULL DEFAULT 0; -- peak; 0 = not sampled
`,
	// 3: alerting. A run's maintenance window (judged by nothing), a check's
	// SLO preset and which targets kept its values, and the alert engine's
	// state and notification history.
	`
ALTER TABLE runs ADD COLUMN maintenance TEXT NOT NULL DEFAULT ''; -- window name; '' outside one
ALTER TABLE checks ADD COLUMN slo_preset TEXT NOT NULL DEFAULT '';
ALTER TABLE checks ADD COLUMN slo_from_preset INTEGER NOT NULL DEFAULT 0; -- bit set of targets (probe.Targets)

-- alert_states: the alerts that are active or whose receivers were last told
-- they fire (probe/alert State); replaced as a whole after each change.
CREATE TABLE alert_states (
	key          TEXT PRIMARY KEY,
	rule         TEXT NOT NULL,
	check_name   TEXT NOT NULL DEFAULT '',
	location     TEXT NOT NULL DEFAULT '',
	probe        TEXT NOT NULL DEFAULT '',
	severity     TEXT NOT NULL,
	active       INTEGER NOT NULL,
	since        INTEGER,
	until        INTEGER,
	notified     TEXT NOT NULL DEFAULT '', -- firing | resolved | ''
	notified_at  INTEGER,
	summary      TEXT NOT NULL DEFAULT '',
	failure_kind TEXT NOT NULL DEFAULT '',
	message      TEXT NOT NULL DEFAULT '',
	screenshot   TEXT NOT NULL DEFAULT ''
) STRICT;

-- alert_events: every notification handed to the notifiers, for the report.
CREATE TABLE alert_events (
	id           INTEGER PRIMARY KEY,
	at           INTEGER NOT NULL,
	key          TEXT NOT NULL,
	status       TEXT NOT NULL,   -- firing | resolved
	rule         TEXT NOT NULL,
	check_name   TEXT NOT NULL DEFAULT '',
	location     TEXT NOT NULL DEFAULT '',
	probe        TEXT NOT NULL DEFAULT '',
	severity     TEXT NOT NULL,
	summary      TEXT NOT NULL,
	started_at   INTEGER NOT NULL,
	ended_at     INTEGER,
	failure_kind TEXT NOT NULL DEFAULT '',
	message      TEXT NOT NULL DEFAULT '',
	url          TEXT NOT NULL DEFAULT '',  -- redacted
	runbook_url  TEXT NOT NULL DEFAULT '',
	screenshot   TEXT NOT NULL DEFAULT '',
	repeat       INTEGER NOT NULL DEFAULT 0,
	receivers    TEXT                       -- JSON array of notifier names
) STRICT;
CREATE INDEX alert_events_at ON alert_events (at);
`,
	// 4: what a report needs of a run, kept in its row so it reads no
	// attempt (whether the first attempt passed, the load sample as
	// probe/slo defines it), and hourly rollups for long reports
	// (rollups.go): per check, location and UTC hour, the runs as
	// probe/slo counts them and histograms of their loads; per page, each
	// vital's ratings and histogram. Backfilled from the stored runs in the
	// same transaction once every later migration has run too
	// (afterMigrations). Histograms are uvarint pairs
	// (bucket − previous bucket, count) of slo.Histogram's 1 % log
	// buckets; NULL when empty.
	`
ALTER TABLE runs ADD COLUMN first_ok INTEGER NOT NULL DEFAULT 0; -- the first attempt passed
ALTER TABLE runs ADD COLUMN load_ms  REAL; -- the run's load sample (slo.Load, censored timeouts included); NULL: none

CREATE TABLE rollups (
	hour               INTEGER NOT NULL, -- start of the UTC hour, Unix ns
	check_name         TEXT NOT NULL,
	location           TEXT NOT NULL,
	runs               INTEGER NOT NULL, -- maintenance included
	maintenance        INTEGER NOT NULL, -- runs in a maintenance window: in nothing below
	probe_faults       INTEGER NOT NULL,
	eligible           INTEGER NOT NULL, -- runs − maintenance − probe_faults
	up                 INTEGER NOT NULL,
	first_try          INTEGER NOT NULL,
	failures           TEXT,             -- JSON object: failure kind → runs; NULL when none
	last_at            INTEGER NOT NULL, -- newest run's scheduled time
	last_type          TEXT NOT NULL,    -- and its type
	last_fault_at      INTEGER,          -- newest probe fault's scheduled time
	last_fault_message TEXT,
	load_hist          BLOB,             -- load samples (ms)
	PRIMARY KEY (hour, check_name, location)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_pages (
	hour       INTEGER NOT NULL,
	check_name TEXT NOT NULL,
	location   TEXT NOT NULL,
	page       TEXT NOT NULL,
	first_at   INTEGER NOT NULL, -- first measured in the hour (scheduled time) ...
	idx        INTEGER NOT NULL, -- ... at this position in its run: pages are listed in that order
	measured   INTEGER NOT NULL,
	load_hist  BLOB,             -- load_ms of the loads that fired
	lcp_good INTEGER NOT NULL, lcp_ni INTEGER NOT NULL, lcp_poor INTEGER NOT NULL, lcp_hist BLOB,
	cls_good INTEGER NOT NULL, cls_ni INTEGER NOT NULL, cls_poor INTEGER NOT NULL, cls_hist BLOB,
	inp_good INTEGER NOT NULL, inp_ni INTEGER NOT NULL, inp_poor INTEGER NOT NULL, inp_hist BLOB,
	fcp_good INTEGER NOT NULL, fcp_ni INTEGER NOT NULL, fcp_poor INTEGER NOT NULL, fcp_hist BLOB,
	ttfb_good INTEGER NOT NULL, ttfb_ni INTEGER NOT NULL, ttfb_poor INTEGER NOT NULL, ttfb_hist BLOB,
	PRIMARY KEY (hour, check_name, location, page)
) STRICT, WITHOUT ROWID;
`,
	// 5: CDN insight, warm-up, origin and security of HTTP attempts. The CDN
	// object beside the provider (cdn, since 2); the warm-up counts; the
	// security judgement (security_fail_on set when the check asked for
	// one) with its findings; the origin_url's measurement. Attempts stored
	// before it read back with a CDN whose cache and pop are unknown.
	`
ALTER TABLE attempts ADD COLUMN cdn_cache        TEXT;    -- hit | miss | expired | stale | bypass | dynamic | unknown; NULL without a CDN object
ALTER TABLE attempts ADD COLUMN cdn_cache_raw    TEXT;    -- the vendor's value, as sent (clipped)
ALTER TABLE attempts ADD COLUMN cdn_pop          TEXT;    -- upper-case code of at most 8 letters and digits, or unknown
ALTER TABLE attempts ADD COLUMN cdn_pop_raw      TEXT;    -- the header value the pop was read from
ALTER TABLE attempts ADD COLUMN cdn_age_s        INTEGER; -- the Age header, seconds; NULL without one
ALTER TABLE attempts ADD COLUMN warmup_requests  INTEGER; -- unmeasured requests sent first; NULL without warm-up
ALTER TABLE attempts ADD COLUMN warmup_failed    INTEGER;
ALTER TABLE attempts ADD COLUMN security_fail_on TEXT;    -- info | low | medium | high; NULL when security was not judged

-- security_findings: what the security judgement of an attempt found, in order.
CREATE TABLE security_findings (
	id         INTEGER PRIMARY KEY,
	attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	run_id     INTEGER NOT NULL,
	idx        INTEGER NOT NULL,
	finding    TEXT NOT NULL,   -- the finding's stable id, e.g. hsts-missing
	severity   TEXT NOT NULL,   -- info | low | medium | high
	message    TEXT NOT NULL,
	reference  TEXT NOT NULL,   -- the OWASP page
	UNIQUE (attempt_id, idx)
) STRICT;
CREATE INDEX security_findings_run ON security_findings (run_id);

-- origins: the origin_url's measurement beside an attempt's (at most one).
CREATE TABLE origins (
	id              INTEGER PRIMARY KEY,
	attempt_id      INTEGER NOT NULL UNIQUE REFERENCES attempts (id) ON DELETE CASCADE,
	run_id          INTEGER NOT NULL,
	url             TEXT NOT NULL,          -- redacted
	final_url       TEXT NOT NULL,
	ok              INTEGER NOT NULL,
	failure_kind    TEXT,
	failure_phase   TEXT,
	failure_message TEXT,
	status_code     INTEGER NOT NULL,
	dns_ms          REAL NOT NULL,
	connect_ms      REAL NOT NULL,
	tls_ms          REAL NOT NULL,
	wait_ms         REAL NOT NULL,
	transfer_ms     REAL NOT NULL,
	ttfb_ms         REAL NOT NULL,
	redirect_ms     REAL NOT NULL,
	total_ms        REAL NOT NULL,
	has_tls         INTEGER NOT NULL,
	tls_version     TEXT,
	tls_cipher      TEXT,
	cert_subject    TEXT,
	cert_issuer     TEXT,
	cert_not_after  INTEGER,                -- Unix seconds
	cert_days_left  REAL,
	bytes           INTEGER NOT NULL,
	wire_bytes      INTEGER NOT NULL,
	redirects       INTEGER NOT NULL,
	http_version    TEXT NOT NULL,
	remote_ip       TEXT NOT NULL
) STRICT;
CREATE INDEX origins_run ON origins (run_id);
`,
	// 6: what a page is made of and how it was observed: the settle rule's
	// end, soft navigations, blocking time and long tasks, requests by type
	// and third parties, render-blocking resources and the LCP's
	// breakdown; the hourly rollups keep each page's TBT histogram for
	// the report's p75. Pages stored before it read back with these empty.
	`
ALTER TABLE pages ADD COLUMN soft_navigation TEXT NOT NULL DEFAULT '';      -- heuristics | fallback; '' a document
ALTER TABLE pages ADD COLUMN settled_ms REAL NOT NULL DEFAULT 0;            -- end of observation, from the page's start
ALTER TABLE pages ADD COLUMN settle_reason TEXT NOT NULL DEFAULT '';        -- quiet | cap | navigation | input
ALTER TABLE pages ADD COLUMN tbt_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN long_tasks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN longest_task_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN longest_tasks TEXT;                            -- JSON array, NULL when none
ALTER TABLE pages ADD COLUMN resources TEXT;                                -- JSON object by type
ALTER TABLE pages ADD COLUMN third_party_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN third_party_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN third_party_blocking_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE pages ADD COLUMN third_parties TEXT;                            -- JSON array, NULL when none
ALTER TABLE pages ADD COLUMN render_blocking_resources TEXT;                -- JSON array, NULL when none
ALTER TABLE pages ADD COLUMN lcp_url TEXT NOT NULL DEFAULT '';              -- the LCP resource, redacted
ALTER TABLE pages ADD COLUMN lcp_request_start_ms REAL;                     -- the LCP breakdown; NULL without an LCP
ALTER TABLE pages ADD COLUMN lcp_response_end_ms REAL;
ALTER TABLE pages ADD COLUMN lcp_load_delay_ms REAL;
ALTER TABLE pages ADD COLUMN lcp_load_duration_ms REAL;
ALTER TABLE pages ADD COLUMN lcp_render_delay_ms REAL;
ALTER TABLE rollup_pages ADD COLUMN tbt_hist BLOB;                         -- tbt_ms of the pages observed by the settle rule
`,
	// 7: the report's cache status per check: each hour's eligible runs
	// answered through a CDN, counted by provider, cache status and POP.
	// Hours rolled up before it have none (their runs are not recounted).
	`
ALTER TABLE rollups ADD COLUMN edges TEXT; -- JSON array of {provider, cache, pop, runs}, sorted; NULL when none
`,
	// 8: payment-field readiness: the gateway a page was waited on for and
	// when its card field or buttons were ready; the checks' payment_ready
	// target; the hourly rollups keep each page's payment_ready histogram
	// for the report's p75. Pages stored before it read back without them.
	`
ALTER TABLE pages ADD COLUMN payment_provider TEXT NOT NULL DEFAULT '';     -- stripe | paypal | square; '' not waited on
ALTER TABLE pages ADD COLUMN payment_ready_ms REAL;                         -- from the page's start; NULL when not ready
ALTER TABLE checks ADD COLUMN slo_payment_ready_ms REAL NOT NULL DEFAULT 0; -- p75 payment_ready target, ms; 0 = no target
ALTER TABLE rollup_pages ADD COLUMN payment_provider TEXT NOT NULL DEFAULT ''; -- the gateway the page was waited on for
ALTER TABLE rollup_pages ADD COLUMN payment_ready_hist BLOB;               -- payment_ready_ms of the waits that saw it ready
`,
	// 9: a page's analytics beacons (recorded, answered in the browser),
	// what they revealed (a beacon before the consent click) and its
	// mixed content. Pages stored before it read back with these empty.
	`
ALTER TABLE pages ADD COLUMN analytics TEXT;                                -- JSON object by vendor, NULL when no beacon
ALTER TABLE pages ADD COLUMN analytics_findings TEXT;                       -- JSON array, NULL when none
ALTER TABLE pages ADD COLUMN mixed_content TEXT;                            -- JSON array (the first 20), NULL when none
ALTER TABLE pages ADD COLUMN mixed_content_count INTEGER NOT NULL DEFAULT 0;
`,
	// 10: the report's analytics per page: in each hour's rollup, per
	// vendor, the measurements of the page on which it fired and its hits.
	// Hours rolled up before it have none.
	`
ALTER TABLE rollup_pages ADD COLUMN ga4_pages INTEGER NOT NULL DEFAULT 0;   -- measurements on which GA4 fired
ALTER TABLE rollup_pages ADD COLUMN ga4_hits INTEGER NOT NULL DEFAULT 0;    -- its hits on them
ALTER TABLE rollup_pages ADD COLUMN adobe_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_pages ADD COLUMN adobe_hits INTEGER NOT NULL DEFAULT 0;
`,
	// 11: what a browser attempt met: the dialogs it accepted and the
	// popups it closed. Attempts stored before it read back without them.
	`
ALTER TABLE attempts ADD COLUMN dialogs TEXT; -- JSON array of "<type>: <message>" (redacted), NULL when none
ALTER TABLE attempts ADD COLUMN popups  TEXT; -- JSON array of URLs (redacted), NULL when none
`,
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return len(migrations) }
