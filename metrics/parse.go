package metrics

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// Params are the query parameters of Azure Monitor's metrics API, as sent
// (armmonitor's MetricsClient.List, az monitor metrics list).
type Params struct {
	Metricnames         string // comma-separated; required
	Timespan            string // start/end, start/duration, duration/end or duration (ISO 8601); default the last hour
	Interval            string // PT1M (default), PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D or FULL
	Aggregation         string // comma-separated; default each metric's primary aggregation
	Filter              string // $filter
	Top                 string // series per metric when split; default 10
	Orderby             string // "<aggregation> [asc|desc]"
	ResultType          string // Data (default) or Metadata
	Metricnamespace     string // Microsoft.CognitiveServices/accounts or empty
	Rollupby            string // comma-separated dimensions not to split by
	AutoAdjustTimegrain string // true: an unsupported interval becomes the nearest supported one
}

// Intervals are the time grains the API answers, besides FULL.
var Intervals = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// maxPoints bounds the data points of one series.
const maxPoints = 50_000

// maxMetrics is the most metrics one query may name, as in Azure Monitor.
const maxMetrics = 20

func badRequest(format string, args ...any) error {
	return ptu.Errorf(ptu.CodeBadRequest, format, args...)
}

// ParseQuery turns the API's parameters into a Query; now ends the default
// timespan. Errors are ptu errors with code BadRequest.
func ParseQuery(p Params, now time.Time) (Query, error) {
	var q Query
	if ns := strings.TrimSpace(p.Metricnamespace); ns != "" && !strings.EqualFold(ns, Namespace) {
		return q, badRequest("Metric namespace '%s' is not valid for this resource; use '%s'.", ns, Namespace)
	}
	if strings.TrimSpace(p.Metricnames) == "" {
		return q, badRequest("The metricnames parameter is required, e.g. metricnames=%s. Valid metrics: %s.", Utilization, metricList())
	}
	for _, name := range strings.Split(p.Metricnames, ",") {
		name = strings.TrimSpace(name)
		d, ok := Lookup(name)
		if !ok {
			return q, badRequest("Failed to find metric configuration for provider: Microsoft.CognitiveServices, resource Type: accounts, metric: %s, Valid metrics: %s", name, metricList())
		}
		if !slices.Contains(q.Metrics, d) {
			q.Metrics = append(q.Metrics, d)
		}
	}
	if len(q.Metrics) > maxMetrics {
		return q, badRequest("At most %d metrics can be queried at once; %d were given.", maxMetrics, len(q.Metrics))
	}

	var err error
	if q.Start, q.End, err = ParseTimespan(p.Timespan, now); err != nil {
		return q, err
	}
	if q.Interval, err = parseInterval(p.Interval, strings.EqualFold(strings.TrimSpace(p.AutoAdjustTimegrain), "true")); err != nil {
		return q, err
	}
	if q.Interval > 0 {
		q.Start = q.Start.Truncate(q.Interval)
		if n := q.End.Sub(q.Start) / q.Interval; n > maxPoints {
			return q, badRequest("The timespan and interval give %d data points per series, more than %d; use a larger interval.", n, maxPoints)
		}
	}

	for _, a := range splitList(p.Aggregation) {
		agg, ok := parseAggregation(a)
		if !ok {
			return q, badRequest("Aggregation '%s' is not valid; use Average, Count, Maximum, Minimum or Total.", a)
		}
		if !slices.Contains(q.Aggregations, agg) {
			q.Aggregations = append(q.Aggregations, agg)
		}
	}

	if q.Filter, err = ParseFilter(p.Filter); err != nil {
		return q, err
	}
	for _, m := range q.Metrics {
		for _, g := range q.Filter {
			if _, ok := m.dimension(g.Dimension); !ok {
				return q, badRequest("Metric: %s does not support requested dimension combination: %s, supported ones are: %s",
					m.Name, g.Dimension, strings.Join(m.Dimensions, ","))
			}
		}
	}
	q.RollUpBy = splitList(p.Rollupby)

	q.Top = 10
	if t := strings.TrimSpace(p.Top); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return q, badRequest("top must be a positive integer, not '%s'.", t)
		}
		q.Top = n
	}
	if o := strings.Fields(p.Orderby); len(o) > 0 {
		agg, ok := parseAggregation(o[0])
		if !ok || len(o) > 2 {
			return q, badRequest("orderby '%s' is not valid; use an aggregation and asc or desc, e.g. 'Total desc'.", p.Orderby)
		}
		q.OrderBy = agg
		if len(o) == 2 {
			switch strings.ToLower(o[1]) {
			case "asc":
				q.Ascending = true
			case "desc":
			default:
				return q, badRequest("orderby '%s' is not valid; the direction is asc or desc.", p.Orderby)
			}
		}
	}
	switch rt := strings.TrimSpace(p.ResultType); {
	case rt == "" || strings.EqualFold(rt, "Data"):
	case strings.EqualFold(rt, "Metadata"):
		q.MetadataOnly = true
	default:
		return q, badRequest("resultType '%s' is not valid; use Data or Metadata.", rt)
	}
	return q, nil
}

