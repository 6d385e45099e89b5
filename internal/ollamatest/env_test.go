package ollamatest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/gguf"
	"github.com/ptu-dev/ptu/internal/ollamatest"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// tiny is the name of the tiny model in every Ollama of these tests.
const tiny = "tiny"

var (
	sharedOnce sync.Once
	shared     *ollamatest.Server
	sharedErr  error
	sharedDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// engine returns the Ollama the tests share, serving the tiny model one
// call at a time (Ollama's default), started on first use.
func engine(t *testing.T) *ollamatest.Server {
	t.Helper()
	bin := ollamatest.Binary(t)
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sharedDir, sharedErr = os.MkdirTemp("", "ptu-ollama-")
		if sharedErr != nil {
			return
		}
		shared, sharedErr = ollamatest.Start(ctx, bin, sharedDir, ollamatest.Options{})
		if sharedErr == nil {
			sharedErr = shared.Create(ctx, tiny, gguf.Tiny, "num_thread 1")
		}
	})
	if sharedErr != nil {
		if shared != nil {
			t.Logf("ollama log:\n%s", shared.Log())
		}
		t.Fatal(sharedErr)
	}
	return shared
}

// newEngine starts an Ollama of the test's own, with the tiny model.
func newEngine(t *testing.T) *ollamatest.Server {
	t.Helper()
	s := ollamatest.StartT(t, ollamatest.Options{})
	s.CreateT(t, tiny, gguf.Tiny, "num_thread 1")
	return s
}

// record is one access-log line of the ptu server ("inference").
type record map[string]any

func (r record) int(k string) int { v, _ := r[k].(float64); return int(v) }

// recorder is a slog handler that keeps the access-log records and the text
// of every line (printed when a test fails).
type recorder struct {
	mu      *sync.Mutex
	records *[]record
	text    *bytes.Buffer
	attrs   []slog.Attr
}

func newRecorder() recorder {
	return recorder{mu: &sync.Mutex{}, records: &[]record{}, text: &bytes.Buffer{}}
}

func (h recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h recorder) WithAttrs(a []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr{}, h.attrs...), a...)
	return h
}
func (h recorder) WithGroup(string) slog.Handler { return h }
func (h recorder) Handle(_ context.Context, r slog.Record) error {
	rec := record{}
	var line strings.Builder
	fmt.Fprintf(&line, "%s %s %s", r.Time.Format("15:04:05.000"), r.Level, r.Message)
	add := func(a slog.Attr) bool {
		v := a.Value.Resolve()
		switch v.Kind() {
		case slog.KindInt64:
			rec[a.Key] = float64(v.Int64())
		case slog.KindFloat64:
			rec[a.Key] = v.Float64()
		case slog.KindBool:
			rec[a.Key] = v.Bool()
		default:
			rec[a.Key] = v.String()
		}
		fmt.Fprintf(&line, " %s=%v", a.Key, v)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.text.WriteString(line.String() + "\n")
	if r.Message == "inference" {
		*h.records = append(*h.records, rec)
	}
	return nil
}

func (h recorder) all() []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]record{}, *h.records...)
}

func (h recorder) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.text.String()
}

// ptuEnv is a ptu server whose gpt-4o pool is served by Ollama, with one
// account and a provisioned deployment "dep".
type ptuEnv struct {
	t *testing.T
	s *server.Server
	// clock stands still unless advanced: the bucket does not drain, so
	// its level is the sum of what calls settled.
	clock *clock.Fake
	logs  recorder
	dep   ptu.Deployment
	model *catalog.Model
	url   string // the account's endpoint, ending in "/"
	key   string
}

const ptuConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota: {GlobalProvisionedManaged: 500}
subscriptions:
  - {id: 0d6a7e0c-3c1e-4d8f-9a55-7b1e2f3a4c5d, displayName: ollama}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 300, backend: ollama}
backends:
  - name: ollama
    endpoints: [%s]
    models: {gpt-4o: %s}
    maxConnections: 1
