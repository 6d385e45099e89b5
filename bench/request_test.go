package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

// azureStream is a streamed chat completion as Azure sends it: the prompt
// filter chunk first, content chunks, the usage chunk, [DONE].
func azureStream(words int, usage bool) string {
	var b strings.Builder
	b.WriteString(`data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}` + "\n\n")
	b.WriteString(`data: {"choices":[{"delta":{"role":"assistant","content":""},"index":0}],"object":"chat.completion.chunk"}` + "\n\n")
	for i := range words {
		fmt.Fprintf(&b, `data: {"choices":[{"delta":{"content":" w%d"},"index":0,"finish_reason":null}],"object":"chat.completion.chunk","usage":null}`+"\n\n", i)
	}
	b.WriteString(`data: {"choices":[{"delta":{},"index":0,"finish_reason":"length"}],"object":"chat.completion.chunk"}` + "\n\n")
	if usage {
		b.WriteString(`data: {"choices":[],"usage":{"prompt_tokens":500,"completion_tokens":` + fmt.Sprint(words+1) + `,"prompt_tokens_details":{"cached_tokens":128}}}` + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// script serves the answers in order, one per request.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	calls   int
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.calls
	s.calls++
	s.mu.Unlock()
	if i >= len(s.answers) {
		i = len(s.answers) - 1
	}
	s.answers[i](w)
}

func throttle(hdr map[string]string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set("azure-openai-deployment-utilization", "100.4%")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded the provisioned throughput."}}`)
	}
}

func stream(body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("azure-openai-deployment-utilization", "42.5%")
		w.Header().Set("apim-request-id", "req-1")
		fmt.Fprint(w, body)
	}
}

func testCaller(t *testing.T, retry string, answers ...func(w http.ResponseWriter)) (*caller, *clock.Fake, *script) {
	t.Helper()
	s := &script{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	clk := clock.NewFake(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	return &caller{urls: []string{srv.URL}, header: http.Header{}, http: srv.Client(), clock: clk, retry: retry,
		rng: rand.New(rand.NewPCG(1, 2))}, clk, s
}

// TestRetryHonoursRetryAfterMs: with exponential retry a 429 waits exactly
// retry-after-ms (else retry-after in seconds), then tries again.
func TestRetryHonoursRetryAfterMs(t *testing.T) {
	c, clk, s := testCaller(t, RetryExponential,
		throttle(map[string]string{"retry-after-ms": "1234", "retry-after": "2"}),
		throttle(map[string]string{"retry-after": "3"}),
		stream(azureStream(20, true)))
	r := c.do(context.Background(), []byte(`{}`), 500)
	if r == nil || !r.ok() {
		t.Fatalf("call did not succeed: %+v", r)
	}
	want := []time.Duration{1234 * time.Millisecond, 3 * time.Second}
	if fmt.Sprint(clk.Slept()) != fmt.Sprint(want) {
		t.Errorf("slept %v, want %v", clk.Slept(), want)
	}
	if r.RetryWait != want[0]+want[1] || len(r.Attempts) != 3 || s.calls != 3 {
		t.Errorf("retry wait %v, %d attempts, %d calls", r.RetryWait, len(r.Attempts), s.calls)
	}
	for i, a := range r.Attempts[:2] {
		if a.Status != 429 || a.RetryAfter != want[i] || a.Wait != want[i] {
			t.Errorf("attempt %d: %+v", i, a)
		}
	}
	// The call's times include the waits, as azure-openai-benchmark's ttft and e2e do.
	if got := r.FirstToken.Sub(r.Start); got != want[0]+want[1] {
		t.Errorf("time to first token %v, want the waits %v", got, want[0]+want[1])
	}
	// Usage gives the exact counts; the first text chunk is the first token.
	if r.GeneratedTokens != 21 || r.PromptTokens != 500 || r.CachedTokens != 128 || !r.HasUtil || r.Util != 42.5 {
		t.Errorf("result %+v", r)
	}
}

// TestRetryGivesUpAfter60s: a wait that would end past MaxRetryTime is not
// taken; the call ends throttled.
func TestRetryGivesUpAfter60s(t *testing.T) {
	c, clk, s := testCaller(t, RetryExponential, throttle(map[string]string{"retry-after-ms": "40000"}))
	r := c.do(context.Background(), []byte(`{}`), 500)
	if r.Status != 429 || r.ok() || s.calls != 2 || len(clk.Slept()) != 1 {
		t.Errorf("status %d after %d calls and waits %v", r.Status, s.calls, clk.Slept())
	}
}

// TestRetryNone: a 429 ends the call at once.
func TestRetryNone(t *testing.T) {
	c, clk, s := testCaller(t, RetryNone, throttle(map[string]string{"retry-after-ms": "10"}), stream(azureStream(3, false)))
	r := c.do(context.Background(), []byte(`{}`), 500)
	if r.Status != 429 || s.calls != 1 || len(clk.Slept()) != 0 || r.Attempts[0].RetryAfter != 10*time.Millisecond {
		t.Errorf("status %d after %d calls, waits %v, attempts %+v", r.Status, s.calls, clk.Slept(), r.Attempts)
	}
}

// TestNoRetryOnOtherErrors: other HTTP errors fail at once, even with exponential retry.
func TestNoRetryOnOtherErrors(t *testing.T) {
	c, clk, s := testCaller(t, RetryExponential, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"Invalid type for 'max_tokens'","type":"invalid_request_error","param":"max_tokens","code":"invalid_type"}}`)
	})
	r := c.do(context.Background(), []byte(`{}`), 500)
	if r.Status != 400 || s.calls != 1 || len(clk.Slept()) != 0 || !strings.Contains(r.Err, "invalid_type: Invalid type") {
		t.Errorf("status %d after %d calls, waits %v, error %q", r.Status, s.calls, clk.Slept(), r.Err)
	}
}

// TestBackoffOnConnectionErrors: no answer backs off with full jitter,
// doubling, within the 60 s budget.
func TestBackoffOnConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	clk := clock.NewFake(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	c := &caller{urls: []string{url}, header: http.Header{}, http: http.DefaultClient, clock: clk, retry: RetryExponential, rng: rand.New(rand.NewPCG(3, 4))}
	r := c.do(context.Background(), []byte(`{}`), 500)
	if r.Status != 0 || r.Err == "" || len(clk.Slept()) < 3 {
		t.Fatalf("status %d, error %q, waits %v", r.Status, r.Err, clk.Slept())
	}
	total := time.Duration(0)
	for i, d := range clk.Slept() {
		if ceiling := time.Duration(min(1<<i, 32)) * time.Second; d < 0 || d > ceiling {
			t.Errorf("wait %d: %v, want within [0, %v]", i, d, ceiling)
		}
		total += d
	}
	if total > MaxRetryTime {
		t.Errorf("waited %v in all, more than %v", total, MaxRetryTime)
	}
	c.retry = RetryNone
	clk.ForgetSlept()
	if r := c.do(context.Background(), []byte(`{}`), 500); r.Status != 0 || len(clk.Slept()) != 0 {
		t.Errorf("retry none: status %d, waits %v", r.Status, clk.Slept())
	}
}

// TestStreams reads streams without usage (tokens counted from chunks), cut
// short, and carrying an error event.
func TestStreams(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
		gen        int
		errPart    string
	}{
		{"no usage", azureStream(7, false), true, 7, ""},
		{"openai", "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\ndata: [DONE]\n\n", true, 2, ""},
		{"cut", strings.TrimSuffix(azureStream(5, false), "data: [DONE]\n\n"), false, 0, "before data: [DONE]"},
		{"error event", strings.Join(strings.SplitAfter(azureStream(2, false), "\n\n")[:3], "") + "data: {\"error\":{\"code\":\"InternalServerError\",\"message\":\"backend failed\"}}\n\n", false, 0, "backend failed"},
		{"long line", "data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", 10000) + "\"}}]}\n\ndata: [DONE]\n\n", true, 1, ""},
	}
	for _, tt := range tests {
		c, _, _ := testCaller(t, RetryNone, stream(tt.body))
		r := c.do(context.Background(), []byte(`{}`), 10)
		if r.ok() != tt.ok || (tt.ok && r.GeneratedTokens != tt.gen) || !strings.Contains(r.Err, tt.errPart) {
			t.Errorf("%s: ok %v, generated %d, error %q", tt.name, r.ok(), r.GeneratedTokens, r.Err)
		}
	}
}

func TestCarriesText(t *testing.T) {
	for _, tt := range []struct {
		event string
		want  bool
	}{
		{`{"choices":[{"delta":{"content":" w1"},"index":0}]}`, true},
		{`{"choices": [{"delta": {"content": "Hi"}}]}`, true}, // Python's json.dumps spacing
		{`{"choices":[{"text":"x","index":0}]}`, true},        // completions
		{`{"choices":[{"delta":{"content":"\"quoted\""}}]}`, true},
		{`{"choices":[{"delta":{"role":"assistant","content":""}}]}`, false},
		{`{"choices":[{"delta":{"content":null}}]}`, false},
		{`{"choices":[{"delta":{},"finish_reason":"stop"}]}`, false},
		{`{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"content_filter_offsets":{"check_offset":0}}]}`, false},
		{`{"choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`, false},
	} {
		if got := carriesText([]byte(tt.event)); got != tt.want {
			t.Errorf("carriesText(%s) = %v, want %v", tt.event, got, tt.want)
		}
	}
}

