package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/server"
)

// benchClient is an HTTP client that keeps enough idle connections for
// thousands of calls in flight.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 8192, MaxIdleConnsPerHost: 8192, IdleConnTimeout: time.Minute}}

func benchPost(ctx context.Context, url, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("api-key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, err
}

// BenchmarkServeChat measures non-streaming chat calls per second through
// the whole server (HTTP, auth, tokenizer, admission, simulated engine,
// response) from parallel clients in the same process. The deployment is big
// enough never to throttle, and the engine runs 10,000 times faster than real
// time, so the gateway's own cost and the engine's 10 ms scheduler tick are
// what is left.
func BenchmarkServeChat(b *testing.B) {
	e := newEnv(b, server.Options{SimTimeScale: 10_000})
	e.deployModel("big", "gpt-4o-mini", "2024-07-18", ptu.GlobalProvisionedManaged, 500)
	url := chatURL(e.endpoint, "big")
	key := e.key()
	body := []byte(`{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarize the plot of a short story about a lighthouse keeper in two sentences."}],"max_tokens":32}`)
	var throttled, failed atomic.Int64
	b.SetParallelism(32) // 32 clients per core: each call waits for a scheduler tick of the engine
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			status, err := benchPost(context.Background(), url, key, body)
			switch {
			case err != nil || status >= 500:
				failed.Add(1)
			case status == 429:
				throttled.Add(1)
			case status != 200:
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d calls failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(throttled.Load()), "throttled")
}

// The promise benchmark: one gpt-4o deployment that is the whole of its
// pool (the tightest placement allows), called open-loop with Poisson
// arrivals at a fraction of its capacity, in simulated time.
const (
	promisePTU       = 300   // 750,000 input-equivalent tokens per minute
	promiseScale     = 20    // simulated seconds per wall second (engine and limiter clock alike)
	promiseWarmup    = 300.0 // simulated seconds before calls are measured: the bucket's first full minute, let in at once, drains first
	promiseMeasure   = 120.0
	promiseGrace     = 60.0 // simulated seconds calls may run after the last arrival before they are cut off
	promisePrompt    = 500  // prompt tokens per call
	promiseMaxTokens = 400
	promiseSeed      = 20260301
	promisePool      = "eastus/gpt-4o/2024-08-06"
)

// promiseConfig has one gpt-4o pool of %d PTUs.
const promiseConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota:
  ProvisionedManaged: 1000
  GlobalProvisionedManaged: 1000
  DataZoneProvisionedManaged: 1000
subscriptions:
  - {id: 6b1f0c2e-8d4a-4e7b-9c3f-2a5d7e9b1c40, displayName: promise}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: %d}
