package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// shipping runs the InfluxDB shipper beside the scheduler and samples the
// probe's own health into probe_health.
type shipping struct {
	s        *influx.Shipper
	log      *slog.Logger
	interval time.Duration
	// health returns the scheduler's stats, for probe_health samples.
	health   func() schedule.Stats
	location string
	probe    string

	store *sqlite.Store
	// unsent are probe_health samples InfluxDB did not take yet, oldest
	// first, at most maxUnsentHealth: an outage shows in the health panels
	// once InfluxDB is back instead of as a gap.
	unsent []influx.Health
}

// maxUnsentHealth bounds the samples kept through an outage: an hour at
// the default 10s flush interval. Older ones are dropped first.
const maxUnsentHealth = 360

// newShipping returns nil when the config has no influxdb section.
func newShipping(cfg *config.InfluxDB, store *sqlite.Store, log *slog.Logger) (*shipping, error) {
	if cfg == nil {
		return nil, nil
	}
	s, err := influx.NewShipper(influx.ShipperOptions{
		URL:           cfg.URL,
		Org:           cfg.Org,
		Bucket:        cfg.Bucket,
		Token:         cfg.Token,
		BatchSize:     cfg.BatchSize,
		FlushInterval: cfg.FlushInterval,
		Outbox:        store,
		Logger:        log,
		MaxOutboxRows: int64(cfg.MaxOutboxRows),
		MaxOutboxAge:  cfg.MaxOutboxAge,
	})
	if err != nil {
		return nil, usageError{err}
	}
	return &shipping{s: s, log: log, interval: cfg.FlushInterval, store: store}, nil
}

func (sh *shipping) run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sh.s.Run(ctx); err != nil && ctx.Err() == nil {
			sh.log.Error("influx shipper stopped", "err", err)
		}
	}()
	sh.sampleHealth(ctx)
	<-done
}

// sampleHealth writes a probe_health point every flush interval. The
// outbox depth and the rejected/dropped totals are read from the store at
// sample time (the totals are persistent, so they survive restarts);
// samples InfluxDB could not take are kept (bounded) and sent with the next.
func (sh *shipping) sampleHealth(ctx context.Context) {
	if sh.health == nil {
		return
	}
	every := sh.interval
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var prev schedule.Stats
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			st := sh.health()
			sh.sample(ctx, now, st, prev)
			prev = st
		}
	}
}

func (sh *shipping) sample(ctx context.Context, now time.Time, st, prev schedule.Stats) {
	h := influx.Health{
		Location: sh.location, Probe: sh.probe, At: now,
		LagP99MS: float64(st.Lag.P99) / float64(time.Millisecond),
		Runs:     st.Runs - prev.Runs,
		Skipped:  st.Skipped - prev.Skipped,
	}
	if os, err := sh.store.OutboxStats(ctx); err == nil {
		h.OutboxDepth, h.RejectedPoints, h.DroppedPoints = os.Depth, os.Rejected, os.Dropped
	} else {
		ss := sh.s.Stats()
		h.OutboxDepth, h.RejectedPoints, h.DroppedPoints = ss.OutboxDepth, ss.RejectedPointsTotal, ss.DroppedRunsTotal
	}
	sh.unsent = append(sh.unsent, h)
	if n := len(sh.unsent) - maxUnsentHealth; n > 0 {
		sh.unsent = append(sh.unsent[:0], sh.unsent[n:]...)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := sh.s.WriteHealth(wctx, sh.unsent...)
	switch {
	case err == nil:
		sh.unsent = sh.unsent[:0]
		// InfluxDB takes writes again: end the shipper's backoff now rather
		// than up to MaxBackoff later.
		if ss := sh.s.Stats(); ss.LastErrorAt.After(ss.LastSuccessAt) {
			sh.s.Wake()
		}
	case !influx.Transient(err):
		sh.log.Warn("probe_health samples refused by InfluxDB; dropped", "samples", len(sh.unsent), "err", err)
		sh.unsent = sh.unsent[:0]
	default:
		sh.log.Debug("probe_health samples not written yet; kept for the next", "samples", len(sh.unsent), "err", err)
	}
}

// flush makes one bounded pass at shutdown.
func (sh *shipping) flush(ctx context.Context) {
	n, err := sh.s.Flush(ctx)
	if err != nil {
		sh.log.Warn("final flush incomplete; the rest stays in the outbox", "shipped", n, "err", err)
	}
	sh.s.Close()
}
