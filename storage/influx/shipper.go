package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// Outbox is the durable queue the shipper drains: storage/sqlite.Store.
// Entries leave it only through Ack, after InfluxDB acknowledged every point
// of the run (or the point was parked with Reject).
type Outbox interface {
	Pending(ctx context.Context, limit int) ([]sqlite.OutboxEntry, error)
	Ack(ctx context.Context, seqs ...int64) error
	Reject(ctx context.Context, seq int64, line, reason string) error
	OutboxStats(ctx context.Context) (sqlite.OutboxStats, error)
	TrimOutbox(ctx context.Context, maxRows int64, maxAge time.Duration) (int64, error)
}

// ShipperOptions configure a Shipper. URL, Bucket and Outbox are required.
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
	// MaxBackoff, with jitter. Defaults 1s and 5m.
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
	RejectedPoints int64 // points InfluxDB refused, parked in the store
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

	pass sync.Mutex // one pass at a time

	mu    sync.Mutex
	stats Stats
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
	if opt.Outbox == nil {
		return nil, errors.New("influx shipper: no outbox")
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
		opt.MaxBackoff = max(5*time.Minute, opt.MinBackoff)
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
// an exponentially growing, jittered backoff. It returns nil when ctx ends;
// a daemon shutting down can give a last Flush its own grace deadline.
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
			level, msg := slog.LevelWarn, "influx: shipping failed; will retry"
			var he *influxhttp.Error
			if errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusNotFound) {
				// Retrying cannot fix these; a person must (url, bucket, token).
				level, msg = slog.LevelError, "influx: InfluxDB refused the writes: check influxdb.url, bucket and the token; will retry"
			}
			s.log.Log(ctx, level, msg, "err", err, "retry_in", wait.Round(time.Millisecond).String(), "failures", failures)
		default:
			if failures > 0 {
				s.log.Info("influx: shipping recovered", "after_failures", failures)
			}
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
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
	s.pass.Lock()
	defer s.pass.Unlock()
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

func (s *Shipper) flush(ctx context.Context) (int, error) {
	if s.opt.MaxOutboxRows > 0 || s.opt.MaxOutboxAge > 0 {
		n, err := s.opt.Outbox.TrimOutbox(ctx, s.opt.MaxOutboxRows, s.opt.MaxOutboxAge)
		if err != nil {
			return 0, fmt.Errorf("influx: trim outbox: %w", err)
		}
		if n > 0 {
			s.mu.Lock()
			s.stats.DroppedRuns += n
			s.mu.Unlock()
			s.log.Error("influx: outbox over its cap; dropped the oldest unshipped runs (still in the store; `storeprobe export --since` resends them)",
				"dropped_runs", n, "max_rows", s.opt.MaxOutboxRows, "max_age", s.opt.MaxOutboxAge.String())
		}
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
		for len(entries) > 0 {
			batch, rest := s.nextBatch(entries)
			entries = rest
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

// pending is one outbox entry with its rendered points.
type pending struct {
	seq      int64
	check    string
	lines    []string
	resolved int         // points written or rejected
	rejected []rejection // points refused, parked on ack
}

type rejection struct{ line, reason string }

// nextBatch takes whole runs from entries until BatchSize points are
// reached; a run is never split over two requests unless it alone exceeds
// BatchSize.
func (s *Shipper) nextBatch(entries []sqlite.OutboxEntry) ([]*pending, []sqlite.OutboxEntry) {
	var (
		batch  []*pending
		points int
	)
	i := 0
	for ; i < len(entries); i++ {
		pts := Points(entries[i].Run)
		if len(batch) > 0 && points+len(pts) > s.opt.BatchSize {
			break
		}
		p := &pending{seq: entries[i].Seq, check: entries[i].Run.Check, lines: make([]string, len(pts))}
		for j, pt := range pts {
			p.lines[j] = pt.Line()
		}
		batch = append(batch, p)
		points += len(pts)
	}
	return batch, entries[i:]
}

// item is one point of a batch, pointing back at its run.
type item struct {
	run  *pending
	line string
}

// shipBatch writes a batch, isolates refused points, then parks those and
// acks every run whose points are all resolved. On a transient error it
// still acks the runs fully resolved before it.
func (s *Shipper) shipBatch(ctx context.Context, batch []*pending) (int, error) {
	var items []item
	for _, p := range batch {
		for _, l := range p.lines {
			items = append(items, item{p, l})
		}
	}
	werr := s.writeItems(ctx, items, 0)

	var acks []int64
	for _, p := range batch {
		if p.resolved < len(p.lines) {
			continue
		}
		for _, r := range p.rejected {
			if err := s.opt.Outbox.Reject(ctx, p.seq, r.line, r.reason); err != nil {
				return 0, errors.Join(fmt.Errorf("influx: park rejected point: %w", err), werr)
			}
			s.log.Error("influx: point rejected by InfluxDB; parked in the store, the run's other points were written",
				"check", p.check, "outbox_seq", p.seq, "reason", r.reason, "line", r.line)
		}
		acks = append(acks, p.seq)
	}
	if err := s.opt.Outbox.Ack(ctx, acks...); err != nil {
		return 0, errors.Join(fmt.Errorf("influx: ack outbox: %w", err), werr)
	}
	var rejected int64
	for _, p := range batch {
		if p.resolved == len(p.lines) {
			rejected += int64(len(p.rejected))
		}
	}
	s.mu.Lock()
	s.stats.ShippedRuns += int64(len(acks))
	s.stats.RejectedPoints += rejected
	s.mu.Unlock()
	return len(acks), werr
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
// O(log n) extra requests and never holds back the others. Re-sending the
// good half of a partial write is harmless: same series, same timestamp.
func (s *Shipper) writeItems(ctx context.Context, items []item, depth int) error {
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
		if len(items) == 1 {
			it := items[0]
			it.run.resolved++
			it.run.rejected = append(it.run.rejected, rejection{it.line, errorText(err)})
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
	s.mu.Unlock()
}

// WriteHealth writes one probe_health point directly (not through the
// outbox: a lost sample is superseded by the next).
func (s *Shipper) WriteHealth(ctx context.Context, h Health) error {
	return s.writeLines(ctx, []string{HealthPoint(h).Line()})
}
