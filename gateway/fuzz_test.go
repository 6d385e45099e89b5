package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/tokens"
)

// fuzzDeployment is a 15-PTU gpt-4o deployment as parse sees it.
func fuzzDeployment(tb testing.TB) *deployment {
	m, ok := catalog.Default().Lookup("gpt-4o", "2024-08-06")
	if !ok {
		tb.Fatal("gpt-4o 2024-08-06 not in the catalog")
	}
	enc, err := tokens.Get(m.Tokenizer)
	if err != nil {
		tb.Fatal(err)
	}
	return &deployment{model: m, enc: enc, weight: m.OutputWeight, capacity: float64(15 * m.InputTPMPerPTU)}
}

// FuzzParseRequest: any chat or completions body is either refused with a
// 4xx invalid_request_error naming what is wrong, or yields a request within
// the model's limits whose admission estimate is a finite, non-negative number.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0.5,"top_p":0.9,"n":2,"stop":["x"],"seed":1,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}],"max_completion_tokens":10}`,
		`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"r"}]}`,
		`{"prompt":"hello","max_tokens":5,"n":1,"stop":"x","stream":false}`,
		`{"prompt":["a","b"],"max_tokens":16384}`, `{"prompt":[[1,2,3],[4]]}`, `{"prompt":[-1,200000]}`, `{"prompt":[]}`,
		`{"messages":[]}`, `{"messages":[{"role":"robot","content":"x"}]}`, `{"max_tokens":1e30}`, `{"n":129}`,
		`{"temperature":"hot"}`, `[]`, `{`, `null`, `{} {}`, "", `{"messages":[{"role":"user","content":"\ud800"}]}`,
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	dep := fuzzDeployment(f)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		op := operation(which % 2)
		r, e := parse(op, []byte(body), dep)
		if e != nil {
			status := e.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			if status < 400 || status >= 500 || e.Type != "invalid_request_error" || e.Message == "" {
				t.Fatalf("%s %q: refusal %d %+v", op, body, status, e)
			}
			if _, err := json.Marshal(map[string]*openAIError{"error": e}); err != nil {
				t.Fatalf("error body does not encode: %v", err)
			}
			return
		}
		if r.n < 1 || r.n > 128 || len(r.prompts) == 0 {
			t.Fatalf("%q: n %d, %d prompts", body, r.n, len(r.prompts))
		}
		if r.maxTokens < 0 || r.maxTokens > dep.model.MaxOutputTokens || r.reserve < 0 {
			t.Fatalf("%q: max_tokens %d, reserve %d", body, r.maxTokens, r.reserve)
		}
		total := 0
		for _, p := range r.prompts {
			if len(p)+max(r.maxTokens, 1) > dep.model.ContextWindow {
				t.Fatalf("%q: a prompt of %d tokens passed the context window", body, len(p))
			}
			total += len(p)
			_ = dep.enc.Decode(p) // the content filter decodes token prompts
		}
		if total != r.promptTokens {
			t.Fatalf("%q: promptTokens %d, prompts hold %d", body, r.promptTokens, total)
		}
		if est := r.estimate(dep); math.IsNaN(est) || math.IsInf(est, 0) || est < 0 {
			t.Fatalf("%q: estimate %v", body, est)
		}
		if len(r.stop) > 4 || (r.includeUsage && !r.stream) {
			t.Fatalf("%q: stop %v, include_usage without stream", body, r.stop)
		}
	})
}

// FuzzDecodeError: whatever error JSON decoding gives, the refusal is a 400
// that does not echo more of the body than the decoder's own message.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{`{"n":"x"}`, `{"messages":{}}`, `[`, `{"a":1}}`, `"s"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in struct {
			N        *int     `json:"n"`
			Messages []string `json:"messages"`
		}
		err := json.Unmarshal([]byte(body), &in)
		if err == nil {
			return
		}
		e := decodeError(err)
		if e.Status != 0 || e.Type != "invalid_request_error" || e.Message == "" || strings.Contains(e.Message, "\x00") && !strings.Contains(body, "\x00") {
			t.Fatalf("%q: %+v", body, e)
		}
	})
}
