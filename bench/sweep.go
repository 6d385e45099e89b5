package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/load"
)

// SweepConfig searches for the highest call rate a deployment takes with
// almost no throttling.
type SweepConfig struct {
	// Base is the run each step makes: Base.Rate is the first rate tried and
	// Base.Duration each step's length. Base.Output receives one line per
	// step (human or JSON, by Base.OutputFormat) instead of per-second lines.
	Base Config
	// MaxThrottle is the share of throttled calls, percent, a step may have
	// and pass; default 1.
	MaxThrottle float64
	// MaxRise fails a step whose admission level climbed faster than
	// this many percentage points per minute, though it did not throttle
	// yet. The level is ptu's ptu-bucket-utilization header; against other
	// servers the azure-openai-deployment-utilization header stands in.
	// The rest of the reasoning:
	// this many percentage points per minute, though it did not throttle
	// yet: an idle deployment absorbs a minute of its capacity before it
	// throttles, so a short step at a rate a little over capacity would
	// otherwise pass. Below capacity the bucket keeps draining back to
	// empty and utilization has no trend; over it, it climbs by the excess
	// (5 points a minute at 105 %). Default 1.5; negative turns the check off.
	MaxRise float64
	// Cooldown is the pause before each step after the first, for the
	// deployment to drain; default 60 s, negative for none.
	Cooldown time.Duration
	// Refine is how many times the bracket is halved once a passing and a
	// failing rate are known; default 4, negative for none.
	Refine int
	// MaxRate stops the search upwards; default 64 × the first rate.
	MaxRate float64
}

// SweepStep is one rate tried.
type SweepStep struct {
	Rate        float64
	Summary     Summary
	ThrottlePct float64
	// UtilRise is the trend of the reported utilization over the step,
	// percentage points per minute; NaN when too few answers carried it.
	UtilRise float64
	UtilEnd  float64 // the trend's value at the step's end
	Pass     bool
	Reason   string
}

// SweepResult is the search.
type SweepResult struct {
	Steps []SweepStep
	Best  *SweepStep // the highest passing rate; nil when none passed
}

func (sc SweepConfig) withDefaults() (SweepConfig, error) {
	if sc.MaxThrottle == 0 {
		sc.MaxThrottle = 1
	}
	if sc.MaxRise == 0 {
		sc.MaxRise = 1.5
	}
	if sc.Cooldown == 0 {
		sc.Cooldown = time.Minute
	}
	if sc.Refine == 0 {
		sc.Refine = 4
	}
	if !(sc.Base.Rate > 0) {
		return sc, errors.New("a sweep starts from a rate: set the first rate to try (calls per minute)")
	}
	if sc.Base.Duration <= 0 {
		return sc, errors.New("a sweep needs a duration for each step")
	}
	if sc.Base.Requests > 0 {
		return sc, errors.New("a sweep runs each step for a duration, not a number of requests")
	}
	if sc.MaxRate == 0 {
		sc.MaxRate = 64 * sc.Base.Rate
	}
	if !(sc.MaxThrottle > 0 && sc.MaxThrottle < 100) || sc.MaxRate < sc.Base.Rate {
		return sc, errors.New("invalid sweep settings")
	}
	return sc, nil
}

