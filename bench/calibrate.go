package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/internal/load"
)

// CalibrateConfig finds the PTU rating of a backend: the most throughput it
// sustains while its streams still meet the model's latency target.
type CalibrateConfig struct {
	// Base is the run each step makes, closed loop (Base.Rate must be 0):
	// each step sets Base.Clients and runs Base.Duration. Base.Model names
	// the catalog model whose numbers turn throughput into PTUs; Base.Output
	// receives one line per step.
	Base Config
	// TargetTPS is the generated tokens per second per call that
	// Percentile percent of calls must reach; default the model's latency
	// target (catalog latencyTargetTPS).
	TargetTPS float64
	// Percentile is the share of calls, percent, that must reach TargetTPS;
	// default 99 ("99% > 25 tokens/s", as Azure states its targets).
	Percentile float64
	// InputTPMPerPTU and OutputWeight override the model's sizing numbers.
	InputTPMPerPTU, OutputWeight float64
	// StartClients and MaxClients bound the concurrency tried; defaults 1 and 1024.
	StartClients, MaxClients int
	// Refine is how many times the bracket between the last passing and the
	// first failing concurrency is halved; default 3.
	Refine int
}

// CalibrateStep is one concurrency tried.
type CalibrateStep struct {
	Clients       int
	Summary       Summary
	NormalizedTPM float64 // input-equivalent tokens per minute the backend served with Clients calls in flight
	SlowTPS       float64 // the stream speed (100 − Percentile) percent of calls stayed under
	Pass          bool
	Reason        string
}

// CalibrateResult is the calibration.
type CalibrateResult struct {
	Model          string
	TargetTPS      float64
	Percentile     float64
	InputTPMPerPTU float64
	OutputWeight   float64
	Steps          []CalibrateStep
	Best           *CalibrateStep // the passing step with the most throughput; nil when none passed
	PTU            int            // the rating: Best's throughput in whole PTUs
}

