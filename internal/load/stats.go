package load

import (
	"math"
	"slices"
)

// Dist summarizes a set of values.
type Dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min"`
	Avg float64 `json:"avg"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// DistOf summarizes v, which it leaves as it is.
func DistOf(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return Dist{N: len(v), Min: v[0], Avg: Mean(v), P50: Percentile(v, 50), P90: Percentile(v, 90), P99: Percentile(v, 99), Max: v[len(v)-1]}
}

// Mean is the average of v; NaN for no values.
func Mean(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

// Percentile is numpy.percentile's default, the p-th percentile (0 to 100)
// by linear interpolation between the closest ranks, as
// azure-openai-benchmark reports them. v is reordered; NaN for no values.
func Percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	rank := p / 100 * float64(len(v)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(v)-1)
	return v[lo] + (v[hi]-v[lo])*(rank-float64(lo))
}
