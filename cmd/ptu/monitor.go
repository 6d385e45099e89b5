package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newMonitor is `ptu monitor`: the account metrics of the Azure Monitor
// metrics API, with the commands and flags of `az monitor metrics`.
func newMonitor() *cobra.Command {
	g := &cli{}
	metrics := group("metrics", "Query an account's metrics: utilization, requests, tokens, latency",
		`  ptu monitor metrics list -g demo --resource demo-aoai --metric AzureOpenAIProvisionedManagedUtilizationV2 \
    --interval PT1M --filter "ModelDeploymentName eq '*'" -o chart`,
		newMetricsList(g), newMetricsListDefinitions(g))
	cmd := group("monitor", "Read per-deployment metrics and the activity log, as `az monitor` does",
		`  ptu monitor metrics list --resource /subscriptions/{sub}/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/demo-aoai \
    --metric AzureOpenAIProvisionedManagedUtilizationV2 --aggregation Average Maximum --dimension ModelDeploymentName -o table
  ptu monitor metrics list-definitions -g demo --resource demo-aoai -o table
  ptu monitor activity-log list --offset 1d -o table`,
		metrics, newActivityLog(g))
	cmd.Long = `Read an account's per-minute metrics (docs/monitoring.md) with the commands and flags
of az monitor metrics. Output is JSON (az's default), --output table|tsv, filtered
by a JMESPath --query, or a terminal chart of each series (--output chart).
activity-log lists the control-plane writes (docs/access-control.md).`
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

// metricsResource holds the flags that name the account.
type metricsResource struct {
	resource, group, name, typ string
}

func (r *metricsResource) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&r.resource, "resource", "", "the account's ARM id, or its name with --resource-group")
	f.StringVarP(&r.group, "resource-group", "g", "", "resource group of the account named by --resource or --name")
	f.StringVarP(&r.name, "name", "n", "", "account name (with --resource-group), instead of --resource")
	f.StringVar(&r.typ, "resource-type", "Microsoft.CognitiveServices/accounts", "resource type of the account named by name")
}

// id returns the account's ARM id, built as az builds it from a name.
func (r *metricsResource) id(ctx context.Context, c *client.Client) (string, error) {
	if strings.HasPrefix(r.resource, "/") {
		if r.name != "" {
			return "", errors.New("usage error: --resource ID | --resource NAME --resource-group NAME | --name NAME --resource-group NAME")
		}
		return r.resource, nil
	}
	name := r.resource
	if name == "" {
		name = r.name
	} else if r.name != "" && r.name != name {
		return "", errors.New("usage error: --resource and --name name different accounts")
	}
	if name == "" || r.group == "" {
		return "", errors.New("usage error: --resource ID | --resource NAME --resource-group NAME | --name NAME --resource-group NAME")
	}
	switch strings.ToLower(r.typ) {
	case "microsoft.cognitiveservices/accounts", "accounts":
	default:
		return "", fmt.Errorf("argument --resource-type: %q has no metrics here; use Microsoft.CognitiveServices/accounts", r.typ)
	}
	return c.AccountID(ctx, r.group, name)
}

// metricsListFlags are az monitor metrics list's flags.
type metricsListFlags struct {
	res                         metricsResource
	metrics, aggregation, dims  []string
	interval, filter, namespace string
	start, end, offset, orderby string
	top                         int
	metadata, chart             bool
	chartHeight                 int
}

