// Package upstream serves a pool with real OpenAI-compatible model servers
// (vLLM, llama.cpp server, Ollama, TGI, OpenAI) or Azure OpenAI deployments.
//
// A Group is a set of interchangeable endpoints. A call is streamed from the
// upstream only when the client streams it, then asking for
// stream_options.include_usage so that output reaches the client as soon as
// it is produced; a call the client does not stream is sent without stream
// and its one JSON answer is read whole (an upstream that streams it anyway
// is read as a stream). Usage comes from the upstream, or from the model's
// tokenizer when the upstream reports none. A 429 or 5xx before any
// output is retried on another endpoint of the group. Each endpoint has a
// circuit breaker: consecutive failures eject it (passive ejection) for a
// cool-down, after which one trial call is let through; active health probes
// eject endpoints that stop answering and return ejected ones to service.
package upstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu/backend"
)

// Kinds of endpoint.
const (
	KindOpenAI = "openai" // POST {url}/chat/completions, model in the body, Authorization: Bearer
	KindAzure  = "azure"  // POST {url}/openai/deployments/{model}/chat/completions?api-version=…, api-key
)

// Endpoint is one upstream server.
type Endpoint struct {
	// URL is the base URL: for KindOpenAI the one ending in /v1
	// (http://10.0.0.5:8000/v1); for KindAzure the resource endpoint
	// (https://name.openai.azure.com).
	URL    string
	APIKey string // "" sends no credentials
}

// Config describes a group of interchangeable endpoints.
type Config struct {
	Name      string
	Kind      string // KindOpenAI (default) or KindAzure
	Endpoints []Endpoint
	// Models maps catalog model names to the names the upstream knows
	// (for KindAzure, deployment names); a model not listed keeps its name.
	Models     map[string]string
	APIVersion string // KindAzure: the api-version sent (default 2024-10-21)

	ConnectTimeout   time.Duration // dialing (default 5s)
	FirstByteTimeout time.Duration // until response headers (default 60s)
	RequestTimeout   time.Duration // a whole call, stream included (default 10m)
	MaxConnections   int           // per endpoint; 0 is unlimited

	// FailureThreshold consecutive failures eject an endpoint (default 3)
	// for Cooldown (default 30s).
	FailureThreshold int
	Cooldown         time.Duration
	// HealthPath is probed with GET (default /models; Azure: none unless set);
	// HealthInterval is how often Run probes (default 10s).
	HealthPath     string
	HealthInterval time.Duration
	// HealthModel, when set, is the upstream model name a probe also asks
	// for one token (a chat completion with max_tokens 1): an engine that
	// still answers HealthPath but no longer generates (a wedged server) is
	// ejected, and is not returned to service until it generates again. The
	// generation probe is skipped while calls on the endpoint are producing
	// output, and a probe that times out while they do does not eject it.
	HealthModel string
	// HealthTimeout bounds each probe request (default FirstByteTimeout).
	HealthTimeout time.Duration

	Now       func() time.Time
	Transport http.RoundTripper // tests; default a Transport built from the limits above
	// Wrap, when set, wraps the transport (tracing puts the call's
	// traceparent on each request).
	Wrap func(http.RoundTripper) http.RoundTripper
}

// Tokenizer counts tokens of text, for upstreams that report no usage.
type Tokenizer interface {
	Encode(text string) []int
}

// Group is a set of endpoints serving the same models.
type Group struct {
	cfg    Config
	client *http.Client // probes
	// rt sends calls: an upstream's redirect is its answer, not followed,
	// as a reverse proxy does (http.Client would also copy every call's
	// headers for redirects it might follow).
	rt  http.RoundTripper
	eps []*endpoint
	rr  atomic.Uint64
}

// StatusError is an upstream's refusal.
type StatusError struct {
	Endpoint string
	Status   int
	Body     string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("upstream %s: status %d: %s", e.Endpoint, e.Status, strings.TrimSpace(e.Body))
}

// Unavailable reports an upstream that is busy or down (the gateway answers 503).
func (e *StatusError) Unavailable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable
}

