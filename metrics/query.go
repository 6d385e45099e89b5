package metrics

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// Query is a metrics query over one account (ParseQuery builds it from the
// API's parameters).
type Query struct {
	Metrics      []*Definition
	Start, End   time.Time
	Interval     time.Duration // 0 is FULL: one data point for the whole timespan
	Aggregations []Aggregation // empty: each metric's primary aggregation
	Filter       Filter
	RollUpBy     []string // dimensions of the filter not to split by
	Top          int      // series per metric when split; 0 is 10
	OrderBy      Aggregation
	Ascending    bool
	MetadataOnly bool // series without data (resultType=Metadata)
}

// Result is the answer to a Query. Start and End are the timespan aligned to
// the interval (whole minutes for FULL).
type Result struct {
	Start, End time.Time
	Interval   time.Duration // 0 for FULL
	Metrics    []MetricResult
	Cost       int // stored points read
}

// MetricResult is one metric's series.
type MetricResult struct {
	*Definition
	Series []Series
}

// Series is one combination of the split dimensions' values (none when the
// query does not split) with a data point per interval.
type Series struct {
	Metadata []Metadata
	Data     []Value
}

// Metadata is the value of one split dimension.
type Metadata struct{ Name, Value string }

// Value is one interval's aggregations; only the requested ones are set, and
// Average, Minimum and Maximum are nil for an interval without samples
// (utilization, whose idle minutes are 0 %, excepted).
type Value struct {
	Time                                    time.Time
	Average, Count, Maximum, Minimum, Total *float64
}

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	Now       func() time.Time // time.Now when nil
	Retention time.Duration    // DefaultRetention when 0; reported by metricDefinitions
}

// Reader answers metrics queries from the store.
type Reader struct {
	store ptu.MetricStore
	opt   ReaderOptions
}

// NewReader returns a Reader over store.
func NewReader(store ptu.MetricStore, opt ReaderOptions) *Reader {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Retention <= 0 {
		opt.Retention = DefaultRetention
	}
	return &Reader{store: store, opt: opt}
}

// Now is the reader's clock (the end of a default timespan).
func (r *Reader) Now() time.Time { return r.opt.Now() }

// Retention is how long points are kept.
func (r *Reader) Retention() time.Duration { return r.opt.Retention }

// grainFor picks the coarsest stored grain that tiles [start, end) in
// buckets of width.
func grainFor(start, end time.Time, width time.Duration) time.Duration {
	for _, g := range []time.Duration{time.Hour, 5 * time.Minute} {
		if width%g == 0 && start.Truncate(g).Equal(start) && end.Truncate(g).Equal(end) {
			return g
		}
	}
	return time.Minute
}

// Query runs q over the account with ARM id resource.
func (r *Reader) Query(ctx context.Context, resource string, q Query) (*Result, error) {
	start, end := q.Start.UTC(), q.End.UTC()
	var width time.Duration
	n := 1
	if q.Interval > 0 {
		width = q.Interval
		start = start.Truncate(width)
		n = int((end.Sub(start) + width - 1) / width)
		end = start.Add(time.Duration(n) * width)
	} else {
		start = start.Truncate(time.Minute)
		if t := end.Truncate(time.Minute); !t.Equal(end) {
			end = t.Add(time.Minute)
		}
		width = end.Sub(start)
	}
	names := make([]string, len(q.Metrics))
	for i, d := range q.Metrics {
		names[i] = d.Name
	}
	points, err := r.store.QueryMetrics(ctx, ptu.MetricFilter{Resource: resource, Metrics: names,
		Grain: grainFor(start, end, width), From: start, To: end})
	if err != nil {
		return nil, err
	}
	byMetric := map[string][]ptu.MetricPoint{}
	for _, p := range points {
		byMetric[p.Metric] = append(byMetric[p.Metric], p)
	}
	res := &Result{Start: start, End: end, Interval: q.Interval, Cost: len(points)}
	for _, d := range q.Metrics {
		res.Metrics = append(res.Metrics, MetricResult{Definition: d, Series: q.series(d, byMetric[d.Name], start, width, n)})
	}
	return res, nil
}

// stat accumulates points: count, total, extremes.
type stat struct {
	count, total, lo, hi float64
	has                  bool
}

func (s *stat) add(p ptu.MetricPoint) {
	if !s.has {
		s.lo, s.hi, s.has = p.Minimum, p.Maximum, true
	} else {
		s.lo, s.hi = min(s.lo, p.Minimum), max(s.hi, p.Maximum)
	}
	s.count += p.Count
	s.total += p.Total
}

func (s *stat) merge(o *stat) {
	if !o.has {
		return
	}
	s.add(ptu.MetricPoint{Count: o.count, Total: o.total, Minimum: o.lo, Maximum: o.hi})
}

// bucket is one interval of one series: a stat per unit. Utilization keeps
// one unit per deployment (and stream type), whose shares add up, and
// averages across units; other metrics merge everything into one unit.
type bucket map[ptu.MetricDimensions]*stat

type seriesAcc struct {
	meta    []Metadata
	buckets []bucket
}

