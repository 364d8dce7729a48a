package alert

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/schedule"
)

// window is a maintenance window ready to answer "is t inside?".
type window struct {
	probe.Maintenance
	sched cron.Schedule // recurring windows
}

// compileWindows parses the recurring windows' schedules.
func compileWindows(ms []probe.Maintenance) ([]window, error) {
	out := make([]window, 0, len(ms))
	for _, m := range ms {
		w := window{Maintenance: m}
		if m.Location == nil {
			w.Location = time.UTC
		}
		if m.Schedule != "" {
			s, err := schedule.ParseSpec(m.Schedule)
			if err != nil {
				return nil, fmt.Errorf("maintenance %q: %w", m.Name, err)
			}
			if m.Duration <= 0 {
				return nil, fmt.Errorf("maintenance %q: a recurring window needs a duration", m.Name)
			}
			w.sched = s
		}
		out = append(out, w)
	}
	return out, nil
}

// covers reports whether the window applies to c: every check when it names
// neither checks nor tags, else a named check or one with all its tags.
func (w window) covers(c probe.Check) bool {
	if len(w.Checks) == 0 && len(w.Tags) == 0 {
		return true
	}
	for _, n := range w.Checks {
		if n == c.Name {
			return true
		}
	}
	if len(w.Tags) == 0 {
		return false
	}
	for k, v := range w.Tags {
		if c.Tags[k] != v {
			return false
		}
	}
	return true
}

// active reports whether t falls inside the window, [start, end). A
// recurring window is active when a start lies in (t−Duration, t]: the
// first start after t−Duration, computed in the window's own time zone so
// "03:00 on Sundays" follows daylight saving.
func (w window) active(t time.Time) bool {
	if w.sched == nil {
		return !t.Before(w.Start) && t.Before(w.End)
	}
	start := w.sched.Next(t.In(w.Location).Add(-w.Duration))
	return !start.After(t)
}

// InMaintenance names the maintenance window c is in at t, if any.
func (e *Engine) InMaintenance(c probe.Check, t time.Time) (string, bool) {
	for _, w := range e.windows {
		if w.covers(c) && w.active(t) {
			return w.Name, true
		}
	}
	return "", false
}

// MaintenanceOf names the maintenance window run falls in, if any ("" for
// a check the engine does not watch).
func (e *Engine) MaintenanceOf(run probe.Run) string {
	cs := e.checks[run.Check]
	if cs == nil {
		return ""
	}
	name, _ := e.InMaintenance(cs.c, run.ScheduledAt)
	return name
}
