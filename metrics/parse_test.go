package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/metrics"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"PT1M": time.Minute, "pt5m": 5 * time.Minute, "PT1H": time.Hour, "P1D": 24 * time.Hour, "P1W": 7 * 24 * time.Hour,
		"P1DT12H": 36 * time.Hour, "PT90S": 90 * time.Second, "PT1.5S": 1500 * time.Millisecond, "PT1H30M": 90 * time.Minute,
	}
	for s, want := range good {
		got, err := metrics.ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1M", "P1M", "P1Y", "PT1M2H", "P1DT", "PTM", "PT-1M", "PT99999999999H", "P999999W"} {
		if d, err := metrics.ParseDuration(s); ptu.ErrorCode(err) != ptu.CodeBadRequest {
			t.Errorf("ParseDuration(%q) = %v, %v; want BadRequest", s, d, err)
		}
	}
	for _, d := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 24 * time.Hour, 36 * time.Hour, 90 * time.Second, 25*time.Hour + 61*time.Second} {
		s := metrics.FormatDuration(d)
		if back, err := metrics.ParseDuration(s); err != nil || back != d {
			t.Errorf("FormatDuration(%v) = %q, which parses to %v, %v", d, s, back, err)
		}
	}
	if got := metrics.FormatDuration(36 * time.Hour); got != "P1DT12H" {
		t.Errorf("FormatDuration(36h) = %s", got)
	}
}

