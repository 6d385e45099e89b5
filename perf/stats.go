package perf

import (
	"math"
	"time"

	"github.com/ptu-dev/ptu/internal/load"
)

// Latency is a summary of one run's latencies.
type Latency struct {
	N    int           `json:"n"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
}

// Summarize summarizes ds with the statistics `ptu bench` reports
// (percentiles interpolate between the closest ranks).
func Summarize(ds []time.Duration) Latency {
	v := make([]float64, len(ds))
	for i, d := range ds {
		v[i] = float64(d)
	}
	s := load.DistOf(v)
	ns := func(f float64) time.Duration { return time.Duration(math.Round(f)) }
	return Latency{N: s.N, P50: ns(s.P50), P90: ns(s.P90), P99: ns(s.P99), Max: ns(s.Max), Mean: ns(s.Avg)}
}
