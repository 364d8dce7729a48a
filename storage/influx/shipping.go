package influx

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Shipping is a Shipper at work beside a running probe: it drains the outbox
// and, every flush interval, writes a probe_health sample of the probe's own
// health. It is a worker of the daemon (Run until the daemon stops, then one
// last bounded flush).
type Shipping struct {
	s        *Shipper
	log      *slog.Logger
	interval time.Duration
	o        ShippingOptions
	// unsent are probe_health samples InfluxDB did not take yet, oldest
	// first, at most o.MaxUnsent: an outage shows in the health panels
	// once InfluxDB is back instead of as a gap.
	unsent []Health
}

// ShippingOptions say whose health the samples describe and where the
// counters come from.
type ShippingOptions struct {
	Location, Probe string
	Shard           string // "i/n", or "" for a probe that runs every check
	// Counters reads the scheduler's cumulative counters; each sample
	// carries the difference since the previous one. Nil: no samples.
	Counters func() HealthCounters
	// FinalFlush bounds the flush when Run's context ends (default 5s);
	// what does not make it stays in the outbox for the next start.
	FinalFlush time.Duration
	// MaxUnsent bounds the samples kept through an InfluxDB outage
	// (default 360: an hour at the default 10s flush interval); older ones
	// are dropped first.
	MaxUnsent int
}

// HealthCounters are the scheduler's counters since it started.
type HealthCounters struct {
	Runs, Skipped int64
	LagP99        time.Duration // over the scheduler's recent-runs window
}

const defaultMaxUnsent = 360

// NewShipping puts s to work; s must have an Outbox. Run owns s from then
// on and closes it when it returns.
func NewShipping(s *Shipper, o ShippingOptions) *Shipping {
	if o.FinalFlush <= 0 {
		o.FinalFlush = 5 * time.Second
	}
	if o.MaxUnsent <= 0 {
		o.MaxUnsent = defaultMaxUnsent
	}
	return &Shipping{s: s, log: s.log, interval: s.opt.FlushInterval, o: o}
}

// Run ships and samples until ctx is done, then makes one last bounded
// flush and closes the shipper.
func (sh *Shipping) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sh.s.Run(ctx); err != nil && ctx.Err() == nil {
			sh.log.Error("influx shipper stopped", "err", err)
		}
	}()
	sh.sampleHealth(ctx)
	<-done
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sh.o.FinalFlush)
	defer cancel()
	if n, err := sh.s.Flush(fctx); err != nil {
		sh.log.Warn("final flush incomplete; the rest stays in the outbox", "shipped", n, "err", err)
	}
	sh.s.Close()
}

// sampleHealth writes a probe_health point every flush interval. The outbox
// depth and the rejected/dropped totals are read from the store at sample
// time (the totals are persistent, so they survive restarts); samples
// InfluxDB could not take are kept (bounded) and sent with the next.
func (sh *Shipping) sampleHealth(ctx context.Context) {
	if sh.o.Counters == nil {
		return
	}
	t := time.NewTicker(sh.interval)
	defer t.Stop()
	var prev HealthCounters
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c := sh.o.Counters()
			sh.sample(ctx, now, c, prev)
			prev = c
		}
	}
}

func (sh *Shipping) sample(ctx context.Context, now time.Time, c, prev HealthCounters) {
	h := Health{
		Location: sh.o.Location, Probe: sh.o.Probe, Shard: sh.o.Shard, At: now,
		LagP99MS: float64(c.LagP99) / float64(time.Millisecond),
		Runs:     c.Runs - prev.Runs,
		Skipped:  c.Skipped - prev.Skipped,
	}
	if os, err := sh.s.opt.Outbox.OutboxStats(ctx); err == nil {
		h.OutboxDepth, h.RejectedPoints, h.DroppedPoints = os.Depth, os.Rejected, os.Dropped
	} else {
		ss := sh.s.Stats()
		h.OutboxDepth, h.RejectedPoints, h.DroppedPoints = ss.OutboxDepth, ss.RejectedPointsTotal, ss.DroppedRunsTotal
	}
	sh.unsent = append(sh.unsent, h)
	if n := len(sh.unsent) - sh.o.MaxUnsent; n > 0 {
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
	case !Transient(err):
		sh.log.Warn("probe_health samples refused by InfluxDB; dropped", "samples", len(sh.unsent), "err", err)
		sh.unsent = sh.unsent[:0]
	default:
		sh.log.Debug("probe_health samples not written yet; kept for the next", "samples", len(sh.unsent), "err", err)
	}
}

// Describe and Collect make Shipping a prometheus.Collector of the
// shipper's counters, read once per scrape.
func (sh *Shipping) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range shippingMetrics(Stats{}) {
		ch <- m.desc
	}
}

// Collect reports the shipper's counters.
func (sh *Shipping) Collect(ch chan<- prometheus.Metric) {
	for _, m := range shippingMetrics(sh.s.Stats()) {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.v))
	}
}

type shippingMetric struct {
	desc *prometheus.Desc
	v    int64
}

func shippingMetrics(ss Stats) []shippingMetric {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return []shippingMetric{
		{d("storeprobe_influx_shipped_points_total", "Points InfluxDB acknowledged."), ss.ShippedPoints},
		{d("storeprobe_influx_shipped_runs_total", "Runs fully acknowledged by InfluxDB."), ss.ShippedRuns},
		{d("storeprobe_influx_write_retries_total", "Failed shipping passes retried after a backoff."), ss.Retries},
		{d("storeprobe_influx_writes_total", "Write requests sent to InfluxDB."), ss.Writes},
	}
}
