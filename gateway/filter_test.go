package gateway_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/contentfilter"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/server"
)

// scripted emits the same words for every choice, one event each, and
// counts the output tokens it generated.
type scripted struct {
	words     []string
	generated *int
}

func (s scripted) Generate(ctx context.Context, req backend.Request, emit func(backend.Event) error) (backend.Result, error) {
	res := backend.Result{PromptTokens: req.PromptTokens, CachedTokens: req.CachedTokens}
	n := max(req.N, 1)
	for i, w := range s.words {
		for c := range n {
			ev := backend.Event{Index: c, Text: w, Tokens: 1}
			if i == len(s.words)-1 {
				ev.FinishReason = backend.FinishStop
			}
			res.CompletionTokens++
			*s.generated = res.CompletionTokens
			if err := emit(ev); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

type scriptedBackends struct{ b scripted }

func (s scriptedBackends) Pool(ptu.Pool) (backend.Backend, error)                   { return s.b, nil }
func (s scriptedBackends) Standard(string, *catalog.Model) (backend.Backend, error) { return s.b, nil }

// filterEnv has a deployment under a policy whose blocklist (a term and a
// regular expression) applies to prompts and completions.
func filterEnv(t *testing.T, words ...string) (*env, *gw, *int) {
	t.Helper()
	e := newEnv(t, server.Options{})
	ctx := context.Background()
	svc := e.s.Control
	if _, _, err := svc.PutRAIBlocklist(ctx, e.sub, testRG, e.acct.Name, "secrets", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutRAIBlocklistItems(ctx, e.sub, testRG, e.acct.Name, "secrets", []ptu.RAIBlocklistItem{
		{Name: "codename", Pattern: "Bluebird"}, {Name: "tickets", Pattern: `PROJ-\d{3}`, IsRegex: true}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutRAIPolicy(ctx, e.sub, testRG, e.acct.Name, "strict", control.RAIPolicyInput{
		CustomBlocklists: []ptu.RAIBlocklistRef{{BlocklistName: "secrets", Blocking: true, Source: ptu.RAISourcePrompt},
			{BlocklistName: "secrets", Blocking: true, Source: ptu.RAISourceCompletion}}}); err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if _, _, err := svc.PutDeployment(ctx, e.sub, testRG, e.acct.Name, "chat", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: gpt4o, Version: gpt4oVer}, SKUName: ptu.GlobalProvisionedManaged,
		Capacity: &capacity, RAIPolicyName: "strict"}); err != nil {
		t.Fatal(err)
	}
	generated := new(int)
	return e, e.gateway(scriptedBackends{scripted{words: words, generated: generated}}, newClock().Now), generated
}

// azureBlocklists is custom_blocklists as Azure's data-plane spec defines it
// (contentFilterDetailedResults: {filtered, details: [contentFilterIdResult
// {filtered, id}]}, specification/cognitiveservices/data-plane/AzureOpenAI/
// inference/stable/2024-10-21/inference.json in Azure/azure-rest-api-specs)
// and the Azure SDKs' typed models decode it (@azure/openai's
// ContentFilterDetailedResults). The openai npm package and openai-go have no
// type for it: they keep Azure's extra fields as raw JSON, so a shape error
// only shows in code that decodes it as Azure documents, as here. Decoding
// an array into this struct fails, which is what the test guards against.
type azureBlocklists struct {
	Filtered bool `json:"filtered"`
	Details  []struct {
		Filtered bool   `json:"filtered"`
		ID       string `json:"id"`
	} `json:"details"`
}

func TestBlocklistPrompt(t *testing.T) {
	e, g, _ := filterEnv(t, "fine", " words")
	key := e.key()
	for _, prompt := range []string{"tell me about bluebird", "status of proj-123?"} {
		r := do(t, "POST", chatURL(g.endpoint, "chat"), strings.NewReader(`{"messages":[{"role":"user","content":"`+prompt+`"}]}`), "api-key", key)
		if r.status != 400 {
			t.Fatalf("%q: status %d, want 400: %s", prompt, r.status, r.body)
		}
		var body struct {
			Error struct {
				Code       string  `json:"code"`
				Param      string  `json:"param"`
				Type       *string `json:"type"`
				InnerError struct {
					Code   string `json:"code"`
					Result struct {
						Lists azureBlocklists `json:"custom_blocklists"`
						Hate  json.RawMessage `json:"hate"`
					} `json:"content_filter_result"`
				} `json:"innererror"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		er := body.Error
		if er.Code != "content_filter" || er.Param != "prompt" || er.Type != nil || er.InnerError.Code != "ResponsibleAIPolicyViolation" {
			t.Errorf("%q: error %s", prompt, r.body)
		}
		if l := er.InnerError.Result.Lists; !l.Filtered || len(l.Details) != 1 || !l.Details[0].Filtered || l.Details[0].ID != "secrets" {
			t.Errorf("%q: custom_blocklists %+v, want secrets filtered", prompt, l)
		}
		if er.InnerError.Result.Hate != nil {
			t.Errorf("%q: hate reported without a classifier: %s", prompt, er.InnerError.Result.Hate)
		}
		if rec := g.rec.next(t); rec.Status != 400 {
			t.Errorf("record status %d, want 400", rec.Status)
		}
	}
	// "proj-12" is not the pattern; the call passes and says the list was evaluated.
	r := do(t, "POST", chatURL(g.endpoint, "chat"), strings.NewReader(`{"messages":[{"role":"user","content":"proj-12 is fine"}]}`), "api-key", key)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var ok struct {
		PromptFilterResults []struct {
			Results map[string]json.RawMessage `json:"content_filter_results"`
		} `json:"prompt_filter_results"`
		Choices []struct {
			Results      map[string]json.RawMessage `json:"content_filter_results"`
			FinishReason string                     `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.body, &ok); err != nil {
		t.Fatal(err)
	}
	pr := ok.PromptFilterResults[0].Results
	if len(pr) != 1 || string(pr["custom_blocklists"]) != `{"filtered":false,"details":[{"filtered":false,"id":"secrets"}]}` {
		t.Errorf("prompt annotations %v, want only custom_blocklists, not filtered", pr)
	}
	if cr := ok.Choices[0].Results; len(cr) != 1 || string(cr["custom_blocklists"]) != `{"filtered":false,"details":[{"filtered":false,"id":"secrets"}]}` || ok.Choices[0].FinishReason != "stop" {
		t.Errorf("choice annotations %v finish %q", cr, ok.Choices[0].FinishReason)
	}

	// Through openai-go, as an Azure application reads it: Azure's fields are
	// the choice's and the response's JSON.ExtraFields, decoded by the caller.
	oc := azureClient(g.endpoint, key)
	res, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("proj-12 is fine")}})
	if err != nil {
		t.Fatal(err)
	}
	var choice struct {
		Lists azureBlocklists `json:"custom_blocklists"`
	}
	if err := json.Unmarshal([]byte(res.Choices[0].JSON.ExtraFields["content_filter_results"].Raw()), &choice); err != nil ||
		choice.Lists.Filtered || len(choice.Lists.Details) != 1 || choice.Lists.Details[0].ID != "secrets" {
		t.Errorf("openai-go choice content_filter_results %q: %+v, %v", res.Choices[0].JSON.ExtraFields["content_filter_results"].Raw(), choice, err)
	}
	var prompts []struct {
		Results struct {
			Lists azureBlocklists `json:"custom_blocklists"`
		} `json:"content_filter_results"`
	}
	if err := json.Unmarshal([]byte(res.JSON.ExtraFields["prompt_filter_results"].Raw()), &prompts); err != nil ||
		len(prompts) != 1 || len(prompts[0].Results.Lists.Details) != 1 {
		t.Errorf("openai-go prompt_filter_results %q: %+v, %v", res.JSON.ExtraFields["prompt_filter_results"].Raw(), prompts, err)
	}
}

func TestBlocklistCompletion(t *testing.T) {
	e, g, generated := filterEnv(t, "The ", "plan ", "is ", "Blue", "bird ", "and ", "more ", "words")
	key := e.key()

	// Non-streamed: the text stops before the event that completed the term.
	r := do(t, "POST", chatURL(g.endpoint, "chat"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`), "api-key", key)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp struct {
		Choices []struct {
			Message      struct{ Content string }   `json:"message"`
			FinishReason string                     `json:"finish_reason"`
			Results      map[string]json.RawMessage `json:"content_filter_results"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.FinishReason != "content_filter" || c.Message.Content != "The plan is Blue" || string(c.Results["custom_blocklists"]) != `{"filtered":true,"details":[{"filtered":true,"id":"secrets"}]}` {
		t.Errorf("choice %+v", c)
	}
	// Generation stopped there, and the tokens generated so far are billed.
	if *generated != 5 || resp.Usage.CompletionTokens != 5 {
		t.Errorf("generated %d, usage %d; want generation stopped at 5", *generated, resp.Usage.CompletionTokens)
	}

	// Streamed, with two choices: each ends with content_filter mid-stream, no
	// text after, and the stream ends properly.
	r = do(t, "POST", chatURL(g.endpoint, "chat"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true,"n":2}`), "api-key", key)
	body := string(r.body)
	if r.status != 200 || !strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]") {
		t.Fatalf("status %d: %s", r.status, body)
	}
	texts := map[int]string{}
	reasons := map[int]string{}
	for _, line := range strings.Split(body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatal(err)
		}
		for _, c := range ch.Choices {
			if reasons[c.Index] != "" {
				t.Errorf("choice %d got a chunk after it ended: %s", c.Index, data)
			}
			texts[c.Index] += c.Delta.Content
			if c.FinishReason != nil {
				reasons[c.Index] = *c.FinishReason
			}
		}
	}
	for i := range 2 {
		if texts[i] != "The plan is Blue" || reasons[i] != "content_filter" {
			t.Errorf("choice %d: text %q reason %q", i, texts[i], reasons[i])
		}
	}
	if *generated != 10 {
		t.Errorf("generated %d tokens, want generation stopped once both choices were cut (10)", *generated)
	}
}

// wordClassifier rates violence high in a text that says "fight", safe
// otherwise; it scores nothing else.
type wordClassifier struct{}

func (wordClassifier) Classify(_ context.Context, text string) (map[string]contentfilter.Category, error) {
	if strings.Contains(text, "fight") {
		return map[string]contentfilter.Category{"violence": {Severity: "high"}}, nil
	}
	return map[string]contentfilter.Category{"violence": {Severity: "safe"}}, nil
}

// TestClassifierCategories: with a classifier, a policy's violence filter
// blocks prompts and (unstreamed) completions rated at its threshold, and
// annotations carry the severity the classifier gave and nothing it did not.
func TestClassifierCategories(t *testing.T) {
	e := newEnv(t, server.Options{})
	ctx := context.Background()
	svc := e.s.Control
	if _, _, err := svc.PutRAIPolicy(ctx, e.sub, testRG, e.acct.Name, "calm", control.RAIPolicyInput{ContentFilters: []ptu.RAIContentFilter{
		{Name: "Violence", Enabled: true, Blocking: true, SeverityThreshold: "Medium", Source: ptu.RAISourcePrompt},
		{Name: "Violence", Enabled: true, Blocking: true, SeverityThreshold: "Medium", Source: ptu.RAISourceCompletion},
		{Name: "Hate", Enabled: true, Blocking: true, Source: ptu.RAISourcePrompt}}}); err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if _, _, err := svc.PutDeployment(ctx, e.sub, testRG, e.acct.Name, "chat", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: gpt4o, Version: gpt4oVer}, SKUName: ptu.GlobalProvisionedManaged,
		Capacity: &capacity, RAIPolicyName: "calm"}); err != nil {
		t.Fatal(err)
	}
	generated := new(int)
	g := gateway.New(gateway.Options{Control: svc, Limiter: inmem.New(newClock().Now), Classifier: wordClassifier{},
		Backends: scriptedBackends{scripted{words: []string{"they ", "fight ", "on"}, generated: generated}}})
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	url := chatURL(srv.URL+"/accounts/"+strings.ToLower(e.acct.CustomSubDomain)+"/", "chat")
	key := e.key()

	r := do(t, "POST", url, strings.NewReader(`{"messages":[{"role":"user","content":"a fight"}]}`), "api-key", key)
	if r.status != 400 || !strings.Contains(string(r.body), `"violence":{"filtered":true,"severity":"high"}`) || strings.Contains(string(r.body), "hate") {
		t.Errorf("violent prompt: status %d: %s", r.status, r.body)
	}
	r = do(t, "POST", url, strings.NewReader(`{"messages":[{"role":"user","content":"a story"}]}`), "api-key", key)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp struct {
		PromptFilterResults []struct {
			Results map[string]json.RawMessage `json:"content_filter_results"`
		} `json:"prompt_filter_results"`
		Choices []struct {
			Message      struct{ Content string }   `json:"message"`
			FinishReason string                     `json:"finish_reason"`
			Results      map[string]json.RawMessage `json:"content_filter_results"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	if pr := resp.PromptFilterResults[0].Results; len(pr) != 1 || string(pr["violence"]) != `{"filtered":false,"severity":"safe"}` {
		t.Errorf("prompt annotations %v: want violence only (hate was not scored)", pr)
	}
	c := resp.Choices[0]
	if c.FinishReason != "content_filter" || c.Message.Content != "" || string(c.Results["violence"]) != `{"filtered":true,"severity":"high"}` {
		t.Errorf("violent completion: %+v", c)
	}
}
