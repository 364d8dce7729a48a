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
}

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
	return &shipping{s: s, log: log, interval: cfg.FlushInterval}, nil
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

// sampleHealth writes a probe_health point every flush interval.
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
			ss := sh.s.Stats()
			h := influx.Health{
				Location: sh.location, Probe: sh.probe, At: now,
				LagP99MS:       float64(st.Lag.P99) / float64(time.Millisecond),
				OutboxDepth:    ss.OutboxDepth,
				RejectedPoints: ss.RejectedPoints,
				DroppedPoints:  ss.DroppedRuns,
				Runs:           st.Runs - prev.Runs,
				Skipped:        st.Skipped - prev.Skipped,
			}
			prev = st
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := sh.s.WriteHealth(wctx, h); err != nil {
				sh.log.Debug("probe_health sample not written", "err", err)
			}
			cancel()
		}
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
