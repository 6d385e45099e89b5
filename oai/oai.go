package oai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Package oai holds the JSON shapes of the OpenAI inference API (chat
// completions, completions, models, errors) with the fields Azure OpenAI adds
// to them (content filter results). The gateway, the simulated engine's
// server, the benchmark and the client share them. Request types hold the
// fields ptu reads or validates; unknown fields are ignored.

// ChatCompletionRequest is the body of POST /v1/chat/completions.
type ChatCompletionRequest struct {
	Model               string         `json:"model"`
	Messages            []ChatMessage  `json:"messages"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	N                   *int           `json:"n,omitempty"`
	Stop                StopSequences  `json:"stop,omitempty"`
	Seed                *int64         `json:"seed,omitempty"`
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *StreamOptions `json:"stream_options,omitempty"`
	User                string         `json:"user,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	TopP                *float64       `json:"top_p,omitempty"`
	PresencePenalty     *float64       `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64       `json:"frequency_penalty,omitempty"`
}

// ChatMessage is one message of a chat prompt.
type ChatMessage struct {
	Role      string          `json:"role"`
	Content   Content         `json:"content"`
	Name      string          `json:"name,omitempty"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
}

// Content is a message's text. It decodes from a string, null, or an array
// of content parts (whose text parts are joined by newlines; other parts,
// such as images, carry no text).
type Content string

// UnmarshalJSON implements json.Unmarshaler.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = ""
		return nil
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var texts []string
		for _, p := range parts {
			if p.Type == "text" {
				texts = append(texts, p.Text)
			}
		}
		*c = Content(strings.Join(texts, "\n"))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("content must be a string or an array of content parts")
	}
	*c = Content(s)
	return nil
}

// StopSequences decodes from a string, an array of strings, or null.
type StopSequences []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *StopSequences) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StopSequences{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// CompletionRequest is the body of POST /v1/completions.
type CompletionRequest struct {
	Model         string         `json:"model"`
	Prompt        Prompt         `json:"prompt"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	N             *int           `json:"n,omitempty"`
	BestOf        *int           `json:"best_of,omitempty"`
	Stop          StopSequences  `json:"stop,omitempty"`
	Seed          *int64         `json:"seed,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	User          string         `json:"user,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
}

// Prompt is a completions prompt: a string, an array of strings, an array of
// token ids, or an array of token id arrays. Each element is one prompt.
type Prompt []PromptItem

// PromptItem is one prompt, given as text or as token ids.
type PromptItem struct {
	Text   string
	Tokens []int // set when the prompt was given as token ids
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Prompt) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*p = nil // as if not given
		return nil
	}
	var one string
	if json.Unmarshal(b, &one) == nil {
		*p = Prompt{{Text: one}}
		return nil
	}
	if bytes.Contains(b, []byte("null")) {
		var raw []json.RawMessage
		if json.Unmarshal(b, &raw) == nil {
			for _, it := range raw {
				if string(bytes.TrimSpace(it)) == "null" {
					return errors.New("prompt must be a string, an array of strings, or an array of token arrays; null is none of them")
				}
			}
		}
	}
	var ids []int
	if json.Unmarshal(b, &ids) == nil {
		if len(ids) == 0 {
			*p = Prompt{} // an empty array holds no prompt
			return nil
		}
		*p = Prompt{{Tokens: ids}}
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return errors.New("prompt must be a string, an array of strings, or an array of token arrays")
	}
	out := make(Prompt, 0, len(items))
	for _, it := range items {
		var s string
		if string(bytes.TrimSpace(it)) != "null" && json.Unmarshal(it, &s) == nil {
			out = append(out, PromptItem{Text: s})
			continue
		}
		var ids []int
		if err := json.Unmarshal(it, &ids); err != nil {
			return errors.New("prompt must be a string, an array of strings, or an array of token arrays")
		}
		out = append(out, PromptItem{Tokens: ids})
	}
	*p = out
	return nil
}

// MarshalJSON implements json.Marshaler.
func (p PromptItem) MarshalJSON() ([]byte, error) {
	if p.Tokens != nil {
		return json.Marshal(p.Tokens)
	}
	return json.Marshal(p.Text)
}

// ChatCompletion is the response of a chat completion.
type ChatCompletion struct {
	ID                  string               `json:"id"`
	Object              string               `json:"object"` // chat.completion
	Created             int64                `json:"created"`
	Model               string               `json:"model"`
	PromptFilterResults []PromptFilterResult `json:"prompt_filter_results,omitempty"`
	Choices             []ChatChoice         `json:"choices"`
	Usage               *Usage               `json:"usage,omitempty"`
	SystemFingerprint   string               `json:"system_fingerprint,omitempty"`
}

