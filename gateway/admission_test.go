package gateway_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tokens"
)

// attempt is one HTTP attempt the client made.
type attempt struct {
	status       int
	retryAfterMs string
	utilization  string
}

// attempts records every attempt of a client, and runs hook after each.
type attempts struct {
	mu   sync.Mutex
	list []attempt
	hook func(*http.Response)
}

func (a *attempts) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err == nil {
		a.mu.Lock()
		a.list = append(a.list, attempt{res.StatusCode, res.Header.Get("retry-after-ms"), res.Header.Get("azure-openai-deployment-utilization")})
		a.mu.Unlock()
		if a.hook != nil {
			a.hook(res)
		}
	}
	return res, err
}

// TestThrottling fills a 15-PTU deployment (37,500 tokens per minute) and
// checks the 429 a client gets with retries off, then that the client's
// default retries get in by waiting retry-after-ms. The limiter's clock
// stands still until the client starts waiting, so the bucket's level is
// exact throughout.
func TestThrottling(t *testing.T) {
	clk := newClock()
	e := newEnv(t, server.Options{Now: clk.Now})
	d := e.deploy("small", ptu.GlobalProvisionedManaged, 15)
	b := e.bucket(d)
	w := e.model(d).OutputWeight
	if b.capacity != 37_500 {
		t.Fatalf("capacity %v, want 37,500 tokens per minute", b.capacity)
	}
	ctx := context.Background()
	client := azureClient(e.endpoint, e.key())
	chat := func(prompt string, maxTokens int64, opts ...option.RequestOption) (*openai.ChatCompletion, *http.Response, error) {
		var res *http.Response
		c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:     "small",
			Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			MaxTokens: openai.Int(maxTokens),
		}, append(opts, option.WithResponseInto(&res))...)
		return c, res, err
	}

	// A call with a big max_tokens reserves all of it while it runs: admitted
	// on an empty bucket, it takes it to 175 %; on completion the bucket is
	// corrected to what the call really used.
	c1, res1, err := chat(userPrompt(t, "first", 100), 16_384)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := headerUtilization(t, res1.Header), (100+w*16_384)/b.capacity*100; math.Abs(got-want) > 0.051 {
		t.Errorf("first call: utilization %.1f%%, want its estimate %.1f%%", got, want)
	}
	level := float64(c1.Usage.PromptTokens) + w*float64(c1.Usage.CompletionTokens)
	if got := utilization(t, e.s.Limiter, b); math.Abs(got-level/b.capacity*100) > 1e-9 {
		t.Fatalf("after the first call: utilization %.4f%%, want %.4f%% (its actual cost)", got, level/b.capacity*100)
	}

	// A call whose real cost takes the bucket 50 tokens over 100 %.
	p := int(b.capacity + 50 - level - w)
	c2, _, err := chat(userPrompt(t, "second", p), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Usage.CompletionTokens != 1 || c2.Usage.PromptTokens != int64(p) {
		t.Fatalf("second call used %+v, want %d prompt tokens and 1 completion token", c2.Usage, p)
	}
	level += float64(p) + w
	if level != b.capacity+50 {
		t.Fatalf("level %v, want capacity + 50", level)
	}

	// Retries off: the 429 itself.
	_, _, err = chat("hi", 5, option.WithMaxRetries(0))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("got %v, want a 429", err)
	}
	if apiErr.Code != "429" || !strings.Contains(apiErr.Message, "small") {
		t.Errorf("429 error code %q message %q", apiErr.Code, apiErr.Message)
	}
	body, _ := io.ReadAll(apiErr.Response.Body)
	if code := azureErr(t, body); code != "429" {
		t.Errorf("429 body code %q: %s", code, body)
	}
	h := apiErr.Response.Header
	wantMs := int64(math.Ceil(50 / b.capacity * 60_000))
	if ms, _ := strconv.ParseInt(h.Get("retry-after-ms"), 10, 64); ms < wantMs || ms > wantMs+1 {
		t.Errorf("retry-after-ms = %q, want %d (50 tokens over at 625 tokens/s)", h.Get("retry-after-ms"), wantMs)
	}
	if h.Get("retry-after") != "1" {
		t.Errorf("retry-after = %q, want 1 (seconds, rounded up)", h.Get("retry-after"))
	}
	if u := headerUtilization(t, h); u < 100 {
		t.Errorf("utilization header %.1f%% on a 429, want at least 100%%", u)
	}
	if h.Get("x-ms-region") == "" || h.Get("apim-request-id") == "" {
		t.Errorf("429 headers %v", h)
	}
	if got := utilization(t, e.s.Limiter, b); math.Abs(got-level/b.capacity*100) > 1e-9 {
		t.Errorf("the 429 changed the bucket: %.4f%%, want %.4f%%", got, level/b.capacity*100)
	}

	// Default retries: the first attempt is refused; the limiter's clock
	// starts when the client starts waiting, and its first retry, after
	// retry-after-ms, is admitted.
	rec := &attempts{hook: func(res *http.Response) {
		if res.StatusCode == 429 {
			clk.Run(1)
		}
	}}
	c, _, err := chat("hi", 5, option.WithMiddleware(rec.middleware))
	if err != nil {
		t.Fatalf("with the default retries: %v (attempts %+v)", err, rec.list)
	}
	if len(rec.list) != 2 || rec.list[0].status != 429 || rec.list[0].retryAfterMs == "" || rec.list[1].status != 200 {
		t.Fatalf("attempts %+v, want a 429 with retry-after-ms, then a 200", rec.list)
	}
	if c.Choices[0].Message.Content == "" {
		t.Error("the retried call has no answer")
	}
}

