package leaky

import (
	"math"
	"time"
)

// InfDuration is the retry-after of a call that can never be admitted
// (a bucket without valid capacity never drains).
const InfDuration = time.Duration(math.MaxInt64)

const nsPerMinute = float64(time.Minute)

// maxRetryNanos bounds the retry-after search; a level this far above capacity
// (about 146 years of drain) reports InfDuration instead of overflowing time arithmetic.
const maxRetryNanos = float64(1 << 62)

// Decision is the outcome of one admission.
type Decision struct {
	// Allowed reports whether the call was admitted.
	Allowed bool
	// RetryAfter is zero for an admitted call and positive for a rejected
	// one: the exact time until the bucket drains below 100 %, or, while
	// calls rejected earlier are due back first, until the retry slot after
	// theirs (see Bucket.Horizon).
	RetryAfter time.Duration
	// Utilization is the level in percent of one minute of capacity after the
	// decision (for an admitted call, including its estimate).
	Utilization float64
	// Level is the bucket level in tokens after the decision.
	Level float64
	// Recent is the bucket's use over about the last minute after the
	// decision (Bucket.Recent), in percent of one minute of capacity.
	Recent float64
	// Reservation is the estimate an admitted call holds, which the caller
	// settles or cancels when the call ends. Limiter.Admit sets it for
	// admitted calls; it is nil for refused ones and in the decisions of a
	// Bucket, which has no caller to settle with.
	Reservation *Reservation
}

// Reported is the utilization a call is told of (the
// azure-openai-deployment-utilization header): the larger of the use over
// the last minute and the level. Below capacity the level drains back
// towards zero between calls while the minute's use tracks the offered load
// (a deployment taking half its capacity reads about 50 %); at capacity both
// read about 100 %, and the level, which admission looks at, may read more.
func (d Decision) Reported() float64 { return max(d.Recent, d.Utilization) }

// RetryAfterMillis returns RetryAfter rounded up to whole milliseconds, the
// value of the retry-after-ms header. Rounding up keeps the retry at or after
// the instant the bucket opens.
func (d Decision) RetryAfterMillis() int64 { return ceilDiv(d.RetryAfter, time.Millisecond) }

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds, the value
// of the retry-after header.
func (d Decision) RetryAfterSeconds() int64 { return ceilDiv(d.RetryAfter, time.Second) }

func ceilDiv(d, unit time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	q := int64(d / unit)
	if d%unit != 0 {
		q++
	}
	return q
}

// ValidCapacity reports whether capacityPerMinute is usable: positive and finite.
func ValidCapacity(capacityPerMinute float64) bool {
	return capacityPerMinute > 0 && !math.IsInf(capacityPerMinute, 1)
}

// Bucket is the admission state of one deployment: Level tokens as of Last.
// The zero value is an empty bucket. Bucket is a plain value with no lock and
// no clock: every method takes the current time and the capacity, in tokens
// per minute, and callers serialize access.
//
// Methods given a capacity that is not ValidCapacity do not drain: Admit
// rejects with InfDuration and Utilization reports +Inf for a non-empty
// bucket. Limiter implementations reject such capacities before they get here
// (see CheckCapacity).
//
// A time earlier than Last (a clock stepping back) is treated as Last: the
// bucket never drains backwards.
type Bucket struct {
	// Level is the bucket's content in input-equivalent tokens, never
	// negative, NaN or infinite.
	Level float64
	// Last is the time Level was brought up to date.
	Last time.Time
	// Horizon is the end of the last retry slot handed to a rejected call.
	// Calls rejected while earlier ones are still due back are told to retry
	// after them, one estimate's drain time apart, rather than all at the
	// instant the bucket opens, where only the first would get in. It shapes
	// retry-after only; admission looks at Level alone.
	Horizon time.Time
	// Window, Cur and Prev count the tokens admitted (estimates at
	// admission, corrected at settlement) in the current minute of the Unix
	// clock (Window is its index, Unix microseconds ÷ 60,000,000) and in the
	// minute before it, for Recent. Like Horizon they only report; admission
	// looks at Level alone.
	Window    int64
	Cur, Prev float64
}

const usPerMinute = 60_000_000

// roll moves the minute counters to the minute holding b.Last.
func (b *Bucket) roll() {
	w := floorDiv(b.Last.UnixMicro(), usPerMinute)
	switch {
	case w <= b.Window:
	case w == b.Window+1:
		b.Prev, b.Cur = b.Cur, 0
	default:
		b.Prev, b.Cur = 0, 0
	}
	b.Window = max(b.Window, w)
}

