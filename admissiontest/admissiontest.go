// Package admissiontest is the contract suite every leaky.Limiter passes.
//
// The suite works with a fake clock (inmem) and with a real one (redis, whose
// scripts read the server's time). Each case states how much virtual time it
// needs through Harness.Advance; with a real clock Advance sleeps, and
// Harness.Slack bounds the time that passes unobserved between two calls, so
// the assertions allow for the drain it causes. Capacities are chosen so a
// real-clock run takes well under a second per case.
package admissiontest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/leaky"
)

// Harness is one limiter under test and the means to move its clock.
type Harness struct {
	// Limiter is the implementation under test.
	Limiter leaky.Limiter
	// Advance moves the limiter's clock forward by at least d: a fake clock
	// steps, a real one sleeps.
	Advance func(d time.Duration)
	// Slack is the most time that may pass on the limiter's clock between
	// two consecutive calls of a case without Advance: zero for a fake
	// clock; for a real clock, a generous bound on a round trip (say 200ms).
	Slack time.Duration
	// Prefix is prepended to every key the suite uses, so runs sharing a
	// server do not collide.
	Prefix string
}

// capacity is the test deployment's capacity: 60,000 tokens per minute,
// 1 token per millisecond, so token counts read as milliseconds of drain.
const capacity = 60_000.0

// drained is the number of tokens the test capacity drains in d.
func drained(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond) * capacity / 60_000
}

// Run runs the contract cases, each as a subtest with a fresh harness whose
// limiter applies the retry-after rule newHarness is given: the cases about
// retry-after run under the rule they are about (both, for the rule-free
// ones), the others under leaky.DefaultRetryRule.
func Run(t *testing.T, newHarness func(t *testing.T, rule leaky.RetryRule) Harness) {
	def := leaky.DefaultRetryRule
	cases := []struct {
		name string
		rule leaky.RetryRule
		fn   func(t *testing.T, h Harness, key func(string) string)
	}{
		{"EmptyKeyAdmits", def, testEmptyKeyAdmits},
		{"FullRejectsWithRetryAfter", def, testFullRejects},
		{"Exact/AdmittedAfterRetryAfter", leaky.RetryExact, testAdmittedAfterRetryAfter},
		{"Slots/AdmittedAfterRetryAfter", leaky.RetrySlots, testAdmittedAfterRetryAfter},
		{"Exact/RejectionsToldTheDrainTime", leaky.RetryExact, testRetryExact},
		{"Slots/RejectionsGetSuccessiveSlots", leaky.RetrySlots, testRetrySlots},
		{"SettleRefundReopens", def, testSettleRefundReopens},
		{"SettleExtraCharges", def, testSettleExtraCharges},
		{"RefundNeverBanksCredit", def, testRefundNeverBanksCredit},
		{"CancelRefundsEstimate", def, testCancel},
		{"ReservationSettlesOnce", def, testSettlesOnce},
		{"RefusedReservationDoesNothing", def, testRefusedReservation},
		{"ConcurrentSettlesApplyOnce", def, testConcurrentSettles},
		{"UtilizationMatches", def, testUtilizationMatches},
		{"RecentCountsAdmittedTokens", def, testRecent},
		{"CapacityChangeKeepsLevel", def, testCapacityChange},
		{"KeysAreIndependent", def, testKeysIndependent},
		{"InvalidArguments", def, testInvalidArguments},
		{"ConcurrentAdmitsBounded", def, testConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.rule)
			base := h.Prefix + strings.ReplaceAll(t.Name(), "/", ":")
			c.fn(t, h, func(s string) string { return base + ":" + s })
		})
	}
}

// tol is the drain that Slack allows between two observations, plus a
// rounding margin.
func tol(h Harness, calls int) float64 { return drained(h.Slack)*float64(calls) + 1e-6 }

