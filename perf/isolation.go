package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/load"
	"github.com/ptu-dev/ptu/server"
)

// IsolationOptions configure the isolation and accuracy run: deployments A
// and B of one gpt-4o pool served by the simulated engine, the pool exactly
// as large as the two.
type IsolationOptions struct {
	Scale     float64       // simulated seconds per real second (engine and limiter clock alike)
	Warmup    time.Duration // simulated time before measuring
	Measure   time.Duration // simulated time measured
	APTU      int           // A's PTUs
	BPTU      int           // B's PTUs
	ALoad     float64       // A's offered load over its capacity (4 = 400 %)
	BLoad     float64       // B's
	Prompt    int           // prompt tokens per call
	MaxTokens int           // max_tokens per call
	// Sequential runs B alone first, then A and B; by default the two
	// phases run at the same time on two servers.
	Sequential bool
	WorkDir    string
	Progress   io.Writer
}

func (o *IsolationOptions) defaults() {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Scale, 10)
	def(&o.ALoad, 4)
	def(&o.BLoad, 0.5)
	defInt(&o.APTU, 100)
	defInt(&o.BPTU, 100)
	defInt(&o.Prompt, 500)
	defInt(&o.MaxTokens, 400)
	if o.Warmup == 0 {
		o.Warmup = 5 * time.Minute
	}
	if o.Measure == 0 {
		o.Measure = 10 * time.Minute
	}
}

const (
	isoModel   = "gpt-4o"
	isoVersion = "2024-08-06"
)

const isoConfig = `regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota:
  ProvisionedManaged: 100000
  GlobalProvisionedManaged: 100000
  DataZoneProvisionedManaged: 100000
subscriptions:
  - {id: %s, displayName: bench}
pools:
  - {region: eastus, model: %s, version: %q, ptu: %d}
`

// IsolationReport is what the isolation run measured; times are simulated.
type IsolationReport struct {
	Options      IsolationOptions `json:"options"`
	Machine      Machine          `json:"machine"`
	CapacityA    float64          `json:"capacity_a_tokens_per_min"`
	MeanCost     float64          `json:"mean_cost_tokens"` // expected input-equivalent tokens per call
	BAlone       Latency          `json:"b_alone"`
	BWithA       Latency          `json:"b_with_a"`
	BThrottled   int              `json:"b_throttled"`  // with A
	BP99Change   float64          `json:"b_p99_change"` // (with A − alone) / alone
	AAccepted    float64          `json:"a_accepted"`   // A's admitted real cost over its capacity, the measured window
	AThrottled   float64          `json:"a_throttled"`  // share of A's calls answered 429
	AByMinute    []float64        `json:"a_accepted_by_minute"`
	BP99ByMinute []time.Duration  `json:"b_p99_by_minute_ns"` // with A
	// LagAlone and LagWithA are the longest a 10 ms timer of this process
	// overslept in each simulated minute of the measured window (real
	// time): the CPU stalls the simulated engine's own 10 ms scheduler
	// also suffered, each stretched Scale times in simulated time.
	LagAlone []time.Duration `json:"timer_lag_alone_by_minute_ns"`
	LagWithA []time.Duration `json:"timer_lag_with_a_by_minute_ns"`
	Failed   int             `json:"failed"`
	Elapsed  time.Duration   `json:"elapsed_real_ns"`
}

type isoCall struct {
	at     time.Duration // arrival, simulated, from the start
	status int
	lat    time.Duration // simulated
	cost   float64       // prompt + weight × completion, from the answer's usage
}

