package leaky

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// ruleRun is what one simulated hour under one retry-after rule measured.
type ruleRun struct {
	calls, failed    int             // calls started; calls whose client got a 429 in the end
	rejections       int             // 429s answered, retries included
	waits            []time.Duration // per admitted call, first attempt to admission
	told, exact      []time.Duration // per 429: the retry-after told, and the exact drain time then
	accepted, window float64         // tokens admitted after warm-up; capacity over the window
}

func pct(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

func mean(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range xs {
		sum += x
	}
	return sum / time.Duration(len(xs))
}

// simulateRule runs clients closed-loop (think, call, wait for the answer)
// against one 100-PTU deployment for a simulated hour under rule. A client
// with retries > 0 behaves as openai-go does (internal/requestconfig,
// v3.98.0): on a 429 it waits exactly retry-after-ms and tries again, up to
// MaxRetries = 2 times, and gives up at once when told more than two
// minutes; the last 429 reaches the application. retries = 0 is a caller
// that never retries (MaxRetries 0, or one that fails over elsewhere).
// demand is the load the clients would offer if never throttled.
func simulateRule(rule RetryRule, demand float64, retries func(client int) int) ruleRun {
	const clients = 100
	const capacity = 100 * 3000.0 // 100 PTU of gpt-4.1
	const meanEstimate, meanLatency = 4000.0, 11 * time.Second
	const warmUp, hour = 10 * time.Minute, time.Hour
	s := newSim()
	r := rand.New(rand.NewPCG(7, 8))
	var b Bucket
	var run ruleRun
	cycle := time.Duration(clients * meanEstimate / (demand * capacity) * float64(time.Minute))
	think := cycle - meanLatency
	measuring := func() bool { return !s.now.Before(simStart.Add(warmUp)) }
	for c := range clients {
		maxRetries := retries(c)
		var start func()
		var try func(estimate float64, attempt int, first time.Time)
		try = func(estimate float64, attempt int, first time.Time) {
			exact := b.RetryAfter(s.now, capacity)
			d := b.AdmitRule(s.now, capacity, estimate, rule)
			m := measuring()
			if !d.Allowed {
				if m {
					run.rejections++
					run.told = append(run.told, d.RetryAfter)
					run.exact = append(run.exact, exact)
				}
				wait := time.Duration(d.RetryAfterMillis()) * time.Millisecond
				if attempt < maxRetries && wait <= 2*time.Minute {
					s.after(wait, func() { try(estimate, attempt+1, first) })
					return
				}
				if m {
					run.failed++
				}
				s.after(expDuration(r, think), start)
				return
			}
			if m {
				run.waits = append(run.waits, s.now.Sub(first))
				run.accepted += estimate
			}
			s.after(time.Duration(uniform(r, 2, 20)*float64(time.Second)), func() {
				b.Settle(s.now, capacity, 0)
				s.after(expDuration(r, think), start)
			})
		}
		start = func() {
			if measuring() {
				run.calls++
			}
			try(uniform(r, 2000, 6000), 0, s.now)
		}
		s.after(expDuration(r, think), start)
	}
	s.run(simStart.Add(warmUp + hour))
	run.window = capacity * hour.Minutes()
	return run
}

func (r ruleRun) String() string {
	var over []time.Duration
	exactTold := 0
	for i := range r.told {
		over = append(over, r.told[i]-r.exact[i])
		if r.told[i] == r.exact[i] {
			exactTold++
		}
	}
	ratio := 0.0
	if m := mean(r.exact); m > 0 {
		ratio = float64(mean(r.told)) / float64(m)
	}
	return fmt.Sprintf("calls %6d  failed %5.1f%%  429s %6d  wait mean %6.2fs p95 %6.2fs p99 %6.2fs  told mean %6.2fs vs exact %5.2fs (x%.2f, exact in %5.1f%%, over by p95 %6.2fs max %6.2fs)  throughput %.3f",
		r.calls, 100*float64(r.failed)/float64(max(1, r.calls)), r.rejections,
		mean(r.waits).Seconds(), pct(r.waits, 0.95).Seconds(), pct(r.waits, 0.99).Seconds(),
		mean(r.told).Seconds(), mean(r.exact).Seconds(), ratio, 100*float64(exactTold)/float64(max(1, len(r.told))),
		pct(over, 0.95).Seconds(), pct(over, 1).Seconds(), r.accepted/r.window)
}

// TestRetryRules measures both retry-after rules on the same clients (the
// numbers in docs/benchmarks.md, "retry-after: exact or slots", come from
// `go test ./leaky -run TestRetryRules -v`). It asserts what each rule
// promises: exact tells every 429 the exact drain time; slots never tells
// less than it, and the herd of SDK clients loses fewer calls with slots.
func TestRetryRules(t *testing.T) {
	sdk := func(int) int { return 2 }
	never := func(int) int { return 0 }
	mixed := func(c int) int { return 2 * (c % 2) }
	for _, sc := range []struct {
		name    string
		retries func(int) int
	}{{"sdk-herd", sdk}, {"never-retry", never}, {"half-never-retry", mixed}} {
		for _, demand := range []float64{1.1, 1.3, 2.0} {
			runs := map[RetryRule]ruleRun{}
			for _, rule := range []RetryRule{RetryExact, RetrySlots} {
				run := simulateRule(rule, demand, sc.retries)
				runs[rule] = run
				t.Logf("%-16s demand %3.0f%%  %-5s %v", sc.name, demand*100, rule, run)
				for i := range run.told {
					switch {
					case rule == RetryExact && run.told[i] != run.exact[i]:
						t.Fatalf("%s: exact rule told %v, drain time %v", sc.name, run.told[i], run.exact[i])
					case run.told[i] < run.exact[i]:
						t.Fatalf("%s: %s rule told %v, before the drain time %v", sc.name, rule, run.told[i], run.exact[i])
					}
				}
				if math.Abs(run.accepted/run.window-1) > 0.05 {
					t.Errorf("%s %s at %.0f%%: throughput %.3f of capacity, want within 5%%", sc.name, rule, demand*100, run.accepted/run.window)
				}
			}
		}
	}
}
