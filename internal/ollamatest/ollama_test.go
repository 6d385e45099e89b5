package ollamatest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/internal/ollamatest"
	"github.com/ptu-dev/ptu/tokens"
)

// TestVersion: the engine under test is the release the tests were written for.
func TestVersion(t *testing.T) {
	o := engine(t)
	v, err := o.Version(context.Background())
	if err != nil || v != ollamatest.Version {
		t.Fatalf("ollama version %q, %v; want %s", v, err, ollamatest.Version)
	}
}

// TestThroughPTU runs chat and legacy completions, whole and streamed,
// through a ptu deployment whose pool is a real Ollama: the text and usage
// are exactly what Ollama answers the same request directly, generation
// ends at max_tokens with finish_reason "length", and the usage Ollama
// reported is the one the bucket, the access log and the Prometheus
// counters hold.
func TestThroughPTU(t *testing.T) {
	o := engine(t)
	e := newPTU(t, []string{o.URL}, tiny, "")
	ctx := context.Background()
	cases := []struct {
		name, op, body string
		stream         bool
	}{
		{"chat", "chat/completions", `{"messages":[{"role":"user","content":"Tell me a story about the queue."}]`, false},
		{"chat streamed", "chat/completions", `{"messages":[{"role":"user","content":"Tell me a story about the queue."}],"stream":true,"stream_options":{"include_usage":true}`, true},
		{"completion", "completions", `{"prompt":"Once upon a time the model"`, false},
		{"completion streamed", "completions", `{"prompt":"Once upon a time the model","stream":true,"stream_options":{"include_usage":true}`, true},
	}
	var prompt, completion int
	var cost float64
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const max = 12
			body := c.body + fmt.Sprintf(`,"max_tokens":%d,"temperature":0,"seed":7}`, max)
			direct := post(ctx, t, o.URL+"/v1/"+c.op, "", strings.Replace(body, "{", `{"model":"`+tiny+`",`, 1))
			if direct.status != 200 || direct.usage == nil || direct.text == "" {
				t.Fatalf("Ollama directly: status %d, usage %v: %s", direct.status, direct.usage, direct.body)
			}
			a := post(ctx, t, e.opURL(c.op), e.key, body)
			if a.status != 200 {
				t.Fatalf("through ptu: status %d: %s", a.status, a.body)
			}
			if a.text != direct.text {
				t.Errorf("text through ptu %q, directly %q", a.text, direct.text)
			}
			if a.usage == nil || *a.usage != *direct.usage || a.usage.CompletionTokens != max {
				t.Errorf("usage through ptu %+v, directly %+v; want the same, %d completion tokens", a.usage, direct.usage, max)
			}
			if a.finish != "length" {
				t.Errorf("finish_reason %q, want length (max_tokens reached)", a.finish)
			}
			if c.stream && (!a.done || a.chunks < 2) {
				t.Errorf("stream: %d text chunks, [DONE] %v; want several and [DONE]", a.chunks, a.done)
			}
			if a.header.Get("azure-openai-deployment-utilization") == "" || a.header.Get("apim-request-id") == "" {
				t.Errorf("headers %v lack the utilization or request id", a.header)
			}
			recs := e.logs.all()
			if len(recs) != i+1 {
				t.Fatalf("%d access-log records after %d calls", len(recs), i+1)
			}
			r := recs[i]
			if r.int("status") != 200 || r.int("prompt_tokens") != direct.usage.PromptTokens || r.int("completion_tokens") != max {
				t.Errorf("access log %v; want status 200 and Ollama's usage %+v", r, direct.usage)
			}
			if got, want := r["cost"].(float64), e.cost(direct.usage.PromptTokens, max); math.Abs(got-want) > 0.05 {
				t.Errorf("settled cost %v, want %v (Ollama's prompt + %g × completion)", got, want, e.model.OutputWeight)
			}
			prompt += direct.usage.PromptTokens
			completion += max
			cost += e.cost(direct.usage.PromptTokens, max)
		})
	}
	// The bucket (its clock stands still, so nothing drained) holds exactly
	// the settled cost of Ollama's usage, and so do the counters.
	if got, want := e.utilization(), 100*cost/e.capacity(); math.Abs(got-want) > 1e-6 {
		t.Errorf("bucket at %.6f%%, want %.6f%% (%v tokens of %v)", got, want, cost, e.capacity())
	}
	labels := `{account="acct",deployment="dep",kind="%s"}`
	if p, c := e.metric("ptu_tokens_total"+fmt.Sprintf(labels, "prompt")), e.metric("ptu_tokens_total"+fmt.Sprintf(labels, "completion")); int(p) != prompt || int(c) != completion {
		t.Errorf("ptu_tokens_total prompt %v completion %v, want %d and %d", p, c, prompt, completion)
	}
	if got := e.metric(`ptu_deployment_consumed_tokens_total{account="acct",deployment="dep"}`); math.Abs(got-cost) > 1e-6 {
		t.Errorf("ptu_deployment_consumed_tokens_total %v, want %v", got, cost)
	}
	// Billing: a provisioned deployment is billed by the PTU-hour whatever
	// its calls, and no token is billed for it.
	e.clock.Advance(time.Hour)
	rep, err := e.s.Billing.Usage(ctx, billing.UsageQuery{SubscriptionID: e.dep.SubscriptionID, From: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC),
		To: time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC), Granularity: "Hourly"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.PTUMinutes != 200*60 || rep.Total.TokenCostMicros != 0 {
		t.Errorf("billed %d PTU-minutes and %d micro-dollars of tokens; want %d and none", rep.Total.PTUMinutes, rep.Total.TokenCostMicros, 200*60)
	}
}

