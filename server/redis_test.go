package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testenv"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// redisURL is the test Redis (internal/testenv).
func redisURL(t *testing.T) string { return testenv.Redis(t) }

// Two replicas with their own databases but the same deployment share one
// bucket through Redis: what one admits, the other sees.
func TestReplicasShareOneBucketThroughRedis(t *testing.T) {
	url := redisURL(t)
	var b [4]byte
	rand.Read(b[:])
	acct := "shared-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	var urls, keys, scrapes []string
	for range 2 {
		s := testserver.Start(t, server.Options{Redis: url}).Server
		sub := s.Config.Subscriptions[0].ID
		a, _, err := s.Control.PutAccount(ctx, sub, "rg", acct, control.AccountInput{Location: "eastus"})
		if err != nil {
			t.Fatal(err)
		}
		capacity := 15
		if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", acct, "gpt-4o", control.DeploymentInput{
			Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, s.Control.Endpoint(a)+"openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")
		keys = append(keys, a.Key1)
		scrapes = append(scrapes, s.URL+"/metrics")
	}
	call := func(i, maxTokens int) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", urls[i], strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":`+strconv.Itoa(maxTokens)+`}`))
		req.Header.Set("api-key", keys[i])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	// Replica 0 admits a call whose estimate (≈ 4 × 16,000 tokens) is far over one minute of 15 PTUs
	// (37,500 tokens); its answer is cut short, but the bucket holds the reservation while it runs.
	req, _ := http.NewRequest("POST", urls[0], strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":16000,"stream":true}`))
	req.Header.Set("api-key", keys[0])
	first, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	if first.StatusCode != 200 {
		t.Fatalf("first call: %d", first.StatusCode)
	}
	// Replica 1 sees the same bucket: full.
	second := call(1, 10)
	if second.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second replica answered %d, want 429 from the shared bucket (utilization %s)",
			second.StatusCode, second.Header.Get("azure-openai-deployment-utilization"))
	}
	if second.Header.Get("retry-after-ms") == "" {
		t.Fatal("429 without retry-after-ms")
	}
	// Each replica's /metrics tells what its limiter did: replica 1 decided
	// one call, in Redis, which answers.
	resp, err := http.Get(scrapes[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ptu_redis_limiter_admits_total{decided_by="redis"} 1`, `ptu_redis_limiter_admits_total{decided_by="local"} 0`,
		"ptu_redis_limiter_up 1", "ptu_redis_limiter_dropped_settles_total 0"} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("replica 1's /metrics lacks %q", want)
		}
	}
}