// ErrNoEndpoint is returned when every endpoint of the group is ejected.
var ErrNoEndpoint = noEndpoint{}

type noEndpoint struct{}

func (noEndpoint) Error() string     { return "upstream: every endpoint of the group is ejected" }
func (noEndpoint) Unavailable() bool { return true }

// New returns a group. It checks the configuration; it does not contact the endpoints.
func New(cfg Config) (*Group, error) {
	if cfg.Kind == "" {
		cfg.Kind = KindOpenAI
	}
	if cfg.Kind != KindOpenAI && cfg.Kind != KindAzure {
		return nil, fmt.Errorf("upstream %s: kind %q must be %s or %s", cfg.Name, cfg.Kind, KindOpenAI, KindAzure)
	}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("upstream %s: no endpoints", cfg.Name)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ConnectTimeout, 5*time.Second)
	def(&cfg.FirstByteTimeout, 60*time.Second)
	def(&cfg.RequestTimeout, 10*time.Minute)
	def(&cfg.Cooldown, 30*time.Second)
	def(&cfg.HealthInterval, 10*time.Second)
	def(&cfg.HealthTimeout, cfg.FirstByteTimeout)
	if cfg.FailureThreshold == 0 {
		cfg.FailureThreshold = 3
	}
	if cfg.HealthPath == "" && cfg.Kind == KindOpenAI {
		cfg.HealthPath = "/models"
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = "2024-10-21"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rt := cfg.Transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			DialContext:     (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost: cfg.MaxConnections,
			// Keep a connection for every call that may be in flight: with
			// fewer, a busy pool closes connections and dials new ones,
			// costing both sides a TCP handshake per call.
			MaxIdleConns:          0,
			MaxIdleConnsPerHost:   idleConns(cfg.MaxConnections),
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			ResponseHeaderTimeout: cfg.FirstByteTimeout,
			ForceAttemptHTTP2:     true,
		}
	}
	if cfg.Wrap != nil {
		rt = cfg.Wrap(rt)
	}
	g := &Group{cfg: cfg, client: &http.Client{Transport: rt}, rt: rt}
	for _, e := range cfg.Endpoints {
		if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
			return nil, fmt.Errorf("upstream %s: endpoint URL %q must start with http:// or https://", cfg.Name, e.URL)
		}
		g.eps = append(g.eps, &endpoint{Endpoint: Endpoint{URL: strings.TrimRight(e.URL, "/"), APIKey: e.APIKey}})
	}
	return g, nil
}

// Name is the group's name.
func (g *Group) Name() string { return g.cfg.Name }

// For returns the backend serving model (a catalog name) through the group,
// counting output with tok when an upstream reports no usage.
func (g *Group) For(model string, tok Tokenizer) backend.Backend {
	name := model
	if m, ok := g.cfg.Models[model]; ok {
		name = m
	}
	return &modelBackend{g: g, model: name, tok: tok}
}

// Run probes every endpoint each HealthInterval until ctx ends.
func (g *Group) Run(ctx context.Context) {
	if g.cfg.HealthPath == "" && g.cfg.HealthModel == "" {
		return
	}
	t := time.NewTicker(g.cfg.HealthInterval)
	defer t.Stop()
	for {
		g.Probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeUserAgent is the User-Agent of health probes, so that an upstream's
// logs tell them from calls.
const ProbeUserAgent = "ptu-health-probe"

// Probe checks every endpoint once with GET HealthPath and, when HealthModel
// is set, a one-token generation: a failing endpoint is ejected, an ejected
// one that answers returns to service.
func (g *Group) Probe(ctx context.Context) {
	if g.cfg.HealthPath == "" && g.cfg.HealthModel == "" {
		return
	}
	var wg sync.WaitGroup
	for _, e := range g.eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.probe(ctx, e) {
				e.recover()
			} else if ctx.Err() == nil {
				e.eject(g.cfg.Now().Add(g.cfg.Cooldown))
			}
		}()
	}
	wg.Wait()
}

