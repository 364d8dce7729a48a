package schedule

import (
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func lagRun(check string, lag time.Duration) probe.Run {
	return probe.Run{Check: check, Lag: lag, Attempts: []probe.Result{{OK: true}}}
}

// Count and Sum keep growing past the percentile window, as a Prometheus
// summary's _count and _sum must; the percentiles cover the last lagWindow
// runs and Max every run.
func TestLagStatsCountAndSumAreMonotonic(t *testing.T) {
	const n = lagWindow + 1000
	r := &Runner{st: newCounters()}
	var sum time.Duration
	for i := 1; i <= n; i++ {
		lag := time.Duration(i) * time.Microsecond
		if i == 10 {
			lag = time.Second // the maximum, long out of the window by the end
		}
		sum += lag
		r.st.recordRun(lagRun("a", lag))
	}
	got := r.Stats().Lag
	want := LagStats{
		Samples: lagWindow,
		// The window holds runs 1001..5096: nearest-rank p50 is the 2048th.
		P50:   time.Duration(1000+lagWindow/2) * time.Microsecond,
		P99:   time.Duration(1000+4056) * time.Microsecond, // ceil(0.99·4096) = 4056th
		Max:   time.Second,
		Count: n,
		Sum:   sum,
	}
	if got != want {
		t.Errorf("lag stats\n got %+v\nwant %+v", got, want)
	}
	if before := r.Stats().Lag; before.Count != n {
		t.Fatalf("count %d", before.Count)
	}
	r.st.recordRun(lagRun("a", 5*time.Millisecond))
	after := r.Stats().Lag
	if after.Count != n+1 || after.Sum != sum+5*time.Millisecond {
		t.Errorf("after one more run: count %d sum %s, want %d and %s", after.Count, after.Sum, n+1, sum+5*time.Millisecond)
	}
}

func TestStatsEmpty(t *testing.T) {
	r := &Runner{st: newCounters()}
	if got := r.Stats(); got.Lag != (LagStats{}) || len(got.PerCheck) != 0 {
		t.Errorf("empty runner: %+v", got)
	}
}

// Stats copies under the lock and sorts its own copy: snapshots taken while
// runs are recorded must neither race (go test -race) nor see a window that
// changes under the sort.
func TestStatsConcurrentWithRecording(t *testing.T) {
	r := &Runner{st: newCounters()}
	const writers, perWriter = 4, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				r.mu.Lock()
				r.st.recordRun(lagRun(string(rune('a'+w)), time.Duration(i)*time.Microsecond))
				r.mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var last int64
	for snapshots := 0; ; snapshots++ {
		s := r.Stats()
		if s.Lag.Count < last {
			t.Fatalf("count went back from %d to %d", last, s.Lag.Count)
		}
		last = s.Lag.Count
		if s.Lag.Samples > 0 && s.Lag.P50 > s.Lag.P99 {
			t.Fatalf("p50 %s above p99 %s", s.Lag.P50, s.Lag.P99)
		}
		select {
		case <-done:
			s := r.Stats()
			if s.Lag.Count != writers*perWriter || len(s.PerCheck) != writers {
				t.Fatalf("final: count %d, %d checks", s.Lag.Count, len(s.PerCheck))
			}
			return
		default:
		}
		if snapshots > 1_000_000 {
			t.Fatal("writers did not finish")
		}
	}
}
