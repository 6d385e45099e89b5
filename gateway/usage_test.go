package gateway_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/metrics"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tokens"
)

// oneBackend serves every pool and Standard deployment with one backend.
type oneBackend struct{ b backend.Backend }

func (o oneBackend) Pool(ptu.Pool) (backend.Backend, error)                   { return o.b, nil }
func (o oneBackend) Standard(string, *catalog.Model) (backend.Backend, error) { return o.b, nil }

// fixedUpstream is an OpenAI-compatible server that streams one short answer
// and, when usage is not "", reports it in its last chunk.
func fixedUpstream(t *testing.T, usage string) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"content":"Hello there."}}]}`+"\n\n")
		fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
		if usage != "" {
			fmt.Fprint(w, `data: {"choices":[],"usage":`+usage+`}`+"\n\n")
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(up.Close)
	return up
}

// A call's usage is decided once: the response, the bucket's settle, the
// record, metrics and the Standard token bill all carry the same counts,
// the upstream's when it reports them (here far from what the tokenizer
// counts) and the tokenizer's when it does not.
func TestOneUsagePerCall(t *testing.T) {
	enc, err := tokens.Get("o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, usage, source string
		want                ptu.CallUsage // zero: the tokenizer's count
	}{
		{"upstream reports", `{"prompt_tokens":900,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":256}}`,
			ptu.UsageBackend, ptu.CallUsage{PromptTokens: 900, CachedTokens: 256, CompletionTokens: 7}},
		{"upstream reports none", "", ptu.UsageTokenizer, ptu.CallUsage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grp, err := upstream.New(upstream.Config{Name: "fixed", Endpoints: []upstream.Endpoint{{URL: fixedUpstream(t, tc.usage).URL + "/v1"}}})
			if err != nil {
				t.Fatal(err)
			}
			clk := newClock()
			e := newEnv(t, server.Options{Now: clk.Now})
			d := e.deploy("std", ptu.GlobalStandard, 100)
			g := e.gateway(oneBackend{grp.For(gpt4o, enc)}, clk.Now)
			r := do(t, "POST", chatURL(g.endpoint, "std"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`), "api-key", e.key())
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			rec := g.rec.next(t)
			want := tc.want
			if want == (ptu.CallUsage{}) {
				prompt := enc.ChatTokens([]tokens.Message{{Role: "user", Content: "hi"}})
				want = ptu.CallUsage{PromptTokens: len(prompt), CompletionTokens: len(enc.Encode("Hello there."))}
			}
			want.Source = tc.source
			checkUsage(t, r.body, rec, want)

			// The bucket settled the same usage: a Standard token counts as one.
			b := bucket{key: strings.ToLower(d.ID()), capacity: float64(d.Capacity) * 1000}
			cost := float64(want.PromptTokens - want.CachedTokens + want.CompletionTokens)
			if got := utilization(t, g.lim, b) * b.capacity / 100; math.Abs(got-cost) > 1e-6 || rec.Actual != cost {
				t.Errorf("bucket holds %v, record settled %v; want %v", got, rec.Actual, cost)
			}
			checkRecorders(t, e, rec, want)
		})
	}
}

// checkUsage compares the usage of a response and of its call's record with want.
func checkUsage(t *testing.T, body []byte, rec ptu.CallRecord, want ptu.CallUsage) {
	t.Helper()
	u := decode(t, body)["usage"].(map[string]any)
	got := ptu.CallUsage{PromptTokens: int(u["prompt_tokens"].(float64)), CompletionTokens: int(u["completion_tokens"].(float64)),
		CachedTokens: int(u["prompt_tokens_details"].(map[string]any)["cached_tokens"].(float64)), Source: want.Source}
	if got != want {
		t.Errorf("response usage %+v, want %+v", got, want)
	}
	if rec.CallUsage != want {
		t.Errorf("recorded usage %+v, want %+v", rec.CallUsage, want)
	}
}

// checkRecorders hands rec to the server's kinds of recorders and checks
// that metrics and the Standard token bill count want.
func checkRecorders(t *testing.T, e *env, rec ptu.CallRecord, want ptu.CallUsage) {
	t.Helper()
	ctx := context.Background()
	bill := billing.NewRecorder(e.s.Store, billing.RecorderOptions{})
	m := metrics.NewRecorder(metrics.Options{Store: e.s.Store, Catalog: e.s.Catalog})
	bill.Record(rec)
	m.Record(rec)
	if err := bill.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := e.s.Store.ListTokenUsage(ctx, ptu.TokenUsageFilter{SubscriptionID: e.sub, Deployment: "std"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].PromptTokens != int64(want.PromptTokens) || rows[0].CachedTokens != int64(want.CachedTokens) ||
		rows[0].CompletionTokens != int64(want.CompletionTokens) {
		t.Errorf("billed %+v, want %+v", rows, want)
	}
	counted := map[string]int{}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "ptu_tokens_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "kind" {
					counted[l.GetValue()] = int(s.GetCounter().GetValue())
				}
			}
		}
	}
	if counted["prompt"] != want.PromptTokens || counted["cached"] != want.CachedTokens || counted["completion"] != want.CompletionTokens {
		t.Errorf("metrics counted %v, want %+v", counted, want)
	}
}
