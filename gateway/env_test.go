package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ptu-dev/ptu/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tokens"
)

const (
	apiVersion = "2024-10-21"
	testRG     = "rg-gateway"
	gpt4o      = "gpt-4o"
	gpt4oVer   = "2024-08-06"
)

// fastSim runs the simulated engine a thousand times faster than real time,
// so a call of a few hundred output tokens takes a scheduler tick or two.
const fastSim = 1000

// newClock is a settable time source for the limiter. It stands still until
// Run(1), then follows the wall clock from where it stood.
func newClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = testenv.Log

// env is a running ptu server with one account.
type env struct {
	t        testing.TB
	s        *server.Server
	sub      string
	acct     ptu.Account
	endpoint string // the account's inference endpoint, ending in "/"
	logs     *syncBuffer
	// stop ends Serve's context and waits for it to return (the drain
	// included), returning its error; the cleanup calls it too.
	stop func() error
}

// newEnv starts a server on a loopback port with a temporary data directory
// and creates an account in eastus. opt may set the clock, the time scale or
// a configuration file; the rest is filled in.
func newEnv(t testing.TB, opt server.Options) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	var logTo io.Writer = logs
	if _, ok := t.(*testing.B); ok {
		logTo = io.Discard // benchmarks make too many calls to keep their log
	}
	opt.Addr = "127.0.0.1:0"
	opt.DataDir = t.TempDir()
	opt.Logger = slog.New(slog.NewTextHandler(logTo, nil))
	if opt.SimTimeScale == 0 {
		opt.SimTimeScale = fastSim
	}
	s, err := server.New(ctx, opt)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		stop()
		s.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	e := &env{t: t, s: s, sub: s.Config.Subscriptions[0].ID, logs: logs, stop: stop}
	e.acct = e.account("acct-gw", "eastus")
	e.endpoint = s.Control.Endpoint(e.acct)
	return e
}

func (e *env) account(name, location string) ptu.Account {
	e.t.Helper()
	a, _, err := e.s.Control.PutAccount(context.Background(), e.sub, testRG, name, control.AccountInput{Location: location})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// deploy creates a deployment of gpt-4o 2024-08-06 of the given type and size.
func (e *env) deploy(name, sku string, capacity int) ptu.Deployment {
	e.t.Helper()
	return e.deployModel(name, gpt4o, gpt4oVer, sku, capacity)
}

func (e *env) deployModel(name, model, version, sku string, capacity int) ptu.Deployment {
	e.t.Helper()
	d, _, err := e.s.Control.PutDeployment(context.Background(), e.sub, testRG, e.acct.Name, name, control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: model, Version: version}, SKUName: sku, Capacity: &capacity})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// keys returns the account's current keys.
func (e *env) keys() (string, string) {
	e.t.Helper()
	a, err := e.s.Control.GetAccount(context.Background(), e.sub, testRG, e.acct.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Key1, a.Key2
}

func (e *env) key() string { k, _ := e.keys(); return k }

// model returns the catalog entry of a deployment.
func (e *env) model(d ptu.Deployment) *catalog.Model {
	e.t.Helper()
	m, ok := e.s.Catalog.Lookup(d.Model.Name, d.Model.Version)
	if !ok {
		e.t.Fatalf("model %s not in catalog", d.Model)
	}
	return m
}

// bucket names a deployment's leaky bucket: its limiter key and capacity.
type bucket struct {
	key      string
	capacity float64 // input-equivalent tokens per minute
}

func bucketOf(d ptu.Deployment, m *catalog.Model) bucket {
	return bucket{key: strings.ToLower(d.ID()), capacity: float64(d.Capacity * m.InputTPMPerPTU)}
}

func (e *env) bucket(d ptu.Deployment) bucket { return bucketOf(d, e.model(d)) }

// utilization reads a bucket's utilization (percent) without changing it.
func utilization(t testing.TB, l leaky.Limiter, b bucket) float64 {
	t.Helper()
	u, err := l.Utilization(context.Background(), b.key, b.capacity)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// azureClient is the official client as an Azure OpenAI application sets it up.
func azureClient(endpoint, key string, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{azure.WithEndpoint(endpoint, apiVersion), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP()}
	return openai.NewClient(append(base, opts...)...)
}

// call is one raw HTTP exchange.
type call struct {
	status int
	header http.Header
	body   []byte
}

// do sends a raw request; headers are name, value pairs.
func do(t testing.TB, method, url string, body io.Reader, headers ...string) call {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return call{status: res.StatusCode, header: res.Header, body: b}
}

// chatURL is the classic chat completions route of a deployment.
func chatURL(endpoint, dep string) string {
	return endpoint + "openai/deployments/" + dep + "/chat/completions?api-version=" + apiVersion
}

// decode unmarshals a JSON body into a generic map, failing the test if it is not JSON.
func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return m
}

// azureErr checks an error body in Azure's own shape, {"error":{"code","message"}}
// and nothing else, and returns its code.
func azureErr(t testing.TB, b []byte) string {
	t.Helper()
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error == nil {
		t.Fatalf("not an Azure error body: %s", b)
	}
	code, _ := body.Error["code"].(string)
	msg, _ := body.Error["message"].(string)
	if code == "" || msg == "" || len(body.Error) != 2 {
		t.Fatalf("Azure error body should have exactly a string code and a message: %s", b)
	}
	return code
}

// openAIErr checks an error body in OpenAI's shape and returns it.
func openAIErr(t testing.TB, b []byte) (typ, param, code string) {
	t.Helper()
	var body struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error == nil || body.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", b)
	}
	raw := decode(t, b)["error"].(map[string]any)
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("OpenAI error body lacks %q: %s", k, b)
		}
	}
	if body.Error.Param != nil {
		param = *body.Error.Param
	}
	if body.Error.Code != nil {
		code = *body.Error.Code
	}
	return body.Error.Type, param, code
}

