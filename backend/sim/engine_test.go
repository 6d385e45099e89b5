package sim

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/internal/clock"
)

// newFakeClock is the clock of engines driven by step in tests.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

// outcome is what one Generate call produced.
type outcome struct {
	res    backend.Result
	err    error
	events []backend.Event
	start  time.Time
}

func (o outcome) texts() map[int]string {
	m := map[int]string{}
	for _, ev := range o.events {
		m[ev.Index] += ev.Text
	}
	return m
}

func (o outcome) finishes() map[int]string {
	m := map[int]string{}
	for _, ev := range o.events {
		if ev.FinishReason != "" {
			m[ev.Index] = ev.FinishReason
		}
	}
	return m
}

func (o outcome) ttft() time.Duration { return o.res.FirstToken.Sub(o.start) }

// decodeTPS is the output speed of one choice between its first and last token.
func (o outcome) decodeTPS(perChoice int) float64 {
	return float64(perChoice-1) / o.res.LastToken.Sub(o.res.FirstToken).Seconds()
}

func manualEngine(t testing.TB, cfg Config) (*Engine, *clock.Fake) {
	t.Helper()
	clk := newFakeClock()
	cfg.Now = clk.Now
	e, err := newEngine(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	return e, clk
}

func (e *Engine) inFlight() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.active)
}

// runManual runs reqs together on a manual engine, stepping its fake clock by
// dt until all have returned.
func runManual(t *testing.T, e *Engine, clk *clock.Fake, dt time.Duration, reqs ...backend.Request) []outcome {
	t.Helper()
	out := make([]outcome, len(reqs))
	var done atomic.Int64
	start := clk.Now()
	for i, req := range reqs {
		go func() {
			o := outcome{start: start}
			o.res, o.err = e.Generate(context.Background(), req, func(ev backend.Event) error {
				o.events = append(o.events, ev)
				return nil
			})
			out[i] = o
			done.Add(1)
		}()
	}
	waitFor(t, func() bool { return e.inFlight() == len(reqs) })
	for steps := 0; done.Load() < int64(len(reqs)); steps++ {
		if steps > 1_000_000 {
			t.Fatal("requests did not finish")
		}
		if e.inFlight() == 0 {
			time.Sleep(100 * time.Microsecond) // let the last requests return
			continue
		}
		clk.Advance(dt)
		e.step()
	}
	return out
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*math.Abs(want) {
		t.Errorf("%s = %.4g, want %.4g ± %.1f%%", what, got, want, tol*100)
	} else {
		t.Logf("%s = %.4g (want %.4g)", what, got, want)
	}
}

func seed(v int64) *int64 { return &v }

func TestUnderRatingRunsAtFullSpeed(t *testing.T) {
	e, clk := manualEngine(t, Config{RatedTPM: 60_000_000, PrefillTPS: 5000, DecodeTPS: 50, OutputMean: 5000})
	reqs := []backend.Request{
		{PromptTokens: 1000, MaxTokens: 100},
		{PromptTokens: 1000, CachedTokens: 500, MaxTokens: 100},
		{PromptTokens: 1000, MaxTokens: 100, N: 3},
	}
	out := runManual(t, e, clk, 10*time.Millisecond, reqs...)
	// Prefill covers the uncached prompt and the first output token of each choice (weight 4).
	near(t, "ttft", out[0].ttft().Seconds(), 1004.0/5000, 0.001)
	near(t, "ttft with cache", out[1].ttft().Seconds(), 504.0/5000, 0.001)
	near(t, "ttft n=3", out[2].ttft().Seconds(), 1012.0/5000, 0.001)
	for i, o := range out {
		if o.err != nil {
			t.Fatal(o.err)
		}
		near(t, "decode tps", o.decodeTPS(100), 50, 0.001)
		if want := 100 * max(reqs[i].N, 1); o.res.CompletionTokens != want {
			t.Errorf("completion tokens %d, want %d", o.res.CompletionTokens, want)
		}
	}
}

