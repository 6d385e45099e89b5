package perf

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// MemoryOptions configure the memory run.
type MemoryOptions struct {
	Exe         string
	WorkDir     string
	Deployments int // made through the ARM API
	Streams     int // streaming calls held open at once
	Progress    func(format string, args ...any)
}

// MemoryReport is ptu serve's resident memory at each stage.
type MemoryReport struct {
	Machine       Machine       `json:"machine"`
	Deployments   int           `json:"deployments"`
	Streams       int           `json:"streams"`
	DeployTime    time.Duration `json:"deploy_time_ns"`
	RSSIdle       int64         `json:"rss_idle_bytes"`
	RSSDeployed   int64         `json:"rss_deployed_bytes"`
	RSSPeak       int64         `json:"rss_peak_bytes"` // while the streams ran
	PeakInFlight  int64         `json:"peak_in_flight"` // streams open at once at the peak
	StreamsOK     int64         `json:"streams_ok"`
	StreamsFailed int64         `json:"streams_failed"`
	LastError     string        `json:"last_error,omitempty"`
}

// memoryConfig is UpstreamConfig with the given subscriptions.
func memoryConfig(upstream string, subs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "regions:\n  - {name: eastus, displayName: East US, dataZone: us}\n")
	// Creations answer at once: the harness measures ptu, not the
	// simulated provisioning wait its pollers would otherwise sit out.
	fmt.Fprintf(&b, "provisioningDelay: 0s\n")
	fmt.Fprintf(&b, "defaultQuota: {ProvisionedManaged: 10000000, GlobalProvisionedManaged: 10000000, DataZoneProvisionedManaged: 10000000}\n")
	fmt.Fprintf(&b, "subscriptions:\n")
	for i, s := range subs {
		fmt.Fprintf(&b, "  - {id: %s, displayName: bench%d}\n", s, i+1)
	}
	fmt.Fprintf(&b, "pools:\n  - {region: eastus, model: %s, version: %q, ptu: %d, backend: upstream}\n", benchModel, benchVersion, benchPoolPTU)
	fmt.Fprintf(&b, "backends:\n  - name: upstream\n    endpoints: [{url: \"http://%s/v1\"}]\n    maxConnections: 0\n    healthPath: \"\"\n", upstream)
	return b.String()
}

