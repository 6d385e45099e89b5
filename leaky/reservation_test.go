package leaky

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
)

// recorder is a Settler that records the corrections it is asked for.
type recorder struct {
	mu  sync.Mutex
	got []correction
	err error
}

type correction struct {
	key             string
	capacity, delta float64
}

var _ Settler = (*recorder)(nil)

func (r *recorder) Correct(_ context.Context, key string, capacityPerMinute, delta float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, correction{key, capacityPerMinute, delta})
	return r.err
}

func TestReservationSettlesOnce(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	r := NewReservation(&rec, "dep", 600, 100)
	if r.Estimate() != 100 {
		t.Fatalf("Estimate() = %v", r.Estimate())
	}
	if err := r.Settle(ctx, 130); err != nil {
		t.Fatal(err)
	}
	if err := r.Settle(ctx, 10); err != nil {
		t.Fatalf("second Settle: %v", err)
	}
	if err := r.Cancel(ctx); err != nil {
		t.Fatalf("Cancel after Settle: %v", err)
	}
	if want := []correction{{"dep", 600, 30}}; !slices.Equal(rec.got, want) {
		t.Fatalf("corrections %v, want %v", rec.got, want)
	}
}

func TestReservationCancelRefundsEstimate(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	r := NewReservation(&rec, "dep", 600, 100)
	for range 2 {
		if err := r.Cancel(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Settle(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if want := []correction{{"dep", 600, -100}}; !slices.Equal(rec.got, want) {
		t.Fatalf("corrections %v, want %v", rec.got, want)
	}
}

func TestNilReservationDoesNothing(t *testing.T) {
	var r *Reservation
	if err := r.Settle(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Estimate() != 0 {
		t.Fatalf("nil Estimate() = %v", r.Estimate())
	}
}

func TestReservationInvalidActualLeavesItOpen(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	r := NewReservation(&rec, "dep", 600, 100)
	for _, actual := range []float64{-1, math.NaN(), math.Inf(1)} {
		if err := r.Settle(ctx, actual); !errors.Is(err, ErrInvalid) {
			t.Errorf("Settle(%v) = %v, want ErrInvalid", actual, err)
		}
	}
	if err := r.Settle(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if want := []correction{{"dep", 600, -100}}; !slices.Equal(rec.got, want) {
		t.Fatalf("corrections %v, want %v", rec.got, want)
	}
}

func TestReservationErrorStillSettles(t *testing.T) {
	ctx := context.Background()
	rec := recorder{err: errors.New("unavailable")}
	r := NewReservation(&rec, "dep", 600, 100)
	if err := r.Settle(ctx, 20); !errors.Is(err, rec.err) {
		t.Fatalf("Settle = %v, want the correction's error", err)
	}
	if err := r.Cancel(ctx); err != nil {
		t.Fatalf("Cancel after a failed Settle = %v, want nil", err)
	}
	if len(rec.got) != 1 {
		t.Fatalf("corrections %v, want one", rec.got)
	}
}

func TestReservationConcurrentSettlesApplyOnce(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	r := NewReservation(&rec, "dep", 600, 100)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if i%2 == 0 {
				_ = r.Cancel(ctx)
			} else {
				_ = r.Settle(ctx, float64(i))
			}
		})
	}
	wg.Wait()
	if len(rec.got) != 1 {
		t.Fatalf("%d corrections, want one: %v", len(rec.got), rec.got)
	}
}
