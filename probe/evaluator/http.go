package evaluator

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/storeprobe/storeprobe/probe/alert"
)

// Handler serves /healthz and /metrics. /healthz answers 200 while the
// evaluator runs, even when InfluxDB cannot be read (a restart would not
// fix that; read_ok and /metrics say so), and 503 once it is stopping.
// /metrics is the Prometheus text format: whoever watches the fleet also
// watches its watcher (storeprobe_evaluator_last_pass_timestamp_seconds).
func (e *Evaluator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", e.healthz)
	mux.HandleFunc("GET /metrics", e.metrics)
	return mux
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

func (e *Evaluator) metrics(w http.ResponseWriter, _ *http.Request) {
	st := e.Stats()
	var b strings.Builder
	g := func(name, help, typ string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", name, help, name, typ, name, v)
	}
	g("storeprobe_evaluator_checks", "Checks the evaluator judges.", "gauge", float64(e.Checks()))
	g("storeprobe_evaluator_passes_total", "Passes that read every window they meant to.", "counter", float64(st.Passes))
	g("storeprobe_evaluator_read_errors_total", "Passes cut short by a failed read or save.", "counter", float64(st.ReadErrors))
	g("storeprobe_evaluator_runs_total", "New runs read, saved and judged.", "counter", float64(st.Runs))
	g("storeprobe_evaluator_runs_repeated_total", "Runs read again inside the overlap and skipped.", "counter", float64(st.Repeats))
	g("storeprobe_evaluator_runs_unknown_total", "Runs of checks the config does not have, skipped.", "counter", float64(st.Unknown))
	g("storeprobe_evaluator_store_errors_total", "Runs the store refused; read again by the next pass.", "counter", float64(st.SaveErrors))
	last := 0.0
	if !st.LastPass.IsZero() {
		last = float64(st.LastPass.UnixNano()) / 1e9
	}
	g("storeprobe_evaluator_last_pass_timestamp_seconds", "When the last full pass ended (Unix seconds).", "gauge", last)
	lag := 0.0
	if !st.Cursor.IsZero() {
		lag = e.o.Now().Sub(st.Cursor).Seconds()
	}
	g("storeprobe_evaluator_cursor_lag_seconds", "How far behind now the evaluator has read.", "gauge", lag)
	active := e.alerts.Active()
	b.WriteString("# HELP storeprobe_alerts_active Alerts whose condition holds now, by rule.\n# TYPE storeprobe_alerts_active gauge\n")
	for _, r := range []string{alert.RuleDown, alert.RuleBurnRateFast, alert.RuleBurnRateSlow, alert.RuleCertExpiry,
		alert.RuleLoadTime, alert.RuleCWVGood, alert.RuleProbeUnhealthy, alert.RuleProbeSilent, alert.RuleFlapping} {
		fmt.Fprintf(&b, "storeprobe_alerts_active{rule=%q} %d\n", r, active[r])
	}
	e.alerts.WriteMetrics(&b)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	io.WriteString(w, b.String())
}
