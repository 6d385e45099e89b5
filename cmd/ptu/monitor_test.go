package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	ptucore "github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// monitorAccount creates account "mon" in resource group "rg" with a 15-PTU
// gpt-4o deployment of each name, and returns the account.
func monitorAccount(t *testing.T, s *server.Server, deployments ...string) ptucore.Account {
	t.Helper()
	ctx := context.Background()
	sub := s.Config.Subscriptions[0].ID
	acct, _, err := s.Control.PutAccount(ctx, sub, "rg", "mon", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range deployments {
		c := 15
		if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "mon", name, control.DeploymentInput{
			Model: ptucore.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptucore.GlobalProvisionedManaged, Capacity: &c}); err != nil {
			t.Fatal(err)
		}
	}
	return acct
}

// utilPoint is a stored utilization minute: average, least and greatest sample.
func utilPoint(acct ptucore.Account, dep string, at time.Time, avg, lo, hi float64) ptucore.MetricPoint {
	return ptucore.MetricPoint{Resource: acct.ID(), Metric: "AzureOpenAIProvisionedManagedUtilizationV2",
		Dimensions: ptucore.MetricDimensions{Deployment: dep, ModelName: "gpt-4o", ModelVersion: "2024-08-06", Region: "eastus"},
		Time:       at, Grain: time.Minute, Count: 1, Total: avg, Minimum: lo, Maximum: hi}
}

