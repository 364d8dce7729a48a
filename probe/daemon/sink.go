package daemon

import (
	"context"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// sink is the scheduler's Sink: every finished run is tagged with what the
// response revealed and its maintenance window, stored, judged by the alert
// rules, then shown to OnRun.
type sink struct{ d *Daemon }

func (s sink) Save(ctx context.Context, run probe.Run) error {
	tagDetected(&run)
	run.Maintenance = s.d.alerter.Maintenance(run)
	if _, err := s.d.store.Save(ctx, run); err != nil {
		s.d.setSaveErr(err)
		return err
	}
	s.d.setSaveErr(nil)
	s.d.metrics.observe(run)
	// Judged once stored: an alert never rests on a run the store lost.
	s.d.alerter.Observe(ctx, run)
	// The scheduler logs every run; nothing is formatted here per run.
	if s.d.o.OnRun != nil {
		s.d.o.OnRun(run)
	}
	return nil
}

func (s sink) RecordSkip(ctx context.Context, check string, at time.Time, reason string) error {
	// The scheduler already logs skips; this only records them.
	return s.d.store.RecordSkip(ctx, check, at, reason)
}

// tagDetected fills the platform and cdn tags the check's config leaves
// unset from what the response revealed (both from a closed set, so the
// InfluxDB series stay bounded). Configured tags always win.
func tagDetected(run *probe.Run) {
	d := run.Final().HTTPDetails
	if d == nil {
		return
	}
	for k, v := range map[string]string{"platform": d.Platform, "cdn": d.CDNProvider()} {
		if v == "" || run.Tags[k] != "" {
			continue
		}
		if run.Tags == nil {
			run.Tags = map[string]string{}
		}
		run.Tags[k] = v
	}
}
