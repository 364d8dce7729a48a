package schedule

import (
	"fmt"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday
	tests := []struct {
		spec    string
		wantErr bool
		next    []time.Time // consecutive fires after base
		period  time.Duration
	}{
		{spec: "*/5 * * * *", next: []time.Time{base.Add(5 * time.Minute), base.Add(10 * time.Minute)}},
		{spec: "*/10 * * * * *", next: []time.Time{base.Add(10 * time.Second), base.Add(20 * time.Second)}},
		{spec: "30 0 12 * * *", next: []time.Time{base.Add(2*time.Hour + 30*time.Second), base.Add(26*time.Hour + 30*time.Second)}},
		{spec: "@hourly", next: []time.Time{base.Add(time.Hour), base.Add(2 * time.Hour)}},
		{spec: "@daily", next: []time.Time{base.Add(14 * time.Hour)}},
		{spec: "  @every 30s ", next: []time.Time{base.Add(30 * time.Second), base.Add(time.Minute)}},
		{spec: "@every 1m", next: []time.Time{base.Add(time.Minute), base.Add(2 * time.Minute)}},
		{spec: "@every 1h30m", period: 90 * time.Minute}, // multiples of 90m since year 1, not of the hour
		{spec: "TZ=UTC 0 9 * * 1-5", next: []time.Time{base.Add(23 * time.Hour), base.Add(47 * time.Hour)}},
		{spec: "", wantErr: true},
		{spec: "   ", wantErr: true},
		{spec: "bogus", wantErr: true},
		{spec: "* * * *", wantErr: true},
		{spec: "61 * * * *", wantErr: true},
		{spec: "* * * * * * *", wantErr: true},
		{spec: "@every 500ms", wantErr: true},
		{spec: "@every 1500ms", wantErr: true},
		{spec: "@every -1s", wantErr: true},
		{spec: "@every 0s", wantErr: true},
		{spec: "@every", wantErr: true},
		{spec: "@fortnightly", wantErr: true},
		{spec: "0 0 30 2 *", wantErr: true}, // 30 February never comes
		{spec: "TZ=UTC", wantErr: true},     // panics inside cron v3.0.1
		{spec: "TZ=Nowhere/Bogus * * * * *", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSpec(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSpec(%q) = nil error, want one", tt.spec)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.spec, err)
			}
			at := base
			for i, want := range tt.next {
				at = s.Next(at)
				if !at.Equal(want) {
					t.Fatalf("fire %d = %v, want %v", i+1, at, want)
				}
			}
			if tt.period != 0 {
				if got := Period(s, base); got != tt.period {
					t.Fatalf("Period = %v, want %v", got, tt.period)
				}
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "0 */2 * * * *", "@every 30s", "@hourly", "TZ=UTC 0 9 * * 1-5",
		"TZ=UTC", "CRON_TZ=", "@every 1.5s", "0 0 30 2 *", "1-5/2 * * * ?", "* * * JAN-MAR MON"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSpec(spec)
		if err != nil {
			return
		}
		// Whatever parses must fire strictly later, with a positive period.
		if n := s.Next(now); !n.IsZero() && !n.After(now) {
			t.Fatalf("%q: Next(%v) = %v, not after", spec, now, n)
		}
		if n := fireAfter(s, 1234*time.Millisecond, now); !n.IsZero() && !n.After(now) {
			t.Fatalf("%q: shifted fire %v not after %v", spec, n, now)
		}
		if p := Period(s, now); p < 0 {
			t.Fatalf("%q: negative period %v", spec, p)
		}
	})
}

func TestJitterWindow(t *testing.T) {
	from := time.Date(2026, 3, 2, 10, 0, 7, 0, time.UTC)
	tests := []struct {
		spec      string
		maxJitter time.Duration
		want      time.Duration
	}{
		{"@every 1m", time.Minute, time.Minute},
		{"@every 10s", time.Minute, 10 * time.Second},
		{"@every 1h", time.Minute, time.Hour}, // intervals spread over their whole period
		{"@every 1h", -1, time.Hour},
		{"*/5 * * * *", time.Minute, time.Minute},
		{"*/5 * * * *", 10 * time.Minute, 5 * time.Minute},
		{"*/15 * * * * *", time.Minute, 15 * time.Second},
		{"@hourly", time.Minute, time.Minute},
		{"0 9 * * 1-5", time.Hour, time.Hour}, // shortest gap is a day
		{"0,1 * * * *", time.Hour, time.Minute},
		{"*/5 * * * *", -1, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.spec, tt.maxJitter), func(t *testing.T) {
			s, err := ParseSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := JitterWindow(s, tt.maxJitter, from); got != tt.want {
				t.Fatalf("JitterWindow = %v, want %v", got, tt.want)
			}
		})
	}
}

// 500 checks on @every 1m must spread over the minute, each keeping its own
// offset whenever it is computed.
func TestOffsetStableAndSpread(t *testing.T) {
	const n, window, buckets = 500, time.Minute, 12
	counts := make([]int, buckets)
	distinct := map[time.Duration]bool{}
	for i := range n {
		name := fmt.Sprintf("shop-%03d", i)
		off := Offset(name, window)
		if off < 0 || off >= window || off%time.Millisecond != 0 {
			t.Fatalf("%s: offset %v outside [0, %v) or not whole ms", name, off, window)
		}
		if again := Offset(name, window); again != off {
			t.Fatalf("%s: offset %v then %v", name, off, again)
		}
		counts[off*buckets/window]++
		distinct[off] = true
	}
	// Expected 41.7 per 5 s bucket (binomial sd ≈ 6.2); a hash that clusters
	// similar names fails this by far.
	for b, c := range counts {
		if c < 20 || c > 65 {
			t.Errorf("bucket %d (%v-%v) holds %d of %d offsets: %v", b, time.Duration(b)*window/buckets,
				time.Duration(b+1)*window/buckets, c, n, counts)
		}
	}
	if len(distinct) < n*9/10 {
		t.Errorf("only %d distinct offsets for %d checks", len(distinct), n)
	}
	if Offset("x", 0) != 0 || Offset("x", time.Microsecond) != 0 {
		t.Error("a window under 1ms must give no offset")
	}
}

func TestFireAfterShiftsWholeSchedule(t *testing.T) {
	from := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		spec   string
		offset time.Duration
		want   []time.Time
	}{
		{"@every 1m", 17250 * time.Millisecond, []time.Time{from.Add(17250 * time.Millisecond), from.Add(77250 * time.Millisecond)}},
		{"*/10 * * * * *", 3 * time.Second, []time.Time{from.Add(3 * time.Second), from.Add(13 * time.Second)}},
		{"@hourly", 42 * time.Second, []time.Time{from.Add(42 * time.Second), from.Add(time.Hour + 42*time.Second)}},
		{"@every 10s", 0, []time.Time{from.Add(10 * time.Second), from.Add(20 * time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			at := from
			for i, want := range tt.want {
				at = fireAfter(s, tt.offset, at)
				if !at.Equal(want) {
					t.Fatalf("fire %d = %v, want %v", i+1, at, want)
				}
			}
		})
	}
}
