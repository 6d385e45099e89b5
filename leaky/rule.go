package leaky

import (
	"fmt"
	"strconv"
)

// RetryRule says what retry-after a rejected call is told.
type RetryRule int

const (
	// RetryExact tells every rejected call the exact time until the bucket
	// drains below 100 %: the time Azure documents for retry-after-ms. All
	// calls rejected in one full period are told the same instant.
	RetryExact RetryRule = iota
	// RetrySlots hands rejected calls consecutive retry slots: the first
	// starts when the bucket opens, each lasts the drain time of the call's
	// own estimate, the next starts where it ends, at most MaxRetrySpread
	// past the opening. A herd of retrying clients then comes back one after
	// another instead of all at the opening.
	RetrySlots
)

// DefaultRetryRule is the rule a limiter applies unless configured
// otherwise (see docs/data-plane.md for the measurements behind it).
const DefaultRetryRule = RetryExact

// String returns "exact" or "slots", the setting's spelling.
func (r RetryRule) String() string {
	switch r {
	case RetryExact:
		return "exact"
	case RetrySlots:
		return "slots"
	}
	return "RetryRule(" + strconv.Itoa(int(r)) + ")"
}

// ParseRetryRule parses "exact" or "slots" ("" is DefaultRetryRule).
func ParseRetryRule(s string) (RetryRule, error) {
	switch s {
	case "":
		return DefaultRetryRule, nil
	case "exact":
		return RetryExact, nil
	case "slots":
		return RetrySlots, nil
	}
	return 0, fmt.Errorf("unknown retry-after rule %q: want exact or slots", s)
}

// UnmarshalText lets a configuration file or flag spell the rule.
func (r *RetryRule) UnmarshalText(b []byte) error {
	v, err := ParseRetryRule(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalText spells the rule as ParseRetryRule reads it.
func (r RetryRule) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
