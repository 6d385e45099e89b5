package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// RunMetrics runs the metric points part of the contract. open returns a new,
// empty store for each subtest and closes it when the subtest ends
// (t.Cleanup).
func RunMetrics(t *testing.T, open func(t *testing.T) ptu.MetricStore) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, ptu.MetricStore)
	}{
		{"MetricPointsMerge", testMetricPointsMerge},
		{"MetricPointsDistinctKeys", testMetricPointsDistinctKeys},
		{"MetricQueryFilter", testMetricQueryFilter},
		{"MetricPointsRejected", testMetricPointsRejected},
		{"DeleteMetricsBefore", testDeleteMetricsBefore},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Metric fixtures: the minute starts in UTC; the resource is written with
// ARM's casing and read back in another.
var metricMinute = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

const metricResource = "/subscriptions/" + sub1 + "/resourceGroups/RG1/providers/Microsoft.CognitiveServices/accounts/Acct1"

func metricPoint(metric, deployment string, at time.Time, grain time.Duration, count, total, lo, hi float64) ptu.MetricPoint {
	return ptu.MetricPoint{
		Resource: metricResource, Metric: metric,
		Dimensions: ptu.MetricDimensions{Deployment: deployment, ModelName: "gpt-4o", ModelVersion: "2024-08-06",
			Region: "eastus", StreamType: "Streaming", StatusCode: "200", IsSpillover: "false", Operation: "ChatCompletions_Create"},
		Time: at, Grain: grain, Count: count, Total: total, Minimum: lo, Maximum: hi,
	}
}

func queryMetrics(t *testing.T, s ptu.MetricStore, f ptu.MetricFilter) []ptu.MetricPoint {
	t.Helper()
	out, err := s.QueryMetrics(t.Context(), f)
	must(t, err)
	return out
}

func testMetricPointsMerge(t *testing.T, s ptu.MetricStore) {
	a := metricPoint("AzureOpenAIRequests", "dep1", metricMinute, time.Minute, 3, 3, 1, 1)
	b := metricPoint("AzureOpenAITimeToResponse", "dep1", metricMinute, time.Minute, 2, 300, 100, 200)
	must(t, s.AddMetricPoints(t.Context(), []ptu.MetricPoint{a, b}))

	// A second write of the same key merges; the key matches case-insensitively
	// and keeps the casing first written.
	b2 := b
	b2.Resource = "/SUBSCRIPTIONS/" + sub1 + "/resourcegroups/rg1/providers/microsoft.cognitiveservices/accounts/acct1"
	b2.Dimensions.Deployment = "DEP1"
	b2.Count, b2.Total, b2.Minimum, b2.Maximum = 1, 50, 50, 50
	b3 := b
	b3.Count, b3.Total, b3.Minimum, b3.Maximum = 1, 900, 900, 900
	must(t, s.AddMetricPoints(t.Context(), []ptu.MetricPoint{b2, b3}))

	got := queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource, Grain: time.Minute})
	wantB := b
	wantB.Count, wantB.Total, wantB.Minimum, wantB.Maximum = 4, 1250, 50, 900
	equal(t, "merged points", got, []ptu.MetricPoint{a, wantB})

	// An empty batch is not an error.
	must(t, s.AddMetricPoints(t.Context(), nil))
}

func testMetricPointsDistinctKeys(t *testing.T, s ptu.MetricStore) {
	base := metricPoint("AzureOpenAIRequests", "dep1", metricMinute, time.Minute, 1, 1, 1, 1)
	var points []ptu.MetricPoint
	vary := []func(p *ptu.MetricPoint){
		func(p *ptu.MetricPoint) {},
		func(p *ptu.MetricPoint) { p.Dimensions.Deployment = "dep2" },
		func(p *ptu.MetricPoint) { p.Dimensions.ModelName = "gpt-4o-mini" },
		func(p *ptu.MetricPoint) { p.Dimensions.ModelVersion = "2024-11-20" },
		func(p *ptu.MetricPoint) { p.Dimensions.Region = "westus" },
		func(p *ptu.MetricPoint) { p.Dimensions.StreamType = "" },
		func(p *ptu.MetricPoint) { p.Dimensions.StatusCode = "429" },
		func(p *ptu.MetricPoint) { p.Dimensions.IsSpillover = "true" },
		func(p *ptu.MetricPoint) { p.Dimensions.Operation = "Completions_Create" },
		func(p *ptu.MetricPoint) { p.Time = metricMinute.Add(time.Minute) },
		func(p *ptu.MetricPoint) { p.Grain, p.Time = 5*time.Minute, metricMinute.Truncate(5*time.Minute) },
		func(p *ptu.MetricPoint) { p.Metric = "ActiveTokens" },
	}
	for _, f := range vary {
		p := base
		f(&p)
		points = append(points, p)
	}
	must(t, s.AddMetricPoints(t.Context(), points))
	got := queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource})
	if len(got) != len(points) {
		t.Fatalf("%d points stored, want %d (every key distinct)", len(got), len(points))
	}
	for _, p := range got {
		if p.Count != 1 {
			t.Errorf("point %+v merged with another", p)
		}
	}
}

