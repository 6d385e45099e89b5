package tokens

// Message is one chat message as prompt counting sees it. The gateway maps the
// request JSON into it.
type Message struct {
	Role string
	Name string // optional participant name
	// Content is the text of the message: a string content, or the text parts
	// of an array content concatenated.
	Content string
	// ToolCalls is the JSON of the message's tool calls, if any, counted as
	// text. OpenAI renders tool calls in its own format, so the count is close
	// but not exact for such messages.
	ToolCalls string
}

// Chat prompt overhead, as OpenAI's token-counting guide gives it for gpt-3.5-turbo
// (0125), gpt-4 and gpt-4o: every message is framed by three tokens
// (<|start|>{role}<|message|>{content}<|end|>), a name costs one token on top of
// its text, and every reply is primed with <|start|>assistant<|message|>.
const (
	TokensPerMessage = 3
	TokensPerName    = 1
	ReplyPriming     = 3
)

// CountChat returns the prompt tokens of a chat completion request with these
// messages, as the OpenAI API reports them in usage.prompt_tokens (tools and
// images aside). It equals len(e.ChatTokens(msgs)).
func (e *Encoder) CountChat(msgs []Message) int {
	// The framing is counted from the rendered markers rather than the
	// constants so the two stay equal for every encoding; for o200k_base and
	// cl100k_base they are the constants (":" and "assistant" are one token).
	n := 0
	for _, m := range msgs {
		n += TokensPerMessage + e.Count(m.Role) + e.Count(m.Content) + e.Count(m.ToolCalls)
		if m.Name != "" {
			n += len(e.chat.nameSep) + e.Count(m.Name)
		}
	}
	return n + 2 + len(e.chat.assistantTok)
}

// ChatTokens renders msgs as the token sequence CountChat counts:
//
//	<|start|> role [":" name] <|message|> content tool_calls <|end|>   (per message)
//	<|start|> assistant <|message|>                                    (reply priming)
//
// with each encoding's own special tokens (ChatML's <|im_start|>, <|im_sep|> and
// <|im_end|> outside o200k_base). Each field is encoded on its own, so a
// field's tokens never merge with its neighbours' and a change to one message
// leaves the tokens of the messages before it unchanged: what prefix caching
// needs.
func (e *Encoder) ChatTokens(msgs []Message) []int {
	c := &e.chat
	size := 8
	for _, m := range msgs {
		size += 8 + (len(m.Role)+len(m.Name)+len(m.Content)+len(m.ToolCalls))/3
	}
	out := make([]int, 0, size)
	for _, m := range msgs {
		out = append(out, c.start)
		out = append(out, e.Encode(m.Role)...)
		if m.Name != "" {
			out = append(out, c.nameSep...)
			out = append(out, e.Encode(m.Name)...)
		}
		out = append(out, c.sep)
		out = append(out, e.Encode(m.Content)...)
		out = append(out, e.Encode(m.ToolCalls)...)
		out = append(out, c.end)
	}
	out = append(out, c.start)
	out = append(out, c.assistantTok...)
	return append(out, c.sep)
}
