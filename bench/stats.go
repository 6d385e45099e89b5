package bench

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/internal/load"
)

// sample is one value in a sliding window, stamped with the start of the
// call it belongs to (as azure-openai-benchmark stamps them).
type sample struct {
	at time.Time
	v  float64
}

// window holds the samples of the last aggregation window.
type window []sample

func (w *window) add(at time.Time, v float64) { *w = append(*w, sample{at, v}) }

// trim drops the samples older than d at now.
func (w *window) trim(now time.Time, d time.Duration) {
	i := 0
	for i < len(*w) && now.Sub((*w)[i].at) > d {
		i++
	}
	if i > 0 {
		*w = slices.Delete(*w, 0, i)
	}
}

func (w window) values() []float64 {
	out := make([]float64, len(w))
	for i, s := range w {
		out[i] = s.v
	}
	return out
}

func (w window) sum() float64 {
	t := 0.0
	for _, s := range w {
		t += s.v
	}
	return t
}

// aggregator gathers finished calls into the sliding-window statistics
// azure-openai-benchmark prints every second, and into whole-run totals for
// the summary. It is safe for concurrent use.
type aggregator struct {
	clients   int
	window    time.Duration
	start     time.Time
	keepCalls bool // keep every successful call's span (calibration)

	mu         sync.Mutex
	processing int
	completed  int // calls finished, whatever their outcome
	failures   int // calls that did not succeed, throttled ones included
	throttled  int // calls whose last answer was 429

	// Windows, as in azure-openai-benchmark's _StatsAggregator.
	requests, e2e, ttft, tbt, context, gen, util window

	run runTotals
}

// call is a successful call's span and tokens.
type call struct {
	start, end           time.Time
	context, cached, gen int
}

// runTotals are the whole run's numbers behind the summary.
type runTotals struct {
	started           int
	succeeded         int
	failed            int // not succeeded and not throttled
	throttled         int
	attempts          int
	throttledAttempts int // 429 answers, retried or not
	retried           int // calls that waited at least once
	retryWait         time.Duration
	throttledTime     time.Duration // time spent on calls that ended throttled
	contextTokens     int64
	cachedTokens      int64
	genTokens         int64
	e2e, ttft, tbt    []float64 // successful calls, seconds
	streamTPS         []float64 // generated tokens per second of each successful call
	util              []float64
	utilAt            []sample // each trend value (result.Trend) with the time it was reported
	calls             []call   // successful calls, when the aggregator keeps them
	statuses          map[int]int
	firstStart        time.Time
	lastEnd           time.Time
}

func newAggregator(clients int, window time.Duration, start time.Time) *aggregator {
	return &aggregator{clients: clients, window: window, start: start, run: runTotals{statuses: map[int]int{}}}
}

// started records a call about to be sent.
func (a *aggregator) started() {
	a.mu.Lock()
	a.processing++
	a.run.started++
	a.mu.Unlock()
}

// abandoned records a call given up before it finished (the run was cancelled).
func (a *aggregator) abandoned() {
	a.mu.Lock()
	a.processing--
	a.run.started--
	a.mu.Unlock()
}

// add records a finished call.
func (a *aggregator) add(r *result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.processing--
	a.completed++
	t := &a.run
	t.attempts += len(r.Attempts)
	t.statuses[r.Status]++
	for _, at := range r.Attempts {
		if at.Status == 429 {
			t.throttledAttempts++
		}
	}
	if r.RetryWait > 0 {
		t.retried++
		t.retryWait += r.RetryWait
	}
	if t.firstStart.IsZero() || r.Start.Before(t.firstStart) {
		t.firstStart = r.Start
	}
	if r.End.After(t.lastEnd) {
		t.lastEnd = r.End
	}
	if r.HasUtil {
		a.util.add(r.Start, r.Util)
		t.util = append(t.util, r.Util)
		t.utilAt = append(t.utilAt, sample{r.UtilAt, r.Trend})
	}
	switch {
	case r.ok():
		e2e := r.End.Sub(r.Start).Seconds()
		a.requests.add(r.Start, 1)
		a.e2e.add(r.Start, e2e)
		a.context.add(r.Start, float64(r.ContextTokens))
		a.gen.add(r.Start, float64(r.GeneratedTokens))
		t.succeeded++
		t.e2e = append(t.e2e, e2e)
		t.contextTokens += int64(r.ContextTokens)
		t.cachedTokens += int64(r.CachedTokens)
		t.genTokens += int64(r.GeneratedTokens)
		if a.keepCalls {
			t.calls = append(t.calls, call{r.Start, r.End, r.ContextTokens, r.CachedTokens, r.GeneratedTokens})
		}
		if !r.FirstToken.IsZero() {
			ttft := r.FirstToken.Sub(r.Start).Seconds()
			a.ttft.add(r.Start, ttft)
			t.ttft = append(t.ttft, ttft)
			if r.GeneratedTokens > 0 {
				decode := r.End.Sub(r.FirstToken).Seconds()
				tbt := decode / float64(r.GeneratedTokens)
				a.tbt.add(r.Start, tbt)
				t.tbt = append(t.tbt, tbt)
				// The first token's own time is prefill: speed counts the
				// tokens after it over the time they took.
				if r.GeneratedTokens > 1 && decode > 0 {
					t.streamTPS = append(t.streamTPS, float64(r.GeneratedTokens-1)/decode)
				}
			}
		}
	case r.Status == 429:
		a.failures++
		a.throttled++
		t.throttled++
		t.throttledTime += r.End.Sub(r.Start)
	default:
		a.failures++
		t.failed++
	}
}

