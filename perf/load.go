package perf

import (
	"context"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/load"
)

// Call makes one call; an error or a status other than 200 is a failure.
type Call func(ctx context.Context) (status int, err error)

// Outcome is what an open-loop or closed-loop run measured.
type Outcome struct {
	Sent      int             // calls started
	OK        int             // answered 200
	Throttled int             // answered 429
	Failed    int             // anything else, or no answer
	Elapsed   time.Duration   // from the first send to the last answer
	Latencies []time.Duration // of the calls answered 200
	LastError string          `json:",omitempty"`
}

// Rate is the calls answered 200 per second.
func (o Outcome) Rate() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.OK) / o.Elapsed.Seconds()
}

func (o *Outcome) add(status int, err error, lat time.Duration) {
	switch {
	case err != nil:
		o.Failed++
		o.LastError = err.Error()
	case status == 200:
		o.OK++
		o.Latencies = append(o.Latencies, lat)
	case status == 429:
		o.Throttled++
	default:
		o.Failed++
	}
}

// OpenLoop sends calls at a constant rate for d, whatever the answers: the
// i-th call is scheduled at start + i/rate and its latency runs from that
// scheduled instant, not from when it was actually sent, so a stalled
// sender or server is charged for the calls it delayed (no coordinated
// omission). It waits for every call to end. A nil clk is the wall clock.
func OpenLoop(ctx context.Context, clk clock.Clock, rate float64, d time.Duration, call Call) Outcome {
	if clk == nil {
		clk = clock.Real{}
	}
	n := int(rate * d.Seconds())
	var mu sync.Mutex
	var out Outcome
	start := clk.Now()
	load.Loop{
		Clock:    clk,
		Arrivals: load.NewSchedule(start, time.Duration(float64(time.Second)/rate), false, 0),
		More: func() bool {
			mu.Lock()
			defer mu.Unlock()
			if out.Sent == n {
				return false
			}
			out.Sent++
			return true
		},
	}.Run(ctx, func(ctx context.Context, due time.Time) bool {
		status, err := call(ctx)
		lat := clk.Now().Sub(due)
		mu.Lock()
		out.add(status, err, lat)
		mu.Unlock()
		return true
	})
	out.Elapsed = clk.Now().Sub(start)
	return out
}

// ClosedLoop runs workers callers back to back for d: each sends its next
// call when the previous one is answered. The rate it reaches is the most
// the target can answer with that many calls in flight.
func ClosedLoop(ctx context.Context, workers int, d time.Duration, call Call) Outcome {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var out Outcome
	start := time.Now()
	load.Loop{Callers: workers}.Run(ctx, func(ctx context.Context, t0 time.Time) bool {
		status, err := call(ctx)
		if ctx.Err() != nil && err != nil {
			return false // cut off at the end of the run, not a failure
		}
		lat := time.Since(t0)
		mu.Lock()
		out.Sent++
		out.add(status, err, lat)
		mu.Unlock()
		return true
	})
	out.Elapsed = time.Since(start)
	return out
}
