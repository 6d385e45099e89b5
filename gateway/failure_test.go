package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/server"
)

// failingBackend emits `tokens` one-token events, then fails with err,
// reporting the prompt and the tokens it processed.
type failingBackend struct {
	tokens int
	err    error
}

func (f failingBackend) Generate(_ context.Context, req backend.Request, emit func(backend.Event) error) (backend.Result, error) {
	res := backend.Result{PromptTokens: req.PromptTokens, CachedTokens: req.CachedTokens}
	for i := range f.tokens {
		if err := emit(backend.Event{Index: 0, Text: " word", Tokens: 1}); err != nil {
			return res, err
		}
		res.CompletionTokens = i + 1
		res.FirstToken = time.Now()
	}
	return res, f.err
}

// failingBackends serves every pool with one failing backend.
type failingBackends struct{ b backend.Backend }

func (f failingBackends) Pool(ptu.Pool) (backend.Backend, error) { return f.b, nil }
func (f failingBackends) Standard(string, *catalog.Model) (backend.Backend, error) {
	return f.b, nil
}

// unavailable is a backend error that asks for a 503.
type unavailable struct{}

func (unavailable) Error() string     { return "all replicas are draining" }
func (unavailable) Unavailable() bool { return true }

// TestBackendFailure checks a failing backend's answer and that the bucket
// is settled with what the backend processed. The limiter's clock stands
// still, so the level is exact.
func TestBackendFailure(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	b := e.bucket(d)
	w := e.model(d).OutputWeight
	prompt := float64(chatCount(tokenMsg("user", "hi")))
	key := e.key()
	const req = `{"messages":[{"role":"user","content":"hi"}],"max_tokens":100`

	for _, tc := range []struct {
		name   string
		be     failingBackend
		body   string
		status int
		code   string
		cut    string // what the record says
	}{
		{name: "fails at once", be: failingBackend{err: errors.New("connection refused")}, body: req + `}`, status: 500, code: "InternalServerError"},
		{name: "unavailable", be: failingBackend{err: unavailable{}}, body: req + `}`, status: 503, code: "ServiceUnavailable"},
		{name: "fails after 3 tokens", be: failingBackend{tokens: 3, err: errors.New("replica lost")}, body: req + `}`, status: 500, code: "InternalServerError"},
		{name: "stream fails after 3 tokens", be: failingBackend{tokens: 3, err: errors.New("replica lost")}, body: req + `,"stream":true}`, status: 200, cut: ptu.CutUpstream},
		{name: "times out", be: failingBackend{err: context.DeadlineExceeded}, body: req + `}`, status: 504, code: "Timeout"},
		{name: "stream times out after 3 tokens", be: failingBackend{tokens: 3, err: fmt.Errorf("upstream: %w", context.DeadlineExceeded)}, body: req + `,"stream":true}`, status: 200, cut: ptu.CutTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			g := e.gateway(failingBackends{tc.be}, clk.Now)
			r := do(t, "POST", chatURL(g.endpoint, "chat"), strings.NewReader(tc.body), "api-key", key)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if code := azureErr(t, r.body); code != tc.code {
					t.Errorf("code %q, want %q", code, tc.code)
				}
			} else {
				// The stream had started: the error is its last event, with no [DONE].
				body := strings.TrimSpace(string(r.body))
				last := body[strings.LastIndex(body, "data: ")+len("data: "):]
				want := map[string]string{ptu.CutUpstream: "InternalServerError", ptu.CutTimeout: "Timeout"}[tc.cut]
				if code := azureErr(t, []byte(last)); code != want || strings.Contains(body, "[DONE]") {
					t.Errorf("stream ends with %q, want a %s event and no [DONE]", last, want)
				}
			}
			rec := g.rec.next(t)
			wantActual := prompt + w*float64(tc.be.tokens)
			if rec.Cut != tc.cut {
				t.Errorf("record: cut %q, want %q", rec.Cut, tc.cut)
			}
			if rec.Status < 500 || rec.Actual != wantActual || rec.Estimate != prompt+w*100 {
				t.Errorf("record: status %d, actual %v, estimate %v; want a 5xx, %v, %v", rec.Status, rec.Actual, rec.Estimate, wantActual, prompt+w*100)
			}
			if got, want := utilization(t, g.lim, b), wantActual/b.capacity*100; math.Abs(got-want) > 1e-9 {
				t.Errorf("utilization %.4f%% after the failure, want %.4f%% (what the backend processed)", got, want)
			}
		})
	}
}

