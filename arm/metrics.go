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

func metricsWire(acct ptu.Account, res *metrics.Result) armwire.MetricsResponse {
	interval := "FULL"
	if res.Interval > 0 {
		interval = metrics.FormatDuration(res.Interval)
	}
	out := armwire.MetricsResponse{
		Cost:           res.Cost,
		Timespan:       res.Start.Format(time.RFC3339) + "/" + res.End.Format(time.RFC3339),
		Interval:       interval,
		Value:          []armwire.Metric{},
		Namespace:      metrics.Namespace,
		ResourceRegion: acct.Location,
	}
	for _, m := range res.Metrics {
		mj := armwire.Metric{
			ID:                 acct.ID() + "/providers/Microsoft.Insights/metrics/" + m.Name,
			Type:               "Microsoft.Insights/metrics",
			Name:               armwire.LocalizableString{Value: m.Name, LocalizedValue: m.DisplayName},
			DisplayDescription: m.Description,
			Unit:               m.Unit,
			Timeseries:         []armwire.TimeSeries{},
			ErrorCode:          "Success",
		}
		for _, s := range m.Series {
			ts := armwire.TimeSeries{Metadatavalues: []armwire.MetadataValue{}}
			for _, md := range s.Metadata {
				ts.Metadatavalues = append(ts.Metadatavalues, armwire.MetadataValue{Name: armwire.LocalizableString{Value: md.Name, LocalizedValue: md.Name}, Value: md.Value})
			}
			if s.Data != nil {
				ts.Data = make([]armwire.MetricValue, 0, len(s.Data))
				for _, d := range s.Data {
					ts.Data = append(ts.Data, armwire.MetricValue{TimeStamp: d.Time.UTC().Truncate(time.Second),
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
	var grains []armwire.MetricAvailability
	for _, g := range metrics.Intervals {
		grains = append(grains, armwire.MetricAvailability{TimeGrain: metrics.FormatDuration(g), Retention: retention})
	}
	out := make([]armwire.MetricDefinition, 0, len(metrics.Definitions()))
	for _, d := range metrics.Definitions() {
		dj := armwire.MetricDefinition{
			ID:                     acct.ID() + "/providers/microsoft.insights/metricdefinitions/" + d.Name,
			ResourceID:             acct.ID(),
			Namespace:              metrics.Namespace,
			Name:                   armwire.LocalizableString{Value: d.Name, LocalizedValue: d.DisplayName},
			DisplayDescription:     d.Description,
			Category:               d.Category,
			MetricClass:            d.Class,
			Unit:                   d.Unit,
			PrimaryAggregationType: string(d.Primary),
			MetricAvailabilities:   grains,
			Dimensions:             []armwire.LocalizableString{},
		}
		for _, a := range d.Aggregations {
			dj.SupportedAggregationTypes = append(dj.SupportedAggregationTypes, string(a))
		}
		for _, dim := range d.Dimensions {
			dj.Dimensions = append(dj.Dimensions, armwire.LocalizableString{Value: dim, LocalizedValue: dim})
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