// RunMemory starts a slow upstream (ptu sim at a quarter of real time, so
// streams stay open) and ptu serve in front of it, makes the deployments
// (1,000 per account), then opens the streams at once, one per deployment
// in turn, and samples ptu serve's RSS.
func RunMemory(ctx context.Context, opt MemoryOptions) (*MemoryReport, error) {
	progress := opt.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	rep := &MemoryReport{Machine: DescribeMachine(), Deployments: opt.Deployments, Streams: opt.Streams}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	up, err := Start(ctx, "upstream", opt.Exe, addr, filepath.Join(opt.WorkDir, "upstream.log"),
		"sim", "--addr", addr, "--time-scale", "0.25", "--model", fmt.Sprintf("%s=%d", benchModel, benchPoolPTU))
	if err != nil {
		return nil, err
	}
	defer up.Stop()
	b := &Bench{opt: Options{Exe: opt.Exe, WorkDir: opt.WorkDir}, PTU: map[string]*Proc{}}
	defer b.Stop()
	// A subscription per 1,000 deployments: creating a deployment sums the
	// PTUs of its subscription's deployments in the region, so one
	// subscription of 10,000 makes creation quadratic (see the docs).
	const perAccount = 1000
	nsub := (opt.Deployments + perAccount - 1) / perAccount
	subs := make([]string, nsub)
	for i := range subs {
		subs[i] = fmt.Sprintf("6b1f0c2e-8d4a-4e7b-9c3f-%012d", i+1)
	}
	p, err := b.startPTU(ctx, "memory", memoryConfig(addr, subs))
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	rep.RSSIdle, _ = p.RSS()
	progress("ptu serve idle: %.1f MB RSS; making %d deployments", float64(rep.RSSIdle)/1e6, opt.Deployments)

	type dep struct{ url, key string }
	var deps []dep
	start := time.Now()
	for a := 0; a*perAccount < opt.Deployments; a++ {
		c, err := client.New(client.WithEndpoint("http://"+p.Addr), client.WithToken(benchAdmin), client.WithSubscription(subs[a]))
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("mem%d-%d", time.Now().UnixNano()%1_000_000, a)
		acct, err := c.CreateAccount(ctx, benchRG, name, client.AccountCreate{Location: benchLocation, Kind: "OpenAI", SKU: "S0", CustomSubDomainName: name})
		if err != nil {
			return nil, err
		}
		keys, err := c.ListKeys(ctx, benchRG, name)
		if err != nil {
			return nil, err
		}
		n := min(perAccount, opt.Deployments-a*perAccount)
		names := make(chan int)
		errs := make(chan error, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := range names {
					_, err := c.CreateDeployment(ctx, benchRG, name, fmt.Sprintf("d%05d", i), client.DeploymentCreate{
						Model: client.ModelRef{Format: "OpenAI", Name: benchModel, Version: benchVersion}, SKUName: benchSKU, Capacity: 15})
					if err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				}
			})
		}
		for i := range n {
			names <- i
		}
		close(names)
		wg.Wait()
		select {
		case err := <-errs:
			return nil, err
		default:
		}
		endpoint := acct.Properties.Endpoint
		if endpoint[len(endpoint)-1] != '/' {
			endpoint += "/"
		}
		for i := range n {
			deps = append(deps, dep{url: endpoint + fmt.Sprintf("openai/deployments/d%05d/chat/completions?api-version=%s", i, apiVersion), key: keys.Key1})
		}
		progress("%d deployments made (%s)", len(deps), time.Since(start).Round(time.Second))
	}
	rep.DeployTime = time.Since(start)
	time.Sleep(time.Second)
	rep.RSSDeployed, _ = p.RSS()
	progress("ptu serve with %d deployments: %.1f MB RSS; opening %d streams", len(deps), float64(rep.RSSDeployed)/1e6, opt.Streams)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: opt.Streams, MaxIdleConnsPerHost: opt.Streams, IdleConnTimeout: time.Minute}}
	var inFlight, peak atomic.Int64
	var lastErr atomic.Value
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if rss, err := p.RSS(); err == nil && rss > rep.RSSPeak {
					rep.RSSPeak = rss
					peak.Store(inFlight.Load())
				}
			}
		}
	})
	body := []byte(`{"messages":[{"role":"user","content":"Tell me a long story about a lighthouse keeper."}],"max_tokens":400,"stream":true}`)
	var wg sync.WaitGroup
	for i := range opt.Streams {
		d := deps[i%len(deps)]
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("api-key", d.key)
			res, err := hc.Do(req)
			if err != nil {
				atomic.AddInt64(&rep.StreamsFailed, 1)
				lastErr.Store(err.Error())
				return
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				atomic.AddInt64(&rep.StreamsFailed, 1)
				lastErr.Store(res.Status)
				return
			}
			inFlight.Add(1)
			defer inFlight.Add(-1)
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
			}
			if sc.Err() != nil {
				atomic.AddInt64(&rep.StreamsFailed, 1)
				lastErr.Store(sc.Err().Error())
				return
			}
			atomic.AddInt64(&rep.StreamsOK, 1)
		})
	}
	// Report the count of streams open while they run.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTicker(2 * time.Second)
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-t.C:
			progress("%d streams open", inFlight.Load())
		}
	}
	t.Stop()
	cancel()
	sampler.Wait()
	rep.PeakInFlight = peak.Load()
	if v, ok := lastErr.Load().(string); ok {
		rep.LastError = v
	}
	return rep, ctx.Err()
}