func admit(t *testing.T, h Harness, key string, c, estimate float64) leaky.Decision {
	t.Helper()
	d, err := h.Limiter.Admit(context.Background(), key, c, estimate)
	if err != nil {
		t.Fatalf("Admit(%q, %v, %v): %v", key, c, estimate, err)
	}
	if d.Allowed && d.RetryAfter != 0 {
		t.Fatalf("Admit(%q) allowed with retry-after %v", key, d.RetryAfter)
	}
	if !d.Allowed && d.RetryAfter <= 0 {
		t.Fatalf("Admit(%q) rejected with retry-after %v", key, d.RetryAfter)
	}
	if d.Allowed != (d.Reservation != nil) {
		t.Fatalf("Admit(%q): allowed %v with reservation %v", key, d.Allowed, d.Reservation)
	}
	if d.Allowed && d.Reservation.Estimate() != estimate {
		t.Fatalf("Admit(%q): reserved %v, want the estimate %v", key, d.Reservation.Estimate(), estimate)
	}
	if math.IsNaN(d.Utilization) || d.Level < 0 || math.Abs(d.Utilization-d.Level/c*100) > 1e-9*math.Max(1, d.Utilization) {
		t.Fatalf("Admit(%q): utilization %v%% does not match level %v of capacity %v", key, d.Utilization, d.Level, c)
	}
	return d
}

// settle settles the reservation of an admitted call with its actual cost.
func settle(t *testing.T, d leaky.Decision, actual float64) {
	t.Helper()
	if err := d.Reservation.Settle(context.Background(), actual); err != nil {
		t.Fatalf("Settle(%v) of a reservation of %v: %v", actual, d.Reservation.Estimate(), err)
	}
}

func cancel(t *testing.T, d leaky.Decision) {
	t.Helper()
	if err := d.Reservation.Cancel(context.Background()); err != nil {
		t.Fatalf("Cancel of a reservation of %v: %v", d.Reservation.Estimate(), err)
	}
}

func utilization(t *testing.T, h Harness, key string, c float64) float64 {
	t.Helper()
	u, err := h.Limiter.Utilization(context.Background(), key, c)
	if err != nil {
		t.Fatalf("Utilization(%q, %v): %v", key, c, err)
	}
	return u
}

// near fails unless got is in [want − slack, want] (time only drains) within rounding.
func near(t *testing.T, what string, got, want, slack float64) {
	t.Helper()
	const eps = 1e-9
	if got > want+eps*math.Max(1, math.Abs(want)) || got < want-slack-eps*math.Max(1, math.Abs(want)) {
		t.Fatalf("%s = %v, want %v (down to %v)", what, got, want, want-slack)
	}
}

// fill admits one call of capacity + over tokens on an empty key, leaving it
// above 100 % for over milliseconds' worth of drain, and returns its decision.
func fill(t *testing.T, h Harness, key string, over float64) leaky.Decision {
	t.Helper()
	d := admit(t, h, key, capacity, capacity+over)
	if !d.Allowed {
		t.Fatalf("first call on %q rejected: %+v", key, d)
	}
	return d
}

func testEmptyKeyAdmits(t *testing.T, h Harness, key func(string) string) {
	if u := utilization(t, h, key("a"), capacity); u != 0 {
		t.Fatalf("unknown key utilization = %v, want 0", u)
	}
	d := admit(t, h, key("a"), capacity, 1500)
	if !d.Allowed {
		t.Fatalf("empty key rejected: %+v", d)
	}
	near(t, "level", d.Level, 1500, tol(h, 0))
	near(t, "utilization", d.Utilization, 2.5, 0)
	if d.RetryAfterMillis() != 0 {
		t.Fatalf("admitted call has retry-after-ms %d", d.RetryAfterMillis())
	}
}

