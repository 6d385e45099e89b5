package sim

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runStreams runs streams concurrent requests, started over spread, and
// returns the output tokens emitted.
func runStreams(tb testing.TB, e *Engine, streams int, spread time.Duration, req backend.Request) int64 {
	var wg sync.WaitGroup
	var tokens atomic.Int64
	for i := range streams {
		wg.Go(func() {
			time.Sleep(spread * time.Duration(i) / time.Duration(streams))
			res, err := e.Generate(context.Background(), req, func(ev backend.Event) error {
				tokens.Add(int64(ev.Tokens))
				return nil
			})
			if err != nil {
				tb.Error(err)
			}
			if want := req.MaxTokens * max(req.N, 1); res.CompletionTokens != want {
				tb.Errorf("completion tokens %d, want %d", res.CompletionTokens, want)
			}
		})
	}
	wg.Wait()
	return tokens.Load()
}

func Test2000ConcurrentStreams(t *testing.T) {
	// Each stream: 500-token prompt, 100 output tokens at 75 TPS (about 1.5 s), ten times faster.
	e, err := New(Config{RatedTPM: 2000 * 75 * 4 * 60 * 1.2, DecodeTPS: 75, TimeScale: 10, OutputMean: 10000})
	if err != nil {
		t.Fatal(err)
	}
	start, cpu := time.Now(), cpuTime()
	tokens := runStreams(t, e, 2000, 0, backend.Request{PromptTokens: 500, MaxTokens: 100})
	wall, used := time.Since(start), cpuTime()-cpu
	if tokens != 2000*100 {
		t.Errorf("%d tokens emitted, want %d", tokens, 2000*100)
	}
	if st := e.Stats(); st.InFlight != 0 || st.Requests != 2000 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("2000 streams: wall %v, cpu %v (%.2f cores)", wall.Round(time.Millisecond), used.Round(time.Millisecond), used.Seconds()/wall.Seconds())
}

// BenchmarkEngine2000Streams runs 2000 concurrent streams in real time (each
// about 2 s: a 500-token prompt and 150 tokens at 75 TPS), started over the
// first second, on a pool rated for them, and reports the CPU the whole
// process used per second of wall time.
func BenchmarkEngine2000Streams(b *testing.B) {
	e, err := New(Config{RatedTPM: 2000 * 75 * 4 * 60 * 1.2, DecodeTPS: 75, OutputMean: 10000})
	if err != nil {
		b.Fatal(err)
	}
	var wall, used time.Duration
	var tokens int64
	for b.Loop() {
		start, cpu := time.Now(), cpuTime()
		tokens += runStreams(b, e, 2000, time.Second, backend.Request{PromptTokens: 500, MaxTokens: 150})
		wall += time.Since(start)
		used += cpuTime() - cpu
	}
	b.ReportMetric(used.Seconds()/wall.Seconds(), "cores")
	b.ReportMetric(float64(tokens)/wall.Seconds(), "tokens/s")
}

// BenchmarkStep2000 times one scheduler tick over 2000 decoding streams.
func BenchmarkStep2000(b *testing.B) {
	e, clk := manualEngine(b, Config{RatedTPM: 1e6, DecodeTPS: 75, OutputMean: 1e6, MaxOutput: 1e9})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2000 {
		wg.Go(func() {
			_, _ = e.Generate(ctx, backend.Request{PromptTokens: 500, MaxTokens: 1e8}, func(backend.Event) error { return nil })
		})
	}
	waitFor(b, func() bool { return e.inFlight() == 2000 })
	for b.Loop() {
		clk.Advance(10 * time.Millisecond)
		e.step()
	}
	cancel()
	wg.Wait()
}
