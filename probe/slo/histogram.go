package slo

import (
	"math"
)

// A Histogram counts samples in logarithmic buckets, for windows too long to
// keep every sample (a store's hourly rollups). Bucket 0 holds zero (CLS is
// often exactly 0) and negative values; bucket i ≥ 1 holds
// [HistogramMin·HistogramGrowth^(i−1), HistogramMin·HistogramGrowth^i), so each
// bucket is 1 % wider than its lower bound, whatever the unit (ms or CLS),
// and a positive value below HistogramMin falls in bucket 1.
//
// A percentile read from it is the geometric middle of the bucket that holds
// the nearest-rank sample, so it lies within HistogramError (0.5 %) of that
// sample (within HistogramMin of it below HistogramMin). Counts are exact:
// only where a sample sits inside its bucket is lost.
type Histogram struct {
	// counts[k] is bucket lo+k's count: dense from the lowest bucket used
	// to the highest, a few hundred ints for a load or a vital, which adds
	// and merges far faster than a map (a month's report merges millions
	// of buckets).
	lo     int
	counts []int
	n      int
}

// Bucket geometry. Changing it invalidates stored histograms: a store that
// keeps them must rebuild them (a migration) if it ever does.
const (
	HistogramMin    = 0.001 // ms (1 µs), or CLS units
	HistogramGrowth = 1.01
)

// HistogramMaxBucket is the last bucket: values from about 10^15 up.
const HistogramMaxBucket = 4167

// HistogramError bounds the relative error of a percentile read from a
// Histogram: half a bucket, geometrically, √1.01 − 1 < 0.5 %.
const HistogramError = 0.005

// HistogramBucket is the bucket that holds v. It is computed with a
// logarithm, then corrected against the bucket bounds themselves, so that
// BucketLower(HistogramBucket(v)) <= v < BucketLower(HistogramBucket(v)+1)
// holds exactly, whatever the rounding of math.Log.
func HistogramBucket(v float64) int {
	if !(v > 0) {
		return 0 // zero, negative, NaN
	}
	if v < HistogramMin*HistogramGrowth {
		return 1
	}
	// Bucket HistogramMaxBucket takes everything from 10^15 up (+Inf
	// included): no load or vital is that large, and the index stays an
	// int the logarithm cannot overflow.
	if v >= BucketLower(HistogramMaxBucket) {
		return HistogramMaxBucket
	}
	i := 1 + int(math.Floor(math.Log(v/HistogramMin)/math.Log(HistogramGrowth)))
	for i > 1 && BucketLower(i) > v {
		i--
	}
	for BucketLower(i+1) <= v {
		i++
	}
	return i
}

// BucketLower is bucket i's lower bound (0 for buckets 0 and 1).
func BucketLower(i int) float64 {
	if i <= 1 {
		return 0
	}
	return HistogramMin * math.Pow(HistogramGrowth, float64(i-1))
}

// BucketValue is what a percentile landing in bucket i reads: 0 for bucket
// 0, else the bucket's geometric middle.
func BucketValue(i int) float64 {
	if i <= 0 {
		return 0
	}
	return HistogramMin * math.Pow(HistogramGrowth, float64(i-1)+0.5)
}

// Add counts one sample.
func (h *Histogram) Add(v float64) { h.AddBucket(HistogramBucket(v), 1) }

// AddBucket counts n samples in bucket i (reading a stored histogram).
func (h *Histogram) AddBucket(i, n int) {
	if n == 0 {
		return
	}
	h.reach(i)
	h.counts[i-h.lo] += n
	h.n += n
}

// Merge adds o's counts.
func (h *Histogram) Merge(o Histogram) {
	if len(o.counts) == 0 {
		return
	}
	// Make room for o's span once, then add in place.
	h.reach(o.lo)
	h.reach(o.lo + len(o.counts) - 1)
	for k, n := range o.counts {
		h.counts[o.lo+k-h.lo] += n
	}
	h.n += o.n
}

// reach grows counts to cover bucket i.
func (h *Histogram) reach(i int) {
	switch {
	case len(h.counts) == 0:
		h.lo, h.counts = i, []int{0}
	case i < h.lo:
		grown := make([]int, h.lo-i+len(h.counts))
		copy(grown[h.lo-i:], h.counts)
		h.lo, h.counts = i, grown
	case i >= h.lo+len(h.counts):
		h.counts = append(h.counts, make([]int, i-h.lo-len(h.counts)+1)...)
	}
}

// Len is the number of samples counted.
func (h Histogram) Len() int { return h.n }

// Buckets returns the non-empty buckets in ascending order, with their
// counts, for storing.
func (h Histogram) Buckets() (index, count []int) {
	for k, n := range h.counts {
		if n != 0 {
			index, count = append(index, h.lo+k), append(count, n)
		}
	}
	return index, count
}

// Percentile is the nearest-rank p-th percentile read as BucketValue of
// the bucket holding the ⌈p·n/100⌉-th smallest sample; ok is false when the
// histogram is empty.
func (h Histogram) Percentile(p float64) (float64, bool) {
	if h.n == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
		return 0, false
	}
	rank := max(1, min(int(math.Ceil(p*float64(h.n)/100-eps)), h.n))
	seen := 0
	for k, n := range h.counts {
		seen += n
		if seen >= rank {
			return BucketValue(h.lo + k), true
		}
	}
	return BucketValue(h.lo + len(h.counts) - 1), true
}