func testFullRejects(t *testing.T, h Harness, key func(string) string) {
	over := drained(300*time.Millisecond + 2*h.Slack)
	fill(t, h, key("a"), over)
	d := admit(t, h, key("a"), capacity, 10)
	if d.Allowed {
		t.Fatalf("call at %.2f%% admitted", d.Utilization)
	}
	if d.Utilization < 100 {
		t.Fatalf("rejected at %v%%, below 100", d.Utilization)
	}
	// The wait is the exact time for the excess to drain.
	want := time.Duration((d.Level - capacity) / capacity * float64(time.Minute))
	if diff := d.RetryAfter - want; diff < 0 || diff > time.Microsecond {
		t.Fatalf("retry-after %v at level %v, want %v", d.RetryAfter, d.Level, want)
	}
	maxWait := time.Duration(over/capacity*float64(time.Minute)) + time.Microsecond
	if d.RetryAfter > maxWait {
		t.Fatalf("retry-after %v, more than the %v the excess takes to drain", d.RetryAfter, maxWait)
	}
	if d.RetryAfterMillis() <= 0 || d.RetryAfterSeconds() <= 0 {
		t.Fatalf("retry headers %d ms, %d s", d.RetryAfterMillis(), d.RetryAfterSeconds())
	}
}

func testAdmittedAfterRetryAfter(t *testing.T, h Harness, key func(string) string) {
	fill(t, h, key("a"), drained(50*time.Millisecond+2*h.Slack))
	d := admit(t, h, key("a"), capacity, 10)
	if d.Allowed {
		t.Fatal("full bucket admitted")
	}
	if h.Slack == 0 {
		// With a fake clock the wait is exact to the nanosecond.
		h.Advance(d.RetryAfter - time.Nanosecond)
		if d2 := admit(t, h, key("a"), capacity, 10); d2.Allowed {
			t.Fatalf("admitted a nanosecond before retry-after: %+v", d2)
		}
		h.Advance(time.Nanosecond)
	} else {
		h.Advance(time.Duration(d.RetryAfterMillis()) * time.Millisecond)
	}
	// The retry comes from the same call, as a client retrying would send it;
	// it was told the opening (the first slot, under slots), so it gets in.
	if d2 := admit(t, h, key("a"), capacity, 10); !d2.Allowed {
		t.Fatalf("retry after %v rejected: %+v", d.RetryAfter, d2)
	}
}

// testRetrySlots: calls rejected while the bucket is full are told to come
// back one after another, each slot as long as the drain of the call's own
// estimate and none more than leaky.MaxRetrySpread past the opening; retries
// that come back at their slots all get in.
func testRetrySlots(t *testing.T, h Harness, key func(string) string) {
	fill(t, h, key("a"), drained(10*time.Millisecond+2*h.Slack))
	// Slots longer than the time that may pass between two calls, so that
	// back-to-back rejections are told apart from successive slots.
	slot := 100*time.Millisecond + 2*h.Slack
	est := drained(slot)
	var waits [2]time.Duration
	for i := range waits {
		d := admit(t, h, key("a"), capacity, est)
		if d.Allowed {
			t.Fatalf("call %d admitted to a full bucket: %+v", i, d)
		}
		waits[i] = d.RetryAfter
	}
	// Slots are fixed instants; the second call came up to Slack after the first.
	if want := waits[0] + slot; waits[1] > want || waits[1] < want-h.Slack {
		t.Fatalf("second rejection: retry-after %v, want %v (a slot of %v after the first's %v)", waits[1], want, slot, waits[0])
	}
	// Each retry comes back at or after its slot, as a client honouring
	// retry-after-ms would, and finds the bucket open.
	h.Advance(time.Duration(leaky.Decision{RetryAfter: waits[0]}.RetryAfterMillis()) * time.Millisecond)
	for i := range waits {
		if i > 0 {
			h.Advance(slot + time.Millisecond)
		}
		if d := admit(t, h, key("a"), capacity, est); !d.Allowed {
			t.Fatalf("retry %d at its slot rejected: %+v", i, d)
		}
	}

	// Long estimates: slots of 40 s, but none starts more than
	// MaxRetrySpread after the opening.
	fill(t, h, key("b"), drained(50*time.Millisecond+2*h.Slack))
	first := admit(t, h, key("b"), capacity, 40_000)
	second := admit(t, h, key("b"), capacity, 40_000)
	third := admit(t, h, key("b"), capacity, 40_000)
	if first.Allowed || second.Allowed || third.Allowed {
		t.Fatal("full bucket admitted")
	}
	if want := first.RetryAfter + 40*time.Second; second.RetryAfter > want || second.RetryAfter < want-h.Slack {
		t.Fatalf("second retry-after %v, want %v", second.RetryAfter, want)
	}
	if want := first.RetryAfter + leaky.MaxRetrySpread; third.RetryAfter > want || third.RetryAfter < want-2*h.Slack {
		t.Fatalf("third retry-after %v, want the spread's limit %v", third.RetryAfter, want)
	}
}