func testMetricQueryFilter(t *testing.T, s ptu.MetricStore) {
	other := "/subscriptions/" + sub2 + "/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct2"
	var points []ptu.MetricPoint
	for i := range 10 {
		at := metricMinute.Add(time.Duration(i) * time.Minute)
		points = append(points,
			metricPoint("AzureOpenAIRequests", "dep1", at, time.Minute, 1, float64(i), 0, 0),
			metricPoint("ActiveTokens", "dep1", at, time.Minute, 1, float64(i), 0, 0))
		p := metricPoint("AzureOpenAIRequests", "dep1", at, time.Minute, 1, float64(i), 0, 0)
		p.Resource = other
		points = append(points, p)
	}
	points = append(points, metricPoint("AzureOpenAIRequests", "dep1", metricMinute.Truncate(time.Hour), time.Hour, 10, 45, 0, 0))
	// Written newest first, read back in time order.
	for i, j := 0, len(points)-1; i < j; i, j = i+1, j-1 {
		points[i], points[j] = points[j], points[i]
	}
	must(t, s.AddMetricPoints(t.Context(), points))

	totals := func(ps []ptu.MetricPoint) string {
		out := ""
		for _, p := range ps {
			out += fmt.Sprintf("%s@%s/%s=%g ", p.Metric, p.Time.Format("15:04"), p.Grain, p.Total)
		}
		return out
	}
	from, to := metricMinute.Add(2*time.Minute), metricMinute.Add(5*time.Minute)
	got := queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource, Metrics: []string{"AzureOpenAIRequests"}, Grain: time.Minute, From: from, To: to})
	equal(t, "half-open range of one metric", totals(got), "AzureOpenAIRequests@03:06/1m0s=2 AzureOpenAIRequests@03:07/1m0s=3 AzureOpenAIRequests@03:08/1m0s=4 ")
	for _, p := range got {
		if p.Time.Location() != time.UTC {
			t.Errorf("time %v not in UTC", p.Time)
		}
	}

	// Bounds that are not whole seconds: From rounds up, To excludes.
	got = queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource, Metrics: []string{"AzureOpenAIRequests"}, Grain: time.Minute,
		From: from.Add(-time.Nanosecond), To: to.Add(time.Nanosecond)})
	equal(t, "fractional bounds", totals(got), "AzureOpenAIRequests@03:06/1m0s=2 AzureOpenAIRequests@03:07/1m0s=3 AzureOpenAIRequests@03:08/1m0s=4 AzureOpenAIRequests@03:09/1m0s=5 ")

	got = queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource, Metrics: []string{"ActiveTokens", "AzureOpenAIRequests"}, Grain: time.Minute, From: metricMinute.Add(8 * time.Minute)})
	equal(t, "two metrics, open end", totals(got), "ActiveTokens@03:12/1m0s=8 ActiveTokens@03:13/1m0s=9 AzureOpenAIRequests@03:12/1m0s=8 AzureOpenAIRequests@03:13/1m0s=9 ")

	got = queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource, Grain: time.Hour})
	equal(t, "hour grain", totals(got), "AzureOpenAIRequests@03:00/1h0m0s=45 ")

	got = queryMetrics(t, s, ptu.MetricFilter{Resource: other, To: metricMinute.Add(time.Minute)})
	equal(t, "other resource", totals(got), "AzureOpenAIRequests@03:04/1m0s=0 ")

	got = queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource, Metrics: []string{"NoSuchMetric"}})
	if len(got) != 0 {
		t.Errorf("unknown metric matched %d points", len(got))
	}
}

func testMetricPointsRejected(t *testing.T, s ptu.MetricStore) {
	bad := []ptu.MetricPoint{
		metricPoint("AzureOpenAIRequests", "dep1", metricMinute.Add(time.Second), time.Minute, 1, 1, 1, 1), // not aligned
		metricPoint("AzureOpenAIRequests", "dep1", metricMinute, 0, 1, 1, 1, 1),                            // no grain
		metricPoint("", "dep1", metricMinute, time.Minute, 1, 1, 1, 1),                                     // no metric
	}
	for i, p := range bad {
		ok := metricPoint("AzureOpenAIRequests", "dep9", metricMinute, time.Minute, 1, 1, 1, 1)
		err := s.AddMetricPoints(t.Context(), []ptu.MetricPoint{ok, p})
		if err == nil {
			t.Errorf("bad point %d accepted: %+v", i, p)
		}
	}
	if got := queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource}); len(got) != 0 {
		t.Errorf("a failed batch left %d points", len(got))
	}
}

func testDeleteMetricsBefore(t *testing.T, s ptu.MetricStore) {
	var points []ptu.MetricPoint
	for i := range 3 {
		at := metricMinute.Add(time.Duration(i) * time.Hour).Truncate(time.Hour)
		points = append(points,
			metricPoint("AzureOpenAIRequests", "dep1", at, time.Minute, 1, 1, 1, 1),
			metricPoint("AzureOpenAIRequests", "dep1", at, 5*time.Minute, 1, 1, 1, 1),
			metricPoint("AzureOpenAIRequests", "dep1", at, time.Hour, 1, 1, 1, 1))
	}
	must(t, s.AddMetricPoints(t.Context(), points))
	n, err := s.DeleteMetricsBefore(t.Context(), metricMinute.Truncate(time.Hour).Add(time.Hour))
	must(t, err)
	if n != 3 {
		t.Errorf("deleted %d points, want 3 (one hour, every grain)", n)
	}
	got := queryMetrics(t, s, ptu.MetricFilter{Resource: metricResource})
	if len(got) != 6 {
		t.Fatalf("%d points left, want 6", len(got))
	}
	for _, p := range got {
		if p.Time.Before(metricMinute.Truncate(time.Hour).Add(time.Hour)) {
			t.Errorf("point at %s survived", p.Time)
		}
	}
	// A cutoff one nanosecond past a point's start deletes it.
	n, err = s.DeleteMetricsBefore(t.Context(), metricMinute.Truncate(time.Hour).Add(time.Hour+time.Nanosecond))
	must(t, err)
	if n != 3 {
		t.Errorf("deleted %d points, want 3", n)
	}
}
