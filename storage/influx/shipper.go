package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/storeprobe/storeprobe/probe"
)

// Outbox is the durable queue the shipper drains, declared here and
// implemented by storage/sqlite.Store in the domain's own types.
// Entries leave it only through Ack, after InfluxDB acknowledged every point
// of the run (or the point was parked with Reject).
type Outbox interface {
	Pending(ctx context.Context, limit int) ([]probe.OutboxEntry, error)
	Ack(ctx context.Context, seqs ...int64) error
	Reject(ctx context.Context, seq int64, line, reason string) error
	OutboxStats(ctx context.Context) (probe.OutboxStats, error)
	TrimOutbox(ctx context.Context, maxRows int64, maxAge time.Duration) (int64, error)
}

// ShipperOptions configure a Shipper. URL and Bucket are required; Outbox
// is required for Run and Flush, not for ShipRuns and Export.
type ShipperOptions struct {
	URL    string // e.g. http://influxdb:8086
	Org    string // "" for InfluxDB 1.8
	Bucket string // "db/rp" for InfluxDB 1.8, e.g. "storeprobe/autogen"
	// Token is an InfluxDB 2 API token, or "user:password" for 1.8 with auth.
	// It is sent in the Authorization header and never logged.
	Token string

	BatchSize     int           // points per write request; default 5000
	FlushInterval time.Duration // pause between passes when idle; default 10s
	Outbox        Outbox
	Logger        *slog.Logger // default: discard

	// Outbox cap: the oldest unshipped runs beyond MaxOutboxRows, or queued
	// longer than MaxOutboxAge, are dropped from the outbox (not the store),
	// loudly. Zero means no bound.
	MaxOutboxRows int64
	MaxOutboxAge  time.Duration

	// Backoff after a failed pass: exponential from MinBackoff to
	// MaxBackoff, with jitter. Defaults 1s and 1m: after a long outage
	// shipping resumes within about a minute of InfluxDB's return.
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds one write request; default 30s.
	RequestTimeout time.Duration
}

// Stats are the shipper's counters for /metrics and logs. Counters count
// since the shipper was made; the *Total fields come from the store and
// survive restarts.
type Stats struct {
	ShippedRuns    int64 // runs acknowledged and acked in the outbox
	ShippedPoints  int64 // points InfluxDB accepted
	RejectedPoints int64 // points newly parked in the store by this shipper (after a pass)
	Retries        int64 // failed passes that will be retried after a backoff
	DroppedRuns    int64 // runs dropped by the outbox cap
	Writes         int64 // write requests sent

	OutboxDepth         int64     // runs waiting, as of the last pass
	OutboxOldest        time.Time // enqueue time of the oldest waiting run
	RejectedPointsTotal int64     // persistent, from the store
	DroppedRunsTotal    int64     // persistent, from the store

	LastError     string
	LastErrorAt   time.Time
	LastSuccessAt time.Time
}

// Shipper ships runs from the outbox to InfluxDB. Safe for concurrent use;
// passes are serialised.
type Shipper struct {
	opt    ShipperOptions
	log    *slog.Logger
	client influxdb2.Client
	write  api.WriteAPIBlocking

	pass sync.Mutex    // one pass at a time
	wake chan struct{} // Wake: end a backoff early

	mu           sync.Mutex
	stats        Stats
	based        bool  // baseRejected is set
	baseRejected int64 // the store's rejected total at the first pass
}

const (
	defaultBatchSize     = 5000
	defaultFlushInterval = 10 * time.Second
)