// testRetryExact: under leaky.RetryExact every call rejected while the
// bucket is full is told the exact time it opens, however many were
// rejected before and whether or not they come back: a large rejected call
// that never returns does not push the next caller's retry-after out (under
// slots it would, by its estimate's drain time). The first retry at that
// instant gets in.
func testRetryExact(t *testing.T, h Harness, key func(string) string) {
	fill(t, h, key("a"), drained(300*time.Millisecond+2*h.Slack))
	big := admit(t, h, key("a"), capacity, 40_000) // 40 s of drain, never retried
	if big.Allowed {
		t.Fatal("full bucket admitted")
	}
	next := admit(t, h, key("a"), capacity, 10)
	if next.Allowed {
		t.Fatal("full bucket admitted")
	}
	// The second was asked up to Slack later: told the same instant, so up
	// to Slack less, never more.
	if next.RetryAfter > big.RetryAfter || next.RetryAfter < big.RetryAfter-h.Slack {
		t.Fatalf("second rejection told %v after a first told %v: want the same opening", next.RetryAfter, big.RetryAfter)
	}
	want := time.Duration((next.Level - capacity) / capacity * float64(time.Minute))
	if diff := next.RetryAfter - want; diff < 0 || diff > time.Microsecond {
		t.Fatalf("retry-after %v at level %v, want the exact drain time %v", next.RetryAfter, next.Level, want)
	}
	h.Advance(time.Duration(next.RetryAfterMillis()) * time.Millisecond)
	if d := admit(t, h, key("a"), capacity, 10); !d.Allowed {
		t.Fatalf("retry at the told instant rejected: %+v", d)
	}
}

func testSettleRefundReopens(t *testing.T, h Harness, key func(string) string) {
	big := fill(t, h, key("a"), drained(time.Second+2*h.Slack))
	if d := admit(t, h, key("a"), capacity, 10); d.Allowed {
		t.Fatal("full bucket admitted")
	}
	// The big call used half its estimate.
	settle(t, big, (capacity+drained(time.Second+2*h.Slack))/2)
	near(t, "utilization after refund", utilization(t, h, key("a"), capacity), 50+drained(time.Second+2*h.Slack)/capacity*50, drained(h.Slack*4)/capacity*100)
	if d := admit(t, h, key("a"), capacity, 10); !d.Allowed {
		t.Fatalf("refund did not reopen: %+v", d)
	}
}

func testSettleExtraCharges(t *testing.T, h Harness, key func(string) string) {
	settle(t, admit(t, h, key("a"), capacity, 6000), 9000) // the call cost 9,000
	near(t, "utilization", utilization(t, h, key("a"), capacity), 15, drained(2*h.Slack)/capacity*100)
	// A call admitted with no estimate still pays what it used.
	settle(t, admit(t, h, key("b"), capacity, 0), 3000)
	near(t, "utilization of a call estimated at zero", utilization(t, h, key("b"), capacity), 5, drained(h.Slack)/capacity*100)
	// A settle that takes the bucket over 100 % closes it.
	settle(t, admit(t, h, key("a"), capacity, 0), capacity)
	if d := admit(t, h, key("a"), capacity, 1); d.Allowed {
		t.Fatalf("bucket at %v%% admitted", d.Utilization)
	}
}

func testRefundNeverBanksCredit(t *testing.T, h Harness, key func(string) string) {
	d := admit(t, h, key("a"), capacity, 1000)
	// Half the estimate drains while the call runs; refunding all of it
	// empties the bucket and no more.
	h.Advance(500 * time.Millisecond)
	cancel(t, d)
	if u := utilization(t, h, key("a"), capacity); u != 0 {
		t.Fatalf("utilization after over-refund = %v, want 0", u)
	}
	// The bucket fills from zero as if it had never been refunded.
	d = admit(t, h, key("a"), capacity, capacity)
	near(t, "level", d.Level, capacity, 0)
	if d2 := admit(t, h, key("a"), capacity, 1); d2.Allowed && h.Slack == 0 {
		t.Fatalf("over-refund banked credit: %+v", d2)
	}
}

