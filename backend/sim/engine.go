package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu/backend"
)

// Config describes one capacity pool of the simulated engine.
type Config struct {
	// RatedTPM is the input-equivalent tokens per minute the pool sustains:
	// pool PTUs × the model's input TPM per PTU. Required.
	RatedTPM float64
	// OutputWeight is how many input tokens one output token counts as (the
	// model's output-to-input ratio). Default 4.
	OutputWeight float64
	// PrefillTPS is the prompt tokens per second one request is prefilled at
	// when the pool is not overloaded. Default 3000.
	PrefillTPS float64
	// DecodeTPS is the output tokens per second of one choice when the pool is
	// not overloaded. Default 75 (1.5 × a 50 TPS latency target).
	DecodeTPS float64
	// TimeScale speeds the simulation up: 10 runs ten times faster than real
	// time. Default 1.
	TimeScale float64
	// Tokenizer is the model's tokenizer. Default: the DefaultEncoding tiktoken encoding.
	Tokenizer Tokenizer
	// OutputMean and OutputStdDev shape the log-normal length of a choice
	// (before max_tokens and stop sequences cut it). Defaults 256 and OutputMean/2.
	OutputMean   float64
	OutputStdDev float64
	// MaxOutput caps the length a choice may reach on its own. Default 4096.
	MaxOutput int
	// Tick is how often the scheduler advances the streams in flight, in real
	// time. Default 10ms.
	Tick time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Instant answers every request at once, with the same text and token
	// counts it would otherwise release over time: no prefill, no decode
	// speed, no rating. For measuring what sits in front of a model server
	// (ptu sim --instant).
	Instant bool
}

// Engine simulates a GPU replica set serving one model with continuous
// batching. See the package documentation for the model it follows.
type Engine struct {
	cfg      Config
	voc      *vocabulary
	capacity float64 // input-equivalent tokens per second of the pool, TimeScale applied
	prefill  float64 // prompt tokens per second of one request, TimeScale applied
	decode   float64 // output tokens per second of one choice, TimeScale applied
	manual   bool    // no scheduler goroutine: tests call step

	mu        sync.Mutex
	active    []*stream
	last      time.Time // when the streams in flight were last advanced
	running   bool      // the scheduler goroutine is running
	load      float64   // demand / capacity at the last step
	processed float64   // input-equivalent tokens processed
	requests  int64     // requests started

	demands []demand  // scratch for step
	wakes   []*stream // scratch for step
}

var _ backend.Backend = (*Engine)(nil)

// New returns an engine for cfg, filling in defaults.
func New(cfg Config) (*Engine, error) {
	return newEngine(cfg, false)
}

