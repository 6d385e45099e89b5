package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tokens"
)

var utilizationRE = regexp.MustCompile(`^\d+\.\d%$`)

// headerUtilization parses the azure-openai-deployment-utilization header.
func headerUtilization(t testing.TB, h http.Header) float64 {
	t.Helper()
	v := h.Get("azure-openai-deployment-utilization")
	if !utilizationRE.MatchString(v) {
		t.Fatalf("azure-openai-deployment-utilization = %q, want a percentage like 42.5%%", v)
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func chatCount(msgs ...tokens.Message) int {
	return tokens.MustGet(catalog.O200kBase).CountChat(msgs)
}

func TestChatCompletion(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	client := azureClient(e.endpoint, e.key())

	var res *http.Response
	c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are terse."),
			openai.UserMessage("Name three rivers."),
		},
		MaxTokens: openai.Int(40),
	}, option.WithResponseInto(&res))
	if err != nil {
		t.Fatal(err)
	}

	wantPrompt := chatCount(tokens.Message{Role: "system", Content: "You are terse."}, tokens.Message{Role: "user", Content: "Name three rivers."})
	u := c.Usage
	if u.PromptTokens != int64(wantPrompt) || u.CompletionTokens < 1 || u.CompletionTokens > 40 ||
		u.TotalTokens != u.PromptTokens+u.CompletionTokens || u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("usage = %+v, want %d prompt tokens, 1..40 completion tokens, no cached tokens", u, wantPrompt)
	}
	if len(c.Choices) != 1 {
		t.Fatalf("%d choices, want 1", len(c.Choices))
	}
	ch := c.Choices[0]
	if ch.Message.Content == "" || ch.Message.Role != "assistant" {
		t.Errorf("message = %+v, want assistant text", ch.Message)
	}
	wantFinish := "stop"
	if u.CompletionTokens == 40 {
		wantFinish = "length"
	}
	if ch.FinishReason != wantFinish {
		t.Errorf("finish_reason = %q with %d completion tokens of 40, want %q", ch.FinishReason, u.CompletionTokens, wantFinish)
	}
	if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Model != "gpt-4o-2024-08-06" {
		t.Errorf("object %q id %q model %q", c.Object, c.ID, c.Model)
	}

	// Azure's additions, seen in the raw JSON.
	raw := decode(t, []byte(c.RawJSON()))
	if fp, _ := raw["system_fingerprint"].(string); !strings.HasPrefix(fp, "fp_") {
		t.Errorf("system_fingerprint = %v", raw["system_fingerprint"])
	}
	pfr, ok := raw["prompt_filter_results"].([]any)
	if !ok || len(pfr) != 1 {
		t.Fatalf("prompt_filter_results = %v, want one entry", raw["prompt_filter_results"])
	}
	first := pfr[0].(map[string]any)
	if first["prompt_index"] != 0.0 {
		t.Errorf("prompt_filter_results[0].prompt_index = %v", first["prompt_index"])
	}
	if _, ok := first["content_filter_results"].(map[string]any); !ok {
		t.Errorf("prompt_filter_results[0] lacks content_filter_results: %v", first)
	}
	choice := raw["choices"].([]any)[0].(map[string]any)
	if _, ok := choice["content_filter_results"].(map[string]any); !ok {
		t.Errorf("choices[0] lacks content_filter_results: %v", choice)
	}
	details := raw["usage"].(map[string]any)["prompt_tokens_details"].(map[string]any)
	if details["cached_tokens"] != 0.0 {
		t.Errorf("usage.prompt_tokens_details = %v", details)
	}

	// The response headers: utilization after this call's admission, where it ran, and a request id.
	b := e.bucket(d)
	estimate := float64(wantPrompt) + e.model(d).OutputWeight*40
	if got, want := headerUtilization(t, res.Header), estimate/b.capacity*100; math.Abs(got-want) > 0.051 {
		t.Errorf("utilization header %.1f%%, want %.1f%% (the call's estimate)", got, want)
	}
	if got := res.Header.Get("x-ms-region"); got != "East US" {
		t.Errorf("x-ms-region = %q, want East US", got)
	}
	if res.Header.Get("apim-request-id") == "" {
		t.Error("no apim-request-id header")
	}
}