// NewShipper validates opt and builds a Shipper. Close releases it.
func NewShipper(opt ShipperOptions) (*Shipper, error) {
	if opt.URL == "" || opt.Bucket == "" {
		return nil, errors.New("influx shipper: url and bucket are required")
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = defaultBatchSize
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = defaultFlushInterval
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(time.Minute, opt.MinBackoff)
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	// Our own loop retries from the durable outbox; the client's in-memory
	// retry buffer is switched off (and unused by the blocking API anyway).
	o := influxdb2.DefaultOptions().
		SetMaxRetries(0).
		SetPrecision(time.Nanosecond).
		SetHTTPRequestTimeout(uint((opt.RequestTimeout + time.Second - 1) / time.Second))
	client := influxdb2.NewClientWithOptions(strings.TrimRight(opt.URL, "/"), opt.Token, o)
	return &Shipper{
		opt:    opt,
		log:    opt.Logger,
		client: client,
		write:  client.WriteAPIBlocking(opt.Org, opt.Bucket),
		wake:   make(chan struct{}, 1),
	}, nil
}

// Close releases the HTTP client.
func (s *Shipper) Close() { s.client.Close() }

// Stats returns a snapshot of the counters.
func (s *Shipper) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Run ships until ctx is done: each pass trims the outbox to its cap and
// drains it; an idle or successful pass waits FlushInterval, a failed one
// an exponentially growing, jittered backoff (at most MaxBackoff) during
// which the cap is still enforced every FlushInterval. Wake ends a backoff
// early. It returns nil when ctx ends; a daemon shutting down can give a
// last Flush its own grace deadline.
func (s *Shipper) Run(ctx context.Context) error {
	failures := 0
	for {
		wait := s.opt.FlushInterval
		_, err := s.Flush(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			failures++
			wait = s.backoff(failures, err)
			s.mu.Lock()
			s.stats.Retries++
			s.mu.Unlock()
			s.logFailure(ctx, err, wait, failures)
		default:
			if failures > 0 {
				s.log.Info("influx: shipping recovered", "after_failures", failures)
			}
			failures = 0
		}
		if !s.pause(ctx, wait, failures > 0) {
			return nil
		}
	}
}

func (s *Shipper) logFailure(ctx context.Context, err error, wait time.Duration, failures int) {
	level, msg := slog.LevelWarn, "influx: shipping failed; will retry"
	var he *influxhttp.Error
	if errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusNotFound) {
		// Retrying cannot fix these; a person must (url, bucket, token).
		level, msg = slog.LevelError, "influx: InfluxDB refused the writes: check influxdb.url, bucket and the token; will retry"
	}
	s.log.Log(ctx, level, msg, "err", err, "retry_in", wait.Round(time.Millisecond).String(), "failures", failures)
}

// pause waits d. While backing off it keeps the outbox within its cap every
// FlushInterval (the queue grows fastest exactly while InfluxDB is away)
// and returns early on Wake. It reports false when ctx ended.
func (s *Shipper) pause(ctx context.Context, d time.Duration, backingOff bool) bool {
	if backingOff {
		// Only a Wake during this backoff counts.
		select {
		case <-s.wake:
		default:
		}
	}
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		step := left
		if backingOff {
			step = min(left, s.opt.FlushInterval)
		}
		t := time.NewTimer(step)
		var wake <-chan struct{}
		if backingOff {
			wake = s.wake
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-wake:
			t.Stop()
			return true
		case <-t.C:
		}
		if backingOff && time.Until(deadline) > 0 {
			if err := s.trim(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("influx: outbox cap not applied", "err", err)
			}
		}
	}
}

// Wake ends a backoff early, e.g. when another write to the same InfluxDB
// just succeeded. It never blocks.
func (s *Shipper) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// backoff is min(MaxBackoff, MinBackoff·2^(n-1)) with jitter in [d/2, d],
// and never shorter than a Retry-After the server asked for.
func (s *Shipper) backoff(n int, err error) time.Duration {
	d := s.opt.MinBackoff
	for i := 1; i < n && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	var he *influxhttp.Error
	if errors.As(err, &he) && he.RetryAfter > 0 {
		d = max(d, min(time.Duration(he.RetryAfter)*time.Second, s.opt.MaxBackoff))
	}
	return d
}