// TestPromptCaching sends a 2,000-token prompt twice: the second call reports
// 1,920 cached tokens (15 whole blocks of 128) and is charged only the rest.
func TestPromptCaching(t *testing.T) {
	clk := newClock()
	e := newEnv(t, server.Options{Now: clk.Now})
	d := e.deploy("cache", ptu.GlobalProvisionedManaged, 15)
	b := e.bucket(d)
	w := e.model(d).OutputWeight
	client := azureClient(e.endpoint, e.key())
	prompt := userPrompt(t, "cache", 2000)

	chat := func(msgs ...openai.ChatCompletionMessageParamUnion) (*openai.ChatCompletion, float64) {
		t.Helper()
		var res *http.Response
		c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "cache", Messages: msgs, MaxTokens: openai.Int(10)}, option.WithResponseInto(&res))
		if err != nil {
			t.Fatal(err)
		}
		return c, headerUtilization(t, res.Header)
	}
	level := 0.0
	check := func(name string, c *openai.ChatCompletion, header float64, wantPrompt, wantCached int64) {
		t.Helper()
		u := c.Usage
		if u.PromptTokens != wantPrompt || u.PromptTokensDetails.CachedTokens != wantCached {
			t.Errorf("%s: %d prompt tokens, %d cached, want %d and %d", name, u.PromptTokens, u.PromptTokensDetails.CachedTokens, wantPrompt, wantCached)
		}
		estimate := float64(wantPrompt-wantCached) + w*10
		if want := (level + estimate) / b.capacity * 100; math.Abs(header-want) > 0.051 {
			t.Errorf("%s: admitted at %.1f%%, want %.1f%% (estimate %v on %v)", name, header, want, estimate, level)
		}
		level += float64(u.PromptTokens-u.PromptTokensDetails.CachedTokens) + w*float64(u.CompletionTokens)
		if got := utilization(t, e.s.Limiter, b); math.Abs(got-level/b.capacity*100) > 1e-9 {
			t.Errorf("%s: settled at %.4f%%, want %.4f%%", name, got, level/b.capacity*100)
		}
	}

	c, u := chat(openai.UserMessage(prompt))
	check("first", c, u, 2000, 0)
	c, u = chat(openai.UserMessage(prompt))
	check("second", c, u, 2000, 1920)

	// A conversation that shares only its system message with another hits
	// the blocks of that shared prefix.
	system := userPrompt(t, "system", 1500)
	enc := tokens.MustGet(catalog.O200kBase)
	a := enc.ChatTokens([]tokens.Message{{Role: "system", Content: system}, {Role: "user", Content: "first question"}})
	bb := enc.ChatTokens([]tokens.Message{{Role: "system", Content: system}, {Role: "user", Content: "another question"}})
	shared := 0
	for shared < min(len(a), len(bb)) && a[shared] == bb[shared] {
		shared++
	}
	c, u = chat(openai.SystemMessage(system), openai.UserMessage("first question"))
	check("system 1", c, u, int64(len(a)), 0)
	c, u = chat(openai.SystemMessage(system), openai.UserMessage("another question"))
	check("system 2", c, u, int64(len(bb)), int64(shared/128*128))
}