// RunIsolation runs B alone, then A and B together, each on a fresh server.
func RunIsolation(ctx context.Context, opt IsolationOptions) (*IsolationReport, error) {
	opt.defaults()
	start := time.Now()
	m, ok := catalog.Default().Lookup(isoModel, isoVersion)
	if !ok {
		return nil, fmt.Errorf("%s %s is not in the catalog", isoModel, isoVersion)
	}
	meanCost := float64(opt.Prompt) + m.OutputWeight*meanOutput(256, 128, opt.MaxTokens)
	rep := &IsolationReport{Options: opt, Machine: DescribeMachine(), MeanCost: meanCost,
		CapacityA: float64(opt.APTU * m.InputTPMPerPTU)}
	capB := float64(opt.BPTU * m.InputTPMPerPTU)
	rateA := opt.ALoad * rep.CapacityA / 60 / meanCost // calls per simulated second
	rateB := opt.BLoad * capB / 60 / meanCost

	// The two phases run at the same time, each on its own server, so the
	// shared machine's stalls fall on both alike; sequentially, a busy
	// minute of other work lands on one of them only.
	var alone, withB, withA []isoCall
	var lagAlone, lagWithA []time.Duration
	var errAlone, errWith error
	var phases sync.WaitGroup
	phases.Go(func() { alone, _, lagAlone, errAlone = isolationPhase(ctx, opt, "alone", 0, rateB) })
	if opt.Sequential {
		phases.Wait()
	}
	phases.Go(func() { withB, withA, lagWithA, errWith = isolationPhase(ctx, opt, "with-a", rateA, rateB) })
	phases.Wait()
	if err := errors.Join(errAlone, errWith); err != nil {
		return nil, err
	}
	total := opt.Warmup + opt.Measure
	measured := func(calls []isoCall) []isoCall {
		var out []isoCall
		for _, c := range calls {
			if c.at >= opt.Warmup && c.at < total {
				out = append(out, c)
			}
		}
		return out
	}
	lats := func(calls []isoCall) []time.Duration {
		var out []time.Duration
		for _, c := range calls {
			if c.status == 200 {
				out = append(out, c.lat)
			}
		}
		return out
	}
	for _, c := range append(append(alone, withB...), withA...) {
		if c.status != 200 && c.status != 429 {
			rep.Failed++
		}
	}
	rep.BAlone = Summarize(lats(measured(alone)))
	bm := measured(withB)
	rep.BWithA = Summarize(lats(bm))
	for _, c := range bm {
		if c.status == 429 {
			rep.BThrottled++
		}
	}
	if rep.BAlone.P99 > 0 {
		rep.BP99Change = float64(rep.BWithA.P99-rep.BAlone.P99) / float64(rep.BAlone.P99)
	}
	am := measured(withA)
	rep.AAccepted, rep.AThrottled = accepted(am, rep.CapacityA, opt.Measure)
	for t := opt.Warmup; t+time.Minute <= total; t += time.Minute {
		var a, b []isoCall
		for _, c := range am {
			if c.at >= t && c.at < t+time.Minute {
				a = append(a, c)
			}
		}
		for _, c := range bm {
			if c.at >= t && c.at < t+time.Minute {
				b = append(b, c)
			}
		}
		share, _ := accepted(a, rep.CapacityA, time.Minute)
		rep.AByMinute = append(rep.AByMinute, share)
		rep.BP99ByMinute = append(rep.BP99ByMinute, Summarize(lats(b)).P99)
		m := int(t / time.Minute)
		if m < len(lagAlone) {
			rep.LagAlone = append(rep.LagAlone, lagAlone[m])
		}
		if m < len(lagWithA) {
			rep.LagWithA = append(rep.LagWithA, lagWithA[m])
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// accepted is the real cost of the admitted calls over capacity × window,
// and the share of calls throttled.
func accepted(calls []isoCall, capacityPerMin float64, window time.Duration) (share, throttled float64) {
	var cost float64
	var n429 int
	for _, c := range calls {
		switch c.status {
		case 200:
			cost += c.cost
		case 429:
			n429++
		}
	}
	if len(calls) > 0 {
		throttled = float64(n429) / float64(len(calls))
	}
	return cost / (capacityPerMin * window.Minutes()), throttled
}

// isolationPhase runs one server with deployments A and B, calling A at
// rateA and B at rateB (simulated calls per second; 0 sends none).
func isolationPhase(ctx context.Context, opt IsolationOptions, name string, rateA, rateB float64) (bCalls, aCalls []isoCall, lag []time.Duration, err error) {
	dir, err := os.MkdirTemp(opt.WorkDir, "isolation-"+name+"-")
	if err != nil {
		return nil, nil, nil, err
	}
	defer os.RemoveAll(dir)
	origin := time.Now()
	scale := opt.Scale
	clk := clock.NewScaled(scale) // simulated time
	logf, err := os.Create(dir + "/serve.log")
	if err != nil {
		return nil, nil, nil, err
	}
	defer logf.Close()
	s, err := StartServer(ctx, dir, fmt.Sprintf(isoConfig, benchSubscription, isoModel, isoVersion, opt.APTU+opt.BPTU), "", logf,
		server.Options{SimTimeScale: scale, Now: clk.Now})
	if err != nil {
		return nil, nil, nil, err
	}
	defer s.Stop()
	endpoint, key, err := deploy(ctx, s.URL, "isolation", []deployment{
		{"dep-a", isoModel, isoVersion, opt.APTU}, {"dep-b", isoModel, isoVersion, opt.BPTU}})
	if err != nil {
		return nil, nil, nil, err
	}
	url := func(d string) string {
		return endpoint + "openai/deployments/" + d + "/chat/completions?api-version=" + apiVersion
	}
	prompt := promptText(opt.Prompt)
	m, _ := catalog.Default().Lookup(isoModel, isoVersion)
	c := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	total := opt.Warmup + opt.Measure
	realTotal := time.Duration(float64(total) / scale)
	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "isolation %s: %s simulated (%s real), A %.2f calls/s, B %.2f calls/s (simulated)\n",
			name, total, realTotal.Round(time.Second), rateA, rateB)
	}
	drive := func(dep string, rate float64, seedBase int) []isoCall {
		if rate == 0 {
			return nil
		}
		n := int(rate * total.Seconds())
		calls := make([]isoCall, n)
		begin, gap := clk.Now(), time.Duration(float64(time.Second)/rate)
		sent := 0
		load.Loop{Clock: clk, Arrivals: load.NewSchedule(begin, gap, false, 0), More: func() bool {
			sent++
			return sent <= n
		}}.Run(ctx, func(ctx context.Context, due time.Time) bool {
			at := due.Sub(begin) // simulated; the i-th call is due at begin + i·gap
			i := int(at / gap)
			body := fmt.Appendf(nil, `{"messages":[{"role":"user","content":%q}],"max_tokens":%d,"seed":%d}`, prompt, opt.MaxTokens, seedBase+i)
			status, usage, err := postUsage(ctx, c, url(dep), key, body)
			if err != nil {
				status = -1
			}
			calls[i] = isoCall{at: at, status: status, lat: clk.Now().Sub(due),
				cost: float64(usage.PromptTokens-usage.Cached()) + m.OutputWeight*float64(usage.CompletionTokens)}
			return true
		})
		return calls
	}
	var wg sync.WaitGroup
	lagCtx, stopLag := context.WithCancel(ctx)
	var lagWG sync.WaitGroup
	lagWG.Go(func() { lag = timerLag(lagCtx, time.Duration(float64(time.Minute)/scale)) })
	wg.Go(func() { aCalls = drive("dep-a", rateA, 1_000_000) })
	bCalls = drive("dep-b", rateB, 0)
	wg.Wait()
	stopLag()
	lagWG.Wait()
	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "isolation %s: done in %s\n", name, time.Since(origin).Round(time.Second))
	}
	return bCalls, aCalls, lag, ctx.Err()
}

