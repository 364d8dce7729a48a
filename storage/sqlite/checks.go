package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// SaveCheck records a check's definition as far as reports need it (type,
// redacted URL, schedule, targets, tags), so `report` can judge stored runs
// without the config. The daemon saves every check at start and on reload.
func (s *Store) SaveCheck(ctx context.Context, c probe.Check) error {
	if c.Name == "" {
		return fmt.Errorf("save check: empty name")
	}
	red := probe.CheckRedactor(c)
	tags, err := jsonOrNull(len(c.Tags) > 0, c.Tags)
	if err != nil {
		return fmt.Errorf("save check %s: %w", c.Name, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO checks
		(name, type, url, schedule, location, probe, slo_uptime, slo_load_ms, slo_success, slo_cwv_good, tags, updated_at,
		 slo_preset, slo_from_preset, slo_payment_ready_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET type = excluded.type, url = excluded.url, schedule = excluded.schedule,
			location = excluded.location, probe = excluded.probe, slo_uptime = excluded.slo_uptime,
			slo_load_ms = excluded.slo_load_ms, slo_success = excluded.slo_success,
			slo_cwv_good = excluded.slo_cwv_good, tags = excluded.tags, updated_at = excluded.updated_at,
			slo_preset = excluded.slo_preset, slo_from_preset = excluded.slo_from_preset,
			slo_payment_ready_ms = excluded.slo_payment_ready_ms`,
		c.Name, string(c.Type), red.URL(c.URL), c.Schedule, c.Location, c.Probe,
		c.SLO.Uptime, probe.Millis(c.SLO.LoadTime), c.SLO.Success, c.SLO.CWVGood, tags, s.now().UnixNano(),
		c.SLO.Preset, int64(c.SLO.FromPreset), probe.Millis(c.SLO.PaymentReady))
	if err != nil {
		return fmt.Errorf("save check %s: %w", c.Name, err)
	}
	return nil
}

// Checks returns every saved check, by name. Only the fields SaveCheck keeps
// are set (name, type, URL, schedule, location, probe, SLO with its preset,
// tags).
func (s *Store) Checks(ctx context.Context) ([]probe.Check, error) {
	var out []probe.Check
	err := eachRow(ctx, s.r, `SELECT name, type, url, schedule, location, probe,
		slo_uptime, slo_load_ms, slo_success, slo_cwv_good, tags, slo_preset, slo_from_preset, slo_payment_ready_ms FROM checks ORDER BY name`, nil, func(rows *sql.Rows) error {
		var (
			c      probe.Check
			typ    string
			loadMS float64
			payMS  float64
			tags   sql.NullString
			from   int64
		)
		if err := rows.Scan(&c.Name, &typ, &c.URL, &c.Schedule, &c.Location, &c.Probe,
			&c.SLO.Uptime, &loadMS, &c.SLO.Success, &c.SLO.CWVGood, &tags, &c.SLO.Preset, &from, &payMS); err != nil {
			return err
		}
		c.SLO.FromPreset = probe.Targets(from)
		c.Type = probe.CheckType(typ)
		c.SLO.LoadTime = time.Duration(math.Round(loadMS * float64(time.Millisecond)))
		c.SLO.PaymentReady = time.Duration(math.Round(payMS * float64(time.Millisecond)))
		if err := fromJSON(tags, &c.Tags); err != nil {
			return fmt.Errorf("check %s tags: %w", c.Name, err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read checks: %w", err)
	}
	return out, nil
}

// RecordSkip records a run the scheduler skipped, so skips are counted
// rather than silently lost.
func (s *Store) RecordSkip(ctx context.Context, check string, scheduledAt time.Time, reason string) error {
	_, err := s.w.ExecContext(ctx, "INSERT INTO skips (check_name, scheduled_at, reason) VALUES (?, ?, ?)",
		check, scheduledAt.UnixNano(), reason)
	if err != nil {
		return fmt.Errorf("record skip of %s: %w", check, err)
	}
	return nil
}

// Skips returns the skipped runs q selects, oldest first.
func (s *Store) Skips(ctx context.Context, q probe.RunQuery) ([]probe.Skip, error) {
	where, args := queryWhere(q)
	var out []probe.Skip
	err := eachRow(ctx, s.r, "SELECT check_name, scheduled_at, reason FROM skips WHERE "+where+
		" ORDER BY scheduled_at, id", args, func(rows *sql.Rows) error {
		var (
			sk probe.Skip
			at int64
		)
		if err := rows.Scan(&sk.Check, &at, &sk.Reason); err != nil {
			return err
		}
		sk.ScheduledAt = fromNanos(at)
		out = append(out, sk)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read skips: %w", err)
	}
	return out, nil
}

// RunCheckNames lists the checks that have runs among those q selects, by
// name, so a caller can read a long window one check at a time instead of
// holding every run in memory.
func (s *Store) RunCheckNames(ctx context.Context, q probe.RunQuery) ([]string, error) {
	where, args := queryWhere(q)
	out, err := columnStrings(ctx, s.r, "SELECT DISTINCT check_name FROM runs WHERE "+where+" ORDER BY check_name", args)
	if err != nil {
		return nil, fmt.Errorf("read run check names: %w", err)
	}
	return out, nil
}
