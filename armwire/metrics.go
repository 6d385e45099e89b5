package armwire

import (
	"strings"
	"time"
)

// Azure Monitor's metrics API on an account (Microsoft.Insights, as
// az monitor metrics list and armmonitor read it; see docs/monitoring.md).

// LocalizableString is a name and its display form.
type LocalizableString struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

// MetricsResponse is the answer of a metrics query.
type MetricsResponse struct {
	Cost           int      `json:"cost"`
	Timespan       string   `json:"timespan"`
	Interval       string   `json:"interval"`
	Value          []Metric `json:"value"`
	Namespace      string   `json:"namespace"`
	ResourceRegion string   `json:"resourceregion"`
}

// Metric is one metric's series.
type Metric struct {
	ID                 string            `json:"id"`
	Type               string            `json:"type"`
	Name               LocalizableString `json:"name"`
	DisplayDescription string            `json:"displayDescription"`
	Unit               string            `json:"unit"`
	Timeseries         []TimeSeries      `json:"timeseries"`
	ErrorCode          string            `json:"errorCode"`
}

// TimeSeries is one series: the dimension values it is split by (none when
// the query does not split) and a point per interval (none for resultType
// Metadata).
type TimeSeries struct {
	Metadatavalues []MetadataValue `json:"metadatavalues"`
	Data           []MetricValue   `json:"data,omitempty"`
}

// MetadataValue is a dimension's value; Name.Value is lowercased, as Azure
// returns it.
type MetadataValue struct {
	Name  LocalizableString `json:"name"`
	Value string            `json:"value"`
}

// MetricValue is one interval's point; an aggregation not asked for, or with
// no sample, is nil. TimeStamp is whole seconds in UTC.
type MetricValue struct {
	TimeStamp time.Time `json:"timeStamp"`
	Average   *float64  `json:"average,omitempty"`
	Minimum   *float64  `json:"minimum,omitempty"`
	Maximum   *float64  `json:"maximum,omitempty"`
	Total     *float64  `json:"total,omitempty"`
	Count     *float64  `json:"count,omitempty"`
}

// Get returns the value of an aggregation (any case), nil when absent or
// unknown.
func (v MetricValue) Get(aggregation string) *float64 {
	switch strings.ToLower(aggregation) {
	case "average", "avg":
		return v.Average
	case "minimum", "min":
		return v.Minimum
	case "maximum", "max":
		return v.Maximum
	case "total", "sum":
		return v.Total
	case "count":
		return v.Count
	}
	return nil
}

// MetricDefinition describes a metric an account has.
type MetricDefinition struct {
	ID                        string               `json:"id"`
	ResourceID                string               `json:"resourceId"`
	Namespace                 string               `json:"namespace"`
	Name                      LocalizableString    `json:"name"`
	DisplayDescription        string               `json:"displayDescription"`
	Category                  string               `json:"category"`
	MetricClass               string               `json:"metricClass"`
	Unit                      string               `json:"unit"`
	PrimaryAggregationType    string               `json:"primaryAggregationType"`
	SupportedAggregationTypes []string             `json:"supportedAggregationTypes"`
	MetricAvailabilities      []MetricAvailability `json:"metricAvailabilities"`
	IsDimensionRequired       bool                 `json:"isDimensionRequired"`
	Dimensions                []LocalizableString  `json:"dimensions"`
}

// MetricAvailability is a time grain and how long it is kept.
type MetricAvailability struct {
	TimeGrain string `json:"timeGrain"`
	Retention string `json:"retention"`
}