// userPrompt returns the text of a single user message whose chat prompt is
// exactly n tokens of gpt-4o's tokenizer. tag starts the text, so prompts of
// different tags share no cached prefix. Words are pre-tokenized on their own
// (each begins with a space), so the count is the sum of the words' counts.
func userPrompt(t testing.TB, tag string, n int) string {
	t.Helper()
	vocab := []string{" river", " stone", " cloud", " lantern", " harbor", " meadow", " violet", " copper", " signal", " orchard", " falcon", " ember"}
	enc := tokens.MustGet(catalog.O200kBase)
	count := func(s string) int { return enc.CountChat([]tokens.Message{{Role: "user", Content: s}}) }
	var b strings.Builder
	b.WriteString(tag)
	total := count(tag)
	for i := 0; total < n; i++ {
		w := vocab[(i*7+i/len(vocab))%len(vocab)]
		c := enc.Count(w)
		if total+c > n {
			w, c = " a", 1
		}
		b.WriteString(w)
		total += c
	}
	text := b.String()
	if got := count(text); got != n {
		t.Fatalf("could not build a %d-token prompt (got %d)", n, got)
	}
	return text
}

// recorder keeps the gateway's records and hands them out as calls end.
type recorder struct{ c chan ptu.CallRecord }

func newRecorder() *recorder { return &recorder{c: make(chan ptu.CallRecord, 1024)} }

func (r *recorder) Record(rec ptu.CallRecord) { r.c <- rec }

// next waits for the record of the next call to end.
func (r *recorder) next(t testing.TB) ptu.CallRecord {
	t.Helper()
	select {
	case rec := <-r.c:
		return rec
	case <-time.After(30 * time.Second):
		t.Fatal("no call ended within 30s")
	}
	return ptu.CallRecord{}
}

// gw is a gateway of its own over a server's control plane, with the
// limiter, backends and recorder a test chooses, served on a loopback port.
type gw struct {
	g        *gateway.Gateway
	lim      leaky.Limiter
	rec      *recorder
	endpoint string
}

func (e *env) gateway(backends gateway.Backends, now func() time.Time) *gw {
	e.t.Helper()
	lim := inmem.New(now)
	rec := newRecorder()
	g := gateway.New(gateway.Options{Control: e.s.Control, Limiter: lim, Backends: backends, Recorder: rec,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Now: now})
	ts := httptest.NewServer(g.Handler())
	e.t.Cleanup(ts.Close)
	return &gw{g: g, lim: lim, rec: rec, endpoint: ts.URL + "/accounts/" + strings.ToLower(e.acct.CustomSubDomain) + "/"}
}

// simBackends serves every pool and Standard deployment with simulated
// engines made from cfg (RatedTPM from the pool), counting calls per pool.
type simBackends struct {
	cat   *catalog.Catalog
	cfg   sim.Config
	mu    sync.Mutex
	eng   map[string]*countingBackend
	calls map[string]int
}

func newSimBackends(cat *catalog.Catalog, cfg sim.Config) *simBackends {
	return &simBackends{cat: cat, cfg: cfg, eng: map[string]*countingBackend{}, calls: map[string]int{}}
}

type countingBackend struct {
	b    backend.Backend
	pool string
	sb   *simBackends
}

func (c *countingBackend) Generate(ctx context.Context, req backend.Request, emit func(backend.Event) error) (backend.Result, error) {
	c.sb.mu.Lock()
	c.sb.calls[c.pool]++
	c.sb.mu.Unlock()
	return c.b.Generate(ctx, req, emit)
}

func (s *simBackends) get(id string, m *catalog.Model, ptus int) (backend.Backend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.eng[id]; ok {
		return b, nil
	}
	cfg := s.cfg
	cfg.RatedTPM = server.SimHeadroom * float64(ptus*m.InputTPMPerPTU) // as server.SimEngine sets it up
	cfg.OutputWeight = m.OutputWeight
	enc, err := sim.Tiktoken(m.Tokenizer)
	if err != nil {
		return nil, err
	}
	cfg.Tokenizer = enc
	eng, err := sim.New(cfg)
	if err != nil {
		return nil, err
	}
	s.eng[id] = &countingBackend{b: eng, pool: id, sb: s}
	return s.eng[id], nil
}

func (s *simBackends) Pool(p ptu.Pool) (backend.Backend, error) {
	m, ok := s.cat.Lookup(p.Model, p.Version)
	if !ok {
		return nil, fmt.Errorf("pool %s: model %s %s is not in the catalog", p.ID, p.Model, p.Version)
	}
	return s.get(p.ID, m, p.RatedPTU)
}

func (s *simBackends) Standard(region string, m *catalog.Model) (backend.Backend, error) {
	return s.get("standard/"+region+"/"+m.Name, m, 1000)
}

// stats returns the load of the engine serving pool id, once it has one.
func (s *simBackends) stats(id string) (sim.Stats, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.eng[id]; ok {
		if eng, ok := c.b.(*sim.Engine); ok {
			return eng.Stats(), true
		}
	}
	return sim.Stats{}, false
}

func (s *simBackends) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// writeConfig writes a server configuration file and returns its path.
func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ptu.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
