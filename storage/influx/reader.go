package influx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/storeprobe/storeprobe/probe"
)

// ReaderOptions configure a Reader. URL and Bucket are required.
type ReaderOptions struct {
	URL    string
	Org    string // "" for InfluxDB 1.8
	Bucket string // "db/rp" for InfluxDB 1.8
	// Token as for the shipper; sent in the Authorization header, never
	// logged.
	Token string
	// Checks are the configured check names. A name longer than a tag
	// value may be is written shortened (prefix + hash); listing it maps
	// the tag back to the name, so the run matches its check.
	Checks []string
	// Timeout bounds one query; default 60s.
	Timeout time.Duration
}

// Reader turns the points of a time range back into runs: what the fleet
// evaluator judges. It reads check_result (the verdict, one point per run),
// check_attempt (each attempt's outcome), http_check (status, timings,
// certificate days left) and browser_page (each page's metrics and vitals)
// with one Flux query per call, written for Flux 0.65 (InfluxDB 1.8) as
// well as 2.x.
//
// A run read back has its final attempt in full as far as the schema
// keeps it — outcome, failure kind and message, status, timings,
// certificate, pages — which is what the alert rules and the report's
// targets read; earlier attempts carry their outcome, kind, status and
// timing only (what retries and "success on the first try" need). Journey
// steps, URLs, console messages and artifacts stay in the probes' own
// stores.
type Reader struct {
	client  influxdb2.Client
	query   api.QueryAPI
	bucket  string
	timeout time.Duration
	names   map[string]string // tag value → check name, for shortened names
}

