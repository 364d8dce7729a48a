package schedule

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parseOptions accept classic 5-field specs, an optional leading seconds
// field, and descriptors (@hourly, @every 30s).
const parseOptions = cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor

// Every is an interval schedule anchored to the zero time, so its fires fall
// on multiples of Period (for @every 1m: on the minute, UTC). cron's own
// ConstantDelaySchedule counts from whenever Next is first called; anchoring
// instead keeps a check's phase, and so its jitter offset, stable across
// restarts and reloads.
type Every struct{ Period time.Duration }

// Next returns the first multiple of Period strictly after t.
func (e Every) Next(t time.Time) time.Time { return t.Truncate(e.Period).Add(e.Period) }

// ParseSpec parses a schedule: a 5-field cron spec, a 6-field one whose
// first field is seconds, an optional "TZ=Zone " prefix, or a descriptor
// (@yearly, @monthly, @weekly, @daily, @hourly, @every DURATION). @every
// yields an Every; it needs whole seconds and at least 1s, because cron would
// silently round anything else. A spec that never fires is an error.
func ParseSpec(spec string) (s cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	// cron v3.0.1 indexes out of range on some malformed TZ= prefixes; a
	// config typo must be an error, never a crash.
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("invalid schedule %q", spec)
		}
	}()
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		if !strings.Contains(spec, " ") {
			return nil, fmt.Errorf("invalid schedule %q: time zone without a spec", spec)
		}
	}
	parsed, err := cron.NewParser(parseOptions).Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %w", spec, err)
	}
	if _, ok := parsed.(cron.ConstantDelaySchedule); ok {
		_, rest, _ := strings.Cut(spec, "@every")
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("invalid schedule %q: %w", spec, err)
		}
		if d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("invalid schedule %q: @every needs whole seconds, at least 1s", spec)
		}
		return Every{Period: d}, nil
	}
	if parsed.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("invalid schedule %q: never fires", spec)
	}
	return parsed, nil
}

// Period is the shortest gap between consecutive fires of s, sampled over
// its next few fires after from. Calendar specs are irregular ("0 9 * * 1-5"
// has gaps of 1 and 3 days), and the jitter window must fit the shortest.
func Period(s cron.Schedule, from time.Time) time.Duration {
	if e, ok := s.(Every); ok {
		return e.Period
	}
	var period time.Duration
	t := s.Next(from)
	for i := 0; i < 8 && !t.IsZero(); i++ {
		n := s.Next(t)
		if n.IsZero() {
			break
		}
		if d := n.Sub(t); period == 0 || d < period {
			period = d
		}
		t = n
	}
	return period
}

// JitterWindow is the span a check's offset is drawn from. Interval
// schedules (@every) name no wall-clock time, so they spread over their whole
// period; calendar specs mean "at 09:00", so their spread is capped by
// maxJitter (negative: no jitter).
func JitterWindow(s cron.Schedule, maxJitter time.Duration, from time.Time) time.Duration {
	p := Period(s, from)
	if _, ok := s.(Every); ok {
		return p
	}
	if maxJitter < 0 {
		return 0
	}
	return min(p, maxJitter)
}

// Offset is the deterministic jitter of the named check: a hash of the name
// mapped into [0, window), in whole milliseconds. The same name always gets
// the same offset, so a check keeps its phase across restarts, and many
// checks on one schedule spread evenly instead of firing together.
func Offset(name string, window time.Duration) time.Duration {
	slots := uint64(window / time.Millisecond)
	if slots == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(mix64(h.Sum64())%slots) * time.Millisecond
}

// mix64 is the splitmix64 finaliser. FNV-1a's low bits barely change
// between names that differ only in their last character ("check-041",
// "check-042"); the finaliser spreads every input bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// fireAfter is the first fire of s shifted by offset strictly after t. The
// whole schedule is shifted, so gaps between fires are unchanged.
func fireAfter(s cron.Schedule, offset time.Duration, t time.Time) time.Time {
	n := s.Next(t.Add(-offset))
	if n.IsZero() {
		return n
	}
	return n.Add(offset)
}
