package arm

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/metrics"
)

// Azure Monitor's metrics API (Microsoft.Insights) on an account: the shapes
// armmonitor's MetricsClient.List and MetricDefinitionsClient parse.

type localizableJSON struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

type metricsResponseJSON struct {
	Cost           int          `json:"cost"`
	Timespan       string       `json:"timespan"`
	Interval       string       `json:"interval"`
	Value          []metricJSON `json:"value"`
	Namespace      string       `json:"namespace"`
	ResourceRegion string       `json:"resourceregion"`
}

type metricJSON struct {
	ID                 string           `json:"id"`
	Type               string           `json:"type"`
	Name               localizableJSON  `json:"name"`
	DisplayDescription string           `json:"displayDescription"`
	Unit               string           `json:"unit"`
	Timeseries         []timeseriesJSON `json:"timeseries"`
	ErrorCode          string           `json:"errorCode"`
}

type timeseriesJSON struct {
	Metadatavalues []metadataJSON    `json:"metadatavalues"`
	Data           []metricValueJSON `json:"data,omitempty"`
}

type metadataJSON struct {
	Name  localizableJSON `json:"name"`
	Value string          `json:"value"`
}

type metricValueJSON struct {
	TimeStamp string   `json:"timeStamp"`
	Average   *float64 `json:"average,omitempty"`
	Minimum   *float64 `json:"minimum,omitempty"`
	Maximum   *float64 `json:"maximum,omitempty"`
	Total     *float64 `json:"total,omitempty"`
	Count     *float64 `json:"count,omitempty"`
}

type metricDefinitionJSON struct {
	ID                        string             `json:"id"`
	ResourceID                string             `json:"resourceId"`
	Namespace                 string             `json:"namespace"`
	Name                      localizableJSON    `json:"name"`
	DisplayDescription        string             `json:"displayDescription"`
	Category                  string             `json:"category"`
	MetricClass               string             `json:"metricClass"`
	Unit                      string             `json:"unit"`
	PrimaryAggregationType    string             `json:"primaryAggregationType"`
	SupportedAggregationTypes []string           `json:"supportedAggregationTypes"`
	MetricAvailabilities      []availabilityJSON `json:"metricAvailabilities"`
	IsDimensionRequired       bool               `json:"isDimensionRequired"`
	Dimensions                []localizableJSON  `json:"dimensions"`
}

type availabilityJSON struct {
	TimeGrain string `json:"timeGrain"`
	Retention string `json:"retention"`
}