// Flush makes one pass: it enforces the outbox cap, then writes pending runs
// until the outbox is empty, and returns how many runs it shipped. It stops
// at the first transient failure (InfluxDB down, 5xx, timeout), leaving the
// unshipped runs queued for the next pass.
func (s *Shipper) Flush(ctx context.Context) (int, error) {
	if s.opt.Outbox == nil {
		return 0, errors.New("influx: no outbox to flush")
	}
	s.pass.Lock()
	defer s.pass.Unlock()
	s.baseline(ctx)
	shipped, err := s.flush(ctx)
	s.refreshStats(ctx)
	s.mu.Lock()
	if err != nil {
		s.stats.LastError, s.stats.LastErrorAt = err.Error(), time.Now()
	} else {
		s.stats.LastSuccessAt = time.Now()
	}
	s.mu.Unlock()
	return shipped, err
}

// trim applies the outbox cap, loudly: dropped runs never reach InfluxDB
// unless someone exports them.
func (s *Shipper) trim(ctx context.Context) error {
	if s.opt.MaxOutboxRows <= 0 && s.opt.MaxOutboxAge <= 0 {
		return nil
	}
	n, err := s.opt.Outbox.TrimOutbox(ctx, s.opt.MaxOutboxRows, s.opt.MaxOutboxAge)
	if err != nil {
		return fmt.Errorf("influx: trim outbox: %w", err)
	}
	if n > 0 {
		s.mu.Lock()
		s.stats.DroppedRuns += n
		s.mu.Unlock()
		s.log.ErrorContext(ctx, "influx: outbox over its cap; dropped the oldest unshipped runs (still in the store; `storeprobe export --since` resends them)",
			"dropped_runs", n, "max_rows", s.opt.MaxOutboxRows, "max_age", s.opt.MaxOutboxAge.String())
	}
	return nil
}

func (s *Shipper) flush(ctx context.Context) (int, error) {
	if err := s.trim(ctx); err != nil {
		return 0, err
	}
	// Runs have at least two points, so BatchSize runs fill several batches;
	// fetching that many amortises the store read.
	limit := s.opt.BatchSize
	shipped := 0
	for {
		entries, err := s.opt.Outbox.Pending(ctx, limit)
		if err != nil {
			return shipped, fmt.Errorf("influx: read outbox: %w", err)
		}
		if len(entries) == 0 {
			return shipped, nil
		}
		runs := make([]pendingRun, len(entries))
		for i, e := range entries {
			runs[i] = pendingRun{id: e.Seq, run: e.Run}
		}
		for len(runs) > 0 {
			batch, rest := s.nextBatch(runs)
			runs = rest
			n, err := s.shipBatch(ctx, batch)
			shipped += n
			if err != nil {
				return shipped, err
			}
		}
		if ctx.Err() != nil {
			return shipped, ctx.Err()
		}
	}
}

// pendingRun is a run to ship: id is its outbox seq, or its store id for
// an export.
type pendingRun struct {
	id  int64
	run probe.Run
}

// pending is one run with its rendered points.
type pending struct {
	id       int64
	check    string
	lines    []string
	resolved int         // points written or rejected
	rejected []rejection // points refused
}

type rejection struct{ line, reason string }

// nextBatch takes whole runs until BatchSize points are reached; a run is
// never split over two requests unless it alone exceeds BatchSize.
func (s *Shipper) nextBatch(runs []pendingRun) ([]*pending, []pendingRun) {
	var (
		batch  []*pending
		points int
	)
	i := 0
	for ; i < len(runs); i++ {
		pts := Points(runs[i].run)
		if len(batch) > 0 && points+len(pts) > s.opt.BatchSize {
			break
		}
		p := &pending{id: runs[i].id, check: runs[i].run.Check, lines: make([]string, len(pts))}
		for j, pt := range pts {
			p.lines[j] = pt.Line()
		}
		batch = append(batch, p)
		points += len(pts)
	}
	return batch, runs[i:]
}