// probe reports whether e is healthy.
func (g *Group) probe(ctx context.Context, e *endpoint) bool {
	if g.cfg.HealthPath != "" {
		ctx, cancel := context.WithTimeout(ctx, g.cfg.HealthTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+g.cfg.HealthPath, nil)
		if err != nil {
			return false
		}
		req.Header.Set("User-Agent", ProbeUserAgent)
		g.auth(req, e)
		res, err := g.client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		res.Body.Close()
		if res.StatusCode >= 300 {
			return false
		}
	}
	if g.cfg.HealthModel == "" {
		return true
	}
	start := g.cfg.Now()
	if e.progressSince(start.Add(-g.cfg.HealthInterval)) && !e.ejected(start) {
		return true // calls on it are producing output: it generates
	}
	if g.generates(ctx, e) {
		return true
	}
	// An engine busy with calls that produce output may be too busy to
	// answer in time; only an endpoint that produced nothing is ejected.
	return e.progressSince(start) && !e.ejected(g.cfg.Now())
}

// generates asks e for one token of HealthModel within HealthTimeout.
func (g *Group) generates(ctx context.Context, e *endpoint) bool {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.HealthTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{
		"model":      g.cfg.HealthModel,
		"messages":   []map[string]string{{"role": "user", "content": "Say OK."}},
		"max_tokens": 1,
	})
	u := e.URL + "/chat/completions"
	if g.cfg.Kind == KindAzure {
		u = e.URL + "/openai/deployments/" + g.cfg.HealthModel + "/chat/completions?api-version=" + g.cfg.APIVersion
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ProbeUserAgent)
	g.auth(req, e)
	res, err := g.client.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var c completion
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&c) != nil {
		return false
	}
	return len(c.Choices) > 0
}

// Health is one endpoint's state, for operators and tests.
type Health struct {
	URL      string
	Ejected  bool
	Failures int // consecutive
}

// Health reports every endpoint's state.
func (g *Group) Health() []Health {
	now := g.cfg.Now()
	out := make([]Health, len(g.eps))
	for i, e := range g.eps {
		e.mu.Lock()
		out[i] = Health{URL: e.URL, Ejected: e.open && now.Before(e.until) || e.trial, Failures: e.failures}
		e.mu.Unlock()
	}
	return out
}

func (g *Group) auth(req *http.Request, e *endpoint) {
	if e.APIKey == "" {
		return
	}
	if g.cfg.Kind == KindAzure {
		req.Header.Set("api-key", e.APIKey)
	} else {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
}

// endpoint is an Endpoint with its circuit breaker: closed (in service),
// open (ejected until a time), half-open (one trial call in flight).
type endpoint struct {
	Endpoint
	mu       sync.Mutex
	failures int
	open     bool
	until    time.Time
	trial    bool // a half-open trial call is in flight
	// progress is when a call on the endpoint last produced output (Unix
	// nanoseconds of Config.Now), for the generation probe.
	progress atomic.Int64
}

// progressed records output produced at now.
func (e *endpoint) progressed(now time.Time) { e.progress.Store(now.UnixNano()) }

// progressSince reports whether a call produced output at or after t.
func (e *endpoint) progressSince(t time.Time) bool { return e.progress.Load() >= t.UnixNano() }

// ejected reports whether e is out of service at now.
func (e *endpoint) ejected(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.open && now.Before(e.until) || e.trial
}

// acquire reports whether a call may go to e now.
func (e *endpoint) acquire(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.open:
		return true
	case e.trial || now.Before(e.until):
		return false
	default:
		e.trial = true // half-open: one call tries the endpoint
		return true
	}
}

func (e *endpoint) succeed() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures, e.open, e.trial = 0, false, false
}

func (e *endpoint) fail(threshold int, until time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures++
	if e.trial || e.failures >= threshold {
		e.open, e.until, e.trial = true, until, false
	}
}

func (e *endpoint) eject(until time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.open, e.until, e.trial = true, until, false
}

func (e *endpoint) recover() {
	e.succeed()
}

// idleConns is how many idle connections an endpoint keeps: all of them
// when connections are limited, else as many as a busy pool uses at once.
func idleConns(maxConnections int) int {
	if maxConnections > 0 {
		return maxConnections
	}
	return 1024
}

