package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/tracing"
)

// The spans of a data-plane call follow the GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/); ptu's
// own attributes are under ptu.*. Each hook returns at once when the call is
// not traced.
const (
	attrDeployment     = attribute.Key("ptu.deployment")
	attrDeploymentType = attribute.Key("ptu.deployment.type")
	attrPTU            = attribute.Key("ptu.deployment.ptu")
	attrAccount        = attribute.Key("ptu.account")
	attrRegion         = attribute.Key("ptu.region")
	attrRequestID      = attribute.Key("ptu.request_id")
	attrStream         = attribute.Key("ptu.stream")
	attrDecision       = attribute.Key("ptu.admission.decision")
	attrEstimate       = attribute.Key("ptu.admission.estimate")
	attrUtilization    = attribute.Key("ptu.utilization")
	attrBucket         = attribute.Key("ptu.bucket_utilization")
	attrRetryAfterMs   = attribute.Key("ptu.retry_after_ms")
	attrCost           = attribute.Key("ptu.cost")
	attrTTFT           = attribute.Key("ptu.time_to_first_token_ms")
	attrSpillTarget    = attribute.Key("ptu.spillover.target")
	attrSpillStatus    = attribute.Key("ptu.spillover.status")
	attrSpillDecision  = attribute.Key("ptu.spillover.admission.decision")
	attrPool           = attribute.Key("ptu.pool")
	// gen_ai.system is the name GenAI conventions used before
	// gen_ai.provider.name; backends built on it still read it.
	attrGenAISystem = attribute.Key("gen_ai.system")
)

// Admission decisions, as ptu.admission.decision.
const (
	decisionAdmitted    = "admitted"
	decisionThrottled   = "throttled"
	decisionUnavailable = "unavailable"
)

func (op operation) genAIName() attribute.KeyValue {
	if op == opChat {
		return semconv.GenAIOperationNameChat
	}
	return semconv.GenAIOperationNameTextCompletion
}

// traceAttempt puts one attempt's GenAI and ptu attributes on the call's
// server span when it ends. A spillover attempt reports under
// ptu.spillover.*, beside the provisioned deployment's own attributes.
func traceAttempt(ctx context.Context, w http.ResponseWriter, op operation, dep *deployment, req *request, rec *ptu.CallRecord) {
	s := tracing.Span(ctx)
	if s == nil {
		return
	}
	attrs := []attribute.KeyValue{
		semconv.GenAIUsageInputTokens(rec.PromptTokens),
		semconv.GenAIUsageOutputTokens(rec.CompletionTokens),
		semconv.GenAIUsageCacheReadInputTokens(rec.CachedTokens),
		attrCost.Float64(rec.Actual),
	}
	if rec.Status == http.StatusOK {
		attrs = append(attrs, semconv.GenAIResponseModel(responseModel(dep.model.Name, dep.model.Version)))
	}
	if rec.TimeToFirstToken > 0 {
		attrs = append(attrs, attrTTFT.Int64(rec.TimeToFirstToken.Milliseconds()))
	}
	if rec.Status >= 400 {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(rec.Status)))
	}
	if ms := w.Header().Get("retry-after-ms"); ms != "" && rec.Status != http.StatusOK {
		if v, err := strconv.ParseInt(ms, 10, 64); err == nil {
			attrs = append(attrs, attrRetryAfterMs.Int64(v))
		}
	}
	if rec.IsSpillover {
		attrs = append(attrs, attrSpillTarget.String(dep.d.Name), attrSpillStatus.Int(rec.Status))
	} else {
		tracing.Name(ctx, op.genAIName().Value.AsString()+" "+dep.d.Name)
		attrs = append(attrs, deploymentAttrs(dep)...)
		attrs = append(attrs,
			op.genAIName(),
			semconv.GenAIProviderNameAzureAIOpenAI,
			attrGenAISystem.String("az.ai.openai"),
			semconv.GenAIRequestModel(dep.d.Name), // Azure OpenAI calls name the deployment as the model
			attrAccount.String(rec.Account.Name),
			attrRequestID.String(rec.RequestID),
			attrStream.Bool(rec.Stream))
		if req.maxTokens > 0 {
			attrs = append(attrs, semconv.GenAIRequestMaxTokens(req.maxTokens))
		}
		if req.n > 1 {
			attrs = append(attrs, semconv.GenAIRequestChoiceCount(req.n))
		}
		if req.seed != nil {
			attrs = append(attrs, semconv.GenAIRequestSeed(int(*req.seed)))
		}
		if rec.Throttled {
			attrs = append(attrs, attrDecision.String(decisionThrottled))
		}
		if tracing.CaptureContent(ctx) {
			if in := inputMessages(op, req.body); in != "" {
				attrs = append(attrs, semconv.GenAIInputMessagesKey.String(in))
			}
		}
	}
	s.SetAttributes(attrs...)
}

func deploymentAttrs(dep *deployment) []attribute.KeyValue {
	return []attribute.KeyValue{
		attrDeployment.String(dep.d.Name),
		attrDeploymentType.String(dep.d.SKUName),
		attrPTU.Int(dep.d.Capacity),
		attrRegion.String(dep.region.Name),
	}
}

// startAdmission starts the admission span of an attempt.
func startAdmission(ctx context.Context, dep *deployment, estimate float64) (context.Context, trace.Span) {
	ctx, s := tracing.Start(ctx, "admission", trace.SpanKindInternal)
	if s != nil {
		s.SetAttributes(attrDeployment.String(dep.d.Name), attrEstimate.Float64(estimate))
	}
	return ctx, s
}

