package metrics_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/metrics"
)

// callSeries returns, from the calls alone, the Prometheus samples they
// make: every labelled series of the call counters, and the count and sum
// of the duration histograms.
func callSeries(recs []ptu.CallRecord) map[string]float64 {
	want := map[string]float64{}
	add := func(v float64, name string, labels ...string) {
		sort.Strings(labels)
		want[name+"{"+strings.Join(labels, ",")+"}"] += v
	}
	for _, r := range recs {
		acct := r.Account.CustomSubDomain
		if acct == "" {
			acct = r.Account.Name
		}
		a, d := fmt.Sprintf("account=%q", acct), fmt.Sprintf("deployment=%q", r.Deployment.Name)
		code, stream := fmt.Sprintf("code=\"%d\"", r.Status), fmt.Sprintf("stream=\"%t\"", r.Stream)
		add(1, "ptu_requests_total", a, d, code, stream)
		if r.Throttled {
			add(1, "ptu_throttled_requests_total", a, d)
		}
		if r.IsSpillover {
			add(1, "ptu_spillover_requests_total", a, d, code)
		}
		if r.Cut != "" {
			add(1, "ptu_cut_requests_total", a, d, fmt.Sprintf("reason=%q", r.Cut))
		}
		if !r.Throttled && (r.Status == http.StatusOK || r.Actual > 0) {
			add(float64(r.PromptTokens), "ptu_tokens_total", a, d, `kind="prompt"`)
			add(float64(r.CachedTokens), "ptu_tokens_total", a, d, `kind="cached"`)
			add(float64(r.CompletionTokens), "ptu_tokens_total", a, d, `kind="completion"`)
		}
		if r.Actual > 0 {
			add(r.Actual, "ptu_deployment_consumed_tokens_total", a, d)
		}
		add(1, "ptu_request_duration_seconds_count", a, d, stream)
		add(r.Duration.Seconds(), "ptu_request_duration_seconds_sum", a, d, stream)
		if r.Status == http.StatusOK && r.TimeToFirstToken > 0 {
			add(1, "ptu_time_to_first_token_seconds_count", a, d, stream)
			add(r.TimeToFirstToken.Seconds(), "ptu_time_to_first_token_seconds_sum", a, d, stream)
		}
	}
	return want
}

// scrapedCallSeries returns the samples of the exposition that callSeries
// predicts: the call counters and the histograms' counts and sums.
func scrapedCallSeries(t *testing.T, body string) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		name, _, _ := strings.Cut(line, "{")
		switch name {
		case "ptu_requests_total", "ptu_throttled_requests_total", "ptu_spillover_requests_total", "ptu_cut_requests_total",
			"ptu_tokens_total", "ptu_deployment_consumed_tokens_total",
			"ptu_request_duration_seconds_count", "ptu_request_duration_seconds_sum",
			"ptu_time_to_first_token_seconds_count", "ptu_time_to_first_token_seconds_sum":
		default:
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got[line[:i]] = v
	}
	return got
}

func sameSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("%s = %v (present %t), want %v", k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s = %v", k, g)
		}
	}
}

// The series a deployment's calls count in are bound once and reused; they
// must count exactly what binding them on every call counted, and no series
// may show before a call needs it.
func TestPrometheusSeriesOfCalls(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	renamed := account
	renamed.Name, renamed.CustomSubDomain = "acct1-renamed", "acct1-renamed"
	noSubdomain := account
	noSubdomain.Name, noSubdomain.CustomSubDomain = "acct2", ""

	var recs []ptu.CallRecord
	record := func(at time.Duration, r ptu.CallRecord) {
		e.recordAt(t0.Add(at), r)
		recs = append(recs, r)
	}
	record(time.Second, call("dep1", 3000))
	s := call("dep1", 2000)
	s.Stream, s.CachedTokens = true, 40
	record(2*time.Second, s)
	th := call("dep1", 0)
	th.Status, th.Throttled, th.CompletionTokens, th.TimeToFirstToken = 429, true, 0, 0
	record(3*time.Second, th)
	sp := call("dep1-std", 500)
	sp.IsSpillover, sp.Deployment.SKUName = true, ptu.GlobalStandard
	record(4*time.Second, sp)
	sp.Status, sp.Actual = 500, 0
	record(5*time.Second, sp)
	cut := call("dep1", 800)
	cut.Status, cut.Cut, cut.Stream = 200, ptu.CutUpstream, true
	record(6*time.Second, cut)
	cut.Cut = ptu.CutDrain
	record(7*time.Second, cut)
	failed := call("dep2", 100)
	failed.Status = 502
	record(8*time.Second, failed)
	// The same deployment name under a renamed account, and under an
	// account without a custom subdomain.
	r := call("dep1", 1000)
	r.Account = renamed
	r.Deployment.AccountName = renamed.Name
	record(9*time.Second, r)
	n := call("dep1", 1000)
	n.Account = noSubdomain
	n.Deployment.AccountName = noSubdomain.Name
	record(10*time.Second, n)
	// Each again, now that its series are bound.
	for i, r := range append([]ptu.CallRecord(nil), recs...) {
		record(20*time.Second+time.Duration(i)*time.Second, r)
	}
	sameSeries(t, scrapedCallSeries(t, scrape(t, e)), callSeries(recs))
}

