package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ptu-dev/ptu/oai"
	"github.com/ptu-dev/ptu/tokens"
)

// request is a validated, tokenized inference request.
type request struct {
	op           operation
	body         []byte
	prompts      [][]int // token ids of each prompt (chat: one, the rendered conversation)
	promptIDs    []int   // the tokens the prefix cache sees
	promptTokens int     // over all prompts
	maxTokens    int     // per choice, as asked; 0 when not given
	reserve      int     // per choice, what admission reserves
	n            int
	runs         int // generations per prompt: n, or best_of when larger
	stop         []string
	seed         *int64
	stream       bool
	includeUsage bool
	cached       int
	texts        []string                   // each prompt's text, for the content filter
	promptFilter []oai.ContentFilterResults // per prompt, what the content filter evaluated
}

// estimate is the admission cost: uncached prompt tokens plus the output the
// call may generate, weighted as the model's output-to-input ratio.
func (r *request) estimate(dep *deployment) float64 {
	return tokens.Estimate(r.promptTokens, r.cached, r.reserve*r.runs*len(r.prompts), dep.weight)
}

var chatRoles = map[string]bool{"system": true, "user": true, "assistant": true, "tool": true, "function": true, "developer": true}

// decodeError turns a JSON decoding error into OpenAI's invalid_request_error.
func decodeError(err error) *openAIError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return invalid("", "invalid_type", fmt.Sprintf("Invalid request body: expected a JSON object, but got a JSON %s instead.", te.Value))
		}
		return invalid(te.Field, "invalid_type", fmt.Sprintf("Invalid type for '%s': expected %s, but got a JSON %s instead.", te.Field, typeName(te.Type.Kind().String()), te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid("", "", fmt.Sprintf("We could not parse the JSON body of your request (%s at offset %d). The body must be valid JSON.", se.Error(), se.Offset))
	}
	return invalid("", "", "We could not parse the JSON body of your request: "+err.Error())
}

func typeName(kind string) string {
	switch kind {
	case "int", "int64", "int32":
		return "an integer"
	case "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "ptr", "struct", "map":
		return "an object"
	}
	return "a " + kind
}

type common struct {
	maxTokens, maxCompletionTokens *int
	n, bestOf                      *int
	stop                           []string
	temperature, topP              *float64
	presencePenalty                *float64
	frequencyPenalty               *float64
	stream                         bool
	streamOptions                  *oai.StreamOptions
}