// item is one point of a batch, pointing back at its run.
type item struct {
	run  *pending
	line string
	done bool // written or rejected
}

func batchItems(batch []*pending) []*item {
	var items []*item
	for _, p := range batch {
		for _, l := range p.lines {
			items = append(items, &item{run: p, line: l})
		}
	}
	return items
}

// logRejections logs a batch's refused points once per reason, with a
// count and the first point, rather than a line per point: a batch beyond
// the retention policy is thousands of identical refusals.
func (s *Shipper) logRejections(ctx context.Context, batch []*pending, msg string) {
	type group struct {
		n            int
		check, first string
	}
	var order []string
	groups := map[string]*group{}
	for _, p := range batch {
		if p.resolved < len(p.lines) {
			continue
		}
		for _, r := range p.rejected {
			g := groups[r.reason]
			if g == nil {
				g = &group{check: p.check, first: r.line}
				groups[r.reason] = g
				order = append(order, r.reason)
			}
			g.n++
		}
	}
	for _, reason := range order {
		g := groups[reason]
		s.log.ErrorContext(ctx, msg, "points", g.n, "reason", reason, "first_check", g.check, "first_line", g.first)
	}
}

// shipBatch writes a batch, isolates refused points, then parks those and
// acks every run whose points are all resolved. On a transient error it
// still acks the runs fully resolved before it.
func (s *Shipper) shipBatch(ctx context.Context, batch []*pending) (int, error) {
	werr := s.writeItems(ctx, batchItems(batch), 0)

	var acks []int64
	for _, p := range batch {
		if p.resolved < len(p.lines) {
			continue
		}
		for _, r := range p.rejected {
			if err := s.opt.Outbox.Reject(ctx, p.id, r.line, r.reason); err != nil {
				return 0, errors.Join(fmt.Errorf("influx: park rejected point: %w", err), werr)
			}
		}
		acks = append(acks, p.id)
	}
	s.logRejections(ctx, batch, "influx: points rejected by InfluxDB; parked in the store, the runs' other points were written")
	if err := s.opt.Outbox.Ack(ctx, acks...); err != nil {
		return 0, errors.Join(fmt.Errorf("influx: ack outbox: %w", err), werr)
	}
	s.mu.Lock()
	s.stats.ShippedRuns += int64(len(acks))
	s.mu.Unlock()
	return len(acks), werr
}

// ShipResult counts what ShipRuns and Export did.
type ShipResult struct {
	Runs           int64 // runs read
	ShippedRuns    int64 // runs whose every point was written or rejected
	Points         int64 // points written
	RejectedPoints int64 // points InfluxDB refused (logged, not parked)
	RejectedRuns   int64 // runs with at least one refused point
}

// ShipRuns writes runs directly, without the outbox: for a backfill into an
// InfluxDB that is not necessarily the daemon's. Refused points are isolated
// exactly as in Flush and logged (one line per reason); transient failures
// are retried with the shipper's backoff until ctx ends. It returns an error
// only if it gave up, with the counts of what was done by then.
func (s *Shipper) ShipRuns(ctx context.Context, runs []probe.Run) (ShipResult, error) {
	var res ShipResult
	pr := make([]pendingRun, len(runs))
	for i, r := range runs {
		pr[i] = pendingRun{id: r.ID, run: r}
	}
	res.Runs = int64(len(runs))
	failures := 0
	for len(pr) > 0 {
		batch, rest := s.nextBatch(pr)
		pr = rest
		items := batchItems(batch)
		for {
			var todo []*item
			for _, it := range items {
				if !it.done {
					todo = append(todo, it)
				}
			}
			err := s.writeItems(ctx, todo, 0)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				res.add(batch)
				return res, err
			}
			failures++
			wait := s.backoff(failures, err)
			s.mu.Lock()
			s.stats.Retries++
			s.mu.Unlock()
			s.logFailure(ctx, err, wait, failures)
			if !s.pause(ctx, wait, false) {
				res.add(batch)
				return res, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
			}
		}
		if failures > 0 {
			s.log.Info("influx: shipping recovered", "after_failures", failures)
			failures = 0
		}
		s.logRejections(ctx, batch, "influx: points rejected by InfluxDB; the runs' other points were written")
		res.add(batch)
	}
	return res, nil
}