// Sweep runs steps at different rates: doubling (or halving) from the first
// rate until one passes and one fails, then bisecting between them. A step
// passes when fewer than MaxThrottle percent of its calls ended throttled
// and its utilization did not climb faster than MaxRise.
func Sweep(ctx context.Context, sc SweepConfig) (*SweepResult, error) {
	sc, err := sc.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := sc.Base.withDefaults(); err != nil {
		return nil, err
	}
	clk := sc.Base.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	out := sc.Base.Output
	res := &SweepResult{}
	step := func(rate float64) (*SweepStep, error) {
		if len(res.Steps) > 0 && sc.Cooldown > 0 {
			if err := clk.Sleep(ctx, sc.Cooldown); err != nil {
				return nil, err
			}
		}
		cfg := sc.Base
		cfg.Rate = rate
		cfg.Output = nil
		r, err := newRunner(cfg)
		if err != nil {
			return nil, err
		}
		rep := r.run(ctx)
		if rep.Interrupted {
			return nil, ctx.Err()
		}
		s := judge(rate, rep.Summary, r.agg.utilSamples(), rep.Start, rep.End, sc)
		res.Steps = append(res.Steps, s)
		if out != nil {
			writeSweepStep(out, sc.Base.OutputFormat, len(res.Steps), s)
		}
		return &res.Steps[len(res.Steps)-1], nil
	}

	var pass, fail *SweepStep
	rate := sc.Base.Rate
	for pass == nil || fail == nil {
		s, err := step(rate)
		if err != nil {
			return res, err
		}
		if s.Pass {
			pass = s
			if fail == nil {
				if rate*2 > sc.MaxRate {
					break
				}
				rate *= 2
			}
		} else {
			fail = s
			if pass == nil {
				if rate/2 < 0.1 {
					break
				}
				rate /= 2
			}
		}
	}
	if pass != nil && fail != nil {
		lo, hi := pass.Rate, fail.Rate
		for range sc.Refine {
			mid := roundRate((lo + hi) / 2)
			if mid <= lo || mid >= hi {
				break
			}
			s, err := step(mid)
			if err != nil {
				return res, err
			}
			if s.Pass {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	for i := range res.Steps {
		if s := &res.Steps[i]; s.Pass && (res.Best == nil || s.Rate > res.Best.Rate) {
			res.Best = s
		}
	}
	return res, nil
}

// roundRate keeps rates readable: whole calls per minute above 10.
func roundRate(r float64) float64 {
	if r >= 10 {
		return math.Round(r)
	}
	return math.Round(r*10) / 10
}

// judge decides a step.
func judge(rate float64, sum Summary, util []sample, start, end time.Time, sc SweepConfig) SweepStep {
	s := SweepStep{Rate: rate, Summary: sum, ThrottlePct: sum.ThrottleRate(), UtilRise: math.NaN(), Pass: true}
	s.UtilRise, s.UtilEnd = utilTrend(util, start, end)
	switch {
	case sum.Calls == 0:
		s.Pass, s.Reason = false, "no call finished"
	case s.ThrottlePct >= sc.MaxThrottle:
		s.Pass, s.Reason = false, fmt.Sprintf("%.1f%% of calls throttled", s.ThrottlePct)
	case sum.Failed > 0 && 100*float64(sum.Failed)/float64(sum.Calls) >= sc.MaxThrottle:
		s.Pass, s.Reason = false, fmt.Sprintf("%d calls failed (%s)", sum.Failed, statusList(sum.Statuses))
	case sc.MaxRise > 0 && s.UtilRise > sc.MaxRise && s.UtilEnd >= 2:
		s.Pass = false
		s.Reason = fmt.Sprintf("bucket level climbing %.1f points/min (at %.1f%%): the deployment is falling behind and will throttle", s.UtilRise, s.UtilEnd)
		if s.UtilEnd < 100 {
			s.Reason += fmt.Sprintf(" in about %s", time.Duration((100-s.UtilEnd)/s.UtilRise*float64(time.Minute)).Round(time.Second))
		}
	}
	return s
}

// utilTrend is the trend of the reported utilization over a step, in
// points per minute, and its value at the end; NaN when too few answers
// carried it. The step starts on a drained deployment: below capacity the
// bucket keeps draining back to empty between calls and there is no trend;
// over it the level climbs by the excess (5 points a minute at 105 %)
// until it reaches 100 % and calls are throttled. Calls that bunch up (a
// stalled client catching up) raise the level for a moment, so the trend
// is taken robustly: the lowest value in each of up to 16 slices of the
// step, then the median of the slopes between every two slices (Theil–Sen).
func utilTrend(util []sample, start, end time.Time) (rise, atEnd float64) {
	span := end.Sub(start)
	var in []sample
	for _, u := range util {
		if !u.at.Before(start) && !u.at.After(end) {
			in = append(in, u)
		}
	}
	bins := min(16, len(in)/3)
	if bins < 4 || span <= 0 {
		return math.NaN(), 0
	}
	floor := make([]float64, bins)
	for i := range floor {
		floor[i] = math.Inf(1)
	}
	for _, u := range in {
		i := min(int(float64(u.at.Sub(start))/float64(span)*float64(bins)), bins-1)
		floor[i] = min(floor[i], u.v)
	}
	var xs, ys []float64
	for i, f := range floor {
		if !math.IsInf(f, 1) {
			xs = append(xs, (float64(i)+0.5)/float64(bins)*span.Minutes())
			ys = append(ys, f)
		}
	}
	if len(xs) < 4 {
		return math.NaN(), 0
	}
	var slopes []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			slopes = append(slopes, (ys[j]-ys[i])/(xs[j]-xs[i]))
		}
	}
	rise = load.Percentile(slopes, 50)
	icpt := make([]float64, len(xs))
	for i := range xs {
		icpt[i] = ys[i] - rise*xs[i]
	}
	return rise, load.Percentile(icpt, 50) + rise*span.Minutes()
}

// utilSamples returns the trend value each answer reported (ptu's bucket
// level, else the utilization header), by call start.
func (a *aggregator) utilSamples() []sample {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.run.utilAt)
}

