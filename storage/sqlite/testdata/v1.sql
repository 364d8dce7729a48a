PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_version (
		version    INTEGER NOT NULL,
		applied_at INTEGER NOT NULL);
INSERT INTO schema_version VALUES(1,1795626771450137223);
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
INSERT INTO runs VALUES(1,'home','http','eu-west','probe-1','{"cdn":"fastly","platform":"shopware"}',1773480413589793238,1773480413602138916,12.345677999999999485,1,NULL,NULL,NULL,231.5,2,0);
INSERT INTO runs VALUES(2,'home-browser','browser','eu-west','probe-1',NULL,1773480473589793238,1773480473592793238,3.0,1,NULL,NULL,NULL,1834.5,1,0);
INSERT INTO runs VALUES(3,'checkout','journey','us-east','probe-2','{"team":"payments"}',1773480533589793238,1773480534589793238,1000.0,0,'selector','click #add-to-cart','#add-to-cart not visible within 5s',8123.7499999999999997,1,0);
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
INSERT INTO attempts VALUES(1,1,1,'home','http','https://shop.test/?token=REDACTED','https://shop.test/',0,'timeout','wait','no first byte within 10s',1,1773480413590793238,10000.249999999999999,1,0,1.5,2.25,30.125,9966.3749999999999996,0.0,0.0,0.0,10000.249999999999999,0,NULL,NULL,NULL,NULL,NULL,NULL,0,0,0,'','',0,NULL,NULL);
INSERT INTO attempts VALUES(2,1,2,'home','http','https://shop.test/?token=REDACTED','https://shop.test/de/',1,NULL,NULL,NULL,2,1773480423589793238,231.5,1,200,1.1000000000000000888,2.2000000000000001776,33.299999999999997158,120.40000000000000568,40.500000000000000001,157.0,34.0,231.5,1,'TLS 1.3','TLS_AES_128_GCM_SHA256','CN=shop.test','CN=Test CA',253402300799,2913578.600000000093,51234,18001,1,'HTTP/2.0','127.0.0.1',0,NULL,NULL);
INSERT INTO attempts VALUES(3,2,1,'home-browser','browser','https://shop.test/','https://shop.test/',1,NULL,NULL,NULL,1,1773480473592793238,1834.5,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,1,'mobile','["Uncaught TypeError: x is undefined","404 /favicon.ico"]');
INSERT INTO attempts VALUES(4,3,1,'checkout','journey','https://shop.test/','https://shop.test/cart',0,'selector','click #add-to-cart','#add-to-cart not visible within 5s',1,1773480534589793238,8123.7499999999999997,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,1,'desktop',NULL);
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
INSERT INTO pages VALUES(1,3,2,-1,'home-browser','https://shop.test/',1710.4000000000000909,0.030999999999999999777,NULL,900.0,120.5,'good','good','','good','good','img#hero',1834.5,812.25000000000000003,41,1,1234567,2,3);
INSERT INTO pages VALUES(2,4,3,0,'home','https://shop.test/',2600.0,0.0,48.0,1200.0,300.0,'needs-improvement','good','good','good','good','',2900.0,1300.0,30,0,900000,0,0);
INSERT INTO pages VALUES(3,4,3,1,'product','https://shop.test/p/1',4100.0,NULL,NULL,2000.0,NULL,'poor','','','needs-improvement','','div.gallery > img',4300.0,2100.0,55,2,2000000,0,0);
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
INSERT INTO steps VALUES(1,4,3,0,'goto /','goto',1,0,1500.5,NULL,NULL,NULL);
INSERT INTO steps VALUES(2,4,3,1,'accept cookies','click',1,1,0.25,NULL,NULL,NULL);
INSERT INTO steps VALUES(3,4,3,2,'click #add-to-cart','click',0,0,5000.0,'selector','','#add-to-cart not visible within 5s');
CREATE TABLE artifacts (
	id         INTEGER PRIMARY KEY,
	attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	run_id     INTEGER NOT NULL,
	idx        INTEGER NOT NULL,
	path       TEXT NOT NULL,
	UNIQUE (attempt_id, idx)
) STRICT;
INSERT INTO artifacts VALUES(1,4,3,0,'checkout/20260314T092653Z/screenshot.png');
INSERT INTO artifacts VALUES(2,4,3,1,'checkout/20260314T092653Z/requests.json');
CREATE TABLE skips (
	id           INTEGER PRIMARY KEY,
	check_name   TEXT NOT NULL,
	scheduled_at INTEGER NOT NULL,
	reason       TEXT NOT NULL
) STRICT;
CREATE TABLE outbox (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	enqueued_at INTEGER NOT NULL
) STRICT;
INSERT INTO outbox VALUES(1,1,1795626771451395272);
INSERT INTO outbox VALUES(2,2,1795626771451592335);
INSERT INTO outbox VALUES(3,3,1795626771451829218);
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
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;
INSERT INTO counters VALUES('outbox_dropped',0);
INSERT INTO counters VALUES('points_rejected',0);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('outbox',3);
CREATE INDEX runs_scheduled ON runs (scheduled_at);
CREATE INDEX runs_check_scheduled ON runs (check_name, scheduled_at);
CREATE INDEX pages_run ON pages (run_id);
CREATE INDEX steps_run ON steps (run_id);
CREATE INDEX artifacts_run ON artifacts (run_id);
CREATE INDEX attempts_run ON attempts (run_id);
CREATE INDEX skips_check_scheduled ON skips (check_name, scheduled_at);
CREATE INDEX skips_scheduled ON skips (scheduled_at);
CREATE INDEX outbox_run ON outbox (run_id);
CREATE INDEX rejected_points_at ON rejected_points (rejected_at);
COMMIT;
