package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/bench"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/internal/testenv"
)

// replicaProcess is one `ptu serve` process of a cluster.
type replicaProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *lockedBuffer
	done chan struct{}
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer = testenv.Log

// processCluster is n `ptu serve` processes on their own ports, sharing one
// PostgreSQL schema and one Redis, as the scale-out docs run them.
type processCluster struct {
	t        testing.TB
	replicas []*replicaProcess
	token    string
	sub      string
}

func startProcessCluster(t testing.TB, n int, simTimeScale float64) *processCluster {
	t.Helper()
	db, redis := testenv.PostgresSchema(t), testenv.Redis(t)
	c := &processCluster{t: t, token: testenv.RandomHex(16)}
	for range n {
		c.replicas = append(c.replicas, c.start(db, redis, n, simTimeScale))
	}
	return c
}

// start runs this test binary as `ptu serve` (TestMain runs main) and waits
// for the address it prints.
func (c *processCluster) start(db, redis string, replicas int, simTimeScale float64) *replicaProcess {
	t := c.t
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--admin-token", c.token, "--database", db, "--redis", redis, "--replicas", strconv.Itoa(replicas),
		"--sim-time-scale", strconv.FormatFloat(simTimeScale, 'g', -1, 64))
	cmd.Env = append(os.Environ(), "PTU_TEST_RUN_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &replicaProcess{cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("replica %s log:\n%s", r.url, r.logs.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`^ptu is serving at (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case r.url = <-addr:
	case <-r.done:
		t.Fatalf("ptu serve exited: %s", r.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("ptu serve did not start: %s", r.logs.String())
	}
	return r
}

