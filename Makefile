# storeprobe — `make demo` runs the offline demo, `make test` the whole suite.
# Both install what they need on a fresh Debian machine (as root).

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
INFLUXD   ?= $(GOBIN)/influxd
CHROMIUM  ?= /usr/bin/chromium
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...

MAILPIT      ?= $(GOBIN)/mailpit
ALERTMANAGER ?= /usr/bin/prometheus-alertmanager
PROMETHEUS   ?= /usr/bin/prometheus
# Google's web-vitals library (its IIFE build), the field definition the
# browser collector's tests compare with.
WEBVITALS_DIR ?= /opt/webvitals
WEBVITALS     ?= $(WEBVITALS_DIR)/node_modules/web-vitals/dist/web-vitals.iife.js

# What the tests that start a real component read (Chromium, influxd, mailpit,
# Alertmanager, Prometheus, web-vitals; one rule each: the binary's variable, else its default): the
# binaries, and that a missing one fails the run instead of skipping its
# tests. Targets that install them first pass this.
TESTENV   := CHROMIUM=$(CHROMIUM) INFLUXD=$(INFLUXD) MAILPIT=$(MAILPIT) ALERTMANAGER=$(ALERTMANAGER) PROMETHEUS=$(PROMETHEUS) \
	WEBVITALS=$(WEBVITALS) STOREPROBE_REQUIRE_CHROMIUM=1 STOREPROBE_REQUIRE_INFLUXD=1 STOREPROBE_REQUIRE_MAILPIT=1 \
	STOREPROBE_REQUIRE_ALERTMANAGER=1 STOREPROBE_REQUIRE_PROMETHEUS=1 STOREPROBE_REQUIRE_WEBVITALS=1

.PHONY: all build demo test test-short test-memory vet fmt-check deps chromium influxd bench bench-lighthouse fuzz fuzz-short soak clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/storeprobe ./cmd/storeprobe

## demo: the offline demo — a local storefront, scheduled checks and a journey, then the report.
# Chromium is installed if it can be; offline and without it, the demo runs its
# HTTP checks only.
demo: build
	-@$(MAKE) --no-print-directory chromium
	./bin/storeprobe demo --duration 60s

## test: everything the tests need, then vet, gofmt, the race-enabled suite
## (every fuzz test's seed corpus included), the memory bounds without -race
## (the race detector's shadow memory would swamp RSS) and a short fuzzing pass.
test: deps fmt-check vet
	$(TESTENV) $(GO) test -race -count=1 -timeout 14m $(PKGS)
	$(MAKE) --no-print-directory test-memory fuzz-short

## test-memory: the tests that bound resident memory, without -race.
test-memory:
	$(GO) test -count=1 -run '^(TestHostileTargets|TestValidateHostileFiles)$$' ./probe/httpcheck/ ./cmd/storeprobe/

## test-short: no installs; -short skips the tests that start Chromium, influxd or the binary.
test-short: fmt-check vet
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

deps: chromium influxd mailpit alertmanager prometheus webvitals

# Debian's chromium; apt-get update only when the package is missing.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@test -x $(CHROMIUM) || (echo "chromium missing at $(CHROMIUM)"; exit 1)

# InfluxDB 1.8.10 built from source (about a minute); Debian's is too old.
influxd:
	@if [ ! -x $(INFLUXD) ]; then \
		echo "building influxd 1.8.10"; \
		cd /tmp && GOFLAGS= $(GO) install github.com/influxdata/influxdb/cmd/influxd@v1.8.10; \
	fi
	@test -x $(INFLUXD) || (echo "influxd missing at $(INFLUXD)"; exit 1)

# The receivers probe/notify's tests deliver to: mailpit (SMTP) and Debian's
# Prometheus Alertmanager. `make test` points the tests at them and makes a
# missing one fail the run instead of skipping its tests.
.PHONY: mailpit alertmanager prometheus webvitals

# mailpit v1.33.1 built from source when missing.
mailpit:
	@if [ ! -x $(MAILPIT) ]; then \
		echo "building mailpit v1.33.1"; \
		cd /tmp && GOFLAGS= $(GO) install github.com/axllent/mailpit@v1.33.1; \
	fi
	@test -x $(MAILPIT) || (echo "mailpit missing at $(MAILPIT)"; exit 1)

# Debian's prometheus-alertmanager when missing. The tests start their own on
# loopback, so the service the package enables is stopped where systemd runs.
alertmanager:
	@if [ ! -x $(ALERTMANAGER) ]; then \
		echo "installing prometheus-alertmanager"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null; \
		systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true; \
	fi
	@test -x $(ALERTMANAGER) || (echo "prometheus-alertmanager missing at $(ALERTMANAGER)"; exit 1)

# Debian's prometheus when missing: a real server scrapes the daemon in the
# metrics test. Its system service is disabled; the test starts its own.
prometheus:
	@if [ ! -x $(PROMETHEUS) ]; then \
		echo "installing prometheus"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
		systemctl disable --now prometheus >/dev/null 2>&1 || true; \
	fi
	@test -x $(PROMETHEUS) || (echo "prometheus missing at $(PROMETHEUS)"; exit 1)

# web-vitals 6.2.3 with npm when missing (Debian's Node 20 runs it; only
# its built file is used, loaded into the test pages).
webvitals:
	@if [ ! -f $(WEBVITALS) ]; then \
		echo "installing web-vitals 6.2.3 into $(WEBVITALS_DIR)"; \
		npm install --prefix $(WEBVITALS_DIR) --no-audit --no-fund web-vitals@6.2.3 >/dev/null; \
	fi
	@test -f $(WEBVITALS) || (echo "web-vitals missing at $(WEBVITALS)"; exit 1)