// NewReader validates o and builds a Reader. Close releases it.
func NewReader(o ReaderOptions) (*Reader, error) {
	if o.URL == "" || o.Bucket == "" {
		return nil, errors.New("influx reader: url and bucket are required")
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	opts := influxdb2.DefaultOptions().SetHTTPRequestTimeout(uint((o.Timeout + time.Second - 1) / time.Second))
	client := influxdb2.NewClientWithOptions(strings.TrimRight(o.URL, "/"), o.Token, opts)
	names := map[string]string{}
	for _, n := range o.Checks {
		if tag := cleanTag(n); tag != n {
			names[tag] = n
		}
	}
	return &Reader{client: client, query: client.QueryAPI(o.Org), bucket: o.Bucket, timeout: o.Timeout, names: names}, nil
}

// Close releases the HTTP client.
func (r *Reader) Close() { r.client.Close() }

// runKey identifies a run in InfluxDB: its points share these tags and its
// scheduled time, whatever else (failure_kind, host, platform) differs.
type runKey struct {
	check, location, probe string
	at                     int64
}

// partial gathers one run's rows, which arrive in any order.
type partial struct {
	run      *probe.Run
	http     *probe.HTTPDetails
	pages    []probe.PageResult
	attempts map[int]probe.Result // by number, from check_attempt
}

// Runs returns the runs scheduled in [since, until), oldest first, each
// once: points of one run that differ in a tag other than check, location
// and probe (a run shipped twice with a different platform tag, say) are
// one run, the first row read deciding. It holds the whole range in
// memory: long ranges are read a window at a time by the caller.
func (r *Reader) Runs(ctx context.Context, since, until time.Time) ([]probe.Run, error) {
	if !until.After(since) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.query.Query(ctx, runsQuery(r.bucket, since, until))
	if err != nil {
		return nil, fmt.Errorf("influx: read runs %s..%s: %w", stamp(since), stamp(until), err)
	}
	defer res.Close()
	byKey := map[runKey]*partial{}
	get := func(k runKey) *partial {
		p := byKey[k]
		if p == nil {
			p = &partial{}
			byKey[k] = p
		}
		return p
	}
	for res.Next() {
		v := res.Record().Values()
		at, ok := v["_time"].(time.Time)
		if !ok || at.Before(since) || !at.Before(until) {
			// InfluxDB 1.8 returns points at exactly stop, though range()
			// excludes it: the window is enforced here, so adjacent windows
			// never share a run.
			continue
		}
		k := runKey{check: r.checkName(str(v, "check")), location: str(v, "location"), probe: str(v, "probe"), at: at.UnixNano()}
		if k.check == "" {
			continue
		}
		switch str(v, "_measurement") {
		case MeasurementCheckResult:
			if p := get(k); p.run == nil {
				p.run = runOf(k, at.UTC(), v)
			}
		case MeasurementHTTPCheck:
			if p := get(k); p.http == nil {
				p.http = httpOf(v)
			}
		case MeasurementCheckAttempt:
			p := get(k)
			n, err := strconv.Atoi(str(v, "attempt"))
			if err != nil || n < 1 {
				continue
			}
			if p.attempts == nil {
				p.attempts = map[int]probe.Result{}
			}
			if _, dup := p.attempts[n]; !dup {
				p.attempts[n] = attemptOf(k, at, n, v)
			}
		case MeasurementBrowserPage:
			p, name := get(k), str(v, "page")
			if !slices.ContainsFunc(p.pages, func(pg probe.PageResult) bool { return pg.Name == name }) {
				p.pages = append(p.pages, probe.PageResult{Name: name, PageMetrics: pageOf(v)})
			}
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("influx: read runs %s..%s: %w", stamp(since), stamp(until), err)
	}
	runs := make([]probe.Run, 0, len(byKey))
	for _, p := range byKey {
		if p.run == nil {
			// Pages or HTTP facts without a verdict: the check_result point
			// was refused or is not visible yet. No run without a verdict.
			continue
		}
		runs = append(runs, p.assemble())
	}
	slices.SortFunc(runs, func(a, b probe.Run) int {
		return cmp.Or(a.ScheduledAt.Compare(b.ScheduledAt), cmp.Compare(a.Check, b.Check),
			cmp.Compare(a.Location, b.Location), cmp.Compare(a.Probe, b.Probe))
	})
	return runs, nil
}

// runsQuery is the Flux of one range. pivot turns each series' fields into
// the columns of one row per point (a run's row of each measurement);
// nothing newer than Flux 0.65 is used.
func runsQuery(bucket string, since, until time.Time) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q or r._measurement == %q or r._measurement == %q or r._measurement == %q)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
		fluxString(bucket), stamp(since), stamp(until),
		MeasurementCheckResult, MeasurementCheckAttempt, MeasurementHTTPCheck, MeasurementBrowserPage)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// fluxString quotes s as a Flux string literal; "${" would start an
// interpolation.
func fluxString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`).Replace(s) + `"`
}

func (r *Reader) checkName(tag string) string {
	if n, ok := r.names[tag]; ok {
		return n
	}
	return tag
}

// runOf is the run a check_result row describes, with its one attempt.
func runOf(k runKey, at time.Time, v map[string]any) *probe.Run {
	lag := time.Duration(num(v, "lag_ms") * float64(time.Millisecond))
	typ := probe.CheckType(str(v, "type"))
	res := probe.Result{
		Check: k.check, Type: typ, OK: boolean(v, "ok"), Attempt: max(1, int(integer(v, "attempts"))),
		StartedAt: at.Add(lag), DurationMS: num(v, "duration_ms"),
	}
	res.Failure = failureOf(res.OK, v)
	if code, ok := v["status_code"].(int64); ok {
		res.HTTPDetails = &probe.HTTPDetails{StatusCode: int(code)}
	}
	if device := str(v, "device"); device != "" || typ == probe.TypeBrowser || typ == probe.TypeJourney {
		res.BrowserDetails = &probe.BrowserDetails{Device: device}
	}
	run := &probe.Run{Check: k.check, Type: typ, Location: k.location, Probe: k.probe,
		ScheduledAt: at, StartedAt: at.Add(lag), Lag: lag, Attempts: []probe.Result{res}}
	for _, t := range []string{"platform", "cdn"} {
		if s := str(v, t); s != "" {
			if run.Tags == nil {
				run.Tags = map[string]string{}
			}
			run.Tags[t] = s
		}
	}
	return run
}