func metricList() string {
	names := make([]string, len(definitions))
	for i, d := range definitions {
		names[i] = d.Name
	}
	return strings.Join(names, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func parseAggregation(s string) (Aggregation, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "average", "avg", "mean":
		return Average, true
	case "count":
		return Count, true
	case "maximum", "max":
		return Maximum, true
	case "minimum", "min":
		return Minimum, true
	case "total", "sum":
		return Total, true
	}
	return "", false
}

// parseInterval reads the interval parameter: 0 is FULL.
func parseInterval(s string, autoAdjust bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Minute, nil
	case strings.EqualFold(s, "FULL"):
		return 0, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if slices.Contains(Intervals, d) {
		return d, nil
	}
	if autoAdjust {
		for _, g := range Intervals {
			if g >= d {
				return g, nil
			}
		}
		return Intervals[len(Intervals)-1], nil
	}
	names := make([]string, len(Intervals))
	for i, g := range Intervals {
		names[i] = FormatDuration(g)
	}
	return 0, badRequest("Invalid time grain '%s'; supported ones are %s and FULL.", s, strings.Join(names, ", "))
}

var durationRE = regexp.MustCompile(`(?i)^P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,11}(?:\.\d{1,9})?)S)?)?$`)

// ParseDuration reads an ISO 8601 duration of weeks, days, hours, minutes and
// seconds (PT1M, PT1H, P1D, P1DT12H, PT90S). Years and months have no fixed
// length and are refused.
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || strings.HasSuffix(strings.ToUpper(s), "T") || len(s) < 3 {
		return 0, badRequest("'%s' is not an ISO 8601 duration such as PT1M, PT1H or P1D.", s)
	}
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute}
	var total float64
	for i, u := range units {
		if m[i+1] != "" {
			n, _ := strconv.ParseFloat(m[i+1], 64)
			total += n * float64(u)
		}
	}
	if m[5] != "" {
		secs, _ := strconv.ParseFloat(m[5], 64)
		total += secs * float64(time.Second)
	}
	if total > float64(100*365*24*time.Hour) {
		return 0, badRequest("Duration '%s' is too long.", s)
	}
	return time.Duration(math.Round(total)), nil
}

// FormatDuration writes d as an ISO 8601 duration (P1D, PT1H, PT5M, P1DT12H).
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("P")
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		d -= days * 24 * time.Hour
	}
	if d > 0 {
		b.WriteString("T")
		if h := d / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			d -= h * time.Hour
		}
		if m := d / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			d -= m * time.Minute
		}
		if d > 0 {
			b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S")
		}
	}
	return b.String()
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	// A '+' of an offset arrives as a space when the client did not escape it.
	s = strings.ReplaceAll(s, " ", "+")
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ParseTimespan reads the timespan parameter: "start/end", "start/duration",
// "duration/end", or a duration ending now. Empty is the hour ending now.
func ParseTimespan(s string, now time.Time) (start, end time.Time, err error) {
	s = strings.TrimSpace(s)
	now = now.UTC()
	bad := func() (time.Time, time.Time, error) {
		return time.Time{}, time.Time{}, badRequest("Invalid timespan '%s'; use start/end in ISO 8601, e.g. 2026-01-02T03:00:00Z/2026-01-02T04:00:00Z, or a duration such as PT1H.", s)
	}
	if s == "" {
		return now.Add(-time.Hour), now, nil
	}
	a, b, pair := strings.Cut(s, "/")
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch {
	case !pair:
		d, err := ParseDuration(a)
		if err != nil {
			return bad()
		}
		start, end = now.Add(-d), now
	default:
		ta, aTime := parseTime(a)
		tb, bTime := parseTime(b)
		switch {
		case aTime && bTime:
			start, end = ta, tb
		case aTime:
			d, err := ParseDuration(b)
			if err != nil {
				return bad()
			}
			start, end = ta, ta.Add(d)
		case bTime:
			d, err := ParseDuration(a)
			if err != nil {
				return bad()
			}
			start, end = tb.Add(-d), tb
		default:
			return bad()
		}
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, badRequest("Invalid timespan '%s': the start must be before the end.", s)
	}
	return start, end, nil
}

