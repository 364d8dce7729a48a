package evaluator

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /healthz, /readyz and /metrics. /healthz answers 200 while
// the evaluator runs, even when InfluxDB cannot be read (a restart would not
// fix that; read_ok and /metrics say so), and 503 once it is stopping.
// /readyz answers 200 only once a pass has read every window and the last
// one did: an evaluator that cannot read InfluxDB judges nothing.
// /metrics is the Prometheus text format: whoever watches the fleet also
// watches its watcher (storeprobe_evaluator_last_pass_timestamp_seconds).
func (e *Evaluator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", e.healthz)
	mux.HandleFunc("GET /readyz", e.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.registry(), promhttp.HandlerOpts{}))
	return mux
}

func (e *Evaluator) readyz(w http.ResponseWriter, _ *http.Request) {
	st := e.Stats()
	var reasons []string
	switch {
	case st.Stopping:
		reasons = append(reasons, "stopping")
	case st.LastError != "":
		reasons = append(reasons, "the last pass could not read: "+st.LastError)
	case st.LastPass.IsZero():
		reasons = append(reasons, "no pass has read InfluxDB yet")
	}
	w.Header().Set("Content-Type", "application/json")
	if len(reasons) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"status": "not ready", "reasons": reasons})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "ready"})
}

func (e *Evaluator) healthz(w http.ResponseWriter, _ *http.Request) {
	st := e.Stats()
	status, code := "ok", http.StatusOK
	if st.Stopping {
		status, code = "stopping", http.StatusServiceUnavailable
	}
	age := -1.0
	if !st.LastPass.IsZero() {
		age = e.o.Now().Sub(st.LastPass).Seconds()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%q,"checks":%d,"runs":%d,"read_ok":%t,"last_pass_age_s":%.0f}`+"\n",
		status, e.Checks(), st.Runs, st.LastError == "", age)
}

// registry is the evaluator's /metrics: its own figures, the alerts and
// notifiers (the alerter's collector), and the Go and process collectors.
func (e *Evaluator) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		evaluatorCollector{e}, e.alerts)
	return reg
}

// evaluatorCollector reads the evaluator's counters once per scrape.
type evaluatorCollector struct{ e *Evaluator }

type evaluatorMetric struct {
	name, help string
	typ        prometheus.ValueType
	value      func(Stats, *Evaluator) float64
}

var evaluatorMetrics = []evaluatorMetric{
	{"storeprobe_evaluator_checks", "Checks the evaluator judges.", prometheus.GaugeValue,
		func(_ Stats, e *Evaluator) float64 { return float64(e.Checks()) }},
	{"storeprobe_evaluator_passes_total", "Passes that read every window they meant to.", prometheus.CounterValue,
		func(s Stats, _ *Evaluator) float64 { return float64(s.Passes) }},
	{"storeprobe_evaluator_read_errors_total", "Passes cut short by a failed read or save.", prometheus.CounterValue,
		func(s Stats, _ *Evaluator) float64 { return float64(s.ReadErrors) }},
	{"storeprobe_evaluator_runs_total", "New runs read, saved and judged.", prometheus.CounterValue,
		func(s Stats, _ *Evaluator) float64 { return float64(s.Runs) }},
	{"storeprobe_evaluator_runs_repeated_total", "Runs read again inside the overlap and skipped.", prometheus.CounterValue,
		func(s Stats, _ *Evaluator) float64 { return float64(s.Repeats) }},
	{"storeprobe_evaluator_runs_unknown_total", "Runs of checks the config does not have, skipped.", prometheus.CounterValue,
		func(s Stats, _ *Evaluator) float64 { return float64(s.Unknown) }},
	{"storeprobe_evaluator_store_errors_total", "Runs the store refused; read again by the next pass.", prometheus.CounterValue,
		func(s Stats, _ *Evaluator) float64 { return float64(s.SaveErrors) }},
	{"storeprobe_evaluator_last_pass_timestamp_seconds", "When the last full pass ended (Unix seconds).", prometheus.GaugeValue,
		func(s Stats, _ *Evaluator) float64 {
			if s.LastPass.IsZero() {
				return 0
			}
			return float64(s.LastPass.UnixNano()) / 1e9
		}},
	{"storeprobe_evaluator_cursor_lag_seconds", "How far behind now the evaluator has read.", prometheus.GaugeValue,
		func(s Stats, e *Evaluator) float64 {
			if s.Cursor.IsZero() {
				return 0
			}
			return e.o.Now().Sub(s.Cursor).Seconds()
		}},
}

func (c evaluatorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range evaluatorMetrics {
		ch <- prometheus.NewDesc(m.name, m.help, nil, nil)
	}
}

func (c evaluatorCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.Stats()
	for _, m := range evaluatorMetrics {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(m.name, m.help, nil, nil), m.typ, m.value(st, c.e))
	}
}