// TestClientDisconnect cancels a stream after its first token: the bucket is
// settled with the tokens generated until then, not the reservation.
func TestClientDisconnect(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	b := e.bucket(d)
	w := e.model(d).OutputWeight
	// A slow engine with long answers: the stream is far from done when the client leaves.
	sims := newSimBackends(e.s.Catalog, sim.Config{DecodeTPS: 20, OutputMean: 3000, OutputStdDev: 100})
	clk := newClock()
	g := e.gateway(sims, clk.Now)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", chatURL(g.endpoint, "chat"), strings.NewReader(
		`{"messages":[{"role":"user","content":"Tell me everything."}],"max_tokens":4000,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("api-key", e.key())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	estimate := float64(chatCount(tokenMsg("user", "Tell me everything."))) + w*4000
	if got, want := headerUtilization(t, res.Header), estimate/b.capacity*100; math.Abs(got-want) > 0.051 {
		t.Errorf("admitted at %.1f%%, want %.1f%%", got, want)
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"content":"`) && !strings.Contains(sc.Text(), `"content":""`) {
			break // the first token
		}
	}
	cancel()
	res.Body.Close()

	rec := g.rec.next(t)
	if rec.Status != 499 {
		t.Errorf("status recorded %d, want 499 (client closed)", rec.Status)
	}
	if rec.CompletionTokens < 1 || rec.CompletionTokens >= 4000 {
		t.Errorf("%d completion tokens recorded", rec.CompletionTokens)
	}
	if want := float64(rec.PromptTokens) + w*float64(rec.CompletionTokens); rec.Actual != want || rec.Estimate != estimate {
		t.Errorf("settled actual %v estimate %v, want %v and %v", rec.Actual, rec.Estimate, want, estimate)
	}
	got := utilization(t, g.lim, b)
	if math.Abs(got-rec.Actual/b.capacity*100) > 1e-9 || got >= estimate/b.capacity*100/2 {
		t.Errorf("utilization %.4f%% after the disconnect, want %.4f%% (what was processed), far below the reservation %.1f%%",
			got, rec.Actual/b.capacity*100, estimate/b.capacity*100)
	}
}

// brokenLimiter is a limiter whose store is down.
type brokenLimiter struct{}

func (brokenLimiter) Admit(context.Context, string, float64, float64) (leaky.Decision, error) {
	return leaky.Decision{}, errors.New("redis: connection refused")
}
func (brokenLimiter) Utilization(context.Context, string, float64) (float64, error) {
	return 0, errors.New("redis: connection refused")
}

// TestLimiterDown checks that calls fail fast with a retryable 503 when
// admission cannot be decided, rather than running unmetered.
func TestLimiterDown(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	sims := newSimBackends(e.s.Catalog, sim.Config{TimeScale: fastSim})
	g := gateway.New(gateway.Options{Control: e.s.Control, Limiter: brokenLimiter{}, Backends: sims,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	ts := httptest.NewServer(g.Handler())
	defer ts.Close()
	r := do(t, "POST", chatURL(ts.URL+"/accounts/acct-gw/", "chat"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`), "api-key", e.key())
	if r.status != 503 || r.header.Get("retry-after") == "" || r.header.Get("retry-after-ms") == "" {
		t.Fatalf("status %d, headers %v: %s", r.status, r.header, r.body)
	}
	if code := azureErr(t, r.body); code != "ServiceUnavailable" {
		t.Errorf("code %q", code)
	}
	if n := sims.counts(); len(n) != 0 {
		t.Errorf("the call reached a backend: %v", n)
	}
}

// TestRefusedCallsRecorded: calls to a deployment answered before admission
// (a body over the limit, a body that is not a request, a prompt longer than
// the context window) are recorded with their status, so the deployment's
// Requests metric and access log count them, and they reserve nothing.
func TestRefusedCallsRecorded(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("chat", ptu.GlobalProvisionedManaged, 15)
	b := e.bucket(d)
	g := e.gateway(newSimBackends(e.s.Catalog, sim.Config{}), time.Now)
	long := strings.Repeat("word ", 130_000) // past gpt-4o's 128,000-token window
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"too large", `{"messages":[{"role":"user","content":"` + strings.Repeat("x", gateway.DefaultMaxBody) + `"}]}`, 413},
		{"not a request", `{"messages":`, 400},
		{"context too long", `{"messages":[{"role":"user","content":"` + long + `"}]}`, 400},
	} {
		req, err := http.NewRequest("POST", chatURL(g.endpoint, "chat"), strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("api-key", e.key())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, res.StatusCode, tc.status)
		}
		rec := g.rec.next(t)
		if rec.Status != tc.status || rec.Deployment.Name != "chat" || rec.Operation != "ChatCompletions_Create" || rec.Estimate != 0 || rec.Throttled {
			t.Errorf("%s: recorded %+v", tc.name, rec)
		}
	}
	if got := utilization(t, g.lim, b); got != 0 {
		t.Errorf("utilization %v%% after refused calls, want 0", got)
	}
}
