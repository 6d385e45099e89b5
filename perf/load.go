package perf

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
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

// Clock is the time source of the open-loop scheduler; tests replace it.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t or when ctx ends, whichever is first.
	SleepUntil(ctx context.Context, t time.Time)
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) SleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// WallClock is the real clock.
var WallClock Clock = wallClock{}

// OpenLoop sends calls at a constant rate for d, whatever the answers: the
// i-th call is scheduled at start + i/rate and its latency runs from that
// scheduled instant, not from when it was actually sent, so a stalled
// sender or server is charged for the calls it delayed (no coordinated
// omission). It waits for every call to end.
func OpenLoop(ctx context.Context, clk Clock, rate float64, d time.Duration, call Call) Outcome {
	if clk == nil {
		clk = WallClock
	}
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	var out Outcome
	var wg sync.WaitGroup
	start := clk.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		clk.SleepUntil(ctx, at)
		if ctx.Err() != nil {
			break
		}
		out.Sent++
		wg.Go(func() {
			status, err := call(ctx)
			lat := clk.Now().Sub(at)
			mu.Lock()
			out.add(status, err, lat)
			mu.Unlock()
		})
	}
	wg.Wait()
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
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var local Outcome
			for ctx.Err() == nil {
				t0 := time.Now()
				status, err := call(ctx)
				if ctx.Err() != nil && err != nil {
					break // cut off at the end of the run, not a failure
				}
				sent.Add(1)
				local.add(status, err, time.Since(t0))
			}
			mu.Lock()
			out.OK += local.OK
			out.Throttled += local.Throttled
			out.Failed += local.Failed
			out.Latencies = append(out.Latencies, local.Latencies...)
			if local.LastError != "" {
				out.LastError = local.LastError
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	out.Elapsed = time.Since(start)
	out.Sent = int(sent.Load())
	return out
}
