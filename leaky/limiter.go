package leaky

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Limiter keeps one Bucket per deployment key and applies the admission rule
// atomically per key. Implementations: inmem (one process) and redis (shared
// by replicas). Capacity is passed with every call, so a resized deployment
// keeps its level and the new capacity applies at once; an implementation may
// forget a key whose bucket has drained empty. All implementations pass the
// admissiontest suite.
type Limiter interface {
	// Admit decides one call for deployment key with the given capacity
	// (tokens per minute) and estimated cost (tokens). An admitted call's
	// Decision carries the Reservation of its estimate, which the caller
	// settles with the actual cost when the call ends (or cancels); a
	// refused call's, and the zero Decision of an error, carry nil.
	Admit(ctx context.Context, key string, capacityPerMinute, estimate float64) (Decision, error)
	// Utilization reports the key's current utilization in percent without changing it.
	Utilization(ctx context.Context, key string, capacityPerMinute float64) (float64, error)
}

// ErrInvalid is wrapped by the errors Limiter implementations return for
// arguments the bucket arithmetic cannot use.
var ErrInvalid = errors.New("leaky: invalid argument")

// CheckCapacity returns an error wrapping ErrInvalid unless capacityPerMinute
// is positive and finite.
func CheckCapacity(capacityPerMinute float64) error {
	if !ValidCapacity(capacityPerMinute) {
		return fmt.Errorf("%w: capacity %v tokens per minute must be positive and finite", ErrInvalid, capacityPerMinute)
	}
	return nil
}

// CheckAdmit validates the arguments of Limiter.Admit: a valid capacity and a
// finite, non-negative estimate.
func CheckAdmit(capacityPerMinute, estimate float64) error {
	if err := CheckCapacity(capacityPerMinute); err != nil {
		return err
	}
	if !(estimate >= 0) || math.IsInf(estimate, 1) {
		return fmt.Errorf("%w: estimate %v tokens must be finite and not negative", ErrInvalid, estimate)
	}
	return nil
}

// CheckCorrect validates the arguments of Settler.Correct: a valid capacity
// and a finite delta.
func CheckCorrect(capacityPerMinute, delta float64) error {
	if err := CheckCapacity(capacityPerMinute); err != nil {
		return err
	}
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		return fmt.Errorf("%w: settle delta %v tokens must be finite", ErrInvalid, delta)
	}
	return nil
}
