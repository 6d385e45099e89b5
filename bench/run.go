package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu/internal/load"
	"github.com/ptu-dev/ptu/tokens"
)

// Report is what a run measured.
type Report struct {
	Config      Config // as run, defaults filled in; APIKey cleared
	ModelName   string // the catalog model sizing used ("" when unknown)
	Encoding    string // the tokenizer prompts were counted with
	Start, End  time.Time
	Stats       []Stats // one per second, as printed
	Summary     Summary
	Interrupted bool // the run's context ended before it did
}

// runner is one run in progress.
type runner struct {
	cfg    Config
	model  modelInfo
	prompt *prompter
	caller *caller
	agg    *aggregator
	logMu  sync.Mutex
	start  time.Time
	// keepCalls keeps every successful call's span for servedPerMinute.
	keepCalls bool
	// firstErr is the first failed call's error; stopped why the run ended
	// early (see refused).
	firstErr, stopped atomic.Pointer[string]
	succeeded         atomic.Bool
}

// refused reports whether a failed call's status means every later call
// will fail the same way: a wrong key (401), no access (403) or no such
// deployment (404). A run whose calls all get one of those stops at once
// rather than running its whole duration for nothing.
func refused(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound
}

// Run makes the calls cfg describes and returns what it measured. It
// prints the per-second statistics to cfg.Output as it goes. When ctx ends,
// the calls in flight are abandoned (and not counted) and the report covers
// the run so far.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	return r.run(ctx), nil
}

func newRunner(cfg Config) (*runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	mi, err := resolveModel(cfg)
	if err != nil {
		return nil, err
	}
	enc, err := tokens.Get(mi.encoding)
	if err != nil {
		return nil, err
	}
	p, err := newPrompter(enc, cfg.Shape, cfg.CacheRate, cfg.Seed)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient(cfg.Clients)
	}
	urls, header := cfg.target()
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &runner{
		cfg:    cfg,
		model:  mi,
		prompt: p,
		caller: &caller{urls: urls, header: header, http: hc, clock: cfg.Clock, retry: cfg.Retry,
			includeUsage: cfg.includeUsage(), rng: rand.New(rand.NewPCG(seed, 7))},
	}, nil
}

// newHTTPClient returns a client that keeps a connection per concurrent
// call and does not ask for compression (which would buffer the stream).
func newHTTPClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          clients + 16,
		MaxIdleConnsPerHost:   clients + 16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ReadBufferSize:        4096,
		WriteBufferSize:       4096,
	}}
}

// body builds the next call's request body and its prompt tokens.
func (r *runner) body() ([]byte, int) {
	b := requestBody{
		Messages:         r.prompt.next(),
		MaxTokens:        r.cfg.Shape.MaxTokens,
		FrequencyPenalty: r.cfg.FrequencyPenalty,
		PresencePenalty:  r.cfg.PresencePenalty,
		Temperature:      r.cfg.Temperature,
		TopP:             r.cfg.TopP,
		Stream:           true,
	}
	if r.cfg.Completions != 1 {
		b.N = r.cfg.Completions
	}
	if r.cfg.APIStyle == StyleOpenAI {
		b.Model = r.cfg.Deployment
	}
	if r.caller.includeUsage {
		b.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return b.marshal(), r.prompt.target
}

func (r *runner) logf(level, format string, args ...any) {
	if r.cfg.Log == nil {
		return
	}
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.cfg.Log, "%s %-8s %s\n", r.cfg.Clock.Now().Local().Format("2006-01-02 15:04:05"), level, fmt.Sprintf(format, args...))
}

