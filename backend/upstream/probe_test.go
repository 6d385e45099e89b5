package upstream_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/internal/clock"
)

// wedgeable is an OpenAI-compatible server that answers GET /models always
// and generation calls only while it is not wedged; a wedged one holds them
// until the caller gives up, as Ollama 0.17.4 does after a cancelled stream.
type wedgeable struct {
	*httptest.Server
	wedged atomic.Bool
	gens   atomic.Int64 // generation calls received
}

func newWedgeable(t *testing.T) *wedgeable {
	w := &wedgeable{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = rw.Write([]byte(`{"object":"list","data":null}`))
			return
		}
		w.gens.Add(1)
		var req struct {
			Model     string `json:"model"`
			MaxTokens int    `json:"max_tokens"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "served-model" {
			http.Error(rw, `{"error":{"message":"model not found"}}`, http.StatusNotFound)
			return
		}
		if w.wedged.Load() {
			<-r.Context().Done()
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"OK"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`))
	}))
	t.Cleanup(w.Close)
	return w
}

// TestGenerationProbe: an endpoint that still answers /models but no longer
// generates is kept in service by the path probe alone, ejected by the
// generation probe within its timeout, and returned to service once it
// generates again; calls meanwhile go to the healthy endpoint.
func TestGenerationProbe(t *testing.T) {
	bad, good := newWedgeable(t), newWedgeable(t)
	eps := []upstream.Endpoint{{URL: bad.URL}, {URL: good.URL}}
	bad.wedged.Store(true)

	// The path probe alone: the wedged endpoint looks healthy.
	plain, err := upstream.New(upstream.Config{Name: "plain", Endpoints: eps, HealthTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	plain.Probe(context.Background())
	if h := plain.Health(); h[0].Ejected || h[1].Ejected {
		t.Fatalf("path probe: %+v; want both in service (it cannot see the wedge)", h)
	}

	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	g, err := upstream.New(upstream.Config{Name: "gen", Endpoints: eps, HealthModel: "served-model",
		HealthTimeout: 200 * time.Millisecond, Models: map[string]string{"m": "served-model"}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	g.Probe(context.Background())
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("probe took %v with a 200ms timeout", took)
	}
	if h := g.Health(); !h[0].Ejected || h[1].Ejected {
		t.Fatalf("generation probe: %+v; want the wedged endpoint ejected, the other in service", h)
	}
	// Calls go to the healthy endpoint only.
	b := g.For("m", nil)
	for range 4 {
		res, err := b.Generate(context.Background(), backend.Request{Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`), PromptTokens: 3},
			func(backend.Event) error { return nil })
		if err != nil || res.CompletionTokens != 1 {
			t.Fatalf("call: %+v, %v", res, err)
		}
	}
	if n := bad.gens.Load(); n != 1 {
		t.Errorf("the wedged endpoint got %d generation requests; want only the probe's", n)
	}
	// Still wedged: the next probe keeps it out even after the cooldown.
	clk.Advance(time.Minute)
	g.Probe(context.Background())
	if h := g.Health(); !h[0].Ejected {
		t.Fatalf("after the cooldown, still wedged: %+v; want it kept out", h)
	}
	// It generates again: the probe returns it.
	bad.wedged.Store(false)
	g.Probe(context.Background())
	if h := g.Health(); h[0].Ejected || h[1].Ejected {
		t.Fatalf("unwedged: %+v; want both in service", h)
	}
}

// TestGenerationProbeBusy: an endpoint whose calls are producing output is
// not asked for a token, and a probe that times out while output flows does
// not eject it (a one-call-at-a-time engine answers the probe late).
func TestGenerationProbeBusy(t *testing.T) {
	release := make(chan struct{})
	probes := atomic.Int64{}
	var busy, paused atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = rw.Write([]byte(`{"data":[]}`))
			return
		}
		var req struct {
			MaxTokens int  `json:"max_tokens"`
			Stream    bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream { // the probe: queued behind the stream, which resumes
			probes.Add(1)
			paused.Store(false)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		rw.Header().Set("Content-Type", "text/event-stream")
		f := rw.(http.Flusher)
		for i := 0; ; i++ {
			if !paused.Load() {
				_, _ = rw.Write([]byte(`data: {"choices":[{"index":0,"delta":{"content":"x"}}]}` + "\n\n"))
				f.Flush()
			}
			select {
			case <-release:
				_, _ = rw.Write([]byte("data: [DONE]\n\n"))
				return
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	g, err := upstream.New(upstream.Config{Name: "busy", Endpoints: []upstream.Endpoint{{URL: srv.URL}}, HealthModel: "m",
		HealthTimeout: 500 * time.Millisecond, HealthInterval: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := g.For("m", nil).Generate(context.Background(), backend.Request{Stream: true, Body: []byte(`{"messages":[]}`)},
			func(backend.Event) error { busy.Store(true); return nil }) // the gateway has seen output
		done <- err
	}()
	for !busy.Load() {
		time.Sleep(time.Millisecond)
	}
	g.Probe(context.Background())
	if h := g.Health(); h[0].Ejected {
		t.Errorf("busy endpoint ejected: %+v", h)
	}
	if n := probes.Load(); n != 0 {
		t.Errorf("%d generation probes sent to an endpoint streaming output within the interval; want 0", n)
	}
	// The stream pauses and the interval passes: the probe is sent; it
	// times out, but the stream resumed meanwhile, so the endpoint stays in
	// service.
	paused.Store(true)
	time.Sleep(200 * time.Millisecond) // a chunk already on its way lands before the clock moves
	clk.Advance(2 * time.Minute)
	g.Probe(context.Background())
	if h := g.Health(); h[0].Ejected || probes.Load() != 1 {
		t.Errorf("probe timed out while output flowed: %+v after %d probes; want in service after 1", h, probes.Load())
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestEmptyUsageIsNoCount: Ollama's streamed legacy completions carry
// "usage":{} on every chunk. A stream cut before its last chunk is still
// counted, by the tokenizer, from the text that arrived.
func TestEmptyUsageIsNoCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/event-stream")
		for _, w := range []string{"one", " two", " three"} {
			_, _ = rw.Write([]byte(`data: {"choices":[{"index":0,"text":"` + w + `","finish_reason":null}],"usage":{}}` + "\n\n"))
		}
		// Cut: no usage chunk, no [DONE].
		rw.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "o", Endpoints: []upstream.Endpoint{{URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenizer(t)
	res, err := g.For("m", tok).Generate(context.Background(), backend.Request{Stream: true, PromptTokens: 7, Body: []byte(`{"prompt":"x"}`)},
		func(backend.Event) error { return nil })
	if err == nil {
		t.Fatal("a cut stream succeeded")
	}
	if want := len(tok.Encode("one two three")); res.CompletionTokens != want || res.PromptTokens != 7 {
		t.Errorf("settled %d prompt + %d completion tokens; want 7 + %d (the empty usage is no count)", res.PromptTokens, res.CompletionTokens, want)
	}
}