func checkCommon(c common, r *request, dep *deployment) *openAIError {
	// Both limits are checked, and the larger is reserved: servers differ
	// on which one wins when both are given.
	for _, lim := range []struct {
		param string
		v     *int
	}{{"max_tokens", c.maxTokens}, {"max_completion_tokens", c.maxCompletionTokens}} {
		maxParam, mt := lim.param, lim.v
		if mt == nil {
			continue
		}
		if *mt < 1 {
			return invalid(maxParam, "invalid_value", fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", maxParam, *mt))
		}
		if *mt > dep.model.MaxOutputTokens {
			return invalid(maxParam, "invalid_value", fmt.Sprintf("%s is too large: %d. This model supports at most %d completion tokens, whereas you provided %d.", maxParam, *mt, dep.model.MaxOutputTokens, *mt))
		}
		r.maxTokens = max(r.maxTokens, *mt)
	}
	r.n = 1
	if c.n != nil {
		if *c.n < 1 || *c.n > 128 {
			return invalid("n", "invalid_value", fmt.Sprintf("Invalid 'n': expected a value between 1 and 128, but got %d instead.", *c.n))
		}
		r.n = *c.n
	}
	r.runs = r.n
	if c.bestOf != nil {
		// best_of generations run for each prompt, n of them are returned:
		// admission reserves all of them.
		if *c.bestOf < r.n || *c.bestOf > 128 {
			return invalid("best_of", "invalid_value", fmt.Sprintf("Invalid 'best_of': expected a value between n (%d) and 128, but got %d instead.", r.n, *c.bestOf))
		}
		r.runs = *c.bestOf
	}
	if len(c.stop) > 4 {
		return invalid("stop", "invalid_value", fmt.Sprintf("Invalid 'stop': expected at most 4 stop sequences, but got %d.", len(c.stop)))
	}
	r.stop = c.stop
	if t := c.temperature; t != nil && (*t < 0 || *t > 2) {
		return invalid("temperature", "invalid_value", fmt.Sprintf("Invalid 'temperature': expected a value between 0 and 2, but got %g instead.", *t))
	}
	if p := c.topP; p != nil && (*p < 0 || *p > 1) {
		return invalid("top_p", "invalid_value", fmt.Sprintf("Invalid 'top_p': expected a value between 0 and 1, but got %g instead.", *p))
	}
	for _, p := range [...]struct {
		name string
		v    *float64
	}{{"presence_penalty", c.presencePenalty}, {"frequency_penalty", c.frequencyPenalty}} {
		if name, v := p.name, p.v; v != nil && (*v < -2 || *v > 2) {
			return invalid(name, "invalid_value", fmt.Sprintf("Invalid '%s': expected a value between -2 and 2, but got %g instead.", name, *v))
		}
	}
	r.stream = c.stream
	if c.streamOptions != nil {
		if !c.stream {
			return invalid("stream_options", "invalid_value", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		r.includeUsage = c.streamOptions.IncludeUsage
	}
	return nil
}

// parse validates body for op against the deployment's model and counts its tokens.
func parse(op operation, body []byte, dep *deployment) (*request, *openAIError) {
	r := &request{op: op, body: body}
	if e := checkKeys(op, body); e != nil {
		return nil, e
	}
	parseOp := parseCompletion
	if op == opChat {
		parseOp = parseChat
	}
	if e := parseOp(r, dep); e != nil {
		return nil, e
	}
	ctxWindow := dep.model.ContextWindow
	for _, p := range r.prompts {
		// Without max_tokens the answer still needs room for one token.
		if out := max(r.maxTokens, 1); len(p)+out > ctxWindow {
			return nil, tooLong(op, ctxWindow, len(p), out, false)
		}
	}
	r.reserve = r.maxTokens
	if r.reserve == 0 {
		longest := 0
		for _, p := range r.prompts {
			longest = max(longest, len(p))
		}
		r.reserve = tokens.DefaultMaxOutput(dep.model.MaxOutputTokens, ctxWindow, longest)
	}
	return r, nil
}

// parseChat reads a chat completion request and renders its conversation
// as the model's tokens.
func parseChat(r *request, dep *deployment) *openAIError {
	var in oai.ChatCompletionRequest
	if err := json.Unmarshal(r.body, &in); err != nil {
		return decodeError(err)
	}
	if len(in.Messages) == 0 {
		return invalid("messages", "empty_array", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	msgs := make([]tokens.Message, len(in.Messages))
	for i, m := range in.Messages {
		if !chatRoles[m.Role] {
			return invalid(fmt.Sprintf("messages[%d].role", i), "invalid_value",
				fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", m.Role))
		}
		msgs[i] = tokens.Message{Role: m.Role, Name: m.Name, Content: string(m.Content)}
		if len(m.ToolCalls) > 0 && string(m.ToolCalls) != "null" {
			msgs[i].ToolCalls = string(m.ToolCalls)
		}
	}
	c := common{maxTokens: in.MaxTokens, maxCompletionTokens: in.MaxCompletionTokens, n: in.N, stop: in.Stop,
		temperature: in.Temperature, topP: in.TopP, stream: in.Stream, streamOptions: in.StreamOptions,
		presencePenalty: in.PresencePenalty, frequencyPenalty: in.FrequencyPenalty}
	r.seed = in.Seed
	if e := checkCommon(c, r, dep); e != nil {
		return e
	}
	// A prompt past the context window is refused before it is
	// tokenized whole: counting stops once it is certainly too long.
	if n, over := chatOver(dep.enc, msgs, dep.model.ContextWindow-max(r.maxTokens, 1)); over {
		return tooLong(opChat, dep.model.ContextWindow, n, max(r.maxTokens, 1), true)
	}
	ids := dep.enc.ChatTokens(msgs)
	r.prompts, r.promptIDs, r.promptTokens = [][]int{ids}, ids, len(ids)
	var text strings.Builder
	for i, m := range msgs {
		if i > 0 {
			text.WriteByte('\n')
		}
		text.WriteString(m.Content)
	}
	r.texts = []string{text.String()}
	return nil
}

// parseCompletion reads a legacy completion request and counts each of its
// prompts.
func parseCompletion(r *request, dep *deployment) *openAIError {
	var in oai.CompletionRequest
	if err := json.Unmarshal(r.body, &in); err != nil {
		return decodeError(err)
	}
	if len(in.Prompt) == 0 {
		return invalid("prompt", "invalid_value", "Invalid 'prompt': a prompt is required (a string, an array of strings, or token arrays).")
	}
	c := common{maxTokens: in.MaxTokens, n: in.N, bestOf: in.BestOf, stop: in.Stop, temperature: in.Temperature, topP: in.TopP,
		stream: in.Stream, streamOptions: in.StreamOptions}
	r.seed = in.Seed
	if e := checkCommon(c, r, dep); e != nil {
		return e
	}
	for _, p := range in.Prompt {
		ids := p.Tokens
		if ids == nil {
			out := max(r.maxTokens, 1)
			if n, over := dep.enc.CountUpTo(p.Text, dep.model.ContextWindow-out); over {
				return tooLong(opCompletions, dep.model.ContextWindow, n, out, true)
			}
			ids = dep.enc.Encode(p.Text)
		}
		r.texts = append(r.texts, p.Text) // "" for token arrays: decoded only if a filter reads it
		r.prompts = append(r.prompts, ids)
		r.promptTokens += len(ids)
	}
	r.promptIDs = r.prompts[0]
	return nil
}

// tooLong is the 400 for a prompt that leaves no room for the answer in the
// context window; atLeast when counting stopped past the window.
func tooLong(op operation, ctxWindow, prompt, out int, atLeast bool) *openAIError {
	what := "messages"
	if op == opCompletions {
		what = "prompt"
	}
	least := ""
	if atLeast {
		least = "at least "
	}
	return invalid(what, "context_length_exceeded", fmt.Sprintf(
		"This model's maximum context length is %d tokens. However, you requested %s%d tokens (%s%d in the %s, %d in the completion). Please reduce the length of the %s or completion.",
		ctxWindow, least, prompt+out, least, prompt, what, out, what))
}

// chatOver counts the tokens of msgs as ChatTokens renders them, stopping
// once they are certainly more than limit.
//
// A field has at most as many tokens as bytes, so a prompt whose bytes are
// within the limit is not counted here at all: it cannot be over.
func chatOver(enc *tokens.Encoder, msgs []tokens.Message, limit int) (int, bool) {
	bound := 0
	for _, m := range msgs {
		bound += tokens.TokensPerMessage + len(m.Role) + len(m.Name) + len(m.Content) + len(m.ToolCalls)
	}
	if bound <= limit {
		return 0, false
	}
	n := 0
	for _, m := range msgs {
		n += tokens.TokensPerMessage // a lower bound: the name's separator is not counted
		for _, f := range []string{m.Role, m.Name, m.Content, m.ToolCalls} {
			c, over := enc.CountUpTo(f, limit-n)
			if n += c; over {
				return n, true
			}
		}
	}
	return n, false
}

// responseModel is the model name responses carry, as Azure reports it (gpt-4o-2024-08-06).
func responseModel(name, version string) string {
	if strings.Count(version, "-") == 2 {
		return name + "-" + version
	}
	return name
}