%s`

// newPTU starts ptu with the Ollama servers at urls (roots, without /v1) as
// its gpt-4o backend mapped to model, extra lines of the backend's YAML, and
// a 200-PTU deployment.
func newPTU(t *testing.T, urls []string, model, extra string) *ptuEnv {
	t.Helper()
	var eps []string
	for _, u := range urls {
		eps = append(eps, fmt.Sprintf("{url: %q}", u+"/v1"))
	}
	cfg := filepath.Join(t.TempDir(), "ptu.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(ptuConfig, strings.Join(eps, ", "), model, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &ptuEnv{t: t, clock: clock.NewFake(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)), logs: newRecorder()}
	ctx := context.Background()
	s := testserver.Start(t, server.Options{ConfigPath: cfg, Logger: slog.New(e.logs), Now: e.clock.Now}).Server
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ptu log:\n%s", e.logs.String())
		}
	})
	e.s = s
	sub := s.Config.Subscriptions[0].ID
	acct, _, err := s.Control.PutAccount(ctx, sub, "rg", "acct", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	capacity := 200
	e.dep, _, err = s.Control.PutDeployment(ctx, sub, "rg", "acct", "dep", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity})
	if err != nil {
		t.Fatal(err)
	}
	e.model, _ = s.Catalog.Lookup("gpt-4o", "2024-08-06")
	e.url = s.Control.Endpoint(acct)
	acct, err = s.Control.GetAccount(ctx, sub, "rg", "acct")
	if err != nil {
		t.Fatal(err)
	}
	e.key = acct.Key1
	return e
}

// utilization is the deployment's bucket level, percent of its capacity.
func (e *ptuEnv) utilization() float64 {
	e.t.Helper()
	u, err := e.s.Limiter.Utilization(context.Background(), strings.ToLower(e.dep.ID()), e.capacity())
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// capacity is the deployment's input-equivalent tokens per minute.
func (e *ptuEnv) capacity() float64 { return float64(e.dep.Capacity * e.model.InputTPMPerPTU) }

// cost is what a call of these counts costs the bucket.
func (e *ptuEnv) cost(prompt, completion int) float64 {
	return float64(prompt) + e.model.OutputWeight*float64(completion)
}

// opURL is the data-plane URL of op ("chat/completions" or "completions").
func (e *ptuEnv) opURL(op string) string {
	return e.url + "openai/deployments/dep/" + op + "?api-version=2024-10-21"
}

// answer is a call's outcome as a client sees it.
type answer struct {
	status  int
	header  http.Header
	body    []byte // a whole answer's body, or the stream's raw bytes
	text    string // choice 0's text
	finish  string // choice 0's finish_reason
	usage   *usage // the answer's usage, or the stream's usage chunk
	chunks  int    // stream chunks with text
	done    bool   // the stream ended with [DONE]
	errCode string // an error's code, whole or in the stream
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// post sends body to url and reads the answer, whole or streamed.
func post(ctx context.Context, t *testing.T, url, key, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("api-key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil && ctx.Err() == nil {
		t.Logf("reading the answer of %s: %v", url, err)
	}
	return parse(t, res.StatusCode, res.Header, b)
}

// choice is the part of a choice these tests read, chat or legacy, whole or chunk.
type choice struct {
	Text    *string `json:"text"`
	Message *struct {
		Content string `json:"content"`
	} `json:"message"`
	Delta *struct {
		Content string `json:"content"`
	} `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

type body struct {
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (c choice) text() string {
	switch {
	case c.Text != nil:
		return *c.Text
	case c.Message != nil:
		return c.Message.Content
	case c.Delta != nil:
		return c.Delta.Content
	}
	return ""
}

func parse(t *testing.T, status int, h http.Header, b []byte) answer {
	t.Helper()
	a := answer{status: status, header: h, body: b}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		var v body
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("status %d, undecodable answer: %v: %s", status, err, b)
		}
		if v.Error != nil {
			a.errCode = v.Error.Code
		}
		if len(v.Choices) > 0 {
			a.text = v.Choices[0].text()
			if f := v.Choices[0].FinishReason; f != nil {
				a.finish = *f
			}
		}
		a.usage = v.Usage
		return a
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	var text strings.Builder
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			a.done = true
			continue
		}
		var v body
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("bad chunk %q: %v", line, err)
		}
		if v.Error != nil {
			a.errCode = v.Error.Code
		}
		if v.Usage != nil && (v.Usage.PromptTokens > 0 || v.Usage.CompletionTokens > 0) {
			a.usage = v.Usage
		}
		for _, c := range v.Choices {
			if s := c.text(); s != "" {
				text.WriteString(s)
				a.chunks++
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				a.finish = *c.FinishReason
			}
		}
	}
	a.text = text.String()
	return a
}

// counter is a reverse proxy in front of an engine that counts the
// generation calls it forwards (not the health probes).
type counter struct {
	*httptest.Server
	calls atomic.Int64
	// wedged makes it hold every generation call (probes included) until
	// its caller gives up, while GET requests still reach the engine: what
	// Ollama 0.17.4 does once wedged (docs/backends.md, "The wedge").
	wedged atomic.Bool
}

func newCounter(t *testing.T, target string) *counter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("User-Agent") != upstream.ProbeUserAgent {
			c.calls.Add(1)
		}
		if r.Method == http.MethodPost && c.wedged.Load() {
			// With the body read, the server notices the caller hanging up.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

// metric reads a sample of the ptu server's Prometheus exposition whose
// line starts with prefix (name and labels); 0 if absent.
func (e *ptuEnv) metric(prefix string) float64 {
	e.t.Helper()
	res, err := http.Get(e.s.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				e.t.Fatalf("metric %s: %v", prefix, err)
			}
			return v
		}
	}
	return 0
}
