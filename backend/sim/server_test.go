package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(map[string]*Engine{
		"gpt-4o":  realEngine(t, Config{OutputMean: 12, OutputStdDev: 3}),
		"gpt-4.1": realEngine(t, Config{}),
	})
	s.now = func() time.Time { return time.Unix(1735689600, 0) }
	s.newID = func() string { return "TESTID" }
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// events splits a server-sent event stream into its data payloads, checking the framing.
func events(t *testing.T, body []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\n\n")) {
		t.Fatalf("stream does not end with a blank line: %q", body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("bad event %q", ev)
		}
		out = append(out, data)
	}
	if out[len(out)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", out[len(out)-1])
	}
	return out[:len(out)-1]
}

const chatBody = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","name":"ann","content":[{"type":"text","text":"Say hello."}]}],"seed":7,"max_tokens":40,"n":2,"stop":"nothing"}`

func TestServerChatCompletion(t *testing.T) {
	s, ts := testServer(t)
	resp, body := post(t, ts.URL+"/v1/chat/completions", chatBody)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	golden(t, "chat.json", body)

	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	choice := raw["choices"].([]any)[0].(map[string]any)
	if v, ok := choice["logprobs"]; !ok || v != nil {
		t.Error("choices[0].logprobs should be present and null")
	}
	var c ChatCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "chatcmpl-TESTID" || c.Object != "chat.completion" || c.Created != 1735689600 || c.Model != "gpt-4o" || len(c.Choices) != 2 {
		t.Errorf("unexpected response %+v", c)
	}
	tok := s.engines["gpt-4o"].cfg.Tokenizer
	completion := 0
	for i, ch := range c.Choices {
		if ch.Index != i || ch.Message.Role != "assistant" || ch.Message.Content == "" || ch.FinishReason != "stop" {
			t.Errorf("choice %d: %+v", i, ch)
		}
		completion += len(tok.Encode(ch.Message.Content))
	}
	// 3 + (3 + system + "You are terse.") + (3 + user + "Say hello." + 1 + "ann")
	prompt := 3 + 3 + 1 + len(tok.Encode("You are terse.")) + 3 + 1 + len(tok.Encode("Say hello.")) + 1 + len(tok.Encode("ann"))
	u := c.Usage
	if u.PromptTokens != prompt || u.CompletionTokens != completion || u.TotalTokens != prompt+completion || u.PromptTokensDetails == nil {
		t.Errorf("usage %+v, want %d prompt and %d completion tokens", u, prompt, completion)
	}

	// The same request gives the same text.
	if _, again := post(t, ts.URL+"/v1/chat/completions", chatBody); !bytes.Equal(again, body) {
		t.Error("same seed, different response")
	}
}

func TestServerChatStream(t *testing.T) {
	_, ts := testServer(t)
	req := strings.Replace(chatBody, `"seed":7`, `"seed":7,"stream":true,"stream_options":{"include_usage":true}`, 1)
	resp, body := post(t, ts.URL+"/v1/chat/completions", req)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	golden(t, "chat-stream.txt", body)

	_, plain := post(t, ts.URL+"/v1/chat/completions", chatBody)
	var want ChatCompletion
	if err := json.Unmarshal(plain, &want); err != nil {
		t.Fatal(err)
	}
	texts := map[int]string{}
	finish := map[int]string{}
	var usage *Usage
	chunks := events(t, body)
	for i, data := range chunks {
		var c ChatCompletionChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		if c.ID != "chatcmpl-TESTID" || c.Object != "chat.completion.chunk" || c.Model != "gpt-4o" {
			t.Fatalf("chunk %d: %s", i, data)
		}
		if c.Usage != nil {
			if i != len(chunks)-1 || len(c.Choices) != 0 || !strings.Contains(data, `"choices":[]`) {
				t.Errorf("usage chunk should be last with empty choices: %s", data)
			}
			usage = c.Usage
			continue
		}
		if len(c.Choices) != 1 {
			t.Fatalf("chunk %d has %d choices", i, len(c.Choices))
		}
		ch := c.Choices[0]
		if _, seen := texts[ch.Index]; !seen && ch.Delta.Role != "assistant" {
			t.Errorf("first chunk of choice %d has no role: %s", ch.Index, data)
		}
		if ch.Delta.Content != nil {
			texts[ch.Index] += *ch.Delta.Content
		} else if _, seen := texts[ch.Index]; !seen {
			texts[ch.Index] = ""
		}
		if ch.FinishReason != nil {
			finish[ch.Index] = *ch.FinishReason
		}
	}
	for i, w := range want.Choices {
		if texts[i] != w.Message.Content || finish[i] != w.FinishReason {
			t.Errorf("choice %d streamed %q (%s), unstreamed %q (%s)", i, texts[i], finish[i], w.Message.Content, w.FinishReason)
		}
	}
	if usage == nil || usage.PromptTokens != want.Usage.PromptTokens || usage.CompletionTokens != want.Usage.CompletionTokens {
		t.Errorf("usage %+v, want %+v", usage, want.Usage)
	}
}

