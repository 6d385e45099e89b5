package perf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// The targets of an overhead run, in the order each step drives them.
const (
	TargetUpstream  = "upstream"   // ptu sim --instant, called directly
	TargetProxy     = "bare-proxy" // httputil.ReverseProxy in front of it
	TargetPTUMemory = "ptu-memory" // ptu serve, in-memory limiter, upstream pool
	TargetPTURedis  = "ptu-redis"  // the same with the Redis limiter
)

// Options configure an overhead run.
type Options struct {
	Exe string // the ptu binary to run as upstream, proxy and server
	// ServeExe, if set, is the binary run as ptu serve instead of Exe: to
	// compare two builds of the server against the same proxy and upstream.
	ServeExe string
	Rates    []float64     // open-loop steps, calls per second
	Duration time.Duration // of each step
	Workers  int           // closed-loop callers of the saturation step; 0 skips it
	// Rounds runs every step (each rate, then saturation) in rounds in
	// which the targets take turns (1 if less), each round Duration long
	// per target; a target's calls and CPU are summed and its latencies
	// pooled over its rounds. The machine's spells of slowness then fall
	// on every target rather than on one.
	Rounds    int
	Limiters  []string  // "memory", "redis"
	RedisURL  string    // for the redis limiter
	WorkDir   string    // data directories and process logs
	Progress  io.Writer // a line per step
	MaxTokens int       // of every call (the instant upstream answers this many tokens at most)
	// Stream adds streaming variants of every target (name + StreamSuffix):
	// the client asks for a stream, so the upstream streams to every
	// target alike, as it always does to ptu.
	Stream bool
}

// StreamSuffix marks the streaming variant of a target.
const StreamSuffix = "-stream"

// Bench is the running set of processes an overhead run drives.
type Bench struct {
	opt      Options
	Upstream *Proc
	Proxy    *Proc
	PTU      map[string]*Proc // by target name
	targets  []target
	client   *http.Client
}

type target struct {
	name string
	url  string
	key  string // api-key header; "" for none
	proc *Proc  // whose CPU is counted; nil for the upstream itself
	body []byte
}

// benchConfig is ptu serve's configuration: one region, one gpt-4o-mini pool
// served by the instant upstream, quota far above anything deployed.
const benchConfig = `regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota:
  ProvisionedManaged: 10000000
  GlobalProvisionedManaged: 10000000
  DataZoneProvisionedManaged: 10000000
subscriptions:
  - {id: %s, displayName: bench}
pools:
  - {region: eastus, model: gpt-4o-mini, version: "2024-07-18", ptu: %d, backend: upstream}
backends:
  - name: upstream
    endpoints: [{url: "http://%s/v1"}]
    maxConnections: 0
    healthPath: ""
`

const (
	benchSubscription = "6b1f0c2e-8d4a-4e7b-9c3f-2a5d7e9b1c41"
	benchModel        = "gpt-4o-mini"
	benchVersion      = "2024-07-18"
	// benchPTU is the deployment's size, the most a deployment may have:
	// 10,000 PTU of gpt-4o-mini is 370 million tokens per minute, so nothing
	// a run sends is throttled.
	benchPTU       = 10_000
	benchPoolPTU   = 10_000_000
	benchAdmin     = "bench-admin-token"
	apiVersion     = "2024-10-21"
	benchPrompt    = "Summarize the plot of a short story about a lighthouse keeper in two sentences."
	benchSystem    = "You are a helpful assistant."
	benchRG        = "bench"
	benchLocation  = "eastus"
	benchSKU       = "GlobalProvisionedManaged"
	startupTimeout = 30 * time.Second
)