// failureOf reads a row's failure: its kind tag and, on check_result, its
// message.
func failureOf(ok bool, v map[string]any) *probe.Failure {
	kind := str(v, "failure_kind")
	if ok && (kind == FailureNone || kind == "") {
		return nil
	}
	if kind == FailureNone || kind == "" {
		// As Points writes a failure without a kind: the probe's bug.
		kind = string(probe.FailureProbeError)
	}
	return &probe.Failure{Kind: probe.FailureKind(kind), Message: str(v, "failure_message")}
}

// attemptOf reads a check_attempt row: an attempt's outcome and timing.
func attemptOf(k runKey, at time.Time, n int, v map[string]any) probe.Result {
	a := probe.Result{Check: k.check, Type: probe.CheckType(str(v, "type")), OK: boolean(v, "ok"), Attempt: n,
		StartedAt:  at.UTC().Add(time.Duration(num(v, "start_offset_ms") * float64(time.Millisecond))),
		DurationMS: num(v, "duration_ms")}
	a.Failure = failureOf(a.OK, v)
	if code, ok := v["status_code"].(int64); ok {
		a.HTTPDetails = &probe.HTTPDetails{StatusCode: int(code)}
	}
	return a
}

// httpOf reads an http_check row. The certificate's expiry is not in the
// schema, only the days left when the check ran; its NotAfter is derived
// from them (they are rounded to 0.01 day, about 15 minutes).
func httpOf(v map[string]any) *probe.HTTPDetails {
	h := &probe.HTTPDetails{
		StatusCode: int(integer(v, "status_code")),
		Timings: probe.Timings{
			DNS: num(v, "dns_ms"), Connect: num(v, "connect_ms"), TLS: num(v, "tls_ms"), Wait: num(v, "wait_ms"),
			Transfer: num(v, "transfer_ms"), TTFB: num(v, "ttfb_ms"), Redirect: num(v, "redirect_ms"), Total: num(v, "total_ms"),
		},
		Bytes: integer(v, "bytes"), WireBytes: integer(v, "wire_bytes"), Redirects: int(integer(v, "redirects")),
		HTTPVersion: str(v, "http_version"),
	}
	if days, ok := v["cert_days_left"].(float64); ok {
		h.TLS = &probe.TLSInfo{CertDaysLeft: days}
	}
	// cache_hit is written only when a CDN answered; its provider is the
	// run's cdn tag (the detected provider unless the check's config set
	// the tag), its status and POP the point's cache and pop tags.
	if _, ok := v["cache_hit"]; ok && str(v, "cdn") != "" {
		h.CDN = &probe.CDNInfo{Provider: str(v, "cdn"), Cache: probe.CacheStatus(str(v, "cache")), POP: str(v, "pop")}
	}
	return h
}

