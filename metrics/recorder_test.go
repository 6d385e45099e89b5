package metrics_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/metrics"
)

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// point renders a data point's set aggregations, rounded, for comparison.
func point(v metrics.Value) string {
	var parts []string
	for _, f := range []struct {
		name string
		p    *float64
	}{{"avg", v.Average}, {"min", v.Minimum}, {"max", v.Maximum}, {"total", v.Total}, {"count", v.Count}} {
		if f.p != nil {
			parts = append(parts, fmt.Sprintf("%s=%.4g", f.name, *f.p))
		}
	}
	return strings.Join(parts, " ")
}

func series(t *testing.T, res *metrics.Result, metric int) []string {
	t.Helper()
	var out []string
	for _, s := range res.Metrics[metric].Series {
		var meta []string
		for _, m := range s.Metadata {
			meta = append(meta, m.Name+"="+m.Value)
		}
		var pts []string
		for _, v := range s.Data {
			pts = append(pts, v.Time.Format("15:04")+" "+point(v))
		}
		out = append(out, strings.Join(meta, ",")+": "+strings.Join(pts, " | "))
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Utilization: Average is the minute's settled tokens over one minute of
// capacity; Maximum and Minimum the one-minute windows ending every 10 s.
func TestUtilizationPerMinute(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	tenth := capacity / 10
	e.recordAt(t0.Add(5*time.Second), call("dep1", tenth))
	e.recordAt(t0.Add(35*time.Second), call("dep1", tenth))
	e.recordAt(t0.Add(75*time.Second), call("dep1", tenth))
	// Another deployment, busy in the second minute only.
	e.recordAt(t0.Add(62*time.Second), call("dep2", capacity/2))
	e.flushAt(t0.Add(4 * time.Minute))

	res := e.query(metrics.Params{Metricnames: metrics.Utilization, Timespan: span(t0, t0.Add(4*time.Minute)),
		Aggregation: "Average,Maximum,Minimum", Filter: "ModelDeploymentName eq '*'"})
	equalLines(t, "utilization by deployment", series(t, res, 0), []string{
		"modeldeploymentname=dep2: 03:00 avg=0 min=0 max=0 | 03:01 avg=50 min=50 max=50 | 03:02 avg=0 min=0 max=0 | 03:03 avg=0 min=0 max=0",
		"modeldeploymentname=dep1: 03:00 avg=20 min=10 max=20 | 03:01 avg=10 min=10 max=20 | 03:02 avg=0 min=0 max=10 | 03:03 avg=0 min=0 max=0",
	})

	// Not split: the mean of the deployments busy in each minute.
	res = e.query(metrics.Params{Metricnames: metrics.Utilization, Timespan: span(t0, t0.Add(2*time.Minute)), Aggregation: "Average"})
	equalLines(t, "utilization of the account", series(t, res, 0), []string{": 03:00 avg=20 | 03:01 avg=30"})

	// Over five minutes: the mean of the minutes, idle ones at 0 %.
	res = e.query(metrics.Params{Metricnames: metrics.Utilization, Timespan: span(t0, t0.Add(5*time.Minute)), Interval: "PT5M",
		Aggregation: "Average,Maximum,Minimum", Filter: "ModelDeploymentName eq 'dep1'"})
	equalLines(t, "utilization over five minutes", series(t, res, 0), []string{"modeldeploymentname=dep1: 03:00 avg=6 min=0 max=20"})
}

// A call counts in the minute it arrived: the Recorder's clock when it gets
// the record, less the call's duration. A call that outlasts its minute's
// grace period counts in the first minute not yet written.
func TestCallCountsInTheMinuteItArrived(t *testing.T) {
	e := newEnv(t, metrics.Options{Grace: 2 * time.Minute})
	r := call("dep1", 3750)
	r.Duration = 90 * time.Second
	e.recordAt(t0.Add(2*time.Minute+10*time.Second), r) // arrived at 03:00:40, finished within the grace period
	e.flushAt(t0.Add(2 * time.Minute))                  // writes 03:00 and 03:01
	late := call("dep1", 7500)
	late.Duration = 3 * time.Minute
	e.recordAt(t0.Add(4*time.Minute+10*time.Second), late) // arrived at 03:01:10, a minute already written
	if err := e.rec.FlushAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := e.query(metrics.Params{Metricnames: metrics.Requests + "," + metrics.Utilization, Timespan: span(t0, t0.Add(4*time.Minute)),
		Aggregation: "Total,Average"})
	equalLines(t, "requests", series(t, res, 0), []string{": 03:00 avg=1 total=1 | 03:01 total=0 | 03:02 avg=1 total=1 | 03:03 total=0"})
	equalLines(t, "utilization", series(t, res, 1), []string{": 03:00 avg=10 total=10 | 03:01 avg=0 total=0 | 03:02 avg=20 total=20 | 03:03 avg=0 total=0"})
}

func TestRequestsByStatusCode(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	for i := range 3 {
		e.recordAt(t0.Add(time.Duration(10+i)*time.Second), call("dep1", 100))
	}
	for range 2 {
		r := call("dep1", 0)
		r.Status, r.Throttled, r.Actual, r.CompletionTokens = 429, true, 0, 0
		e.recordAt(t0.Add(30*time.Second), r)
	}
	r := call("dep1", 100)
	r.Stream = true
	e.recordAt(t0.Add(40*time.Second), r)
	spilled := call("std1", 100) // served by the Standard deployment it spilled over to
	spilled.Deployment.SKUName, spilled.IsSpillover = ptu.GlobalStandard, true
	e.recordAt(t0.Add(41*time.Second), spilled)
	e.flushAt(t0.Add(time.Minute))

	res := e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Minute)), Filter: "ModelDeploymentName eq 'dep1' and StatusCode eq '*'"})
	equalLines(t, "by status", series(t, res, 0), []string{"modeldeploymentname=dep1,statuscode=200: 03:00 total=4", "modeldeploymentname=dep1,statuscode=429: 03:00 total=2"})

	res = e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Minute)), Filter: "IsSpillover eq '*'"})
	equalLines(t, "by spillover", series(t, res, 0), []string{"isspillover=false: 03:00 total=6", "isspillover=true: 03:00 total=1"})

	res = e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Minute)),
		Filter: "StatusCode eq '429' and IsSpillover eq 'false'", Aggregation: "Total,Count"})
	equalLines(t, "throttled, not spilled", series(t, res, 0), []string{"statuscode=429,isspillover=false: 03:00 total=2 count=2"})

	res = e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Minute)),
		Filter: "StreamType eq 'Streaming' or StreamType eq 'NonStreaming' and StatusCode eq '200'", Rollupby: "StatusCode"})
	equalLines(t, "by stream type, status rolled up", series(t, res, 0), []string{"streamtype=NonStreaming: 03:00 total=4", "streamtype=Streaming: 03:00 total=1"})

	res = e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Minute)), Filter: "ModelDeploymentName eq 'nope'"})
	if len(res.Metrics[0].Series) != 0 {
		t.Errorf("a filter matching nothing gave series %v", series(t, res, 0))
	}
	// The throttled calls processed nothing.
	res = e.query(metrics.Params{Metricnames: metrics.PromptTokens, Timespan: span(t0, t0.Add(time.Minute)), Filter: "ModelDeploymentName eq 'dep1'"})
	equalLines(t, "processed prompt tokens", series(t, res, 0), []string{"modeldeploymentname=dep1: 03:00 total=400"})
	// A Standard deployment has no utilization.
	res = e.query(metrics.Params{Metricnames: metrics.Utilization, Timespan: span(t0, t0.Add(time.Minute)), Filter: "ModelDeploymentName eq '*'"})
	equalLines(t, "utilization", series(t, res, 0), []string{"modeldeploymentname=dep1: 03:00 avg=1.067"})
}

