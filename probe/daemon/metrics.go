package daemon

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/storeprobe/storeprobe/probe"
)

// Histogram buckets, in seconds. Run durations span a fast HTTP check
// (milliseconds) to a slow journey (minutes); schedule lag is sub-millisecond
// on a healthy probe and seconds on an overloaded one.
var (
	durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300}
	lagBuckets      = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
)

// metrics is the daemon's Prometheus registry: the Go and process
// collectors, the scheduler's and store's counters read at scrape time, run
// durations and schedule lag as histograms observed as runs land, failures
// by check and kind, and the collectors of the workers and the alerter.
// Label values stay bounded: check names come from the config, failure
// kinds and check types from closed sets, never URLs.
type metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
	lag      prometheus.Histogram
	failures *prometheus.CounterVec
}

func newMetrics(d *Daemon) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "storeprobe_run_duration_seconds",
			Help:    "Duration of each run's final attempt (HTTP total, a page's load, a whole journey), by check type.",
			Buckets: durationBuckets,
		}, []string{"type"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "storeprobe_schedule_lag_seconds",
			Help:    "Actual start minus scheduled time of each run.",
			Buckets: lagBuckets,
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "storeprobe_check_failures_total",
			Help: "Runs whose final attempt failed, by check and failure kind (probe faults included).",
		}, []string{"check", "failure_kind"}),
	}
	// Every type's series exists from the start, so rate() and
	// histogram_quantile() work before the first run of a type.
	for _, t := range []probe.CheckType{probe.TypeHTTP, probe.TypeBrowser, probe.TypeJourney} {
		m.duration.WithLabelValues(string(t))
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.duration, m.lag, m.failures, daemonCollector{d})
	return m
}

// observe records a stored run.
func (m *metrics) observe(run probe.Run) {
	if len(run.Attempts) > 0 {
		m.duration.WithLabelValues(string(run.Type)).Observe(run.Final().DurationMS / 1000)
		m.lag.Observe(run.Lag.Seconds())
	}
	if f := run.Final().Failure; f != nil && !run.OK() {
		m.failures.WithLabelValues(run.Check, string(f.Kind)).Inc()
	}
}

// forget drops the series of checks a reload removed.
func (m *metrics) forget(checks map[string]bool) {
	for name := range checks {
		m.failures.DeletePartialMatch(prometheus.Labels{"check": name})
	}
}

// daemonCollector reads the scheduler's, store's and browser's figures once
// per scrape.
type daemonCollector struct{ d *Daemon }

type gauge struct {
	name, help string
	typ        prometheus.ValueType
	labels     []string
}

var daemonMetrics = []gauge{
	{"storeprobe_checks", "Checks scheduled now (this shard's).", prometheus.GaugeValue, nil},
	{"storeprobe_runs_total", "Runs finished.", prometheus.CounterValue, nil},
	{"storeprobe_runs_failed_total", "Runs whose final attempt failed.", prometheus.CounterValue, nil},
	{"storeprobe_attempts_total", "Attempts made, retries included.", prometheus.CounterValue, nil},
	{"storeprobe_retries_total", "Attempts after the first of a run.", prometheus.CounterValue, nil},
	{"storeprobe_runs_skipped_total", "Runs skipped because the previous run of the check was in flight.", prometheus.CounterValue, nil},
	{"storeprobe_runs_missed_total", "Scheduled times passed over because the scheduler fell behind.", prometheus.CounterValue, nil},
	{"storeprobe_probe_panics_total", "Probe panics recovered.", prometheus.CounterValue, nil},
	{"storeprobe_store_errors_total", "Runs the store failed to save.", prometheus.CounterValue, nil},
	{"storeprobe_in_flight", "Attempts executing now.", prometheus.GaugeValue, nil},
	{"storeprobe_waiting", "Runs waiting for a concurrency slot.", prometheus.GaugeValue, nil},
	{"storeprobe_schedule_lag_max_seconds", "Largest schedule lag since start.", prometheus.GaugeValue, nil},
	{"storeprobe_check_up", "1 if the check's last run passed, 0 if it failed.", prometheus.GaugeValue, []string{"check"}},
	{"storeprobe_check_runs_total", "Runs per check.", prometheus.CounterValue, []string{"check"}},
	{"storeprobe_outbox_depth", "Runs in the outbox waiting to be shipped to InfluxDB.", prometheus.GaugeValue, nil},
	{"storeprobe_outbox_oldest_age_seconds", "Age of the oldest run waiting in the outbox.", prometheus.GaugeValue, nil},
	{"storeprobe_influx_rejected_points_total", "Points InfluxDB refused, kept in the store with their error.", prometheus.CounterValue, nil},
	{"storeprobe_outbox_dropped_runs_total", "Runs dropped from the outbox by its size or age cap.", prometheus.CounterValue, nil},
	{"storeprobe_browser_contexts", "Browser contexts in use: browser and journey runs in Chromium now.", prometheus.GaugeValue, nil},
	{"storeprobe_chrome_restarts_total", "Times Chromium was started again after its first start (crashes, failed starts recovered).", prometheus.CounterValue, nil},
	{"storeprobe_browser_rss_bytes", "Resident memory of the Chromium process group.", prometheus.GaugeValue, nil},
}

