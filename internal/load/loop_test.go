package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestSchedule: constant arrivals are evenly spaced at the rate; Poisson
// arrivals have exponential gaps of the same mean (coefficient of variation 1).
func TestSchedule(t *testing.T) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		poisson      bool
		minCV, maxCV float64
	}{
		{false, 0, 1e-6},
		{true, 0.95, 1.05},
	} {
		s := NewSchedule(start, 100*time.Millisecond, tt.poisson, 9)
		const n = 20000
		prev := s.Next()
		if !prev.Equal(start) {
			t.Errorf("poisson %v: first arrival at %v, want the start", tt.poisson, prev)
		}
		var sum, sumSq float64
		for range n {
			next := s.Next()
			g := next.Sub(prev).Seconds()
			sum, sumSq, prev = sum+g, sumSq+g*g, next
		}
		mean := sum / n
		cv := math.Sqrt(max(sumSq/n-mean*mean, 0)) / mean
		if math.Abs(mean-0.1) > 0.002 || cv < tt.minCV || cv > tt.maxCV {
			t.Errorf("poisson %v: gaps average %.4f s, coefficient of variation %.3f; want 0.1 s and %.2f–%.2f", tt.poisson, mean, cv, tt.minCV, tt.maxCV)
		}
	}
}

// counter is a More that allows n calls.
func counter(n int64) func() bool {
	var c atomic.Int64
	return func() bool { return c.Add(1) <= n }
}

// A paced run with no callers starts every call on time, however slow the
// target: calls overlap rather than wait for each other.
func TestOpenLoopKeepsTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var late []time.Duration
		inFlight, most := 0, 0
		Loop{Arrivals: NewSchedule(start, 10*time.Millisecond, false, 1), More: counter(10)}.Run(context.Background(),
			func(ctx context.Context, due time.Time) bool {
				mu.Lock()
				late = append(late, time.Since(due))
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				time.Sleep(35 * time.Millisecond)
				mu.Lock()
				inFlight--
				mu.Unlock()
				return true
			})
		if len(late) != 10 || most != 4 {
			t.Fatalf("%d calls, at most %d in flight; want 10 and 4 (35 ms calls every 10 ms)", len(late), most)
		}
		for i, l := range late {
			if l != 0 {
				t.Errorf("call %d sent %v after its time", i, l)
			}
		}
		if took := time.Since(start); took != 9*10*time.Millisecond+35*time.Millisecond {
			t.Errorf("the run took %v, want the last call's time and its length, 125ms", took)
		}
	})
}

// With callers, a paced run holds a call back until one is free and tells
// Late; the call is charged from its scheduled time.
func TestPacedRunWithCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var charged []time.Duration
		var handed []time.Duration
		Loop{Arrivals: NewSchedule(start, 10*time.Millisecond, false, 1), Callers: 1, More: counter(3),
			Late: func(due time.Time) { handed = append(handed, time.Since(due)) }}.Run(context.Background(),
			func(ctx context.Context, due time.Time) bool {
				time.Sleep(25 * time.Millisecond)
				mu.Lock()
				charged = append(charged, time.Since(due))
				mu.Unlock()
				return true
			})
		// Calls due at 0, 10 and 20 ms, each 25 ms long on the one caller:
		// sent at 0, 25 and 50 ms.
		want := []time.Duration{25 * time.Millisecond, 40 * time.Millisecond, 55 * time.Millisecond}
		if len(charged) != 3 || charged[0] != want[0] || charged[1] != want[1] || charged[2] != want[2] {
			t.Errorf("calls charged %v, want %v", charged, want)
		}
		if len(handed) != 3 || handed[0] != 0 || handed[1] != 15*time.Millisecond || handed[2] != 30*time.Millisecond {
			t.Errorf("Late heard the calls %v after their time, want 0s, 15ms, 30ms", handed)
		}
	})
}

// A closed loop keeps each caller busy back to back until More says stop,
// and a caller whose call returns false stops.
func TestClosedLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		start := time.Now()
		Loop{Callers: 3, More: counter(9)}.Run(context.Background(), func(ctx context.Context, due time.Time) bool {
			calls.Add(1)
			time.Sleep(time.Second)
			return true
		})
		if calls.Load() != 9 || time.Since(start) != 3*time.Second {
			t.Errorf("%d calls in %v, want 9 in 3s from 3 callers", calls.Load(), time.Since(start))
		}
		calls.Store(0)
		Loop{Callers: 3}.Run(context.Background(), func(ctx context.Context, due time.Time) bool {
			calls.Add(1)
			return false
		})
		if calls.Load() != 3 {
			t.Errorf("%d calls from callers told to stop, want 3", calls.Load())
		}
	})
}

// A run ends with its context: no call starts after it.
func TestRunEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, l := range []Loop{
			{Arrivals: NewSchedule(time.Now(), 100*time.Millisecond, false, 1)},
			{Arrivals: NewSchedule(time.Now(), 100*time.Millisecond, false, 1), Callers: 2},
			{Callers: 2},
		} {
			ctx, cancel := context.WithCancel(context.Background())
			var calls atomic.Int64
			l.Run(ctx, func(ctx context.Context, due time.Time) bool {
				calls.Add(1)
				cancel()
				return true
			})
			if n := calls.Load(); n < 1 || n > int64(max(l.Callers, 1)) {
				t.Errorf("loop %+v: %d calls after the first ended the context", l, n)
			}
		}
	})
}