func TestParseTimespan(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(h, m int) time.Time { return time.Date(2026, 1, 2, h, m, 0, 0, time.UTC) }
	tests := []struct {
		in         string
		start, end time.Time
	}{
		{"", now.Add(-time.Hour), now},
		{"PT30M", now.Add(-30 * time.Minute), now},
		{"2026-01-02T01:00:00Z/2026-01-02T02:00:00Z", at(1, 0), at(2, 0)},
		{"2026-01-02T01:00:00.000Z/PT15M", at(1, 0), at(1, 15)},
		{"PT15M/2026-01-02T02:00:00Z", at(1, 45), at(2, 0)},
		{"2026-01-02T10:00:00+09:00/2026-01-02T02:00:00Z", at(1, 0), at(2, 0)},
		{"2026-01-02T10:00:00 09:00/2026-01-02T02:00", at(1, 0), at(2, 0)}, // '+' unescaped in a query string
		{"2026-01-02/2026-01-03", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		s, e, err := metrics.ParseTimespan(tt.in, now)
		if err != nil || !s.Equal(tt.start) || !e.Equal(tt.end) {
			t.Errorf("ParseTimespan(%q) = %v, %v, %v; want %v, %v", tt.in, s, e, err, tt.start, tt.end)
		}
	}
	for _, in := range []string{"yesterday", "2026-01-02T02:00:00Z/2026-01-02T01:00:00Z", "PT1H/PT2H", "2026-01-02T01:00:00Z/", "/"} {
		if _, _, err := metrics.ParseTimespan(in, now); ptu.ErrorCode(err) != ptu.CodeBadRequest {
			t.Errorf("ParseTimespan(%q): err %v, want BadRequest", in, err)
		}
	}
}

func renderFilter(f metrics.Filter) string {
	var groups []string
	for _, g := range f {
		var conds []string
		for _, c := range g.Conditions {
			conds = append(conds, fmt.Sprintf("%s %s %q", g.Dimension, c.Op, c.Value))
		}
		groups = append(groups, "("+strings.Join(conds, " or ")+")")
	}
	return strings.Join(groups, " and ")
}

func TestParseFilter(t *testing.T) {
	tests := map[string]string{
		"":                           "",
		"ModelDeploymentName eq '*'": `(ModelDeploymentName eq "*")`,
		"A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'":                          `(A eq "a1") and (B eq "b1" or B eq "b2") and (C eq "*")`,
		"(StatusCode EQ '429' OR StatusCode eq '500') AND StreamType ne 'Streaming'": `(StatusCode eq "429" or StatusCode eq "500") and (StreamType ne "Streaming")`,
		"ModelDeploymentName sw 'gpt'":                                               `(ModelDeploymentName sw "gpt")`,
		"ModelDeploymentName eq 'it''s'":                                             `(ModelDeploymentName eq "it's")`,
		"  ModelDeploymentName   eq   'a b'  ":                                       `(ModelDeploymentName eq "a b")`,
	}
	for in, want := range tests {
		f, err := metrics.ParseFilter(in)
		if err != nil || renderFilter(f) != want {
			t.Errorf("ParseFilter(%q) = %s, %v; want %s", in, renderFilter(f), err, want)
		}
	}
	for _, in := range []string{"A eq", "A eq a", "A gt '1'", "A eq '1' or B eq '2'", "A eq '1' and", "and A eq '1'", "(A eq '1'", "A eq '1')",
		"A eq 'unterminated", "A eq '1' B eq '2'", "eq '1'"} {
		if f, err := metrics.ParseFilter(in); ptu.ErrorCode(err) != ptu.CodeBadRequest {
			t.Errorf("ParseFilter(%q) = %s, %v; want BadRequest", in, renderFilter(f), err)
		}
	}
}

func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q, err := metrics.ParseQuery(metrics.Params{
		Metricnames: "azureopenaiprovisionedmanagedutilizationv2, AzureOpenAIRequests,AzureOpenAIRequests",
		Timespan:    "2026-01-02T01:02:30Z/2026-01-02T02:00:00Z", Interval: "PT5M", Aggregation: "avg,Maximum, sum",
		Filter: "ModelDeploymentName eq '*'", Top: "3", Orderby: "Maximum asc", Metricnamespace: "microsoft.cognitiveservices/accounts",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Metrics) != 2 || q.Metrics[0].Name != metrics.Utilization || q.Metrics[1].Name != metrics.Requests {
		t.Errorf("metrics %v", q.Metrics)
	}
	if want := time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC); !q.Start.Equal(want) || q.Interval != 5*time.Minute {
		t.Errorf("start %v interval %v: the start aligns down to the interval", q.Start, q.Interval)
	}
	if fmt.Sprint(q.Aggregations) != "[Average Maximum Total]" || q.Top != 3 || q.OrderBy != metrics.Maximum || !q.Ascending {
		t.Errorf("aggregations %v top %d orderby %s asc %v", q.Aggregations, q.Top, q.OrderBy, q.Ascending)
	}
	q, err = metrics.ParseQuery(metrics.Params{Metricnames: metrics.Requests, Interval: "PT2M", AutoAdjustTimegrain: "true"}, now)
	if err != nil || q.Interval != 5*time.Minute || !q.End.Equal(now) || q.Top != 10 {
		t.Errorf("auto-adjusted interval %v end %v top %d, %v", q.Interval, q.End, q.Top, err)
	}
	if q, err = metrics.ParseQuery(metrics.Params{Metricnames: metrics.Requests, Interval: "full"}, now); err != nil || q.Interval != 0 {
		t.Errorf("FULL: %v %v", q.Interval, err)
	}

	bad := map[string]metrics.Params{
		"no metric":         {},
		"unknown metric":    {Metricnames: "Latency"},
		"interval":          {Metricnames: metrics.Requests, Interval: "PT2M"},
		"aggregation":       {Metricnames: metrics.Requests, Aggregation: "p99"},
		"dimension":         {Metricnames: metrics.Utilization, Filter: "StatusCode eq '429'"},
		"unknown dimension": {Metricnames: metrics.Requests, Filter: "Color eq 'red'"},
		"top":               {Metricnames: metrics.Requests, Top: "0"},
		"orderby":           {Metricnames: metrics.Requests, Orderby: "Total sideways"},
		"result type":       {Metricnames: metrics.Requests, ResultType: "Everything"},
		"namespace":         {Metricnames: metrics.Requests, Metricnamespace: "Microsoft.Compute/virtualMachines"},
		"too many points":   {Metricnames: metrics.Requests, Timespan: "P60D"},
		"timespan":          {Metricnames: metrics.Requests, Timespan: "soon"},
		"too many metrics":  {Metricnames: strings.Repeat(metrics.Requests+",", 3) + "x"},
	}
	for name, p := range bad {
		if _, err := metrics.ParseQuery(p, now); ptu.ErrorCode(err) != ptu.CodeBadRequest {
			t.Errorf("%s: err %v, want BadRequest", name, err)
		}
	}
	_, err = metrics.ParseQuery(metrics.Params{Metricnames: "Latency"}, now)
	if err == nil || !strings.Contains(err.Error(), "Valid metrics: AzureOpenAIRequests, AzureOpenAIProvisionedManagedUtilizationV2") {
		t.Errorf("unknown metric message: %v", err)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"ModelDeploymentName eq '*'", "A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'",
		"(StatusCode eq '429' or StatusCode eq '500') and StreamType ne 'x'", "A eq 'it''s'", "(", "'", "A eq '1' and"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := metrics.ParseFilter(s)
		if err != nil {
			if ptu.ErrorCode(err) != ptu.CodeBadRequest {
				t.Fatalf("error without the BadRequest code: %v", err)
			}
			return
		}
		for _, g := range fl {
			if g.Dimension == "" || len(g.Conditions) == 0 {
				t.Fatalf("empty group in %q: %+v", s, fl)
			}
			for _, c := range g.Conditions {
				if c.Op != "eq" && c.Op != "ne" && c.Op != "sw" {
					t.Fatalf("operator %q from %q", c.Op, s)
				}
			}
		}
		// What parsed renders back to a filter that parses the same.
		var parts []string
		for _, g := range fl {
			var conds []string
			for _, c := range g.Conditions {
				conds = append(conds, g.Dimension+" "+c.Op+" '"+strings.ReplaceAll(c.Value, "'", "''")+"'")
			}
			parts = append(parts, "("+strings.Join(conds, " or ")+")")
		}
		again, err := metrics.ParseFilter(strings.Join(parts, " and "))
		if err != nil || renderFilter(again) != renderFilter(fl) {
			t.Fatalf("%q parsed to %s, which renders and parses to %s, %v", s, renderFilter(fl), renderFilter(again), err)
		}
	})
}

