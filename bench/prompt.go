package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/ptu-dev/ptu/tokens"
)

// Shape is the size of the calls a run makes.
type Shape struct {
	ContextTokens int `json:"context_tokens"` // prompt tokens of every call, exactly, counted as the API counts chat prompts
	MaxTokens     int `json:"max_tokens"`     // max_tokens of every call; 0 leaves it unset
}

// Shape profiles of azure-openai-benchmark.
var shapeProfiles = map[string]Shape{
	"balanced":   {ContextTokens: 500, MaxTokens: 500},
	"context":    {ContextTokens: 2000, MaxTokens: 200},
	"generation": {ContextTokens: 500, MaxTokens: 1000},
}

// ShapeProfile returns a named profile (balanced, context, generation);
// "custom" is given by ContextTokens and MaxTokens instead.
func ShapeProfile(name string) (Shape, bool) {
	s, ok := shapeProfiles[name]
	return s, ok
}

// message is a chat message as the request body carries it.
type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// prompter writes the messages of each call: a shared prefix (the cached
// share of the prompt), then random words, then the instruction
// azure-openai-benchmark adds to make the model write at length. Every
// prompt has exactly the target number of tokens.
type prompter struct {
	words    []string // single tokens with a leading space
	shared   string   // the cached prefix's words, the same in every call
	unique   int      // random words per call
	essay    string   // the instruction message; "" without max_tokens
	target   int
	encoding string

	mu  sync.Mutex
	rng *rand.Rand
}

// newPrompter plans prompts of shape.ContextTokens tokens of enc, the first
// cacheRate of them shared by every call.
func newPrompter(enc *tokens.Encoder, shape Shape, cacheRate float64, seed uint64) (*prompter, error) {
	words := singleTokenWords(enc.Count)
	if len(words) < 64 {
		return nil, fmt.Errorf("bench: the %s tokenizer has too few single-token words to write prompts", enc.Name())
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	p := &prompter{words: words, target: shape.ContextTokens, encoding: enc.Name(), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	if shape.MaxTokens > 0 {
		p.essay = fmt.Sprintf("write a long essay about life in at least %d tokens", shape.MaxTokens)
	}
	// The framing and the instruction: everything but the words.
	overhead := enc.CountChat(chatMessages(p.messages("")))
	free := shape.ContextTokens - overhead
	if free < 0 {
		return nil, fmt.Errorf("bench: context tokens must be at least %d for these calls (the chat framing and instruction take %d)", overhead, overhead)
	}
	// The cached share counts from the prompt's first token: the message's
	// opening (start token, role, separator) comes before the words.
	opening := 2 + enc.Count("user")
	shared := min(max(int(float64(shape.ContextTokens)*cacheRate+0.5)-opening, 0), free)
	p.unique = free - shared
	// The shared words come from their own generator, so runs with the same
	// cache rate share a prefix whatever their seed.
	fixed := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range shared {
		b.WriteString(words[fixed.IntN(len(words))])
	}
	p.shared = b.String()
	if got := enc.CountChat(chatMessages(p.messages(p.shared + p.randomWords()))); got != p.target {
		return nil, fmt.Errorf("bench: prompts come out at %d tokens, not %d", got, p.target)
	}
	return p, nil
}

func (p *prompter) randomWords() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	b.Grow(p.unique * 8)
	for range p.unique {
		b.WriteString(p.words[p.rng.IntN(len(p.words))])
	}
	return b.String()
}

func (p *prompter) messages(content string) []message {
	msgs := []message{{Role: "user", Content: content}}
	if p.essay != "" {
		msgs = append(msgs, message{Role: "user", Content: p.essay})
	}
	return msgs
}

// chatMessages converts to the tokenizer's shape.
func chatMessages(msgs []message) []tokens.Message {
	out := make([]tokens.Message, len(msgs))
	for i, m := range msgs {
		out[i] = tokens.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// next returns a new prompt.
func (p *prompter) next() []message {
	return p.messages(p.shared + p.randomWords())
}

// requestBody is a chat completions request as the run sends it.
type requestBody struct {
	Model            string         `json:"model,omitempty"` // OpenAI-style endpoints only
	Messages         []message      `json:"messages"`
	MaxTokens        int            `json:"max_tokens,omitempty"`
	N                int            `json:"n,omitempty"`
	FrequencyPenalty *float64       `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64       `json:"presence_penalty,omitempty"`
	Temperature      *float64       `json:"temperature,omitempty"`
	TopP             *float64       `json:"top_p,omitempty"`
	Stream           bool           `json:"stream"`
	StreamOptions    *streamOptions `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

func (b *requestBody) marshal() []byte {
	data, err := json.Marshal(b)
	if err != nil {
		panic(err) // strings, numbers and bools only
	}
	return data
}