func (r *runner) run(ctx context.Context) *Report {
	cfg := r.cfg
	clock := cfg.Clock
	r.start = clock.Now()
	r.agg = newAggregator(cfg.Clients, cfg.AggregationWindow, r.start)
	r.agg.keepCalls = r.keepCalls
	rep := &Report{Config: cfg, Encoding: r.prompt.encoding, Start: r.start}
	rep.Config.APIKey = ""
	if r.model.model != nil {
		rep.ModelName = r.model.model.Name + " " + r.model.model.Version
	}
	r.logf("INFO", "%d clients, context tokens %d, max tokens %s, counted with %s; starting load...",
		cfg.Clients, cfg.Shape.ContextTokens, maxTokensText(cfg.Shape.MaxTokens), rep.Encoding)

	// The per-second statistics.
	statsDone := make(chan struct{})
	statsStopped := make(chan struct{})
	var statsMu sync.Mutex
	emit := func(now time.Time) {
		s := r.agg.snapshot(now)
		statsMu.Lock()
		rep.Stats = append(rep.Stats, s)
		statsMu.Unlock()
		if cfg.Output != nil {
			line := s.Human()
			if cfg.OutputFormat == FormatJSONL {
				line = s.JSONL()
			}
			fmt.Fprintln(cfg.Output, line)
		}
		if cfg.StatsLog != nil {
			fmt.Fprintln(cfg.StatsLog, s.JSONL())
		}
		// As azure-openai-benchmark does every 10 s: short answers make
		// calls per minute look better than real traffic would.
		if s.RunSeconds%10 == 0 && s.avgGen != nil && cfg.Shape.MaxTokens > 0 && *s.avgGen < 0.9*float64(cfg.Shape.MaxTokens) {
			r.logf("WARNING", "average tokens per response is %d, compared to requested max_tokens of %d. this may mean measured rpm is higher and e2e request latency is faster than in real-world workloads (tpm, ttft & tbt stats will still be accurate).",
				int(*s.avgGen), cfg.Shape.MaxTokens)
		}
	}
	tickCtx, stopTicks := context.WithCancel(context.Background())
	go func() {
		defer close(statsStopped)
		for k := 1; ; k++ {
			next := r.start.Add(time.Duration(k) * time.Second)
			if clock.Sleep(tickCtx, next.Sub(clock.Now())) != nil {
				return
			}
			select {
			case <-statsDone:
				return
			default:
			}
			emit(clock.Now())
		}
	}()

	var (
		issued     atomic.Int64
		slowWarned atomic.Bool // the latency warning is given once
	)
	// more reports whether another call may start, and takes its place.
	more := func() bool {
		if r.stopped.Load() != nil {
			return false
		}
		if cfg.Duration > 0 && clock.Now().Sub(r.start) >= cfg.Duration {
			return false
		}
		return cfg.Requests == 0 || issued.Add(1) <= int64(cfg.Requests)
	}
	call := func(ctx context.Context, _ time.Time) bool {
		body, n := r.body()
		r.agg.started()
		res := r.caller.do(ctx, body, n)
		if res == nil {
			r.agg.abandoned()
			return false
		}
		r.agg.add(res)
		r.writeRequestLog(res)
		r.check(res)
		if e2e := res.End.Sub(res.Start); res.ok() && e2e > cfg.AggregationWindow && slowWarned.CompareAndSwap(false, true) {
			r.logf("WARNING", "request completed in %.2f seconds, while aggregation-window is %.2f seconds, consider increasing aggregation-window to at least 2x your typical request latency.",
				e2e.Seconds(), cfg.AggregationWindow.Seconds())
		}
		return true
	}
	loop := load.Loop{Clock: clock, Callers: cfg.Clients, More: more}
	if cfg.Rate > 0 {
		loop.Arrivals = load.NewSchedule(r.start, time.Duration(float64(time.Minute)/cfg.Rate), cfg.Arrivals == ArrivalsPoisson, cfg.Seed)
		loop.Late = r.lateWarning()
		loop.More = func() bool {
			if more() {
				return true
			}
			if ctx.Err() == nil {
				r.logf("INFO", "waiting for %d calls in flight to finish", r.agg.inFlight())
			}
			return false
		}
	}
	loop.Run(ctx, call)
	close(statsDone)
	stopTicks()
	<-statsStopped
	rep.End = clock.Now()
	emit(rep.End) // the last calls, as azure-openai-benchmark prints them when it stops
	rep.Interrupted = ctx.Err() != nil
	rep.Summary = r.summary(rep.End)
	r.logf("INFO", "finished load test")
	return rep
}