// TestEndpointsInTurn: a run with several endpoints (replicas of one
// deployment) sends its calls to each in turn, and a 429 retried goes to the
// next one.
func TestEndpointsInTurn(t *testing.T) {
	var scripts []*script
	cfg := Config{Endpoint: "", Deployment: "gpt-4o", APIKey: "k", APIVersion: "2024-10-21"}
	for i := range 3 {
		s := &script{answers: []func(http.ResponseWriter){stream(azureStream(3, true))}}
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		scripts = append(scripts, s)
		if i == 0 {
			cfg.Endpoint = srv.URL + "/"
		} else {
			cfg.MoreEndpoints = append(cfg.MoreEndpoints, srv.URL)
		}
	}
	urls, _ := cfg.target()
	if len(urls) != 3 || !strings.HasSuffix(urls[2], "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21") {
		t.Fatalf("target URLs %v", urls)
	}
	c := &caller{urls: urls, header: http.Header{}, http: http.DefaultClient,
		clock: clock.NewFake(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), retry: RetryNone, rng: rand.New(rand.NewPCG(1, 2))}
	for range 9 {
		if r := c.do(context.Background(), []byte(`{}`), 10); r == nil || !r.ok() {
			t.Fatalf("call failed: %+v", r)
		}
	}
	for i, s := range scripts {
		if s.calls != 3 {
			t.Errorf("endpoint %d took %d of 9 calls, want 3", i, s.calls)
		}
	}
	bad := cfg
	bad.MoreEndpoints = []string{"ftp://x"}
	if _, err := bad.withDefaults(); err == nil || !strings.Contains(err.Error(), `endpoint "ftp://x"`) {
		t.Errorf("a bad second endpoint: %v", err)
	}
}
