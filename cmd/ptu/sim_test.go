package main

import (
	"context"
	"github.com/ptu-dev/ptu/internal/testenv"
	"regexp"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = testenv.Log

// ptu sim stands in for vLLM: a plain OpenAI client talks to it.
func TestSimServesOpenAIClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	root := newRoot()
	root.SetOut(out)
	root.SetArgs([]string{"sim", "--addr", "127.0.0.1:0", "--model", "gpt-4o-mini=50", "--time-scale", "20"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addr := regexp.MustCompile(`http://(\S+)/v1`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1] + "/v1/"
			break
		}
	}
	if base == "" {
		t.Fatalf("ptu sim printed no address: %q", out.String())
	}
	c := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey("unused"))
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:     "gpt-4o-mini",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		MaxTokens: openai.Int(12),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.CompletionTokens != 12 || resp.Choices[0].FinishReason != "length" || resp.Choices[0].Message.Content == "" {
		t.Fatalf("response: %+v", resp)
	}
	models, err := c.Models.List(ctx)
	if err != nil || len(models.Data) != 1 || models.Data[0].ID != "gpt-4o-mini" {
		t.Fatalf("models: %+v %v", models, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
