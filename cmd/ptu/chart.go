package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ptu-dev/ptu/client"
)

// Terminal charts of metric series: a column per point drawn with the eighth
// blocks ▁▂▃▄▅▆▇█, a labelled value axis starting at 0, the first, middle
// and last times under the columns and, for a Percent metric, a dotted line
// at 100.

// chartMaxColumns bounds a chart's width; longer series are drawn with a
// column per group of points (the group's greatest value).
const chartMaxColumns = 120

var eighths = []rune(" ▁▂▃▄▅▆▇█")

// renderMetricsChart draws a chart per metric, series and aggregation.
func renderMetricsChart(res *client.MetricsResponse, height int) string {
	var b strings.Builder
	for _, m := range res.Value {
		if len(m.Timeseries) == 0 {
			fmt.Fprintf(&b, "%s (%s): no series\n\n", m.Name.LocalizedValue, m.Unit)
			continue
		}
		for _, ts := range m.Timeseries {
			dims := make([]string, 0, len(ts.Metadatavalues))
			for _, md := range ts.Metadatavalues {
				dims = append(dims, md.Name.LocalizedValue+"="+md.Value)
			}
			drawn := false
			for _, agg := range metricAggregations {
				vals := make([]*float64, len(ts.Data))
				has := false
				for i, p := range ts.Data {
					vals[i] = p.Get(agg)
					has = has || vals[i] != nil
				}
				if !has {
					continue
				}
				title := m.Name.LocalizedValue + " · " + capitalize(agg) + " (" + m.Unit + ")"
				if len(dims) > 0 {
					title += " · " + strings.Join(dims, " ")
				}
				times := make([]time.Time, len(ts.Data))
				for i, p := range ts.Data {
					times[i] = p.TimeStamp
				}
				b.WriteString(drawChart(title, times, vals, m.Unit == "Percent", height, res.Interval))
				b.WriteString("\n")
				drawn = true
			}
			if !drawn {
				title := m.Name.LocalizedValue
				if len(dims) > 0 {
					title += " · " + strings.Join(dims, " ")
				}
				fmt.Fprintf(&b, "%s: no data\n\n", title)
			}
		}
	}
	return b.String()
}

// drawChart draws one series. A nil value (no sample) leaves its column
// empty above the axis.
func drawChart(title string, times []time.Time, vals []*float64, percent bool, height int, interval string) string {
	// Group points when the series is wider than the chart.
	group := max(1, (len(vals)+chartMaxColumns-1)/chartMaxColumns)
	var cols []*float64
	var colTimes []time.Time
	for i := 0; i < len(vals); i += group {
		var v *float64
		for _, x := range vals[i:min(i+group, len(vals))] {
			if x != nil && (v == nil || *x > *v) {
				v = x
			}
		}
		cols = append(cols, v)
		colTimes = append(colTimes, times[i])
	}
	width := 1
	if len(cols) > 0 {
		width = max(1, min(6, 60/len(cols)))
	}

	var hi, last float64
	hasLast := false
	for _, v := range cols {
		if v != nil {
			hi = max(hi, *v)
			last, hasLast = *v, true
		}
	}
	top := niceCeil(hi)
	line := -1 // the row whose top is 100, for a Percent metric
	if percent {
		top = 100
		for _, k := range []float64{1, 2, 5, 10, 20, 50} {
			top = 100 * k
			if hi <= top {
				break
			}
		}
		if r := int(math.Round(100/top*float64(height))) - 1; r >= 0 && math.Abs(float64(r+1)*top/float64(height)-100) < 1e-9 {
			line = r
		}
	}
	step := top / float64(height)

	labels := make([]string, height)
	for r := range height {
		if r == height-1 || r == line || r == height/2-1 {
			labels[r] = formatTick(float64(r+1) * step)
		}
	}
	lw := 1
	for _, l := range labels {
		lw = max(lw, utf8.RuneCountInString(l))
	}

	var b strings.Builder
	b.WriteString(title)
	b.WriteString("\n")
	stats := fmt.Sprintf("max %s", formatTick(hi))
	if hasLast {
		stats += ", last " + formatTick(last)
	}
	if group > 1 {
		stats += fmt.Sprintf(", a column is the greatest of %d points", group)
	}
	b.WriteString(strings.Repeat(" ", lw+2) + stats + "\n")
	for r := height - 1; r >= 0; r-- {
		var row strings.Builder
		fmt.Fprintf(&row, "%*s ┤", lw, labels[r])
		for _, v := range cols {
			ch := ' '
			if v != nil {
				fill := (*v - float64(r)*step) / step
				n := int(math.Round(math.Max(0, math.Min(1, fill)) * 8))
				ch = eighths[n]
			}
			if ch == ' ' && r == line {
				ch = '┈'
			}
			row.WriteString(strings.Repeat(string(ch), width))
		}
		b.WriteString(strings.TrimRight(row.String(), " "))
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%*s └%s\n", lw, "0", strings.Repeat("─", len(cols)*width))
	b.WriteString(timeAxis(colTimes, width, lw+2, interval))
	return b.String()
}

// timeAxis writes the first, middle and last columns' times under them,
// when they fit.
func timeAxis(times []time.Time, width, indent int, interval string) string {
	if len(times) == 0 {
		return "\n"
	}
	layout := "15:04"
	if times[len(times)-1].Sub(times[0]) >= 24*time.Hour || interval == "P1D" {
		layout = "01-02 15:04"
	}
	n := len(times) * width
	line := []rune(strings.Repeat(" ", n+len(layout)))
	put := func(col int, t time.Time, right bool) bool {
		s := []rune(t.UTC().Format(layout))
		at := col * width
		if right {
			at = max(0, col*width+width-len(s))
		}
		for i := max(0, at-1); i < min(len(line), at+len(s)+1); i++ {
			if line[i] != ' ' {
				return false
			}
		}
		copy(line[at:], s)
		return true
	}
	put(0, times[0], false)
	if len(times) > 1 {
		put(len(times)-1, times[len(times)-1], true)
		put(len(times)/2, times[len(times)/2], false)
	}
	return strings.Repeat(" ", indent) + strings.TrimRight(string(line), " ") + "\n"
}

// niceCeil returns the least of 1, 2, 2.5, 5 × 10ⁿ at or above v (1 for 0).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// formatTick writes an axis value with at most two decimals.
func formatTick(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}