func TestChatStreaming(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	client := azureClient(e.endpoint, e.key())

	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about harbors.")}
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "chat",
		Messages:      msgs,
		MaxTokens:     openai.Int(60),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	var chunks, usageChunks int
	var last openai.ChatCompletionChunk
	for stream.Next() {
		chunk := stream.Current()
		if !acc.AddChunk(chunk) {
			t.Fatalf("the accumulator rejected chunk %d: %s", chunks, chunk.RawJSON())
		}
		if chunk.JSON.Usage.Valid() && chunk.Usage.TotalTokens > 0 {
			usageChunks++
			if len(chunk.Choices) != 0 {
				t.Errorf("the usage chunk has %d choices, want none", len(chunk.Choices))
			}
		}
		chunks++
		last = chunk
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	if usageChunks != 1 || last.Usage.TotalTokens == 0 {
		t.Fatalf("%d chunks carried usage and the last one %s, want exactly the last", usageChunks, last.RawJSON())
	}
	want := chatCount(tokens.Message{Role: "user", Content: "Tell me about harbors."})
	if u := last.Usage; u.PromptTokens != int64(want) || u.CompletionTokens < 1 || u.CompletionTokens > 60 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("final usage = %+v, want %d prompt tokens and 1..60 completion tokens", u, want)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason == "" {
		t.Fatalf("accumulated %+v, want one finished choice with text", acc.Choices)
	}
	if acc.Usage.TotalTokens != last.Usage.TotalTokens {
		t.Errorf("accumulated usage %+v, final chunk %+v", acc.Usage, last.Usage)
	}
}

// TestChatStreamingWire reads a stream as bytes: Azure's first chunk with only
// the prompt filter results, content chunks, and data: [DONE] at the end.
func TestChatStreamingWire(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	r := do(t, "POST", chatURL(e.endpoint, "chat"), strings.NewReader(
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}`), "api-key", e.key())
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	events := strings.Split(strings.TrimSuffix(string(r.body), "\n\n"), "\n\n")
	if len(events) < 3 || events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("stream does not end in data: [DONE]:\n%s", r.body)
	}
	first := decode(t, []byte(strings.TrimPrefix(events[0], "data: ")))
	if choices, _ := first["choices"].([]any); choices == nil || len(choices) != 0 || first["prompt_filter_results"] == nil {
		t.Errorf("first chunk %s, want empty choices and prompt_filter_results", events[0])
	}
	text := ""
	for _, ev := range events[1 : len(events)-1] {
		if !strings.HasPrefix(ev, "data: {") {
			t.Fatalf("event %q is not a data line", ev)
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				ContentFilterResults map[string]any `json:"content_filter_results"`
			} `json:"choices"`
			Usage any `json:"usage"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c); err != nil {
			t.Fatal(err)
		}
		if c.Object != "chat.completion.chunk" || len(c.Choices) != 1 || c.Choices[0].ContentFilterResults == nil || c.Usage != nil {
			t.Errorf("chunk %s, want a chat.completion.chunk with one choice, content_filter_results and no usage", ev)
		}
		text += c.Choices[0].Delta.Content
	}
	if text == "" {
		t.Error("no text streamed")
	}
}

