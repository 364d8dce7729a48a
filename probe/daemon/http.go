package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
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
