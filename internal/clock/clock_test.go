package clock

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestFakeStandsStillUntilMoved(t *testing.T) {
	c := NewFake(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("now %v, want %v", c.Now(), t0)
	}
	c.Advance(time.Minute)
	c.Set(c.Now().Add(time.Second))
	if want := t0.Add(61 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("now %v, want %v", c.Now(), want)
	}
	var hooked []time.Duration
	c.OnSleep(func(d time.Duration) { hooked = append(hooked, d) })
	for _, d := range []time.Duration{time.Second, 2 * time.Second} {
		if err := c.Sleep(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(c.Slept(), want) || !slices.Equal(hooked, want) {
		t.Fatalf("slept %v, hook saw %v, want %v", c.Slept(), hooked, want)
	}
	if want := t0.Add(64 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("now %v after sleeping, want %v", c.Now(), want)
	}
	c.ForgetSlept()
	if len(c.Slept()) != 0 {
		t.Fatalf("slept %v after ForgetSlept", c.Slept())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err != context.Canceled || len(c.Slept()) != 0 {
		t.Fatalf("sleep on a done context: %v, slept %v", err, c.Slept())
	}
}

func TestFakeRunsScaled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewFake(t0)
		c.Run(60)
		time.Sleep(time.Second)
		if want := t0.Add(time.Minute); !c.Now().Equal(want) {
			t.Fatalf("after a real second at rate 60: %v, want %v", c.Now(), want)
		}
		start := time.Now()
		if err := c.Sleep(context.Background(), 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		if real := time.Since(start); real != 2*time.Second {
			t.Fatalf("two clock minutes took %v of real time, want 2s", real)
		}
		c.Advance(time.Hour)
		c.Run(0)
		at := c.Now()
		time.Sleep(time.Second)
		if want := t0.Add(time.Hour + 3*time.Minute); !at.Equal(want) || !c.Now().Equal(at) {
			t.Fatalf("stopped at %v, then %v; want %v both", at, c.Now(), want)
		}
		if len(c.Slept()) != 0 {
			t.Fatalf("a running clock recorded waits %v", c.Slept())
		}
	})
}

func TestRealSleepEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if err := (Real{}).Sleep(ctx, time.Hour); err != context.DeadlineExceeded || time.Since(start) != time.Second {
			t.Fatalf("sleep: %v after %v, want the deadline after 1s", err, time.Since(start))
		}
		if err := SleepUntil(context.Background(), Real{}, time.Now().Add(-time.Second)); err != nil {
			t.Fatalf("sleep until the past: %v", err)
		}
	})
}
