package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/tokens"
)

// strictServer stands for an OpenAI-compatible model server with a parser
// unlike Go's: keys are case-sensitive and a repeated key keeps its last
// value (Python's json, as vLLM and OpenAI's own servers read bodies), and
// numbers are read leniently (pydantic's lax mode takes 4000.0 and "4000"
// as 4000). It records what it read and generates the most output the body
// allows: every choice runs to its limit.
type strictServer struct {
	enc *tokens.Encoder
	mu  sync.Mutex
	got []strictRead
}

// strictRead is what the server read of one call.
type strictRead struct {
	body         []byte
	limit        int  // output tokens per generation; -1 without a limit
	runs         int  // generations: n, or best_of when larger
	promptTokens int  // of the prompt it read, counted as the gateway counts
	stream       bool // whether it was asked to stream
	completion   int  // output tokens it reported generating
}

// unlimitedOutput is what the server generates per choice given no limit.
const unlimitedOutput = 9

func (s *strictServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rd, err := s.read(body, strings.HasSuffix(r.URL.Path, "/chat/completions"))
	if err != nil {
		http.Error(w, `{"error":{"message":"`+err.Error()+`","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	out := rd.limit
	if out < 0 {
		out = unlimitedOutput
	}
	rd.completion = out * rd.runs
	s.mu.Lock()
	s.got = append(s.got, rd)
	s.mu.Unlock()
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}`, rd.promptTokens, rd.completion, rd.promptTokens+rd.completion)
	if !rd.stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"text":"ok","finish_reason":"length"}],"usage":%s}`, usage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"text\":\"ok\",\"finish_reason\":\"length\"}]}\n\n")
	fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":%s}\n\ndata: [DONE]\n\n", usage)
}

// laxInt reads an integer as pydantic's lax mode does; ok is false for null
// or a value that is not one.
func laxInt(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

func (s *strictServer) read(body []byte, chat bool) (strictRead, error) {
	rd := strictRead{body: body, limit: -1, runs: 1}
	var m map[string]json.RawMessage // case-sensitive, last key wins
	if err := json.Unmarshal(body, &m); err != nil {
		return rd, err
	}
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		if v, ok := laxInt(m[k]); ok {
			rd.limit = max(rd.limit, v)
		}
	}
	if v, ok := laxInt(m["n"]); ok {
		rd.runs = v
	}
	if v, ok := laxInt(m["best_of"]); ok {
		rd.runs = max(rd.runs, v)
	}
	_ = json.Unmarshal(m["stream"], &rd.stream)
	if chat {
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(m["messages"], &msgs); err != nil {
			return rd, err
		}
		tm := make([]tokens.Message, len(msgs))
		for i, msg := range msgs {
			_ = json.Unmarshal(msg["role"], &tm[i].Role)
			_ = json.Unmarshal(msg["name"], &tm[i].Name)
			var text string
			if json.Unmarshal(msg["content"], &text) != nil {
				var parts []map[string]json.RawMessage
				_ = json.Unmarshal(msg["content"], &parts)
				var texts []string
				for _, p := range parts {
					var typ, t string
					_ = json.Unmarshal(p["type"], &typ)
					if typ == "text" {
						_ = json.Unmarshal(p["text"], &t)
						texts = append(texts, t)
					}
				}
				text = strings.Join(texts, "\n")
			}
			tm[i].Content = text
			if tc := msg["tool_calls"]; len(tc) > 0 && string(tc) != "null" {
				tm[i].ToolCalls = string(tc)
			}
		}
		rd.promptTokens = len(s.enc.ChatTokens(tm))
		return rd, nil
	}
	var text string
	if json.Unmarshal(m["prompt"], &text) == nil {
		rd.promptTokens = len(s.enc.Encode(text))
		return rd, nil
	}
	var ids []int
	if err := json.Unmarshal(m["prompt"], &ids); err != nil {
		return rd, err
	}
	rd.promptTokens = len(ids)
	return rd, nil
}

func (s *strictServer) take() []strictRead {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// differential is a gpt-4o deployment served by a strict upstream server.
type differential struct {
	srv *strictServer
	dep *deployment
}

func newDifferential(tb testing.TB) *differential {
	dep := fuzzDeployment(tb)
	srv := &strictServer{enc: dep.enc}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	g, err := upstream.New(upstream.Config{Name: "strict", Endpoints: []upstream.Endpoint{{URL: ts.URL + "/v1"}}, FailureThreshold: math.MaxInt32})
	if err != nil {
		tb.Fatal(err)
	}
	dep.targets, dep.total = []target{{pool: "strict", weight: 1, backend: g.For(dep.model.Name, dep.enc)}}, 1
	return &differential{srv: srv, dep: dep}
}

// check runs body as the gateway would: refused, or admitted, forwarded and
// settled. Forwarded, the upstream must have read the prompt the gateway
// counted and generated no more than admission reserved, and the
// settlement must be what the upstream reported. It returns whether the
// body was admitted.
func (d *differential) check(t *testing.T, op operation, body []byte) bool {
	t.Helper()
	req, e := parse(op, body, d.dep)
	if e != nil {
		if got := d.srv.take(); len(got) > 0 {
			t.Fatalf("%q: refused (%s) but forwarded", body, e.Message)
		}
		return false
	}
	w := httptest.NewRecorder()
	out := newResponder(w, op, req, d.dep, newRequestID(), time.Now)
	res, err := d.generateAll(req, out)
	got := d.srv.take()
	if err != nil {
		t.Fatalf("%q: admitted, but the upstream refused it: %v", body, err)
	}
	if len(got) != len(req.prompts) {
		t.Fatalf("%q: %d prompts admitted, %d calls forwarded", body, len(req.prompts), len(got))
	}
	prompt, completion := 0, 0
	for i, rd := range got {
		prompt += rd.promptTokens
		completion += rd.completion
		if rd.runs > req.runs {
			t.Errorf("%q: call %d: the upstream ran %d generations, admission reserved %d", body, i, rd.runs, req.runs)
		}
		if rd.stream != req.stream {
			t.Errorf("%q: call %d: the upstream streams %v, the gateway %v", body, i, rd.stream, req.stream)
		}
		switch {
		case req.maxTokens > 0 && (rd.limit < 0 || rd.limit > req.reserve):
			t.Errorf("%q: call %d: the upstream may generate %d tokens a choice, admission reserved %d", body, i, rd.limit, req.reserve)
		case req.maxTokens == 0 && rd.limit >= 0 && rd.limit > d.dep.model.ContextWindow-req.promptTokens:
			t.Errorf("%q: call %d: no max_tokens admitted, but the upstream read a limit of %d", body, i, rd.limit)
		}
	}
	if prompt != req.promptTokens {
		t.Errorf("%q: the gateway counted %d prompt tokens, the upstream read %d", body, req.promptTokens, prompt)
	}
	if res.PromptTokens != prompt || res.CompletionTokens != completion {
		t.Errorf("%q: settled %d prompt + %d output tokens, the upstream reported %d + %d", body, res.PromptTokens, res.CompletionTokens, prompt, completion)
	}
	if req.maxTokens > 0 {
		actual := float64(res.PromptTokens-res.CachedTokens) + d.dep.weight*float64(res.CompletionTokens)
		if est := req.estimate(d.dep); actual > est+1e-6 {
			t.Errorf("%q: admitted at %.0f, settled at %.0f", body, est, actual)
		}
	}
	return true
}

func (d *differential) generateAll(req *request, out *responder) (backend.Result, error) {
	return (&Gateway{}).generate(context.Background(), d.dep, req, out)
}

// TestAdmittedIsWhatRuns sends crafted bodies through the gateway to an
// upstream whose parser differs from Go's: every body is either refused or
// runs exactly as it was priced.
func TestAdmittedIsWhatRuns(t *testing.T) {
	d := newDifferential(t)
	user := `[{"role":"user","content":"hi"}]`
	cases := []struct {
		op    operation
		body  string
		admit bool
	}{
		{opChat, `{"messages":` + user + `,"max_tokens":40}`, true},
		{opChat, `{"messages":` + user + `,"max_tokens":4000,"MAX_TOKENS":1}`, false},
		{opChat, `{"messages":` + user + `,"MAX_TOKENS":1}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":1,"max_tokens":4000}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":1,"max\u005ftokens":4000}`, false},
		{opChat, `{"messages":` + user + `,"max_to` + "\u212a" + `ens":4000,"max_tokens":1}`, false}, // a Kelvin sign
		{opChat, `{"messages":` + user + `,"max_to\u212aens":4000,"max_tokens":1}`, false},           // escaped
		{opChat, `{"messages":` + user + `,"max_to\\u212aens":4000,"max_tokens":1}`, true},           // a backslash: another key
		{opChat, `{"messages":` + user + `,"max_tokens":null}`, true},
		{opChat, `{"messages":` + user + `,"max_tokens":1e3}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":4000.0}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":"4000"}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":99999999999999999999999}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"max_completion_tokens":3000}`, true},
		{opChat, `{"messages":` + user + `,"max_completion_tokens":10,"max_tokens":3000}`, true},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"n":3}`, true},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"n":1,"N":5}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"best_of":5}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"stream":true,"stream_options":{"include_usage":true}}`, true},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"stream":false,"Stream":true}`, false},
		{opChat, `{"messages":` + user + `,"max_tokens":10,"stream":true,"stream_options":{"include_usage":false,"INCLUDE_USAGE":true}}`, false},
		{opChat, `{"messages":[{"role":"user","content":"a","content":"a much longer prompt than the first"}],"max_tokens":5}`, false},
		{opChat, `{"messages":[{"role":"user","content":"a","Content":"a much longer prompt than the first"}],"max_tokens":5}`, false},
		{opChat, `{"messages":[{"role":"user","content":[{"type":"text","text":"a","TEXT":"longer text"}]}],"max_tokens":5}`, false},
		{opChat, `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"max_tokens":5}`, true},
		{opChat, `{"messages":[{"role":"user","content":"x"}],"MESSAGES":[{"role":"user","content":"a much longer prompt"}],"max_tokens":5}`, false},
		{opChat, `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"id":{},"ID":{}}}}}],"max_tokens":5}`, true},
		{opChat, `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","name":"g"}}],"max_tokens":5}`, false},
		{opChat, `{"messages":[{"role":"user","content":"x"}],"model":"a","model":"b","max_tokens":5}`, false},
		{opCompletions, `{"prompt":"hello there","max_tokens":7}`, true},
		{opCompletions, `{"prompt":["a","b c"],"max_tokens":7,"n":2}`, true},
		{opCompletions, `{"prompt":[[1,2,3],[4]],"max_tokens":7}`, true},
		{opCompletions, `{"prompt":"x","max_tokens":7,"best_of":4,"n":2}`, true},
		{opCompletions, `{"prompt":"x","max_tokens":7,"best_of":1,"n":2}`, false},
		{opCompletions, `{"prompt":"x","max_tokens":7,"BEST_OF":20}`, false},
		{opCompletions, `{"prompt":"x","max_tokens":7,"max_completion_tokens":4000}`, false},
		{opCompletions, `{"prompt":"x","max_tokens":7,"messages":[{"role":"user","content":"a long chat"}]}`, false},
		{opCompletions, `{"prompt":"x","PROMPT":"a much longer prompt","max_tokens":7}`, false},
		{opCompletions, `{"prompt":"x","prompt":"a much longer prompt","max_tokens":7}`, false},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			if got := d.check(t, c.op, []byte(c.body)); got != c.admit {
				t.Errorf("%s %s: admitted %v, want %v", c.op, c.body, got, c.admit)
			}
		})
	}
}

// FuzzAdmittedIsWhatRuns: no body runs upstream other than as it was
// admitted (see TestAdmittedIsWhatRuns).
func FuzzAdmittedIsWhatRuns(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":40,"n":2}`,
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":4000,"MAX_TOKENS":1}`,
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"max\u005ftokens":4000}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"}],"name":"n"}],"max_completion_tokens":10,"stream":true}`,
		`{"prompt":["a","b"],"max_tokens":7,"best_of":3}`, `{"prompt":[[1,2],[3]],"max_tokens":2}`,
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	d := newDifferential(f)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		d.check(t, operation(which%2), []byte(body))
	})
}