// modelBackend is a Group serving one model.
type modelBackend struct {
	g     *Group
	model string
	tok   Tokenizer
}

var _ backend.Backend = (*modelBackend)(nil)

// Generate sends req to an endpoint, retrying a refusal before any output on
// the next endpoint, each at most once.
func (b *modelBackend) Generate(ctx context.Context, req backend.Request, emit func(backend.Event) error) (backend.Result, error) {
	body, chat, err := b.body(req)
	if err != nil {
		return backend.Result{}, err
	}
	g := b.g
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	defer cancel()
	start := int(g.rr.Add(1))
	var last error = ErrNoEndpoint
	for i := range g.eps {
		e := g.eps[(start+i)%len(g.eps)]
		if !e.acquire(g.cfg.Now()) {
			continue
		}
		res, emitted, err := b.try(ctx, e, chat, body, req, emit)
		switch {
		case err == nil:
			e.succeed()
			return res, nil
		case parent.Err() != nil || errors.Is(err, errClient):
			e.succeed() // the caller went away; says nothing of the endpoint
			return res, err
		}
		var se *StatusError
		if errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusTooManyRequests {
			e.succeed() // the upstream answered; the request was at fault
			return res, err
		}
		e.fail(g.cfg.FailureThreshold, g.cfg.Now().Add(g.cfg.Cooldown))
		if emitted {
			return res, err // output reached the client: no retry
		}
		last = err
	}
	return backend.Result{}, last
}

// errClient marks an error returned by emit (the client went away).
var errClient = errors.New("client went away")

// body rewrites the client's body for the upstream: the upstream's model
// name, one prompt of a legacy completion, max_tokens when the gateway set
// it, and a stream with usage when the client streams. A call the client
// does not stream is not streamed from the upstream either: one JSON answer
// costs the upstream, and ptu, a third of a stream of chunks.
func (b *modelBackend) body(req backend.Request) ([]byte, bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil {
		return nil, false, fmt.Errorf("upstream: request body: %w", err)
	}
	_, chat := m["messages"]
	// changed records whether the body must be encoded anew; an unchanged
	// one is forwarded as it came, saving an encoding per call.
	changed := false
	if b.g.cfg.Kind == KindAzure {
		_, changed = m["model"]
		delete(m, "model")
	} else {
		model, _ := json.Marshal(b.model)
		if !bytes.Equal(bytes.TrimSpace(m["model"]), model) {
			changed = true
			m["model"] = model
		}
	}
	if !chat {
		var prompts []json.RawMessage
		if p := m["prompt"]; len(p) > 0 && p[0] == '[' && json.Unmarshal(p, &prompts) == nil && len(prompts) > 0 {
			// An array of strings, or of token arrays: one prompt per call.
			if p0 := bytes.TrimSpace(prompts[0]); len(p0) > 0 && (p0[0] == '"' || p0[0] == '[') {
				if req.PromptIndex < len(prompts) {
					m["prompt"] = prompts[req.PromptIndex]
					changed = true
				}
			}
		}
	}
	_, hasMax := m["max_tokens"]
	_, hasMaxC := m["max_completion_tokens"]
	if req.MaxTokens > 0 && !hasMax && !hasMaxC {
		m["max_tokens"], _ = json.Marshal(req.MaxTokens)
		changed = true
	}
	_, hasStream := m["stream"]
	_, hasOptions := m["stream_options"]
	if req.Stream {
		m["stream"] = json.RawMessage("true")
		m["stream_options"] = json.RawMessage(`{"include_usage":true}`)
		changed = true
	} else if hasStream || hasOptions {
		delete(m, "stream")
		delete(m, "stream_options")
		changed = true
	}
	if !changed {
		return req.Body, chat, nil
	}
	out, err := json.Marshal(m)
	return out, chat, err
}

func (b *modelBackend) url(e *endpoint, chat bool) string {
	op := "/completions"
	if chat {
		op = "/chat/completions"
	}
	if b.g.cfg.Kind == KindAzure {
		return e.URL + "/openai/deployments/" + b.model + op + "?api-version=" + b.g.cfg.APIVersion
	}
	return e.URL + op
}

