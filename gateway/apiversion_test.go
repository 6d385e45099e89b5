package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/server"
)

// Azure's data-plane api-versions: the folders of
// specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}
// in Azure/azure-rest-api-specs. Chat completions first appears in
// 2023-03-15-preview; the 2022 versions have completions only.
var (
	specStable  = []string{"2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21"}
	specPreview = []string{"2022-03-01-preview", "2022-06-01-preview", "2023-03-15-preview", "2023-06-01-preview",
		"2023-07-01-preview", "2023-08-01-preview", "2023-09-01-preview", "2023-10-01-preview", "2023-12-01-preview",
		"2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview", "2024-05-01-preview", "2024-07-01-preview",
		"2024-08-01-preview", "2024-09-01-preview", "2024-10-01-preview", "2024-12-01-preview", "2025-01-01-preview",
		"2025-02-01-preview", "2025-03-01-preview", "2025-04-01-preview"}
	specNoChat = map[string]bool{"2022-03-01-preview": true, "2022-06-01-preview": true, "2022-12-01": true}
)

// TestAPIVersions checks every api-version of the spec folders on both
// operations, versions Azure rejects, and the exact error bodies: an
// unsupported version is 400 {"error":{"code":"BadRequest","message":"API
// version not supported"}} (as Azure answers, quoted in
// https://github.com/hotovo/aider-desk/issues/460), a missing one 404
// "Resource not found". Neither is charged to the deployment.
func TestAPIVersions(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	key := e.key()
	base := e.endpoint + "openai/deployments/chat/"
	chat := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":1}`
	compl := `{"prompt":"hi","max_tokens":1}`
	post := func(op, v, body string) call {
		u := base + op
		if v != "" {
			u += "?api-version=" + v
		}
		return do(t, "POST", u, strings.NewReader(body), "api-key", key)
	}
	for _, v := range append(append([]string{}, specStable...), specPreview...) {
		if r := post("completions", v, compl); r.status != 200 {
			t.Errorf("completions at %s: status %d, want 200: %s", v, r.status, r.body)
		}
		r := post("chat/completions", v, chat)
		want := 200
		if specNoChat[v] {
			want = 400
		}
		if r.status != want {
			t.Errorf("chat completions at %s: status %d, want %d: %s", v, r.status, want, r.body)
		}
	}

	b := e.bucket(d)
	before := utilization(t, e.s.Limiter, b)
	for _, v := range []string{"2019-01-01", "2023-04-01-preview", "2024-11-01-preview", "2025-05-01-preview", "2031-01-01-preview",
		"2024-10-21-preview", "preview", "latest", "v1", "2024-10-21x", "%202024-10-21", "2024-10-21%00"} {
		for _, op := range []string{"chat/completions", "completions"} {
			body := chat
			if op == "completions" {
				body = compl
			}
			r := post(op, v, body)
			if r.status != 400 || strings.TrimSpace(string(r.body)) != `{"error":{"code":"BadRequest","message":"API version not supported"}}` {
				t.Errorf("%s at %q: %d %s, want 400 API version not supported", op, v, r.status, r.body)
			}
		}
	}
	for _, op := range []string{"chat/completions", "completions"} {
		r := post(op, "", chat)
		if r.status != 404 || strings.TrimSpace(string(r.body)) != `{"error":{"code":"404","message":"Resource not found"}}` {
			t.Errorf("%s without api-version: %d %s, want 404 Resource not found", op, r.status, r.body)
		}
	}
	if after := utilization(t, e.s.Limiter, b); after > before {
		t.Errorf("refused versions were charged: utilization %.3f%% -> %.3f%%", before, after)
	}
}

// TestSDKAPIVersions calls through openai-go's azure package with the
// versions the official SDKs' documentation sends (neither SDK has a default:
// openai-go's azure.WithEndpoint requires one and suggests 2024-06-01; the
// openai npm package's AzureOpenAI requires apiVersion or OPENAI_API_VERSION
// and its Azure examples send 2024-10-01-preview), plus ptu's client's
// 2024-10-21 and Azure's benchmark tool's 2023-05-15.
func TestSDKAPIVersions(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	key := e.key()
	for _, v := range []string{"2024-06-01", "2024-10-01-preview", "2024-10-21", "2023-05-15", "2025-04-01-preview"} {
		c := openai.NewClient(azure.WithEndpoint(e.endpoint, v), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "chat",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(2)}); err != nil {
			t.Errorf("chat completions at %s: %v", v, err)
		}
		if _, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: "chat",
			Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("hi")}, MaxTokens: openai.Int(2)}); err != nil {
			t.Errorf("completions at %s: %v", v, err)
		}
	}
	// A version Azure does not serve: the SDK surfaces Azure's 400.
	c := openai.NewClient(azure.WithEndpoint(e.endpoint, "2023-04-01-preview"), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(2)})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "BadRequest" {
		t.Errorf("unsupported version through the SDK: %v, want a 400 BadRequest", err)
	}
}
