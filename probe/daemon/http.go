package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe/alert"
)

// healthz is the liveness check: 200 while running, 503 once stopping.
func (d *Daemon) healthz(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	stopping := d.stopping
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	st := d.run.Stats()
	// Lines names every valid check of the file, on every shard.
	cfg := d.Config()
	status, code := "ok", http.StatusOK
	if stopping {
		status, code = "stopping", http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%q,"checks":%d,"shard":%q,"checks_in_config":%d,"runs":%d,"in_flight":%d,"uptime_s":%.0f}`+"\n",
		status, st.Checks, cfg.Shard.String(), len(cfg.Lines), st.Runs, st.InFlight, time.Since(d.started).Seconds())
}

// readyz is the readiness check: 200 only while the scheduler runs, the
// store takes writes and, for a config with browser checks, Chromium runs;
// 503 with the reason otherwise. It never waits on Chromium: a start under
// way is "not ready yet".
func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	var reasons []string
	d.mu.Lock()
	running, stopping, saveErr, cfg := d.running, d.stopping, d.saveErr, d.current
	d.mu.Unlock()
	switch {
	case stopping:
		reasons = append(reasons, "stopping")
	case !running:
		reasons = append(reasons, "the scheduler is not running")
	}
	if saveErr != nil {
		reasons = append(reasons, "the store refused the last run: "+saveErr.Error())
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := d.store.OutboxStats(ctx); err != nil {
		reasons = append(reasons, "the store cannot be read: "+err.Error())
	}
	if hasBrowserChecks(cfg) {
		switch up, starting, err := d.browser.State(); {
		case up:
		case starting:
			reasons = append(reasons, "chromium is starting")
		case err != nil:
			reasons = append(reasons, "chromium cannot start: "+err.Error())
			d.browser.Warm() // try again, for the next probe of readiness
		default:
			reasons = append(reasons, "chromium is not running")
			d.browser.Warm()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if len(reasons) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"status": "not ready", "reasons": reasons})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "ready"})
}

// writeMetrics serves the probe's own health in Prometheus text format, so
// a fleet can be watched by the monitoring it feeds.
func (d *Daemon) writeMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	var b strings.Builder
	st := d.run.Stats()
	g := func(name, help, typ string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", name, help, name, typ, name, v)
	}
	g("storeprobe_checks", "Checks scheduled now.", "gauge", float64(st.Checks))
	g("storeprobe_runs_total", "Runs finished.", "counter", float64(st.Runs))
	g("storeprobe_runs_failed_total", "Runs whose final attempt failed.", "counter", float64(st.Failed))
	g("storeprobe_attempts_total", "Attempts made, retries included.", "counter", float64(st.Attempts))
	g("storeprobe_retries_total", "Attempts after the first of a run.", "counter", float64(st.Retries))
	g("storeprobe_runs_skipped_total", "Runs skipped because the previous run of the check was in flight.", "counter", float64(st.Skipped))
	g("storeprobe_runs_missed_total", "Scheduled times passed over because the scheduler fell behind.", "counter", float64(st.Missed))
	g("storeprobe_probe_panics_total", "Probe panics recovered.", "counter", float64(st.Panics))
	g("storeprobe_store_errors_total", "Runs the store failed to save.", "counter", float64(st.SaveErrors))
	g("storeprobe_in_flight", "Attempts executing now.", "gauge", float64(st.InFlight))
	g("storeprobe_waiting", "Runs waiting for a concurrency slot.", "gauge", float64(st.Waiting))
	b.WriteString("# HELP storeprobe_schedule_lag_seconds Actual start minus scheduled time; quantiles over the last 4096 runs, sum and count over all.\n# TYPE storeprobe_schedule_lag_seconds summary\n")
	fmt.Fprintf(&b, "storeprobe_schedule_lag_seconds{quantile=\"0.5\"} %g\n", st.Lag.P50.Seconds())
	fmt.Fprintf(&b, "storeprobe_schedule_lag_seconds{quantile=\"0.99\"} %g\n", st.Lag.P99.Seconds())
	fmt.Fprintf(&b, "storeprobe_schedule_lag_seconds_sum %g\n", st.Lag.Sum.Seconds())
	fmt.Fprintf(&b, "storeprobe_schedule_lag_seconds_count %d\n", st.Lag.Count)
	g("storeprobe_schedule_lag_max_seconds", "Largest schedule lag since start.", "gauge", st.Lag.Max.Seconds())

	names := make([]string, 0, len(st.PerCheck))
	for n := range st.PerCheck {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("# HELP storeprobe_check_up 1 if the check's last run passed, 0 if it failed.\n# TYPE storeprobe_check_up gauge\n")
	for _, n := range names {
		c := st.PerCheck[n]
		if c.Runs == 0 {
			continue
		}
		up := 0
		if c.LastOK {
			up = 1
		}
		fmt.Fprintf(&b, "storeprobe_check_up{check=\"%s\"} %d\n", metricLabel(n), up)
	}
	b.WriteString("# HELP storeprobe_check_runs_total Runs per check.\n# TYPE storeprobe_check_runs_total counter\n")
	for _, n := range names {
		fmt.Fprintf(&b, "storeprobe_check_runs_total{check=\"%s\"} %d\n", metricLabel(n), st.PerCheck[n].Runs)
	}

	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if os, err := d.store.OutboxStats(ctx); err == nil {
		g("storeprobe_outbox_depth", "Runs in the outbox waiting to be shipped to InfluxDB.", "gauge", float64(os.Depth))
		age := 0.0
		if !os.Oldest.IsZero() {
			age = time.Since(os.Oldest).Seconds()
		}
		g("storeprobe_outbox_oldest_age_seconds", "Age of the oldest run waiting in the outbox.", "gauge", age)
		g("storeprobe_influx_rejected_points_total", "Points InfluxDB refused, kept in the store with their error.", "counter", float64(os.Rejected))
		g("storeprobe_outbox_dropped_runs_total", "Runs dropped from the outbox by its size or age cap.", "counter", float64(os.Dropped))
	}
	active := d.alerter.Active()
	b.WriteString("# HELP storeprobe_alerts_active Alerts whose condition holds now, by rule.\n# TYPE storeprobe_alerts_active gauge\n")
	for _, r := range []string{alert.RuleDown, alert.RuleBurnRateFast, alert.RuleBurnRateSlow, alert.RuleCertExpiry,
		alert.RuleLoadTime, alert.RuleCWVGood, alert.RuleProbeUnhealthy, alert.RuleFlapping} {
		fmt.Fprintf(&b, "storeprobe_alerts_active{rule=%q} %d\n", r, active[r])
	}
	for _, m := range d.metrics {
		m.WriteMetrics(&b)
	}
	g("storeprobe_browser_rss_bytes", "Resident memory of the Chromium process group.", "gauge", float64(d.browser.RSS()))
	io.WriteString(w, b.String())
}

// metricLabel escapes a Prometheus label value.
func metricLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