// A deployment deleted and created again under the same name, with another
// model version and capacity, counts on in the same series; its points and
// gauges carry its new dimensions and capacity.
func TestRecreatedDeployment(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	first := call("dep1", capacity/10)
	e.recordAt(t0.Add(5*time.Second), first)
	again := call("dep1", capacity/5)
	again.Deployment.Model.Version, again.Deployment.Capacity = "2024-11-20", 30
	e.recordAt(t0.Add(65*time.Second), again)

	body := scrape(t, e)
	sameSeries(t, scrapedCallSeries(t, body), callSeries([]ptu.CallRecord{first, again}))
	if got := sample(t, body, `ptu_deployment_capacity_tokens_per_minute{account="acct1",deployment="dep1"}`); got != 2*capacity {
		t.Errorf("capacity gauge %v, want %v", got, 2*capacity)
	}
	if !strings.Contains(body, `model_version="2024-11-20"`) || strings.Contains(body, `model_version="2024-08-06"`) {
		t.Errorf("info gauge does not carry the new model version only:\n%s", body)
	}

	e.flushAt(t0.Add(2 * time.Minute))
	res := e.query(metrics.Params{Metricnames: metrics.Requests, Timespan: span(t0, t0.Add(2*time.Minute)),
		Aggregation: "Total", Filter: "ModelVersion eq '*'"})
	equalLines(t, "requests by model version", series(t, res, 0), []string{
		"modelversion=2024-08-06: 03:00 total=1 | 03:01 total=0",
		"modelversion=2024-11-20: 03:00 total=0 | 03:01 total=1",
	})
}

// Calls of one deployment under two model versions in the same minute (a
// version upgrade) count in the points of their own version, however they
// interleave.
func TestModelVersionChangeWithinAMinute(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	for i := range 6 {
		r := call("dep1", 1000)
		if i%3 == 1 {
			r.Deployment.Model.Version = "2024-11-20"
		}
		r.PromptTokens = 100 * (i + 1)
		e.recordAt(t0.Add(time.Duration(10+i)*time.Second), r)
	}
	e.flushAt(t0.Add(time.Minute))
	res := e.query(metrics.Params{Metricnames: metrics.PromptTokens, Timespan: span(t0, t0.Add(time.Minute)),
		Aggregation: "Total,Count", Filter: "ModelVersion eq '*'"})
	equalLines(t, "prompt tokens by model version", series(t, res, 0), []string{
		"modelversion=2024-08-06: 03:00 total=1400 count=4",
		"modelversion=2024-11-20: 03:00 total=700 count=2",
	})
}

// FlushAll closes the current minute; the deployment's next calls in the
// same clock minute count in the next one, none lost.
func TestCallsAfterFlushAllInTheSameMinute(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	e.recordAt(t0.Add(10*time.Second), call("dep1", capacity/10))
	if err := e.rec.FlushAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.recordAt(t0.Add(20*time.Second), call("dep1", capacity/10))
	e.recordAt(t0.Add(30*time.Second), call("dep1", capacity/10))
	e.flushAt(t0.Add(3 * time.Minute))
	res := e.query(metrics.Params{Metricnames: metrics.Requests + "," + metrics.Utilization, Timespan: span(t0, t0.Add(2*time.Minute)),
		Aggregation: "Total,Average"})
	equalLines(t, "requests", series(t, res, 0), []string{": 03:00 avg=1 total=1 | 03:01 avg=1 total=2"})
	equalLines(t, "utilization", series(t, res, 1), []string{": 03:00 avg=10 total=10 | 03:01 avg=20 total=20"})
}
