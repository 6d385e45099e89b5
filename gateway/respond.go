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

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/contentfilter"
	"github.com/ptu-dev/ptu/oai"
)

// generate routes the request to a backend of the deployment, weighted by the
// PTUs each pool holds, and runs every prompt. It returns the summed usage.
func (g *Gateway) generate(ctx context.Context, dep *deployment, req *request, out *responder) (sum backend.Result, err error) {
	t := dep.pick()
	call := ctx
	ctx, span := startBackend(ctx, dep, t)
	defer func() { span.end(call, sum, err) }()
	for pi, ids := range req.prompts {
		breq := backend.Request{Model: dep.model.Name, PromptTokens: len(ids), MaxTokens: req.maxTokens,
			N: req.n, Stop: req.stop, Seed: req.seed, Stream: req.stream, Body: req.body, PromptIndex: pi}
		if room := dep.model.ContextWindow - len(ids); breq.MaxTokens == 0 && room < dep.model.MaxOutputTokens {
			breq.MaxTokens = room // without max_tokens, the answer still ends at the context window
		}
		if pi == 0 {
			breq.CachedTokens = req.cached
		}
		base := pi * req.n
		res, err := t.backend.Generate(ctx, breq, func(ev backend.Event) error {
			ev.Index += base
			span.observe(ev)
			return out.event(ev)
		})
		sum.PromptTokens += res.PromptTokens
		sum.CompletionTokens += res.CompletionTokens
		sum.CachedTokens += res.CachedTokens
		sum.Tokenized = sum.Tokenized || res.Tokenized
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

	// The completion side of the content filter policy, when it has one.
	filter  *contentfilter.Policy
	seen    []string                   // per choice, the recent text already checked
	annots  []oai.ContentFilterResults // per choice, the last evaluation
	ended   int                        // choices with a finish reason
	cutOffs int                        // choices the filter ended
}

func newResponder(w http.ResponseWriter, op operation, req *request, dep *deployment, id string, now func() time.Time) *responder {
	n := req.n * len(req.prompts)
	prefix := "chatcmpl-"
	if op == opCompletions {
		prefix = "cmpl-"
	}
	sum := sha256.Sum256([]byte(dep.model.Name + "/" + dep.model.Version))
	o := &responder{w: w, op: op, req: req, id: prefix + strings.ReplaceAll(id, "-", "")[:24], created: now().Unix(),
		model: responseModel(dep.model.Name, dep.model.Version), fingerprint: "fp_" + hex.EncodeToString(sum[:5]),
		texts: make([]strings.Builder, n), reasons: make([]string, n), roleOut: make([]bool, n)}
	if dep.filter.EvaluatesCompletion() {
		o.filter, o.seen, o.annots = dep.filter, make([]string, n), make([]oai.ContentFilterResults, n)
	}
	return o
}

// classify runs the completion category filters over each choice of an
// answer that was not streamed; a blocked choice loses its text and ends
// with finish_reason content_filter.
func (o *responder) classify(ctx context.Context, p *contentfilter.Policy) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.annots == nil {
		o.annots = make([]oai.ContentFilterResults, len(o.texts))
	}
	for i := range o.texts {
		if o.reasons[i] == finishContentFilter {
			continue
		}
		res, err := p.ClassifyCompletion(ctx, o.texts[i].String())
		if err != nil {
			return err
		}
		if o.annots[i] == nil {
			o.annots[i] = oai.ContentFilterResults{}
		}
		for k, v := range res.Annotations() {
			o.annots[i][k] = v
		}
		if res.Blocked {
			o.texts[i].Reset()
			o.reasons[i] = finishContentFilter
		}
	}
	return nil
}

// choiceFilter is what a choice's content_filter_results say: what the
// policy evaluated, or nothing.
func (o *responder) choiceFilter(i int) *oai.ContentFilterResults {
	if o.annots != nil && o.annots[i] != nil {
		r := o.annots[i]
		return &r
	}
	return emptyFilter()
}

// check runs the completion filter over a choice's new text. It reports
// whether the text is cut; the choice then ends with finish_reason
// content_filter.
func (o *responder) check(ev *backend.Event) bool {
	if o.filter == nil || ev.Text == "" {
		return false
	}
	res := o.filter.CheckCompletion(o.seen[ev.Index], ev.Text)
	o.annots[ev.Index] = res.Annotations()
	if res.Blocked {
		return true
	}
	seen := o.seen[ev.Index] + ev.Text
	if len(seen) > contentfilter.CompletionWindow {
		seen = seen[len(seen)-contentfilter.CompletionWindow:]
	}
	o.seen[ev.Index] = seen
	return false
}

func emptyFilter() *oai.ContentFilterResults { r := oai.ContentFilterResults{}; return &r }

func (o *responder) promptFilters() []oai.PromptFilterResult {
	out := make([]oai.PromptFilterResult, len(o.req.prompts))
	for i := range out {
		out[i] = oai.PromptFilterResult{PromptIndex: i, ContentFilterResults: oai.ContentFilterResults{}}
		if i < len(o.req.promptFilter) && o.req.promptFilter[i] != nil {
			out[i].ContentFilterResults = o.req.promptFilter[i]
		}
	}
	return out
}

