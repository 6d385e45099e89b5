package bench_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/bench"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/server"
)

// TestSweep finds the deployment's rate from below: 50 calls a minute
// passes, 100 (107 % of capacity) fails, and bisection settles between the
// last passing rate and capacity.
func TestSweep(t *testing.T) {
	e := newEnv(t, speed)
	e.deploy("gpt-4o", deploymentPTU)
	var out syncBuffer
	base := e.load(50, 40*time.Second, bench.RetryNone)
	base.Output = &out
	// 20 s is enough for the bucket to drain: no step overfills it.
	res, err := bench.Sweep(context.Background(), bench.SweepConfig{Base: base, Refine: 2, Cooldown: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best == nil {
		t.Fatalf("no rate passed:\n%s", out.String())
	}
	if res.Best.Rate < 70 || res.Best.Rate >= callsAtFull {
		t.Errorf("best rate %v calls/min, want between 70 and the capacity %.2f:\n%s", res.Best.Rate, callsAtFull, out.String())
	}
	for _, s := range res.Steps {
		over := s.Rate > callsAtFull*1.02
		if over == s.Pass {
			t.Errorf("rate %v (capacity %.2f): pass %v (%s)", s.Rate, callsAtFull, s.Pass, s.Reason)
		}
	}
	t.Log("\n" + out.String())
	if n := len(strings.Split(strings.TrimSpace(out.String()), "\n")); n != len(res.Steps) {
		t.Errorf("%d lines for %d steps:\n%s", n, len(res.Steps), out.String())
	}
}

// TestCalibrate rates a simulated gpt-4o engine served as an
// OpenAI-compatible server. A pool rated 20 PTU saturates at
// server.SimHeadroom × 20 = 25 PTU of throughput; its streams keep 1.5 ×
// the 25 tokens/s target until then and slow down together past it, so the
// most throughput that meets the target is close to the saturation point.
func TestCalibrate(t *testing.T) {
	m, _ := catalog.Default().Lookup("gpt-4o", "2024-11-20")
	// The engine emits tokens every 10 ms of real time; at 20 times real
	// time that is 0.2 s of the run's time, small next to a 2.7 s call.
	const calSpeed = min(speed, 20)
	eng, err := server.SimEngine(m, 20, calSpeed)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.NewServer(map[string]*sim.Engine{"gpt-4o": eng}))
	t.Cleanup(srv.Close)
	var out syncBuffer
	res, err := bench.Calibrate(context.Background(), bench.CalibrateConfig{
		Base: bench.Config{Endpoint: srv.URL + "/v1", Deployment: "gpt-4o", APIStyle: bench.StyleOpenAI,
			Duration: 30 * time.Second, Shape: bench.Shape{ContextTokens: 100, MaxTokens: 100},
			Model: "gpt-4o@2024-11-20", Clock: clock.NewScaled(calSpeed), Output: &out, Seed: 3},
		StartClients: 4, Refine: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.TargetTPS != 25 || res.InputTPMPerPTU != 2500 || res.Percentile != 99 {
		t.Errorf("target %v tokens/s for %v%%, %v TPM per PTU: want the catalog's", res.TargetTPS, res.Percentile, res.InputTPMPerPTU)
	}
	ceiling := int(server.SimHeadroom * 20)
	if res.PTU < ceiling*85/100 || res.PTU > ceiling {
		t.Errorf("rated %d PTU, want close to the engine's saturation, %d:\n%s", res.PTU, ceiling, out.String())
	}
	failed := false
	for _, s := range res.Steps {
		failed = failed || !s.Pass
	}
	if !failed {
		t.Errorf("no step missed the target:\n%s", out.String())
	}
}