// Calibrate raises concurrency (doubling, then bisecting) until the
// backend's slow streams fall below the latency target, and rates the
// backend at the most throughput a passing step served.
func Calibrate(ctx context.Context, cc CalibrateConfig) (*CalibrateResult, error) {
	if cc.Base.Rate > 0 {
		return nil, errors.New("calibration raises concurrency: leave the rate unset")
	}
	if cc.Base.Duration <= 0 {
		return nil, errors.New("calibration needs a duration for each step")
	}
	if cc.Percentile == 0 {
		cc.Percentile = 99
	}
	if !(cc.Percentile > 0 && cc.Percentile <= 100) {
		return nil, errors.New("the percentile must be between 0 and 100")
	}
	if cc.StartClients == 0 {
		cc.StartClients = 1
	}
	if cc.MaxClients == 0 {
		cc.MaxClients = 1024
	}
	if cc.Refine == 0 {
		cc.Refine = 3
	}
	if cc.StartClients < 1 || cc.MaxClients < cc.StartClients || cc.Refine < 0 {
		return nil, errors.New("invalid concurrency bounds")
	}
	base, err := cc.Base.withDefaults()
	if err != nil {
		return nil, err
	}
	mi, err := resolveModel(base)
	if err != nil {
		return nil, err
	}
	res := &CalibrateResult{Percentile: cc.Percentile, TargetTPS: cc.TargetTPS,
		InputTPMPerPTU: cc.InputTPMPerPTU, OutputWeight: cc.OutputWeight}
	if m := mi.model; m != nil {
		res.Model = m.Name + " " + m.Version
		res.TargetTPS = firstPositive(res.TargetTPS, m.LatencyTargetTPS)
		res.InputTPMPerPTU = firstPositive(res.InputTPMPerPTU, float64(m.InputTPMPerPTU))
		res.OutputWeight = firstPositive(res.OutputWeight, m.OutputWeight)
	}
	switch {
	case !(res.TargetTPS > 0):
		return nil, errors.New("no latency target: name a catalog model (--model) or give the target tokens per second")
	case !(res.InputTPMPerPTU > 0) || !(res.OutputWeight >= 0):
		return nil, errors.New("no sizing numbers: name a catalog model (--model) or give input TPM per PTU and the output weight")
	}
	out := base.Output
	step := func(clients int) (*CalibrateStep, error) {
		cfg := cc.Base
		cfg.Clients = clients
		cfg.Output = nil
		r, err := newRunner(cfg)
		if err != nil {
			return nil, err
		}
		r.keepCalls = true
		rep := r.run(ctx)
		if rep.Interrupted {
			return nil, ctx.Err()
		}
		s := res.judge(clients, rep.Summary, r.agg.streamSpeeds())
		// The steady part of the step: after a sixth of it (the first
		// calls' prefill), until calls stop being started.
		s.NormalizedTPM = r.agg.servedPerMinute(rep.Start.Add(cfg.Duration/6), rep.Start.Add(cfg.Duration), res.OutputWeight)
		res.Steps = append(res.Steps, s)
		if out != nil {
			writeCalibrateStep(out, base.OutputFormat, len(res.Steps), s, res.TargetTPS, res.Percentile)
		}
		return &res.Steps[len(res.Steps)-1], nil
	}

	var pass, fail *CalibrateStep
	clients := cc.StartClients
	for fail == nil {
		s, err := step(clients)
		if err != nil {
			return res, err
		}
		if !s.Pass {
			fail = s
			break
		}
		pass = s
		if clients >= cc.MaxClients {
			break
		}
		clients = min(clients*2, cc.MaxClients)
	}
	if pass != nil && fail != nil {
		lo, hi := pass.Clients, fail.Clients
		for range cc.Refine {
			mid := (lo + hi) / 2
			if mid <= lo {
				break
			}
			s, err := step(mid)
			if err != nil {
				return res, err
			}
			if s.Pass {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	for i := range res.Steps {
		if s := &res.Steps[i]; s.Pass && (res.Best == nil || s.NormalizedTPM > res.Best.NormalizedTPM) {
			res.Best = s
		}
	}
	if res.Best != nil {
		res.PTU = int(math.Floor(res.Best.NormalizedTPM/res.InputTPMPerPTU + 1e-9))
	}
	return res, nil
}

func firstPositive(v ...float64) float64 {
	for _, x := range v {
		if x > 0 {
			return x
		}
	}
	return 0
}

// judge decides a step: enough calls, none failed, and the slow streams at
// or above the target.
func (res *CalibrateResult) judge(clients int, sum Summary, speeds []float64) CalibrateStep {
	s := CalibrateStep{Clients: clients, Summary: sum, Pass: true}
	switch {
	case len(speeds) < 2:
		s.Pass, s.Reason = false, "too few calls with two or more generated tokens to measure stream speed; lengthen the step or raise max tokens"
		return s
	case sum.Failed > 0 || sum.Throttled > 0:
		s.Pass, s.Reason = false, fmt.Sprintf("%d calls failed and %d were throttled (%s)", sum.Failed, sum.Throttled, statusList(sum.Statuses))
	}
	s.SlowTPS = load.Percentile(slices.Clone(speeds), 100-res.Percentile)
	if s.Pass && s.SlowTPS < res.TargetTPS {
		s.Pass = false
		s.Reason = fmt.Sprintf("%g%% of calls streamed slower than %.1f tokens/s (target %g)", 100-res.Percentile, s.SlowTPS, res.TargetTPS)
	}
	return s
}

// streamSpeeds returns the stream speed of every successful call.
func (a *aggregator) streamSpeeds() []float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.run.streamTPS)
}

func writeCalibrateStep(w io.Writer, format string, n int, s CalibrateStep, target, pct float64) {
	verdict := "pass"
	if !s.Pass {
		verdict = "fail: " + s.Reason
	}
	if format == FormatJSONL {
		fmt.Fprintf(w, `{"step": %d, "clients": %d, "rpm": %s, "normalized_tpm": %s, "slow_tps": %s, "target_tps": %s, "percentile": %s, "pass": %t, "reason": %q}`+"\n",
			n, s.Clients, pyFloat(round(s.Summary.RPM, 1)), pyFloat(round(s.NormalizedTPM, 0)), pyFloat(round(s.SlowTPS, 2)),
			pyFloat(target), pyFloat(pct), s.Pass, s.Reason)
		return
	}
	fmt.Fprintf(w, "step %d: %d concurrent calls: rpm %s, %s normalized TPM, p%g stream speed %.1f tokens/s (target %g): %s\n",
		n, s.Clients, num(s.Summary.RPM, 1), num(s.NormalizedTPM, 0), 100-pct, s.SlowTPS, target, verdict)
}

// Write prints the calibration's result for people, with the pool entry
// that rates the backend.
func (res *CalibrateResult) Write(w io.Writer, model *catalog.Model) {
	if res.Best == nil {
		fmt.Fprintf(w, "\nNo concurrency met the target of %g tokens/s for %g%% of calls: the backend is slower than the model's latency target even unloaded.\n",
			res.TargetTPS, res.Percentile)
		return
	}
	b := res.Best
	fmt.Fprintf(w, "\nRating: %d PTU. At %d concurrent calls the backend served %s normalized tokens/min (%s input TPM per PTU, output weight %g) with %g%% of streams at %.1f tokens/s or faster (target %g).\n",
		res.PTU, b.Clients, num(b.NormalizedTPM, 0), num(res.InputTPMPerPTU, 0), res.OutputWeight, res.Percentile, b.SlowTPS, res.TargetTPS)
	if model != nil {
		fmt.Fprintf(w, "Pool entry for the server configuration:\n  - {region: <region>, model: %s, version: \"%s\", ptu: %d, backend: <backend>}\n", model.Name, model.Version, res.PTU)
	}
	failed := false
	for _, s := range res.Steps {
		failed = failed || !s.Pass
	}
	if !failed {
		fmt.Fprintf(w, "The target still held at the most concurrency tried (%d): the backend may sustain more; raise the maximum.\n", b.Clients)
	}
}
