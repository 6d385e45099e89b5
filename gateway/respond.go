package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/oai"
)

// generate routes the request to a backend of the deployment, weighted by the
// PTUs each pool holds, and runs every prompt. It returns the summed usage.
func (g *Gateway) generate(ctx context.Context, dep *deployment, req *request, out *responder) (backend.Result, error) {
	t := dep.pick()
	var sum backend.Result
	for pi, ids := range req.prompts {
		breq := backend.Request{Model: dep.model.Name, PromptTokens: len(ids), MaxTokens: req.maxTokens,
			N: req.n, Stop: req.stop, Seed: req.seed, Stream: req.stream, Body: req.body}
		if room := dep.model.ContextWindow - len(ids); breq.MaxTokens == 0 && room < dep.model.MaxOutputTokens {
			breq.MaxTokens = room // without max_tokens, the answer still ends at the context window
		}
		if pi == 0 {
			breq.CachedTokens = req.cached
		}
		base := pi * req.n
		res, err := t.backend.Generate(ctx, breq, func(ev backend.Event) error {
			ev.Index += base
			return out.event(ev)
		})
		sum.PromptTokens += res.PromptTokens
		sum.CompletionTokens += res.CompletionTokens
		sum.CachedTokens += res.CachedTokens
		if sum.FirstToken.IsZero() {
			sum.FirstToken = res.FirstToken
		}
		if !res.LastToken.IsZero() {
			sum.LastToken = res.LastToken
		}
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// pick chooses a target in proportion to its weight (the PTUs it holds),
// deterministically in turn, so a deployment spread over pools loads each
// pool as much as it holds there.
func (d *deployment) pick() target {
	if len(d.targets) == 1 {
		return d.targets[0]
	}
	n := int(d.rr.Add(1) % uint64(d.total))
	for _, t := range d.targets {
		if n < t.weight {
			return t
		}
		n -= t.weight
	}
	return d.targets[0]
}

// responder writes one call's answer, streamed or whole, in Azure's shapes.
type responder struct {
	w           http.ResponseWriter
	op          operation
	req         *request
	id          string
	created     int64
	model       string
	fingerprint string

	mu      sync.Mutex // several prompts of a completion stream concurrently in some backends
	started bool
	texts   []strings.Builder
	reasons []string
	roleOut []bool
}

func newResponder(w http.ResponseWriter, op operation, req *request, dep *deployment, id string, now func() time.Time) *responder {
	n := req.n * len(req.prompts)
	prefix := "chatcmpl-"
	if op == opCompletions {
		prefix = "cmpl-"
	}
	sum := sha256.Sum256([]byte(dep.model.Name + "/" + dep.model.Version))
	return &responder{w: w, op: op, req: req, id: prefix + strings.ReplaceAll(id, "-", "")[:24], created: now().Unix(),
		model: responseModel(dep.model.Name, dep.model.Version), fingerprint: "fp_" + hex.EncodeToString(sum[:5]),
		texts: make([]strings.Builder, n), reasons: make([]string, n), roleOut: make([]bool, n)}
}

func emptyFilter() *oai.ContentFilterResults { r := oai.ContentFilterResults{}; return &r }

func (o *responder) promptFilters() []oai.PromptFilterResult {
	out := make([]oai.PromptFilterResult, len(o.req.prompts))
	for i := range out {
		out[i] = oai.PromptFilterResult{PromptIndex: i, ContentFilterResults: oai.ContentFilterResults{}}
	}
	return out
}

func (o *responder) event(ev backend.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ev.Index < 0 || ev.Index >= len(o.texts) {
		return nil
	}
	if !o.req.stream {
		o.texts[ev.Index].WriteString(ev.Text)
		if ev.FinishReason != "" {
			o.reasons[ev.Index] = ev.FinishReason
		}
		return nil
	}
	if !o.started {
		if err := o.start(); err != nil {
			return err
		}
	}
	if o.op == opChat {
		c := oai.ChunkChoice{Index: ev.Index, ContentFilterResults: emptyFilter()}
		if !o.roleOut[ev.Index] {
			c.Delta.Role = "assistant"
			o.roleOut[ev.Index] = true
		}
		if ev.Text != "" || c.Delta.Role != "" {
			text := ev.Text
			c.Delta.Content = &text
			if err := o.send(o.chunk(c)); err != nil {
				return err
			}
		}
		if ev.FinishReason != "" {
			reason := ev.FinishReason
			if err := o.send(o.chunk(oai.ChunkChoice{Index: ev.Index, FinishReason: &reason, ContentFilterResults: emptyFilter()})); err != nil {
				return err
			}
		}
		return nil
	}
	c := oai.CompletionChoice{Index: ev.Index, Text: ev.Text, ContentFilterResults: emptyFilter()}
	if ev.FinishReason != "" {
		reason := ev.FinishReason
		c.FinishReason = &reason
	}
	return o.send(oai.Completion{ID: o.id, Object: "text_completion", Created: o.created, Model: o.model,
		SystemFingerprint: o.fingerprint, Choices: []oai.CompletionChoice{c}})
}

func (o *responder) chunk(c oai.ChunkChoice) oai.ChatCompletionChunk {
	return oai.ChatCompletionChunk{ID: o.id, Object: "chat.completion.chunk", Created: o.created, Model: o.model,
		SystemFingerprint: o.fingerprint, Choices: []oai.ChunkChoice{c}}
}

// start writes the stream's headers and Azure's first chunk, which carries only
// the prompt filter results.
func (o *responder) start() error {
	h := o.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	o.w.WriteHeader(http.StatusOK)
	o.started = true
	if o.op == opChat {
		return o.send(oai.ChatCompletionChunk{Choices: []oai.ChunkChoice{}, PromptFilterResults: o.promptFilters()})
	}
	return o.send(oai.Completion{Choices: []oai.CompletionChoice{}, PromptFilterResults: o.promptFilters()})
}

func (o *responder) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return o.sse(b)
}

func (o *responder) sse(data []byte) error {
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	if _, err := o.w.Write(buf); err != nil {
		return err
	}
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func usage(res backend.Result) *oai.Usage {
	return &oai.Usage{PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens,
		TotalTokens:             res.PromptTokens + res.CompletionTokens,
		PromptTokensDetails:     &oai.PromptTokensDetails{CachedTokens: res.CachedTokens},
		CompletionTokensDetails: &oai.CompletionTokensDetails{}}
}

// finish completes a successful call.
func (o *responder) finish(res backend.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.req.stream {
		if !o.started {
			if o.start() != nil {
				return
			}
		}
		if o.req.includeUsage {
			var v any = oai.ChatCompletionChunk{ID: o.id, Object: "chat.completion.chunk", Created: o.created, Model: o.model,
				SystemFingerprint: o.fingerprint, Choices: []oai.ChunkChoice{}, Usage: usage(res)}
			if o.op == opCompletions {
				v = oai.Completion{ID: o.id, Object: "text_completion", Created: o.created, Model: o.model,
					SystemFingerprint: o.fingerprint, Choices: []oai.CompletionChoice{}, Usage: usage(res)}
			}
			if o.send(v) != nil {
				return
			}
		}
		_ = o.sse([]byte("[DONE]"))
		return
	}
	if o.op == opChat {
		resp := oai.ChatCompletion{ID: o.id, Object: "chat.completion", Created: o.created, Model: o.model,
			SystemFingerprint: o.fingerprint, PromptFilterResults: o.promptFilters(), Usage: usage(res)}
		for i := range o.texts {
			resp.Choices = append(resp.Choices, oai.ChatChoice{Index: i, FinishReason: o.reasons[i],
				Message:              oai.ResponseMessage{Role: "assistant", Content: o.texts[i].String()},
				ContentFilterResults: emptyFilter()})
		}
		writeJSON(o.w, http.StatusOK, resp)
		return
	}
	resp := oai.Completion{ID: o.id, Object: "text_completion", Created: o.created, Model: o.model,
		SystemFingerprint: o.fingerprint, PromptFilterResults: o.promptFilters(), Usage: usage(res)}
	for i := range o.texts {
		reason := o.reasons[i]
		resp.Choices = append(resp.Choices, oai.CompletionChoice{Index: i, Text: o.texts[i].String(), FinishReason: &reason,
			ContentFilterResults: emptyFilter()})
	}
	writeJSON(o.w, http.StatusOK, resp)
}

// fail reports a backend failure and returns the status recorded for it. Once a
// stream has started its status is sent, so the error goes in the stream.
func (o *responder) fail(err error, log *slog.Logger) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if errorsIsCanceled(err) {
		return 499 // the client went away; nothing more can be written
	}
	id := o.w.Header().Get("apim-request-id")
	log.Error("backend failed", "request_id", id, "err", err)
	msg := "The model backend failed while processing your request (request id " + id + "). Retry the request."
	if o.started {
		_ = o.send(map[string]azureError{"error": {Code: "InternalServerError", Message: msg}})
		return http.StatusInternalServerError
	}
	status := http.StatusInternalServerError
	var u interface{ Unavailable() bool }
	if asUnavailable(err, &u) && u.Unavailable() {
		status = http.StatusServiceUnavailable
	}
	code := "InternalServerError"
	if status == http.StatusServiceUnavailable {
		code = "ServiceUnavailable"
	}
	writeAzureError(o.w, status, code, msg)
	return status
}