// pageOf reads a browser_page row; a vital is set only when it was
// observed, and rated again with probe.Rate.
func pageOf(v map[string]any) probe.PageMetrics {
	opt := func(k string) *float64 {
		if f, ok := v[k].(float64); ok {
			return &f
		}
		return nil
	}
	vs := probe.Vitals{LCP: opt("lcp_ms"), CLS: opt("cls"), INP: opt("inp_ms"), FCP: opt("fcp_ms"), TTFB: opt("ttfb_ms")}
	m := probe.PageMetrics{
		Vitals: vs, Ratings: vs.Rate(), LoadMS: num(v, "load_ms"), DOMContentLoadedMS: num(v, "dom_content_loaded_ms"),
		Requests: int(integer(v, "requests")), FailedRequests: int(integer(v, "failed_requests")),
		TransferBytes: integer(v, "transfer_bytes"), ConsoleErrorCount: int(integer(v, "console_errors")),
		SettledMS: num(v, "settled_ms"), SettleReason: str(v, "settle_reason"), SoftNavigation: str(v, "soft_navigation"),
		TBTMS: num(v, "tbt_ms"), LongTasks: int(integer(v, "long_tasks")), LongestTaskMS: num(v, "longest_task_ms"),
		RenderBlockingCount: int(integer(v, "render_blocking")),
		ThirdPartyRequests:  int(integer(v, "third_party_requests")), ThirdPartyBytes: integer(v, "third_party_bytes"),
		ThirdPartyBlockingMS: num(v, "third_party_blocking_ms"),
		PaymentProvider:      str(v, "payment_provider"), PaymentReadyMS: opt("payment_ready_ms"),
	}
	r := &m.Resources
	r.Document.Bytes, r.Script.Bytes, r.CSS.Bytes = integer(v, "document_bytes"), integer(v, "script_bytes"), integer(v, "css_bytes")
	r.Image.Bytes, r.Font.Bytes = integer(v, "image_bytes"), integer(v, "font_bytes")
	r.XHR.Bytes, r.Other.Bytes = integer(v, "xhr_bytes"), integer(v, "other_bytes")
	m.MixedContentCount = int(integer(v, "mixed_content"))
	for _, h := range []struct {
		field string
		to    func(*probe.PageAnalytics) **probe.BeaconTally
	}{
		{"ga4_hits", func(a *probe.PageAnalytics) **probe.BeaconTally { return &a.GA4 }},
		{"adobe_hits", func(a *probe.PageAnalytics) **probe.BeaconTally { return &a.Adobe }},
	} {
		if n := integer(v, h.field); n > 0 {
			if m.Analytics == nil {
				m.Analytics = &probe.PageAnalytics{}
			}
			*h.to(m.Analytics) = &probe.BeaconTally{Fired: int(n)}
		}
	}
	if _, ok := v["lcp_load_delay_ms"]; ok {
		m.LCPBreakdown = &probe.LCPBreakdown{LoadDelayMS: num(v, "lcp_load_delay_ms"),
			LoadDurationMS: num(v, "lcp_load_duration_ms"), RenderDelayMS: num(v, "lcp_render_delay_ms")}
	}
	return m
}

// assemble joins a run's rows: its earlier attempts, then the final one
// with its HTTP facts and pages.
func (p *partial) assemble() probe.Run {
	run := *p.run
	final := run.Attempts[0]
	if a, ok := p.attempts[final.Attempt]; ok {
		final.StartedAt = a.StartedAt
	}
	run.Attempts = nil
	for n := 1; n < final.Attempt; n++ {
		a, ok := p.attempts[n]
		if !ok {
			// Without every earlier attempt the retries cannot be told;
			// the final attempt alone stands for the run.
			run.Attempts = nil
			break
		}
		run.Attempts = append(run.Attempts, a)
	}
	run.Attempts = append(run.Attempts, final)
	f := &run.Attempts[len(run.Attempts)-1]
	if p.http != nil {
		if f.HTTPDetails != nil && p.http.StatusCode == 0 {
			p.http.StatusCode = f.StatusCode
		}
		f.HTTPDetails = p.http
		if t := f.HTTPDetails.TLS; t != nil {
			t.CertNotAfter = f.StartedAt.Add(time.Duration(t.CertDaysLeft * 24 * float64(time.Hour))).Truncate(time.Second)
		}
	}
	if len(p.pages) > 0 {
		if f.BrowserDetails == nil {
			f.BrowserDetails = &probe.BrowserDetails{}
		}
		if run.Type == probe.TypeBrowser {
			// A browser check measures one page, named after the check.
			m := p.pages[0].PageMetrics
			f.PageMetrics = &m
		} else {
			// The schema keeps no page order; by name is stable.
			slices.SortFunc(p.pages, func(a, b probe.PageResult) int { return strings.Compare(a.Name, b.Name) })
			f.Pages = p.pages
		}
	}
	return run
}

func str(v map[string]any, k string) string {
	s, _ := v[k].(string)
	return s
}

func num(v map[string]any, k string) float64 {
	switch x := v[k].(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return 0
}

func integer(v map[string]any, k string) int64 {
	switch x := v[k].(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func boolean(v map[string]any, k string) bool {
	b, _ := v[k].(bool)
	return b
}
