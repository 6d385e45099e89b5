package perf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Snapshot is what a leak check reads from ptu's Prometheus endpoint.
type Snapshot struct {
	Goroutines  int     `json:"goroutines"`
	RSS         int64   `json:"rss_bytes"`
	BucketLevel float64 `json:"bucket_level"` // summed over deployments, in capacities
	Buckets     int     `json:"buckets"`      // deployments with a bucket level series
}

// ParseMetrics reads a Snapshot from Prometheus text exposition.
func ParseMetrics(r io.Reader) (Snapshot, error) {
	var s Snapshot
	var seen bool
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name, val := line[:i], line[i+1:]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return s, fmt.Errorf("metrics: %q: %w", line, err)
		}
		switch name {
		case "go_goroutines":
			s.Goroutines, seen = int(v), true
		case "process_resident_memory_bytes":
			s.RSS = int64(v)
		case "ptu_deployment_bucket_level_ratio":
			s.BucketLevel += v
			s.Buckets++
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if !seen {
		return s, fmt.Errorf("metrics: no go_goroutines")
	}
	return s, nil
}

// Scrape reads a Snapshot from base/metrics.
func Scrape(ctx context.Context, base string) (Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
	if err != nil {
		return Snapshot{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Snapshot{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return Snapshot{}, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	return ParseMetrics(res.Body)
}

// Leaks compares the state after a load with the baseline taken before it
// under the same kind of load: goroutines may exceed the baseline by at
// most slack (connections the load opened and keeps idle), and every
// bucket must have drained. It returns what leaked; none is no leak.
func Leaks(baseline, after Snapshot, slack int) []string {
	var out []string
	if after.Goroutines > baseline.Goroutines+slack {
		out = append(out, fmt.Sprintf("goroutines: %d after the load, %d before (slack %d)", after.Goroutines, baseline.Goroutines, slack))
	}
	if after.BucketLevel > 1e-9 {
		out = append(out, fmt.Sprintf("buckets: level %.6g of capacity still held after draining", after.BucketLevel))
	}
	return out
}

// SettleLeaks polls scrape until Leaks reports nothing or timeout passes,
// and returns the last snapshot and what still leaked.
func SettleLeaks(ctx context.Context, scrape func(context.Context) (Snapshot, error), baseline Snapshot, slack int, timeout time.Duration) (Snapshot, []string, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := scrape(ctx)
		if err != nil {
			return s, nil, err
		}
		leaks := Leaks(baseline, s, slack)
		if len(leaks) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return s, leaks, ctx.Err()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// SoakReport is the result of a soak.
type SoakReport struct {
	Machine  Machine       `json:"machine"`
	Rate     float64       `json:"calls_per_s"`
	Duration time.Duration `json:"duration_ns"`
	Baseline Snapshot      `json:"baseline"`
	Peak     Snapshot      `json:"peak"`
	After    Snapshot      `json:"after"`
	Settle   time.Duration `json:"settle_ns"` // how long after the load the state came back
	Minutes  []Step        `json:"minutes"`   // the load, a step per minute
	Leaks    []string      `json:"leaks"`
}

// Soak drives the ptu (memory limiter) target of b at rate for d, a minute
// at a time, and checks goroutines and buckets come back to the baseline
// taken after a warm-up at the same rate.
func (b *Bench) Soak(ctx context.Context, rate float64, d time.Duration) (*SoakReport, error) {
	var t target
	for _, x := range b.targets {
		if strings.HasPrefix(x.name, "ptu-") {
			t = x
			break
		}
	}
	if t.name == "" {
		return nil, fmt.Errorf("soak: no ptu target")
	}
	base := "http://" + t.proc.Addr
	scrape := func(ctx context.Context) (Snapshot, error) { return Scrape(ctx, base) }
	rep := &SoakReport{Machine: DescribeMachine(), Rate: rate, Duration: d}
	call := func(ctx context.Context) (int, error) { return b.call(ctx, t) }
	OpenLoop(ctx, nil, rate, 10*time.Second, call) // warm-up: connections, buckets, caches
	time.Sleep(2 * time.Second)
	var err error
	if rep.Baseline, err = scrape(ctx); err != nil {
		return nil, err
	}
	if b.opt.Progress != nil {
		fmt.Fprintf(b.opt.Progress, "soak: baseline %d goroutines, %.1f MB RSS\n", rep.Baseline.Goroutines, float64(rep.Baseline.RSS)/1e6)
	}
	rep.Peak = rep.Baseline
	for left := d; left > 0 && ctx.Err() == nil; left -= time.Minute {
		step := min(left, time.Minute)
		out := OpenLoop(ctx, nil, rate, step, call)
		s := Step{Target: t.name, Rate: rate, Sent: out.Sent, OK: out.OK, Throttled: out.Throttled, Failed: out.Failed,
			Achieved: out.Rate(), Latency: Summarize(out.Latencies)}
		snap, err := scrape(ctx)
		if err != nil {
			return rep, err
		}
		s.RSS = snap.RSS
		rep.Minutes = append(rep.Minutes, s)
		rep.Peak.Goroutines = max(rep.Peak.Goroutines, snap.Goroutines)
		rep.Peak.RSS = max(rep.Peak.RSS, snap.RSS)
		if b.opt.Progress != nil {
			fmt.Fprintf(b.opt.Progress, "soak: %s done, %.0f calls/s, p50 %s p99 %s, %d failed; %d goroutines, %.1f MB RSS\n",
				d-left+step, s.Achieved, fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), s.Failed, snap.Goroutines, float64(snap.RSS)/1e6)
		}
	}
	end := time.Now()
	// Buckets drain within a minute of capacity; idle connections stay.
	rep.After, rep.Leaks, err = SettleLeaks(ctx, scrape, rep.Baseline, 8, 90*time.Second)
	rep.Settle = time.Since(end)
	if rep.Leaks == nil {
		rep.Leaks = []string{}
	}
	return rep, err
}
