package ptu

import "time"

// Grains at which metric points are stored: each finished minute is written
// at all three, so long ranges read few rows.
var MetricGrains = []time.Duration{time.Minute, 5 * time.Minute, time.Hour}

// MetricPoint is one interval of one metric of one resource, for one
// combination of dimension values: Count samples summing to Total, the least
// and greatest of them Minimum and Maximum (Azure Monitor's pre-aggregated
// shape, from which every aggregation is derived). What a sample is depends on
// the metric (package metrics defines them).
type MetricPoint struct {
	Resource   string // the account's ARM resource id
	Metric     string // Azure Monitor REST name, e.g. AzureOpenAIRequests
	Dimensions MetricDimensions
	Time       time.Time     // start of the interval, a multiple of Grain
	Grain      time.Duration // one of MetricGrains
	Count      float64
	Total      float64
	Minimum    float64
	Maximum    float64
}

// MetricDimensions are the dimension values of a point; a dimension the metric
// does not split by is "".
type MetricDimensions struct {
	Deployment   string // ModelDeploymentName
	ModelName    string
	ModelVersion string
	Region       string
	StreamType   string
	StatusCode   string
	IsSpillover  string
	Operation    string // OperationName
}

// Merge folds q, a point with the same key, into p: counts and totals add,
// the extremes are kept.
func (p *MetricPoint) Merge(q MetricPoint) {
	p.Count += q.Count
	p.Total += q.Total
	p.Minimum = min(p.Minimum, q.Minimum)
	p.Maximum = max(p.Maximum, q.Maximum)
}

// MetricFilter selects metric points. Resource is required and matches
// case-insensitively; an empty Metrics matches every metric and a zero Grain
// every grain; a zero From or To leaves that end open.
type MetricFilter struct {
	Resource string
	Metrics  []string
	Grain    time.Duration
	From, To time.Time // points with From <= Time < To
}