func testUtilizationMatches(t *testing.T, h Harness, key func(string) string) {
	d := admit(t, h, key("a"), capacity, 30_000)
	near(t, "decision utilization", d.Utilization, 50, 0)
	u1 := utilization(t, h, key("a"), capacity)
	u2 := utilization(t, h, key("a"), capacity)
	near(t, "utilization", u1, 50, drained(h.Slack)/capacity*100)
	if u2 > u1 {
		t.Fatalf("Utilization changed the bucket: %v then %v", u1, u2)
	}
	wait := 100*time.Millisecond + h.Slack
	h.Advance(wait)
	near(t, "utilization after drain", utilization(t, h, key("a"), capacity), (30_000-drained(wait))/capacity*100, drained(3*h.Slack)/capacity*100)
	// Drained empty: zero, never negative, and the next call starts from zero.
	admit(t, h, key("b"), capacity, 300) // 300 ms of drain
	h.Advance(300*time.Millisecond + h.Slack)
	if u := utilization(t, h, key("b"), capacity); u != 0 {
		t.Fatalf("drained bucket utilization = %v, want 0", u)
	}
	d = admit(t, h, key("b"), capacity, 600)
	near(t, "level after drain", d.Level, 600, 0)
}

func testCapacityChange(t *testing.T, h Harness, key func(string) string) {
	admit(t, h, key("a"), capacity, 45_000)
	slack := drained(2*h.Slack) / capacity * 100
	near(t, "utilization", utilization(t, h, key("a"), capacity), 75, slack)
	// Halving the deployment keeps the level: it is now 150 % and rejects.
	near(t, "utilization at half capacity", utilization(t, h, key("a"), capacity/2), 150, 2*slack)
	d := admit(t, h, key("a"), capacity/2, 1)
	if d.Allowed {
		t.Fatalf("resized bucket at %v%% admitted", d.Utilization)
	}
	if d.RetryAfter < 29*time.Second || d.RetryAfter > 30*time.Second+time.Microsecond {
		t.Fatalf("retry-after %v at half capacity, want about 30s", d.RetryAfter)
	}
	// Doubling it again makes room at once.
	if d := admit(t, h, key("a"), capacity, 1); !d.Allowed {
		t.Fatalf("restored capacity rejected: %+v", d)
	}
}

func testKeysIndependent(t *testing.T, h Harness, key func(string) string) {
	fill(t, h, key("a"), drained(time.Second+2*h.Slack))
	if d := admit(t, h, key("a"), capacity, 1); d.Allowed {
		t.Fatal("full key admitted")
	}
	if d := admit(t, h, key("b"), capacity, 1); !d.Allowed {
		t.Fatalf("other key rejected: %+v", d)
	}
	if u := utilization(t, h, key("c"), capacity); u != 0 {
		t.Fatalf("untouched key utilization %v", u)
	}
}

func testInvalidArguments(t *testing.T, h Harness, key func(string) string) {
	ctx := context.Background()
	for _, c := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := h.Limiter.Admit(ctx, key("a"), c, 1); !errors.Is(err, leaky.ErrInvalid) {
			t.Errorf("Admit with capacity %v: err = %v, want ErrInvalid", c, err)
		}
		if _, err := h.Limiter.Utilization(ctx, key("a"), c); !errors.Is(err, leaky.ErrInvalid) {
			t.Errorf("Utilization with capacity %v: err = %v, want ErrInvalid", c, err)
		}
	}
	for _, e := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := h.Limiter.Admit(ctx, key("a"), capacity, e); !errors.Is(err, leaky.ErrInvalid) {
			t.Errorf("Admit with estimate %v: err = %v, want ErrInvalid", e, err)
		}
	}
	if u := utilization(t, h, key("a"), capacity); u != 0 {
		t.Fatalf("rejected arguments changed the bucket: %v%%", u)
	}
	// An invalid actual cost is refused and leaves the reservation open.
	d := admit(t, h, key("b"), capacity, 6000)
	for _, actual := range []float64{-1, math.NaN(), math.Inf(1)} {
		if err := d.Reservation.Settle(ctx, actual); !errors.Is(err, leaky.ErrInvalid) {
			t.Errorf("Settle with actual %v: err = %v, want ErrInvalid", actual, err)
		}
	}
	near(t, "utilization after refused settles", utilization(t, h, key("b"), capacity), 10, drained(2*h.Slack)/capacity*100)
	settle(t, d, 3000)
	near(t, "utilization after the settle", utilization(t, h, key("b"), capacity), 5, drained(3*h.Slack)/capacity*100)
}

