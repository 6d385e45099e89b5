package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tracing"
)

// instantBackends answers every call at once, so that a benchmark measures
// the gateway's own path.
type instantBackends struct{}

func (instantBackends) Pool(ptu.Pool) (backend.Backend, error) { return instant{}, nil }
func (instantBackends) Standard(string, *catalog.Model) (backend.Backend, error) {
	return instant{}, nil
}

type instant struct{}

func (instant) Generate(_ context.Context, req backend.Request, emit func(backend.Event) error) (backend.Result, error) {
	now := time.Now()
	if err := emit(backend.Event{Text: "The keeper stayed.", Tokens: 4, FinishReason: backend.FinishStop}); err != nil {
		return backend.Result{}, err
	}
	return backend.Result{PromptTokens: req.PromptTokens, CompletionTokens: 4, FirstToken: now, LastToken: now}, nil
}

// discardSpans is an exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkCallTracing measures one non-streaming chat call through the
// data plane's handler, in process, with an instant backend and admission
// that admits all: the path the tracing hooks sit on. "off" is tracing as
// shipped with no OTEL_* variable set (no middleware; each hook finds no
// span in the context); "unsampled" runs the middleware and hooks with a
// provider that samples nothing (OTEL_TRACES_SAMPLER=always_off); "sampled"
// records every span (the server span, admission and backend) and hands it
// to an exporter that drops it. docs/benchmarks.md has the numbers:
//
//	go test -run '^$' -bench CallTracing -benchmem -count 6 ./gateway/
func BenchmarkCallTracing(b *testing.B) {
	e := newEnv(b, server.Options{})
	e.deployModel("big", "gpt-4o-mini", "2024-07-18", ptu.GlobalProvisionedManaged, 500)
	g := gateway.New(gateway.Options{Control: e.s.Control, Limiter: admitAll{}, Backends: instantBackends{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	path := "/accounts/" + strings.ToLower(e.acct.CustomSubDomain) + "/openai/deployments/big/chat/completions?api-version=2024-10-21"
	key := e.key()
	body := []byte(`{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarize the plot of a short story about a lighthouse keeper in two sentences."}],"max_tokens":32}`)

	traced := func(sampler string) http.Handler {
		b.Setenv("OTEL_TRACES_SAMPLER", sampler)
		tr := tracing.New(discardSpans{}, nil, nil, false)
		b.Cleanup(func() { tr.Shutdown(context.Background()) })
		return tr.Handler(g.Handler())
	}
	for _, c := range []struct {
		name string
		h    func() http.Handler
	}{
		{"off", g.Handler},
		{"unsampled", func() http.Handler { return traced("always_off") }},
		{"sampled", func() http.Handler { return traced("always_on") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := c.h()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
				req.Header.Set("api-key", key)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