func TestTokenAndLatencyMetrics(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	a := call("dep1", 0)
	a.Stream, a.PromptTokens, a.CachedTokens, a.CompletionTokens = true, 2048, 1024, 11
	a.Actual = 1024 + 4*11
	a.TimeToFirstToken, a.Duration = 100*time.Millisecond, 1100*time.Millisecond // 10 gaps of 100 ms
	b := call("dep1", 0)
	b.PromptTokens, b.CachedTokens, b.CompletionTokens = 1000, 0, 50
	b.Actual = 1000 + 4*50
	b.TimeToFirstToken, b.Duration = 300*time.Millisecond, 2300*time.Millisecond
	failed := call("dep1", 0) // a backend failure before any output: no latency samples
	failed.Status, failed.Actual, failed.CompletionTokens, failed.TimeToFirstToken = 500, 0, 0, 0
	e.recordAt(t0.Add(10*time.Second), a)
	e.recordAt(t0.Add(11*time.Second), b)
	e.recordAt(t0.Add(12*time.Second), failed)
	e.flushAt(t0.Add(time.Minute))

	names := []string{metrics.PromptTokens, metrics.GeneratedTokens, metrics.InferenceTokens, metrics.ActiveTokens, metrics.CacheMatchRate,
		metrics.TimeToResponse, metrics.TimeBetweenTokens, metrics.TimeToLastByte, metrics.TokensPerSecond}
	res := e.query(metrics.Params{Metricnames: strings.Join(names, ","), Timespan: span(t0, t0.Add(time.Minute)),
		Aggregation: "Average,Minimum,Maximum,Total,Count"})
	want := map[string]string{
		metrics.PromptTokens:      ": 03:00 avg=1524 min=1000 max=2048 total=3048 count=2",
		metrics.GeneratedTokens:   ": 03:00 avg=30.5 min=11 max=50 total=61 count=2",
		metrics.InferenceTokens:   ": 03:00 avg=1554 min=1050 max=2059 total=3109 count=2",
		metrics.ActiveTokens:      ": 03:00 avg=1042 min=1035 max=1050 total=2085 count=2",
		metrics.CacheMatchRate:    ": 03:00 avg=33.6 min=0 max=50 total=1.024e+05 count=3048", // 1024 of 3048 prompt tokens
		metrics.TimeToResponse:    ": 03:00 avg=200 min=100 max=300 total=400 count=2",
		metrics.TimeBetweenTokens: ": 03:00 avg=100 min=100 max=100 total=100 count=1", // streaming calls only
		metrics.TimeToLastByte:    ": 03:00 avg=1700 min=1100 max=2300 total=3400 count=2",
		metrics.TokensPerSecond:   ": 03:00 avg=18 min=11 max=25 total=36 count=2",
	}
	for i, name := range names {
		equalLines(t, name, series(t, res, i), []string{want[name]})
	}
}