// testConcurrent has goroutines race to admit a fixed number of calls on one
// key. Admission must be atomic: no admitted call may see the level above
// capacity + one estimate, and (with the clock stopped) the admitted total is
// between capacity and capacity + one estimate.
func testConcurrent(t *testing.T, h Harness, key func(string) string) {
	const goroutines, perGoroutine = 16, 50
	const maxEstimate = 2000.0
	var mu sync.Mutex
	var admitted float64
	var errs []error
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perGoroutine {
				est := 500 + float64((g*perGoroutine+i)%4)*500 // 500..2000
				d, err := h.Limiter.Admit(context.Background(), key("a"), capacity, est)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case d.Allowed && d.Level > capacity+maxEstimate:
					errs = append(errs, fmt.Errorf("admitted to level %v, above capacity + one estimate", d.Level))
				case !d.Allowed && d.RetryAfter <= 0:
					errs = append(errs, fmt.Errorf("rejected with retry-after %v", d.RetryAfter))
				case d.Allowed:
					admitted += est
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	// 800 calls averaging 1,250 tokens offer far more than one minute of
	// capacity; only the drain during the run lets in more than capacity.
	if h.Slack == 0 {
		if admitted < capacity || admitted > capacity+maxEstimate {
			t.Fatalf("admitted %v tokens, want within [%v, %v]", admitted, capacity, capacity+maxEstimate)
		}
	} else if admitted < capacity {
		t.Fatalf("admitted %v tokens, want at least %v", admitted, capacity)
	}
	u := utilization(t, h, key("a"), capacity)
	if u < 100-drained(h.Slack)/capacity*100 || u > (capacity+maxEstimate)/capacity*100 {
		t.Fatalf("utilization after the race = %v%%", u)
	}
}

// testRecent checks the use over the last minute each decision carries:
// admitted estimates count, settlements correct them, rejected calls do not
// count, and the level draining does not lower it.
func testRecent(t *testing.T, h Harness, key func(string) string) {
	d := admit(t, h, key("a"), capacity, 1500)
	near(t, "recent after the first admission", d.Recent, 2.5, 0)
	if d.Reported() != d.Recent {
		t.Fatalf("reported %v, want the larger of recent %v and level %v", d.Reported(), d.Recent, d.Utilization)
	}
	settle(t, d, 500)
	h.Advance(200 * time.Millisecond) // the level drains; the minute's use stays
	d = admit(t, h, key("a"), capacity, 0)
	// 500 tokens used; at a minute boundary the previous minute's count is
	// weighted down by the share of the minute gone, at most Slack's worth.
	near(t, "recent after a refund", d.Recent, 500.0/capacity*100, 500.0/capacity*100*float64(200*time.Millisecond+2*h.Slack)/float64(time.Minute))
	if d.Level >= 500 {
		t.Fatalf("level %v did not drain", d.Level)
	}

	over := drained(300*time.Millisecond + 2*h.Slack)
	fill(t, h, key("b"), over)
	d = admit(t, h, key("b"), capacity, 5000)
	if d.Allowed {
		t.Fatalf("full bucket admitted %+v", d)
	}
	want := (capacity + over) / capacity * 100
	near(t, "recent of a rejection", d.Recent, want, want*float64(2*h.Slack)/float64(time.Minute)+1e-6)
	if d.Reported() < 100 {
		t.Fatalf("full bucket reported %v%%", d.Reported())
	}
}

// testCancel: cancelling a reservation refunds the whole estimate, as for a
// call that used nothing.
func testCancel(t *testing.T, h Harness, key func(string) string) {
	admit(t, h, key("a"), capacity, 3000)
	d := admit(t, h, key("a"), capacity, 6000)
	near(t, "utilization", utilization(t, h, key("a"), capacity), 15, drained(2*h.Slack)/capacity*100)
	cancel(t, d)
	near(t, "utilization after cancel", utilization(t, h, key("a"), capacity), 5, drained(3*h.Slack)/capacity*100)
	// A cancelled call that held the bucket full reopens it.
	big := fill(t, h, key("b"), drained(time.Second+2*h.Slack))
	if d := admit(t, h, key("b"), capacity, 10); d.Allowed {
		t.Fatal("full bucket admitted")
	}
	cancel(t, big)
	if d := admit(t, h, key("b"), capacity, 10); !d.Allowed {
		t.Fatalf("cancel did not reopen: %+v", d)
	}
}

// testSettlesOnce: a reservation is corrected once, by its first Settle or
// Cancel; settling or cancelling it again changes nothing.
func testSettlesOnce(t *testing.T, h Harness, key func(string) string) {
	d := admit(t, h, key("a"), capacity, 6000)
	settle(t, d, 3000)
	settle(t, d, 3000)
	settle(t, d, capacity)
	cancel(t, d)
	slack := drained(3*h.Slack) / capacity * 100
	near(t, "utilization after settling twice and cancelling", utilization(t, h, key("a"), capacity), 5, slack)

	d = admit(t, h, key("b"), capacity, 6000)
	admit(t, h, key("b"), capacity, 3000)
	cancel(t, d)
	cancel(t, d)
	settle(t, d, capacity)
	near(t, "utilization after cancelling twice and settling", utilization(t, h, key("b"), capacity), 5, slack)
}

// testRefusedReservation: a refused call holds no reservation; settling or
// cancelling it does nothing.
func testRefusedReservation(t *testing.T, h Harness, key func(string) string) {
	over := drained(time.Second + 2*h.Slack)
	fill(t, h, key("a"), over)
	d := admit(t, h, key("a"), capacity, 5000)
	if d.Allowed {
		t.Fatalf("full bucket admitted %+v", d)
	}
	cancel(t, d)
	settle(t, d, 0)
	settle(t, d, capacity)
	near(t, "utilization", utilization(t, h, key("a"), capacity), (capacity+over)/capacity*100, drained(3*h.Slack)/capacity*100)
}

// testConcurrentSettles has goroutines admit calls on one key and settle
// (or cancel) each from several goroutines at once: each reservation is
// corrected once, so the bucket ends holding what the calls used, less what
// drained meanwhile.
func testConcurrentSettles(t *testing.T, h Harness, key func(string) string) {
	const goroutines, perGoroutine, est, used = 8, 10, 500.0, 250.0
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine*3)
	for range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				d, err := h.Limiter.Admit(context.Background(), key("a"), capacity, est)
				if err != nil || !d.Allowed {
					errs <- fmt.Errorf("admit below capacity: %+v, %v", d, err)
					continue
				}
				var inner sync.WaitGroup
				for range 3 {
					inner.Go(func() {
						if i%2 == 0 {
							errs <- d.Reservation.Cancel(context.Background())
						} else {
							errs <- d.Reservation.Settle(context.Background(), used)
						}
					})
				}
				inner.Wait()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Half the calls used nothing (cancelled), half their settled cost.
	u := utilization(t, h, key("a"), capacity)
	hi := goroutines * perGoroutine / 2 * used
	lo := hi // a stopped clock: nothing drained
	if h.Slack > 0 {
		lo -= drained(time.Since(start) + h.Slack)
	}
	if got := u / 100 * capacity; got > hi+1e-6 || got < lo-1e-6 {
		t.Fatalf("level %v after the settles, want within [%v, %v]", got, lo, hi)
	}
}
