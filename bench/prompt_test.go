package bench

import (
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/tokens"
)

// TestPromptsExact: every prompt has exactly the tokens asked for, counted as
// the API counts a chat prompt, for both tokenizers and every shape.
func TestPromptsExact(t *testing.T) {
	shapes := []Shape{shapeProfiles["balanced"], shapeProfiles["context"], shapeProfiles["generation"],
		{ContextTokens: 200, MaxTokens: 20}, {ContextTokens: 12}, {ContextTokens: 3000, MaxTokens: 0}}
	for _, encoding := range []string{tokens.O200kBase, tokens.Cl100kBase} {
		enc := tokens.MustGet(encoding)
		for _, shape := range shapes {
			for _, cache := range []float64{0, 0.5, 1} {
				p, err := newPrompter(enc, shape, cache, 42)
				if err != nil {
					t.Fatalf("%s %+v cache %v: %v", encoding, shape, cache, err)
				}
				for range 4 {
					msgs := p.next()
					if got := enc.CountChat(chatMessages(msgs)); got != shape.ContextTokens {
						t.Fatalf("%s %+v cache %v: prompt of %d tokens, want %d", encoding, shape, cache, got, shape.ContextTokens)
					}
				}
			}
		}
	}
}

// TestPromptsShareOnlyTheCachedPrefix: two prompts share the cached share of
// their tokens and nothing after it.
func TestPromptsShareOnlyTheCachedPrefix(t *testing.T) {
	enc := tokens.MustGet(tokens.O200kBase)
	for _, cache := range []float64{0, 0.25, 0.5, 0.9} {
		p, err := newPrompter(enc, Shape{ContextTokens: 2000, MaxTokens: 200}, cache, 7)
		if err != nil {
			t.Fatal(err)
		}
		a, b := enc.ChatTokens(chatMessages(p.next())), enc.ChatTokens(chatMessages(p.next()))
		common := 0
		for common < len(a) && common < len(b) && a[common] == b[common] {
			common++
		}
		want := int(2000*cache + 0.5)
		if cache == 0 {
			want = 3 // the message's opening: start, role, separator
		}
		// A random word equal by chance extends the match by a token or two at most.
		if common < want || common > want+3 {
			t.Errorf("cache rate %v: prompts share %d leading tokens, want %d", cache, common, want)
		}
	}
	// The instruction azure-openai-benchmark appends asks for the output.
	p, _ := newPrompter(enc, Shape{ContextTokens: 500, MaxTokens: 321}, 0, 1)
	if msgs := p.next(); len(msgs) != 2 || !strings.Contains(msgs[1].Content, "at least 321 tokens") {
		t.Errorf("messages %+v", msgs)
	}
}

func TestPromptTooShort(t *testing.T) {
	enc := tokens.MustGet(tokens.O200kBase)
	if _, err := newPrompter(enc, Shape{ContextTokens: 10, MaxTokens: 500}, 0, 1); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("a prompt shorter than its framing: %v", err)
	}
}
