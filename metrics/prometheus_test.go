package metrics_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/metrics"
)

func scrape(t *testing.T, e *env) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.rec.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// sample returns the value of the series line that starts with name{labels}.
func sample(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in the exposition", series)
	return 0
}

func TestPrometheus(t *testing.T) {
	var e *env
	lim := inmem.New(func() time.Time { return e.clock.Now() })
	e = newEnv(t, metrics.Options{Limiter: lim})

	a := call("dep1", 3000)
	a.CachedTokens = 40
	e.recordAt(t0.Add(5*time.Second), a)
	b := call("dep1", 4500)
	b.Stream = true
	b.Duration, b.TimeToFirstToken = 30*time.Second, 3*time.Second
	e.recordAt(t0.Add(15*time.Second), b)
	throttled := call("dep1", 0)
	throttled.Status, throttled.Throttled, throttled.Actual, throttled.CompletionTokens = 429, true, 0, 0
	throttled.TimeToFirstToken, throttled.Duration = 0, time.Millisecond
	e.recordAt(t0.Add(16*time.Second), throttled)
	spilled := call("std1", 100) // served by the Standard deployment dep1 spilled over to
	spilled.IsSpillover = true
	e.recordAt(t0.Add(17*time.Second), spilled)

	e.clock.Set(t0.Add(25 * time.Second))
	key := strings.ToLower(deployment("dep1").ID())
	if _, err := lim.Admit(context.Background(), key, capacity, capacity/4); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, e)

	d := `account="acct1",deployment="dep1"`
	checks := []struct {
		series string
		want   float64
	}{
		{`ptu_requests_total{account="acct1",code="200",deployment="dep1",stream="false"}`, 1},
		{`ptu_requests_total{account="acct1",code="200",deployment="dep1",stream="true"}`, 1},
		{`ptu_requests_total{account="acct1",code="429",deployment="dep1",stream="false"}`, 1},
		{`ptu_throttled_requests_total{` + d + `}`, 1},
		{`ptu_spillover_requests_total{account="acct1",code="200",deployment="std1"}`, 1},
		{`ptu_tokens_total{` + d + `,kind="prompt"}`, 200},
		{`ptu_tokens_total{` + d + `,kind="cached"}`, 40},
		{`ptu_tokens_total{` + d + `,kind="completion"}`, 20},
		{`ptu_deployment_consumed_tokens_total{` + d + `}`, 7500},
		{`ptu_deployment_capacity_tokens_per_minute{` + d + `}`, capacity},
		// Both calls ended within the minute before the last 10-second mark (t0+20s).
		{`ptu_deployment_utilization_ratio{` + d + `}`, 7500 / capacity},
		{`ptu_deployment_bucket_level_ratio{` + d + `}`, 0.25},
		{`ptu_deployment_info{` + d + `,model="gpt-4o",model_version="2024-08-06",region="eastus",sku="GlobalProvisionedManaged"}`, 1},
		{`ptu_request_duration_seconds_count{` + d + `,stream="true"}`, 1},
		{`ptu_request_duration_seconds_bucket{` + d + `,stream="true",le="20"}`, 0},
		{`ptu_request_duration_seconds_bucket{` + d + `,stream="true",le="40"}`, 1},
		{`ptu_time_to_first_token_seconds_count{` + d + `,stream="false"}`, 1},
		{`ptu_time_to_first_token_seconds_sum{` + d + `,stream="true"}`, 3},
	}
	for _, c := range checks {
		if got := sample(t, body, c.series); !approx(got, c.want) {
			t.Errorf("%s = %g, want %g", c.series, got, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_start_time_seconds"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("no %s in the exposition", name)
		}
	}

	// A minute later the window holds nothing: the gauge reads 0 and the
	// bucket has drained.
	e.clock.Set(t0.Add(90 * time.Second))
	body = scrape(t, e)
	if got := sample(t, body, `ptu_deployment_utilization_ratio{`+d+`}`); got != 0 {
		t.Errorf("utilization a minute later = %g", got)
	}
	if got := sample(t, body, `ptu_deployment_bucket_level_ratio{`+d+`}`); got != 0 {
		t.Errorf("bucket level a minute later = %g", got)
	}
	promtool(t, body)
}

// promtool runs `promtool check metrics` over an exposition. It is skipped
// where promtool is not installed, except under CI=true, where it must be.
func promtool(t *testing.T, exposition string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (Debian: apt-get install -y prometheus); CI must run `promtool check metrics`")
		}
		t.Skip("promtool not installed; skipping `promtool check metrics`")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}