func FuzzParseTimespan(f *testing.F) {
	for _, s := range []string{"", "PT1H", "2026-01-02T01:00:00Z/2026-01-02T02:00:00Z", "2026-01-02T01:00:00Z/PT15M", "PT15M/2026-01-02T02:00:00Z", "P1DT12H", "/"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := metrics.ParseTimespan(s, now)
		if err != nil {
			if ptu.ErrorCode(err) != ptu.CodeBadRequest {
				t.Fatalf("error without the BadRequest code: %v", err)
			}
			return
		}
		if !start.Before(end) {
			t.Fatalf("%q: start %v not before end %v", s, start, end)
		}
		if d, err := metrics.ParseDuration(s); err == nil && d > 0 {
			if back, err := metrics.ParseDuration(metrics.FormatDuration(d)); err != nil || back != d {
				t.Fatalf("%q: %v formats as %s, which parses to %v, %v", s, d, metrics.FormatDuration(d), back, err)
			}
		}
	})
}

// FuzzParseQuery: any combination of the metrics API's query parameters is
// a BadRequest or a query within the API's bounds.
func FuzzParseQuery(f *testing.F) {
	f.Add("AzureOpenAIRequests,AzureOpenAIProvisionedManagedUtilizationV2", "PT1H", "PT5M", "Total,Average", "ModelDeploymentName eq '*'", "5", "Total desc", "Data", "", "", "false")
	f.Add("AzureOpenAIRequests", "2026-01-02T01:00:00Z/2026-01-02T02:00:00Z", "FULL", "", "", "", "", "Metadata", "Microsoft.CognitiveServices/accounts", "ModelDeploymentName", "true")
	f.Add("x", "/", "PT7M", "Median", "(", "-1", "Total sideways", "Nope", "other", ",", "maybe")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, names, span, interval, aggs, filter, top, orderby, resultType, ns, rollup, auto string) {
		q, err := metrics.ParseQuery(metrics.Params{Metricnames: names, Timespan: span, Interval: interval, Aggregation: aggs,
			Filter: filter, Top: top, Orderby: orderby, ResultType: resultType, Metricnamespace: ns, Rollupby: rollup,
			AutoAdjustTimegrain: auto}, now)
		if err != nil {
			if ptu.ErrorCode(err) != ptu.CodeBadRequest || err.Error() == "" {
				t.Fatalf("error without the BadRequest code: %v", err)
			}
			return
		}
		if len(q.Metrics) == 0 || len(q.Metrics) > 20 || !q.Start.Before(q.End) || q.Top < 0 {
			t.Fatalf("query out of bounds: %+v", q)
		}
		if q.Interval != 0 {
			ok := false
			for _, g := range metrics.Intervals {
				ok = ok || g == q.Interval
			}
			if !ok {
				t.Fatalf("interval %v is not a supported grain", q.Interval)
			}
		}
	})
}
