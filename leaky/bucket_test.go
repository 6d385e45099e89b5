package leaky

import (
	"math"
	"testing"
	"time"
)

const testCapacity = 60_000.0 // tokens per minute: 1,000 per second, 1 per millisecond

func TestEmptyBucketAdmits(t *testing.T) {
	var b Bucket
	d := b.Admit(simStart, testCapacity, 1500)
	if !d.Allowed || d.RetryAfter != 0 || d.Level != 1500 || d.Utilization != 2.5 {
		t.Fatalf("Admit on empty bucket = %+v, want allowed at level 1500 (2.5%%)", d)
	}
}

func TestDrainsContinuously(t *testing.T) {
	b := Bucket{Level: 30_000, Last: simStart}
	for _, tc := range []struct {
		after time.Duration
		want  float64
	}{
		{0, 30_000},
		{time.Millisecond, 29_999},
		{10 * time.Second, 20_000},
		{30 * time.Second, 0},
		{time.Hour, 0},
		{-time.Second, 30_000}, // a clock stepping back does not refill or drain
	} {
		if got := b.LevelAt(simStart.Add(tc.after), testCapacity); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("LevelAt(+%v) = %v, want %v", tc.after, got, tc.want)
		}
	}
	if got := b.Utilization(simStart.Add(15*time.Second), testCapacity); math.Abs(got-25) > 1e-9 {
		t.Errorf("Utilization after 15s = %v%%, want 25%%", got)
	}
}

func TestOvershootThenReject(t *testing.T) {
	b := Bucket{Level: 59_000, Last: simStart}
	d := b.Admit(simStart, testCapacity, 5000) // 98.3 %: admitted, and may overshoot
	if !d.Allowed || d.Level != 64_000 {
		t.Fatalf("Admit at 98%% = %+v, want allowed to 64000", d)
	}
	d = b.Admit(simStart, testCapacity, 1)
	if d.Allowed {
		t.Fatalf("Admit at %v%% allowed", d.Utilization)
	}
	// 4,000 tokens above capacity drain in 4 s; the bucket is open one nanosecond later.
	if want := 4*time.Second + time.Nanosecond; d.RetryAfter != want {
		t.Fatalf("RetryAfter = %v, want %v", d.RetryAfter, want)
	}
	if d.RetryAfterMillis() != 4001 || d.RetryAfterSeconds() != 5 {
		t.Fatalf("headers = %d ms, %d s, want 4001 ms, 5 s", d.RetryAfterMillis(), d.RetryAfterSeconds())
	}
}

func TestRejectsAtExactlyFull(t *testing.T) {
	b := Bucket{Level: testCapacity, Last: simStart}
	d := b.Admit(simStart, testCapacity, 0)
	if d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("Admit at 100%% = %+v, want rejected with positive retry-after", d)
	}
}

// TestRetryAfterExact checks, over many levels and capacities, that a
// rejection's retry-after is positive and is the first nanosecond at which the
// bucket is strictly below 100 %.
func TestRetryAfterExact(t *testing.T) {
	capacities := []float64{1, 7, 60_000, 36_000, 750_000, 3.3e7, 1e12}
	over := []float64{0, 1e-9, 1e-3, 0.5, 1, 1234.5678, 1e6}
	for _, c := range capacities {
		for _, o := range over {
			for _, frac := range []float64{0, 1e-12, 0.25, 3} {
				level := c + o + frac*c
				b := Bucket{Level: level, Last: simStart}
				d := b.RetryAfter(simStart, c)
				if d <= 0 {
					t.Fatalf("c=%v level=%v: RetryAfter = %v, want > 0", c, level, d)
				}
				if got := b.LevelAt(simStart.Add(d), c); !(got < c) {
					t.Fatalf("c=%v level=%v: after %v level %v is not below capacity", c, level, d, got)
				}
				if got := b.LevelAt(simStart.Add(d-1), c); got < c {
					t.Fatalf("c=%v level=%v: already below capacity at %v (level %v), retry-after %v not minimal", c, level, d-1, got, d)
				}
				// The closed form agrees to within a microsecond.
				exact := (level - c) / c * float64(time.Minute)
				if math.Abs(float64(d)-exact) > 1000 && math.Abs(float64(d)-exact) > exact*1e-12 {
					t.Fatalf("c=%v level=%v: RetryAfter %v, closed form %vns", c, level, d, exact)
				}
				// Admission agrees with RetryAfter.
				probe := b
				if probe.Admit(simStart.Add(d-1), c, 1).Allowed {
					t.Fatalf("c=%v level=%v: admitted before retry-after", c, level)
				}
				probe = b
				if !probe.Admit(simStart.Add(d), c, 1).Allowed {
					t.Fatalf("c=%v level=%v: rejected at retry-after", c, level)
				}
			}
		}
	}
}

