package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/server"
)

func (e *env) setSpillover(name, target string) {
	e.t.Helper()
	if _, _, err := e.s.Control.PutDeployment(context.Background(), e.sub, testRG, e.acct.Name, name,
		control.DeploymentInput{SpilloverDeploymentName: &target}); err != nil {
		e.t.Fatal(err)
	}
}

// fill admits an estimate straight into a bucket, as calls in flight would,
// and returns the decision, whose reservation ends them.
func fill(t testing.TB, g *gw, b bucket, tokens float64) leaky.Decision {
	t.Helper()
	d, err := g.lim.Admit(context.Background(), b.key, b.capacity, tokens)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSpilloverUnderBurst sends a concurrent burst to a provisioned
// deployment one token short of full: every call succeeds, exactly one is
// served by the provisioned deployment (its estimate fills the bucket), the
// others say in their headers and records that they spilled, and the
// provisioned bucket is charged only for the call it served. The limiter's
// clock stands still, so the bucket never drains during the burst.
func TestSpilloverUnderBurst(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("std", ptu.GlobalStandard, 1000)
	d := e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	e.setSpillover("ptu", "std")
	b := e.bucket(d)
	g := e.gateway(newSimBackends(e.s.Catalog, sim.Config{TimeScale: fastSim}), newClock().Now)
	fill(t, g, b, b.capacity-1)
	key := e.key()
	body := `{"messages":[{"role":"user","content":"tell me a story"}],"max_tokens":200,"seed":1,"stream":true}`

	const n = 20
	calls := make([]call, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			calls[i] = do(t, "POST", chatURL(g.endpoint, "ptu"), strings.NewReader(body), "api-key", key)
		}()
	}
	wg.Wait()
	spilled := 0
	for i, r := range calls {
		if r.status != 200 || !strings.Contains(string(r.body), "[DONE]") {
			t.Fatalf("call %d: status %d, want a complete 200 stream: %s", i, r.status, r.body)
		}
		// x-ms-is-spilled-over: true on the spillover deployment's answer,
		// false on the provisioned deployment's own (see HeaderIsSpilledOver
		// for the sources: LiteLLM's PTU cost attribution reads it; Microsoft's
		// spillover-traffic-management page says when a call spills).
		switch from, served, is := r.header.Get("x-ms-spillover-from-deployment"), r.header.Get("x-ms-deployment-name"), r.header.Values("x-ms-is-spilled-over"); {
		case from == "ptu" && served == "std" && slices.Equal(is, []string{"true"}):
			spilled++
		case from == "" && served == "ptu" && slices.Equal(is, []string{"false"}):
		default:
			t.Errorf("call %d: spillover-from %q, deployment-name %q, is-spilled-over %q", i, from, served, is)
		}
	}
	if spilled != n-1 {
		t.Fatalf("%d of %d calls spilled, want %d", spilled, n, n-1)
	}
	// The provisioned deployment records a 429 for each spilled call; the
	// Standard deployment records them served, as spillover.
	count := map[string]int{}
	var served ptu.CallRecord
	for range n + spilled {
		rec := g.rec.next(t)
		count[fmt.Sprintf("%s %d %v", rec.Deployment.Name, rec.Status, rec.IsSpillover)]++
		if rec.Deployment.Name == "ptu" && rec.Status == 200 {
			served = rec
		}
	}
	want := map[string]int{"ptu 200 false": 1, "ptu 429 false": n - 1, "std 200 true": n - 1}
	if !maps.Equal(count, want) {
		t.Errorf("records %v, want %v", count, want)
	}
	if got, want := utilization(t, g.lim, b), (b.capacity-1+served.Actual)/b.capacity*100; math.Abs(got-want) > 1e-9 {
		t.Errorf("provisioned utilization %.4f%%, want %.4f%%: only the call it served is charged", got, want)
	}
}