func TestRollupsMatchMinutes(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	// Two hours with a call every other minute, of growing cost.
	for m := 0; m < 120; m += 2 {
		e.recordAt(t0.Add(time.Duration(m)*time.Minute+30*time.Second), call("dep1", float64(100*(m+1))))
	}
	e.flushAt(t0.Add(2*time.Hour + time.Minute))
	tspan := span(t0, t0.Add(2*time.Hour))
	// sum adds the Totals of requests and averages the utilization Averages.
	sum := func(interval string) (requests, utilization float64, points int) {
		res := e.query(metrics.Params{Metricnames: metrics.Requests + "," + metrics.Utilization, Timespan: tspan, Interval: interval, Aggregation: "Total,Average"})
		for _, v := range res.Metrics[0].Series[0].Data {
			requests += *v.Total
		}
		data := res.Metrics[1].Series[0].Data
		for _, v := range data {
			utilization += *v.Average
		}
		return requests, utilization / float64(len(data)), len(data)
	}
	r1, u1, n1 := sum("PT1M")
	if r1 != 60 || !approx(u1, 100*100*float64(60*60)/capacity/120) || n1 != 120 {
		t.Fatalf("per minute: %g requests, mean utilization %g, %d points", r1, u1, n1)
	}
	for _, interval := range []string{"PT5M", "PT15M", "PT30M", "PT1H", "FULL"} {
		r, u, n := sum(interval)
		if r != r1 || !approx(u, u1) || n >= n1 {
			t.Errorf("%s: %g requests, mean utilization %g, %d points; per minute %g, %g, %d", interval, r, u, n, r1, u1, n1)
		}
	}
	// The 5-minute and hourly rows were written: a range read at those grains
	// costs fewer points.
	full := e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: tspan, Interval: "PT1H"})
	perMinute := e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: tspan, Interval: "PT1M"})
	if full.Cost != 2 || perMinute.Cost != 60 {
		t.Errorf("points read: hourly %d (want 2), per minute %d (want 60)", full.Cost, perMinute.Cost)
	}
}

func TestTopAndOrderBy(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	for i, dep := range []string{"small", "big", "medium"} {
		for range []int{1, 5, 3}[i] {
			e.recordAt(t0.Add(10*time.Second), call(dep, 10))
		}
	}
	e.flushAt(t0.Add(time.Minute))
	names := func(res *metrics.Result) string {
		var out []string
		for _, s := range res.Metrics[0].Series {
			out = append(out, s.Metadata[0].Value)
		}
		return strings.Join(out, ",")
	}
	p := metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Minute)), Filter: "ModelDeploymentName eq '*'"}
	if got := names(e.query(p)); got != "big,medium,small" {
		t.Errorf("default order %s", got)
	}
	p.Top, p.Orderby = "2", "sum asc"
	if got := names(e.query(p)); got != "small,medium" {
		t.Errorf("top 2 ascending %s", got)
	}
	p.ResultType = "Metadata"
	for _, s := range e.query(p).Metrics[0].Series {
		if s.Data != nil {
			t.Errorf("metadata query returned data %v", s.Data)
		}
	}
}

