package inmem

import (
	"context"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/ptu-dev/ptu/admissiontest"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/leaky"
)

// newFakeClock is a clock that moves only when told.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) }

func TestContract(t *testing.T) {
	admissiontest.Run(t, func(t *testing.T, rule leaky.RetryRule) admissiontest.Harness {
		clock := newFakeClock()
		return admissiontest.Harness{Limiter: New(clock.Now, WithRetryRule(rule)), Advance: clock.Advance}
	})
}

// TestContractRealClock runs the suite the way the redis limiter runs it, on
// the wall clock, to keep the suite's real-clock allowances honest.
func TestContractRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	admissiontest.Run(t, func(t *testing.T, rule leaky.RetryRule) admissiontest.Harness {
		return admissiontest.Harness{Limiter: New(nil, WithRetryRule(rule)), Advance: time.Sleep, Slack: 200 * time.Millisecond}
	})
}

func TestEvictsIdleBuckets(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	l := New(clock.Now)
	const capacity = 60_000.0
	calls := make([]leaky.Decision, 1000)
	for i := range calls {
		d, err := l.Admit(ctx, "dep-"+strconv.Itoa(i), capacity, 6000)
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = d
	}
	// One deployment stays busy.
	busy := func() {
		if _, err := l.Admit(ctx, "busy", capacity, 5000); err != nil {
			t.Fatal(err)
		}
	}
	busy()
	if n := l.Len(); n != 1001 {
		t.Fatalf("Len = %d, want 1001", n)
	}
	// Drained (6 s) but not idle long enough: kept.
	clock.Advance(time.Minute)
	busy()
	if n := l.Sweep(); n != 0 {
		t.Fatalf("swept %d buckets touched a minute ago", n)
	}
	// Past IdleAfter: calls sweep their shard as they go.
	clock.Advance(IdleAfter)
	busy()
	// The calls end after their buckets went: refunds bring none back.
	for _, d := range calls[1:] {
		if err := d.Reservation.Settle(ctx, 5999); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("Len after idle = %d, want only the busy bucket", n)
	}
	// A call that used more than its estimate charges the extra to a new bucket.
	if err := calls[0].Reservation.Settle(ctx, 6600); err != nil {
		t.Fatal(err)
	}
	if u, _ := l.Utilization(ctx, "dep-0", capacity); u != 1 {
		t.Fatalf("utilization of the extra charged after eviction = %v%%, want 1%%", u)
	}
	if n := l.Len(); n != 2 {
		t.Fatalf("Len after the extra charge = %d, want 2", n)
	}
	// An evicted key starts empty, as if it had been kept.
	d, err := l.Admit(ctx, "dep-2", capacity, 6000)
	if err != nil || !d.Allowed || d.Level != 6000 {
		t.Fatalf("Admit on evicted key = %+v, %v", d, err)
	}
}

func TestKeepsBucketsWithPendingRetrySlots(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	l := New(clock.Now, WithRetryRule(leaky.RetrySlots))
	const capacity = 60.0 // one token per second
	if _, err := l.Admit(ctx, "small", capacity, 3600); err != nil {
		t.Fatal(err)
	}
	// Rejected calls get slots up to a minute after the bucket opens (in 59 min).
	for range 3 {
		if d, _ := l.Admit(ctx, "small", capacity, 60); d.Allowed {
			t.Fatal("admitted")
		}
	}
	clock.Advance(60 * time.Minute)
	if l.Sweep() != 0 {
		t.Fatal("evicted a bucket still holding retry slots")
	}
	clock.Advance(5 * time.Minute)
	if l.Sweep() != 1 {
		t.Fatal("did not evict the bucket once its slots passed")
	}
}

func TestShardPadding(t *testing.T) {
	if s := unsafe.Sizeof(shard{}); s%64 != 0 {
		t.Fatalf("shard is %d bytes, want a multiple of 64", s)
	}
}