// usage is an upstream's count of a call, in a streamed chunk or a whole answer.
type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// empty reports a usage that counts nothing: Ollama (0.17.4) puts
// "usage":{} on every chunk of a streamed legacy completion, before the real
// count in its last chunk. A call always has prompt tokens, so such a usage
// is no count, and the tokenizer still counts a stream cut before the last chunk.
func (u *usage) empty() bool {
	return u.PromptTokens == 0 && u.CompletionTokens == 0
}

// apply sets res's counts to the upstream's.
func (u *usage) apply(res *backend.Result) {
	res.PromptTokens, res.CompletionTokens = u.PromptTokens, u.CompletionTokens
	if u.PromptTokensDetails != nil {
		res.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
}

// keepText appends a choice's text to texts, for the tokenizer to count if
// the upstream gives no usage.
func (b *modelBackend) keepText(texts [][]byte, index int, text string) [][]byte {
	if text == "" || b.tok == nil || index < 0 || index >= maxChoices {
		return texts
	}
	if index >= len(texts) {
		texts = append(texts, make([][]byte, index+1-len(texts))...)
	}
	texts[index] = append(texts[index], text...)
	return texts
}

// chunk is what is read of a streamed chunk, chat or legacy completion.
type chunk struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// try runs the call on one endpoint; emitted reports whether any output
// reached the client.
func (b *modelBackend) try(ctx context.Context, e *endpoint, chat bool, body []byte, req backend.Request, emit func(backend.Event) error) (res backend.Result, emitted bool, err error) {
	hres, err := b.send(ctx, e, chat, body)
	if err != nil {
		return res, false, err
	}
	defer hres.Body.Close()
	res.PromptTokens = req.PromptTokens
	if !req.Stream && !strings.HasPrefix(hres.Header.Get("Content-Type"), "text/event-stream") {
		return b.answer(hres.Body, e, res, emit)
	}
	s := streamRead{b: b, e: e, res: res, emit: emit}
	err = s.read(hres.Body)
	return b.fallback(s.res, s.texts, s.counted), s.emitted, err
}

// send posts body to the endpoint; an answer other than 200 is a
// *StatusError carrying the start of its body.
func (b *modelBackend) send(ctx context.Context, e *endpoint, chat bool, body []byte) (*http.Response, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url(e, chat), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	b.g.auth(hreq, e)
	hres, err := b.g.rt.RoundTrip(hreq)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", e.URL, &url.Error{Op: "Post", URL: hreq.URL.String(), Err: err})
	}
	if hres.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(hres.Body, 4096))
		hres.Body.Close()
		return nil, &StatusError{Endpoint: e.URL, Status: hres.StatusCode, Body: string(msg)}
	}
	return hres, nil
}

// streamRead reads one upstream event stream. Usage comes from the
// upstream's last chunk. Until it does, the text of each choice is kept, to
// be counted with the tokenizer only if the stream ends without usage
// (tokenizing every chunk would cost more than the rest of the call).
type streamRead struct {
	b       *modelBackend
	e       *endpoint
	emit    func(backend.Event) error
	res     backend.Result
	texts   [][]byte
	counted bool // the upstream sent usage
	emitted bool
	c       chunk // one chunk value for the whole stream: decoding reuses its choices
}

