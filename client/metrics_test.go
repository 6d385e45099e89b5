package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// TestListMetrics: a call through the gateway shows in the account's
// utilization and request counts; definitions list the metrics; the
// service's errors come back as *client.Error.
func TestListMetrics(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, ac := e.account("rg", "mon", "eastus")
	d := e.deploy("rg", "mon", "gpt-4o")
	start := e.clock.Now()
	if _, err := ac.ChatCompletion(ctx, d.Name, chatReq("How big is a PTU?")); err != nil {
		t.Fatal(err)
	}
	e.advance(5 * time.Minute)
	if err := e.s.Metrics.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := e.c.AccountID(ctx, "rg", "mon")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.c.ListMetrics(ctx, id, client.MetricsQuery{
		Metricnames: []string{"AzureOpenAIProvisionedManagedUtilizationV2", "AzureOpenAIRequests"},
		Timespan:    start.Truncate(time.Minute).Format(time.RFC3339) + "/PT3M",
		Interval:    "PT1M", Aggregation: []string{"Average", "Total"},
		Filter: "ModelDeploymentName eq '*'",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Interval != "PT1M" || len(res.Value) != 2 || res.Value[0].Unit != "Percent" || len(res.Value[0].Timeseries) != 1 {
		t.Fatalf("response %+v", res)
	}
	util, reqs := res.Value[0].Timeseries[0], res.Value[1].Timeseries[0]
	if len(util.Data) != 3 || util.Metadatavalues[0].Value != "gpt-4o" || util.Metadatavalues[0].Name.Value != "modeldeploymentname" {
		t.Fatalf("utilization series %+v", util)
	}
	if !util.Data[0].TimeStamp.Equal(start.Truncate(time.Minute)) || util.Data[0].Get("average") == nil || *util.Data[0].Average <= 0 ||
		util.Data[1].Get("Average") == nil || *util.Data[1].Average != 0 {
		t.Errorf("utilization %+v %+v", util.Data[0], util.Data[1])
	}
	if v := reqs.Data[0].Get("Total"); v == nil || *v != 1 {
		t.Errorf("requests in the call's minute: %v", v)
	}

	defs, err := e.c.ListMetricDefinitions(ctx, id, client.MetricsNamespace)
	if err != nil || len(defs) < 5 {
		t.Fatalf("definitions: %d, %v", len(defs), err)
	}
	found := false
	for _, d := range defs {
		found = found || d.Name.Value == "AzureOpenAIProvisionedManagedUtilizationV2" && d.Unit == "Percent" && len(d.MetricAvailabilities) > 0
	}
	if !found {
		t.Errorf("no utilization definition in %+v", defs)
	}

	var ce *client.Error
	if _, err := e.c.ListMetrics(ctx, id, client.MetricsQuery{Metricnames: []string{"Nope"}}); !errors.As(err, &ce) || ce.Code != "BadRequest" {
		t.Errorf("unknown metric: %v", err)
	}
	if _, err := e.c.ListMetrics(ctx, "mon", client.MetricsQuery{Metricnames: []string{"AzureOpenAIRequests"}}); err == nil {
		t.Error("a name instead of an id was accepted")
	}
	if _, err := e.c.ListMetrics(ctx, id, client.MetricsQuery{}); err == nil {
		t.Error("no metric names was accepted")
	}
}