func TestRetryAfterWithClockBehind(t *testing.T) {
	b := Bucket{Level: 61_000, Last: simStart}
	d := b.Admit(simStart.Add(-time.Second), testCapacity, 10)
	if d.Allowed {
		t.Fatal("admitted from a clock behind the bucket")
	}
	// The wait counts from the caller's now: one second to reach Last, then 1 s of drain.
	if want := 2*time.Second + time.Nanosecond; d.RetryAfter != want {
		t.Fatalf("RetryAfter = %v, want %v", d.RetryAfter, want)
	}
	if !b.Last.Equal(simStart) {
		t.Fatalf("Last moved back to %v", b.Last)
	}
}

func TestSettleCorrections(t *testing.T) {
	var b Bucket
	b.Admit(simStart, testCapacity, 10_000)
	// Actual below the estimate gives capacity back...
	b.Settle(simStart, testCapacity, 6_000-10_000)
	if b.Level != 6_000 {
		t.Fatalf("after refund level = %v, want 6000", b.Level)
	}
	// ...actual above it takes more, drained to the settle time first.
	b.Settle(simStart.Add(time.Second), testCapacity, 2_500)
	if b.Level != 7_500 {
		t.Fatalf("after extra charge level = %v, want 7500 (6000 - 1000 drained + 2500)", b.Level)
	}
	// A refund larger than the level does not bank credit.
	b.Settle(simStart.Add(time.Second), testCapacity, -1e9)
	if b.Level != 0 {
		t.Fatalf("after over-refund level = %v, want 0", b.Level)
	}
	// Cancelling a call is settling what it used: here nothing.
	d := b.Admit(simStart.Add(time.Second), testCapacity, 4_000)
	b.Settle(simStart.Add(time.Second), testCapacity, -4_000)
	if !d.Allowed || b.Level != 0 {
		t.Fatalf("after cancel level = %v, want 0", b.Level)
	}
	b.Settle(simStart.Add(time.Second), testCapacity, math.NaN())
	if b.Level != 0 {
		t.Fatalf("NaN delta changed level to %v", b.Level)
	}
}

func TestSettleRefundReopens(t *testing.T) {
	var b Bucket
	b.Admit(simStart, testCapacity, 70_000)
	if b.Admit(simStart, testCapacity, 1).Allowed {
		t.Fatal("admitted at 117%")
	}
	b.Settle(simStart, testCapacity, -20_000) // the big call used 50,000
	if d := b.Admit(simStart, testCapacity, 1); !d.Allowed {
		t.Fatalf("refund did not reopen: %+v", d)
	}
}

func TestCapacityChangeKeepsLevel(t *testing.T) {
	var b Bucket
	b.Admit(simStart, testCapacity, 45_000)
	if u := b.Utilization(simStart, testCapacity); u != 75 {
		t.Fatalf("utilization = %v, want 75", u)
	}
	// The deployment is halved: the same level is now 150 % and rejects.
	if u := b.Utilization(simStart, testCapacity/2); u != 150 {
		t.Fatalf("utilization after resize = %v, want 150", u)
	}
	d := b.Admit(simStart, testCapacity/2, 1)
	if d.Allowed || d.RetryAfter != 30*time.Second+time.Nanosecond {
		t.Fatalf("Admit after resize = %+v, want rejected for 30s", d)
	}
}

func TestInvalidCapacity(t *testing.T) {
	for _, c := range []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		b := Bucket{Level: 10, Last: simStart}
		d := b.Admit(simStart.Add(time.Hour), c, 1)
		if d.Allowed || d.RetryAfter != InfDuration || b.Level != 10 {
			t.Errorf("capacity %v: Admit = %+v, level %v", c, d, b.Level)
		}
		if u := b.Utilization(simStart, c); !math.IsInf(u, 1) {
			t.Errorf("capacity %v: Utilization = %v, want +Inf", c, u)
		}
		if u := (Bucket{}).Utilization(simStart, c); u != 0 {
			t.Errorf("capacity %v: empty Utilization = %v, want 0", c, u)
		}
		if CheckCapacity(c) == nil {
			t.Errorf("CheckCapacity(%v) = nil", c)
		}
	}
	for _, e := range []float64{-1, math.NaN(), math.Inf(1)} {
		if CheckAdmit(1, e) == nil {
			t.Errorf("CheckAdmit(1, %v) = nil", e)
		}
	}
	for _, delta := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if CheckCorrect(1, delta) == nil {
			t.Errorf("CheckCorrect(1, %v) = nil", delta)
		}
	}
	if CheckAdmit(1, 0) != nil || CheckCorrect(1, -5) != nil {
		t.Error("valid arguments rejected")
	}
}

