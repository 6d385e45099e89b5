package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ptu-dev/ptu/oai"
)

// Inference wire types, from package oai.
type (
	ChatRequest       = oai.ChatCompletionRequest
	Message           = oai.ChatMessage
	ChatChunk         = oai.ChatCompletionChunk
	CompletionRequest = oai.CompletionRequest
)

// ChatCompletion is a chat completion and how it was served.
type ChatCompletion struct {
	oai.ChatCompletion
	Response Response `json:"-"`
}

// Text is the first choice's message content.
func (c *ChatCompletion) Text() string {
	if len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Message.Content
}

// Completion is a (legacy) completion and how it was served.
type Completion struct {
	oai.Completion
	Response Response `json:"-"`
}

// Text is the first choice's text.
func (c *Completion) Text() string {
	if len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Text
}

// ChunkText is the content a chat chunk adds to its first choice.
func ChunkText(ch oai.ChatCompletionChunk) string {
	if len(ch.Choices) == 0 || ch.Choices[0].Delta.Content == nil {
		return ""
	}
	return *ch.Choices[0].Delta.Content
}

// CompletionChunkText is the text a streamed completion chunk adds to its first choice.
func CompletionChunkText(ch oai.Completion) string {
	if len(ch.Choices) == 0 {
		return ""
	}
	return ch.Choices[0].Text
}

// ChatCompletion calls a deployment's chat completions, with retries and
// failover. The request's Model and Stream fields are set by the client.
func (c *Client) ChatCompletion(ctx context.Context, deployment string, req ChatRequest, opts ...Option) (*ChatCompletion, error) {
	req.Stream, req.StreamOptions = false, nil
	resp, meta, err := c.infer(ctx, deployment, "chat/completions", false, func(dep string) any { req.Model = dep; return req }, opts)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := &ChatCompletion{Response: *meta}
	if err := json.NewDecoder(resp.Body).Decode(&out.ChatCompletion); err != nil {
		return nil, fmt.Errorf("client: decode chat completion (request id %s): %w", meta.RequestID, err)
	}
	return out, nil
}

// ChatCompletionStream starts a streamed chat completion. Retries and
// failover happen before the stream starts; read it with Next/Current or
// All, then Close it.
func (c *Client) ChatCompletionStream(ctx context.Context, deployment string, req ChatRequest, opts ...Option) (*Stream[oai.ChatCompletionChunk], error) {
	req.Stream = true
	resp, meta, err := c.infer(ctx, deployment, "chat/completions", true, func(dep string) any { req.Model = dep; return req }, opts)
	if err != nil {
		return nil, err
	}
	return newStream[oai.ChatCompletionChunk](resp, meta), nil
}

// Completion calls a deployment's (legacy) completions, with retries and failover.
func (c *Client) Completion(ctx context.Context, deployment string, req CompletionRequest, opts ...Option) (*Completion, error) {
	req.Stream, req.StreamOptions = false, nil
	resp, meta, err := c.infer(ctx, deployment, "completions", false, func(dep string) any { req.Model = dep; return req }, opts)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := &Completion{Response: *meta}
	if err := json.NewDecoder(resp.Body).Decode(&out.Completion); err != nil {
		return nil, fmt.Errorf("client: decode completion (request id %s): %w", meta.RequestID, err)
	}
	return out, nil
}

// CompletionStream starts a streamed completion; see ChatCompletionStream.
func (c *Client) CompletionStream(ctx context.Context, deployment string, req CompletionRequest, opts ...Option) (*Stream[oai.Completion], error) {
	req.Stream = true
	resp, meta, err := c.infer(ctx, deployment, "completions", true, func(dep string) any { req.Model = dep; return req }, opts)
	if err != nil {
		return nil, err
	}
	return newStream[oai.Completion](resp, meta), nil
}

// infer runs one inference call over the primary target and the failover list.
func (c *Client) infer(ctx context.Context, deployment, op string, stream bool, body func(deployment string) any, opts []Option) (*http.Response, *Response, error) {
	s := c.s.with(opts)
	if s.err != nil {
		return nil, nil, s.err
	}
	if deployment == "" {
		return nil, nil, errors.New("client: a deployment name is required")
	}
	primary := Target{Deployment: deployment, Endpoint: s.azureEndpoint, APIKey: s.apiKey}
	targets := []Target{primary}
	for _, t := range s.failover {
		if t.Endpoint == "" {
			t.Endpoint = primary.Endpoint
		}
		if t.APIKey == "" {
			t.APIKey = primary.APIKey
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		if t.Endpoint == "" {
			return nil, nil, errors.New("client: no inference endpoint; set WithAzureEndpoint and WithAPIKey, or use ForAccount")
		}
	}
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return s.do(ctx, request{
		method:     http.MethodPost,
		targets:    targets,
		idempotent: true,
		build: func(ctx context.Context, t Target) (*http.Request, error) {
			b, err := json.Marshal(body(t.Deployment))
			if err != nil {
				return nil, fmt.Errorf("client: encode request: %w", err)
			}
			u := joinEndpoint(t.Endpoint, "openai/deployments/"+seg(t.Deployment)+"/"+op) + "?api-version=" + s.apiVersion
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", accept)
			switch {
			case t.APIKey != "":
				req.Header.Set("api-key", t.APIKey)
			case IsPrincipalToken(s.token):
				// A principal with a data role calls with its own token.
				req.Header.Set("Authorization", "Bearer "+s.token)
			}
			return req, nil
		},
	})
}