// arm sends an ARM request to replica i and decodes a 2xx answer into out.
func (c *processCluster) arm(i int, method, path, body string, out any) {
	c.t.Helper()
	if status, b := testenv.ARM(c.t, c.replicas[i].url, c.token, method, path, body, out); status >= 300 {
		c.t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
}

// deploy creates an account in eastus and a GlobalProvisionedManaged gpt-4o
// deployment of ptus through replica 0, and returns each replica's endpoint
// of the account and its key (read through replica 1).
func (c *processCluster) deploy(ptus int) (endpoints []string, key string) {
	c.t.Helper()
	return c.deployModel("gpt-4o", "2024-08-06", ptus)
}

// deployModel is deploy with another model; the deployment is named after it.
func (c *processCluster) deployModel(model, version string, ptus int) (endpoints []string, key string) {
	c.t.Helper()
	if c.sub == "" {
		var subs struct {
			Value []struct{ SubscriptionID string }
		}
		c.arm(0, "GET", "/subscriptions", "", &subs)
		c.sub = subs.Value[0].SubscriptionID
	}
	name := "acct-" + testenv.RandomHex(4)
	acct := "/subscriptions/" + c.sub + "/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/" + name
	c.arm(0, "PUT", acct, `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"properties":{"customSubDomainName":"`+name+`"}}`, nil)
	c.arm(0, "PUT", acct+"/deployments/"+model, fmt.Sprintf(
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":%d},"properties":{"model":{"format":"OpenAI","name":%q,"version":%q}}}`, ptus, model, version), nil)
	var keys struct{ Key1 string }
	c.arm(1%len(c.replicas), "POST", acct+"/listKeys", "", &keys)
	for _, r := range c.replicas {
		endpoints = append(endpoints, r.url+"/accounts/"+name+"/")
	}
	return endpoints, keys.Key1
}

// chat sends one chat completion and returns the status and the
// ptu-bucket-utilization header (percent; NaN when absent).
func chat(t testing.TB, endpoint, key, content string, maxTokens int) (int, float64) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": content}}, "max_tokens": maxTokens})
	req, _ := http.NewRequest("POST", endpoint+"openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", bytes.NewReader(body))
	req.Header.Set("api-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	level := math.NaN()
	if v, err := strconv.ParseFloat(strings.TrimSuffix(resp.Header.Get("ptu-bucket-utilization"), "%"), 64); err == nil {
		level = v
	}
	return resp.StatusCode, level
}

// callLine is the part of `ptu bench`'s per-call log the cluster tests read.
type callLine struct {
	Start           time.Time `json:"start"`
	Status          int       `json:"status"`
	Outcome         string    `json:"outcome"` // ok, throttled, failed
	PromptTokens    int       `json:"prompt_tokens"`
	GeneratedTokens int       `json:"generated_tokens"`
}

func readCalls(t testing.TB, log string) []callLine {
	t.Helper()
	var calls []callLine
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var c callLine
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("request log line %q: %v", l, err)
		}
		calls = append(calls, c)
	}
	return calls
}

// TestClusterHoldsDeploymentAtItsPTUs drives one 15-PTU deployment at 300 %
// of its capacity with `ptu bench`'s load generator, round-robin over three
// `ptu serve` processes: together they admit the deployment's capacity, not
// three times it. The idle bucket is first filled with one large call, so
// the run measures the steady state rather than the burst allowance.
func TestClusterHoldsDeploymentAtItsPTUs(t *testing.T) {
	t.Parallel()
	c := startProcessCluster(t, 3, 50)
	ratio, rep := holdAtPTUs(t, c, 3, 40*time.Second)
	s := rep.Summary
	if s.Failed != 0 || s.Throttled < s.Calls/2 {
		t.Fatalf("%d calls, %d throttled, %d failed (%v): want about two in three throttled and no other failure", s.Calls, s.Throttled, s.Failed, s.Statuses)
	}
	t.Logf("three replicas admitted %.2f%% of the deployment's capacity over %s (%d calls, %d throttled); ptu bench's load line: %.1f%%",
		100*ratio, rep.End.Sub(rep.Start).Round(time.Millisecond), s.Calls, s.Throttled, s.Sizing.Load)
	if math.Abs(ratio-1) > 0.03 {
		t.Errorf("admitted %.1f%% of the capacity at 300%% offered load, want 100 ± 3", 100*ratio)
	}
}

// holdAtPTUs deploys 15 PTUs of gpt-4o and drives them at offered × their
// capacity for d with `ptu bench`'s load generator, round-robin over the
// cluster's replicas. It returns what the replicas admitted over the
// capacity the bucket drained in that time: 1 is exact. The idle bucket is
// first filled with one large call, so the run measures the steady state
// rather than the burst allowance.
func holdAtPTUs(tb testing.TB, c *processCluster, offered float64, d time.Duration) (float64, *bench.Report) {
	tb.Helper()
	endpoints, key := c.deploy(15)
	m, _ := catalog.Default().Lookup("gpt-4o", "2024-08-06")
	capacity := float64(15 * m.InputTPMPerPTU) // tokens a minute

	// One call of about a minute of capacity: the bucket is full from here on.
	status, level := chat(tb, endpoints[0], key, strings.Repeat("hello ", int(capacity)+100), 1)
	if status != http.StatusOK || level < 100 || level > 101 {
		tb.Fatalf("filling call: %d with the bucket at %v%%", status, level)
	}

	// Calls of about 108 + 4 × 10 tokens.
	const prompt, maxTokens = 100, 10
	perCall := float64(prompt + 8 + maxTokens*int(m.OutputWeight))
	var log lockedBuffer
	cfg := bench.Config{Endpoint: endpoints[0], MoreEndpoints: endpoints[1:], Deployment: "gpt-4o", APIKey: key,
		APIVersion: "2024-10-21", Clients: 100, Rate: offered * capacity / perCall, Duration: d,
		Shape: bench.Shape{ContextTokens: prompt, MaxTokens: maxTokens}, Model: "gpt-4o@2024-08-06", PTU: 15,
		RequestLog: &log, Seed: 1}
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	// What the replicas admitted, in the deployment's own measure (the
	// prompt as the server counted it, chat overhead included, + 4 ×
	// output), against what the bucket drains over the run.
	var admitted float64
	for _, call := range readCalls(tb, log.String()) {
		if call.Outcome == "ok" {
			admitted += float64(call.PromptTokens) + m.OutputWeight*float64(call.GeneratedTokens)
		}
	}
	return admitted / (capacity * rep.End.Sub(rep.Start).Minutes()), rep
}

// TestClusterSurvivesSIGKILL kills one of three replicas with SIGKILL while
// calls run through all of them: the survivors keep serving, and the
// estimates the dead replica reserved and never settled drain out of the
// shared bucket within their drain time; nothing stays reserved.
func TestClusterSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	c := startProcessCluster(t, 3, 1)
	endpoints, key := c.deploy(100)
	m, _ := catalog.Default().Lookup("gpt-4o", "2024-08-06")
	capacity := float64(100 * m.InputTPMPerPTU)

	// Five-second streams at about half the capacity, so every replica
	// holds several calls in flight when one is killed.
	const prompt, maxTokens = 100, 120
	perCall := float64(prompt + 8 + maxTokens*int(m.OutputWeight))
	var log lockedBuffer
	cfg := bench.Config{Endpoint: endpoints[0], MoreEndpoints: endpoints[1:], Deployment: "gpt-4o", APIKey: key,
		APIVersion: "2024-10-21", Clients: 200, Rate: 0.5 * capacity / perCall, Duration: 31 * time.Second,
		Shape: bench.Shape{ContextTokens: prompt, MaxTokens: maxTokens}, Model: "gpt-4o@2024-08-06",
		RequestLog: &log, Seed: 2}
	var killedAt time.Time
	killed := make(chan struct{})
	go func() {
		time.Sleep(12 * time.Second)
		killedAt = time.Now()
		c.replicas[2].cmd.Process.Kill() // SIGKILL: no shutdown, no settle
		close(killed)
	}()
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	<-killed
	ended := time.Now()

	var before, after, lost, afterFailed int
	for _, call := range readCalls(t, log.String()) {
		switch {
		case call.Outcome == "ok" && call.Start.Before(killedAt):
			before++
		case call.Outcome == "ok":
			after++
		case call.Start.Before(killedAt):
			lost++ // in flight on the killed replica
		default:
			afterFailed++ // sent to the dead replica's address
		}
	}
	t.Logf("%d calls: %d succeeded before the kill, %d after it; %d cut off by it, %d sent to the dead replica after it (statuses %v)",
		rep.Summary.Calls, before, after, lost, afterFailed, rep.Summary.Statuses)
	if lost == 0 {
		t.Errorf("no call was in flight on the killed replica; the test did not test anything")
	}
	// The two survivors take their two thirds of the calls after the kill.
	if after == 0 || float64(after) < 0.5*float64(after+afterFailed) {
		t.Errorf("after the kill %d calls succeeded and %d failed: the survivors did not keep serving", after, afterFailed)
	}
	if rep.Summary.Throttled != 0 {
		t.Errorf("%d calls throttled at half the capacity", rep.Summary.Throttled)
	}

	// No new calls from here: the level drains at the capacity, dead
	// replica's reservations included, and reaches zero within its drain
	// time; a reservation held for good would keep it above.
	level := bucketLevel(t, c.replicas[0].url, c.token)
	deadline := ended.Add(time.Duration(level*float64(time.Minute)) + 2*time.Second)
	for level > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("bucket still at %.4f of capacity %s after the load ended: reservations leaked", level, time.Since(ended))
		}
		time.Sleep(200 * time.Millisecond)
		level = bucketLevel(t, c.replicas[1].url, c.token)
	}
	t.Logf("bucket empty %s after the load ended", time.Since(ended).Round(10*time.Millisecond))
	// The survivors still serve.
	for i := range 2 {
		if status, _ := chat(t, endpoints[i], key, "hello", 5); status != http.StatusOK {
			t.Errorf("replica %d after the kill: %d", i, status)
		}
	}
}

