package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/server"
)

// TestBadCalls sends calls that must be refused before admission: each gets
// its status and error shape, and none of them touches the deployment's bucket.
func TestBadCalls(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	b := e.bucket(d)
	m := e.model(d)
	key := e.key()
	url := chatURL(e.endpoint, "chat")
	const ok = `{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`

	huge := userPrompt(t, "huge", m.ContextWindow+1)

	for _, tc := range []struct {
		name    string
		url     string
		body    string
		headers []string
		status  int
		azure   string // Azure-shaped error with this code
		param   string // OpenAI-shaped invalid_request_error naming this parameter
		code    string // and this code, if any
	}{
		{name: "no key", url: url, body: ok, status: 401, azure: "401"},
		{name: "wrong key", url: url, body: ok, headers: []string{"api-key", "0123456789abcdef0123456789abcdef"}, status: 401, azure: "401"},
		{name: "wrong bearer", url: url, body: ok, headers: []string{"Authorization", "Bearer nope"}, status: 401, azure: "401"},
		{name: "empty key", url: url, body: ok, headers: []string{"api-key", ""}, status: 401, azure: "401"},
		{name: "unknown deployment", url: chatURL(e.endpoint, "nope"), body: ok, headers: []string{"api-key", key}, status: 404, azure: "DeploymentNotFound"},
		{name: "unknown account", url: strings.Replace(url, "/accounts/acct-gw/", "/accounts/nobody/", 1), body: ok, headers: []string{"api-key", key}, status: 404, azure: "404"},
		{name: "no api-version", url: strings.TrimSuffix(url, "?api-version="+apiVersion), body: ok, headers: []string{"api-key", key}, status: 404, azure: "404"},
		{name: "unknown api-version", url: strings.Replace(url, apiVersion, "2019-01-01", 1), body: ok, headers: []string{"api-key", key}, status: 400, azure: "BadRequest"},
		{name: "future preview api-version", url: strings.Replace(url, apiVersion, "2031-01-01-preview", 1), body: ok, headers: []string{"api-key", key}, status: 400, azure: "BadRequest"},
		{name: "chat at a completions-only api-version", url: strings.Replace(url, apiVersion, "2022-12-01", 1), body: ok, headers: []string{"api-key", key}, status: 400, azure: "BadRequest"},
		{name: "unknown route", url: e.endpoint + "openai/deployments/chat/embeddingz?api-version=" + apiVersion, body: ok, headers: []string{"api-key", key}, status: 404, azure: "404"},
		{name: "invalid JSON", url: url, body: `{"messages":[`, headers: []string{"api-key", key}, status: 400},
		{name: "not an object", url: url, body: `[1,2]`, headers: []string{"api-key", key}, status: 400, code: "invalid_type"},
		{name: "wrong type", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`, headers: []string{"api-key", key}, status: 400, param: "max_tokens", code: "invalid_type"},
		{name: "wrong type nested", url: url, body: `{"messages":[{"role":7,"content":"hi"}]}`, headers: []string{"api-key", key}, status: 400, param: "messages.role", code: "invalid_type"},
		{name: "empty messages", url: url, body: `{"messages":[]}`, headers: []string{"api-key", key}, status: 400, param: "messages", code: "empty_array"},
		{name: "no messages", url: url, body: `{}`, headers: []string{"api-key", key}, status: 400, param: "messages", code: "empty_array"},
		{name: "bad role", url: url, body: `{"messages":[{"role":"user","content":"a"},{"role":"robot","content":"hi"}]}`, headers: []string{"api-key", key}, status: 400, param: "messages[1].role", code: "invalid_value"},
		{name: "max_tokens over the model's limit", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":16385}`, headers: []string{"api-key", key}, status: 400, param: "max_tokens", code: "invalid_value"},
		{name: "max_completion_tokens over the model's limit", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":99999}`, headers: []string{"api-key", key}, status: 400, param: "max_completion_tokens", code: "invalid_value"},
		{name: "max_tokens zero", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, headers: []string{"api-key", key}, status: 400, param: "max_tokens", code: "invalid_value"},
		{name: "prompt over the context window", url: url, body: `{"messages":[{"role":"user","content":"` + huge + `"}]}`, headers: []string{"api-key", key}, status: 400, param: "messages", code: "context_length_exceeded"},
		{name: "prompt and max_tokens over the context window", url: url, body: `{"messages":[{"role":"user","content":"` + userPrompt(t, "big", m.ContextWindow-100) + `"}],"max_tokens":101}`, headers: []string{"api-key", key}, status: 400, param: "messages", code: "context_length_exceeded"},
		{name: "stream_options without stream", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, headers: []string{"api-key", key}, status: 400, param: "stream_options", code: "invalid_value"},
		{name: "n too large", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"n":129}`, headers: []string{"api-key", key}, status: 400, param: "n", code: "invalid_value"},
		{name: "temperature", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"temperature":2.5}`, headers: []string{"api-key", key}, status: 400, param: "temperature", code: "invalid_value"},
		{name: "five stop sequences", url: url, body: `{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}`, headers: []string{"api-key", key}, status: 400, param: "stop", code: "invalid_value"},
		{name: "v1 without model", url: e.endpoint + "openai/v1/chat/completions", body: ok, headers: []string{"Authorization", "Bearer " + key}, status: 400, param: "model", code: "invalid_value"},
		{name: "v1 invalid JSON", url: e.endpoint + "openai/v1/chat/completions", body: `{"model":"chat","messages":[`, headers: []string{"Authorization", "Bearer " + key}, status: 400},
		{name: "v1 model of the wrong type", url: e.endpoint + "openai/v1/chat/completions", body: `{"model":5,"messages":[]}`, headers: []string{"Authorization", "Bearer " + key}, status: 400, param: "model", code: "invalid_type"},
		{name: "v1 wrong key", url: e.endpoint + "openai/v1/chat/completions", body: `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`, headers: []string{"Authorization", "Bearer nope"}, status: 401, azure: "401"},
		{name: "v1 unknown deployment", url: e.endpoint + "openai/v1/chat/completions", body: `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, headers: []string{"Authorization", "Bearer " + key}, status: 404, azure: "DeploymentNotFound"},
		{name: "v1 models wrong key", url: e.endpoint + "openai/v1/models", headers: []string{"api-key", "nope"}, status: 401, azure: "401"},
		{name: "completions without prompt", url: e.endpoint + "openai/deployments/chat/completions?api-version=" + apiVersion, body: `{"max_tokens":5}`, headers: []string{"api-key", key}, status: 400, param: "prompt", code: "invalid_value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if strings.HasSuffix(tc.url, "/models") {
				method = "GET"
			}
			r := do(t, method, tc.url, strings.NewReader(tc.body), tc.headers...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.header.Get("apim-request-id") == "" {
				t.Error("no apim-request-id header")
			}
			if tc.azure != "" {
				if code := azureErr(t, r.body); code != tc.azure {
					t.Errorf("code %q, want %q: %s", code, tc.azure, r.body)
				}
			} else {
				typ, param, code := openAIErr(t, r.body)
				if typ != "invalid_request_error" || param != tc.param || code != tc.code {
					t.Errorf("type %q param %q code %q, want invalid_request_error %q %q: %s", typ, param, code, tc.param, tc.code, r.body)
				}
			}
			if u := utilization(t, e.s.Limiter, b); u != 0 {
				t.Errorf("the bucket was touched: utilization %.3f%%", u)
			}
		})
	}

	t.Run("body over 16 MiB", func(t *testing.T) {
		body := bytes.Repeat([]byte("a"), gateway.DefaultMaxBody+1)
		copy(body, `{"messages":[{"role":"user","content":"`)
		r := do(t, "POST", url, bytes.NewReader(body), "api-key", key)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413: %.300s", r.status, r.body)
		}
		if typ, _, _ := openAIErr(t, r.body); typ != "invalid_request_error" {
			t.Errorf("type %q", typ)
		}
		if u := utilization(t, e.s.Limiter, b); u != 0 {
			t.Errorf("the bucket was touched: utilization %.3f%%", u)
		}
	})

	// A good call afterwards: its header shows only its own estimate, so
	// nothing before it was charged.
	t.Run("a good call after them", func(t *testing.T) {
		r := do(t, "POST", url, strings.NewReader(ok), "Authorization", "Bearer "+key)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		want := float64(chatCount(tokenMsg("user", "hi"))) + m.OutputWeight*5
		if got := headerUtilization(t, r.header); got > want/b.capacity*100+0.051 {
			t.Errorf("utilization %.1f%%, want at most this call's estimate %.1f%%", got, want/b.capacity*100)
		}
	})
}

// TestRegenerateKey checks that a regenerated key stops working at once and
// the other key and the new one work.
func TestRegenerateKey(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	old1, key2 := e.keys()
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(3)}
	call := func(key string) error {
		client := azureClient(e.endpoint, key, option.WithMaxRetries(0))
		_, err := client.Chat.Completions.New(ctx, params)
		return err
	}
	if err := call(old1); err != nil {
		t.Fatal(err) // and the gateway has the account cached
	}
	a, err := e.s.Control.RegenerateKey(ctx, e.sub, testRG, e.acct.Name, "key1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Key1 == old1 || a.Key2 != key2 {
		t.Fatalf("regenerate key1: key1 %q (was %q), key2 %q (was %q)", a.Key1, old1, a.Key2, key2)
	}
	var apiErr *openai.Error
	if err := call(old1); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "401" {
		t.Errorf("old key1 right after regenerating: %v, want 401", err)
	}
	if err := call(a.Key1); err != nil {
		t.Errorf("new key1: %v", err)
	}
	if err := call(key2); err != nil {
		t.Errorf("key2: %v", err)
	}
}