// TestSpilloverHeaderAndFailure covers the per-request header, the property
// winning over it, and a spillover target that fails too.
func TestSpilloverHeaderAndFailure(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("std-big", ptu.GlobalStandard, 1000)
	tiny := e.deploy("std-tiny", ptu.GlobalStandard, 1)
	dp := e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	clk := newClock()
	g := e.gateway(newSimBackends(e.s.Catalog, sim.Config{TimeScale: fastSim}), clk.Now)
	fill(t, g, e.bucket(dp), e.bucket(dp).capacity)
	key := e.key()
	body := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`
	post := func(h ...string) call {
		return do(t, "POST", chatURL(g.endpoint, "ptu"), strings.NewReader(body), append([]string{"api-key", key}, h...)...)
	}
	if r := post(); r.status != 429 || r.header.Get("x-ms-spillover-from-deployment") != "" || r.header.Get("x-ms-is-spilled-over") != "false" {
		t.Fatalf("without a target: status %d, spillover-from %q, is-spilled-over %q; want a plain 429, not spilled",
			r.status, r.header.Get("x-ms-spillover-from-deployment"), r.header.Get("x-ms-is-spilled-over"))
	}
	if r := post("x-ms-spillover-deployment", "ptu"); r.status != 429 {
		t.Errorf("a provisioned deployment as the header's target: status %d, want 429 (ignored)", r.status)
	}
	if r := post("x-ms-spillover-deployment", "std-big"); r.status != 200 || r.header.Get("x-ms-deployment-name") != "std-big" || r.header.Get("x-ms-is-spilled-over") != "true" {
		t.Errorf("header target: status %d, served by %q, is-spilled-over %q; want 200 by std-big, spilled",
			r.status, r.header.Get("x-ms-deployment-name"), r.header.Get("x-ms-is-spilled-over"))
	}
	// A full std-tiny (1,000 tokens a minute) refuses the spilled call.
	fill(t, g, bucket{key: strings.ToLower(tiny.ID()), capacity: 1000}, 1000)
	r := post("x-ms-spillover-deployment", "std-tiny")
	if r.status != 429 || r.header.Get("x-ms-spillover-error") != "429" || r.header.Get("x-ms-deployment-name") != "ptu" || r.header.Get("x-ms-is-spilled-over") != "false" {
		t.Errorf("failed spillover: status %d, spillover-error %q, deployment-name %q; want the provisioned 429 with spillover-error 429",
			r.status, r.header.Get("x-ms-spillover-error"), r.header.Get("x-ms-deployment-name"))
	}
	if code := azureErr(t, r.body); code != "429" {
		t.Errorf("failed spillover body code %q, want the provisioned deployment's 429", code)
	}
	// The property wins over the header.
	e.setSpillover("ptu", "std-big")
	if r := post("x-ms-spillover-deployment", "std-tiny"); r.status != 200 || r.header.Get("x-ms-deployment-name") != "std-big" {
		t.Errorf("property and header: status %d, served by %q; want 200 by std-big", r.status, r.header.Get("x-ms-deployment-name"))
	}
}

// splitBackends fails every pool and serves Standard deployments with sb.
type splitBackends struct {
	pool backend.Backend
	sb   *simBackends
}

func (s splitBackends) Pool(ptu.Pool) (backend.Backend, error) { return s.pool, nil }
func (s splitBackends) Standard(region string, m *catalog.Model) (backend.Backend, error) {
	return s.sb.Standard(region, m)
}

// TestSpilloverOnServerError spills a call whose provisioned backend fails
// before answering, and keeps a stream that failed mid-way where it was.
func TestSpilloverOnServerError(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("std", ptu.GlobalStandard, 1000)
	e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	e.setSpillover("ptu", "std")
	key := e.key()
	for _, tc := range []struct {
		name  string
		be    failingBackend
		body  string
		spill bool
	}{
		{"500 before output", failingBackend{err: errors.New("connection refused")}, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`, true},
		{"503 before output", failingBackend{err: unavailable{}}, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":50,"stream":true}`, true},
		{"stream broken mid-way", failingBackend{tokens: 2, err: errors.New("replica lost")}, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":50,"stream":true}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := e.gateway(splitBackends{pool: tc.be, sb: newSimBackends(e.s.Catalog, sim.Config{TimeScale: fastSim})}, newClock().Now)
			r := do(t, "POST", chatURL(g.endpoint, "ptu"), strings.NewReader(tc.body), "api-key", key)
			if r.status != 200 {
				t.Fatalf("status %d, want 200: %s", r.status, r.body)
			}
			if got := r.header.Get("x-ms-spillover-from-deployment") == "ptu"; got != tc.spill {
				t.Errorf("spilled %v, want %v", got, tc.spill)
			}
		})
	}
}
