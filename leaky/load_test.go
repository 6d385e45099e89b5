package leaky

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// gpt4o300 is a 300-PTU gpt-4o deployment: 300 × 2,500 input TPM per PTU.
const gpt4o300 = 300 * 2500.0

// TestSteadyLoadNeverThrottled offers 90 % of capacity for a simulated hour,
// evenly spaced and as Poisson arrivals, and expects no 429 at all.
func TestSteadyLoadNeverThrottled(t *testing.T) {
	t.Run("even", func(t *testing.T) {
		var b Bucket
		const estimate = 2000.0
		interval := meanInterval(gpt4o300, 0.9, estimate)
		var maxUtil float64
		for now := simStart; now.Before(simStart.Add(time.Hour)); now = now.Add(interval) {
			d := b.Admit(now, gpt4o300, estimate)
			if !d.Allowed {
				t.Fatalf("throttled at +%v (%.1f%%)", now.Sub(simStart), d.Utilization)
			}
			maxUtil = max(maxUtil, d.Utilization)
		}
		t.Logf("peak utilization %.2f%%", maxUtil)
	})
	t.Run("poisson", func(t *testing.T) {
		s := newSim()
		r := rand.New(rand.NewPCG(1, 2))
		var b Bucket
		var calls int
		var maxUtil float64
		mean := meanInterval(gpt4o300, 0.9, 2000)
		var arrive func()
		arrive = func() {
			calls++
			estimate := uniform(r, 500, 3500)
			d := b.Admit(s.now, gpt4o300, estimate)
			if !d.Allowed {
				t.Fatalf("call %d throttled at +%v (%.1f%%)", calls, s.now.Sub(simStart), d.Utilization)
			}
			maxUtil = max(maxUtil, d.Utilization)
			// The call finishes seconds later; its actual cost is known then.
			actual := estimate * uniform(r, 0.7, 1)
			s.after(time.Duration(uniform(r, 1, 15)*float64(time.Second)), func() { b.Settle(s.now, gpt4o300, actual-estimate) })
			s.after(expDuration(r, mean), arrive)
		}
		s.after(0, arrive)
		s.run(simStart.Add(time.Hour))
		if calls < 19_000 {
			t.Fatalf("only %d calls simulated", calls)
		}
		t.Logf("%d calls, peak utilization %.2f%%", calls, maxUtil)
	})
}

// TestOverloadHeldAtCapacity offers 200 % of capacity (Poisson, varied sizes,
// refunds on completion) and expects the accepted actual tokens per minute to
// converge to capacity within 2 % after warm-up, and the level never to exceed
// capacity plus one estimate.
func TestOverloadHeldAtCapacity(t *testing.T) {
	for _, tc := range []struct {
		name              string
		capacity          float64
		minEst, maxEst    float64
		minActual, maxAct float64 // actual as a fraction of the estimate
	}{
		{"large-deployment", gpt4o300, 500, 3500, 0.5, 1},
		{"small-deployment-big-calls", 15 * 3000, 2000, 8000, 0.3, 1},
		{"exact-estimates", 50 * 2500, 1000, 1000, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const warmUp, window = 10 * time.Minute, 2 * time.Hour
			s := newSim()
			r := rand.New(rand.NewPCG(5, 6))
			var b Bucket
			var accepted float64
			var admitted, rejected int
			mean := meanInterval(tc.capacity, 2.0, (tc.minEst+tc.maxEst)/2*(tc.minActual+tc.maxAct)/2)
			measuring := func() bool { return !s.now.Before(simStart.Add(warmUp)) }
			var arrive func()
			arrive = func() {
				estimate := uniform(r, tc.minEst, tc.maxEst)
				if tc.minEst == tc.maxEst {
					estimate = tc.minEst
				}
				d := b.Admit(s.now, tc.capacity, estimate)
				if d.Level > tc.capacity+tc.maxEst {
					t.Fatalf("level %v above capacity + one estimate", d.Level)
				}
				if d.Allowed {
					admitted++
					actual := estimate * uniform(r, tc.minActual, tc.maxAct)
					if measuring() {
						accepted += actual
					}
					s.after(time.Duration(uniform(r, 1, 20)*float64(time.Second)), func() {
						b.Settle(s.now, tc.capacity, actual-estimate)
					})
				} else {
					rejected++
				}
				s.after(expDuration(r, mean), arrive)
			}
			s.after(0, arrive)
			s.run(simStart.Add(warmUp + window))
			ratio := accepted / (tc.capacity * window.Minutes())
			t.Logf("accepted %.4f of capacity (%d admitted, %d rejected)", ratio, admitted, rejected)
			if math.Abs(ratio-1) > 0.02 {
				t.Fatalf("accepted throughput %.4f of capacity, want within 2%% of 1", ratio)
			}
		})
	}
}

// TestRetryAfterHonoured runs many competing clients that each wait the
// retry-after-ms they are given (rounded up to whole ms) after a 429, and
// expects at least 90 % of first retries to be admitted under RetrySlots.
//
// The clients are closed loops (think, call, wait for the response), so the
// offered load while they are throttled adapts as real client pools do;
// demand is the load they would offer if never throttled. Estimates match
// actual use (max_tokens set close to the real output, as Azure advises).
// Two effects cost first retries: refunds reopen the bucket between retry
// slots, where new calls take the room a scheduled retry counted on; and once
// more than MaxRetrySpread of retries is queued, the last slot is shared. At
// twice the demand the capacity can serve, the second dominates, and the
// bound is lower.
func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		demand, want float64
	}{
		{1.1, 0.9},
		{1.3, 0.9},
		{2.0, 0.85},
	} {
		demand := tc.demand
		t.Run(fmt.Sprintf("demand-%.0f%%", demand*100), func(t *testing.T) {
			const clients = 100
			const capacity = 100 * 3000.0 // 100 PTU of gpt-4.1
			s := newSim()
			r := rand.New(rand.NewPCG(7, 8))
			var b Bucket
			var firstRetries, firstAdmitted, rejections int
			const meanEstimate, meanLatency = 4000.0, 11 * time.Second
			cycle := time.Duration(clients * meanEstimate / (demand * capacity) * float64(time.Minute))
			think := cycle - meanLatency
			var start func()
			var try func(estimate float64, attempt int)
			try = func(estimate float64, attempt int) {
				d := b.AdmitRule(s.now, capacity, estimate, RetrySlots)
				if attempt == 1 {
					firstRetries++
					if d.Allowed {
						firstAdmitted++
					}
				}
				if !d.Allowed {
					rejections++
					if d.RetryAfter <= 0 {
						t.Fatalf("rejection with retry-after %v", d.RetryAfter)
					}
					wait := time.Duration(d.RetryAfterMillis()) * time.Millisecond
					s.after(wait, func() { try(estimate, attempt+1) })
					return
				}
				s.after(time.Duration(uniform(r, 2, 20)*float64(time.Second)), func() {
					b.Settle(s.now, capacity, 0)
					s.after(expDuration(r, think), start)
				})
			}
			start = func() { try(uniform(r, 2000, 6000), 0) }
			for range clients {
				s.after(expDuration(r, think), start)
			}
			s.run(simStart.Add(time.Hour))
			rate := float64(firstAdmitted) / float64(firstRetries)
			t.Logf("%d rejections, %d first retries, %.3f admitted", rejections, firstRetries, rate)
			if firstRetries < 1000 {
				t.Fatalf("only %d first retries: the scenario does not compete", firstRetries)
			}
			if rate < tc.want {
				t.Fatalf("first retries admitted %.3f, want >= %v", rate, tc.want)
			}
		})
	}
}
