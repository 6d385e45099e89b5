// Package backend defines what the gateway asks of a model server: run one
// generation request and stream its output back. Implementations live in
// sub-packages named after what they drive (sim, upstream).
package backend

import (
	"context"
	"time"
)

// Finish reasons carried by the last Event of a choice.
const (
	FinishStop   = "stop"   // natural end or a stop sequence
	FinishLength = "length" // MaxTokens reached
)

// Request is one generation request, already validated and tokenized by the gateway.
type Request struct {
	Model        string // model name as the backend knows it
	PromptTokens int    // counted by the gateway
	CachedTokens int    // prefix-cache hit; prefill for these is skipped
	MaxTokens    int    // >0: the most output tokens per choice; 0: the model decides
	N            int    // choices; 0 means 1
	Stop         []string
	Seed         *int64
	Stream       bool
	// PromptIndex is which prompt of a legacy completion's prompt array this
	// request runs (the gateway runs each prompt as its own request).
	PromptIndex int
	// Body is the original JSON request body. Upstream backends forward it;
	// the simulator reads only the prompt from it, to seed its text.
	Body []byte
}

// Event is one piece of output: text of one choice, or the end of a choice
// (FinishReason set, possibly with the choice's last text).
type Event struct {
	Index        int    // choice index
	Text         string // may be empty on the final event of a choice
	Tokens       int    // output tokens this event accounts for; 0 when the backend counts only at the end (upstream servers)
	FinishReason string // "", FinishStop or FinishLength
}

// Result is the usage a backend actually processed.
type Result struct {
	PromptTokens     int // prompt tokens processed (all of them unless aborted during prefill)
	CompletionTokens int // output tokens generated, across choices
	CachedTokens     int
	FirstToken       time.Time // when the first output token was produced; zero if none
	LastToken        time.Time // when the last output token was produced; zero if none
	// Tokenized says the counts are the model's tokenizer's, not the model
	// server's: it reported no usage (PromptTokens is then the gateway's
	// count, CompletionTokens the tokenizer's count of the output).
	Tokenized bool
}

// Backend runs generation requests.
type Backend interface {
	// Generate runs req, calling emit for each event in order. An error from
	// emit (the client went away) or the end of ctx aborts the request.
	// Generate returns the usage actually processed even when it fails or is
	// aborted, so the caller can settle admission with what was really spent.
	Generate(ctx context.Context, req Request, emit func(Event) error) (Result, error)
}