`

// admitAll is admission switched off: every call is admitted and nothing is counted.
type admitAll struct{}

func (admitAll) Admit(context.Context, string, float64, float64) (leaky.Decision, error) {
	return leaky.Decision{Allowed: true}, nil
}
func (admitAll) Utilization(context.Context, string, float64) (float64, error) {
	return 0, nil
}

// meanOutput is the mean output length of the engine's log-normal length
// distribution (mean, stddev; rounded, at least 1) cut at maxTokens,
// estimated with a fixed seed.
func meanOutput(mean, stddev float64, maxTokens int) float64 {
	r := rand.New(rand.NewPCG(1, 2))
	s2 := math.Log(1 + stddev*stddev/(mean*mean))
	mu := math.Log(mean) - s2/2
	sum := 0.0
	const n = 200_000
	for range n {
		x := math.Exp(mu + math.Sqrt(s2)*r.NormFloat64())
		sum += float64(max(1, min(maxTokens, int(math.Round(x)))))
	}
	return sum / n
}

type promiseCall struct {
	at      float64 // arrival, simulated seconds from the start
	status  int     // 0: cut off before it ended
	latency float64 // simulated seconds
}

type promiseCase struct {
	load      float64 // offered load: actual input-equivalent tokens per minute ÷ capacity
	admission bool
	poolPTU   int     // the engine's rating; 0 means promisePTU (the deployment is the whole pool)
	maxTokens int     // per call; 0 means promiseMaxTokens, -1 leaves max_tokens out
	warmup    float64 // simulated seconds before measuring; 0 means promiseWarmup
}

// BenchmarkAdmittedLatency is the product's promise: the end-to-end latency
// of admitted calls at 300 % offered load against 50 %, and at 300 % with
// admission switched off. Each case takes about 10 s; run it on its own:
//
//	go test -run '^$' -bench AdmittedLatency -benchtime 1x ./gateway/
func BenchmarkAdmittedLatency(b *testing.B) {
	for _, tc := range []struct {
		name string
		c    promiseCase
	}{
		{"load=50%", promiseCase{load: 0.5, admission: true}},
		{"load=300%", promiseCase{load: 3, admission: true}},
		{"load=300%/admission=off", promiseCase{load: 3, admission: false}},
	} {
		b.Run(tc.name, func(b *testing.B) { runPromise(b, tc.c) })
	}
}

// BenchmarkAdmittedLatencyWhy varies what BenchmarkAdmittedLatency holds
// fixed, to show what admitted latency at 300 % depends on (see
// docs/benchmarks.md): the engine's headroom over the PTUs admission lets
// through, and how far the admission estimate is above the real cost.
//
//	go test -run '^$' -bench AdmittedLatencyWhy -benchtime 1x ./gateway/
func BenchmarkAdmittedLatencyWhy(b *testing.B) {
	for _, tc := range []struct {
		name string
		c    promiseCase
	}{
		// The whole pool, measured after 5 simulated minutes: the first minute's burst never drains.
		{"pool=300PTU/load=300%/warmup=300s", promiseCase{load: 3, admission: true, warmup: 300}},
		// The deployment holds 300 of a 375-PTU pool: the engine can do 25 % more than admission lets in.
		{"pool=375PTU/load=50%", promiseCase{load: 0.5, admission: true, poolPTU: 375}},
		{"pool=375PTU/load=300%", promiseCase{load: 3, admission: true, poolPTU: 375}},
		{"pool=375PTU/load=300%/admission=off", promiseCase{load: 3, admission: false, poolPTU: 375}},
		// The same after 5 simulated minutes, once the first minute's burst has drained.
		{"pool=375PTU/load=300%/warmup=300s", promiseCase{load: 3, admission: true, poolPTU: 375, warmup: 300}},
		// The estimate close to the real cost (max_tokens 300 rather than 400).
		{"max_tokens=300/load=300%", promiseCase{load: 3, admission: true, maxTokens: 300}},
		// No max_tokens: admission reserves the default 4,096 output tokens per call.
		{"max_tokens=unset/load=50%", promiseCase{load: 0.5, admission: true, maxTokens: -1}},
		{"max_tokens=unset/load=300%", promiseCase{load: 3, admission: true, maxTokens: -1}},
	} {
		b.Run(tc.name, func(b *testing.B) { runPromise(b, tc.c) })
	}
}

func runPromise(b *testing.B, pc promiseCase) {
	if pc.poolPTU == 0 {
		pc.poolPTU = promisePTU
	}
	if pc.maxTokens == 0 {
		pc.maxTokens = promiseMaxTokens
	}
	if pc.warmup == 0 {
		pc.warmup = promiseWarmup
	}
	e := newEnv(b, server.Options{ConfigPath: writeConfig(b, fmt.Sprintf(promiseConfig, pc.poolPTU))})
	d := e.deploy("promise", ptu.GlobalProvisionedManaged, promisePTU)
	m := e.model(d)
	capacity := float64(promisePTU * m.InputTPMPerPTU) // per minute

	// Simulated time: the limiter's clock and the engine both run
	// promiseScale times faster. origin is set just before the first arrival.
	var origin time.Time
	now := func() time.Time { return origin.Add(time.Duration(float64(time.Since(origin)) * promiseScale)) }
	// The engine as server/backends.go sets it up, rated at the pool's PTUs.
	sims := newSimBackends(e.s.Catalog, sim.Config{DecodeTPS: 1.5 * m.LatencyTargetTPS, TimeScale: promiseScale, MaxOutput: m.MaxOutputTokens})
	var lim leaky.Limiter = inmem.New(now)
	if !pc.admission {
		lim = admitAll{}
	}
	g := gateway.New(gateway.Options{Control: e.s.Control, Limiter: lim, Backends: sims,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Now: now})
	ts := httptest.NewServer(g.Handler())
	defer ts.Close()
	url := chatURL(ts.URL+"/accounts/"+strings.ToLower(e.acct.CustomSubDomain)+"/", "promise")
	key := e.key()
	// Each call has its own seed, so the i-th call's answer is the same in every run and case.
	prefix := fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],"max_tokens":%d,"seed":`, userPrompt(b, "promise", promisePrompt), pc.maxTokens)
	limit := pc.maxTokens
	if pc.maxTokens < 0 {
		prefix = fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],"seed":`, userPrompt(b, "promise", promisePrompt))
		limit = m.MaxOutputTokens
	}
	body := func(i int) []byte { return fmt.Appendf([]byte(prefix), "%d}", i) }

	meanOut := meanOutput(256, 128, limit)             // the engine's default length distribution
	meanCost := promisePrompt + m.OutputWeight*meanOut // input-equivalent tokens per call
	rate := pc.load * capacity / 60 / meanCost         // calls per simulated second
	total := pc.warmup + promiseMeasure

	// Open loop: arrivals at fixed simulated instants, whatever the answers.
	r := rand.New(rand.NewPCG(promiseSeed, uint64(pc.load*1000)))
	var arrivals []float64
	for t := r.ExpFloat64() / rate; t < total; t += r.ExpFloat64() / rate {
		arrivals = append(arrivals, t)
	}
	calls := make([]promiseCall, len(arrivals))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup

	b.ResetTimer()
	origin = time.Now()
	start := origin

	// Sample the engine's load once per simulated second.
	var loads []float64
	var inflight []int
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		t := time.NewTicker(time.Second / promiseScale)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				el := time.Since(start).Seconds() * promiseScale
				if st, ok := sims.stats(promisePool); ok && el >= pc.warmup && el < total {
					loads = append(loads, st.Load)
					inflight = append(inflight, st.InFlight)
				}
			}
		}
	})

	for i, at := range arrivals {
		if d := time.Until(start.Add(time.Duration(at / promiseScale * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		calls[i].at = at
		wg.Go(func() {
			t0 := time.Now()
			status, err := benchPost(ctx, url, key, body(i))
			if err != nil {
				return // cut off: status stays 0
			}
			calls[i].status = status
			calls[i].latency = time.Since(t0).Seconds() * promiseScale
		})
	}
	cutoff := time.AfterFunc(time.Duration(promiseGrace/promiseScale*float64(time.Second)), cancel)
	wg.Wait()
	cutoff.Stop()
	end := time.Since(start).Seconds() * promiseScale
	b.StopTimer()
	close(stopSampling)
	sampling.Wait()

	// Calls that arrived in the measurement window.
	var lat []float64
	var throttled, cut, other int
	for _, c := range calls {
		if c.at < pc.warmup || c.at >= total {
			continue
		}
		switch c.status {
		case 200:
			lat = append(lat, c.latency)
		case 429:
			throttled++
		case 0:
			cut++
			lat = append(lat, end-c.at) // a lower bound of its latency
		default:
			other++
		}
	}
	if other > 0 {
		b.Fatalf("%d calls failed", other)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)]
	}
	b.ReportMetric(pct(0.50), "p50-s")
	b.ReportMetric(pct(0.99), "p99-s")
	b.ReportMetric(float64(len(lat)-cut), "completed")
	b.ReportMetric(float64(throttled)/float64(max(len(lat)+throttled, 1))*100, "throttled-%")
	b.ReportMetric(float64(cut), "cut-off")
	b.ReportMetric(float64(len(lat))*meanCost/promiseMeasure*60/capacity*100, "admitted-load-%")
	b.ReportMetric(mean(loads)*100, "engine-demand-%")
	b.ReportMetric(mean(inflight), "in-flight")
}

func mean[T int | float64](xs []T) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += float64(x)
	}
	return s / float64(len(xs))
}