// Filter is a parsed $filter: every group must match (and); a group matches
// when any of its conditions on its one dimension does (or). Every dimension
// named is split by, unless rolled up.
type Filter []Group

// Group is the conditions of a $filter on one dimension, joined by or.
type Group struct {
	Dimension  string
	Conditions []Condition
}

// Condition compares a dimension with a value: eq (equals; '*' is any value),
// ne (differs) or sw (starts with), ignoring case.
type Condition struct {
	Op    string // eq, ne, sw
	Value string
}

func (g Group) match(v string) bool {
	for _, c := range g.Conditions {
		switch c.Op {
		case "eq":
			if c.Value == "*" || strings.EqualFold(v, c.Value) {
				return true
			}
		case "ne":
			if !strings.EqualFold(v, c.Value) {
				return true
			}
		case "sw":
			if len(v) >= len(c.Value) && strings.EqualFold(v[:len(c.Value)], c.Value) {
				return true
			}
		}
	}
	return false
}

// ParseFilter reads a $filter such as
// "ModelDeploymentName eq '*' and StatusCode eq '200' or StatusCode eq '429'":
// "and" joins groups, "or" joins conditions on the same dimension, and a
// group may be parenthesized. Values are single-quoted, a quote inside
// them doubled.
func ParseFilter(s string) (Filter, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (Filter, error) {
		return nil, badRequest("Invalid $filter '%s': %s.", s, fmt.Sprintf(format, args...))
	}
	var f Filter
	i := 0
	next := func() (filterToken, bool) {
		if i >= len(toks) {
			return filterToken{}, false
		}
		i++
		return toks[i-1], true
	}
	for i < len(toks) {
		var g Group
		paren := false
		if toks[i].kind == tokOpen {
			paren = true
			i++
		}
		for {
			name, ok := next()
			if !ok || name.kind != tokWord {
				return bad("expected a dimension name")
			}
			op, ok := next()
			opName := strings.ToLower(op.text)
			if !ok || op.kind != tokWord || (opName != "eq" && opName != "ne" && opName != "sw") {
				return bad("expected eq, ne or sw after %s", name.text)
			}
			val, ok := next()
			if !ok || val.kind != tokValue {
				return bad("expected a quoted value after %s %s", name.text, op.text)
			}
			switch {
			case g.Dimension == "":
				g.Dimension = name.text
			case !strings.EqualFold(g.Dimension, name.text):
				return bad("'or' cannot join conditions on different dimensions (%s, %s)", g.Dimension, name.text)
			}
			g.Conditions = append(g.Conditions, Condition{Op: opName, Value: val.text})
			if i < len(toks) && toks[i].kind == tokWord && strings.EqualFold(toks[i].text, "or") {
				i++
				continue
			}
			break
		}
		if paren {
			if t, ok := next(); !ok || t.kind != tokClose {
				return bad("expected ')'")
			}
		}
		f = append(f, g)
		if i < len(toks) {
			if t, _ := next(); t.kind != tokWord || !strings.EqualFold(t.text, "and") || i == len(toks) {
				return bad("expected 'and' between conditions")
			}
		}
	}
	return f, nil
}

type tokenKind int

const (
	tokWord tokenKind = iota
	tokValue
	tokOpen
	tokClose
)

type filterToken struct {
	kind tokenKind
	text string
}

func lexFilter(s string) ([]filterToken, error) {
	var toks []filterToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, filterToken{tokOpen, "("})
			i++
		case c == ')':
			toks = append(toks, filterToken{tokClose, ")"})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, badRequest("Invalid $filter '%s': a quoted value is not closed.", s)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, filterToken{tokValue, b.String()})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()'", rune(s[j])) {
				j++
			}
			toks = append(toks, filterToken{tokWord, s[i:j]})
			i = j
		}
	}
	return toks, nil
}