func newEngine(cfg Config, manual bool) (*Engine, error) {
	if !(cfg.RatedTPM > 0) {
		return nil, fmt.Errorf("sim: RatedTPM must be positive, got %v", cfg.RatedTPM)
	}
	for _, f := range []struct {
		name string
		v    *float64
		def  float64
	}{
		{"OutputWeight", &cfg.OutputWeight, 4},
		{"PrefillTPS", &cfg.PrefillTPS, 3000},
		{"DecodeTPS", &cfg.DecodeTPS, 75},
		{"TimeScale", &cfg.TimeScale, 1},
		{"OutputMean", &cfg.OutputMean, 256},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if !(*f.v > 0) || math.IsInf(*f.v, 0) {
			return nil, fmt.Errorf("sim: %s must be positive, got %v", f.name, *f.v)
		}
	}
	if cfg.OutputStdDev == 0 {
		cfg.OutputStdDev = cfg.OutputMean / 2
	}
	if cfg.OutputStdDev < 0 {
		return nil, fmt.Errorf("sim: OutputStdDev must not be negative, got %v", cfg.OutputStdDev)
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = 4096
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tokenizer == nil {
		t, err := Tiktoken(DefaultEncoding)
		if err != nil {
			return nil, err
		}
		cfg.Tokenizer = t
	}
	voc, err := newVocabulary(cfg.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return &Engine{
		cfg:      cfg,
		voc:      voc,
		capacity: cfg.RatedTPM / 60 * cfg.TimeScale,
		prefill:  cfg.PrefillTPS * cfg.TimeScale,
		decode:   cfg.DecodeTPS * cfg.TimeScale,
		manual:   manual,
	}, nil
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// stream is one request in flight.
type stream struct {
	arrived time.Time
	lens    []int // tokens of each choice
	maxLen  int   // tokens of the longest choice
	wake    chan struct{}

	// Guarded by Engine.mu.
	idx         int     // position in Engine.active; -1 once it left
	prompt      float64 // prompt tokens to prefill
	prefillLeft float64 // input-equivalent prefill work left
	decoded     float64 // output tokens produced per choice (fractional)
	firstAt     time.Time
	lastAt      time.Time
	from, to    time.Time // the span being advanced in this step

	pos atomic.Int64 // whole tokens produced per choice, for the request's goroutine
}

// activeChoices counts the choices still decoding.
func (s *stream) activeChoices() int {
	n, at := 0, int(s.decoded)
	for _, l := range s.lens {
		if l > at {
			n++
		}
	}
	return n
}

// Generate implements backend.Backend. The text is fixed when the request
// starts (deterministic when req.Seed is set); the scheduler then releases it
// at the speed the pool's load allows.
func (e *Engine) Generate(ctx context.Context, req backend.Request, emit func(backend.Event) error) (backend.Result, error) {
	if req.PromptTokens < 0 || req.CachedTokens < 0 || req.CachedTokens > req.PromptTokens {
		return backend.Result{}, fmt.Errorf("sim: bad token counts: prompt %d, cached %d", req.PromptTokens, req.CachedTokens)
	}
	if req.MaxTokens < 0 || req.N < 0 {
		return backend.Result{}, fmt.Errorf("sim: bad max tokens %d or n %d", req.MaxTokens, req.N)
	}
	choices := e.plan(req)
	if e.cfg.Instant {
		return e.instant(ctx, req, choices, emit)
	}
	s := e.newStream(req, choices)
	e.add(s)

	out := make([]emitter, len(choices))
	for i, c := range choices {
		out[i] = emitter{gen: c.gen, cut: c.cut}
	}
	emitted := 0 // tokens per choice handed to emit
	pending := make([]int, len(choices))
	for emitted < s.maxLen {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return e.finish(s, req), ctx.Err()
		}
		pos := int(s.pos.Load())
		for ; emitted < pos; emitted++ {
			for i, c := range choices {
				if emitted >= c.tokens {
					continue
				}
				pending[i]++
				last := emitted == c.tokens-1
				text := out[i].next()
				if text == "" && !last {
					continue // a token of a stop sequence: counted, not shown
				}
				ev := backend.Event{Index: i, Text: text, Tokens: pending[i]}
				if last {
					ev.FinishReason = c.finish
				}
				pending[i] = 0
				if err := emit(ev); err != nil {
					return e.finish(s, req), err
				}
			}
		}
	}
	return e.finish(s, req), nil
}

// instant emits every token of choices at once, in the order the scheduler
// would, and counts the request as processed.
func (e *Engine) instant(ctx context.Context, req backend.Request, choices []choice, emit func(backend.Event) error) (backend.Result, error) {
	now := e.cfg.Now()
	res := backend.Result{PromptTokens: req.PromptTokens, CachedTokens: req.CachedTokens}
	longest := 0
	out := make([]emitter, len(choices))
	for i, c := range choices {
		longest = max(longest, c.tokens)
		out[i] = emitter{gen: c.gen, cut: c.cut}
	}
	pending := make([]int, len(choices))
	var err error
	emitted := 0
emitting:
	for ; emitted < longest; emitted++ {
		if err = ctx.Err(); err != nil {
			break
		}
		for i, c := range choices {
			if emitted >= c.tokens {
				continue
			}
			pending[i]++
			last := emitted == c.tokens-1
			text := out[i].next()
			if text == "" && !last {
				continue
			}
			ev := backend.Event{Index: i, Text: text, Tokens: pending[i]}
			if last {
				ev.FinishReason = c.finish
			}
			pending[i] = 0
			if err = emit(ev); err != nil {
				emitted++ // produced, then refused by the client
				break emitting
			}
		}
	}
	for _, c := range choices {
		res.CompletionTokens += min(emitted, c.tokens)
	}
	if res.CompletionTokens > 0 {
		res.FirstToken, res.LastToken = now, now
	}
	e.mu.Lock()
	e.requests++
	e.processed += float64(req.PromptTokens-req.CachedTokens) + e.cfg.OutputWeight*float64(res.CompletionTokens)
	e.mu.Unlock()
	return res, err
}

// plan fixes the length, finish and text source of each choice of req.
func (e *Engine) plan(req backend.Request) []choice {
	choices := make([]choice, max(req.N, 1))
	s1, s2 := seedFor(req.Model, req.PromptTokens, req.Body, req.Seed)
	for i := range choices {
		src := choiceSource(s1, s2, i)
		length := outputLength(rand.New(src), e.cfg.OutputMean, e.cfg.OutputStdDev, e.cfg.MaxOutput)
		c := choice{tokens: length, cut: -1, finish: backend.FinishStop}
		if req.MaxTokens > 0 && length > req.MaxTokens {
			c.tokens, c.finish = req.MaxTokens, backend.FinishLength
		}
		c.gen = textGen{v: e.voc, src: *src, n: c.tokens, natural: c.finish == backend.FinishStop}
		c.applyStop(req.Stop)
		choices[i] = c
	}
	return choices
}

func (e *Engine) newStream(req backend.Request, choices []choice) *stream {
	n := len(choices)
	s := &stream{
		arrived: e.cfg.Now(),
		lens:    make([]int, n),
		wake:    make(chan struct{}, 1),
	}
	for i, c := range choices {
		s.lens[i] = c.tokens
		s.maxLen = max(s.maxLen, c.tokens)
	}
	// Prefill produces the first output token of every choice, so it also
	// does their work: a request costs exactly (prompt - cached) + weight × output.
	s.prompt = float64(req.PromptTokens - req.CachedTokens)
	s.prefillLeft = s.prompt + e.cfg.OutputWeight*float64(n)
	return s
}

// add puts s in flight and makes sure the scheduler runs.
func (e *Engine) add(s *stream) {
	e.mu.Lock()
	if len(e.active) == 0 {
		e.last = s.arrived
	}
	s.idx = len(e.active)
	e.active = append(e.active, s)
	e.requests++
	start := !e.running && !e.manual
	e.running = e.running || start
	e.mu.Unlock()
	if start {
		go e.run()
	}
}

// finish takes s out of flight (if the scheduler has not already) and
// reports what it processed.
func (e *Engine) finish(s *stream, req backend.Request) backend.Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.idx >= 0 {
		last := e.active[len(e.active)-1]
		e.active[s.idx], last.idx = last, s.idx
		e.active[len(e.active)-1] = nil
		e.active = e.active[:len(e.active)-1]
		s.idx = -1
	}
	res := backend.Result{
		PromptTokens: req.PromptTokens,
		CachedTokens: req.CachedTokens,
		FirstToken:   s.firstAt,
		LastToken:    s.lastAt,
	}
	if s.prefillLeft > 0 {
		done := int(s.prompt + e.cfg.OutputWeight*float64(len(s.lens)) - s.prefillLeft)
		res.PromptTokens = req.CachedTokens + min(done, req.PromptTokens-req.CachedTokens)
	}
	pos := int(s.pos.Load())
	for _, l := range s.lens {
		res.CompletionTokens += min(pos, l)
	}
	return res
}

// run is the scheduler: it advances every stream in flight once per tick,
// and stops when none are left.
func (e *Engine) run() {
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for range t.C {
		if !e.step() {
			return
		}
	}
}

type demand struct {
	rate   float64 // input-equivalent tokens per second the stream would use
	weight float64 // share of the step the stream was in flight
}

// step advances the streams in flight to now. The pool's capacity is shared
// max-min fairly: a stream gets what it can use up to a common level, so
// under the rating every stream runs at its own ceiling and over it the
// biggest users slow down first (with equal streams, all slow down alike).
// It reports false, and marks the scheduler stopped, when nothing is in flight.
func (e *Engine) step() bool {
	now := e.cfg.Now()
	e.mu.Lock()
	if len(e.active) == 0 {
		e.running = false
		e.load = 0
		e.mu.Unlock()
		return false
	}
	level := e.share(now)
	wakes := e.advanceAll(level)
	e.mu.Unlock()

	for _, s := range wakes {
		select {
		case s.wake <- struct{}{}:
		default: // already signalled; it will read the latest position
		}
	}
	clear(wakes)
	e.wakes = wakes[:0]
	return true
}

// share measures the demand of the streams in flight since the last step
// and returns the level each may use up to (+Inf when the pool is not
// over-subscribed); it moves the step's clock to now. e.mu is held.
func (e *Engine) share(now time.Time) float64 {
	span := now.Sub(e.last).Seconds()
	ds := e.demands[:0]
	total := 0.0
	for _, s := range e.active {
		s.from, s.to = later(e.last, s.arrived), now
		dt := s.to.Sub(s.from).Seconds()
		if dt <= 0 || span <= 0 {
			continue
		}
		d := demand{rate: e.demandOf(s), weight: dt / span}
		total += d.rate * d.weight
		ds = append(ds, d)
	}
	level := math.Inf(1)
	if span > 0 {
		e.load = total / e.capacity
	}
	if total > e.capacity {
		level = waterLevel(ds, e.capacity)
	}
	e.demands = ds[:0]
	if now.After(e.last) {
		e.last = now
	}
	return level
}

// advanceAll moves every stream in flight on at level, drops the finished
// ones and returns those with new output to wake. e.mu is held.
func (e *Engine) advanceAll(level float64) []*stream {
	wakes := e.wakes[:0]
	kept := e.active[:0]
	for _, s := range e.active {
		if s.to.After(s.from) {
			e.advance(s, level)
		}
		pos := int64(s.decoded)
		if pos > s.pos.Load() {
			s.pos.Store(pos)
			wakes = append(wakes, s)
		}
		if int(pos) >= s.maxLen {
			s.idx = -1
			continue
		}
		s.idx = len(kept)
		kept = append(kept, s)
	}
	clear(e.active[len(kept):])
	e.active = kept
	return wakes
}

// demandOf is the input-equivalent rate s would use at full speed.
func (e *Engine) demandOf(s *stream) float64 {
	if s.prefillLeft > 0 {
		return e.prefill
	}
	return float64(s.activeChoices()) * e.decode * e.cfg.OutputWeight
}

// share is the fraction of its full speed a stream wanting rate gets at level.
func share(rate, level float64) float64 {
	if rate <= level {
		return 1
	}
	return level / rate
}

// advance moves s through its prefill and decode phases over [s.from, s.to].
func (e *Engine) advance(s *stream, level float64) {
	left := s.to.Sub(s.from).Seconds()
	at := 0.0 // seconds after s.from
	if s.prefillLeft > 0 {
		r := e.prefill * share(e.prefill, level)
		need := s.prefillLeft / r
		if need > left {
			s.prefillLeft -= r * left
			e.processed += r * left
			return
		}
		// Prefill ends with the first output token.
		e.processed += s.prefillLeft
		s.prefillLeft = 0
		left -= need
		at += need
		s.decoded = 1
		s.firstAt = offset(s.from, at)
		if s.maxLen <= 1 {
			s.lastAt = s.firstAt
			return
		}
	}
	if left <= 0 || s.decoded >= float64(s.maxLen) {
		return
	}
	n := s.activeChoices()
	if n == 0 {
		return
	}
	r := e.decode * share(float64(n)*e.decode*e.cfg.OutputWeight, level)
	next := s.decoded + r*left
	if next >= float64(s.maxLen) {
		s.lastAt = offset(s.from, at+(float64(s.maxLen)-s.decoded)/r)
		next = float64(s.maxLen)
	}
	for _, n := range s.lens {
		l := float64(n)
		e.processed += e.cfg.OutputWeight * (min(next, l) - min(s.decoded, l))
	}
	s.decoded = next
}

// waterLevel finds the level L with Σ weight·min(rate, L) = capacity.
func waterLevel(ds []demand, capacity float64) float64 {
	slices.SortFunc(ds, func(a, b demand) int {
		switch {
		case a.rate < b.rate:
			return -1
		case a.rate > b.rate:
			return 1
		}
		return 0
	})
	w := 0.0
	for _, d := range ds {
		w += d.weight
	}
	left := capacity
	for _, d := range ds {
		if w <= 0 {
			break
		}
		if l := left / w; d.rate > l {
			return l
		}
		left -= d.rate * d.weight
		w -= d.weight
	}
	return math.Inf(1)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func offset(t time.Time, seconds float64) time.Time {
	return t.Add(time.Duration(seconds * float64(time.Second)))
}

// Stats is a snapshot of an engine's load.
type Stats struct {
	Requests int64 // requests started since the engine was made
	InFlight int   // requests in flight
	// Load is what the requests in flight would use at full speed, as a
	// fraction of the rating, at the last scheduler tick: above 1 the pool is
	// overloaded and requests run slower than their ceilings.
	Load float64
	// Processed is the input-equivalent tokens processed so far: uncached
	// prompt tokens count 1, output tokens OutputWeight.
	Processed float64
}

// Stats returns the engine's current load.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Requests: e.requests, InFlight: len(e.active), Load: e.load, Processed: e.processed}
}
