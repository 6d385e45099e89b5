// Package clock is the time source of everything whose behaviour depends on
// time and must be testable without waiting for it: retries, load runs,
// limiters, metric windows. Real is the wall clock; Fake is a clock a test
// sets, moves, or runs at a multiple of real time.
package clock

import (
	"context"
	"time"
)

// Clock reads the time and waits in it. Sleep must return ctx.Err() as soon
// as ctx is done, and at once when d ≤ 0.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits d of real time, or until ctx ends.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	return wait(ctx, d)
}

// SleepUntil waits on c until it reads t, or until ctx ends.
func SleepUntil(ctx context.Context, c Clock, t time.Time) error {
	return c.Sleep(ctx, t.Sub(c.Now()))
}

func wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
