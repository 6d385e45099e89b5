package perf

import (
	"math"
	"slices"
	"time"
)

// Percentile is the nearest-rank p-quantile (0 < p ≤ 1) of sorted: the
// smallest value at least a fraction p of the values are at or below. Zero
// for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Latency is a summary of one run's latencies.
type Latency struct {
	N    int           `json:"n"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
}

// Summarize sorts ds in place and summarizes them.
func Summarize(ds []time.Duration) Latency {
	slices.Sort(ds)
	l := Latency{N: len(ds), P50: Percentile(ds, 0.5), P90: Percentile(ds, 0.9), P99: Percentile(ds, 0.99)}
	if len(ds) > 0 {
		l.Max = ds[len(ds)-1]
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		l.Mean = sum / time.Duration(len(ds))
	}
	return l
}