// read consumes the stream up to [DONE] or its end.
func (s *streamRead) read(body io.Reader) error {
	sc := bufio.NewScanner(body)
	// A stream's lines are a few hundred bytes: the buffer starts at 1 KB
	// (it is held for as long as the stream is open) and grows for longer ones.
	sc.Buffer(make([]byte, 0, 1<<10), 16<<20)
	for sc.Scan() {
		line, ok := bytes.CutPrefix(sc.Bytes(), dataPrefix)
		if !ok {
			continue
		}
		line = bytes.TrimSpace(line)
		if bytes.Equal(line, doneMarker) {
			return nil
		}
		if err := s.chunk(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("upstream %s: %w", s.e.URL, err)
	}
	return nil
}

// chunk decodes one data line and emits its choices.
func (s *streamRead) chunk(line []byte) error {
	c := &s.c
	// Choices are cleared first, since decoding leaves fields a chunk does
	// not name as they were.
	c.Choices = c.Choices[:cap(c.Choices)]
	clear(c.Choices)
	c.Choices, c.Usage, c.Error = c.Choices[:0], nil, nil
	if err := json.Unmarshal(line, c); err != nil {
		return fmt.Errorf("upstream %s: bad stream chunk: %w", s.e.URL, err)
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		return fmt.Errorf("upstream %s: stream failed: %s", s.e.URL, c.Error)
	}
	if c.Usage != nil && !c.Usage.empty() {
		s.counted = true
		c.Usage.apply(&s.res)
	}
	for _, ch := range c.Choices {
		text := ""
		if ch.Delta.Content != nil {
			text = *ch.Delta.Content
		} else if ch.Text != nil {
			text = *ch.Text
		}
		ev := backend.Event{Index: ch.Index, Text: text}
		if ch.FinishReason != nil {
			ev.FinishReason = *ch.FinishReason
		}
		if text == "" && ev.FinishReason == "" {
			continue
		}
		if err := s.deliver(ev); err != nil {
			return err
		}
	}
	return nil
}

// deliver keeps the text for counting, times it, and emits it.
func (s *streamRead) deliver(ev backend.Event) error {
	if !s.counted {
		s.texts = s.b.keepText(s.texts, ev.Index, ev.Text)
	}
	if ev.Text != "" {
		now := s.b.g.cfg.Now()
		if s.res.FirstToken.IsZero() {
			s.res.FirstToken = now
		}
		s.res.LastToken = now
		s.e.progressed(now)
	}
	s.emitted = true
	if err := s.emit(ev); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	return nil
}

// completion is what is read of a whole (not streamed) chat or legacy
// completion.
type completion struct {
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// maxAnswer bounds a whole answer read from an upstream.
const maxAnswer = 64 << 20

// answer reads a whole completion and emits each choice as one event. Its
// usage is the upstream's, else the tokenizer's count of the text.
func (b *modelBackend) answer(body io.Reader, e *endpoint, res backend.Result, emit func(backend.Event) error) (backend.Result, bool, error) {
	var c completion
	if err := json.NewDecoder(io.LimitReader(body, maxAnswer)).Decode(&c); err != nil {
		return res, false, fmt.Errorf("upstream %s: bad answer: %w", e.URL, err)
	}
	now := b.g.cfg.Now()
	e.progressed(now)
	if c.Usage != nil && c.Usage.empty() {
		c.Usage = nil
	}
	var texts [][]byte
	if c.Usage != nil {
		c.Usage.apply(&res)
	}
	emitted := false
	for _, ch := range c.Choices {
		ev := backend.Event{Index: ch.Index, FinishReason: backend.FinishStop}
		switch {
		case ch.Message.Content != nil:
			ev.Text = *ch.Message.Content
		case ch.Text != nil:
			ev.Text = *ch.Text
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			ev.FinishReason = *ch.FinishReason
		}
		if ev.Text != "" {
			if res.FirstToken.IsZero() {
				res.FirstToken = now
			}
			res.LastToken = now
			if c.Usage == nil {
				texts = b.keepText(texts, ch.Index, ev.Text)
			}
		}
		emitted = true
		if err := emit(ev); err != nil {
			return b.fallback(res, texts, c.Usage != nil), emitted, fmt.Errorf("%w: %w", errClient, err)
		}
	}
	return b.fallback(res, texts, c.Usage != nil), emitted, nil
}

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
)

// maxChoices bounds the choice index whose text is kept for counting.
const maxChoices = 128

// fallback fills usage from the tokenizer's count of each choice's text when
// the upstream sent none.
func (b *modelBackend) fallback(res backend.Result, texts [][]byte, counted bool) backend.Result {
	if !counted {
		res.Tokenized = true
		res.CompletionTokens = 0
		for _, t := range texts {
			if len(t) > 0 {
				res.CompletionTokens += len(b.tok.Encode(string(t)))
			}
		}
	}
	return res
}