// param reads a query parameter by name, ignoring case as ARM does.
func param(q url.Values, names ...string) string {
	for _, name := range names {
		if v, ok := q[name]; ok && len(v) > 0 {
			return v[0]
		}
		for k, v := range q {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

func (h *handler) metricsAccount(r *http.Request, p params) (ptu.Account, error) {
	if h.opt.Metrics == nil {
		return ptu.Account{}, ptu.Errorf(ptu.CodeNotFound, "This server does not serve metrics.")
	}
	return h.accounts.GetAccount(r.Context(), p["sub"], p["rg"], p["account"])
}

func (h *handler) listMetrics(r *http.Request, p params) (int, any, error) {
	acct, err := h.metricsAccount(r, p)
	if err != nil {
		return 0, nil, err
	}
	v := r.URL.Query()
	q, err := metrics.ParseQuery(metrics.Params{
		Metricnames:         param(v, "metricnames"),
		Timespan:            unescapedTwice(param(v, "timespan")),
		Interval:            param(v, "interval"),
		Aggregation:         param(v, "aggregation"),
		Filter:              param(v, "$filter", "filter"),
		Top:                 param(v, "top", "$top"),
		Orderby:             param(v, "orderby", "$orderby"),
		ResultType:          param(v, "resultType"),
		Metricnamespace:     param(v, "metricnamespace"),
		Rollupby:            param(v, "rollupby"),
		AutoAdjustTimegrain: param(v, "AutoAdjustTimegrain"),
	}, h.opt.Metrics.Now())
	if err != nil {
		return 0, nil, err
	}
	res, err := h.opt.Metrics.Query(r.Context(), acct.ID(), q)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, metricsWire(acct, res), nil
}

func metricsWire(acct ptu.Account, res *metrics.Result) metricsResponseJSON {
	interval := "FULL"
	if res.Interval > 0 {
		interval = metrics.FormatDuration(res.Interval)
	}
	out := metricsResponseJSON{
		Cost:           res.Cost,
		Timespan:       res.Start.Format(time.RFC3339) + "/" + res.End.Format(time.RFC3339),
		Interval:       interval,
		Value:          []metricJSON{},
		Namespace:      metrics.Namespace,
		ResourceRegion: acct.Location,
	}
	for _, m := range res.Metrics {
		mj := metricJSON{
			ID:                 acct.ID() + "/providers/Microsoft.Insights/metrics/" + m.Name,
			Type:               "Microsoft.Insights/metrics",
			Name:               localizableJSON{m.Name, m.DisplayName},
			DisplayDescription: m.Description,
			Unit:               m.Unit,
			Timeseries:         []timeseriesJSON{},
			ErrorCode:          "Success",
		}
		for _, s := range m.Series {
			ts := timeseriesJSON{Metadatavalues: []metadataJSON{}}
			for _, md := range s.Metadata {
				ts.Metadatavalues = append(ts.Metadatavalues, metadataJSON{Name: localizableJSON{md.Name, md.Name}, Value: md.Value})
			}
			if s.Data != nil {
				ts.Data = make([]metricValueJSON, 0, len(s.Data))
				for _, d := range s.Data {
					ts.Data = append(ts.Data, metricValueJSON{TimeStamp: d.Time.UTC().Format(time.RFC3339),
						Average: d.Average, Minimum: d.Minimum, Maximum: d.Maximum, Total: d.Total, Count: d.Count})
				}
			}
			mj.Timeseries = append(mj.Timeseries, ts)
		}
		out.Value = append(out.Value, mj)
	}
	return out
}

func (h *handler) listMetricDefinitions(r *http.Request, p params) (int, any, error) {
	acct, err := h.metricsAccount(r, p)
	if err != nil {
		return 0, nil, err
	}
	if ns := param(r.URL.Query(), "metricnamespace"); ns != "" && !strings.EqualFold(ns, metrics.Namespace) {
		return 0, nil, ptu.Errorf(ptu.CodeBadRequest, "Metric namespace '%s' is not valid for this resource; use '%s'.", ns, metrics.Namespace)
	}
	retention := metrics.FormatDuration(h.opt.Metrics.Retention())
	var grains []availabilityJSON
	for _, g := range metrics.Intervals {
		grains = append(grains, availabilityJSON{TimeGrain: metrics.FormatDuration(g), Retention: retention})
	}
	out := make([]metricDefinitionJSON, 0, len(metrics.Definitions()))
	for _, d := range metrics.Definitions() {
		dj := metricDefinitionJSON{
			ID:                     acct.ID() + "/providers/microsoft.insights/metricdefinitions/" + d.Name,
			ResourceID:             acct.ID(),
			Namespace:              metrics.Namespace,
			Name:                   localizableJSON{d.Name, d.DisplayName},
			DisplayDescription:     d.Description,
			Category:               d.Category,
			MetricClass:            d.Class,
			Unit:                   d.Unit,
			PrimaryAggregationType: string(d.Primary),
			MetricAvailabilities:   grains,
			Dimensions:             []localizableJSON{},
		}
		for _, a := range d.Aggregations {
			dj.SupportedAggregationTypes = append(dj.SupportedAggregationTypes, string(a))
		}
		for _, dim := range d.Dimensions {
			dj.Dimensions = append(dj.Dimensions, localizableJSON{dim, dim})
		}
		out = append(out, dj)
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// unescapedTwice undoes a second percent-encoding: az monitor metrics list
// (az 2.45, azure-mgmt-monitor at 2018-01-01) quotes the timespan before the
// query string is encoded, so it arrives as "2026-12-06T21%3A39%3A35%2F…";
// Azure Monitor reads it. A value that is not valid encoding is kept.
func unescapedTwice(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