// count adds x tokens to the current minute. A refund larger than the
// current minute's count comes out of the minute before, where its
// estimate was counted; neither goes below zero.
func (b *Bucket) count(x float64) {
	b.Cur += x
	if b.Cur < 0 {
		b.Prev += b.Cur
		b.Cur = 0
		if !(b.Prev > 0) {
			b.Prev = 0
		}
	}
	if !(b.Cur > 0) { // NaN
		b.Cur = 0
	}
}

// Recent returns the tokens admitted over about the last minute before now,
// in percent of one minute of capacity: the current minute's count plus the
// previous minute's, weighted by the share of the last sixty seconds it
// still covers (a sliding window over two fixed ones). It does not change
// the bucket; a time before Last counts as Last.
func (b Bucket) Recent(now time.Time, capacityPerMinute float64) float64 {
	if now.After(b.Last) {
		b.Last = now
	}
	b.roll()
	return b.recentNow(capacityPerMinute)
}

// recent weighs the previous minute's count by the share of the last sixty
// seconds before us it covers; w is the index of the minute holding us.
func recent(cur, prev float64, us, w int64) float64 {
	frac := float64(us-w*usPerMinute) / usPerMinute
	return clampLevel(prev*(1-frac) + cur)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// recentNow is Recent at the bucket's own time, after roll.
func (b *Bucket) recentNow(capacityPerMinute float64) float64 {
	return utilization(recent(b.Cur, b.Prev, b.Last.UnixMicro(), b.Window), capacityPerMinute)
}

// MaxRetrySpread bounds how far behind the bucket's opening Admit schedules a
// rejected call: retry slots reach at most one minute past the exact drain
// time, so calls that never come back (given up, spilled over) cannot push
// retry-after out for long. The OpenAI Python SDK, for one, follows a
// retry-after only up to 60 seconds and falls back to its own backoff beyond.
const MaxRetrySpread = time.Minute

// LevelAt returns the level drained to now, without changing the bucket.
func (b Bucket) LevelAt(now time.Time, capacityPerMinute float64) float64 {
	if b.Level == 0 || !ValidCapacity(capacityPerMinute) {
		return b.Level
	}
	elapsed := now.Sub(b.Last)
	if elapsed <= 0 {
		return b.Level
	}
	return clampLevel(b.Level - capacityPerMinute*(float64(elapsed)/nsPerMinute))
}

// Utilization returns the level at now in percent of one minute of capacity,
// without changing the bucket.
func (b Bucket) Utilization(now time.Time, capacityPerMinute float64) float64 {
	return utilization(b.LevelAt(now, capacityPerMinute), capacityPerMinute)
}

// Idle reports whether the bucket has drained empty and its retry slots have
// passed by now. An idle bucket behaves like the zero Bucket, so it may be
// forgotten.
func (b Bucket) Idle(now time.Time, capacityPerMinute float64) bool {
	return b.LevelAt(now, capacityPerMinute) == 0 && !b.Horizon.After(now) && b.Recent(now, capacityPerMinute) == 0
}

// RetryAfter returns how long after now a call would first be admitted: zero
// when the bucket is below 100 % at now, otherwise the smallest positive whole
// nanosecond count d at which LevelAt(now+d) is strictly below capacity.
func (b Bucket) RetryAfter(now time.Time, capacityPerMinute float64) time.Duration {
	if !ValidCapacity(capacityPerMinute) {
		return InfDuration
	}
	from := now
	if b.Last.After(now) {
		from = b.Last
	}
	l := b.LevelAt(from, capacityPerMinute)
	if l < capacityPerMinute {
		return 0
	}
	d := exactRetry(l, capacityPerMinute)
	if d == InfDuration {
		return d
	}
	return d + from.Sub(now)
}

// exactRetry returns the smallest d ≥ 1ns at which a bucket holding level l
// (≥ c) drains below c, using the same arithmetic as LevelAt. Draining is
// monotone in elapsed time (each floating-point step is correctly rounded and
// so monotone), so the closed-form estimate is bracketed and then narrowed by
// bisection; the bracket is normally a nanosecond or two wide.
func exactRetry(l, c float64) time.Duration {
	ns := (l - c) / c * nsPerMinute
	if !(ns < maxRetryNanos) {
		return InfDuration
	}
	open := func(d time.Duration) bool { // below capacity after d
		return l-c*(float64(d)/nsPerMinute) < c
	}
	hi := time.Duration(math.Ceil(ns))
	if hi < 1 {
		hi = 1
	}
	for step := time.Duration(1); !open(hi); step *= 2 {
		hi += step
	}
	lo := hi - 1 // lo is closed or zero (the present, which is closed)
	for step := time.Duration(2); lo > 0 && open(lo); step *= 2 {
		hi = lo
		lo -= step
		if lo < 0 {
			lo = 0
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if open(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Admit is AdmitRule with DefaultRetryRule.
func (b *Bucket) Admit(now time.Time, capacityPerMinute, estimate float64) Decision {
	return b.AdmitRule(now, capacityPerMinute, estimate, DefaultRetryRule)
}

// AdmitRule drains the bucket to now and decides one call with the given
// estimated cost. Below 100 % it adds the estimate, which may take the bucket
// above 100 %. At 100 % or more it leaves the level as is and rejects with a
// retry-after. Under RetryExact that is exactly the time until the bucket
// drains below 100 % (RetryAfter). Under RetrySlots it is the same for a lone
// rejection; while calls rejected earlier are still due back, it is the end
// of their slots, so that each retry finds the bucket open after the one
// before it has been admitted. A negative or NaN estimate counts as zero.
func (b *Bucket) AdmitRule(now time.Time, capacityPerMinute, estimate float64, rule RetryRule) Decision {
	if !ValidCapacity(capacityPerMinute) {
		return Decision{RetryAfter: InfDuration, Utilization: utilization(b.Level, capacityPerMinute), Level: b.Level}
	}
	b.advance(now, capacityPerMinute)
	if b.Level < capacityPerMinute {
		if estimate > 0 {
			b.Level = clampLevel(b.Level + estimate)
			b.count(estimate)
		}
		return Decision{Allowed: true, Utilization: utilization(b.Level, capacityPerMinute), Level: b.Level,
			Recent: b.recentNow(capacityPerMinute)}
	}
	wait := b.RetryAfter(now, capacityPerMinute)
	if rule == RetrySlots {
		wait = b.schedule(now, capacityPerMinute, estimate)
	}
	return Decision{
		RetryAfter:  wait,
		Utilization: utilization(b.Level, capacityPerMinute),
		Level:       b.Level,
		Recent:      b.recentNow(capacityPerMinute),
	}
}

// schedule hands a rejected call its retry slot and returns the wait until it.
// The slot starts when the bucket opens or when the previous slot ends,
// whichever is later, and lasts the time the call's estimate takes to drain:
// a retry admitted at the start of its slot raises the level by its estimate,
// which has drained again by the start of the next slot.
func (b *Bucket) schedule(now time.Time, capacityPerMinute, estimate float64) time.Duration {
	wait := b.RetryAfter(now, capacityPerMinute)
	if wait == InfDuration {
		return wait
	}
	open := now.Add(wait)
	slot := open
	if b.Horizon.After(slot) {
		slot = b.Horizon
		if limit := open.Add(MaxRetrySpread); slot.After(limit) {
			slot = limit
		}
	}
	length := MaxRetrySpread
	if estimate > 0 {
		if ns := estimate / capacityPerMinute * nsPerMinute; ns < float64(MaxRetrySpread) {
			length = time.Duration(math.Ceil(ns))
		}
	} else {
		length = 0
	}
	b.Horizon = slot.Add(length)
	return slot.Sub(now)
}

// Settle drains the bucket to now and corrects it by delta = actual − estimate
// of an admitted call: a negative delta gives capacity back, a positive one
// takes more. The level never goes below zero, so an early refund cannot bank
// credit for later calls. A NaN delta is ignored. Cancelling a call is
// settling it with what it actually used (often zero: delta = −estimate).
func (b *Bucket) Settle(now time.Time, capacityPerMinute, delta float64) {
	b.advance(now, capacityPerMinute)
	if delta == delta { // not NaN
		b.Level = clampLevel(b.Level + delta)
		b.count(delta)
	}
}

// advance drains the bucket to now and moves Last forward (never back).
func (b *Bucket) advance(now time.Time, capacityPerMinute float64) {
	b.Level = b.LevelAt(now, capacityPerMinute)
	if now.After(b.Last) {
		b.Last = now
	}
	b.roll()
}

func clampLevel(l float64) float64 {
	switch {
	case !(l > 0): // negative, zero or NaN
		return 0
	case l > math.MaxFloat64:
		return math.MaxFloat64
	}
	return l
}

func utilization(level, capacityPerMinute float64) float64 {
	if level == 0 {
		return 0
	}
	if !ValidCapacity(capacityPerMinute) {
		return math.Inf(1)
	}
	return level / capacityPerMinute * 100
}
