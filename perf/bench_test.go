package perf

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/server"
)

// instantUpstream serves gpt-4o-mini with the instant simulated engine.
func instantUpstream(tb testing.TB) *httptest.Server {
	tb.Helper()
	m, ok := catalog.Default().Lookup(benchModel, benchVersion)
	if !ok {
		tb.Fatal("gpt-4o-mini is not in the catalog")
	}
	eng, err := server.SimEngine(m, benchPoolPTU, 1)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := eng.Config()
	cfg.Instant = true
	if eng, err = sim.New(cfg); err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(sim.NewServer(map[string]*sim.Engine{benchModel: eng}))
	tb.Cleanup(ts.Close)
	return ts
}

var benchBody = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarize the plot of a short story about a lighthouse keeper in two sentences."}],"max_tokens":32,"seed":1}`)

func post(tb testing.TB, c *http.Client, url, key string) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(benchBody))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("api-key", key)
	}
	res, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		tb.Fatalf("status %d", res.StatusCode)
	}
}

// ptuInProcess starts ptu (memory limiter) in front of upstream and returns
// its chat URL and key.
func ptuInProcess(tb testing.TB, upstream string) (*Server, string, string) {
	tb.Helper()
	ctx := context.Background()
	u, _ := url.Parse(upstream)
	s, err := StartServer(ctx, tb.TempDir(), UpstreamConfig(u.Host), "", io.Discard, server.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop() })
	chat, key, err := s.Deploy(ctx, "benchacct", "bench", benchPTU)
	if err != nil {
		tb.Fatal(err)
	}
	return s, chat, key
}

func benchCalls(b *testing.B, url, key string) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post(b, c, url, key)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, c, url, key)
		}
	})
}

// BenchmarkCall measures one non-streaming call, and its allocations, all
// in this process (client, target and the instant upstream): directly to
// the upstream, through the bare proxy, and through ptu (memory limiter,
// upstream pool). ptu's own share is the difference; its upstream answers a
// stream (ptu always asks for one), which costs the upstream more.
//
//	go test -run '^$' -bench Call -benchmem ./perf/
func BenchmarkCall(b *testing.B) {
	up := instantUpstream(b)
	b.Run("target=upstream", func(b *testing.B) { benchCalls(b, up.URL+"/v1/chat/completions", "") })
	b.Run("target=bare-proxy", func(b *testing.B) {
		u, _ := url.Parse(up.URL)
		px := httptest.NewServer(NewBareProxy(u))
		defer px.Close()
		benchCalls(b, px.URL+"/v1/chat/completions", "")
	})
	b.Run("target=ptu-memory", func(b *testing.B) {
		_, chat, key := ptuInProcess(b, up.URL)
		benchCalls(b, chat, key)
	})
	// The upstream answering a stream, as it does for ptu, without ptu.
	b.Run("target=upstream-stream", func(b *testing.B) {
		orig := benchBody
		benchBody = []byte(strings.Replace(string(orig), `"seed":1}`, `"seed":1,"stream":true,"stream_options":{"include_usage":true}}`, 1))
		defer func() { benchBody = orig }()
		benchCalls(b, up.URL+"/v1/chat/completions", "")
	})
}