func writeSweepStep(w io.Writer, format string, n int, s SweepStep) {
	verdict := "pass"
	if !s.Pass {
		verdict = "fail: " + s.Reason
	}
	if format == FormatJSONL {
		rise := "null"
		if !math.IsNaN(s.UtilRise) {
			rise = pyFloat(round(s.UtilRise, 2))
		}
		fmt.Fprintf(w, `{"step": %d, "rate": %s, "rpm": %s, "calls": %d, "throttled": %d, "failed": %d, "throttled_pct": %s, "util_rise": %s, "e2e_p50": %s, "e2e_p99": %s, "pass": %t, "reason": %q}`+"\n",
			n, pyFloat(s.Rate), pyFloat(round(s.Summary.RPM, 1)), s.Summary.Calls, s.Summary.Throttled, s.Summary.Failed,
			pyFloat(round(s.ThrottlePct, 2)), rise, pyFloat(round(s.Summary.E2E.P50, 3)), pyFloat(round(s.Summary.E2E.P99, 3)), s.Pass, s.Reason)
		return
	}
	rise := "n/a"
	if !math.IsNaN(s.UtilRise) {
		rise = fmt.Sprintf("%+.1f/min", s.UtilRise)
	}
	fmt.Fprintf(w, "step %d: rate %s calls/min: rpm %s, %d calls, %.1f%% throttled, %d failed, bucket level %.1f%% at the end (%s), e2e p50 %.3f p99 %.3f s: %s\n",
		n, num(s.Rate, -1), num(s.Summary.RPM, 1), s.Summary.Calls, s.ThrottlePct, s.Summary.Failed, s.UtilEnd, rise,
		s.Summary.E2E.P50, s.Summary.E2E.P99, verdict)
}

// Write prints the search's result for people.
func (r *SweepResult) Write(w io.Writer) {
	if r.Best == nil {
		fmt.Fprintln(w, "\nNo rate tried passed: lower the first rate (--rate) or check the failures above.")
		return
	}
	b := r.Best
	fmt.Fprintf(w, "\nHighest rate with under the throttling limit: %s calls/min (%s succeeded per minute, %s prompt + %s generated tokens/min, e2e p99 %.3f s).\n",
		num(b.Rate, -1), num(b.Summary.RPM, 1), num(b.Summary.ContextTPM, 0), num(b.Summary.GeneratedTPM, 0), b.Summary.E2E.P99)
	if z := b.Summary.Sizing; z != nil {
		fmt.Fprintf(w, "That is %s normalized TPM = %s PTU of %s.\n", num(z.NormalizedTPM, 0), num(z.PTU, 2), z.Model)
	}
}