func (r *ShipResult) add(batch []*pending) {
	for _, p := range batch {
		r.Points += int64(p.resolved - len(p.rejected))
		if p.resolved < len(p.lines) {
			continue
		}
		r.ShippedRuns++
		r.RejectedPoints += int64(len(p.rejected))
		if len(p.rejected) > 0 {
			r.RejectedRuns++
		}
	}
}

// RunPager reads stored runs a page at a time (storage/sqlite.Store).
type RunPager interface {
	RunsPage(ctx context.Context, q probe.RunQuery, after probe.RunCursor, limit int) ([]probe.Run, error)
}

// Export ships every run q selects straight from the store, a page at a
// time with its own cursor: it never touches the outbox, so a daemon
// shipping from the same store to its own InfluxDB is unaffected, and
// nothing is left behind for anyone else to ship. Runs saved during the
// export are included if their scheduled time is in the window and after
// the cursor. Points carry their run's scheduled time, so an export
// overwrites what InfluxDB already has rather than duplicating it.
func (s *Shipper) Export(ctx context.Context, src RunPager, q probe.RunQuery) (ShipResult, error) {
	var (
		total ShipResult
		cur   probe.RunCursor
	)
	// Runs have at least two points; this many fill about one request.
	limit := max(1, s.opt.BatchSize/2)
	for {
		runs, err := src.RunsPage(ctx, q, cur, limit)
		if err != nil {
			return total, fmt.Errorf("influx: export: %w", err)
		}
		if len(runs) == 0 {
			return total, nil
		}
		cur = probe.CursorAfter(runs[len(runs)-1])
		res, err := s.ShipRuns(ctx, runs)
		total.Runs += res.Runs
		total.ShippedRuns += res.ShippedRuns
		total.Points += res.Points
		total.RejectedPoints += res.RejectedPoints
		total.RejectedRuns += res.RejectedRuns
		if err != nil {
			return total, err
		}
	}
}

// errKind says what a failed write means for its points.
type errKind int

const (
	errTransient errKind = iota // retry the same points later
	errPoints                   // some point(s) in the request are bad
	errTooLarge                 // the request body is too large
)

// writeItems writes items; when InfluxDB refuses some of them it bisects
// until every bad point stands alone, so one poisoned point costs
// O(log n) extra requests and never holds back the others. When InfluxDB
// says it dropped every point of the request (all beyond the retention
// policy, say), they are all rejected at once instead. Re-sending the good
// half of a partial write is harmless: same series, same timestamp. Items
// are marked done as they are resolved, so after a transient error the
// caller can retry just the rest.
func (s *Shipper) writeItems(ctx context.Context, items []*item, depth int) error {
	if len(items) == 0 {
		return nil
	}
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = it.line
	}
	err := s.writeLines(ctx, lines)
	if err == nil {
		for _, it := range items {
			it.done = true
			it.run.resolved++
		}
		s.mu.Lock()
		s.stats.ShippedPoints += int64(len(items))
		s.mu.Unlock()
		return nil
	}
	switch classify(err) {
	case errTransient:
		return err
	case errPoints, errTooLarge:
		if len(items) == 1 || droppedAll(err, len(items)) {
			reason := errorText(err)
			for _, it := range items {
				it.done = true
				it.run.resolved++
				it.run.rejected = append(it.run.rejected, rejection{it.line, reason})
			}
			return nil
		}
		if depth == 0 {
			s.log.Warn("influx: write refused in part; isolating the bad points", "points", len(items), "reason", errorText(err))
		}
		mid := len(items) / 2
		if err := s.writeItems(ctx, items[:mid], depth+1); err != nil {
			return err
		}
		return s.writeItems(ctx, items[mid:], depth+1)
	}
	return err
}

