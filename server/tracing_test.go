package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testenv"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tracing"
)

// otlpReceiver is an OTLP/HTTP trace endpoint (protobuf encoding,
// https://opentelemetry.io/docs/specs/otlp/#otlphttp) that keeps what it receives.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	res   []*commonpb.KeyValue
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces in application/x-protobuf", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		o.res = rs.GetResource().GetAttributes()
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (o *otlpReceiver) find(pred func(*tracepb.Span) bool) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if pred(s) {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func attrString(s *tracepb.Span, key string) string { return attr(s, key).GetStringValue() }
func attrInt(s *tracepb.Span, key string) int64     { return attr(s, key).GetIntValue() }

// traceUpstreamConfig serves eastus's gpt-4o pool from an upstream group
// whose one endpoint is a simulated engine behind its own HTTP server.
const traceUpstreamConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota: {GlobalProvisionedManaged: 500}
subscriptions:
  - {id: 6b1f0c2e-8d4a-4e7b-9c3f-2a5d7e9b1c41, displayName: traced}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 100, backend: vllm}
backends:
  - name: vllm
    endpoints: [{url: "%s/v1"}]
    healthInterval: 1h
`

type tracedEnv struct {
	recv        *otlpReceiver
	tr          *tracing.Tracing
	s           *server.Server
	dep         ptu.Deployment
	endpoint    string
	key         string
	mu          sync.Mutex
	traceparent []string // what the upstream received, per call
}

// startTraced runs a server whose traces go to an OTLP receiver, configured
// the way an operator does it: by OTEL_* variables. The limiter is Redis's.
func startTraced(t *testing.T, capture bool) *tracedEnv {
	e := &tracedEnv{recv: &otlpReceiver{}}
	rs := httptest.NewServer(e.recv)
	t.Cleanup(rs.Close)

	tok, err := sim.Tiktoken("o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.Config{RatedTPM: 1_000_000, TimeScale: 1000, Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	inner := sim.NewServer(map[string]*sim.Engine{"gpt-4o": eng})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			e.mu.Lock()
			e.traceparent = append(e.traceparent, r.Header.Get("traceparent"))
			e.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rs.URL)
	t.Setenv("OTEL_SERVICE_NAME", "ptu-under-test")
	t.Setenv(tracing.EnvCaptureContent, "")
	e.tr, err = tracing.FromEnv(context.Background(), tracing.Options{CaptureContent: capture})
	if err != nil || e.tr == nil {
		t.Fatalf("tracing from OTEL_EXPORTER_OTLP_ENDPOINT: %v, %v", e.tr, err)
	}
	cfg := filepath.Join(t.TempDir(), "ptu.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(traceUpstreamConfig, up.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.s = testserver.Start(t, server.Options{ConfigPath: cfg, Tracing: e.tr, Redis: testenv.Redis(t)}).Server

	ctx := context.Background()
	sub := e.s.Config.Subscriptions[0].ID
	name := "traced-" + testenv.RandomHex(4)
	a, _, err := e.s.Control.PutAccount(ctx, sub, "rg", name, control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if e.dep, _, err = e.s.Control.PutDeployment(ctx, sub, "rg", name, "gpt-4o", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	e.endpoint = e.s.URL + "/accounts/" + a.CustomSubDomain + "/"
	e.key = a.Key1
	return e
}

func (e *tracedEnv) chat(t *testing.T, traceparent, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.endpoint+"openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", strings.NewReader(body))
	req.Header.Set("api-key", e.key)
	req.Header.Set("Content-Type", "application/json")
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp, out
}

// flush exports every span ended so far.
func (e *tracedEnv) flush(t *testing.T) {
	t.Helper()
	if err := e.tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestChatCallIsTraced sends a chat call carrying a W3C traceparent through
// ptu to an upstream model server and decodes what ptu exports over OTLP: the
// call's server span continues the caller's trace, is named and attributed
// by the GenAI conventions, and has the admission span (with the Redis round
// trip under it) and the backend span (with the HTTP client span under it)
// as children; the upstream received the client span's traceparent. No
// prompt or completion text is recorded.
func TestChatCallIsTraced(t *testing.T) {
	e := startTraced(t, false)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	const prompt = "Does Azure OpenAI support customer managed keys?"
	resp, body := e.chat(t, "00-"+traceID+"-"+parentID+"-01", `{"messages":[{"role":"user","content":"`+prompt+`"}],"max_tokens":20}`)
	if resp.StatusCode != 200 {
		t.Fatalf("chat: %d %v", resp.StatusCode, body)
	}
	usage := body["usage"].(map[string]any)

	// A throttled call: the bucket is filled past its capacity first.
	m, _ := e.s.Catalog.Lookup("gpt-4o", "2024-08-06")
	capacity := float64(e.dep.Capacity * m.InputTPMPerPTU)
	if _, err := e.s.Limiter.Admit(context.Background(), strings.ToLower(e.dep.ID()), capacity, 2*capacity); err != nil {
		t.Fatal(err)
	}
	resp429, _ := e.chat(t, "", `{"messages":[{"role":"user","content":"again"}],"max_tokens":20}`)
	if resp429.StatusCode != 429 {
		t.Fatalf("second call: %d, want 429", resp429.StatusCode)
	}

	// An ARM request.
	st, _ := testenv.ARM(t, e.s.URL, e.s.AdminToken, "GET", "/subscriptions/"+e.dep.SubscriptionID+"/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/"+e.dep.AccountName+"/deployments", "", nil)
	if st != 200 {
		t.Fatalf("ARM list deployments: %d", st)
	}
	e.flush(t)

	calls := e.recv.find(func(s *tracepb.Span) bool { return hex.EncodeToString(s.TraceId) == traceID })
	var call, admission, redis, backend, client *tracepb.Span
	for _, s := range calls {
		switch {
		case s.Kind == tracepb.Span_SPAN_KIND_SERVER:
			call = s
		case s.Name == "admission":
			admission = s
		case s.Name == "EVALSHA":
			redis = s
		case strings.HasPrefix(s.Name, "backend "):
			backend = s
		case s.Kind == tracepb.Span_SPAN_KIND_CLIENT && s.Name == "POST":
			client = s
		}
	}
	if call == nil || admission == nil || redis == nil || backend == nil || client == nil {
		names := []string{}
		for _, s := range calls {
			names = append(names, s.Name+"/"+s.Kind.String())
		}
		t.Fatalf("spans of the caller's trace: %v; want the call, admission, EVALSHA, backend and its POST", names)
	}

	// The call span continues the caller's trace and speaks GenAI.
	if hex.EncodeToString(call.ParentSpanId) != parentID {
		t.Errorf("call span's parent %x, want the incoming traceparent's %s", call.ParentSpanId, parentID)
	}
	if call.Name != "chat gpt-4o" {
		t.Errorf("call span named %q, want %q", call.Name, "chat gpt-4o")
	}
	for k, want := range map[string]string{
		"gen_ai.operation.name":  "chat",
		"gen_ai.request.model":   "gpt-4o",
		"gen_ai.response.model":  body["model"].(string),
		"gen_ai.provider.name":   "azure.ai.openai",
		"gen_ai.system":          "az.ai.openai",
		"ptu.deployment":         "gpt-4o",
		"ptu.deployment.type":    ptu.GlobalProvisionedManaged,
		"ptu.admission.decision": "admitted",
		"ptu.region":             "eastus",
		"ptu.request_id":         resp.Header.Get("apim-request-id"),
	} {
		if got := attrString(call, k); got != want {
			t.Errorf("call span %s = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[string]int64{
		"gen_ai.usage.input_tokens":  int64(usage["prompt_tokens"].(float64)),
		"gen_ai.usage.output_tokens": int64(usage["completion_tokens"].(float64)),
		"gen_ai.request.max_tokens":  20,
		"ptu.deployment.ptu":         15,
	} {
		if got := attrInt(call, k); got != want {
			t.Errorf("call span %s = %d, want %d", k, got, want)
		}
	}
	if rs := attr(call, "gen_ai.response.finish_reasons").GetArrayValue().GetValues(); len(rs) != 1 || rs[0].GetStringValue() == "" {
		t.Errorf("call span gen_ai.response.finish_reasons %v, want one reason", rs)
	}
	if attr(call, "ptu.utilization") == nil {
		t.Error("call span has no ptu.utilization")
	}

	// Its children: admission (Redis under it) and the backend (HTTP under it).
	if !equalID(admission.ParentSpanId, call.SpanId) || !equalID(backend.ParentSpanId, call.SpanId) {
		t.Errorf("admission and backend spans are not children of the call span")
	}
	if !equalID(redis.ParentSpanId, admission.SpanId) || attrString(redis, "db.system.name") != "redis" {
		t.Errorf("EVALSHA span: parent %x (admission %x), db.system.name %q", redis.ParentSpanId, admission.SpanId, attrString(redis, "db.system.name"))
	}
	if attrString(admission, "ptu.admission.decision") != "admitted" {
		t.Errorf("admission span decision %q", attrString(admission, "ptu.admission.decision"))
	}
	if !equalID(client.ParentSpanId, backend.SpanId) || attrString(backend, "ptu.pool") == "" {
		t.Errorf("upstream client span's parent %x, want the backend span %x (pool %q)", client.ParentSpanId, backend.SpanId, attrString(backend, "ptu.pool"))
	}

	// The upstream saw the trace: the client span's traceparent.
	e.mu.Lock()
	seen := append([]string(nil), e.traceparent...)
	e.mu.Unlock()
	if want := "00-" + traceID + "-" + hex.EncodeToString(client.SpanId) + "-01"; len(seen) != 1 || seen[0] != want {
		t.Errorf("upstream received traceparent %q, want [%s]", seen, want)
	}

	// No prompt or completion text unless capture is turned on.
	for _, s := range e.recv.find(func(*tracepb.Span) bool { return true }) {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), "customer managed keys") || strings.HasPrefix(kv.Key, "gen_ai.input") || strings.HasPrefix(kv.Key, "gen_ai.output") {
				t.Errorf("span %s records %s = %s with content capture off", s.Name, kv.Key, kv.Value)
			}
		}
	}

	// The throttled call: a trace of its own, with the decision and retry-after.
	throttled := e.recv.find(func(s *tracepb.Span) bool {
		return s.Kind == tracepb.Span_SPAN_KIND_SERVER && attrString(s, "ptu.admission.decision") == "throttled"
	})
	if len(throttled) != 1 {
		t.Fatalf("%d throttled call spans, want 1", len(throttled))
	}
	if ms := attrInt(throttled[0], "ptu.retry_after_ms"); ms <= 0 || fmt.Sprint(ms) != resp429.Header.Get("retry-after-ms") {
		t.Errorf("throttled span ptu.retry_after_ms = %d, response retry-after-ms %s", ms, resp429.Header.Get("retry-after-ms"))
	}
	if attrString(throttled[0], "error.type") != "429" {
		t.Errorf("throttled span error.type %q, want 429", attrString(throttled[0], "error.type"))
	}

	// The ARM request: named by its route, with its action.
	arm := e.recv.find(func(s *tracepb.Span) bool {
		return s.Kind == tracepb.Span_SPAN_KIND_SERVER && strings.HasPrefix(s.Name, "GET /subscriptions/")
	})
	if len(arm) != 1 || arm[0].Name != "GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{account}/deployments" ||
		attrString(arm[0], "ptu.arm.action") != "Microsoft.CognitiveServices/accounts/deployments/read" {
		for _, s := range arm {
			t.Logf("ARM span %q action %q", s.Name, attrString(s, "ptu.arm.action"))
		}
		t.Errorf("%d ARM spans; want one named by its route with its action", len(arm))
	}
	found := false
	for _, kv := range e.recv.res {
		found = found || (kv.Key == "service.name" && kv.Value.GetStringValue() == "ptu-under-test")
	}
	if !found {
		t.Errorf("resource %v lacks service.name from OTEL_SERVICE_NAME", e.recv.res)
	}
}

// TestTraceContentCapture records the prompt and the completion on the call
// span when the operator turns capture on.
func TestTraceContentCapture(t *testing.T) {
	e := startTraced(t, true)
	resp, body := e.chat(t, "", `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something about keys"}],"max_tokens":10,"stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("chat: %d %v", resp.StatusCode, body)
	}
	e.flush(t)
	calls := e.recv.find(func(s *tracepb.Span) bool { return s.Name == "chat gpt-4o" })
	if len(calls) != 1 {
		t.Fatalf("%d call spans", len(calls))
	}
	var in []struct {
		Role  string `json:"role"`
		Parts []struct {
			Type, Content string
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(attrString(calls[0], "gen_ai.input.messages")), &in); err != nil || len(in) != 2 ||
		in[1].Role != "user" || in[1].Parts[0].Content != "Say something about keys" {
		t.Errorf("gen_ai.input.messages %q (%v)", attrString(calls[0], "gen_ai.input.messages"), err)
	}
	var out []struct {
		Role  string `json:"role"`
		Parts []struct {
			Type, Content string
		} `json:"parts"`
		FinishReason string `json:"finish_reason"`
	}
	if err := json.Unmarshal([]byte(attrString(calls[0], "gen_ai.output.messages")), &out); err != nil || len(out) != 1 ||
		out[0].Role != "assistant" || out[0].Parts[0].Content == "" || out[0].FinishReason == "" {
		t.Errorf("gen_ai.output.messages %q (%v)", attrString(calls[0], "gen_ai.output.messages"), err)
	}
}

func equalID(a, b []byte) bool { return len(a) > 0 && string(a) == string(b) }
