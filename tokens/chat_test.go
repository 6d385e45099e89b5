package tokens

import (
	"slices"
	"testing"
)

// cookbookMessages is the example conversation of OpenAI's "How to count
// tokens with tiktoken" guide, for which the API reported 129 prompt tokens
// on gpt-3.5-turbo and gpt-4 (cl100k_base) and 124 on gpt-4o and gpt-4o-mini
// (o200k_base).
var cookbookMessages = []Message{
	{Role: "system", Content: "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
	{Role: "system", Name: "example_user", Content: "New synergies will help drive top-line growth."},
	{Role: "system", Name: "example_assistant", Content: "Things working well together will increase revenue."},
	{Role: "system", Name: "example_user", Content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
	{Role: "system", Name: "example_assistant", Content: "Let's talk later when we're less busy about how to do better."},
	{Role: "user", Content: "This late pivot means we don't have time to boil the ocean for the client deliverable."},
}

func TestCountChatCookbook(t *testing.T) {
	for _, tc := range []struct {
		encoding string
		want     int
	}{{Cl100kBase, 129}, {O200kBase, 124}} {
		e := MustGet(tc.encoding)
		if got := e.CountChat(cookbookMessages); got != tc.want {
			t.Errorf("%s: CountChat(cookbook example) = %d, want %d", tc.encoding, got, tc.want)
		}
	}
}

func TestCountChat(t *testing.T) {
	// "user", "system", "assistant", "Hello!" → [Hello, !], "Alice" are one or
	// two tokens in both encodings; the expected counts are derived by hand
	// from the framing rules and checked against Encode below.
	cases := []struct {
		name string
		msgs []Message
		want int
	}{
		{"no messages", nil, 3},
		{"one user message", []Message{{Role: "user", Content: "Hello!"}}, 3 + 1 + 2 + 3},
		{"empty content", []Message{{Role: "user"}}, 3 + 1 + 3},
		{"name", []Message{{Role: "user", Name: "Alice", Content: "Hello!"}}, 3 + 1 + (1 + 1) + 2 + 3},
		{"two messages", []Message{{Role: "system", Content: "Hello!"}, {Role: "assistant", Content: "Hello!"}}, (3 + 1 + 2) + (3 + 1 + 2) + 3},
	}
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		for _, w := range []string{"user", "system", "assistant", "Alice"} {
			if n := e.Count(w); n != 1 {
				t.Fatalf("%s: Count(%q) = %d, the hand counts assume 1", name, w, n)
			}
		}
		if n := e.Count("Hello!"); n != 2 {
			t.Fatalf("%s: Count(Hello!) = %d, the hand counts assume 2", name, n)
		}
		for _, tc := range cases {
			if got := e.CountChat(tc.msgs); got != tc.want {
				t.Errorf("%s %s: CountChat = %d, want %d", name, tc.name, got, tc.want)
			}
		}
	}
}

func TestCountChatFormula(t *testing.T) {
	// The guide's formula, spelled out over Encode.
	toolCalls := `[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]`
	msgs := append(slices.Clone(cookbookMessages),
		Message{Role: "assistant", ToolCalls: toolCalls},
		Message{Role: "tool", Content: `{"temperature": 21}`},
	)
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		want := ReplyPriming
		for _, m := range msgs {
			want += TokensPerMessage + len(e.Encode(m.Role)) + len(e.Encode(m.Content)) + len(e.Encode(m.ToolCalls))
			if m.Name != "" {
				want += TokensPerName + len(e.Encode(m.Name))
			}
		}
		if got := e.CountChat(msgs); got != want {
			t.Errorf("%s: CountChat = %d, want %d", name, got, want)
		}
	}
}

func TestChatTokens(t *testing.T) {
	msgs := append(slices.Clone(cookbookMessages), Message{Role: "assistant", Content: "Sure.", ToolCalls: `[{"id":"x"}]`})
	for _, name := range Encodings() {
		e := MustGet(name)
		for n := range len(msgs) + 1 {
			toks := e.ChatTokens(msgs[:n])
			if len(toks) != e.CountChat(msgs[:n]) {
				t.Errorf("%s: len(ChatTokens(%d messages)) = %d, CountChat = %d", name, n, len(toks), e.CountChat(msgs[:n]))
			}
			// Adding a message leaves the tokens of the ones before it as they
			// were: only the reply priming at the end moves.
			if n > 0 {
				prev := e.ChatTokens(msgs[:n-1])
				body := prev[:len(prev)-(2+len(e.chat.assistantTok))]
				if !slices.Equal(toks[:len(body)], body) {
					t.Errorf("%s: ChatTokens(%d messages) does not extend ChatTokens(%d messages)", name, n, n-1)
				}
			}
		}
	}

	small := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Name: "Alice", Content: "Hi"}}
	for _, tc := range []struct{ encoding, want string }{
		{O200kBase, "<|start|>system<|message|>Be brief.<|end|><|start|>user:Alice<|message|>Hi<|end|><|start|>assistant<|message|>"},
		{Cl100kBase, "<|im_start|>system<|im_sep|>Be brief.<|im_end|><|im_start|>user:Alice<|im_sep|>Hi<|im_end|><|im_start|>assistant<|im_sep|>"},
	} {
		e := MustGet(tc.encoding)
		if got := e.Decode(e.ChatTokens(small)); got != tc.want {
			t.Errorf("%s: Decode(ChatTokens) = %q, want %q", tc.encoding, got, tc.want)
		}
	}
}

func TestChatTokensDeterministic(t *testing.T) {
	e := MustGet(O200kBase)
	a, b := e.ChatTokens(cookbookMessages), e.ChatTokens(slices.Clone(cookbookMessages))
	if !slices.Equal(a, b) {
		t.Fatal("ChatTokens differs between calls")
	}
	other := slices.Clone(cookbookMessages)
	other[0].Role = "developer"
	if slices.Equal(a, e.ChatTokens(other)) {
		t.Fatal("ChatTokens ignores the role")
	}
}
