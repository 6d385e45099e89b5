package sim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/backend"
)

const (
	maxBodyBytes  = 32 << 20
	maxN          = 128
	maxStops      = 4
	fingerprint   = "fp_ptusim"
	errInvalidReq = "invalid_request_error"
)

// Server is an OpenAI-compatible HTTP server over simulated engines, one per
// model name: /v1/chat/completions, /v1/completions, /v1/models and /health.
type Server struct {
	engines map[string]*Engine
	names   []string
	now     func() time.Time
	newID   func() string
}

// NewServer serves engines, keyed by the model name clients send.
func NewServer(engines map[string]*Engine) *Server {
	s := &Server{
		engines: engines,
		now:     time.Now,
		newID:   rand.Text,
	}
	for name := range engines {
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/v1/chat/completions" && r.Method == http.MethodPost:
		s.chat(w, r)
	case path == "/v1/completions" && r.Method == http.MethodPost:
		s.completions(w, r)
	case path == "/v1/models" && r.Method == http.MethodGet:
		s.models(w)
	case strings.HasPrefix(path, "/v1/models/") && r.Method == http.MethodGet:
		s.model(w, strings.TrimPrefix(path, "/v1/models/"))
	case path == "/health" && r.Method == http.MethodGet:
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, http.StatusNotFound, &APIError{
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, path),
			Type:    errInvalidReq,
		})
	}
}

