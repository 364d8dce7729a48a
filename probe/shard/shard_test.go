package shard

import (
	"fmt"
	"math"
	"testing"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		// Names like a real config's: similar prefixes, short suffixes.
		out[i] = fmt.Sprintf("shop-%d-checkout-%d", i%37, i)
	}
	return out
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  bool
	}{
		{"0/1", Shard{0, 1}, false},
		{"2/3", Shard{2, 3}, false},
		{" 1 / 4 ", Shard{1, 4}, false},
		{"3/3", Shard{}, true},
		{"-1/3", Shard{}, true},
		{"1/0", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
		{"0/5000", Shard{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v", tc.in, got, err)
		}
	}
	if (Shard{}).String() != "" || (Shard{1, 3}).String() != "1/3" {
		t.Error("String")
	}
}

// TestCoverAndBalance: over 10,000 names every name is owned by exactly
// one shard, and each shard holds about the even share: within 5 % for up
// to 4 shards, and never further off than 4 standard deviations of the
// binomial noise an ideal random assignment has (3.9 % at 16 shards).
func TestCoverAndBalance(t *testing.T) {
	ns := names(10_000)
	for _, n := range []int{1, 2, 3, 5, 8, 16} {
		counts := make([]int, n)
		for _, name := range ns {
			owners := 0
			for i := range n {
				if (Shard{i, n}).Owns(name) {
					owners++
					counts[i]++
				}
			}
			if owners != 1 {
				t.Fatalf("n=%d: %q owned by %d shards", n, name, owners)
			}
		}
		even := float64(len(ns)) / float64(n)
		sigma := math.Sqrt(even*(1-1/float64(n))) / even
		bound := 4 * sigma
		if n <= 4 {
			bound = min(bound, 0.05)
		}
		worst := 0.0
		for i, c := range counts {
			d := math.Abs(float64(c)-even) / even
			worst = max(worst, d)
			if d > bound {
				t.Errorf("n=%d shard %d holds %d names, %.1f%% off the even %.0f (bound %.1f%%)", n, i, c, 100*d, even, 100*bound)
			}
		}
		t.Logf("n=%d: worst shard %.1f%% off the even share (1σ = %.1f%%)", n, 100*worst, 100*sigma)
	}
}

// TestStability: growing from n to n+1 shards moves about 1/(n+1) of the
// names, all of them to the new shard; shrinking moves only the removed
// shard's names.
func TestStability(t *testing.T) {
	ns := names(10_000)
	for _, n := range []int{1, 2, 3, 4, 7} {
		moved := 0
		for _, name := range ns {
			before, after := Owner(name, n), Owner(name, n+1)
			if before != after {
				moved++
				if after != n {
					t.Fatalf("%q moved from shard %d to %d, not to the new shard %d", name, before, after, n)
				}
			}
		}
		want := float64(len(ns)) / float64(n+1)
		if d := (float64(moved) - want) / want; d > 0.1 || d < -0.1 {
			t.Errorf("%d → %d shards moved %d names, want about %.0f", n, n+1, moved, want)
		}
	}
}