// PromptFilterResult is Azure's report of what its content filters found in
// one prompt (prompt_index). Only evaluated categories appear in the results.
type PromptFilterResult struct {
	PromptIndex          int                  `json:"prompt_index"`
	ContentFilterResults ContentFilterResults `json:"content_filter_results"`
}

// ContentFilterResults maps a filter category (hate, jailbreak, custom_blocklists, ...)
// to its result. It is empty when no filter evaluated the text.
type ContentFilterResults map[string]json.RawMessage

// ContentFilterDetailedResults is the value of custom_blocklists: whether any
// blocklist filtered the text, and each blocklist's own result. It is an
// object, not an array: contentFilterDetailedResults in Azure's data-plane
// spec (specification/cognitiveservices/data-plane/AzureOpenAI/inference,
// stable/2024-10-21 and the previews since 2024-02-15-preview), which the
// Azure SDKs' typed results decode (@azure/openai's ContentFilterDetailedResults,
// Azure.AI.OpenAI's ContentFilterDetailedResults).
type ContentFilterDetailedResults struct {
	Filtered bool                    `json:"filtered"`
	Details  []ContentFilterIDResult `json:"details"`
}

// ContentFilterIDResult is one blocklist's entry in custom_blocklists.details
// (contentFilterIdResult in the spec): the blocklist's name as id.
type ContentFilterIDResult struct {
	Filtered bool   `json:"filtered"`
	ID       string `json:"id"`
}

// ChatChoice is one choice of a chat completion.
type ChatChoice struct {
	Index                int                   `json:"index"`
	Message              ResponseMessage       `json:"message"`
	Logprobs             *struct{}             `json:"logprobs"` // always null
	FinishReason         string                `json:"finish_reason"`
	ContentFilterResults *ContentFilterResults `json:"content_filter_results,omitempty"`
}

// ResponseMessage is the message of a chat choice.
type ResponseMessage struct {
	Role    string  `json:"role"` // assistant
	Content string  `json:"content"`
	Refusal *string `json:"refusal"` // always null
}

// ChatCompletionChunk is one server-sent event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                  string               `json:"id"`
	Object              string               `json:"object"` // chat.completion.chunk
	Created             int64                `json:"created"`
	Model               string               `json:"model"`
	SystemFingerprint   string               `json:"system_fingerprint,omitempty"`
	PromptFilterResults []PromptFilterResult `json:"prompt_filter_results,omitempty"`
	Choices             []ChunkChoice        `json:"choices"`
	Usage               *Usage               `json:"usage,omitempty"`
}

// ChunkChoice is the part of one choice a chunk carries.
type ChunkChoice struct {
	Index                int                   `json:"index"`
	Delta                Delta                 `json:"delta"`
	Logprobs             *struct{}             `json:"logprobs"`      // always null
	FinishReason         *string               `json:"finish_reason"` // null until the choice ends
	ContentFilterResults *ContentFilterResults `json:"content_filter_results,omitempty"`
}

// Delta is what a chunk adds to a choice's message.
type Delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// Completion is the response of a (legacy) completion, and also the shape of
// its streamed chunks.
type Completion struct {
	ID                  string               `json:"id"`
	Object              string               `json:"object"` // text_completion
	Created             int64                `json:"created"`
	Model               string               `json:"model"`
	SystemFingerprint   string               `json:"system_fingerprint,omitempty"`
	PromptFilterResults []PromptFilterResult `json:"prompt_filter_results,omitempty"`
	Choices             []CompletionChoice   `json:"choices"`
	Usage               *Usage               `json:"usage,omitempty"`
}

// CompletionChoice is one choice of a completion.
type CompletionChoice struct {
	Text                 string                `json:"text"`
	Index                int                   `json:"index"`
	Logprobs             *struct{}             `json:"logprobs"`      // always null
	FinishReason         *string               `json:"finish_reason"` // null in chunks until the choice ends
	ContentFilterResults *ContentFilterResults `json:"content_filter_results,omitempty"`
}

// Usage is the token usage of a request.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks down prompt tokens.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	AudioTokens  int `json:"audio_tokens"`
}

// CompletionTokensDetails breaks down completion tokens.
type CompletionTokensDetails struct {
	ReasoningTokens          int `json:"reasoning_tokens"`
	AudioTokens              int `json:"audio_tokens"`
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

// ModelList is the response of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"` // list
	Data   []Model `json:"data"`
}

// Model is one model of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // model
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ErrorResponse is the body of an error response.
type ErrorResponse struct {
	Error APIError `json:"error"`
}

// APIError is an error in OpenAI's shape.
type APIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *APIError) Error() string { return e.Message }
