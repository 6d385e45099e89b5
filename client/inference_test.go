package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/oai"
)

func TestChatAndCompletion(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "chat")

	res, err := ac.ChatCompletion(ctx, "chat", chatReq("Name three rivers."))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() == "" || res.Object != "chat.completion" || res.Usage == nil || res.Usage.CompletionTokens < 1 || res.Usage.CompletionTokens > 16 {
		t.Errorf("chat completion = %+v", res.ChatCompletion)
	}
	r := res.Response
	if r.Served.Deployment != "chat" || r.RequestID == "" || r.Region != "East US" || !strings.HasSuffix(r.Utilization, "%") ||
		len(r.Attempts) != 1 || r.Attempts[0].StatusCode != 200 {
		t.Errorf("response = %+v", r)
	}

	max := 8
	comp, err := ac.Completion(ctx, "chat", client.CompletionRequest{Prompt: oai.Prompt{{Text: "Once upon a time"}}, MaxTokens: &max})
	if err != nil {
		t.Fatal(err)
	}
	if comp.Text() == "" || comp.Object != "text_completion" || comp.Response.Served.Deployment != "chat" {
		t.Errorf("completion = %+v", comp.Completion)
	}
}

func TestChatStream(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "chat")

	req := chatReq("Tell me about harbors.")
	req.StreamOptions = &oai.StreamOptions{IncludeUsage: true}
	st, err := ac.ChatCompletionStream(ctx, "chat", req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var usage *oai.Usage
	chunks := 0
	for chunk, err := range st.All() {
		if err != nil {
			t.Fatalf("after %d chunks: %v", chunks, err)
		}
		chunks++
		text.WriteString(client.ChunkText(chunk))
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	if st.Err() != nil {
		t.Errorf("Err after [DONE] = %v", st.Err())
	}
	if text.Len() == 0 || usage == nil || usage.CompletionTokens < 1 || chunks < 2 {
		t.Errorf("streamed %d chunks, text %q, usage %+v", chunks, text.String(), usage)
	}
	if st.Response.Served.Deployment != "chat" || st.Response.RequestID == "" {
		t.Errorf("stream response = %+v", st.Response)
	}

	// Next/Current, and a completion stream.
	max := 8
	cs, err := ac.CompletionStream(ctx, "chat", client.CompletionRequest{Prompt: oai.Prompt{{Text: "Once"}}, MaxTokens: &max})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var ctext strings.Builder
	for cs.Next() {
		ctext.WriteString(client.CompletionChunkText(cs.Current()))
	}
	if cs.Err() != nil || ctext.Len() == 0 {
		t.Errorf("completion stream: text %q, err %v", ctext.String(), cs.Err())
	}
}

// TestStreamErrors feeds the event reader what a server might send.
func TestStreamErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body   string
		chunks int
		err    string
	}{
		"done":         {"data: {\"id\":\"a\",\"choices\":[]}\n\ndata: [DONE]\n\n", 1, ""},
		"crlf":         {"data: {\"id\":\"a\",\"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n", 1, ""},
		"comment":      {": keep-alive\n\ndata: {\"id\":\"a\"}\n\ndata: [DONE]\n", 1, ""},
		"truncated":    {"data: {\"id\":\"a\"}\n\n", 1, "before data: [DONE]"},
		"error event":  {"data: {\"id\":\"a\"}\n\ndata: {\"error\":{\"code\":\"InternalServerError\",\"message\":\"backend failed\"}}\n\n", 1, "InternalServerError: backend failed"},
		"bad json":     {"data: {nope\n\n", 0, "decode stream event"},
		"event fields": {"event: message\nid: 1\ndata: {\"id\":\"a\"}\n\ndata: [DONE]\n\n", 1, ""},
	} {
		t.Run(name, func(t *testing.T) {
			st := client.NewTestStream(tc.body)
			n := 0
			for st.Next() {
				n++
			}
			if n != tc.chunks {
				t.Errorf("%d chunks, want %d", n, tc.chunks)
			}
			switch err := st.Err(); {
			case tc.err == "" && err != nil:
				t.Errorf("Err = %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("Err = %v, want %q", err, tc.err)
			}
			if name == "truncated" && !errors.Is(st.Err(), client.ErrStreamTruncated) {
				t.Errorf("truncated stream: %v is not ErrStreamTruncated", st.Err())
			}
		})
	}
}