## bench-quick: storeprobe beside curl, blackbox_exporter and Lighthouse, and how its costs grow, in
## about 2½ minutes on 2 cores: one table (also in deploy/bench/last-quick.md); exits non-zero when a
## goal it measures is missed or a row it should measure has none, so it can gate a release.
## bench: the same with every size and level (about 45 minutes); writes deploy/bench/last.md and the
## table in the README's Performance section.
# Both install the peers first (a peer that cannot be installed is skipped by
# its benchmark, which says why); cmd/storeprobe-bench runs the Go benchmarks
# one at a time and builds the table from what they report.
BLACKBOX_EXPORTER ?= /usr/bin/prometheus-blackbox-exporter
BENCHENV   = CHROMIUM=$(CHROMIUM) STOREPROBE_REQUIRE_CHROMIUM=1 LIGHTHOUSE=$(LIGHTHOUSE) BLACKBOX_EXPORTER=$(BLACKBOX_EXPORTER)
BENCHLOG  ?= bin/bench.log
.PHONY: bench-quick bench-peers blackbox-exporter lighthouse curl
bench-quick: bench-peers
	@mkdir -p bin
	$(BENCHENV) $(GO) run ./cmd/storeprobe-bench --go $(GO) --quick --out deploy/bench/last-quick.md --log $(BENCHLOG)

bench: bench-peers
	@mkdir -p bin
	$(BENCHENV) $(GO) run ./cmd/storeprobe-bench --go $(GO) --out deploy/bench/last.md --readme README.md --log $(BENCHLOG)

# Chromium is required; a peer whose installation fails leaves its
# comparison skipped, with the reason printed here and in the table.
bench-peers: chromium
	-@$(MAKE) --no-print-directory curl || echo "curl could not be installed: the accuracy comparison will be skipped"
	-@$(MAKE) --no-print-directory blackbox-exporter || echo "blackbox_exporter could not be installed: its comparison will be skipped"
	-@$(MAKE) --no-print-directory lighthouse || echo "Lighthouse could not be installed: its comparison will be skipped"

curl:
	@command -v curl >/dev/null || (echo "installing curl"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null)
	@command -v curl >/dev/null

# Debian's prometheus-blackbox-exporter when missing; the benchmark starts its
# own on loopback, so the service the package enables is stopped.
blackbox-exporter:
	@if [ ! -x $(BLACKBOX_EXPORTER) ]; then \
		echo "installing prometheus-blackbox-exporter"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-blackbox-exporter >/dev/null; \
		systemctl disable --now prometheus-blackbox-exporter >/dev/null 2>&1 || true; \
	fi
	@test -x $(BLACKBOX_EXPORTER) || (echo "prometheus-blackbox-exporter missing at $(BLACKBOX_EXPORTER)"; exit 1)

## bench-lighthouse: our browser probe against Lighthouse 12 on the same pages, alone.
# Lighthouse 12.2.3 with npm when missing (13 needs a newer Node than Debian's 20).
LIGHTHOUSE_DIR ?= /opt/lighthouse
LIGHTHOUSE     ?= $(LIGHTHOUSE_DIR)/node_modules/.bin/lighthouse
lighthouse: chromium
	@if [ ! -x $(LIGHTHOUSE) ] || [ "$$($(LIGHTHOUSE) --version 2>/dev/null)" != 12.2.3 ]; then \
		echo "installing lighthouse 12.2.3 into $(LIGHTHOUSE_DIR)"; \
		npm install --prefix $(LIGHTHOUSE_DIR) --no-audit --no-fund lighthouse@12.2.3 >/dev/null; \
	fi
	@test -x $(LIGHTHOUSE) || (echo "lighthouse missing at $(LIGHTHOUSE)"; exit 1)

bench-lighthouse: lighthouse
	LIGHTHOUSE=$(LIGHTHOUSE) CHROMIUM=$(CHROMIUM) STOREPROBE_REQUIRE_CHROMIUM=1 $(GO) test ./probe/browser -run '^$$' -bench VsLighthouse -benchtime 3x -timeout 60m

## fuzz: fuzzing every fuzz test for FUZZTIME each (default 60s). A duration
# budget can end in a bare "context deadline exceeded" on a busy machine: Go
# 1.26's fuzzing coordinator races its own deadline (go.dev/issue/75804, fixed
# in Go 1.27). A count budget (FUZZTIME=20000x) has no deadline to race.
FUZZTIME ?= 60s
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		pkg=./$$(dirname $$f); \
		for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "== $$pkg $$fn"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME); \
		done; \
	done

## fuzz-short: every fuzz test for FUZZSHORT inputs each (2000), so make test
# fuzzes a little; a count, not a duration, so CI cannot hit go.dev/issue/75804.
FUZZSHORT ?= 2000x
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZSHORT)

## soak: the daemon for SOAKTIME (default 10m) with 200 HTTP checks and 4 journeys
# against the demo shop: resources stable after a warm-up, lag within goal.
SOAKTIME ?= 10m
soak: chromium
	STOREPROBE_SOAK=$(SOAKTIME) $(TESTENV) $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 60m ./cmd/storeprobe

clean:
	rm -rf bin