// TestStopSequences: a stop sequence ends Ollama's generation at its first
// occurrence, with finish_reason "stop", whole and streamed, and the usage
// counts only what was generated.
func TestStopSequences(t *testing.T) {
	o := engine(t)
	e := newPTU(t, []string{o.URL}, tiny, "")
	ctx := context.Background()
	base := `{"messages":[{"role":"user","content":"hello world"}],"max_tokens":40,"temperature":0,"seed":3`
	full := post(ctx, t, e.opURL("chat/completions"), e.key, base+"}")
	if full.status != 200 || full.finish != "length" {
		t.Fatalf("status %d finish %q: %s", full.status, full.finish, full.body)
	}
	// A stop sequence from the middle of the text: two characters, no space.
	var stop string
	var at int
	for i := len(full.text) / 3; i+2 <= len(full.text); i++ {
		s := full.text[i : i+2]
		if !strings.ContainsAny(s, " \n") && strings.Index(full.text, s) > 0 {
			stop, at = s, strings.Index(full.text, s)
			break
		}
	}
	if stop == "" {
		t.Fatalf("no stop sequence to pick in %q", full.text)
	}
	for _, stream := range []string{"", `,"stream":true,"stream_options":{"include_usage":true}`} {
		a := post(ctx, t, e.opURL("chat/completions"), e.key, base+fmt.Sprintf(`,"stop":[%q]`, stop)+stream+"}")
		if a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		if a.text != full.text[:at] || a.finish != "stop" {
			t.Errorf("stream %v: text %q finish %q; want %q (up to the stop %q) and stop", stream != "", a.text, a.finish, full.text[:at], stop)
		}
		if a.usage == nil || a.usage.CompletionTokens >= full.usage.CompletionTokens || a.usage.CompletionTokens < 1 {
			t.Errorf("usage %+v; want fewer completion tokens than %d", a.usage, full.usage.CompletionTokens)
		}
	}
}