// TestRetrySlots checks that calls rejected in the same full period are told
// to come back one after another, and that each is admitted when it does.
func TestRetrySlots(t *testing.T) {
	b := Bucket{Level: 62_000, Last: simStart} // 2,000 over: open in 2 s
	estimates := []float64{3_000, 500, 8_000, 1_000}
	var waits []time.Duration
	for i, e := range estimates {
		now := simStart.Add(time.Duration(i) * 100 * time.Millisecond)
		d := b.AdmitRule(now, testCapacity, e, RetrySlots)
		if d.Allowed {
			t.Fatalf("call %d admitted", i)
		}
		waits = append(waits, now.Add(d.RetryAfter).Sub(simStart))
	}
	// Slots start when the bucket opens and are each estimate's drain time long.
	want := []time.Duration{2*time.Second + 1, 5*time.Second + 1, 5500*time.Millisecond + 1, 13500*time.Millisecond + 1}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("call %d retries at +%v, want +%v", i, waits[i], want[i])
		}
	}
	for i, e := range estimates {
		at := simStart.Add(waits[i]).Add(time.Duration(i) * 300 * time.Microsecond) // whole-ms rounding
		if d := b.AdmitRule(at, testCapacity, e, RetrySlots); !d.Allowed {
			t.Errorf("retry %d at +%v rejected: %+v", i, at.Sub(simStart), d)
		}
	}
}

// TestRetryExact checks the default rule: every call rejected in one full
// period is told the exact time the bucket opens, whatever was told before,
// so a rejected call that never comes back costs the next caller nothing
// (under slots, it would be told to wait behind the first's slot).
func TestRetryExact(t *testing.T) {
	b := Bucket{Level: 62_000, Last: simStart} // 2,000 over: open in 2 s
	for i, e := range []float64{40_000, 500, 8_000} {
		now := simStart.Add(time.Duration(i) * 100 * time.Millisecond)
		d := b.Admit(now, testCapacity, e)
		if d.Allowed {
			t.Fatalf("call %d admitted", i)
		}
		if want := 2*time.Second + 1 - time.Duration(i)*100*time.Millisecond; d.RetryAfter != want {
			t.Errorf("call %d: retry-after %v, want the exact %v", i, d.RetryAfter, want)
		}
	}
	if !b.Horizon.IsZero() {
		t.Errorf("the exact rule scheduled a slot ending at %v", b.Horizon)
	}
	if d := b.Admit(simStart.Add(2*time.Second+1), testCapacity, 500); !d.Allowed {
		t.Errorf("call at the opening rejected: %+v", d)
	}
}

func TestRetryRuleSpelling(t *testing.T) {
	for _, r := range []RetryRule{RetryExact, RetrySlots} {
		got, err := ParseRetryRule(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRetryRule(%q) = %v, %v", r, got, err)
		}
	}
	if r, err := ParseRetryRule(""); err != nil || r != DefaultRetryRule {
		t.Errorf(`ParseRetryRule("") = %v, %v`, r, err)
	}
	if _, err := ParseRetryRule("fair"); err == nil {
		t.Error(`ParseRetryRule("fair") = nil error`)
	}
}

func TestRetrySpreadBounded(t *testing.T) {
	b := Bucket{Level: 61_000, Last: simStart}
	var last time.Duration
	for i := 0; i < 100; i++ {
		d := b.AdmitRule(simStart, testCapacity, 30_000, RetrySlots) // 30 s each
		if d.Allowed {
			t.Fatal("admitted")
		}
		last = d.RetryAfter
	}
	if want := time.Second + time.Nanosecond + MaxRetrySpread; last != want {
		t.Fatalf("last retry-after = %v, want capped at %v", last, want)
	}
}