func newMetricsList(g *cli) *cobra.Command {
	var fl metricsListFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the metric values of an account",
		Long: `List the values of one or more metrics of an account, per interval, as az monitor
metrics list does: --start-time/--end-time or --offset give the timespan (default
the last hour, on the server's clock), --interval the grain, --aggregation what to
compute, --filter or --dimension how to split. The last two minutes are not written
yet (see docs/monitoring.md).

--output table prints a row per point (az's shape: Timestamp, Name, the series'
dimension values, then the aggregations); --output chart (or --chart) draws each
series and aggregation over time, with a line at 100 for utilization.`,
		Example: `  ptu monitor metrics list -g demo --resource demo-aoai --metric AzureOpenAIProvisionedManagedUtilizationV2 \
    --interval PT1M --filter "ModelDeploymentName eq '*'"
  ptu monitor metrics list -g demo -n demo-aoai --metric AzureOpenAIProvisionedManagedUtilizationV2 \
    --aggregation Average,Maximum --dimension ModelDeploymentName --offset 30m -o chart
  ptu monitor metrics list -g demo -n demo-aoai --metrics AzureOpenAIRequests \
    --filter "ModelDeploymentName eq 'gpt-4o' and StatusCode eq '*'" --interval PT5M -o table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			chart := fl.chart || g.out.format == "chart"
			if chart {
				if g.out.query != "" {
					return errors.New("--query does not apply to a chart")
				}
			} else if err := g.out.check(); err != nil {
				return fmt.Errorf("%w (or chart)", err)
			}
			q, err := fl.query()
			if err != nil {
				return err
			}
			c, err := g.conn.client()
			if err != nil {
				return err
			}
			id, err := fl.res.id(cmd.Context(), c)
			if err != nil {
				return g.conn.fail(err)
			}
			res, err := c.ListMetrics(cmd.Context(), id, q)
			if err != nil {
				return g.conn.fail(err)
			}
			w := cmd.OutOrStdout()
			switch {
			case chart:
				_, err = io.WriteString(w, renderMetricsChart(res, fl.chartHeight))
				return err
			case g.out.format == "table" && g.out.query == "":
				// az applies its table transformer when no query chose the columns.
				rows, rank := metricsTableRows(res)
				_, err = io.WriteString(w, renderTable(rows, false, rank, nil))
				return err
			}
			return g.out.print(w, azMetrics(res))
		},
	}
	fl.res.flags(cmd)
	f := cmd.Flags()
	f.StringSliceVar(&fl.metrics, "metrics", nil, "metric names, comma-separated or repeated (list-definitions lists them)")
	f.StringSliceVar(&fl.metrics, "metric", nil, "same as --metrics")
	f.StringSliceVar(&fl.aggregation, "aggregation", nil, "Average, Count, Maximum, Minimum, Total; comma-separated or repeated (default the metric's primary aggregation)")
	f.StringVar(&fl.interval, "interval", "1m", "interval of the points: ##h##m (1m, 5m, 1h, 1d) or ISO 8601 (PT1M, PT5M, PT1H, P1D), or FULL")
	f.StringVar(&fl.filter, "filter", "", `OData filter on dimensions, e.g. "ModelDeploymentName eq '*'" (every dimension named splits the result)`)
	f.StringSliceVar(&fl.dims, "dimension", nil, "dimensions to split by (each becomes \"<dim> eq '*'\" in the filter)")
	f.StringVar(&fl.start, "start-time", "", "start of the query, RFC 3339 (2026-03-02T09:00:00Z) or a date; default end time minus offset")
	f.StringVar(&fl.end, "end-time", "", "end of the query; default start time plus offset, or now")
	f.StringVar(&fl.offset, "offset", "1h", "length of the timespan when start or end time is missing: ##d##h##m (1h, 30m, 1d2h) or ISO 8601")
	f.StringVar(&fl.namespace, "namespace", "", "metric namespace (Microsoft.CognitiveServices/accounts)")
	f.IntVar(&fl.top, "top", 10, "series per metric when split")
	f.StringVar(&fl.orderby, "orderby", "", `aggregation to rank series by, and direction, e.g. "Maximum desc"`)
	f.BoolVar(&fl.metadata, "metadata", false, "return the series (their dimension values) without data")
	f.BoolVar(&fl.chart, "chart", false, "draw the series as terminal charts (same as --output chart)")
	f.IntVar(&fl.chartHeight, "chart-height", 10, "rows of a chart's plot area")
	return cmd
}

// query turns the flags into the API's parameters, as az does.
func (fl *metricsListFlags) query() (client.MetricsQuery, error) {
	q := client.MetricsQuery{Metricnames: fl.metrics, Aggregation: fl.aggregation, Top: fl.top,
		Orderby: fl.orderby, Metricnamespace: fl.namespace, Filter: fl.filter}
	if len(q.Metricnames) == 0 {
		return q, errors.New("the following arguments are required: --metrics (e.g. --metric AzureOpenAIProvisionedManagedUtilizationV2; list-definitions lists them)")
	}
	if fl.top < 1 {
		return q, fmt.Errorf("argument --top: must be a positive integer, not %d", fl.top)
	}
	if fl.chartHeight < 2 || fl.chartHeight > 100 {
		return q, fmt.Errorf("argument --chart-height: %d is not between 2 and 100", fl.chartHeight)
	}
	if len(fl.dims) > 0 {
		if fl.filter != "" {
			return q, errors.New("usage error: --filter | --dimension")
		}
		parts := make([]string, len(fl.dims))
		for i, d := range fl.dims {
			parts[i] = d + " eq '*'"
		}
		q.Filter = strings.Join(parts, " and ")
	}
	if fl.metadata {
		q.ResultType = "Metadata"
	}
	var err error
	if q.Interval, err = isoDuration("interval", fl.interval, true); err != nil {
		return q, err
	}
	offset, err := isoDuration("offset", fl.offset, false)
	if err != nil {
		return q, err
	}
	start, err := parseFlagTime("start-time", fl.start)
	if err != nil {
		return q, err
	}
	end, err := parseFlagTime("end-time", fl.end)
	if err != nil {
		return q, err
	}
	// The timespan is left to the server's clock when no end is given: a
	// duration alone ends now, start/duration counts from the start.
	switch {
	case start != "" && end != "":
		q.Timespan = start + "/" + end
	case start != "":
		q.Timespan = start + "/" + offset
	case end != "":
		q.Timespan = offset + "/" + end
	default:
		q.Timespan = offset
	}
	return q, nil
}

var compactDurationRE = regexp.MustCompile(`^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

// isoDuration accepts az's ##d##h##m##s or an ISO 8601 duration, and returns
// the ISO form the API takes.
func isoDuration(flag, s string, full bool) (string, error) {
	s = strings.TrimSpace(s)
	if full && strings.EqualFold(s, "FULL") {
		return "FULL", nil
	}
	if strings.HasPrefix(strings.ToUpper(s), "P") {
		return strings.ToUpper(s), nil
	}
	m := compactDurationRE.FindStringSubmatch(strings.ToLower(s))
	if s == "" || m == nil {
		return "", fmt.Errorf("argument --%s: %q is neither ##d##h##m (1h, 30m) nor an ISO 8601 duration (PT1H)", flag, s)
	}
	var n [4]int
	for i := range n {
		if m[i+1] != "" {
			n[i], _ = strconv.Atoi(m[i+1])
		}
	}
	d := time.Duration(n[0])*24*time.Hour + time.Duration(n[1])*time.Hour + time.Duration(n[2])*time.Minute + time.Duration(n[3])*time.Second
	if d <= 0 {
		return "", fmt.Errorf("argument --%s: %q is not a positive duration", flag, s)
	}
	return formatISODuration(d), nil
}

// formatISODuration writes d as P…D or PT…H…M…S.
func formatISODuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return "P" + strconv.Itoa(int(d/(24*time.Hour))) + "D"
	}
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s := d % time.Minute / time.Second; s > 0 {
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}