// timerLag sleeps 10 ms at a time until ctx ends and returns, for each
// period, the most a sleep overran.
func timerLag(ctx context.Context, period time.Duration) []time.Duration {
	var out []time.Duration
	start := time.Now()
	for ctx.Err() == nil {
		t0 := time.Now()
		time.Sleep(10 * time.Millisecond)
		over := time.Since(t0) - 10*time.Millisecond
		i := int(time.Since(start) / period)
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i] = max(out[i], over)
	}
	return out
}

type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u usage) Cached() int {
	if u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CachedTokens
}

func postUsage(ctx context.Context, c *http.Client, url, key string, body []byte) (int, usage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, usage{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", key)
	res, err := c.Do(req)
	if err != nil {
		return 0, usage{}, err
	}
	defer res.Body.Close()
	var out struct {
		Usage usage `json:"usage"`
	}
	if res.StatusCode == 200 {
		err = json.NewDecoder(res.Body).Decode(&out)
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, out.Usage, err
}

// promptText is about n tokens of varied English words (one token each in
// o200k_base), different enough that no prefix repeats across lengths.
func promptText(n int) string {
	words := []string{"the", "river", "light", "keeper", "stone", "north", "wind", "green", "house", "small", "road", "night",
		"water", "field", "early", "song", "bright", "cold", "town", "market"}
	var b strings.Builder
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

// meanOutput is the mean answer length of the engine's log-normal length
// distribution (mean, stddev; rounded, at least 1) cut at maxTokens,
// estimated with a fixed seed.
func meanOutput(mean, stddev float64, maxTokens int) float64 {
	r := rand.New(rand.NewPCG(1, 2))
	s2 := math.Log(1 + stddev*stddev/(mean*mean))
	mu := math.Log(mean) - s2/2
	sum := 0.0
	const n = 200_000
	for range n {
		x := math.Exp(mu + math.Sqrt(s2)*r.NormFloat64())
		sum += float64(max(1, min(maxTokens, int(math.Round(x)))))
	}
	return sum / n
}

// WriteTable prints the isolation report.
func (r *IsolationReport) WriteTable(w io.Writer) {
	o := r.Options
	how := "the two phases at the same time"
	if o.Sequential {
		how = "B alone first, then A and B"
	}
	fmt.Fprintf(w, "A: %d PTU at %.0f %%, B: %d PTU at %.0f %%, one pool of %d PTU; %s warm-up, %s measured (simulated, %g× real time; %s); real %s\n\n",
		o.APTU, o.ALoad*100, o.BPTU, o.BLoad*100, o.APTU+o.BPTU, o.Warmup, o.Measure, o.Scale, how, r.Elapsed.Round(time.Second))
	fmt.Fprintln(w, "| B's latency (simulated) | calls | p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, row := range []struct {
		name string
		l    Latency
	}{{"B alone", r.BAlone}, {"B with A at " + fmt.Sprintf("%.0f %%", o.ALoad*100), r.BWithA}} {
		fmt.Fprintf(w, "| %s | %d | %.2f s | %.2f s | %.2f s | %.2f s |\n", row.name, row.l.N, row.l.P50.Seconds(), row.l.P90.Seconds(), row.l.P99.Seconds(), row.l.Max.Seconds())
	}
	fmt.Fprintf(w, "\n- B's p99 with A against alone: %+.1f %% (target within ±5 %%): %s; B throttled: %d\n", r.BP99Change*100, metStr(math.Abs(r.BP99Change) <= 0.05), r.BThrottled)
	fmt.Fprintf(w, "- A's accepted throughput: %.1f %% of its capacity (target 100 ± 2 %%): %s; %.1f %% of A's calls throttled\n",
		r.AAccepted*100, metStr(math.Abs(r.AAccepted-1) <= 0.02), r.AThrottled*100)
	var mins []string
	for _, a := range r.AByMinute {
		mins = append(mins, fmt.Sprintf("%.1f", a*100))
	}
	fmt.Fprintf(w, "- A's accepted throughput by minute (%%): %s\n", strings.Join(mins, " "))
	mins = mins[:0]
	for _, p := range r.BP99ByMinute {
		mins = append(mins, fmt.Sprintf("%.2f", p.Seconds()))
	}
	fmt.Fprintf(w, "- B's p99 with A by minute (s): %s\n", strings.Join(mins, " "))
	for _, l := range []struct {
		name string
		lags []time.Duration
	}{{"alone", r.LagAlone}, {"with A", r.LagWithA}} {
		mins = mins[:0]
		for _, d := range l.lags {
			mins = append(mins, fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)))
		}
		fmt.Fprintf(w, "- longest CPU stall (10 ms timer overrun, real ms) by minute, %s: %s\n", l.name, strings.Join(mins, " "))
	}
	if r.Failed > 0 {
		fmt.Fprintf(w, "- %d calls failed\n", r.Failed)
	}
}

func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}