func TestServerCompletions(t *testing.T) {
	_, ts := testServer(t)
	resp, body := post(t, ts.URL+"/v1/completions", `{"model":"gpt-4o","prompt":["Once upon a time",[1,2,3]],"max_tokens":5,"seed":1,"n":2}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	golden(t, "completions.json", body)
	var c Completion
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "text_completion" || c.ID != "cmpl-TESTID" || len(c.Choices) != 4 {
		t.Fatalf("unexpected response %s", body)
	}
	for i, ch := range c.Choices {
		if ch.Index != i || ch.Text == "" || ch.FinishReason == nil || *ch.FinishReason != "length" {
			t.Errorf("choice %d: %+v", i, ch)
		}
	}
	if c.Choices[0].Text == c.Choices[2].Text {
		t.Error("two prompts, same text")
	}
	if u := c.Usage; u.PromptTokens != 4+3 || u.CompletionTokens != 20 {
		t.Errorf("usage %+v", u)
	}

	resp, body = post(t, ts.URL+"/v1/completions", `{"model":"gpt-4.1","prompt":"Hi","seed":1,"stream":true,"stream_options":{"include_usage":true}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	golden(t, "completions-stream.txt", body)
	chunks := events(t, body)
	text := ""
	for _, data := range chunks[:len(chunks)-1] {
		var c Completion
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		text += c.Choices[0].Text
	}
	var last Completion
	if err := json.Unmarshal([]byte(chunks[len(chunks)-1]), &last); err != nil || last.Usage == nil || last.Usage.CompletionTokens != 16 {
		t.Errorf("last chunk %s: want usage with the default 16 tokens", chunks[len(chunks)-1])
	}
	if text == "" {
		t.Error("no text streamed")
	}
}

func TestServerErrors(t *testing.T) {
	_, ts := testServer(t)
	for _, tc := range []struct {
		path, body string
		status     int
		param      string
		code       string
	}{
		{"/v1/chat/completions", `{"model":`, 400, "", ""},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400, "", ""},
		{"/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "model", "model_not_found"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`, 400, "messages", "empty_array"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"max_tokens":0}`, 400, "max_tokens", "integer_below_min_value"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"max_completion_tokens":-1}`, 400, "max_completion_tokens", "integer_below_min_value"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"n":0}`, 400, "n", "integer_below_min_value"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"n":129}`, 400, "n", "integer_above_max_value"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}`, 400, "stop", "array_above_max_length"},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, 400, "stream_options", ""},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":5}]}`, 400, "", ""},
		{"/v1/completions", `{"model":"gpt-4o"}`, 400, "prompt", ""},
		{"/v1/completions", `{"model":"gpt-4o","prompt":{}}`, 400, "", ""},
		{"/v1/embeddings", `{}`, 404, "", ""},
	} {
		resp, body := post(t, ts.URL+tc.path, tc.body)
		var e struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
			t.Errorf("%s %s: body %s is not an error", tc.path, tc.body, body)
			continue
		}
		for _, k := range []string{"message", "type", "param", "code"} {
			if _, ok := e.Error[k]; !ok {
				t.Errorf("%s: error has no %q: %s", tc.body, k, body)
			}
		}
		param, _ := e.Error["param"].(string)
		code, _ := e.Error["code"].(string)
		if resp.StatusCode != tc.status || param != tc.param || code != tc.code || e.Error["type"] != "invalid_request_error" {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, resp.StatusCode, body)
		}
	}
}

func TestServerModels(t *testing.T) {
	_, ts := testServer(t)
	resp, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list ModelList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "gpt-4.1" || list.Data[1].Object != "model" {
		t.Errorf("models %+v", list)
	}
	for path, status := range map[string]int{"/v1/models/gpt-4o": 200, "/v1/models/nope": 404, "/health": 200} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, status)
		}
	}
}

// TestServerWithOpenAIClient checks the shapes against the official Go SDK.
func TestServerWithOpenAIClient(t *testing.T) {
	_, ts := testServer(t)
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey("k"))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:     "gpt-4.1",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Write a story.")},
		Seed:      openai.Int(3),
		MaxTokens: openai.Int(30),
		N:         openai.Int(2),
	}
	c, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Choices) != 2 || c.Choices[1].Message.Content == "" || c.Choices[0].FinishReason != "length" || c.Usage.CompletionTokens != 60 {
		t.Errorf("completion %+v", c)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 2 || acc.Choices[0].Message.Content != c.Choices[0].Message.Content || acc.Usage.CompletionTokens != 60 {
		t.Errorf("streamed %+v, want the text of %+v", acc.ChatCompletion, c)
	}
}

func TestServerClientGoneAborts(t *testing.T) {
	s, ts := testServer(t)
	slow, err := New(Config{RatedTPM: 1e9, DecodeTPS: 20})
	if err != nil {
		t.Fatal(err)
	}
	s.engines["slow"] = slow
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"slow","messages":[{"role":"user","content":"x"}],"stream":true,"max_tokens":1000}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, func() bool { return slow.Stats().InFlight == 0 })
}
