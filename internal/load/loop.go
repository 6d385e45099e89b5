// Package load drives calls at a target and summarizes what they measured.
// It is the loop and the statistics of both `ptu bench` (package bench) and
// ptu's own performance benches (package perf).
package load

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

// Schedule yields the arrival times of a paced run, fixed in advance from
// the start, so a stall is caught up on rather than lowering the rate.
type Schedule struct {
	next    time.Time
	gap     time.Duration // the mean time between calls
	poisson bool
	rng     *rand.Rand
}

// NewSchedule starts at start with calls gap apart: evenly, or with
// exponential gaps of that mean when poisson is set (the bursts independent
// users make). A seed of 0 is random.
func NewSchedule(start time.Time, gap time.Duration, poisson bool, seed uint64) *Schedule {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Schedule{next: start, gap: gap, poisson: poisson, rng: rand.New(rand.NewPCG(seed, 11))}
}

// Next returns the next arrival time and moves on.
func (s *Schedule) Next() time.Time {
	t := s.next
	if s.poisson {
		s.next = s.next.Add(time.Duration(s.rng.ExpFloat64() * float64(s.gap)))
	} else {
		s.next = s.next.Add(s.gap)
	}
	return t
}

// Call makes one call, due at due: its scheduled time in a paced run, the
// time its caller started it in a closed loop. Latency measured from due
// charges a stalled sender or target for every call it delayed (no
// coordinated omission). It returns false when its caller should stop (the
// run's context ended while it was in flight).
type Call func(ctx context.Context, due time.Time) bool

// Loop is a way of sending calls.
type Loop struct {
	Clock clock.Clock // nil: the wall clock
	// Arrivals paces the calls; nil runs a closed loop, in which each of
	// Callers sends its next call when the last one is answered.
	Arrivals *Schedule
	// Callers is how many calls may be in flight. A paced run with 0 starts
	// each call on its own goroutine, whatever the target's speed.
	Callers int
	// More reports whether another call may start, and takes its place;
	// nil means until the context ends. A paced run asks it once per call
	// from one goroutine, a closed loop from each caller.
	More func() bool
	// Late, when set, hears of each paced call as it is handed out (after
	// its due time when every caller was busy).
	Late func(due time.Time)
}

// Run sends calls until More says stop or ctx ends, and returns when every
// call has ended.
func (l Loop) Run(ctx context.Context, call Call) {
	clk := l.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	more := func() bool { return ctx.Err() == nil && (l.More == nil || l.More()) }
	var wg sync.WaitGroup
	defer wg.Wait()
	switch {
	case l.Arrivals == nil:
		for range l.Callers {
			wg.Go(func() {
				for more() {
					if !call(ctx, clk.Now()) {
						return
					}
				}
			})
		}
	case l.Callers == 0:
		l.dispatch(ctx, clk, more, func(due time.Time) bool {
			wg.Go(func() { call(ctx, due) })
			return true
		})
	default:
		tickets := make(chan time.Time)
		for range l.Callers {
			wg.Go(func() {
				for due := range tickets {
					if !call(ctx, due) {
						return
					}
				}
			})
		}
		l.dispatch(ctx, clk, more, func(due time.Time) bool {
			select {
			case tickets <- due:
				return true
			case <-ctx.Done():
				return false
			}
		})
		close(tickets)
	}
}

// dispatch hands out the scheduled calls until more says stop.
func (l Loop) dispatch(ctx context.Context, clk clock.Clock, more func() bool, hand func(due time.Time) bool) {
	for {
		due := l.Arrivals.Next()
		if clock.SleepUntil(ctx, clk, due) != nil || !more() || !hand(due) {
			return
		}
		if l.Late != nil {
			l.Late(due)
		}
	}
}