func TestChatOptions(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	client := azureClient(e.endpoint, e.key())
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Write about copper and falcons.")}
	chat := func(p openai.ChatCompletionNewParams) *openai.ChatCompletion {
		t.Helper()
		p.Model, p.Messages = "chat", msgs
		c, err := client.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("n", func(t *testing.T) {
		c := chat(openai.ChatCompletionNewParams{N: openai.Int(2), MaxTokens: openai.Int(30)})
		if len(c.Choices) != 2 || c.Choices[0].Index != 0 || c.Choices[1].Index != 1 {
			t.Fatalf("choices %+v, want indices 0 and 1", c.Choices)
		}
		for _, ch := range c.Choices {
			if ch.Message.Content == "" || ch.FinishReason == "" {
				t.Errorf("choice %d = %+v", ch.Index, ch)
			}
		}
		if c.Choices[0].Message.Content == c.Choices[1].Message.Content {
			t.Errorf("both choices say %q", c.Choices[0].Message.Content)
		}
		if c.Usage.CompletionTokens < 2 || c.Usage.CompletionTokens > 60 {
			t.Errorf("completion tokens %d for two choices of at most 30", c.Usage.CompletionTokens)
		}
	})

	t.Run("max_completion_tokens", func(t *testing.T) {
		c := chat(openai.ChatCompletionNewParams{MaxCompletionTokens: openai.Int(5), Seed: openai.Int(7)})
		if c.Usage.CompletionTokens != 5 || c.Choices[0].FinishReason != "length" {
			t.Errorf("completion tokens %d, finish %q; want 5 and length", c.Usage.CompletionTokens, c.Choices[0].FinishReason)
		}
	})

	t.Run("seed", func(t *testing.T) {
		a := chat(openai.ChatCompletionNewParams{Seed: openai.Int(42), MaxTokens: openai.Int(50)})
		b := chat(openai.ChatCompletionNewParams{Seed: openai.Int(42), MaxTokens: openai.Int(50)})
		c := chat(openai.ChatCompletionNewParams{Seed: openai.Int(43), MaxTokens: openai.Int(50)})
		if a.Choices[0].Message.Content != b.Choices[0].Message.Content || a.Usage.CompletionTokens != b.Usage.CompletionTokens {
			t.Errorf("same seed, different answers:\n%q\n%q", a.Choices[0].Message.Content, b.Choices[0].Message.Content)
		}
		if a.Choices[0].Message.Content == c.Choices[0].Message.Content {
			t.Errorf("seeds 42 and 43 gave the same answer %q", a.Choices[0].Message.Content)
		}
	})

	t.Run("stop", func(t *testing.T) {
		full := chat(openai.ChatCompletionNewParams{Seed: openai.Int(11), MaxTokens: openai.Int(60)})
		text := full.Choices[0].Message.Content
		fields := strings.Fields(text)
		if len(fields) < 10 {
			t.Fatalf("answer too short to pick a stop word: %q", text)
		}
		// The first word that first appears at least a few words in.
		var stop string
		var at int
		for _, w := range fields[4:] {
			if i := strings.Index(text, w); i > 0 && strings.Count(text[:i], " ") >= 3 {
				stop, at = w, i
				break
			}
		}
		if stop == "" {
			t.Fatalf("no stop word found in %q", text)
		}
		cut := chat(openai.ChatCompletionNewParams{Seed: openai.Int(11), MaxTokens: openai.Int(60),
			Stop: openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{stop, "never-appears"}}})
		got := cut.Choices[0]
		if got.Message.Content != text[:at] || got.FinishReason != "stop" {
			t.Errorf("with stop %q: %q (finish %q), want %q and stop", stop, got.Message.Content, got.FinishReason, text[:at])
		}
		if cut.Usage.CompletionTokens >= full.Usage.CompletionTokens {
			t.Errorf("stopped answer counted %d tokens, the full one %d", cut.Usage.CompletionTokens, full.Usage.CompletionTokens)
		}
	})
}

// TestV1 uses the plain OpenAI client against the v1 surface: a Bearer key,
// the deployment as the model.
func TestV1(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	e.deploy("second", ptu.GlobalStandard, 10)
	client := openai.NewClient(option.WithBaseURL(e.endpoint+"openai/v1/"), option.WithAPIKey(e.key()))
	ctx := context.Background()

	c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:     "chat",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		MaxTokens: openai.Int(10),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content == "" || c.Usage.PromptTokens != int64(chatCount(tokens.Message{Role: "user", Content: "hello"})) {
		t.Errorf("v1 chat = %s", c.RawJSON())
	}

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.Created == 0 {
			t.Errorf("model %s", m.RawJSON())
		}
	}
	if strings.Join(ids, ",") != "chat,second" {
		t.Errorf("models = %v, want the deployments chat and second", ids)
	}

	// An unknown deployment in model.
	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "nope", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
	}, option.WithMaxRetries(0))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "DeploymentNotFound" {
		t.Errorf("unknown deployment: %v", err)
	}
}