// StartBench starts the upstream, the bare proxy and one ptu serve per
// limiter, and makes the ptu deployments the load calls.
func StartBench(ctx context.Context, opt Options) (*Bench, error) {
	if opt.MaxTokens == 0 {
		opt.MaxTokens = 32
	}
	// An open loop against a target that has fallen behind holds a
	// connection per call in flight: allow as many as the system does.
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	b := &Bench{opt: opt, PTU: map[string]*Proc{}, client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: 8192, MaxIdleConnsPerHost: 8192, IdleConnTimeout: time.Minute}}}
	ok := false
	defer func() {
		if !ok {
			b.Stop()
		}
	}()
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	b.Upstream, err = Start(ctx, TargetUpstream, opt.Exe, addr, filepath.Join(opt.WorkDir, "upstream.log"),
		"sim", "--instant", "--addr", addr, "--model", fmt.Sprintf("%s=%d", benchModel, benchPoolPTU))
	if err != nil {
		return nil, err
	}
	body := fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"system","content":%q},{"role":"user","content":%q}],"max_tokens":%d,"seed":1}`,
		benchModel, benchSystem, benchPrompt, opt.MaxTokens)
	b.targets = append(b.targets, target{name: TargetUpstream, url: "http://" + addr + "/v1/chat/completions", body: body, proc: b.Upstream})

	paddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	b.Proxy, err = Start(ctx, TargetProxy, opt.Exe, paddr, filepath.Join(opt.WorkDir, "bare-proxy.log"),
		"bench", "overhead", "proxy", "--addr", paddr, "--upstream", "http://"+addr)
	if err != nil {
		return nil, err
	}
	b.targets = append(b.targets, target{name: TargetProxy, url: "http://" + paddr + "/v1/chat/completions", body: body, proc: b.Proxy})

	for _, lim := range opt.Limiters {
		p, err := b.startPTU(ctx, lim, UpstreamConfig(addr))
		if err != nil {
			return nil, err
		}
		// A new account name each run: the Redis buckets of an earlier run's
		// deployment (keyed by its ARM id) must not carry over.
		acct := fmt.Sprintf("bench%d", time.Now().UnixNano()%1_000_000_000)
		endpoint, key, err := deploy(ctx, "http://"+p.Addr, acct, []deployment{{"bench", benchModel, benchVersion, benchPTU}})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		b.targets = append(b.targets, target{name: p.Name, url: endpoint + "openai/deployments/bench/chat/completions?api-version=" + apiVersion,
			key: key, body: body, proc: p})
	}
	if opt.Stream {
		sbody := bytes.Replace(body, []byte(`"seed":1}`), []byte(`"seed":1,"stream":true}`), 1)
		for _, t := range b.targets[:len(b.targets):len(b.targets)] {
			t.name += StreamSuffix
			t.body = sbody
			b.targets = append(b.targets, t)
		}
	}
	// One call each, so the first step does not measure connection setup or
	// a failure.
	for _, t := range b.targets {
		status, err := b.call(ctx, t)
		if err != nil || status != 200 {
			return nil, fmt.Errorf("%s: first call answered %d (%v)", t.name, status, err)
		}
	}
	ok = true
	return b, nil
}

// startPTU starts ptu serve with limiter lim and configuration config.
func (b *Bench) startPTU(ctx context.Context, lim, config string) (*Proc, error) {
	opt := b.opt
	name := "ptu-" + lim
	dir := filepath.Join(opt.WorkDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "ptu.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	saddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", saddr, "--data-dir", dir, "--config", cfg, "--admin-token", benchAdmin, "--log-format", "json"}
	switch lim {
	case "memory":
	case "redis":
		if opt.RedisURL == "" {
			return nil, fmt.Errorf("the redis limiter needs --redis")
		}
		args = append(args, "--redis", opt.RedisURL)
	default:
		return nil, fmt.Errorf("limiter %q: memory or redis", lim)
	}
	exe := opt.Exe
	if opt.ServeExe != "" {
		exe = opt.ServeExe
	}
	p, err := Start(ctx, name, exe, saddr, filepath.Join(dir, "serve.log"), args...)
	if err != nil {
		return nil, err
	}
	b.PTU[name] = p
	return p, nil
}

// deployment is a GlobalProvisionedManaged deployment to make.
type deployment struct {
	name, model, version string
	ptus                 int
}

// deploy makes an account and its deployments through the ARM API and
// returns the account's inference endpoint and key.
func deploy(ctx context.Context, base, account string, deps []deployment) (endpoint, key string, err error) {
	c, err := client.New(client.WithEndpoint(base), client.WithToken(benchAdmin), client.WithSubscription(benchSubscription))
	if err != nil {
		return "", "", err
	}
	a, err := c.CreateAccount(ctx, benchRG, account, client.AccountCreate{Location: benchLocation, Kind: "OpenAI", SKU: "S0", CustomSubDomainName: account})
	if err != nil {
		return "", "", err
	}
	for _, d := range deps {
		if _, err := c.CreateDeployment(ctx, benchRG, account, d.name, client.DeploymentCreate{
			Model: client.ModelRef{Format: "OpenAI", Name: d.model, Version: d.version}, SKUName: benchSKU, Capacity: d.ptus}); err != nil {
			return "", "", err
		}
	}
	k, err := c.ListKeys(ctx, benchRG, account)
	if err != nil {
		return "", "", err
	}
	endpoint = a.Properties.Endpoint
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	return endpoint, k.Key1, nil
}

func (b *Bench) call(ctx context.Context, t target) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.key != "" {
		req.Header.Set("api-key", t.key)
	}
	res, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, err
}

// Stop ends every process.
func (b *Bench) Stop() {
	for _, p := range b.PTU {
		p.Stop()
	}
	b.Proxy.Stop()
	b.Upstream.Stop()
}

// Targets are the names of the targets, in the order steps drive them.
func (b *Bench) Targets() []string {
	out := make([]string, len(b.targets))
	for i, t := range b.targets {
		out[i] = t.name
	}
	return out
}

// Run drives every target at every rate, then to saturation. Within a rate
// the targets take turns, so slow drifts of the shared machine fall on all
// of them alike.
func (b *Bench) Run(ctx context.Context) (*Report, error) {
	rep := &Report{Machine: DescribeMachine(), Started: time.Now().UTC(), Duration: b.opt.Duration,
		Workers: b.opt.Workers, Rounds: max(1, b.opt.Rounds), Targets: b.Targets(), MaxTokens: b.opt.MaxTokens}
	for _, rate := range b.opt.Rates {
		steps, err := b.rounds(fmt.Sprintf("%6.0f calls/s", rate), rate, func(call Call) Outcome {
			return OpenLoop(ctx, nil, rate, b.opt.Duration, call)
		})
		rep.Steps = append(rep.Steps, steps...)
		if err != nil {
			return rep, err
		}
	}
	if b.opt.Workers > 0 {
		steps, err := b.rounds("saturation", 0, func(call Call) Outcome {
			return ClosedLoop(ctx, b.opt.Workers, b.opt.Duration, call)
		})
		rep.Steps = append(rep.Steps, steps...)
		if err != nil {
			return rep, err
		}
	}
	rep.Finished = time.Now().UTC()
	rep.LoadAfter = loadAverage()
	rep.Compare()
	return rep, ctx.Err()
}

// rounds drives every target --rounds times, the targets taking turns in
// each round, and makes each target's step of its rounds together: calls,
// time and CPU summed, latencies pooled. A spell of slowness of the shared
// machine then falls on every target alike instead of on one of them.
func (b *Bench) rounds(label string, rate float64, drive func(Call) Outcome) ([]Step, error) {
	n := max(1, b.opt.Rounds)
	ms := make([][]measured, len(b.targets))
	for round := range n {
		for i, t := range b.targets {
			m := b.measure(t, drive)
			if n > 1 && b.opt.Progress != nil {
				fmt.Fprintf(b.opt.Progress, "%s round %d/%d  %-11s %8.0f calls/s answered, p50 %8s\n",
					strings.TrimSpace(label), round+1, n, t.name, m.out.Rate(), fmtDur(Summarize(m.out.Latencies).P50))
			}
			ms[i] = append(ms[i], m)
		}
	}
	var steps []Step
	for i, t := range b.targets {
		s, err := b.report(t, rate, mergeMeasured(ms[i]))
		if err != nil {
			return steps, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// measured is one drive of a target: its outcome, the CPU the target and
// the upstream used meanwhile, and the target's RSS after it.
type measured struct {
	out        Outcome
	cpu, upCPU time.Duration
	rss        int64
}

func (b *Bench) measure(t target, drive func(Call) Outcome) measured {
	cpu0, _ := t.proc.CPU()
	up0, _ := b.Upstream.CPU()
	out := drive(func(ctx context.Context) (int, error) { return b.call(ctx, t) })
	cpu1, _ := t.proc.CPU()
	up1, _ := b.Upstream.CPU()
	rss, _ := t.proc.RSS()
	return measured{out: out, cpu: cpu1 - cpu0, upCPU: up1 - up0, rss: rss}
}

// mergeMeasured sums a target's rounds: calls, time, CPU; the RSS is the last.
func mergeMeasured(ms []measured) measured {
	var m measured
	for _, r := range ms {
		m.out.Sent += r.out.Sent
		m.out.OK += r.out.OK
		m.out.Throttled += r.out.Throttled
		m.out.Failed += r.out.Failed
		m.out.Elapsed += r.out.Elapsed
		m.out.Latencies = append(m.out.Latencies, r.out.Latencies...)
		if r.out.LastError != "" {
			m.out.LastError = r.out.LastError
		}
		m.cpu += r.cpu
		m.upCPU += r.upCPU
		m.rss = r.rss
	}
	return m
}

// report makes the step of a measured drive and prints its line.
func (b *Bench) report(t target, rate float64, m measured) (Step, error) {
	out := m.out
	s := Step{Target: t.name, Rate: rate, Sent: out.Sent, OK: out.OK, Throttled: out.Throttled, Failed: out.Failed,
		Achieved: out.Rate(), Latency: Summarize(out.Latencies), RSS: m.rss, LastError: out.LastError}
	if out.OK > 0 {
		s.CPUPerCall = m.cpu / time.Duration(out.OK)
		if t.proc != b.Upstream {
			s.UpstreamCPUPerCall = m.upCPU / time.Duration(out.OK)
		}
	}
	if b.opt.Progress != nil {
		what := fmt.Sprintf("%6.0f calls/s", rate)
		if rate == 0 {
			what = fmt.Sprintf("saturation (%d callers)", b.opt.Workers)
		}
		fmt.Fprintf(b.opt.Progress, "%-26s %-11s %8.0f calls/s answered, p50 %8s p99 %8s, %d failed, %d throttled, CPU %s/call\n",
			what, t.name, s.Achieved, fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), s.Failed, s.Throttled, fmtDur(s.CPUPerCall))
	}
	if s.Failed > 0 && s.OK == 0 {
		return s, fmt.Errorf("%s at %.0f calls/s: every call failed (%s)", t.name, rate, s.LastError)
	}
	return s, nil
}

// ParseRedisURL checks a redis:// URL.
func ParseRedisURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "redis" && p.Scheme != "rediss") {
		return fmt.Errorf("--redis %q: want redis://host:port", u)
	}
	return nil
}