func (s *Server) models(w http.ResponseWriter) {
	list := ModelList{Object: "list", Data: []Model{}}
	for _, name := range s.names {
		list.Data = append(list.Data, Model{ID: name, Object: "model", OwnedBy: "ptu-sim"})
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) model(w http.ResponseWriter, name string) {
	if _, ok := s.engines[name]; !ok {
		writeError(w, http.StatusNotFound, modelNotFound(name))
		return
	}
	writeJSON(w, http.StatusOK, Model{ID: name, Object: "model", OwnedBy: "ptu-sim"})
}

// params are the generation parameters common to both endpoints.
type params struct {
	model     string
	maxTokens *int
	maxParam  string
	n         *int
	stop      []string
	seed      *int64
	stream    bool
	usage     bool // stream_options.include_usage
}

// check validates p and returns its engine.
func (s *Server) check(p params) (*Engine, *APIError) {
	if p.model == "" {
		return nil, &APIError{Message: "you must provide a model parameter", Type: errInvalidReq}
	}
	e, ok := s.engines[p.model]
	if !ok {
		return nil, modelNotFound(p.model)
	}
	if p.maxTokens != nil && *p.maxTokens < 1 {
		return nil, belowMin(p.maxParam, *p.maxTokens, 1)
	}
	if p.n != nil && (*p.n < 1 || *p.n > maxN) {
		if *p.n < 1 {
			return nil, belowMin("n", *p.n, 1)
		}
		return nil, invalidParam("n", fmt.Sprintf("Invalid 'n': integer above maximum value. Expected a value <= %d, but got %d instead.", maxN, *p.n), "integer_above_max_value")
	}
	if len(p.stop) > maxStops {
		return nil, invalidParam("stop", fmt.Sprintf("Invalid 'stop': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", maxStops, len(p.stop)), "array_above_max_length")
	}
	return e, nil
}

func (p params) request(prompt int, body []byte) backend.Request {
	r := backend.Request{Model: p.model, PromptTokens: prompt, N: 1, Stop: p.stop, Seed: p.seed, Stream: p.stream, Body: body}
	if p.maxTokens != nil {
		r.MaxTokens = *p.maxTokens
	}
	if p.n != nil {
		r.N = *p.n
	}
	return r
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req ChatCompletionRequest
	body, apiErr := decode(w, r, &req)
	if apiErr != nil {
		writeError(w, http.StatusBadRequest, apiErr)
		return
	}
	p := params{model: req.Model, maxTokens: req.MaxTokens, maxParam: "max_tokens", n: req.N, stop: req.Stop, seed: req.Seed, stream: req.Stream}
	if req.MaxCompletionTokens != nil {
		p.maxTokens, p.maxParam = req.MaxCompletionTokens, "max_completion_tokens"
	}
	p.usage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	e, apiErr := s.check(p)
	if apiErr == nil && len(req.Messages) == 0 {
		apiErr = invalidParam("messages", "[] is too short - 'messages'", "empty_array")
	}
	if apiErr == nil {
		apiErr = checkStreamOptions(req.StreamOptions != nil, req.Stream)
	}
	if apiErr != nil {
		writeError(w, statusOf(apiErr), apiErr)
		return
	}
	a := answer{w: w, r: r, e: e, p: p, id: "chatcmpl-" + s.newID(), created: s.now().Unix()}
	breq := p.request(CountChat(e.cfg.Tokenizer, req.Messages), body)
	if p.stream {
		a.streamChat(breq)
	} else {
		a.wholeChat(breq)
	}
}

// checkStreamOptions refuses stream_options on a call that does not stream.
func checkStreamOptions(given, stream bool) *APIError {
	if given && !stream {
		return invalidParam("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "")
	}
	return nil
}

// answer is one call's reply under way.
type answer struct {
	w       http.ResponseWriter
	r       *http.Request
	e       *Engine
	p       params
	id      string
	created int64
}

// wholeChat answers a chat call in one JSON body.
func (a answer) wholeChat(breq backend.Request) {
	texts := make([]strings.Builder, breq.N)
	out := ChatCompletion{ID: a.id, Object: "chat.completion", Created: a.created, Model: a.p.model, SystemFingerprint: fingerprint, Choices: make([]ChatChoice, breq.N)}
	res, err := a.e.Generate(a.r.Context(), breq, func(ev backend.Event) error {
		texts[ev.Index].WriteString(ev.Text)
		if ev.FinishReason != "" {
			out.Choices[ev.Index].FinishReason = ev.FinishReason
		}
		return nil
	})
	if err != nil {
		return // the client is gone
	}
	for i := range out.Choices {
		out.Choices[i].Index = i
		out.Choices[i].Message = ResponseMessage{Role: "assistant", Content: texts[i].String()}
	}
	out.Usage = usageOf(res)
	writeJSON(a.w, http.StatusOK, out)
}

// streamChat answers a chat call as server-sent chunks: a role chunk per
// choice, its text, its finish reason, the usage when asked, then [DONE].
func (a answer) streamChat(breq backend.Request) {
	sse := newSSE(a.w)
	chunk := func(c ChunkChoice) error {
		return sse.send(ChatCompletionChunk{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.p.model, SystemFingerprint: fingerprint, Choices: []ChunkChoice{c}})
	}
	started := make([]bool, breq.N)
	res, err := a.e.Generate(a.r.Context(), breq, func(ev backend.Event) error {
		if !started[ev.Index] {
			started[ev.Index] = true
			empty := ""
			if err := chunk(ChunkChoice{Index: ev.Index, Delta: Delta{Role: "assistant", Content: &empty}}); err != nil {
				return err
			}
		}
		if ev.Text != "" {
			text := ev.Text
			if err := chunk(ChunkChoice{Index: ev.Index, Delta: Delta{Content: &text}}); err != nil {
				return err
			}
		}
		if ev.FinishReason != "" {
			reason := ev.FinishReason
			return chunk(ChunkChoice{Index: ev.Index, FinishReason: &reason})
		}
		return nil
	})
	if err != nil {
		return
	}
	if a.p.usage {
		if sse.send(ChatCompletionChunk{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.p.model, SystemFingerprint: fingerprint, Choices: []ChunkChoice{}, Usage: usageOf(res)}) != nil {
			return
		}
	}
	sse.done()
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req CompletionRequest
	body, apiErr := decode(w, r, &req)
	if apiErr != nil {
		writeError(w, http.StatusBadRequest, apiErr)
		return
	}
	p := params{model: req.Model, maxTokens: req.MaxTokens, maxParam: "max_tokens", n: req.N, stop: req.Stop, seed: req.Seed, stream: req.Stream}
	p.usage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	if p.maxTokens == nil {
		sixteen := 16 // the completions API's default
		p.maxTokens = &sixteen
	}
	e, apiErr := s.check(p)
	if apiErr == nil && len(req.Prompt) == 0 {
		apiErr = invalidParam("prompt", "you must provide a prompt parameter", "")
	}
	if apiErr == nil {
		apiErr = checkStreamOptions(req.StreamOptions != nil, req.Stream)
	}
	if apiErr != nil {
		writeError(w, statusOf(apiErr), apiErr)
		return
	}
	a := answer{w: w, r: r, e: e, p: p, id: "cmpl-" + s.newID(), created: s.now().Unix()}
	a.completions(promptRequests(e, p, req.Prompt, body))
}

// promptRequests makes one engine request per prompt.
func promptRequests(e *Engine, p params, prompts []PromptItem, body []byte) []backend.Request {
	reqs := make([]backend.Request, len(prompts))
	for k, item := range prompts {
		count := len(item.Tokens)
		if item.Tokens == nil {
			count = len(e.cfg.Tokenizer.Encode(item.Text))
		}
		b := body
		if len(prompts) > 1 {
			b, _ = json.Marshal(map[string]any{"prompt": item})
		}
		reqs[k] = p.request(count, b)
	}
	return reqs
}

// completions answers a legacy completions call, whole or streamed; prompt
// k's choices take indexes k*n … k*n+n-1.
func (a answer) completions(reqs []backend.Request) {
	n := reqs[0].N
	choices := make([]CompletionChoice, len(reqs)*n)
	texts := make([]strings.Builder, len(choices))
	var sse *sseWriter
	if a.p.stream {
		sse = newSSE(a.w)
	}
	page := func(cs []CompletionChoice, u *Usage) Completion {
		return Completion{ID: a.id, Object: "text_completion", Created: a.created, Model: a.p.model, SystemFingerprint: fingerprint, Choices: cs, Usage: u}
	}
	var mu sync.Mutex
	emitFor := func(k int) func(backend.Event) error {
		return func(ev backend.Event) error {
			i := k*n + ev.Index
			var reason *string
			if ev.FinishReason != "" {
				reason = &ev.FinishReason
			}
			if !a.p.stream {
				texts[i].WriteString(ev.Text)
				if reason != nil {
					choices[i].FinishReason = reason
				}
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			return sse.send(page([]CompletionChoice{{Text: ev.Text, Index: i, FinishReason: reason}}, nil))
		}
	}
	res, err := generateAll(a.r.Context(), a.e, reqs, emitFor)
	if err != nil {
		return
	}
	if !a.p.stream {
		for i := range choices {
			choices[i].Index = i
			choices[i].Text = texts[i].String()
		}
		writeJSON(a.w, http.StatusOK, page(choices, usageOf(res)))
		return
	}
	if a.p.usage && sse.send(page([]CompletionChoice{}, usageOf(res))) != nil {
		return
	}
	sse.done()
}

// generateAll runs reqs concurrently, as the completions API does with
// several prompts, and sums their usage. The first failure aborts the rest.
func generateAll(ctx context.Context, e *Engine, reqs []backend.Request, emitFor func(int) func(backend.Event) error) (backend.Result, error) {
	if len(reqs) == 1 {
		return e.Generate(ctx, reqs[0], emitFor(0))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]backend.Result, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for k := range reqs {
		wg.Go(func() {
			results[k], errs[k] = e.Generate(ctx, reqs[k], emitFor(k))
			if errs[k] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	var sum backend.Result
	for _, r := range results {
		sum.PromptTokens += r.PromptTokens
		sum.CompletionTokens += r.CompletionTokens
		sum.CachedTokens += r.CachedTokens
	}
	return sum, errors.Join(errs...)
}

// CountChat counts the prompt tokens of a chat request the way OpenAI's
// cookbook does: 3 per message, 1 more for a name, and 3 to prime the reply.
func CountChat(tok Tokenizer, msgs []ChatMessage) int {
	n := 3
	for _, m := range msgs {
		n += 3 + len(tok.Encode(m.Role)) + len(tok.Encode(string(m.Content)))
		if m.Name != "" {
			n += 1 + len(tok.Encode(m.Name))
		}
	}
	return n
}

func usageOf(r backend.Result) *Usage {
	return &Usage{
		PromptTokens:            r.PromptTokens,
		CompletionTokens:        r.CompletionTokens,
		TotalTokens:             r.PromptTokens + r.CompletionTokens,
		PromptTokensDetails:     &PromptTokensDetails{CachedTokens: r.CachedTokens},
		CompletionTokensDetails: &CompletionTokensDetails{},
	}
}

// decode reads a JSON request body into v and returns the raw body.
func decode(w http.ResponseWriter, r *http.Request, v any) ([]byte, *APIError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, &APIError{Message: "could not read the request body: " + err.Error(), Type: errInvalidReq}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, &APIError{Message: "We could not parse the JSON body of your request: " + err.Error(), Type: errInvalidReq}
	}
	return body, nil
}

// sseWriter writes server-sent events, flushing each one.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (s *sseWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write(b)
}

func (s *sseWriter) done() { _ = s.write([]byte("[DONE]")) }

func (s *sseWriter) write(data []byte) error {
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, e *APIError) {
	writeJSON(w, status, ErrorResponse{Error: *e})
}

func statusOf(e *APIError) int {
	if e.Code != nil && *e.Code == "model_not_found" {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func modelNotFound(model string) *APIError {
	code := "model_not_found"
	param := "model"
	return &APIError{
		Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model),
		Type:    errInvalidReq,
		Param:   &param,
		Code:    &code,
	}
}

func invalidParam(param, msg, code string) *APIError {
	e := &APIError{Message: msg, Type: errInvalidReq, Param: &param}
	if code != "" {
		e.Code = &code
	}
	return e
}

func belowMin(param string, got, least int) *APIError {
	return invalidParam(param, fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", param, least, got), "integer_below_min_value")
}