func (q *Query) series(d *Definition, points []ptu.MetricPoint, start time.Time, width time.Duration, n int) []Series {
	type group struct {
		dim string
		g   Group
	}
	var groups []group
	var split []string
	useStreamRows := false
	for _, g := range q.Filter {
		dim, _ := d.dimension(g.Dimension) // ParseQuery checked it
		groups = append(groups, group{dim, g})
		if dim == DimStreamType {
			useStreamRows = true
		}
		rolled := slices.ContainsFunc(q.RollUpBy, func(r string) bool { return strings.EqualFold(r, dim) })
		if !rolled && !slices.Contains(split, dim) {
			split = append(split, dim)
		}
	}

	accs := map[string]*seriesAcc{}
	var order []string
	for _, p := range points {
		if d.utilization && (p.Dimensions.StreamType != "") != useStreamRows {
			continue // per-stream rows when the query looks at stream types, deployment rows otherwise
		}
		ok := true
		for _, g := range groups {
			if !g.g.match(dimValue(p.Dimensions, g.dim)) {
				ok = false
				break
			}
		}
		i := int(p.Time.Sub(start) / width)
		if !ok || i < 0 || i >= n {
			continue
		}
		meta := make([]Metadata, len(split))
		var key strings.Builder
		for j, dim := range split {
			v := dimValue(p.Dimensions, dim)
			meta[j] = Metadata{Name: strings.ToLower(dim), Value: v}
			key.WriteString(strings.ToLower(v) + "\x00")
		}
		a := accs[key.String()]
		if a == nil {
			a = &seriesAcc{meta: meta, buckets: make([]bucket, n)}
			accs[key.String()] = a
			order = append(order, key.String())
		}
		if a.buckets[i] == nil {
			a.buckets[i] = bucket{}
		}
		var unit ptu.MetricDimensions
		if d.utilization {
			unit = p.Dimensions
		}
		s := a.buckets[i][unit]
		if s == nil {
			s = &stat{}
			a.buckets[i][unit] = s
		}
		s.add(p)
	}

	aggs := q.Aggregations
	if len(aggs) == 0 {
		aggs = []Aggregation{d.Primary}
	}
	minutes := width.Minutes()
	if len(split) == 0 && len(accs) == 0 {
		accs[""] = &seriesAcc{buckets: make([]bucket, n)}
		order = append(order, "")
	}
	if len(split) > 0 {
		by := q.OrderBy
		if by == "" {
			by = aggs[0]
		}
		score := map[string]float64{}
		for _, k := range order {
			all := bucket{}
			for _, b := range accs[k].buckets {
				for u, s := range b {
					if all[u] == nil {
						all[u] = &stat{}
					}
					all[u].merge(s)
				}
			}
			v := d.value(all, minutes*float64(n), []Aggregation{by})
			score[k] = math.Inf(-1)
			if p := v.get(by); p != nil {
				score[k] = *p
			}
		}
		slices.SortStableFunc(order, func(a, b string) int {
			c := cmp.Compare(score[b], score[a])
			if q.Ascending {
				c = -c
			}
			return cmp.Or(c, strings.Compare(a, b))
		})
		top := q.Top
		if top <= 0 {
			top = 10
		}
		if len(order) > top {
			order = order[:top]
		}
	}

	out := []Series{}
	for _, k := range order {
		a := accs[k]
		s := Series{Metadata: a.meta}
		if s.Metadata == nil {
			s.Metadata = []Metadata{}
		}
		if !q.MetadataOnly {
			s.Data = make([]Value, n)
			for i, b := range a.buckets {
				s.Data[i] = d.value(b, minutes, aggs)
				s.Data[i].Time = start.Add(time.Duration(i) * width)
			}
		}
		out = append(out, s)
	}
	return out
}

// value computes the aggregations of one interval of minutes length.
func (d *Definition) value(b bucket, minutes float64, aggs []Aggregation) Value {
	var count, total float64
	var avg, lo, hi *float64
	if d.utilization {
		// Each unit's Average is its shares over the interval's minutes (an
		// idle minute is 0 %); its extremes are at least, and at most, that
		// Average, and a unit idle for some minute has a Minimum of 0.
		var sum float64
		first := true
		for _, s := range b {
			uAvg := s.total / minutes
			uHi := max(s.hi, uAvg)
			uLo := min(s.lo, uAvg)
			if s.count < minutes-0.5 {
				uLo = 0
			}
			sum += uAvg
			count += s.count
			total += s.total
			if first {
				lo, hi, first = &uLo, &uHi, false
			} else {
				*lo, *hi = min(*lo, uLo), max(*hi, uHi)
			}
		}
		zero := 0.0
		a := zero
		if len(b) > 0 {
			a = sum / float64(len(b))
		} else {
			lo, hi = &zero, &zero
		}
		avg = &a
	} else {
		var all stat
		for _, s := range b {
			all.merge(s)
		}
		count, total = all.count, all.total
		if all.has && all.count > 0 {
			a := all.total / all.count
			avg, lo, hi = &a, &all.lo, &all.hi
		}
	}
	var v Value
	for _, a := range aggs {
		switch a {
		case Average:
			v.Average = avg
		case Count:
			v.Count = &count
		case Maximum:
			v.Maximum = hi
		case Minimum:
			v.Minimum = lo
		case Total:
			v.Total = &total
		}
	}
	return v
}

func (v Value) get(a Aggregation) *float64 {
	switch a {
	case Average:
		return v.Average
	case Count:
		return v.Count
	case Maximum:
		return v.Maximum
	case Minimum:
		return v.Minimum
	case Total:
		return v.Total
	}
	return nil
}
