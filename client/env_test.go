package client_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/oai"
	"github.com/ptu-dev/ptu/server"
)

// fastSim runs the simulated engine a thousand times faster than real time.
const fastSim = 1000

// newFakeClock is the time of both the server's limiter and the client's
// retries: Sleep advances it at once, so a test sees exactly the waits the
// client chose and the server sees exactly that much time pass.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) }

// env is a running ptu server and a control-plane client for it.
type env struct {
	t     *testing.T
	s     *server.Server
	clock *clock.Fake // nil when the server runs on the real clock
	c     *client.Client
	rec   *recorder
}

// newEnv starts a server; with fake set, the server's clock is a fakeClock
// the client's retries share.
func newEnv(t *testing.T, fake bool) *env { return newEnvWith(t, fake, server.Options{}) }

// newEnvWith is newEnv with server settings (RetryAfter, ...) set in opt.
func newEnvWith(t *testing.T, fake bool, opt server.Options) *env {
	t.Helper()
	opt.SimTimeScale = fastSim
	opt.Logger = slog.New(slog.NewTextHandler(testserver.NewLog(t, "server log"), nil))
	e := &env{t: t, rec: &recorder{next: http.DefaultTransport}}
	opts := []client.Option{client.WithHTTPClient(&http.Client{Transport: e.rec})}
	if fake {
		e.clock = newFakeClock()
		opt.Now = e.clock.Now
		opts = append(opts, client.WithClock(e.clock))
	}
	ts := testserver.Start(t, opt, opts...)
	e.s, e.c = ts.Server, ts.Client
	return e
}

// account creates an account and returns a client bound to its endpoint and key.
func (e *env) account(rg, name, location string) (*client.Account, *client.Client) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.c.CreateAccount(ctx, rg, name, client.AccountCreate{Location: location})
	if err != nil {
		e.t.Fatal(err)
	}
	e.createdPolled()
	ac, err := e.c.ForAccount(ctx, rg, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return a, ac
}

// deploy creates a 15-PTU GlobalProvisionedManaged gpt-4o deployment.
func (e *env) deploy(rg, account, name string) *client.Deployment {
	e.t.Helper()
	d, err := e.c.CreateDeployment(context.Background(), rg, account, name, client.DeploymentCreate{
		Model:   client.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"},
		SKUName: "GlobalProvisionedManaged", Capacity: 15,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.createdPolled()
	return d
}

// createdPolled checks that a creation was a long-running operation the
// client waited out on the fake clock (the server's default provisioning
// delay), and forgets those waits.
func (e *env) createdPolled() {
	e.t.Helper()
	if e.clock == nil {
		return
	}
	if len(e.clock.Slept()) == 0 {
		e.t.Error("the creation answered at once; want a long-running operation the client polls")
	}
	e.clock.ForgetSlept()
}

// bucket is a deployment's leaky bucket as the gateway keys and sizes it.
func (e *env) bucket(d *client.Deployment) (key string, capacity float64) {
	e.t.Helper()
	m, ok := e.s.Catalog.Lookup(d.Properties.Model.Name, d.Properties.Model.Version)
	if !ok {
		e.t.Fatalf("model %+v not in the catalog", d.Properties.Model)
	}
	return strings.ToLower(d.ID), float64(d.Capacity() * m.InputTPMPerPTU)
}

// fill raises the deployment's bucket so that it drains below 100 % after
// about retry (exactly what the server computes is in its retry-after-ms).
// The bucket must be open (below 100 %).
func (e *env) fill(t *testing.T, d *client.Deployment, retry time.Duration) {
	t.Helper()
	ctx := context.Background()
	key, c := e.bucket(d)
	u, err := e.s.Limiter.Utilization(ctx, key, c)
	if err != nil {
		t.Fatal(err)
	}
	target := c * (1 + retry.Minutes())
	dec, err := e.s.Limiter.Admit(ctx, key, c, target-u/100*c)
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Allowed {
		t.Fatalf("fill %s: the bucket is already full (%.1f%%)", d.Name, dec.Utilization)
	}
}

// advance moves the fake clock on, draining every bucket by that much.
func (e *env) advance(d time.Duration) {
	e.clock.Advance(d)
}

// recorded is one HTTP exchange the client made.
type recorded struct {
	at           time.Time // wall clock, when the request left
	method, path string
	status       int
	retryAfterMS string
}

// recorder is a RoundTripper that notes every exchange.
type recorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []recorded
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	at := time.Now()
	resp, err := r.next.RoundTrip(req)
	rc := recorded{at: at, method: req.Method, path: req.URL.Path}
	if err == nil {
		rc.status, rc.retryAfterMS = resp.StatusCode, resp.Header.Get("retry-after-ms")
	}
	r.mu.Lock()
	r.calls = append(r.calls, rc)
	r.mu.Unlock()
	return resp, err
}

// inference returns the exchanges with the data plane since mark.
func (r *recorder) inference(mark int) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, c := range r.calls[mark:] {
		if strings.Contains(c.path, "/openai/") {
			out = append(out, c)
		}
	}
	return out
}

func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// headerWait is a recorded retry-after-ms as a duration.
func headerWait(t *testing.T, rc recorded) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(rc.retryAfterMS + "ms")
	if err != nil || rc.retryAfterMS == "" {
		t.Fatalf("response %d to %s has retry-after-ms %q", rc.status, rc.path, rc.retryAfterMS)
	}
	return d
}

// within10 reports whether got is within 10 % of want.
func within10(got, want time.Duration) bool {
	diff := got - want
	if diff < 0 {
		diff = -diff
	}
	return diff*10 <= want
}

func chatReq(text string) client.ChatRequest {
	max := 16
	return client.ChatRequest{Messages: []client.Message{{Role: "user", Content: oai.Content(text)}}, MaxTokens: &max}
}

// faultProxy sits in front of the server and answers the first n requests
// with status (and headers) itself; the rest it forwards.
type faultProxy struct {
	srv    *httptest.Server
	n      int32
	status int
	header http.Header
	seen   atomic.Int32
}

func newFaultProxy(t *testing.T, upstream string, n, status int, header http.Header) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{n: int32(n), status: status, header: header}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.seen.Add(1) <= p.n {
			for k, v := range p.header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(p.status)
			_, _ = w.Write([]byte(`{"error":{"code":"BadGateway","message":"injected by the test proxy"}}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// closedURL is an http URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/accounts/nobody/"
}

// attemptLog collects attempts through WithObserver.
type attemptLog struct {
	mu sync.Mutex
	a  []client.Attempt
}

func (l *attemptLog) observe(a client.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a = append(l.a, a)
}

func (l *attemptLog) all() []client.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]client.Attempt(nil), l.a...)
}
