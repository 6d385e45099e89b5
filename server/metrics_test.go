package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
	"github.com/ptu-dev/ptu/tokens"
)

// arrivals is a slog handler that keeps, from the access lines, when each
// call reached the server on the scaled clock (now, less its latency).
type arrivals struct {
	clk *clock.Fake
	mu  *sync.Mutex
	at  map[string][]time.Time // by deployment
}

func (a arrivals) Enabled(context.Context, slog.Level) bool { return true }
func (a arrivals) WithAttrs([]slog.Attr) slog.Handler       { return a }
func (a arrivals) WithGroup(string) slog.Handler            { return a }
func (a arrivals) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "inference" {
		return nil
	}
	now := a.clk.Now()
	var dep string
	var latency float64
	r.Attrs(func(at slog.Attr) bool {
		switch at.Key {
		case "deployment":
			dep = at.Value.String()
		case "latency_ms":
			latency = at.Value.Float64()
		}
		return true
	})
	a.mu.Lock()
	a.at[dep] = append(a.at[dep], now.Add(-time.Duration(latency*float64(time.Millisecond))))
	a.mu.Unlock()
	return nil
}

// The correctness test, with the simulated engine time-scaled:
// steady offered load at 60 % of a deployment's capacity reads 60 % ± 3 in
// every full minute; at 200 % it reads 97–105 % once the bucket's one-minute
// burst allowance is spent (the first minute; see the metrics package
// documentation). The Azure-shaped API and Prometheus agree on every total.
//
// A run counts only if the server received the load as planned (see the
// checks below): a stall of a tenth of a second is three seconds here, and
// a machine busy with other work stalls that long.
// A machine too busy for that at 30 times real time gets a second run at 10
// times; if that does not count either, the test fails under CI=true and is
// skipped elsewhere (a developer machine busy with other work).
func TestUtilizationUnderSteadyLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for nine seconds of real time, or half a minute on a busy machine")
	}
	var problems []string
	for _, scale := range []float64{30, 10} {
		problems = utilizationRun(t, scale)
		if problems == nil {
			return
		}
		t.Logf("time scale %g: the load did not reach the server as planned, so the run does not count:\n  %s", scale, strings.Join(problems, "\n  "))
	}
	msg := "the machine was too busy to offer a steady load at any time scale tried:\n  " + strings.Join(problems, "\n  ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// utilizationRun runs the test at one time scale. It returns why the run
// does not count, or nil when it counted (its assertions then reported).
func utilizationRun(t *testing.T, scale float64) []string {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// The clock runs scale times faster than real time. Passed as
	// server.Options.Now with SimTimeScale set to the same scale, it makes
	// the leaky bucket, the metric minutes and the simulated engine agree.
	clk := clock.NewFake(t0.Add(-time.Hour))
	clk.Run(scale)
	var mu sync.Mutex
	arrived := arrivals{clk: clk, mu: &mu, at: map[string][]time.Time{}}
	ctx := context.Background()
	ts := testserver.Start(t, server.Options{SimTimeScale: scale, Now: clk.Now, Logger: slog.New(arrived)})
	defer ts.Stop()
	s := ts.Server

	sub := s.Config.Subscriptions[0].ID
	acct, _, err := s.Control.PutAccount(ctx, sub, "rg", "load", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	const ptus = 15
	for _, name := range []string{"steady", "flood"} {
		c := ptus
		if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "load", name, control.DeploymentInput{
			Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &c}); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := s.Catalog.Lookup("gpt-4o", "2024-08-06")
	capacity := float64(ptus * m.InputTPMPerPTU) // input-equivalent tokens per minute

	// Every call costs the same, about 1 % of a minute of capacity: its
	// prompt tokens plus the output weight times max_tokens (the engine's
	// answers run far past 20 tokens).
	const maxTokens = 20
	prompt := strings.Repeat("How many tokens per minute does one provisioned throughput unit serve? ", 23)
	enc, err := tokens.Get(m.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	cost := float64(enc.CountChat([]tokens.Message{{Role: "user", Content: prompt}})) + m.OutputWeight*maxTokens
	body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": prompt}}, "max_tokens": maxTokens})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	var (
		statuses = map[string]map[int]int{}
		failures []string
		calls    sync.WaitGroup
	)
	send := func(dep string) {
		defer calls.Done()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/accounts/load/openai/deployments/"+dep+"/chat/completions?api-version=2024-10-21", bytes.NewReader(body))
		req.Header.Set("api-key", acct.Key1)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures = append(failures, err.Error())
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if statuses[dep] == nil {
			statuses[dep] = map[int]int{}
		}
		statuses[dep][resp.StatusCode]++
	}
	// One call to each deployment an hour (simulated) before the load builds
	// the engines, the tokenizer tables and the connections, which would
	// otherwise hold up the first calls of the load.
	for _, dep := range []string{"steady", "flood"} {
		calls.Add(1)
		send(dep)
	}

	// offer sends calls to dep at load × capacity, evenly spaced in
	// simulated time from 20 s before t0 (so that the minutes checked are
	// past the start) until t0+d, and keeps when they were planned.
	planned := map[string][]time.Time{}
	offer := func(dep string, load float64, d time.Duration, wg *sync.WaitGroup) {
		defer wg.Done()
		every := time.Duration(cost / (load * capacity) * float64(time.Minute))
		var plan []time.Time
		for at := t0.Add(-20 * time.Second); at.Before(t0.Add(d)); at = at.Add(every) {
			_ = clock.SleepUntil(context.Background(), clk, at)
			plan = append(plan, at)
			calls.Add(1)
			go send(dep)
		}
		mu.Lock()
		planned[dep] = plan
		mu.Unlock()
	}
	clk.Set(t0.Add(-22 * time.Second))
	var gens sync.WaitGroup
	gens.Add(2)
	go offer("steady", 0.6, 3*time.Minute, &gens)
	go offer("flood", 2.0, 4*time.Minute, &gens)
	gens.Wait()
	calls.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d calls failed, e.g. %s", len(failures), failures[0])
	}
	if err := s.Metrics.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}

	// Did the server receive the load as planned? The steady load within one
	// call (1 %) of the plan in each minute. The flood within three calls,
	// and with a call arriving in the last 1.5 s before each minute's end:
	// admission holds the flood at the bucket's level, which a pause lets
	// drain (2.5 % of a minute in 1.5 s), and a minute that ends in a pause
	// hands what it did not admit to the next.
	perMinute := func(ts []time.Time, minute int) int {
		n := 0
		for _, at := range ts {
			if at.Truncate(time.Minute).Equal(t0.Add(time.Duration(minute) * time.Minute)) {
				n++
			}
		}
		return n
	}
	var void []string
	for dep, minutes := range map[string]int{"steady": 3, "flood": 4} {
		slack := map[string]int{"steady": 1, "flood": 3}[dep]
		for i := range minutes {
			if p, a := perMinute(planned[dep], i), perMinute(arrived.at[dep], i); a < p-slack || a > p+slack {
				void = append(void, fmt.Sprintf("%s minute %d: %d calls planned, %d arrived", dep, i, p, a))
			}
		}
	}
	flood := slices.SortedFunc(slices.Values(arrived.at["flood"]), time.Time.Compare)
	for m := 1; m <= 4; m++ {
		end := t0.Add(time.Duration(m) * time.Minute)
		i, _ := slices.BinarySearchFunc(flood, end, time.Time.Compare)
		if i == 0 || end.Sub(flood[i-1]) > 1500*time.Millisecond {
			void = append(void, fmt.Sprintf("flood: no call arrived in the last 1.5 s before %s", end.Format("15:04")))
		}
	}
	if void != nil {
		return void
	}
	if statuses["steady"][429] != 0 || statuses["flood"][429] == 0 {
		t.Errorf("statuses %v: the steady load must never be throttled and the flood must be", statuses)
	}

	type point struct {
		TimeStamp                        time.Time
		Average, Maximum, Minimum, Total *float64
	}
	type response struct {
		Value []struct {
			Timeseries []struct {
				Metadatavalues []struct{ Value string }
				Data           []point
			}
		}
	}
	query := func(params url.Values) response {
		t.Helper()
		params.Set("api-version", "2024-02-01")
		req, _ := http.NewRequest(http.MethodGet, s.URL+acct.ID()+"/providers/Microsoft.Insights/metrics?"+params.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("metrics API: %d %s", resp.StatusCode, raw)
		}
		var r response
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	util := query(url.Values{"metricnames": {"AzureOpenAIProvisionedManagedUtilizationV2"}, "interval": {"PT1M"},
		"timespan":    {t0.Format(time.RFC3339) + "/" + t0.Add(5*time.Minute).Format(time.RFC3339)},
		"aggregation": {"Average,Maximum,Minimum"}, "$filter": {"ModelDeploymentName eq '*'"}})
	byDep := map[string][]point{}
	for _, ts := range util.Value[0].Timeseries {
		byDep[ts.Metadatavalues[0].Value] = ts.Data
	}
	if len(byDep["steady"]) != 5 || len(byDep["flood"]) != 5 {
		t.Fatalf("series: %v", byDep)
	}
	for _, dep := range []string{"steady", "flood"} {
		var line []string
		for _, p := range byDep[dep] {
			line = append(line, fmt.Sprintf("%s avg %.1f [%.1f, %.1f]", p.TimeStamp.Format("15:04"), *p.Average, *p.Minimum, *p.Maximum))
			if *p.Minimum > *p.Average+1e-9 || *p.Maximum < *p.Average-1e-9 {
				t.Errorf("%s %s: minimum %v, average %v, maximum %v out of order", dep, p.TimeStamp, *p.Minimum, *p.Average, *p.Maximum)
			}
		}
		t.Logf("time scale %g, %s: %s", scale, dep, strings.Join(line, " | "))
	}
	for i := 0; i < 3; i++ {
		if a := *byDep["steady"][i].Average; a < 57 || a > 63 {
			t.Errorf("steady 60%% load, minute %d: utilization %.2f%%, want 60 ± 3", i, a)
		}
	}
	for i := 1; i < 4; i++ {
		if a := *byDep["flood"][i].Average; a < 97 || a > 105 {
			t.Errorf("200%% load, minute %d: utilization %.2f%%, want 97–105", i, a)
		}
	}

	// Prometheus agrees with the Azure-shaped API on every total (the
	// warm-up calls included).
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	expo, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	prom := func(series string) float64 {
		for _, line := range strings.Split(string(expo), "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}
	everything := t0.Add(-3*time.Hour).Format(time.RFC3339) + "/" + t0.Add(time.Hour).Format(time.RFC3339)
	reqs := query(url.Values{"metricnames": {"AzureOpenAIRequests"}, "interval": {"FULL"}, "timespan": {everything},
		"$filter": {"ModelDeploymentName eq '*' and StatusCode eq '*'"}})
	azureRequests := map[string]float64{}
	for _, ts := range reqs.Value[0].Timeseries {
		azureRequests[ts.Metadatavalues[0].Value+"/"+ts.Metadatavalues[1].Value] = *ts.Data[0].Total
	}
	for dep, codes := range statuses {
		for code, n := range codes {
			k := fmt.Sprintf("%s/%d", dep, code)
			p := prom(fmt.Sprintf(`ptu_requests_total{account="load",code="%d",deployment="%s",stream="false"}`, code, dep))
			if azureRequests[k] != float64(n) || p != float64(n) {
				t.Errorf("%s: %d responses, Azure API counts %v, Prometheus %v", k, n, azureRequests[k], p)
			}
		}
		// Utilization's Total is its percent-minutes: consumed tokens over capacity.
		total := query(url.Values{"metricnames": {"AzureOpenAIProvisionedManagedUtilizationV2"}, "interval": {"FULL"}, "timespan": {everything},
			"aggregation": {"Total"}, "$filter": {"ModelDeploymentName eq '" + dep + "'"}})
		consumed := *total.Value[0].Timeseries[0].Data[0].Total / 100 * capacity
		if p := prom(`ptu_deployment_consumed_tokens_total{account="load",deployment="` + dep + `"}`); p == 0 || (consumed-p)/p > 1e-9 || (p-consumed)/p > 1e-9 {
			t.Errorf("%s: tokens consumed per the Azure API %v, per Prometheus %v", dep, consumed, p)
		}
	}
	if p := prom(`ptu_throttled_requests_total{account="load",deployment="flood"}`); p != float64(statuses["flood"][429]) {
		t.Errorf("throttled: Prometheus %v, responses %d", p, statuses["flood"][429])
	}
	return nil
}
