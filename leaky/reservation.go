package leaky

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
)

// Reservation is the estimate an admitted call holds in its deployment's
// bucket until the call ends and the caller either settles it with what the
// call really cost or cancels it. It is shaped after golang.org/x/time/rate's
// Reservation (https://pkg.go.dev/golang.org/x/time/rate#Reservation), which
// a caller likewise takes from the limiter and later uses or cancels.
//
// A Reservation is settled or cancelled at most once: the first Settle or
// Cancel applies its correction and every later one does nothing and
// returns nil, so a deferred Cancel after a Settle is safe. A nil
// *Reservation, the one a refused or failed admission carries, does nothing
// either. A Reservation is safe for concurrent use.
//
// The correction goes to the bucket that made the reservation: for the redis
// limiter, the shared bucket in Redis or, for a call admitted while Redis was
// unavailable, the local one, whichever holds the estimate.
type Reservation struct {
	to       Settler
	key      string
	capacity float64 // tokens per minute, as at admission
	estimate float64
	done     atomic.Bool
}

// Settler applies the corrections of the reservations a Limiter hands out.
// Limiter implementations implement it and pass themselves (or the part of
// themselves that holds the bucket) to NewReservation; callers settle
// through the Reservation.
type Settler interface {
	// Correct adds delta tokens (negative to refund) to key's bucket at the
	// given capacity in tokens per minute, as Bucket.Settle does. A refund
	// on a key without a bucket changes nothing; a charge creates the bucket.
	Correct(ctx context.Context, key string, capacityPerMinute, delta float64) error
}

// NewReservation returns the reservation of estimate tokens that to admitted
// on key at capacityPerMinute; its Settle and Cancel call to.Correct.
// Limiter implementations call it for each call they admit.
func NewReservation(to Settler, key string, capacityPerMinute, estimate float64) *Reservation {
	return &Reservation{to: to, key: key, capacity: capacityPerMinute, estimate: estimate}
}

// Settle corrects the reservation by actual − estimate: actual is the
// call's real cost in tokens, finite and not negative (otherwise Settle
// returns an error wrapping ErrInvalid and leaves the reservation open).
// The error of the correction itself (see the limiter's Correct) is
// returned; the reservation counts as settled either way.
func (r *Reservation) Settle(ctx context.Context, actual float64) error {
	if r == nil {
		return nil
	}
	if !(actual >= 0) || math.IsInf(actual, 1) {
		return fmt.Errorf("%w: actual cost %v tokens must be finite and not negative", ErrInvalid, actual)
	}
	return r.apply(ctx, actual-r.estimate)
}

// Cancel refunds the whole estimate, as for a call that used nothing: the
// bucket then holds what it would have had the call never been admitted,
// less what the estimate drained meanwhile.
func (r *Reservation) Cancel(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.apply(ctx, -r.estimate)
}

// Estimate returns the tokens reserved at admission (0 for nil).
func (r *Reservation) Estimate() float64 {
	if r == nil {
		return 0
	}
	return r.estimate
}

func (r *Reservation) apply(ctx context.Context, delta float64) error {
	if !r.done.CompareAndSwap(false, true) {
		return nil
	}
	return r.to.Correct(ctx, r.key, r.capacity, delta)
}