// TestMetricsListOutputs: JSON in az's shape, az's table, and the chart, over
// points written to the store.
func TestMetricsListOutputs(t *testing.T) {
	e := newCLIEnv(t)
	acct := monitorAccount(t, e.s, "gpt-4o", "gpt-4o-mini")
	t0 := time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC)
	var points []ptucore.MetricPoint
	for i, v := range []float64{20, 45, 60, 80, 100, 104, 100, 70, 35, 10} {
		points = append(points, utilPoint(acct, "gpt-4o", t0.Add(time.Duration(i)*time.Minute), v, v*0.8, min(v*1.2, 150)))
	}
	for i, v := range []float64{5, 10, 15} {
		points = append(points, utilPoint(acct, "gpt-4o-mini", t0.Add(time.Duration(i)*time.Minute), v, v, v))
	}
	if err := e.s.Store.AddMetricPoints(context.Background(), points); err != nil {
		t.Fatal(err)
	}
	span := []string{"--start-time", "2026-03-04T04:00:00Z", "--end-time", "2026-03-04T04:10:00Z"}
	byName := append([]string{"monitor", "metrics", "list", "-g", "rg", "--resource", "mon",
		"--metric", "AzureOpenAIProvisionedManagedUtilizationV2", "--interval", "PT1M"}, span...)

	// Table: az's rows, one per point and series, with the split's dimension.
	table := e.mustPTU(append(byName, "--filter", "ModelDeploymentName eq '*'", "--aggregation", "Average,Maximum", "-o", "table")...)
	e.golden("metrics-list-table", table)
	if !strings.Contains(table, "2026-03-04 04:05:00  Provisioned-managed Utilization V2  gpt-4o ") {
		t.Errorf("table has no row for gpt-4o at 04:05:\n%s", table)
	}

	// Chart: one per series and aggregation, from the same answer.
	chart := e.mustPTU(append(byName, "--dimension", "ModelDeploymentName", "--aggregation", "Average", "--chart")...)
	e.golden("metrics-list-chart", chart)
	if got := strings.Count(chart, "Provisioned-managed Utilization V2 · Average (Percent) · modeldeploymentname="); got != 2 {
		t.Errorf("%d charts, want one per deployment:\n%s", got, chart)
	}
	if c2 := e.mustPTU(append(byName, "--dimension", "ModelDeploymentName", "--aggregation", "Average", "-o", "chart")...); c2 != chart {
		t.Errorf("-o chart differs from --chart")
	}

	// JSON as az prints it: the full id works as well as -g and a name, every
	// aggregation is there (null when not asked for), times in isoformat.
	out := e.mustPTU("monitor", "metrics", "list", "--resource", acct.ID(), "--metrics", "AzureOpenAIProvisionedManagedUtilizationV2",
		"--filter", "ModelDeploymentName eq 'gpt-4o'", "--start-time", "2026-03-04T04:05:00Z", "--offset", "2m")
	var doc struct {
		Interval, Timespan string
		Value              []struct {
			ResourceGroup string
			Unit          string
			Timeseries    []struct {
				Data []map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Interval != "PT1M" || doc.Timespan != "2026-03-04T04:05:00Z/2026-03-04T04:07:00Z" || len(doc.Value) != 1 ||
		doc.Value[0].ResourceGroup != "rg" || doc.Value[0].Unit != "Percent" || len(doc.Value[0].Timeseries) != 1 {
		t.Fatalf("json:\n%s", out)
	}
	data := doc.Value[0].Timeseries[0].Data
	want := []map[string]any{
		{"timeStamp": "2026-03-04T04:05:00+00:00", "average": 104.0, "minimum": nil, "maximum": nil, "total": nil, "count": nil},
		{"timeStamp": "2026-03-04T04:06:00+00:00", "average": 100.0, "minimum": nil, "maximum": nil, "total": nil, "count": nil},
	}
	if fmt.Sprint(data) != fmt.Sprint(want) {
		t.Errorf("data %v, want %v", data, want)
	}

	// With no time flags the timespan is the last --offset on the server's clock.
	if got := e.mustPTU(append(byName[:len(byName)-len(span)], "--offset", "30m", "--query", "timespan", "-o", "tsv")...); got != "2026-03-04T04:36:00Z/2026-03-04T05:07:00Z\n" {
		t.Errorf("default timespan %q", got)
	}

	// list-definitions, az's table.
	defs := e.mustPTU("monitor", "metrics", "list-definitions", "-g", "rg", "-n", "mon", "-o", "table")
	if !strings.HasPrefix(defs, "Display Name") || !strings.Contains(defs, "Provisioned-managed Utilization V2  AzureOpenAIProvisionedManagedUtilizationV2  Percent") {
		t.Errorf("list-definitions table:\n%s", defs)
	}

	for name, args := range map[string][]string{
		"no metric":        {"monitor", "metrics", "list", "-g", "rg", "--resource", "mon"},
		"no resource":      {"monitor", "metrics", "list", "--metric", "AzureOpenAIRequests"},
		"filter and dim":   append(byName, "--filter", "StatusCode eq '*'", "--dimension", "ModelDeploymentName"),
		"unknown metric":   {"monitor", "metrics", "list", "-g", "rg", "--resource", "mon", "--metric", "Nope"},
		"bad dimension":    append(byName, "--dimension", "StatusCode"),
		"bad interval":     append(byName, "--interval", "7x"),
		"bad start":        append(byName, "--start-time", "yesterday"),
		"query with chart": append(byName, "--chart", "--query", "value"),
		"resource type":    append(byName, "--resource-type", "Microsoft.Compute/virtualMachines"),
		"unknown account":  {"monitor", "metrics", "list", "-g", "rg", "--resource", "nope", "--metric", "AzureOpenAIRequests"},
	} {
		if out, _, err := ptu(t, "", args...); err == nil {
			t.Errorf("%s: no error; printed %q", name, out)
		}
	}
	if _, _, err := ptu(t, "", append(byName, "--dimension", "StatusCode")...); err == nil || !strings.Contains(err.Error(), "does not support requested dimension") {
		t.Errorf("the server's message does not reach the user: %v", err)
	}
}

func TestMetricsFlagConversions(t *testing.T) {
	for in, want := range map[string]string{"1m": "PT1M", "5m": "PT5M", "1h30m": "PT1H30M", "1d": "P1D", "2d3h": "PT51H", "pt15m": "PT15M", "full": "FULL", "90s": "PT1M30S"} {
		if got, err := isoDuration("interval", in, true); err != nil || got != want {
			t.Errorf("isoDuration(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0m", "1w", "m5", "full"} {
		if _, err := isoDuration("offset", bad, false); err == nil {
			t.Errorf("isoDuration(%q) accepted", bad)
		}
	}
	fl := metricsListFlags{metrics: []string{"AzureOpenAIRequests"}, dims: []string{"ModelDeploymentName", "StatusCode"},
		interval: "5m", offset: "2h", end: "2026-03-02 10:00", top: 3, chartHeight: 10}
	q, err := fl.query()
	if err != nil {
		t.Fatal(err)
	}
	if q.Filter != "ModelDeploymentName eq '*' and StatusCode eq '*'" || q.Interval != "PT5M" || q.Timespan != "PT2H/2026-03-02T10:00:00Z" || q.Top != 3 {
		t.Errorf("query %+v", q)
	}
}

// TestChartScale: the axis reaches the greatest value, a Percent chart has
// its line at 100, and a long series is grouped to fit.
func TestChartScale(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 0.3: 0.5, 7: 10, 12: 20, 25: 25, 26: 50, 380: 500} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
	f := func(v float64) *float64 { return &v }
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	times := []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)}
	got := drawChart("u", times, []*float64{f(50), nil, f(150)}, true, 4, "PT1M")
	want := "u\n" +
		"     max 150, last 150\n" +
		"200 ┤\n" +
		"    ┤            ██████\n" +
		"100 ┤┈┈┈┈┈┈┈┈┈┈┈┈██████\n" +
		"    ┤██████      ██████\n" +
		"  0 └──────────────────\n" +
		"     09:00 09:01  09:02\n"
	if got != want {
		t.Errorf("chart:\n%s\nwant:\n%s", got, want)
	}
	long := make([]*float64, 600)
	ltimes := make([]time.Time, 600)
	for i := range long {
		long[i], ltimes[i] = f(float64(i%50)), t0.Add(time.Duration(i)*time.Minute)
	}
	got = drawChart("long", ltimes, long, false, 5, "PT1M")
	for _, l := range strings.Split(got, "\n")[2:7] {
		if n := len([]rune(l)); n > chartMaxColumns+6 {
			t.Errorf("a row of %d runes:\n%s", n, got)
			break
		}
	}
	if !strings.Contains(got, "a column is the greatest of 5 points") || !strings.HasSuffix(got, "18:55\n") {
		t.Errorf("long chart:\n%s", got)
	}
}

// TestUtilizationThreeAgree is the "the three agree": calls through
// the gateway in three minutes, then each minute's utilization read from
// Prometheus (the consumed-tokens counter's increase over the minute ÷ the
// capacity gauge), from the Azure-shaped API, and from the CLI.
func TestUtilizationThreeAgree(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0.Add(-time.Minute))
	s := testserver.Start(t, server.Options{SimTimeScale: 1000, Now: clk.Now}).Server
	useServer(t, s.URL, s.AdminToken)
	acct := monitorAccount(t, s, "gpt-4o", "other")

	get := func(u string, auth bool) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		return b
	}
	prom := func(series string) float64 {
		t.Helper()
		for _, line := range strings.Split(string(get(s.URL+"/metrics", false)), "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}
	call := func(dep string, maxTokens int) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": strings.Repeat("How are provisioned throughput units sized? ", 40)}},
			"max_tokens": maxTokens})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/accounts/mon/openai/deployments/"+dep+"/chat/completions?api-version=2024-10-21", bytes.NewReader(body))
		req.Header.Set("api-key", acct.Key1)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call to %s: %d", dep, resp.StatusCode)
		}
	}

	// Three minutes of different load on gpt-4o (and a little on "other").
	consumed := `ptu_deployment_consumed_tokens_total{account="mon",deployment="gpt-4o"}`
	var fromProm []float64
	for m, calls := range []int{3, 8, 1} {
		start := t0.Add(time.Duration(m) * time.Minute)
		clk.Set(start.Add(5 * time.Second))
		before := prom(consumed)
		for i := range calls {
			clk.Set(start.Add(time.Duration(5+5*i) * time.Second))
			call("gpt-4o", 50+10*i)
		}
		call("other", 20)
		capacity := prom(`ptu_deployment_capacity_tokens_per_minute{account="mon",deployment="gpt-4o"}`)
		if capacity != 37500 {
			t.Fatalf("capacity gauge %v, want 37500", capacity)
		}
		fromProm = append(fromProm, 100*(prom(consumed)-before)/capacity)
	}
	clk.Set(t0.Add(6 * time.Minute))
	if err := s.Metrics.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The API, as armmonitor or curl would call it.
	span := "2026-03-02T09:00:00Z/2026-03-02T09:03:00Z"
	q := url.Values{"api-version": {"2024-02-01"}, "metricnames": {"AzureOpenAIProvisionedManagedUtilizationV2"}, "timespan": {span},
		"interval": {"PT1M"}, "aggregation": {"Average"}, "$filter": {"ModelDeploymentName eq 'gpt-4o'"}}
	var api struct {
		Value []struct {
			Timeseries []struct {
				Data []struct{ Average *float64 }
			}
		}
	}
	if err := json.Unmarshal(get(s.URL+acct.ID()+"/providers/Microsoft.Insights/metrics?"+q.Encode(), true), &api); err != nil {
		t.Fatal(err)
	}

	// The CLI, table and chart.
	args := []string{"monitor", "metrics", "list", "-g", "rg", "--resource", "mon", "--metric", "AzureOpenAIProvisionedManagedUtilizationV2",
		"--interval", "PT1M", "--filter", "ModelDeploymentName eq '*'", "--start-time", "2026-03-02T09:00:00Z", "--end-time", "2026-03-02T09:03:00Z"}
	out, _, err := ptu(t, "", append(args, "-o", "tsv", "--query", "value[0].timeseries[?metadatavalues[0].value=='gpt-4o'].data[] | [].average")...)
	if err != nil {
		t.Fatal(err)
	}
	fromCLI := strings.Fields(out)
	table, _, err := ptu(t, "", append(args, "-o", "table")...)
	if err != nil {
		t.Fatal(err)
	}
	chart, _, err := ptu(t, "", append(args, "-o", "chart")...)
	if err != nil {
		t.Fatal(err)
	}

	if len(api.Value) != 1 || len(api.Value[0].Timeseries) != 1 || len(api.Value[0].Timeseries[0].Data) != 3 || len(fromCLI) != 3 {
		t.Fatalf("API answered %+v; CLI printed %q", api, out)
	}
	for m := range 3 {
		p := fromProm[m]
		a := api.Value[0].Timeseries[0].Data[m].Average
		c, err := strconv.ParseFloat(fromCLI[m], 64)
		if p <= 0 || a == nil || err != nil || abs(*a-p) > 1e-9 || abs(c-p) > 1e-9 {
			t.Errorf("minute %d: Prometheus %v %%, API %v, CLI %q", m, p, a, fromCLI[m])
			continue
		}
		ts := t0.Add(time.Duration(m) * time.Minute)
		if row := ts.Format(time.DateTime) + "  Provisioned-managed Utilization V2  gpt-4o                 " + formatTick(p); !strings.Contains(table, row) && !strings.Contains(table, strconv.FormatFloat(p, 'f', -1, 64)) {
			t.Errorf("minute %d: the table has no row with %v:\n%s", m, p, table)
		}
	}
	if fromProm[1] <= fromProm[0] || fromProm[1] <= fromProm[2] {
		t.Errorf("the busiest minute is not the second: %v", fromProm)
	}
	// The chart's scale reads the busiest minute.
	if !strings.Contains(chart, "modeldeploymentname=gpt-4o\n     max "+formatTick(fromProm[1])+", last "+formatTick(fromProm[2])+"\n") {
		t.Errorf("chart does not read max %v, last %v:\n%s", fromProm[1], fromProm[2], chart)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
