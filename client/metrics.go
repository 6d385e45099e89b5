package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ptu-dev/ptu/armwire"
)

// Azure Monitor's metrics API on an account (Microsoft.Insights; see
// docs/monitoring.md): per-minute series per deployment, in the shape
// az monitor metrics list and armmonitor read.

// MetricsAPIVersion is the api-version the metrics calls send (the one
// az monitor metrics list sends).
const MetricsAPIVersion = "2018-01-01"

// MetricsNamespace is the metric namespace of accounts.
const MetricsNamespace = "Microsoft.CognitiveServices/accounts"

// MetricsQuery is a metrics query; empty fields take the server's defaults
// (the last hour, PT1M, each metric's primary aggregation, 10 series).
type MetricsQuery struct {
	Metricnames     []string // REST names, e.g. AzureOpenAIProvisionedManagedUtilizationV2; required
	Timespan        string   // start/end, start/duration, duration/end or a duration ending now (ISO 8601)
	Interval        string   // PT1M, PT5M, …, P1D or FULL
	Aggregation     []string // Average, Count, Maximum, Minimum, Total
	Filter          string   // $filter, e.g. ModelDeploymentName eq '*'
	Top             int      // series per metric when split; 0 is the server's default
	Orderby         string   // "<aggregation> [asc|desc]"
	ResultType      string   // Data or Metadata
	Metricnamespace string
	Rollupby        []string
}

// LocalizableString is a name and its display form.
type LocalizableString = armwire.LocalizableString

// MetricsResponse is the answer of a metrics query.
type MetricsResponse = armwire.MetricsResponse

// Metric is one metric's series.
type Metric = armwire.Metric

// TimeSeries is one series: the dimension values it is split by (none when
// the query does not split) and a point per interval.
type TimeSeries = armwire.TimeSeries

// MetadataValue is a dimension's value; Name.Value is lowercased, as Azure
// returns it.
type MetadataValue = armwire.MetadataValue

// MetricValue is one interval's point; an aggregation not asked for, or with
// no sample, is nil.
type MetricValue = armwire.MetricValue

// MetricDefinition describes a metric an account has.
type MetricDefinition = armwire.MetricDefinition

// MetricAvailability is a time grain and how long it is kept.
type MetricAvailability = armwire.MetricAvailability

// AccountID returns the ARM id of an account of the call's subscription,
// what the metrics calls take.
func (c *Client) AccountID(ctx context.Context, resourceGroup, name string, opts ...Option) (string, error) {
	s := c.s.with(opts)
	return c.accountPath(ctx, &s, resourceGroup, name)
}

// metricsPath checks that resourceID is an ARM id and returns it with the
// Microsoft.Insights suffix.
func metricsPath(resourceID, leaf string) (string, error) {
	id := strings.TrimRight(strings.TrimSpace(resourceID), "/")
	if !strings.HasPrefix(id, "/subscriptions/") || !strings.Contains(strings.ToLower(id), "/providers/") {
		return "", errors.New("client: a resource id is required (/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name})")
	}
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = seg(p)
	}
	return strings.Join(parts, "/") + "/providers/Microsoft.Insights/" + leaf, nil
}

// ListMetrics queries an account's metrics; resourceID is the account's ARM
// id (AccountID builds it).
func (c *Client) ListMetrics(ctx context.Context, resourceID string, in MetricsQuery, opts ...Option) (*MetricsResponse, error) {
	s := c.s.with(opts)
	s.armVersion = MetricsAPIVersion
	p, err := metricsPath(resourceID, "metrics")
	if err != nil {
		return nil, err
	}
	if len(in.Metricnames) == 0 {
		return nil, errors.New("client: at least one metric name is required")
	}
	q := url.Values{}
	q.Set("metricnames", strings.Join(in.Metricnames, ","))
	setIf(q, "timespan", in.Timespan)
	setIf(q, "interval", in.Interval)
	setIf(q, "aggregation", strings.Join(in.Aggregation, ","))
	setIf(q, "$filter", in.Filter)
	if in.Top > 0 {
		q.Set("top", strconv.Itoa(in.Top))
	}
	setIf(q, "orderby", in.Orderby)
	setIf(q, "resultType", in.ResultType)
	setIf(q, "metricnamespace", in.Metricnamespace)
	setIf(q, "rollupby", strings.Join(in.Rollupby, ","))
	var out MetricsResponse
	if err := c.armDo(ctx, &s, http.MethodGet, p, q, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListMetricDefinitions lists the metrics an account has; namespace may be
// "" or MetricsNamespace.
func (c *Client) ListMetricDefinitions(ctx context.Context, resourceID, namespace string, opts ...Option) ([]MetricDefinition, error) {
	s := c.s.with(opts)
	s.armVersion = MetricsAPIVersion
	p, err := metricsPath(resourceID, "metricDefinitions")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	setIf(q, "metricnamespace", namespace)
	var out list[MetricDefinition]
	if err := c.armDo(ctx, &s, http.MethodGet, p, q, nil, &out, true); err != nil {
		return nil, err
	}
	return out.Value, nil
}