func TestOverRatingSlowsEveryStream(t *testing.T) {
	// Capacity for exactly 10 streams decoding at full speed: 10 × 50 TPS × weight 4.
	cfg := Config{RatedTPM: 10 * 50 * 4 * 60, OutputWeight: 4, PrefillTPS: 5000, DecodeTPS: 50, OutputMean: 5000, MaxOutput: 10000}
	for _, tc := range []struct {
		streams int
		tps     float64
	}{{5, 50}, {10, 50}, {20, 25}, {40, 12.5}} {
		e, clk := manualEngine(t, cfg)
		reqs := make([]backend.Request, tc.streams)
		for i := range reqs {
			reqs[i] = backend.Request{PromptTokens: 500, CachedTokens: 500, MaxTokens: 200}
		}
		start := clk.Now()
		out := runManual(t, e, clk, 10*time.Millisecond, reqs...)
		var last time.Time
		tokens := 0
		for _, o := range out {
			near(t, "per-stream tps", o.decodeTPS(200), tc.tps, 0.01)
			tokens += o.res.CompletionTokens
			last = later(last, o.res.LastToken)
		}
		if tc.streams >= 10 {
			// The pool was saturated from start to end: it processed its rating.
			rate := float64(tokens) * 4 / last.Sub(start).Seconds()
			near(t, "aggregate input-equivalent tokens/s", rate, cfg.RatedTPM/60, 0.02)
		}
	}
}