// bucketLevel reads ptu_deployment_bucket_level_ratio of the only deployment
// with calls from a replica's /metrics.
func bucketLevel(t testing.TB, base, token string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "ptu_deployment_bucket_level_ratio{") {
			v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", l, err)
			}
			return v
		}
	}
	t.Fatalf("no ptu_deployment_bucket_level_ratio in %s/metrics", base)
	return 0
}

// BenchmarkClusterLimitError measures how far one deployment's admitted
// throughput strays from its capacity at 300 % offered load spread over 1, 2
// and 3 `ptu serve` processes sharing Redis (docs/benchmarks.md). Each
// iteration is a 40-second run.
func BenchmarkClusterLimitError(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			c := startProcessCluster(b, n, 50)
			var worst float64
			for range b.N {
				ratio, _ := holdAtPTUs(b, c, 3, 40*time.Second)
				worst = max(worst, math.Abs(ratio-1))
				b.ReportMetric(100*ratio, "admitted-%")
			}
			b.ReportMetric(100*worst, "limit-error-%")
		})
	}
}

// BenchmarkClusterCallsPerSecond drives a deployment larger than the
// load with as many non-throttled streaming calls as the replicas answer
// (64 clients, closed loop, 15 s), round-robin over 1, 2 and 3 processes.
// On one machine the replicas share its cores, so the total, not the
// per-replica figure, is what the machine does.
func BenchmarkClusterCallsPerSecond(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			c := startProcessCluster(b, n, 1000)
			// 500 PTUs of gpt-4o-mini take 18.5 M tokens a minute: about
			// 4,000 of these calls a second, past what one machine sends.
			endpoints, key := c.deployModel("gpt-4o-mini", "2024-07-18", 500)
			for range b.N {
				rep, err := bench.Run(context.Background(), bench.Config{Endpoint: endpoints[0], MoreEndpoints: endpoints[1:],
					Deployment: "gpt-4o-mini", APIKey: key, APIVersion: "2024-10-21", Clients: 64, Duration: 15 * time.Second,
					Shape: bench.Shape{ContextTokens: 50, MaxTokens: 5}, Model: "gpt-4o-mini@2024-07-18", Seed: 3})
				if err != nil {
					b.Fatal(err)
				}
				s := rep.Summary
				if s.Failed != 0 || s.Throttled != 0 {
					b.Fatalf("%d failed, %d throttled (%v)", s.Failed, s.Throttled, s.Statuses)
				}
				perSec := float64(s.Succeeded) / rep.End.Sub(rep.Start).Seconds()
				b.ReportMetric(perSec, "calls/s")
				b.ReportMetric(perSec/float64(n), "calls/s/replica")
			}
		})
	}
}