func (o *responder) event(ev backend.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ev.Index < 0 || ev.Index >= len(o.texts) || o.reasons[ev.Index] == finishContentFilter {
		return nil // a choice the filter ended gets nothing more
	}
	if o.check(&ev) {
		ev.Text, ev.FinishReason = "", finishContentFilter
		o.cutOffs++
	}
	if ev.FinishReason != "" {
		o.ended++
		o.reasons[ev.Index] = ev.FinishReason
	}
	if err := o.write(ev); err != nil {
		return err
	}
	if o.cutOffs > 0 && o.ended == len(o.texts) {
		return errFiltered // stop the backend: nothing more will be sent
	}
	return nil
}

// finishContentFilter ends a choice the content filter cut.
const finishContentFilter = "content_filter"

func (o *responder) write(ev backend.Event) error {
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
		c := oai.ChunkChoice{Index: ev.Index, ContentFilterResults: o.choiceFilter(ev.Index)}
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
			if err := o.send(o.chunk(oai.ChunkChoice{Index: ev.Index, FinishReason: &reason, ContentFilterResults: o.choiceFilter(ev.Index)})); err != nil {
				return err
			}
		}
		return nil
	}
	c := oai.CompletionChoice{Index: ev.Index, Text: ev.Text, ContentFilterResults: o.choiceFilter(ev.Index)}
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

// sse sends one event. Its three parts go to the response's buffer, and
// out in one write when it is flushed.
func (o *responder) sse(data []byte) error {
	for _, part := range [][]byte{sseData, data, sseEnd} {
		if _, err := o.w.Write(part); err != nil {
			return err
		}
	}
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

var sseData, sseEnd = []byte("data: "), []byte("\n\n")

func usage(u ptu.CallUsage) *oai.Usage {
	return &oai.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens:             u.PromptTokens + u.CompletionTokens,
		PromptTokensDetails:     &oai.PromptTokensDetails{CachedTokens: u.CachedTokens},
		CompletionTokensDetails: &oai.CompletionTokensDetails{}}
}

// finish completes a successful call, reporting its usage.
func (o *responder) finish(u ptu.CallUsage) {
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
				SystemFingerprint: o.fingerprint, Choices: []oai.ChunkChoice{}, Usage: usage(u)}
			if o.op == opCompletions {
				v = oai.Completion{ID: o.id, Object: "text_completion", Created: o.created, Model: o.model,
					SystemFingerprint: o.fingerprint, Choices: []oai.CompletionChoice{}, Usage: usage(u)}
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
			SystemFingerprint: o.fingerprint, PromptFilterResults: o.promptFilters(), Usage: usage(u)}
		for i := range o.texts {
			resp.Choices = append(resp.Choices, oai.ChatChoice{Index: i, FinishReason: o.reasons[i],
				Message:              oai.ResponseMessage{Role: "assistant", Content: o.texts[i].String()},
				ContentFilterResults: o.choiceFilter(i)})
		}
		writeJSON(o.w, http.StatusOK, resp)
		return
	}
	resp := oai.Completion{ID: o.id, Object: "text_completion", Created: o.created, Model: o.model,
		SystemFingerprint: o.fingerprint, PromptFilterResults: o.promptFilters(), Usage: usage(u)}
	for i := range o.texts {
		reason := o.reasons[i]
		resp.Choices = append(resp.Choices, oai.CompletionChoice{Index: i, Text: o.texts[i].String(), FinishReason: &reason,
			ContentFilterResults: o.choiceFilter(i)})
	}
	writeJSON(o.w, http.StatusOK, resp)
}

// fail reports a backend failure and returns the status recorded for it and,
// when the call was cut off by the server's side, why. Once a stream has
// started its status is sent, so the error goes in the stream as an event in
// Azure's error shape, with no [DONE] after it: a client can tell a cut
// answer from a whole one. draining says the gateway was aborted by a
// shutdown; ctx is the call's context.
func (o *responder) fail(ctx context.Context, err error, draining bool, log *slog.Logger) (int, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := o.w.Header().Get("apim-request-id")
	status, code, cut := http.StatusInternalServerError, "InternalServerError", ""
	msg := "The model backend failed while processing your request (request id " + id + "). Retry the request."
	switch {
	case draining:
		status, code, cut = http.StatusServiceUnavailable, "ServiceUnavailable", ptu.CutDrain
		msg = "The server is shutting down and cut this answer off before its end (request id " + id + "). Retry the request."
	case errorsIsCanceled(err) && ctx.Err() != nil:
		return 499, "" // the client went away; nothing more can be written
	case errorsIsCanceled(err):
		status, code = http.StatusGatewayTimeout, "Timeout"
		if o.started {
			cut = ptu.CutTimeout
		}
		msg = "The model backend did not finish the answer in time (request id " + id + "). Retry the request."
		log.Error("backend timed out", "request_id", id, "err", err)
	default:
		log.Error("backend failed", "request_id", id, "err", err)
		var u interface{ Unavailable() bool }
		if !o.started && asUnavailable(err, &u) && u.Unavailable() {
			status, code = http.StatusServiceUnavailable, "ServiceUnavailable"
		}
		if o.started {
			cut = ptu.CutUpstream
		}
	}
	if o.started {
		_ = o.send(map[string]azureError{"error": {Code: code, Message: msg}})
		return status, cut
	}
	writeAzureError(o.w, status, code, msg)
	return status, cut
}