func TestOverRatingWithStaggeredArrivals(t *testing.T) {
	// Requests of different sizes arriving over time: while the pool is
	// overloaded it processes exactly its rating, and what it processed is
	// what the requests report.
	cfg := Config{RatedTPM: 120_000, OutputWeight: 4, PrefillTPS: 3000, DecodeTPS: 50}
	e, clk := manualEngine(t, cfg)
	var reported atomic.Int64 // input-equivalent tokens, from usage
	var wg sync.WaitGroup
	var busy time.Duration // time the pool was overloaded
	var work float64       // what it processed meanwhile
	tick := func(d time.Duration) {
		before := e.Stats().Processed
		clk.Advance(d)
		e.step()
		if st := e.Stats(); st.Load >= 1 {
			busy += d
			work += st.Processed - before
		}
	}
	for i := range 60 {
		req := backend.Request{PromptTokens: 200 + 37*i%300, CachedTokens: i % 3 * 50, MaxTokens: 50 + 13*i%150, N: 1 + i%2}
		wg.Go(func() {
			res, err := e.Generate(context.Background(), req, func(ev backend.Event) error { return nil })
			if err != nil {
				t.Error(err)
			}
			reported.Add(int64(res.PromptTokens - res.CachedTokens + 4*res.CompletionTokens))
		})
		waitFor(t, func() bool { return e.Stats().Requests == int64(i+1) })
		for range 5 {
			tick(10 * time.Millisecond)
		}
	}
	for e.inFlight() > 0 {
		tick(10 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("overloaded %v", busy)
	near(t, "input-equivalent tokens/s while overloaded", work/busy.Seconds(), cfg.RatedTPM/60, 0.01)
	near(t, "processed vs reported", e.Stats().Processed, float64(reported.Load()), 1e-6)
}

func TestTimeScale(t *testing.T) {
	e, clk := manualEngine(t, Config{RatedTPM: 60_000_000, PrefillTPS: 5000, DecodeTPS: 50, TimeScale: 10})
	out := runManual(t, e, clk, time.Millisecond, backend.Request{PromptTokens: 1000, MaxTokens: 51})
	near(t, "ttft", out[0].ttft().Seconds(), 1004.0/5000/10, 0.001)
	near(t, "decode tps", out[0].decodeTPS(51), 500, 0.001)
}

func TestPrefillContention(t *testing.T) {
	// Two prompts prefilling together on a pool that can only prefill 3000
	// tokens/s in total share it: each takes twice as long as alone.
	e, clk := manualEngine(t, Config{RatedTPM: 3000 * 60, PrefillTPS: 3000, DecodeTPS: 50})
	out := runManual(t, e, clk, 10*time.Millisecond,
		backend.Request{PromptTokens: 1500, MaxTokens: 2}, backend.Request{PromptTokens: 1500, MaxTokens: 2})
	for _, o := range out {
		near(t, "ttft", o.ttft().Seconds(), 2*1504.0/3000, 0.001)
	}
}

func realEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.RatedTPM == 0 {
		cfg.RatedTPM = 60_000_000
	}
	if cfg.TimeScale == 0 {
		cfg.TimeScale = 1000
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func generate(t *testing.T, e *Engine, req backend.Request) outcome {
	t.Helper()
	o := outcome{start: time.Now()}
	o.res, o.err = e.Generate(context.Background(), req, func(ev backend.Event) error {
		o.events = append(o.events, ev)
		return nil
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o
}

func TestDeterministicWithSeed(t *testing.T) {
	e := realEngine(t, Config{})
	body := []byte(`{"messages":[{"role":"user","content":"hello"}]}`)
	req := backend.Request{Model: "m", PromptTokens: 10, N: 2, Seed: seed(42), Body: body}
	a, b := generate(t, e, req), generate(t, e, req)
	if a.texts()[0] == "" || a.texts()[0] != b.texts()[0] || a.texts()[1] != b.texts()[1] {
		t.Fatalf("same seed, different text:\n%v\n%v", a.texts(), b.texts())
	}
	if a.texts()[0] == a.texts()[1] {
		t.Error("choices of one request have the same text")
	}
	if a.res.CompletionTokens != b.res.CompletionTokens {
		t.Error("same seed, different lengths")
	}
	t.Logf("text: %.120s…", a.texts()[0])

	other := req
	other.Seed = seed(43)
	if generate(t, e, other).texts()[0] == a.texts()[0] {
		t.Error("different seeds, same text")
	}
	other = req
	other.Body = []byte(`{"messages":[{"role":"user","content":"goodbye"}]}`)
	if generate(t, e, other).texts()[0] == a.texts()[0] {
		t.Error("different prompts, same text")
	}
	other = req
	other.Seed = nil
	first, second := generate(t, e, other), generate(t, e, other)
	if first.texts()[0] == second.texts()[0] {
		t.Error("no seed, same text twice")
	}
}

func TestTextIsRealTokens(t *testing.T) {
	e := realEngine(t, Config{})
	for s := range int64(20) {
		o := generate(t, e, backend.Request{Seed: seed(s), MaxTokens: 40})
		text := o.texts()[0]
		if n := len(e.cfg.Tokenizer.Encode(text)); n != o.res.CompletionTokens {
			t.Errorf("seed %d: %q encodes to %d tokens, usage says %d", s, text, n, o.res.CompletionTokens)
		}
	}
}

func TestMaxTokensAndNaturalEnd(t *testing.T) {
	e := realEngine(t, Config{OutputMean: 20, OutputStdDev: 5})
	o := generate(t, e, backend.Request{MaxTokens: 7, N: 3, Seed: seed(1)})
	if o.res.CompletionTokens != 21 {
		t.Errorf("completion tokens %d, want 21", o.res.CompletionTokens)
	}
	for i := range 3 {
		if f := o.finishes()[i]; f != backend.FinishLength {
			t.Errorf("choice %d finish %q, want length", i, f)
		}
	}
	tokens := 0
	for _, ev := range o.events {
		tokens += ev.Tokens
	}
	if tokens != o.res.CompletionTokens {
		t.Errorf("events carry %d tokens, usage %d", tokens, o.res.CompletionTokens)
	}

	// Without max_tokens, or with a larger one, choices end by themselves.
	for _, max := range []int{0, 1000} {
		o = generate(t, e, backend.Request{MaxTokens: max, Seed: seed(2)})
		if f := o.finishes()[0]; f != backend.FinishStop {
			t.Errorf("max %d: finish %q, want stop", max, f)
		}
		if n := o.res.CompletionTokens; n < 5 || n > 60 {
			t.Errorf("max %d: %d tokens, want about 20", max, n)
		}
		if text := o.texts()[0]; !strings.HasSuffix(text, ".") {
			t.Errorf("natural end does not end a sentence: %q", text)
		}
	}
}

func TestStopSequences(t *testing.T) {
	e := realEngine(t, Config{})
	for s := range int64(10) {
		full := generate(t, e, backend.Request{MaxTokens: 100, Seed: seed(s)})
		text := full.texts()[0]
		cut := strings.Index(text, ".")
		if cut < 0 {
			t.Fatalf("no sentence end in %q", text)
		}
		o := generate(t, e, backend.Request{MaxTokens: 100, Seed: seed(s), Stop: []string{"nothing like this", "."}})
		if got := o.texts()[0]; got != text[:cut] {
			t.Errorf("seed %d: text %q, want %q", s, got, text[:cut])
		}
		if f := o.finishes()[0]; f != backend.FinishStop {
			t.Errorf("finish %q, want stop", f)
		}
		// The stop sequence's tokens are generated and counted, not shown.
		if want := len(e.cfg.Tokenizer.Encode(text[:cut+1])); o.res.CompletionTokens != want {
			t.Errorf("seed %d: %d completion tokens, want %d", s, o.res.CompletionTokens, want)
		}
	}
	// A stop sequence spanning two tokens.
	full := generate(t, e, backend.Request{MaxTokens: 30, Seed: seed(7)}).texts()[0]
	words := strings.Fields(full)
	stop := words[2] + " " + words[3]
	o := generate(t, e, backend.Request{MaxTokens: 30, Seed: seed(7), Stop: []string{stop}})
	if want := full[:strings.Index(full, stop)]; o.texts()[0] != want {
		t.Errorf("text %q, want %q", o.texts()[0], want)
	}
}

func TestChoicesInterleaved(t *testing.T) {
	e := realEngine(t, Config{})
	o := generate(t, e, backend.Request{MaxTokens: 5, N: 4, Seed: seed(3)})
	if len(o.texts()) != 4 || len(o.finishes()) != 4 {
		t.Fatalf("texts %v finishes %v", o.texts(), o.finishes())
	}
	for i, ev := range o.events[:4] {
		if ev.Index != i {
			t.Errorf("event %d is for choice %d; choices should advance together", i, ev.Index)
		}
	}
}

func TestAbortReturnsPartialUsage(t *testing.T) {
	e, clk := manualEngine(t, Config{RatedTPM: 60_000_000, PrefillTPS: 1000, DecodeTPS: 100})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan outcome, 1)
	go func() {
		var o outcome
		o.res, o.err = e.Generate(ctx, backend.Request{PromptTokens: 1000, MaxTokens: 500, N: 2}, func(ev backend.Event) error {
			o.events = append(o.events, ev)
			return nil
		})
		got <- o
	}()
	waitFor(t, func() bool { return e.inFlight() == 1 })
	// Half of the prefill, then cancel.
	clk.Advance(500 * time.Millisecond)
	e.step()
	cancel()
	o := <-got
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", o.err)
	}
	if o.res.PromptTokens != 500 || o.res.CompletionTokens != 0 {
		t.Errorf("usage %+v, want 500 prompt tokens prefilled and no output", o.res)
	}
	if e.inFlight() != 0 {
		t.Error("aborted request still in flight")
	}

	// Abort by emit: after prefill (1.008 s) and 0.1 s of decoding, each choice has 11 tokens.
	errGone := errors.New("client gone")
	go func() {
		var o outcome
		o.res, o.err = e.Generate(context.Background(), backend.Request{PromptTokens: 1000, MaxTokens: 500, N: 2}, func(ev backend.Event) error {
			o.events = append(o.events, ev)
			if len(o.events) == 3 {
				return errGone
			}
			return nil
		})
		got <- o
	}()
	waitFor(t, func() bool { return e.inFlight() == 1 })
	clk.Advance(1108500 * time.Microsecond)
	e.step()
	o = <-got
	if !errors.Is(o.err, errGone) {
		t.Errorf("err %v, want the emit error", o.err)
	}
	if o.res.PromptTokens != 1000 || o.res.CompletionTokens != 22 {
		t.Errorf("usage %+v, want 1000 prompt and 22 completion tokens processed", o.res)
	}
	if e.inFlight() != 0 {
		t.Error("aborted request still in flight")
	}
}

func TestBadRequests(t *testing.T) {
	e := realEngine(t, Config{})
	for _, req := range []backend.Request{
		{PromptTokens: -1},
		{PromptTokens: 5, CachedTokens: 6},
		{MaxTokens: -1},
		{N: -2},
	} {
		if _, err := e.Generate(context.Background(), req, func(backend.Event) error { return nil }); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without RatedTPM: no error")
	}
	if _, err := New(Config{RatedTPM: 1, DecodeTPS: -1}); err == nil {
		t.Error("New with negative DecodeTPS: no error")
	}
}

func TestWaterLevel(t *testing.T) {
	for _, tc := range []struct {
		rates    []float64
		capacity float64
		want     float64
	}{
		{[]float64{100, 100}, 300, math.Inf(1)},
		{[]float64{100, 100, 100, 100}, 200, 50},
		{[]float64{10, 100, 100}, 110, 50},
		{[]float64{3000, 200, 200}, 1000, 600},
	} {
		ds := make([]demand, len(tc.rates))
		for i, r := range tc.rates {
			ds[i] = demand{rate: r, weight: 1}
		}
		if got := waterLevel(ds, tc.capacity); math.Abs(got-tc.want) > 1e-9 && !(math.IsInf(got, 1) && math.IsInf(tc.want, 1)) {
			t.Errorf("waterLevel(%v, %v) = %v, want %v", tc.rates, tc.capacity, got, tc.want)
		}
	}
}

func TestInstantAnswersTheSameTextAtOnce(t *testing.T) {
	// A rating far too small for the request: the scheduled engine would take
	// minutes, the instant one answers without a scheduler tick.
	clk := newFakeClock()
	inst := realEngine(t, Config{RatedTPM: 1, TimeScale: 1, Instant: true, Now: clk.Now})
	ref := realEngine(t, Config{})
	req := backend.Request{Model: "m", PromptTokens: 30, N: 2, MaxTokens: 50, Seed: seed(7), Stop: []string{"the"},
		Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)}
	a, b := generate(t, inst, req), generate(t, ref, req)
	if a.texts()[0] != b.texts()[0] || a.texts()[1] != b.texts()[1] {
		t.Fatalf("instant text differs from the scheduled engine's:\n%v\n%v", a.texts(), b.texts())
	}
	if a.res.CompletionTokens != b.res.CompletionTokens || a.res.PromptTokens != 30 {
		t.Errorf("usage %+v, want completion %d and prompt 30", a.res, b.res.CompletionTokens)
	}
	if a.finishes()[0] != b.finishes()[0] || a.finishes()[1] != b.finishes()[1] {
		t.Errorf("finish reasons %v, want %v", a.finishes(), b.finishes())
	}
	if !a.res.FirstToken.Equal(clk.Now()) || !a.res.LastToken.Equal(clk.Now()) {
		t.Errorf("first/last token at %v/%v, want the clock's %v", a.res.FirstToken, a.res.LastToken, clk.Now())
	}
	st := inst.Stats()
	if st.Requests != 1 || st.InFlight != 0 || st.Processed != float64(30+4*a.res.CompletionTokens) {
		t.Errorf("stats %+v after one instant call of %d output tokens", st, a.res.CompletionTokens)
	}

	// A client that goes away stops the answer and is charged what it got.
	stop := errors.New("gone")
	got := 0
	res, err := inst.Generate(context.Background(), backend.Request{MaxTokens: 100, Seed: seed(1)}, func(ev backend.Event) error {
		got += ev.Tokens
		if got >= 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || res.CompletionTokens != 5 {
		t.Errorf("aborted after 5 tokens: %d counted, err %v", res.CompletionTokens, err)
	}
}