// Stats is one line of the per-second output, with the keys, types and
// meaning of azure-openai-benchmark's JSONL. A nil pointer is "n/a".
type Stats struct {
	RunSeconds int
	Timestamp  string
	At         time.Time
	RPM        *float64 // successful calls per minute in the window
	Processing int
	Completed  int
	Failures   int // includes Throttled, as in azure-openai-benchmark
	Throttled  int
	// Answers429 counts every 429 answer so far, retried or not; ptu's
	// addition for the report, not printed.
	Answers429 int
	TPM        struct {
		Context, Gen *float64
		Total        float64 // an integer 0 when both are n/a
	}
	E2E, TTFT, TBT struct{ Avg, P95 *float64 } // seconds
	Util           struct{ Avg, P95 *float64 } // percent

	avgGen *float64 // generated tokens per successful call in the window
}

// snapshot computes the statistics at now and then slides the windows, as
// azure-openai-benchmark's _dump and _slide_window do.
func (a *aggregator) snapshot(now time.Time) Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Stats{At: now, Timestamp: now.Local().Format("2006-01-02 15:04:05")}
	s.RunSeconds = int(math.RoundToEven(now.Sub(a.start).Seconds()))
	dyn := min(float64(s.RunSeconds), a.window.Seconds())
	if dyn <= 0 {
		dyn = max(now.Sub(a.start).Seconds(), 1e-9)
	}
	if len(a.e2e) > 0 {
		s.E2E.Avg = ptr(round(load.Mean(a.e2e.values()), 3))
	}
	if len(a.e2e) > 1 {
		s.E2E.P95 = ptr(round(load.Percentile(a.e2e.values(), 95), 3))
	}
	if len(a.context) > 0 {
		s.TPM.Context = ptr(round(60*a.context.sum()/dyn, 0))
		s.TPM.Total += *s.TPM.Context
	}
	if len(a.gen) > 0 {
		s.avgGen = ptr(a.gen.sum() / float64(len(a.gen)))
		s.TPM.Gen = ptr(round(60*a.gen.sum()/dyn, 0))
		s.TPM.Total += *s.TPM.Gen
	}
	for _, m := range []struct {
		w        window
		avg, p95 **float64
		digits   int
	}{
		{a.ttft, &s.TTFT.Avg, &s.TTFT.P95, 3},
		{a.tbt, &s.TBT.Avg, &s.TBT.P95, 3},
		{a.util, &s.Util.Avg, &s.Util.P95, 1},
	} {
		if len(m.w) > 0 {
			*m.avg = ptr(round(load.Mean(m.w.values()), m.digits))
		}
		if len(m.w) > 1 {
			*m.p95 = ptr(round(load.Percentile(m.w.values(), 95), m.digits))
		}
	}
	if len(a.requests) > 0 {
		s.RPM = ptr(round(60*float64(len(a.requests))/dyn, 1))
	}
	s.Processing = min(a.clients, a.processing)
	s.Completed, s.Failures, s.Throttled = a.completed, a.failures, a.throttled
	s.Answers429 = a.run.throttledAttempts

	for _, w := range []*window{&a.requests, &a.e2e, &a.ttft, &a.tbt, &a.context, &a.gen, &a.util} {
		w.trim(now, a.window)
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// round rounds to digits decimals the way Python's round() does: the
// nearest decimal of the exact binary value.
func round(v float64, digits int) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// pyFloat formats a float as Python's repr does for the values the stats
// hold (1e-4 ≤ |v| < 1e16, or 0): the shortest form, with ".0" on whole numbers.
func pyFloat(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "null"
	}
	if v != 0 && (math.Abs(v) >= 1e16 || math.Abs(v) < 1e-4) {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		// Python writes 1e+16 and 1e-05: at least two exponent digits.
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[:1]
		digits := strings.TrimLeft(exp[1:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + sign + digits
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// JSONL returns the line azure-openai-benchmark prints with
// --output-format jsonl: the same keys in the same order, the same types
// ("n/a" strings for missing values, utilization as "42.0%"), and Python's
// json.dumps spacing.
func (s Stats) JSONL() string {
	var b strings.Builder
	b.Grow(420)
	num := func(p *float64) string {
		if p == nil {
			return `"n/a"`
		}
		return pyFloat(*p)
	}
	pct := func(p *float64) string {
		if p == nil {
			return `"n/a"`
		}
		return `"` + pyFloat(*p) + `%"`
	}
	total := "0"
	if s.TPM.Context != nil || s.TPM.Gen != nil {
		total = pyFloat(s.TPM.Total)
	}
	b.WriteString(`{"run_seconds": ` + strconv.Itoa(s.RunSeconds))
	b.WriteString(`, "timestamp": "` + s.Timestamp + `"`)
	b.WriteString(`, "rpm": ` + num(s.RPM))
	b.WriteString(`, "processing": ` + strconv.Itoa(s.Processing))
	b.WriteString(`, "completed": ` + strconv.Itoa(s.Completed))
	b.WriteString(`, "failures": ` + strconv.Itoa(s.Failures))
	b.WriteString(`, "throttled": ` + strconv.Itoa(s.Throttled))
	b.WriteString(`, "requests": ` + strconv.Itoa(s.Completed))
	b.WriteString(`, "tpm": {"context": ` + num(s.TPM.Context) + `, "gen": ` + num(s.TPM.Gen) + `, "total": ` + total + `}`)
	b.WriteString(`, "e2e": {"avg": ` + num(s.E2E.Avg) + `, "95th": ` + num(s.E2E.P95) + `}`)
	b.WriteString(`, "ttft": {"avg": ` + num(s.TTFT.Avg) + `, "95th": ` + num(s.TTFT.P95) + `}`)
	b.WriteString(`, "tbt": {"avg": ` + num(s.TBT.Avg) + `, "95th": ` + num(s.TBT.P95) + `}`)
	b.WriteString(`, "util": {"avg": ` + pct(s.Util.Avg) + `, "95th": ` + pct(s.Util.P95) + `}}`)
	return b.String()
}

// Human returns the line azure-openai-benchmark prints in its human format.
func (s Stats) Human() string {
	str := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return pyFloat(*p)
	}
	pct := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return pyFloat(*p) + "%"
	}
	total := "0"
	if s.TPM.Context != nil || s.TPM.Gen != nil {
		total = pyFloat(s.TPM.Total)
	}
	pad := func(v string, w int) string {
		if len(v) < w {
			return v + strings.Repeat(" ", w-len(v))
		}
		return v
	}
	var b strings.Builder
	b.WriteString(s.Timestamp)
	b.WriteString(" rpm: " + pad(str(s.RPM), 5))
	b.WriteString(" processing: " + pad(strconv.Itoa(s.Processing), 4))
	b.WriteString(" completed: " + pad(strconv.Itoa(s.Completed), 5))
	b.WriteString(" failures: " + pad(strconv.Itoa(s.Failures), 4))
	b.WriteString(" throttled: " + pad(strconv.Itoa(s.Throttled), 4))
	b.WriteString(" requests: " + pad(strconv.Itoa(s.Completed), 5))
	b.WriteString(" tpm: " + pad(total, 6))
	b.WriteString(" ttft_avg: " + pad(str(s.TTFT.Avg), 6))
	b.WriteString(" ttft_95th: " + pad(str(s.TTFT.P95), 6))
	b.WriteString(" tbt_avg: " + pad(str(s.TBT.Avg), 6))
	b.WriteString(" tbt_95th: " + pad(str(s.TBT.P95), 6))
	b.WriteString(" e2e_avg: " + pad(str(s.E2E.Avg), 6))
	b.WriteString(" e2e_95th: " + pad(str(s.E2E.P95), 6))
	b.WriteString(" util_avg: " + pad(pct(s.Util.Avg), 6))
	b.WriteString(" util_95th: " + pct(s.Util.P95))
	return b.String()
}

// servedPerMinute is the input-equivalent tokens per minute the successful
// calls were served at between from and to, each call's tokens spread
// evenly over its span: calls that straddle the edges count for the part
// inside, so neither the ramp-up nor the drain, nor calls that start and
// end together, skew it. The aggregator must keep its calls.
func (a *aggregator) servedPerMinute(from, to time.Time, outputWeight float64) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	span := to.Sub(from)
	if span <= 0 {
		return 0
	}
	total := 0.0
	for _, c := range a.run.calls {
		d := c.end.Sub(c.start)
		lo, hi := c.start, c.end
		if lo.Before(from) {
			lo = from
		}
		if hi.After(to) {
			hi = to
		}
		if d <= 0 || !hi.After(lo) {
			continue
		}
		units := float64(c.context-c.cached) + outputWeight*float64(c.gen)
		total += units * float64(hi.Sub(lo)) / float64(d)
	}
	return total / span.Minutes()
}