// check notes a finished call's failure: the first is logged, and a run
// whose calls are all refused stops (see refused).
func (r *runner) check(res *result) {
	if res.ok() {
		r.succeeded.Store(true)
		return
	}
	if res.Err == "throttled" || res.Err == "" {
		return
	}
	msg := res.Err
	if res.Status == 0 {
		msg = "no answer: " + msg
	}
	if r.firstErr.CompareAndSwap(nil, &msg) {
		r.logf("ERROR", "call failed: %s", msg)
	}
	if refused(res.Status) && !r.succeeded.Load() {
		why := fmt.Sprintf("every call so far was refused with HTTP %d, which more calls will not change", res.Status)
		if r.stopped.CompareAndSwap(nil, &why) {
			r.logf("ERROR", "stopping: %s", why)
		}
	}
}

// lateWarning returns what a paced run does with each call it hands out:
// when every client was busy the call went out late, and the rate asked
// for is not what the deployment is getting. It warns at most every 10 s.
func (r *runner) lateWarning() func(due time.Time) {
	clock := r.cfg.Clock
	var lastWarn time.Time
	return func(due time.Time) {
		if lag := clock.Now().Sub(due); lag > time.Second && clock.Now().Sub(lastWarn) > 10*time.Second {
			lastWarn = clock.Now()
			r.logf("WARNING", "falling behind committed rate by %.3fs, consider increasing number of clients.", lag.Seconds())
		}
	}
}

func maxTokensText(n int) string {
	if n == 0 {
		return "unset"
	}
	return fmt.Sprint(n)
}

func (a *aggregator) inFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.processing
}

// requestLine is one line of the per-call log.
type requestLine struct {
	Start           string        `json:"start"`
	End             string        `json:"end"`
	Status          int           `json:"status"`
	Outcome         string        `json:"outcome"` // ok, throttled, failed
	Error           string        `json:"error,omitempty"`
	Attempts        []attemptLine `json:"attempts"`
	RetryWaitMs     float64       `json:"retry_wait_ms"`
	E2E             float64       `json:"e2e"`
	TTFT            *float64      `json:"ttft"`
	TBT             *float64      `json:"tbt"`
	ContextTokens   int           `json:"context_tokens"`
	PromptTokens    int           `json:"prompt_tokens,omitempty"`
	CachedTokens    int           `json:"cached_tokens"`
	GeneratedTokens int           `json:"generated_tokens"`
	Util            *float64      `json:"util"`
}

type attemptLine struct {
	Status       int     `json:"status"`
	RetryAfterMs float64 `json:"retry_after_ms,omitempty"`
	WaitMs       float64 `json:"wait_ms,omitempty"`
	RequestID    string  `json:"request_id,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *runner) writeRequestLog(res *result) {
	if r.cfg.RequestLog == nil {
		return
	}
	l := requestLine{
		Start:           res.Start.UTC().Format(time.RFC3339Nano),
		End:             res.End.UTC().Format(time.RFC3339Nano),
		Status:          res.Status,
		Outcome:         "failed",
		Error:           res.Err,
		RetryWaitMs:     ms(res.RetryWait),
		E2E:             res.End.Sub(res.Start).Seconds(),
		ContextTokens:   res.ContextTokens,
		PromptTokens:    res.PromptTokens,
		CachedTokens:    res.CachedTokens,
		GeneratedTokens: res.GeneratedTokens,
	}
	switch {
	case res.ok():
		l.Outcome, l.Error = "ok", ""
	case res.Status == http.StatusTooManyRequests:
		l.Outcome = "throttled"
	}
	if !res.FirstToken.IsZero() {
		l.TTFT = ptr(res.FirstToken.Sub(res.Start).Seconds())
		if res.GeneratedTokens > 0 {
			l.TBT = ptr(res.End.Sub(res.FirstToken).Seconds() / float64(res.GeneratedTokens))
		}
	}
	if res.HasUtil {
		l.Util = ptr(res.Util)
	}
	for _, a := range res.Attempts {
		l.Attempts = append(l.Attempts, attemptLine{Status: a.Status, RetryAfterMs: ms(a.RetryAfter), WaitMs: ms(a.Wait), RequestID: a.RequestID})
	}
	data, err := json.Marshal(l)
	if err != nil {
		return
	}
	r.logMu.Lock()
	defer r.logMu.Unlock()
	_, _ = r.cfg.RequestLog.Write(append(data, '\n'))
}