func desc(g gauge) *prometheus.Desc { return prometheus.NewDesc(g.name, g.help, g.labels, nil) }

func (c daemonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range daemonMetrics {
		ch <- desc(g)
	}
}

func (c daemonCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	st := d.Stats()
	values := map[string]float64{
		"storeprobe_checks": float64(st.Checks), "storeprobe_runs_total": float64(st.Runs),
		"storeprobe_runs_failed_total": float64(st.Failed), "storeprobe_attempts_total": float64(st.Attempts),
		"storeprobe_retries_total": float64(st.Retries), "storeprobe_runs_skipped_total": float64(st.Skipped),
		"storeprobe_runs_missed_total": float64(st.Missed), "storeprobe_probe_panics_total": float64(st.Panics),
		"storeprobe_store_errors_total": float64(st.SaveErrors), "storeprobe_in_flight": float64(st.InFlight),
		"storeprobe_waiting": float64(st.Waiting), "storeprobe_schedule_lag_max_seconds": st.Lag.Max.Seconds(),
		"storeprobe_browser_contexts":      float64(d.browser.InUse()),
		"storeprobe_chrome_restarts_total": float64(max(0, d.browser.Starts()-1)),
		"storeprobe_browser_rss_bytes":     float64(d.browser.RSS()),
	}
	// The store is read with a bound: a scrape must not hang on a locked
	// store; its figures are then left out rather than reported as zero.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if os, err := d.store.OutboxStats(ctx); err == nil {
		age := 0.0
		if !os.Oldest.IsZero() {
			age = time.Since(os.Oldest).Seconds()
		}
		values["storeprobe_outbox_depth"] = float64(os.Depth)
		values["storeprobe_outbox_oldest_age_seconds"] = age
		values["storeprobe_influx_rejected_points_total"] = float64(os.Rejected)
		values["storeprobe_outbox_dropped_runs_total"] = float64(os.Dropped)
	}
	names := make([]string, 0, len(st.PerCheck))
	for n := range st.PerCheck {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, g := range daemonMetrics {
		switch g.name {
		case "storeprobe_check_up":
			for _, n := range names {
				if c := st.PerCheck[n]; c.Runs > 0 {
					up := 0.0
					if c.LastOK {
						up = 1
					}
					ch <- prometheus.MustNewConstMetric(desc(g), g.typ, up, n)
				}
			}
		case "storeprobe_check_runs_total":
			for _, n := range names {
				ch <- prometheus.MustNewConstMetric(desc(g), g.typ, float64(st.PerCheck[n].Runs), n)
			}
		default:
			if v, ok := values[g.name]; ok {
				ch <- prometheus.MustNewConstMetric(desc(g), g.typ, v)
			}
		}
	}
}
