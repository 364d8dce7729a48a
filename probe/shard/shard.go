// Package shard splits a config's checks between the replicas of one
// location with no coordination: each replica runs as shard i of n, and a
// check belongs to the shard that ranks highest for its name under
// rendezvous (highest random weight) hashing. Every check runs on exactly
// one shard, the shards get about the same number of checks, and changing n
// moves only the checks whose highest-ranking shard changed: about 1/n of
// them when a shard is added, only the removed shard's when one is removed.
package shard

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is shard Index (0-based) of Count. The zero Shard means "not
// sharded": it owns every check.
type Shard struct {
	Index, Count int
}

// MaxCount bounds n: more shards than this in one location is a typo.
const MaxCount = 1024

// Parse reads "i/n" with 0 <= i < n <= MaxCount.
func Parse(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/3", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("shard %q: want i/n with whole numbers, e.g. 0/3", s)
	case n < 1 || n > MaxCount:
		return Shard{}, fmt.Errorf("shard %q: n must be from 1 to %d", s, MaxCount)
	case i < 0 || i >= n:
		return Shard{}, fmt.Errorf("shard %q: i must be from 0 to %d (0-based)", s, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

// String is "i/n", or "" when not sharded.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns reports whether the check called name runs on this shard.
func (s Shard) Owns(name string) bool {
	if s.Count <= 1 {
		return true
	}
	return Owner(name, s.Count) == s.Index
}

// Owner is the shard of n that name belongs to: the one whose weight for
// name is highest (ties, which need a 64-bit collision, go to the lower
// index).
func Owner(name string, n int) int {
	best, bestW := 0, uint64(0)
	for i := range n {
		if w := weight(name, i); i == 0 || w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

// weight is a 64-bit hash of (name, shard), mixed so that the ranking of
// shards for one name looks random.
func weight(name string, shard int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(shard))
	h.Write(b[:])
	return mix64(h.Sum64())
}

// mix64 is the splitmix64 finaliser: FNV's low bits alone are not evenly
// spread for short, similar names.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