func TestCompletions(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("legacy", ptu.GlobalProvisionedManaged, 15)
	client := azureClient(e.endpoint, e.key())
	ctx := context.Background()
	prompt := "Once upon a time by the river"
	wantPrompt := int64(len(tokens.MustGet(catalog.O200kBase).Encode(prompt)))

	t.Run("whole", func(t *testing.T) {
		c, err := client.Completions.New(ctx, openai.CompletionNewParams{
			Model:     "legacy",
			Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
			MaxTokens: openai.Int(20),
			N:         openai.Int(2),
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.Object != "text_completion" || len(c.Choices) != 2 || c.Choices[0].Text == "" || c.Choices[1].Index != 1 {
			t.Fatalf("completion = %s", c.RawJSON())
		}
		if c.Usage.PromptTokens != wantPrompt || c.Usage.CompletionTokens < 2 || c.Usage.CompletionTokens > 40 {
			t.Errorf("usage = %+v, want %d prompt tokens", c.Usage, wantPrompt)
		}
		raw := decode(t, []byte(c.RawJSON()))
		if raw["prompt_filter_results"] == nil || raw["choices"].([]any)[0].(map[string]any)["content_filter_results"] == nil {
			t.Errorf("no content filter results: %s", c.RawJSON())
		}
	})

	t.Run("stream", func(t *testing.T) {
		stream := client.Completions.NewStreaming(ctx, openai.CompletionNewParams{
			Model:         "legacy",
			Prompt:        openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
			MaxTokens:     openai.Int(20),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var text strings.Builder
		var finish string
		var usage openai.CompletionUsage
		for stream.Next() {
			c := stream.Current()
			for _, ch := range c.Choices {
				text.WriteString(ch.Text)
				if ch.FinishReason != "" {
					finish = string(ch.FinishReason)
				}
			}
			if c.Usage.TotalTokens > 0 {
				usage = c.Usage
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if text.Len() == 0 || finish == "" {
			t.Errorf("streamed %q, finish %q", text.String(), finish)
		}
		if usage.PromptTokens != wantPrompt || usage.CompletionTokens < 1 || usage.CompletionTokens > 20 {
			t.Errorf("usage = %+v", usage)
		}
	})
}

// TestStandardDeployment sets everything up over the ARM API, as a client
// would, and calls a GlobalStandard (pay-per-token) deployment.
func TestStandardDeployment(t *testing.T) {
	e := newEnv(t, server.Options{})
	arm := func(method, path, body string) map[string]any {
		t.Helper()
		r := do(t, method, e.s.URL+path+"?api-version=2024-10-01", strings.NewReader(body), "Authorization", "Bearer "+e.s.AdminToken)
		if r.status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		return decode(t, r.body)
	}
	acct := "/subscriptions/" + e.sub + "/resourceGroups/rg-arm/providers/Microsoft.CognitiveServices/accounts/std-acct"
	a := arm("PUT", acct, `{"location":"westeurope","kind":"OpenAI","sku":{"name":"S0"},"properties":{}}`)
	endpoint := a["properties"].(map[string]any)["endpoint"].(string)
	arm("PUT", acct+"/deployments/std", `{"sku":{"name":"GlobalStandard","capacity":10},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`)
	keys := arm("POST", acct+"/listKeys", ``)

	var res *http.Response
	client := azureClient(endpoint, keys["key2"].(string))
	c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:     "std",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		MaxTokens: openai.Int(10),
	}, option.WithResponseInto(&res))
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content == "" || c.Usage.CompletionTokens < 1 {
		t.Errorf("standard deployment answered %s", c.RawJSON())
	}
	if got := res.Header.Get("x-ms-region"); got != "West Europe" {
		t.Errorf("x-ms-region = %q", got)
	}
	headerUtilization(t, res.Header)
}

func tokenMsg(role, content string) tokens.Message {
	return tokens.Message{Role: role, Content: content}
}

// TestOutputStopsAtContextWindow sends a prompt five tokens short of the
// context window without max_tokens: the answer stops at the window.
func TestOutputStopsAtContextWindow(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 100)
	window := e.model(d).ContextWindow
	client := azureClient(e.endpoint, e.key())
	c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(userPrompt(t, "edge", window-5))}})
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Usage; u.PromptTokens != int64(window-5) || u.CompletionTokens > 5 || c.Choices[0].FinishReason != "length" {
		t.Errorf("%d prompt + %d completion tokens, finish %q; want at most the %d-token window, cut for length",
			u.PromptTokens, u.CompletionTokens, c.Choices[0].FinishReason, window)
	}

	// A prompt that fills the window leaves no room for an answer.
	r := do(t, "POST", chatURL(e.endpoint, "chat"), strings.NewReader(
		`{"messages":[{"role":"user","content":"`+userPrompt(t, "full", window)+`"}]}`), "api-key", e.key())
	if _, _, code := openAIErr(t, r.body); r.status != 400 || code != "context_length_exceeded" {
		t.Errorf("a prompt of the whole window: %d %s", r.status, r.body)
	}
}