// TestErrors: a pool naming a model Ollama does not have gets Azure's error
// shape (500 InternalServerError) and leaves the bucket as it was; a pool
// whose only engine is gone gets 503 ServiceUnavailable once its circuit is
// open; a request ptu refuses itself never reaches Ollama.
func TestErrors(t *testing.T) {
	o := engine(t)
	ctx := context.Background()
	t.Run("unknown model", func(t *testing.T) {
		e := newPTU(t, []string{o.URL}, "no-such-model", "")
		for _, body := range []string{`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
			`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}`} {
			a := post(ctx, t, e.opURL("chat/completions"), e.key, body)
			if a.status != 500 || a.errCode != "InternalServerError" {
				t.Errorf("status %d code %q: %s; want 500 InternalServerError", a.status, a.errCode, a.body)
			}
		}
		if u := e.utilization(); u != 0 {
			t.Errorf("bucket at %v%% after two failed calls; want 0 (nothing was generated)", u)
		}
	})
	t.Run("engine gone", func(t *testing.T) {
		gone := newEngine(t)
		e := newPTU(t, []string{gone.URL}, tiny, "    failureThreshold: 2\n    cooldown: 1h\n    healthInterval: 1h\n")
		if err := gone.Kill(); err != nil {
			t.Fatal(err)
		}
		var statuses []int
		for range 3 {
			a := post(ctx, t, e.opURL("chat/completions"), e.key, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
			statuses = append(statuses, a.status)
			if a.errCode == "" {
				t.Errorf("status %d without an Azure error: %s", a.status, a.body)
			}
		}
		if fmt.Sprint(statuses) != "[500 500 503]" {
			t.Errorf("statuses %v; want 500 twice (connection refused), then 503 (circuit open)", statuses)
		}
		if u := e.utilization(); u != 0 {
			t.Errorf("bucket at %v%% after failed calls; want 0", u)
		}
	})
	t.Run("refused by ptu", func(t *testing.T) {
		c := newCounter(t, o.URL)
		e := newPTU(t, []string{c.URL}, tiny, "")
		a := post(ctx, t, e.opURL("chat/completions"), e.key, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":-1}`)
		if a.status != 400 || c.calls.Load() != 0 {
			t.Errorf("status %d (%s), %d calls reached Ollama; want 400 and none", a.status, a.body, c.calls.Load())
		}
	})
}

// TestModelsQuirk: Ollama answers GET /v1/models with "data": null when
// asked for no model; the default health probe (GET /models) takes that
// as healthy.
func TestModelsQuirk(t *testing.T) {
	o := engine(t)
	g, err := upstream.New(upstream.Config{Name: "ollama", Endpoints: []upstream.Endpoint{{URL: o.URL + "/v1"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.Probe(context.Background())
	if h := g.Health(); h[0].Ejected {
		t.Errorf("probe ejected a healthy Ollama: %+v", h)
	}
	g2, err := upstream.New(upstream.Config{Name: "ollama", Endpoints: []upstream.Endpoint{{URL: o.URL + "/v1"}}, HealthModel: tiny, HealthTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g2.Probe(context.Background())
	if h := g2.Health(); h[0].Ejected {
		t.Errorf("generation probe ejected a healthy Ollama: %+v", h)
	}
}

// TestCompletionStreamCut: a streamed legacy completion (whose chunks all
// carry "usage":{}) cut by the client is settled at the prompt plus the
// tokenizer's count of what was generated, never at zero.
func TestCompletionStreamCut(t *testing.T) {
	o := engine(t)
	e := newPTU(t, []string{o.URL}, tiny, "")
	seen := cutStream(t, e, "completions", `{"prompt":"Once upon a time","max_tokens":16000,"stream":true}`, 20)
	r := waitRecord(t, e, 1)[0]
	enc, err := tokens.Get(e.model.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(enc.Encode(seen)); r.int("completion_tokens") < n-1 || r.int("prompt_tokens") < 1 {
		t.Fatalf("cut call settled %v; want the prompt and at least the %d tokens the client saw", r, n)
	}
	if got, want := r["cost"].(float64), e.cost(r.int("prompt_tokens"), r.int("completion_tokens")); math.Abs(got-want) > 0.05 {
		t.Errorf("cost %v, want %v", got, want)
	}
	if got, want := e.utilization(), 100*r["cost"].(float64)/e.capacity(); math.Abs(got-want) > 0.01 {
		t.Errorf("bucket at %v%%, want %v%% (the cut call's settled cost)", got, want)
	}
}

// cutStream starts a streamed call, reads chunks text chunks and hangs up;
// it returns the text read.
func cutStream(t *testing.T, e *ptuEnv, op, reqBody string, chunks int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.opURL(op), strings.NewReader(reqBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", e.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	sc := bufio.NewScanner(res.Body)
	var text strings.Builder
	for n := 0; n < chunks && sc.Scan(); {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || line == "[DONE]" {
			continue
		}
		var v body
		if json.Unmarshal([]byte(line), &v) == nil && len(v.Choices) > 0 && v.Choices[0].text() != "" {
			text.WriteString(v.Choices[0].text())
			n++
		}
	}
	if sc.Err() != nil {
		t.Fatalf("stream ended early: %v", sc.Err())
	}
	return text.String()
}

// waitRecord waits for n access-log records (a cut call is recorded after
// its client has gone).
func waitRecord(t *testing.T, e *ptuEnv, n int) []record {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if r := e.logs.all(); len(r) >= n {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d access-log records, want %d", len(e.logs.all()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
