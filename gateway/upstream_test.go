package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/server"
)

// upstreamConfig puts eastus's gpt-4o pool behind an upstream group whose
// one endpoint is a `ptu sim` server.
const upstreamConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota: {GlobalProvisionedManaged: 500}
subscriptions:
  - {id: 6b1f0c2e-8d4a-4e7b-9c3f-2a5d7e9b1c41, displayName: upstream}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 100, backend: vllm}
backends:
  - name: vllm
    endpoints: [{url: "%s/v1", apiKey: upstream-key}]
    models: {gpt-4o: served-gpt-4o}
`

// TestUpstreamPoolWithSpillover serves a provisioned deployment from an
// OpenAI-compatible upstream (the simulated engine behind its own HTTP
// server, as `ptu sim` runs it) with a Standard spillover target: under a
// burst the caller never sees a 429, and each answer says which lane served it.
func TestUpstreamPoolWithSpillover(t *testing.T) {
	tok, err := sim.Tiktoken("o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.Config{RatedTPM: 1_000_000, TimeScale: fastSim, Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	inner := sim.NewServer(map[string]*sim.Engine{"served-gpt-4o": eng})
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if r.Header.Get("Authorization") != "Bearer upstream-key" {
				http.Error(w, "no key", http.StatusUnauthorized)
				return
			}
			calls.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	defer up.Close()

	clk := newClock()
	e := newEnv(t, server.Options{ConfigPath: writeConfig(t, fmt.Sprintf(upstreamConfig, up.URL)), Now: clk.Now})
	e.deploy("std", ptu.GlobalStandard, 1000)
	d := e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	e.setSpillover("ptu", "std")
	key := e.key()

	// A plain call goes upstream; usage is the upstream's.
	r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":20}`), "api-key", key)
	if r.status != 200 || calls.Load() != 1 {
		t.Fatalf("status %d, upstream calls %d; want 200 served upstream: %s", r.status, calls.Load(), r.body)
	}
	usage := decode(t, r.body)["usage"].(map[string]any)
	if ct := usage["completion_tokens"].(float64); ct < 1 || ct > 20 {
		t.Errorf("completion_tokens %v, want 1..20", ct)
	}

	// The bucket one token short of full, a burst: one call is admitted,
	// the rest spill to the Standard deployment.
	b := e.bucket(d)
	if _, err := e.s.Limiter.Admit(context.Background(), b.key, b.capacity, b.capacity-1-utilization(t, e.s.Limiter, b)*b.capacity/100); err != nil {
		t.Fatal(err)
	}
	const n = 10
	res := make([]call, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = do(t, "POST", chatURL(e.endpoint, "ptu"),
				strings.NewReader(`{"messages":[{"role":"user","content":"a story"}],"max_tokens":50,"stream":true}`), "api-key", key)
		}()
	}
	wg.Wait()
	spilled := 0
	for i, r := range res {
		if r.status != 200 || !strings.Contains(string(r.body), "[DONE]") {
			t.Fatalf("call %d: status %d: %s", i, r.status, r.body)
		}
		if r.header.Get("x-ms-spillover-from-deployment") == "ptu" && r.header.Get("x-ms-deployment-name") == "std" {
			spilled++
		}
	}
	if spilled != n-1 || calls.Load() != 2 {
		t.Errorf("%d of %d spilled, upstream served %d in all; want %d spilled and 2 upstream", spilled, n, calls.Load(), n-1)
	}
}
