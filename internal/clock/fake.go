package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a clock for tests, safe for concurrent use. It stands still until
// moved: Set and Advance move it, and Sleep advances it by the time asked at
// once (recording the wait), so a test sees exactly the waits the code chose.
// Run makes it follow the wall clock at a rate from where it stands (a
// scaled clock: a minute of a load run in a second at rate 60); Sleep then
// waits the real time that makes the clock move d.
type Fake struct {
	mu      sync.Mutex
	at      time.Time // the reading at wall time since
	since   time.Time
	rate    float64 // 0 while standing still
	slept   []time.Duration
	onSleep func(time.Duration)
}

var _ Clock = (*Fake)(nil)

// NewFake returns a clock standing still at t.
func NewFake(t time.Time) *Fake { return &Fake{at: t} }

// NewScaled returns a clock that reads the wall time now and runs rate times
// faster than it.
func NewScaled(rate float64) *Fake {
	c := NewFake(time.Now())
	c.Run(rate)
	return c
}

// Now returns the clock's reading.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Fake) nowLocked() time.Time {
	if c.rate == 0 {
		return c.at
	}
	return c.at.Add(time.Duration(float64(time.Since(c.since)) * c.rate))
}

// Set makes the clock read t now.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.since = t, time.Now()
}

// Advance moves the clock d forward.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.since = c.nowLocked().Add(d), time.Now()
}

// Run makes the clock run rate times as fast as the wall clock from its
// current reading on; rate 0 stops it.
func (c *Fake) Run(rate float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.since, c.rate = c.nowLocked(), time.Now(), rate
}

// Sleep returns ctx.Err() when ctx is done. Otherwise a standing clock
// moves d forward, records d and runs the OnSleep function; a running one
// waits until it has moved d.
func (c *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if rate := c.rate; rate > 0 {
		c.mu.Unlock()
		return wait(ctx, time.Duration(float64(d)/rate))
	}
	c.at = c.at.Add(max(d, 0))
	c.slept = append(c.slept, d)
	hook := c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	return nil
}

// Slept returns the waits of Sleep on the standing clock, in order.
func (c *Fake) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// ForgetSlept clears the waits recorded so far.
func (c *Fake) ForgetSlept() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = nil
}

// OnSleep sets a function Sleep on the standing clock runs after moving it
// (a test's server reacting to the time passed, say); nil removes it.
func (c *Fake) OnSleep(f func(time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onSleep = f
}