// endAdmission ends the admission span with the decision and tells the
// call's span (as ptu.spillover.* for a spillover attempt).
func endAdmission(ctx context.Context, s trace.Span, dec leaky.Decision, err error, isSpill bool) {
	if s == nil {
		return
	}
	decision := decisionAdmitted
	attrs := []attribute.KeyValue{}
	switch {
	case err != nil:
		decision = decisionUnavailable
	case !dec.Allowed:
		decision = decisionThrottled
		attrs = append(attrs, attrRetryAfterMs.Int64(dec.RetryAfterMillis()))
	}
	if err == nil {
		attrs = append(attrs, attrUtilization.Float64(dec.Reported()), attrBucket.Float64(dec.Utilization))
	}
	tracing.End(s, err, append(attrs, attrDecision.String(decision))...)
	call := tracing.Span(ctx)
	if isSpill {
		call.SetAttributes(attrSpillDecision.String(decision))
		return
	}
	call.SetAttributes(append(attrs, attrDecision.String(decision))...)
}

// backendSpan is the span of an attempt's backend call; nil when untraced.
type backendSpan struct {
	span    trace.Span
	capture bool
	mu      sync.Mutex // several prompts of a completion may stream at once
	texts   map[int]*strings.Builder
	reasons map[int]string
}

// startBackend starts the span of the backend call to target t.
func startBackend(ctx context.Context, dep *deployment, t target) (context.Context, *backendSpan) {
	if tracing.Span(ctx) == nil {
		return ctx, nil
	}
	ctx, s := tracing.Start(ctx, "backend "+t.pool, trace.SpanKindInternal)
	s.SetAttributes(attrPool.String(t.pool), attrDeployment.String(dep.d.Name), semconv.GenAIRequestModel(dep.model.Name))
	b := &backendSpan{span: s, capture: tracing.CaptureContent(ctx),
		texts: map[int]*strings.Builder{}, reasons: map[int]string{}}
	return ctx, b
}

// observe notes an event's finish reason and, when content capture is on, its text.
func (b *backendSpan) observe(ev backend.Event) {
	if b == nil || (!b.capture && ev.FinishReason == "") {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ev.FinishReason != "" {
		b.reasons[ev.Index] = ev.FinishReason
	}
	if b.capture {
		t := b.texts[ev.Index]
		if t == nil {
			t = &strings.Builder{}
			b.texts[ev.Index] = t
		}
		t.WriteString(ev.Text)
	}
}

// end ends the backend span with the usage the backend reported.
func (b *backendSpan) end(ctx context.Context, res backend.Result, err error) {
	if b == nil {
		return
	}
	attrs := []attribute.KeyValue{
		semconv.GenAIUsageInputTokens(res.PromptTokens),
		semconv.GenAIUsageOutputTokens(res.CompletionTokens),
	}
	b.mu.Lock()
	reasons := make([]string, 0, len(b.reasons))
	for i := range len(b.reasons) + len(b.texts) {
		if r, ok := b.reasons[i]; ok {
			reasons = append(reasons, r)
		}
	}
	var out string
	if b.capture {
		out = outputMessages(b.texts, b.reasons)
	}
	b.mu.Unlock()
	if len(reasons) > 0 {
		attrs = append(attrs, semconv.GenAIResponseFinishReasons(reasons...))
	}
	tracing.End(b.span, err, attrs...)
	if call := tracing.Span(ctx); call != nil {
		if len(reasons) > 0 {
			call.SetAttributes(semconv.GenAIResponseFinishReasons(reasons...))
		}
		if out != "" {
			call.SetAttributes(semconv.GenAIOutputMessagesKey.String(out))
		}
	}
}

// A message in the GenAI conventions' JSON shape of gen_ai.input.messages
// and gen_ai.output.messages.
type genAIMessage struct {
	Role         string      `json:"role"`
	Parts        []genAIPart `json:"parts"`
	FinishReason string      `json:"finish_reason,omitempty"`
}

type genAIPart struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

// inputMessages renders a request's messages (or prompt) as gen_ai.input.messages.
func inputMessages(op operation, body []byte) string {
	var msgs []genAIMessage
	if op == opChat {
		var in struct {
			Messages []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		if json.Unmarshal(body, &in) != nil {
			return ""
		}
		for _, m := range in.Messages {
			msgs = append(msgs, genAIMessage{Role: m.Role, Parts: textParts(m.Content)})
		}
	} else {
		var in struct {
			Prompt json.RawMessage `json:"prompt"`
		}
		if json.Unmarshal(body, &in) != nil {
			return ""
		}
		msgs = append(msgs, genAIMessage{Role: "user", Parts: textParts(in.Prompt)})
	}
	b, _ := json.Marshal(msgs)
	return string(b)
}

// textParts reads content given as a string, an array of strings, or an
// array of {type: text, text} parts.
func textParts(raw json.RawMessage) []genAIPart {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []genAIPart{{Type: "text", Content: s}}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	parts := []genAIPart{}
	for _, p := range list {
		if json.Unmarshal(p, &s) == nil {
			parts = append(parts, genAIPart{Type: "text", Content: s})
			continue
		}
		var tp struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(p, &tp) == nil && tp.Type == "text" {
			parts = append(parts, genAIPart{Type: "text", Content: tp.Text})
		}
	}
	return parts
}

func outputMessages(texts map[int]*strings.Builder, reasons map[int]string) string {
	var msgs []genAIMessage
	for i := range len(texts) + len(reasons) {
		t, ok := texts[i]
		if !ok {
			continue
		}
		msgs = append(msgs, genAIMessage{Role: "assistant", Parts: []genAIPart{{Type: "text", Content: t.String()}}, FinishReason: reasons[i]})
	}
	if len(msgs) == 0 {
		return ""
	}
	b, _ := json.Marshal(msgs)
	return string(b)
}