func TestDecisionHeaders(t *testing.T) {
	for _, tc := range []struct {
		d       time.Duration
		ms, sec int64
	}{
		{0, 0, 0},
		{1, 1, 1},
		{time.Millisecond, 1, 1},
		{time.Millisecond + 1, 2, 1},
		{time.Second, 1000, 1},
		{1500 * time.Millisecond, 1500, 2},
	} {
		d := Decision{RetryAfter: tc.d}
		if d.RetryAfterMillis() != tc.ms || d.RetryAfterSeconds() != tc.sec {
			t.Errorf("%v: %d ms %d s, want %d ms %d s", tc.d, d.RetryAfterMillis(), d.RetryAfterSeconds(), tc.ms, tc.sec)
		}
	}
}

// TestRecentTracksLoad feeds a bucket a steady half of its capacity: the
// level drains back to almost nothing between calls, while the use over the
// last minute, and so the reported utilization, reads the load.
func TestRecentTracksLoad(t *testing.T) {
	const c = 60_000.0
	var b Bucket
	now := simStart
	var d Decision
	for i := range 300 { // one 1,000-token call a second for five minutes
		now = simStart.Add(time.Duration(i) * time.Second)
		d = b.Admit(now, c, 1000)
		if !d.Allowed {
			t.Fatalf("call %d rejected at half load: %+v", i, d)
		}
		b.Settle(now.Add(300*time.Millisecond), c, -500) // used half the estimate
	}
	if d.Utilization > 2 {
		t.Fatalf("level %v%% at half load; want it drained near empty", d.Utilization)
	}
	// Each call counts 1,000 at admission and 500 once settled: 500 a second,
	// 30,000 a minute, plus the latest call's unsettled half.
	if d.Recent < 49 || d.Recent > 52 {
		t.Fatalf("recent use %v%%, want about 50%%", d.Recent)
	}
	if r := d.Reported(); r != d.Recent {
		t.Fatalf("reported %v, want recent %v", r, d.Recent)
	}
	if u := b.Recent(now.Add(30*time.Second), c); u < 15 || u > 40 {
		t.Fatalf("half a minute after the last call: recent %v%%, want it partly decayed", u)
	}
	if b.Idle(now.Add(45*time.Second), c) {
		t.Fatal("bucket idle while the last minute still holds its use")
	}
	if u := b.Recent(now.Add(2*time.Minute+time.Second), c); u != 0 {
		t.Fatalf("two minutes after the last call: recent %v%%, want 0", u)
	}
	if !b.Idle(now.Add(2*time.Minute+time.Second), c) {
		t.Fatal("bucket not idle two minutes after its last call")
	}
}

// TestRecentRefundAcrossMinutes settles a call in the minute after its
// admission: the refund comes out of the minute its estimate was counted in.
func TestRecentRefundAcrossMinutes(t *testing.T) {
	const c = 60_000.0
	var b Bucket
	start := time.Unix(1_700_000_020, 0) // 20 s before a minute boundary
	b.Admit(start, c, 6000)
	b.Admit(start.Add(25*time.Second), c, 3000) // the next minute
	b.Settle(start.Add(26*time.Second), c, -4000)
	// The current minute's 3,000 absorb 3,000 of the refund; the 1,000
	// left comes off the previous minute's 6,000.
	if b.Cur != 0 || b.Prev != 5000 {
		t.Fatalf("counts cur %v prev %v, want 0 and 5000", b.Cur, b.Prev)
	}
	b.Settle(start.Add(27*time.Second), c, -1e9)
	if b.Cur != 0 || b.Prev != 0 {
		t.Fatalf("counts cur %v prev %v after a refund larger than both, want 0 and 0", b.Cur, b.Prev)
	}
}

// TestRecentOverCapacity: at twice the capacity the level holds at 100 %
// and so does the minute's use, since only what drains is admitted.
func TestRecentOverCapacity(t *testing.T) {
	const c = 60_000.0
	var b Bucket
	var d Decision
	for i := range 3000 { // 2,000 tokens every 10th of a second for five minutes
		now := simStart.Add(time.Duration(i) * 100 * time.Millisecond)
		if x := b.Admit(now, c, 2000); x.Allowed || i > 2900 {
			d = x
		}
	}
	if d.Recent < 95 || d.Recent > 106 {
		t.Fatalf("recent %v%% at twice the capacity, want about 100", d.Recent)
	}
	if d.Reported() < 100 {
		t.Fatalf("reported %v%% at twice the capacity", d.Reported())
	}
}
