package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/metrics"
)

// metricsMinute is the first minute the fixture's calls end in.
var metricsMinute = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

// metricsEnv is an ARM handler serving metrics recorded for two 15-PTU gpt-4o
// deployments of acct1 (37,500 input-equivalent tokens per minute each):
// minute 03:10 gpt-4o-a settles 30 % and gpt-4o-b 10 %; minute 03:11 gpt-4o-a
// settles 60 % and refuses two calls with 429.
func metricsEnv(t *testing.T) (*env, http.Handler, ptu.Account) {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	acct, _, err := e.svc.PutAccount(ctx, subID, "rg1", "acct1", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]ptu.Deployment{}
	for _, name := range []string{"gpt-4o-a", "gpt-4o-b"} {
		capacity := 15
		d, _, err := e.svc.PutDeployment(ctx, subID, "rg1", "acct1", name, control.DeploymentInput{
			Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity})
		if err != nil {
			t.Fatal(err)
		}
		deps[name] = d
	}
	e.clock.Set(metricsMinute)
	rec := metrics.NewRecorder(metrics.Options{Store: e.store, Catalog: e.svc.Catalog(), Now: e.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	call := func(at time.Duration, dep string, cost float64, status int, stream bool) {
		e.clock.Set(metricsMinute.Add(at))
		r := ptu.CallRecord{RequestID: "r", Account: acct, Deployment: deps[dep], Operation: "ChatCompletions_Create", Stream: stream,
			Status: status, CallUsage: ptu.CallUsage{PromptTokens: int(cost) - 400, CompletionTokens: 100}, Estimate: cost, Actual: cost,
			TimeToFirstToken: 250 * time.Millisecond, Duration: 4250 * time.Millisecond}
		if status == 429 {
			r.Throttled, r.Actual, r.CompletionTokens, r.TimeToFirstToken, r.Duration = true, 0, 0, 0, time.Millisecond
		}
		rec.Record(r)
	}
	call(5*time.Second, "gpt-4o-a", 3750, 200, false)
	call(25*time.Second, "gpt-4o-a", 7500, 200, true)
	call(45*time.Second, "gpt-4o-b", 3750, 200, false)
	call(65*time.Second, "gpt-4o-a", 22500, 200, false)
	call(70*time.Second, "gpt-4o-a", 0, 429, false)
	call(71*time.Second, "gpt-4o-a", 0, 429, false)
	e.clock.Set(metricsMinute.Add(3 * time.Minute))
	if err := rec.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	reader := metrics.NewReader(e.store, metrics.ReaderOptions{Now: e.clock.Now})
	h := arm.New(arm.ServicesOf(e.svc), arm.Options{AdminToken: adminToken, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Metrics: reader})
	return e, h, acct
}

// TestMetricsShapes compares whole responses with testdata/metrics/*.json
// (regenerate with go test ./arm -run TestMetricsShapes -update).
func TestMetricsShapes(t *testing.T) {
	_, h, acct := metricsEnv(t)
	insights := acct.ID() + "/providers/Microsoft.Insights/"
	tests := []struct{ name, path string }{
		{"utilization-by-deployment", insights + "metrics?api-version=2024-02-01&metricnames=AzureOpenAIProvisionedManagedUtilizationV2" +
			"&timespan=2026-01-02T03:10:00Z/2026-01-02T03:13:00Z&interval=PT1M&aggregation=Average,Maximum&$filter=ModelDeploymentName%20eq%20'*'"},
		{"requests-by-status", insights + "metrics?api-version=2018-01-01&metricnames=AzureOpenAIRequests" +
			"&timespan=2026-01-02T03:10:00Z/2026-01-02T03:12:00Z&$filter=ModelDeploymentName%20eq%20'gpt-4o-a'%20and%20StatusCode%20eq%20'*'"},
		{"tokens-full", insights + "metrics?api-version=2023-10-01&metricnames=ProcessedPromptTokens,GeneratedTokens,AzureOpenAITimeToResponse" +
			"&timespan=2026-01-02T03:00:00Z/2026-01-02T04:00:00Z&interval=FULL&aggregation=Total,Average"},
		{"metric-definitions", insights + "metricDefinitions?api-version=2024-02-01"},
		{"unknown-metric", insights + "metrics?api-version=2024-02-01&metricnames=Latency"},
		{"bad-interval", insights + "metrics?api-version=2024-02-01&metricnames=AzureOpenAIRequests&interval=PT2M"},
		{"bad-api-version", insights + "metrics?api-version=2024-10-01&metricnames=AzureOpenAIRequests"},
		{"unknown-account", subPath("/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/nope/providers/Microsoft.Insights/metrics?api-version=2024-02-01&metricnames=AzureOpenAIRequests")},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if id := rec.Header().Get("x-ms-request-id"); id != "" {
			body = strings.ReplaceAll(body, id, "<request-id>")
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, []byte(body), "", "  "); err != nil {
			t.Fatalf("%s: %v\n%s", tt.name, err, body)
		}
		got := http.StatusText(rec.Code) + "\n" + ind.String() + "\n"
		file := filepath.Join("testdata", "metrics", tt.name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s: response differs (run go test ./arm -run TestMetricsShapes -update to accept)\n--- got\n%s\n--- want\n%s", tt.name, got, want)
		}
	}
}

// monitorClients serves h over TLS and returns the official armmonitor
// client factory pointed at it.
func monitorClients(t *testing.T, h http.Handler) *armmonitor.ClientFactory {
	t.Helper()
	return monitorClientsWith(t, h, adminToken)
}

// monitorClientsWith is monitorClients presenting token.
func monitorClientsWith(t *testing.T, h http.Handler, token string) *armmonitor.ClientFactory {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	opts := &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: "https://login.ptu.test/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: srv.URL, Audience: "https://management.ptu.test"},
			},
		},
		Transport: srv.Client(),
	}}
	f, err := armmonitor.NewClientFactory(subID, staticToken(token), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMetricsSDK(t *testing.T) {
	_, h, acct := metricsEnv(t)
	f := monitorClients(t, h)
	ctx := context.Background()

	res, err := f.NewMetricsClient().List(ctx, acct.ID(), &armmonitor.MetricsClientListOptions{
		Metricnames: to.Ptr(metrics.Utilization + "," + metrics.Requests),
		Timespan:    to.Ptr("2026-01-02T03:10:00Z/2026-01-02T03:12:00Z"),
		Interval:    to.Ptr("PT1M"),
		Aggregation: to.Ptr("Average,Maximum,Total"),
		Filter:      to.Ptr("ModelDeploymentName eq '*'"),
		Orderby:     to.Ptr("Total desc"),
		Top:         to.Ptr[int32](5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if *res.Interval != "PT1M" || *res.Timespan != "2026-01-02T03:10:00Z/2026-01-02T03:12:00Z" ||
		*res.Namespace != "Microsoft.CognitiveServices/accounts" || *res.Resourceregion != "eastus" || len(res.Value) != 2 {
		t.Fatalf("response: interval %v timespan %v namespace %v region %v, %d metrics", *res.Interval, *res.Timespan, *res.Namespace, *res.Resourceregion, len(res.Value))
	}
	util := res.Value[0]
	if *util.Name.Value != metrics.Utilization || *util.Unit != armmonitor.MetricUnitPercent || *util.ErrorCode != "Success" ||
		*util.Type != "Microsoft.Insights/metrics" || !strings.HasSuffix(*util.ID, "/providers/Microsoft.Insights/metrics/"+metrics.Utilization) {
		t.Errorf("utilization metric: %+v", util)
	}
	want := map[string][]float64{"gpt-4o-a": {30, 60}, "gpt-4o-b": {10, 0}}
	if len(util.Timeseries) != 2 {
		t.Fatalf("%d utilization series, want 2", len(util.Timeseries))
	}
	for _, ts := range util.Timeseries {
		md := ts.Metadatavalues[0]
		w := want[*md.Value]
		if *md.Name.Value != "modeldeploymentname" || w == nil || len(ts.Data) != 2 {
			t.Fatalf("series %s=%s with %d points", *md.Name.Value, *md.Value, len(ts.Data))
		}
		for i, v := range ts.Data {
			if !v.TimeStamp.Equal(metricsMinute.Add(time.Duration(i)*time.Minute)) || *v.Average != w[i] || *v.Maximum < *v.Average {
				t.Errorf("%s point %d: %v average %v maximum %v, want average %v", *md.Value, i, v.TimeStamp, *v.Average, *v.Maximum, w[i])
			}
		}
	}
	// Requests: ordered by Total, the busiest deployment first.
	reqs := res.Value[1].Timeseries
	if len(reqs) != 2 || *reqs[0].Metadatavalues[0].Value != "gpt-4o-a" || *reqs[0].Data[1].Total != 3 || *reqs[1].Data[1].Total != 0 {
		t.Errorf("requests series: %d, first %s", len(reqs), *reqs[0].Metadatavalues[0].Value)
	}

	var defs []*armmonitor.MetricDefinition
	for pager := f.NewMetricDefinitionsClient().NewListPager(acct.ID(), nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, page.Value...)
	}
	if len(defs) != len(metrics.Definitions()) {
		t.Fatalf("%d definitions", len(defs))
	}
	for _, d := range defs {
		if *d.Name.Value != metrics.Utilization {
			continue
		}
		var dims []string
		for _, dim := range d.Dimensions {
			dims = append(dims, *dim.Value)
		}
		if *d.Unit != armmonitor.MetricUnitPercent || *d.PrimaryAggregationType != armmonitor.AggregationTypeAverage ||
			strings.Join(dims, ",") != "Region,StreamType,ModelDeploymentName,ModelName,ModelVersion" ||
			*d.MetricAvailabilities[0].TimeGrain != "PT1M" || *d.MetricAvailabilities[0].Retention != "P30D" {
			t.Errorf("utilization definition: unit %s primary %s dims %v availability %s/%s", *d.Unit, *d.PrimaryAggregationType, dims,
				*d.MetricAvailabilities[0].TimeGrain, *d.MetricAvailabilities[0].Retention)
		}
	}

	_, err = f.NewMetricsClient().List(ctx, acct.ID(), &armmonitor.MetricsClientListOptions{Metricnames: to.Ptr("NoSuchMetric")})
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || re.ErrorCode != "BadRequest" {
		t.Errorf("unknown metric: %v", err)
	}
}