func TestRetention(t *testing.T) {
	e := newEnv(t, metrics.Options{Retention: 2 * time.Hour})
	e.recordAt(t0.Add(10*time.Second), call("dep1", 10))
	e.flushAt(t0.Add(time.Minute)) // writes, and prunes (nothing old yet)
	count := func() int {
		ps, err := e.store.QueryMetrics(context.Background(), ptu.MetricFilter{Resource: account.ID()})
		if err != nil {
			t.Fatal(err)
		}
		return len(ps)
	}
	n := count()
	if n == 0 || n%3 != 0 {
		t.Fatalf("%d points stored, want some at each of three grains", n)
	}
	e.flushAt(t0.Add(time.Hour + 2*time.Minute)) // prunes again: nothing is two hours old
	if m := count(); m != n {
		t.Fatalf("%d points left of %d within retention", m, n)
	}
	e.flushAt(t0.Add(2*time.Hour + 30*time.Minute)) // every grain's row starts at t0, now past retention
	if n := count(); n != 0 {
		t.Errorf("%d points left after retention", n)
	}
}

func TestFlushRetriesWhatTheStoreRefused(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	e.recordAt(t0.Add(10*time.Second), call("dep1", 10))
	e.store.fail = 1
	e.clock.Set(t0.Add(time.Minute + e.grace))
	if err := e.rec.Flush(context.Background()); err == nil {
		t.Fatal("Flush succeeded over a failing store")
	}
	e.recordAt(t0.Add(time.Minute+10*time.Second), call("dep1", 10))
	e.flushAt(t0.Add(2 * time.Minute))
	e.flushAt(t0.Add(3 * time.Minute)) // nothing new: must not write again
	res := e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(2*time.Minute))})
	equalLines(t, "requests after a retry", series(t, res, 0), []string{": 03:00 total=1 | 03:01 total=1"})
	res = e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(time.Hour)), Interval: "PT1H"})
	equalLines(t, "hour after a retry", series(t, res, 0), []string{": 03:00 total=2"})
}

// Run writes the current minute too when it stops, and a call that ends
// after that counts in the next minute instead of being written twice.
func TestRunFlushesOnStop(t *testing.T) {
	e := newEnv(t, metrics.Options{FlushEvery: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.rec.Run(ctx)
		close(done)
	}()
	e.recordAt(t0.Add(20*time.Second), call("dep1", capacity/10))
	e.clock.Set(t0.Add(30 * time.Second))
	cancel()
	<-done
	res := e.query(metrics.Params{Metricnames: metrics.Requests + "," + metrics.Utilization, Timespan: span(t0, t0.Add(time.Minute)),
		Aggregation: "Total,Average,Maximum"})
	equalLines(t, "requests", series(t, res, 0), []string{": 03:00 avg=1 max=1 total=1"})
	equalLines(t, "utilization", series(t, res, 1), []string{": 03:00 avg=10 max=10 total=10"})
}

// Calls recorded while minutes are flushed and Prometheus scrapes are each
// written exactly once.
func TestConcurrentRecordFlushScrape(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	const writers, each = 8, 200
	e.clock.Set(t0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = e.rec.Flush(context.Background())
				scrape(t, e)
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := call(fmt.Sprintf("dep%d", w%3), 10)
				r.Duration = 0
				e.rec.Record(r)
				if i%50 == 0 {
					e.clock.Set(e.clock.Now().Add(40 * time.Second)) // minutes close while others record
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := e.rec.FlushAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := e.query(metrics.Params{Metricnames: metrics.Requests + "," + metrics.Utilization, Timespan: span(t0.Add(-time.Hour), t0.Add(2*time.Hour)),
		Interval: "FULL", Aggregation: "Total"})
	if got := *res.Metrics[0].Series[0].Data[0].Total; got != writers*each {
		t.Errorf("%v requests written, want %d", got, writers*each)
	}
	// Utilization's Total is percent-minutes: every call's 10 tokens once.
	var util float64
	split := e.query(metrics.Params{Metricnames: metrics.Utilization, Timespan: span(t0.Add(-time.Hour), t0.Add(2*time.Hour)),
		Interval: "FULL", Aggregation: "Total", Filter: "ModelDeploymentName eq '*'"})
	for _, s := range split.Metrics[0].Series {
		util += *s.Data[0].Total
	}
	if want := 100 * 10 * float64(writers*each) / capacity; !approx(util, want) {
		t.Errorf("utilization percent-minutes %v, want %v", util, want)
	}
}
