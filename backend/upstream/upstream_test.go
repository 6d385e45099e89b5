package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/internal/clock"
)

// simServer serves a simulated engine as an OpenAI-compatible server (what
// `ptu sim` runs) under the upstream model name "served-model", counting the
// generation requests it receives.
type simServer struct {
	*httptest.Server
	calls atomic.Int64
	down  atomic.Int64 // status to answer instead of serving; 0 serves
	auth  atomic.Value // last Authorization header
}

func newSimServer(t *testing.T) *simServer {
	t.Helper()
	tok, err := sim.Tiktoken("o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.Config{RatedTPM: 10_000_000, TimeScale: 1000, Tokenizer: tok, OutputMean: 40})
	if err != nil {
		t.Fatal(err)
	}
	inner := sim.NewServer(map[string]*sim.Engine{"served-model": eng})
	s := &simServer{}
	s.auth.Store("")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := s.down.Load(); st != 0 {
			w.WriteHeader(int(st))
			_, _ = w.Write([]byte(`{"error":{"message":"down"}}`))
			return
		}
		if r.Method == http.MethodPost {
			s.calls.Add(1)
			s.auth.Store(r.Header.Get("Authorization"))
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

type collected struct {
	text    map[int]string
	reasons map[int]string
	tokens  int
}

func run(t *testing.T, b backend.Backend, body string) (backend.Result, collected, error) {
	t.Helper()
	c := collected{text: map[int]string{}, reasons: map[int]string{}}
	// The client's "stream" decides whether the upstream is asked to stream.
	stream := strings.Contains(body, `"stream":true`)
	res, err := b.Generate(context.Background(), backend.Request{Model: "gpt-4o", PromptTokens: 10, Body: []byte(body), Stream: stream},
		func(ev backend.Event) error {
			c.text[ev.Index] += ev.Text
			c.tokens += ev.Tokens
			if ev.FinishReason != "" {
				c.reasons[ev.Index] = ev.FinishReason
			}
			return nil
		})
	return res, c, err
}

func tokenizer(t *testing.T) upstream.Tokenizer {
	tok, err := sim.Tiktoken("o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestStreamAndUsage runs chat and legacy completions through a group in
// front of the simulated server: the model name is mapped, the key is sent,
// text streams through, and usage is the upstream's, which the tokenizer's
// count of the streamed text matches.
func TestStreamAndUsage(t *testing.T) {
	for _, stream := range []string{"", `,"stream":true`} {
		t.Run("stream="+fmt.Sprint(stream != ""), func(t *testing.T) { testStreamAndUsage(t, stream) })
	}
}

// testStreamAndUsage runs the calls streamed (stream is `,"stream":true`) or
// whole, as the client asks.
func testStreamAndUsage(t *testing.T, stream string) {
	s := newSimServer(t)
	g, err := upstream.New(upstream.Config{Name: "vllm", Endpoints: []upstream.Endpoint{{URL: s.URL + "/v1", APIKey: "secret"}},
		Models: map[string]string{"gpt-4o": "served-model"}})
	if err != nil {
		t.Fatal(err)
	}
	b := g.For("gpt-4o", tokenizer(t))
	res, c, err := run(t, b, `{"messages":[{"role":"user","content":"tell me a story"}],"max_tokens":30,"n":2,"seed":7`+stream+`}`)
	if err != nil {
		t.Fatal(err)
	}
	if s.auth.Load() != "Bearer secret" {
		t.Errorf("Authorization %q, want the endpoint's key as a bearer token", s.auth.Load())
	}
	if len(c.text) != 2 || c.text[0] == "" || c.text[1] == "" || c.reasons[0] == "" || c.reasons[1] == "" {
		t.Fatalf("choices %v, reasons %v; want two finished choices with text", c.text, c.reasons)
	}
	if res.CompletionTokens == 0 || res.CompletionTokens > 60 || res.PromptTokens == 10 {
		t.Errorf("usage %+v: want the upstream's own counts (at most 2×30 output tokens, prompt counted upstream)", res)
	}
	tok := tokenizer(t)
	if n := len(tok.Encode(c.text[0])) + len(tok.Encode(c.text[1])); n != res.CompletionTokens {
		t.Errorf("tokenizer counts %d output tokens in the streamed text, upstream reported %d", n, res.CompletionTokens)
	}
	// A legacy completion with two prompts: each request runs one prompt.
	res, c, err = run(t, b, `{"prompt":["one","two"],"max_tokens":5`+stream+`}`)
	if err != nil || len(c.text) != 1 || res.CompletionTokens == 0 || res.CompletionTokens > 5 {
		t.Errorf("completion: err %v, choices %v, usage %+v; want one choice of at most 5 tokens", err, c.text, res)
	}
	// An unmapped model keeps its name, which this upstream does not serve.
	if _, _, err := run(t, g.For("gpt-4o-mini", nil), `{"messages":[{"role":"user","content":"hi"}]}`); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown upstream model: err %v, want a 404", err)
	}
}

// TestTokenizerFallback counts output with the tokenizer when the upstream
// sends no usage.
func TestTokenizerFallback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{`{"choices":[{"index":0,"delta":{"role":"assistant","content":"hello there"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":" general kenobi"},"finish_reason":"stop"}]}`, `[DONE]`} {
			fmt.Fprintf(w, "data: %s\n\n", c)
		}
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "plain", Endpoints: []upstream.Endpoint{{URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenizer(t)
	res, c, err := run(t, g.For("gpt-4o", tok), `{"messages":[{"role":"user","content":"hi"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(tok.Encode("hello there general kenobi")); res.CompletionTokens != want || res.PromptTokens != 10 {
		t.Errorf("usage %+v, want %d output tokens counted by the tokenizer and the gateway's 10 prompt tokens", res, want)
	}
	if c.text[0] != "hello there general kenobi" || c.reasons[0] != "stop" {
		t.Errorf("text %q reason %q", c.text[0], c.reasons[0])
	}
}

// TestRetryEjectRecover: a refusing endpoint's calls are retried on the
// other one; after three failures it is ejected and gets no calls; after the
// cool-down one trial call goes to it; a health probe returns it to service.
func TestRetryEjectRecover(t *testing.T) {
	bad, good := newSimServer(t), newSimServer(t)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	g, err := upstream.New(upstream.Config{Name: "pair", Models: map[string]string{"gpt-4o": "served-model"},
		Endpoints:        []upstream.Endpoint{{URL: bad.URL + "/v1"}, {URL: good.URL + "/v1"}},
		FailureThreshold: 3, Cooldown: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	b := g.For("gpt-4o", nil)
	body := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}`
	for _, status := range []int64{429, 500, 503} {
		bad.down.Store(status)
		if _, _, err := run(t, b, body); err != nil {
			t.Fatalf("with one endpoint answering %d: %v", status, err)
		}
	}
	// Ejected, the endpoint is no longer tried.
	for range 10 {
		if _, _, err := run(t, b, body); err != nil {
			t.Fatal(err)
		}
	}
	h := g.Health()
	if !h[0].Ejected || h[1].Ejected {
		t.Fatalf("health %+v: want the refusing endpoint ejected", h)
	}
	if good.calls.Load() != 13 {
		t.Errorf("good endpoint served %d calls, want all 13", good.calls.Load())
	}
	// After the cool-down, one trial call goes to the ejected endpoint; it
	// fails again and the endpoint stays out.
	clk.Advance(time.Minute + time.Second)
	for range 4 {
		if _, _, err := run(t, b, body); err != nil {
			t.Fatal(err)
		}
	}
	if !g.Health()[0].Ejected {
		t.Errorf("endpoint back in service after a failed trial")
	}
	// It recovers; a probe returns it to service.
	bad.down.Store(0)
	g.Probe(context.Background())
	if g.Health()[0].Ejected {
		t.Fatal("endpoint still ejected after a successful probe")
	}
	before := bad.calls.Load()
	for range 4 {
		if _, _, err := run(t, b, body); err != nil {
			t.Fatal(err)
		}
	}
	if bad.calls.Load()-before != 2 {
		t.Errorf("recovered endpoint got %d of 4 calls, want 2", bad.calls.Load()-before)
	}
	// A probe that fails ejects an endpoint nobody has called.
	good.down.Store(502)
	g.Probe(context.Background())
	if !g.Health()[1].Ejected {
		t.Error("failing probe did not eject the endpoint")
	}
	// Both ejected: the group is unavailable.
	bad.down.Store(500)
	for range 3 {
		_, _, _ = run(t, b, body)
	}
	_, _, err = run(t, b, body)
	var u interface{ Unavailable() bool }
	if err == nil || !asUnavailable(err, &u) || !u.Unavailable() {
		t.Errorf("all endpoints down: err %v, want an unavailable error", err)
	}
}

// TestAzure sends the deployment in the path, the api-version and the key
// in api-key.
func TestAzure(t *testing.T) {
	var path, key, ver string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, key, ver = r.URL.Path, r.Header.Get("api-key"), r.URL.Query().Get("api-version")
		fmt.Fprint(w, "data: {\"choices\":[],\"prompt_filter_results\":[]}\n\n")
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "aoai", Kind: upstream.KindAzure, Endpoints: []upstream.Endpoint{{URL: srv.URL, APIKey: "k"}},
		Models: map[string]string{"gpt-4o": "my-gpt4o"}})
	if err != nil {
		t.Fatal(err)
	}
	res, c, err := run(t, g.For("gpt-4o", nil), `{"messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/openai/deployments/my-gpt4o/chat/completions" || key != "k" || ver != "2024-10-21" {
		t.Errorf("path %q key %q api-version %q", path, key, ver)
	}
	if res.PromptTokens != 9 || res.CompletionTokens != 1 || c.text[0] != "ok" {
		t.Errorf("usage %+v text %q", res, c.text[0])
	}
}

// TestStreamsAsItArrives: the first piece of output is passed on while the
// upstream is still generating (it waits for the test to see that piece
// before it sends the rest).
func TestStreamsAsItArrives(t *testing.T) {
	seen := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-seen:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" second\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "s", Endpoints: []upstream.Endpoint{{URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var text string
	_, err = g.For("m", nil).Generate(ctx, backend.Request{Body: []byte(`{"messages":[]}`), Stream: true}, func(ev backend.Event) error {
		if text == "" {
			close(seen) // the upstream sends the rest only now
		}
		text += ev.Text
		return nil
	})
	if err != nil || text != "first second" {
		t.Fatalf("text %q, err %v: the first piece was held back until the stream ended", text, err)
	}
}

// TestWholeAnswer: a call the client does not stream is not streamed from
// the upstream either; its one JSON answer becomes one event per choice,
// counted with the tokenizer when the upstream gives no usage.
func TestWholeAnswer(t *testing.T) {
	var sent map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&sent)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello there general kenobi"},"finish_reason":"length"}]}`)
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "plain", Endpoints: []upstream.Endpoint{{URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenizer(t)
	res, c, err := run(t, g.For("gpt-4o", tok), `{"messages":[{"role":"user","content":"hi"}],"stream":false,"stream_options":{"include_usage":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sent["stream"]; ok {
		t.Errorf("upstream body %v: a whole answer asks for no stream", sent)
	}
	if _, ok := sent["stream_options"]; ok {
		t.Errorf("upstream body %v: stream_options sent without a stream", sent)
	}
	if c.text[0] != "hello there general kenobi" || c.reasons[0] != "length" {
		t.Errorf("text %q, finish %q", c.text[0], c.reasons[0])
	}
	if want := len(tok.Encode("hello there general kenobi")); res.CompletionTokens != want || res.FirstToken.IsZero() {
		t.Errorf("usage %+v, want %d completion tokens counted by the tokenizer and a first-token time", res, want)
	}
}

// TestBodyForwarding: a body that already names the upstream's model and
// asks for what the call needs reaches the upstream byte for byte; one that
// needs a change (another model name, a stream flag to drop) is rewritten.
func TestBodyForwarding(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`)
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "plain", Endpoints: []upstream.Endpoint{{URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	b := g.For("gpt-4o", tokenizer(t))
	same := `{ "model": "gpt-4o", "messages": [{"role":"user","content":"hi"}], "max_tokens": 5, "seed": 1 }`
	for _, body := range []string{same, `{"model":"other","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":false}`} {
		if _, _, err := run(t, b, body); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] != same {
		t.Fatalf("forwarded %q, want the first body unchanged", got)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got[1]), &m); err != nil || m["model"] != "gpt-4o" || m["stream"] != nil {
		t.Errorf("second body forwarded as %s, want model gpt-4o and no stream flag", got[1])
	}
}

// TestRedirectNotFollowed: an upstream's redirect is its answer. The call,
// which carries the endpoint's key, goes nowhere else.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	g, err := upstream.New(upstream.Config{Name: "plain", Endpoints: []upstream.Endpoint{{URL: srv.URL, APIKey: "sk-upstream"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, g.For("gpt-4o", tokenizer(t)), `{"messages":[{"role":"user","content":"hi"}]}`)
	var se *upstream.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTemporaryRedirect {
		t.Fatalf("error %v, want the upstream's 307", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect's target got %d calls, want none", n)
	}
}