// droppedN finds InfluxDB's "dropped=N" (1.8 and 2.x partial writes).
var droppedN = regexp.MustCompile(`dropped=(\d+)`)

// droppedAll reports whether InfluxDB said it dropped all n points.
func droppedAll(err error, n int) bool {
	var he *influxhttp.Error
	if !errors.As(err, &he) {
		return false
	}
	m := droppedN.FindStringSubmatch(he.Message)
	if m == nil {
		return false
	}
	d, perr := strconv.Atoi(m[1])
	return perr == nil && d >= n
}

func (s *Shipper) writeLines(ctx context.Context, lines []string) error {
	s.mu.Lock()
	s.stats.Writes++
	s.mu.Unlock()
	if err := s.write.WriteRecord(ctx, lines...); err != nil {
		return fmt.Errorf("influx: write %d points: %w", len(lines), err)
	}
	return nil
}

// classify maps InfluxDB's answers (1.8 and 2.x) to what to do:
//   - 400/422 with a point-level message (parse error, field type conflict,
//     partial write, beyond retention): bisect and park the bad points;
//   - 413: split; a single point that is still too large is parked;
//   - anything else (connection errors, timeouts, 5xx, 429, 401/403, 404
//     for a missing bucket or database) is not the points' fault: retry the
//     same points later rather than discard good data.
func classify(err error) errKind {
	var he *influxhttp.Error
	if !errors.As(err, &he) {
		return errTransient
	}
	switch he.StatusCode {
	case http.StatusRequestEntityTooLarge:
		return errTooLarge
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		msg := strings.ToLower(he.Message + " " + he.Code)
		for _, cfg := range []string{"not found", "bucket", "organization", "authoriz", "token"} {
			if strings.Contains(msg, cfg) && !strings.Contains(msg, "partial write") && !strings.Contains(msg, "unable to parse") {
				return errTransient
			}
		}
		return errPoints
	}
	return errTransient
}

// errorText is InfluxDB's reason without our wrapping.
func errorText(err error) string {
	var he *influxhttp.Error
	if errors.As(err, &he) {
		if he.Message != "" {
			return fmt.Sprintf("%d %s", he.StatusCode, he.Message)
		}
		return he.Error()
	}
	return err.Error()
}

// baseline remembers the store's rejected-points total when the shipper
// starts, so Stats.RejectedPoints counts only this process's new
// rejections: a point the store already had (a re-send after a crash) is
// not counted twice.
func (s *Shipper) baseline(ctx context.Context) {
	s.mu.Lock()
	done := s.based
	s.mu.Unlock()
	if done {
		return
	}
	st, err := s.opt.Outbox.OutboxStats(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.based, s.baseRejected = true, st.Rejected
	s.mu.Unlock()
}

func (s *Shipper) refreshStats(ctx context.Context) {
	st, err := s.opt.Outbox.OutboxStats(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.stats.OutboxDepth = st.Depth
	s.stats.OutboxOldest = st.Oldest
	s.stats.RejectedPointsTotal = st.Rejected
	s.stats.DroppedRunsTotal = st.Dropped
	if s.based {
		s.stats.RejectedPoints = st.Rejected - s.baseRejected
	}
	s.mu.Unlock()
}

// WriteHealth writes probe_health points directly, in one request (not
// through the outbox; the daemon keeps a bounded buffer of samples that
// could not be sent and passes them again with the next).
func (s *Shipper) WriteHealth(ctx context.Context, hs ...Health) error {
	if len(hs) == 0 {
		return nil
	}
	lines := make([]string, len(hs))
	for i, h := range hs {
		lines[i] = HealthPoint(h).Line()
	}
	return s.writeLines(ctx, lines)
}

// Transient reports whether err (from WriteHealth, say) is worth retrying:
// false when InfluxDB refused the points themselves.
func Transient(err error) bool { return classify(err) == errTransient }