// parseFlagTime checks a time flag and returns it in RFC 3339 (UTC when no
// offset is given, as az assumes).
func parseFlagTime(flag, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.Format(time.RFC3339), nil
		}
	}
	return "", fmt.Errorf("argument --%s: %q is not a time (2026-03-02T09:00:00Z, 2026-03-02 09:00 or 2026-03-02)", flag, s)
}

// azMetrics is the response as az prints it: every aggregation of a point
// present (null when absent), times in Python's isoformat.
func azMetrics(res *client.MetricsResponse) map[string]any {
	value := make([]any, 0, len(res.Value))
	for _, m := range res.Value {
		series := make([]any, 0, len(m.Timeseries))
		for _, ts := range m.Timeseries {
			md := make([]any, 0, len(ts.Metadatavalues))
			for _, v := range ts.Metadatavalues {
				md = append(md, map[string]any{"name": v.Name, "value": v.Value})
			}
			data := make([]any, 0, len(ts.Data))
			for _, p := range ts.Data {
				data = append(data, map[string]any{"timeStamp": azTime(p.TimeStamp),
					"average": p.Average, "minimum": p.Minimum, "maximum": p.Maximum, "total": p.Total, "count": p.Count})
			}
			series = append(series, map[string]any{"metadatavalues": md, "data": data})
		}
		value = append(value, map[string]any{"id": m.ID, "type": m.Type, "name": m.Name, "displayDescription": m.DisplayDescription,
			"unit": m.Unit, "timeseries": series, "errorCode": m.ErrorCode, "errorMessage": nil})
	}
	return map[string]any{"cost": res.Cost, "timespan": res.Timespan, "interval": res.Interval, "value": value,
		"namespace": res.Namespace, "resourceregion": res.ResourceRegion}
}

func azTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") + "+00:00" }

// metricAggregations are a point's aggregations in az's column order.
var metricAggregations = []string{"average", "minimum", "maximum", "total", "count"}

// metricsTableRows is az's table transformer for metrics list: a row per
// point, with Timestamp, Name, the series' dimension values, then its
// aggregations. It returns the rows and their column order.
func metricsTableRows(res *client.MetricsResponse) ([]any, map[string]int) {
	rank := map[string]int{"Timestamp": 0, "Name": 1}
	var rows []any
	for _, m := range res.Value {
		for _, ts := range m.Timeseries {
			for _, md := range ts.Metadatavalues {
				if _, ok := rank[md.Name.LocalizedValue]; !ok {
					rank[md.Name.LocalizedValue] = len(rank)
				}
			}
		}
	}
	for _, a := range metricAggregations {
		rank[a] = len(rank)
	}
	for _, m := range res.Value {
		for _, ts := range m.Timeseries {
			for _, p := range ts.Data {
				row := map[string]any{"Timestamp": p.TimeStamp.UTC().Format(time.DateTime), "Name": m.Name.LocalizedValue}
				for _, md := range ts.Metadatavalues {
					row[md.Name.LocalizedValue] = md.Value
				}
				for _, a := range metricAggregations {
					if v := p.Get(a); v != nil {
						row[a] = *v
					}
				}
				rows = append(rows, row)
			}
		}
	}
	if rows == nil {
		rows = []any{}
	}
	return rows, rank
}

func newMetricsListDefinitions(g *cli) *cobra.Command {
	var res metricsResource
	var namespace string
	cmd := &cobra.Command{
		Use:   "list-definitions",
		Short: "List the metrics an account has: names, units, aggregations and dimensions",
		Example: `  ptu monitor metrics list-definitions -g demo --resource demo-aoai -o table
  ptu monitor metrics list-definitions --resource /subscriptions/{sub}/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/demo-aoai \
    --query "[].{name:name.value, unit:unit, primary:primaryAggregationType}" -o table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.out.check(); err != nil {
				return err
			}
			c, err := g.conn.client()
			if err != nil {
				return err
			}
			id, err := res.id(cmd.Context(), c)
			if err != nil {
				return g.conn.fail(err)
			}
			defs, err := c.ListMetricDefinitions(cmd.Context(), id, namespace)
			if err != nil {
				return g.conn.fail(err)
			}
			if g.out.format == "table" && g.out.query == "" {
				rows, rank := definitionsTableRows(defs)
				_, err = io.WriteString(cmd.OutOrStdout(), renderTable(rows, false, rank, nil))
				return err
			}
			return g.out.print(cmd.OutOrStdout(), defs)
		},
	}
	res.flags(cmd)
	cmd.Flags().StringVar(&namespace, "namespace", "", "metric namespace (Microsoft.CognitiveServices/accounts)")
	return cmd
}

// definitionsTableRows is az's table transformer for list-definitions.
func definitionsTableRows(defs []client.MetricDefinition) ([]any, map[string]int) {
	cols := []string{"Display Name", "Metric Name", "Unit", "Type", "Dimension Required", "Dimensions"}
	rank := map[string]int{}
	for i, c := range cols {
		rank[c] = i
	}
	rows := make([]any, 0, len(defs))
	for _, d := range defs {
		dims := make([]string, len(d.Dimensions))
		for i, x := range d.Dimensions {
			dims[i] = x.Value
		}
		req := "False"
		if d.IsDimensionRequired {
			req = "True"
		}
		rows = append(rows, map[string]any{"Display Name": d.Name.LocalizedValue, "Metric Name": d.Name.Value, "Unit": d.Unit,
			"Type": d.PrimaryAggregationType, "Dimension Required": req, "Dimensions": strings.Join(dims, ", ")})
	}
	return rows, rank
}
