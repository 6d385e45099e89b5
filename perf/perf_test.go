package perf

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

func TestSummarize(t *testing.T) {
	ds := make([]time.Duration, 101)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	l := Summarize(ds)
	if l.N != 101 || l.P50 != 50*time.Millisecond || l.P90 != 90*time.Millisecond || l.P99 != 99*time.Millisecond ||
		l.Max != 100*time.Millisecond || l.Mean != 50*time.Millisecond {
		t.Errorf("summary of 0..100 ms: %+v", l)
	}
	if l := Summarize([]time.Duration{1, 2}); l.P50 != 2 || l.Mean != 2 { // 1.5 ns, rounded
		t.Errorf("summary of 1 and 2 ns: %+v", l)
	}
	if (Summarize(nil) != Latency{}) {
		t.Error("the summary of nothing is not zero")
	}
}

// A stall of the sender is charged to every call scheduled during it, not
// only the one that was waiting: latency runs from the scheduled send time.
// The run is in a synctest bubble, where time moves only when every
// goroutine waits: calls answer at once, and the stall is the scheduler
// waiting on a gate the 10th call holds for 50 ms.
func TestOpenLoopChargesStallsToScheduledCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{}, 1)
		var mu sync.Mutex
		n := 0
		out := OpenLoop(context.Background(), stalling{gate}, 100, time.Second, func(context.Context) (int, error) {
			mu.Lock()
			n++
			k := n
			mu.Unlock()
			switch k {
			case 10:
				gate <- struct{}{}
				time.Sleep(50 * time.Millisecond)
				<-gate
			case 20:
				return 429, nil
			case 30:
				return 0, errors.New("refused")
			}
			return 200, nil
		})
		if out.Sent != 100 || out.OK != 98 || out.Throttled != 1 || out.Failed != 1 || out.LastError != "refused" {
			t.Fatalf("outcome %+v, want 100 sent, 98 OK, 1 throttled, 1 failed", out)
		}
		s := Summarize(out.Latencies)
		// The stalled call waited 50 ms; the four after it were scheduled
		// 10, 20, 30 and 40 ms into the stall and sent at its end.
		if s.Max != 50*time.Millisecond || s.P50 != 0 {
			t.Errorf("latencies %+v: want max 50 ms (the stall), p50 0", s)
		}
		late := 0
		for _, l := range out.Latencies {
			if l > 0 {
				late++
			}
		}
		if late != 5 {
			t.Errorf("%d calls charged for the stall, want 5 (the stalled one and the four scheduled during it)", late)
		}
	})
}

// stalling is the wall clock whose sleeps end only when the gate is free.
type stalling struct{ gate chan struct{} }

func (stalling) Now() time.Time { return time.Now() }

func (c stalling) Sleep(ctx context.Context, d time.Duration) error {
	err := clock.Real{}.Sleep(ctx, d)
	c.gate <- struct{}{}
	<-c.gate
	return err
}

func TestOpenLoopStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		out := OpenLoop(ctx, nil, 10, 10*time.Second, func(context.Context) (int, error) {
			cancel()
			return 200, nil
		})
		if out.Sent != 1 {
			t.Errorf("sent %d calls after the context ended, want 1", out.Sent)
		}
	})
}

func TestClosedLoopCountsEveryAnswer(t *testing.T) {
	out := ClosedLoop(context.Background(), 4, 50*time.Millisecond, func(ctx context.Context) (int, error) {
		select {
		case <-time.After(time.Millisecond):
			return 200, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	if out.OK == 0 || out.Failed != 0 || out.Sent != out.OK || len(out.Latencies) != out.OK {
		t.Errorf("outcome sent %d ok %d failed %d latencies %d: calls cut off at the end must not count as failures",
			out.Sent, out.OK, out.Failed, len(out.Latencies))
	}
}

func step(target string, rate float64, p50, p99 time.Duration, achieved float64) Step {
	return Step{Target: target, Rate: rate, OK: 1, Achieved: achieved, Latency: Latency{P50: p50, P99: p99}}
}

func TestCompareAgainstUpstreamAndProxy(t *testing.T) {
	us := time.Microsecond
	r := &Report{Targets: []string{TargetUpstream, TargetProxy, TargetPTUMemory, TargetPTURedis}, Steps: []Step{
		step(TargetUpstream, 1000, 300*us, 900*us, 1000),
		step(TargetProxy, 1000, 400*us, 1200*us, 1000),
		step(TargetPTUMemory, 1000, 600*us, 2000*us, 1000),
		step(TargetPTURedis, 1000, 1100*us, 4000*us, 1000),
		step(TargetUpstream, 0, 0, 0, 9000),
		step(TargetProxy, 0, 0, 0, 4000),
		step(TargetPTUMemory, 0, 0, 0, 2600),
		step(TargetPTURedis, 0, 0, 0, 2000),
	}}
	r.Compare()
	find := func(target string, rate float64) Row {
		for _, row := range r.Rows {
			if row.Target == target && row.Rate == rate {
				return row
			}
		}
		t.Fatalf("no row for %s at %v", target, rate)
		return Row{}
	}
	if row := find(TargetProxy, 1000); row.AddedP50 != 100*us || row.AddedP99 != 300*us || row.OverProxyP50 != 0 {
		t.Errorf("bare proxy row %+v: added p50 100 µs, p99 300 µs", row)
	}
	if row := find(TargetPTUMemory, 1000); row.AddedP50 != 300*us || row.OverProxyP50 != 200*us || row.OverProxyP99 != 800*us {
		t.Errorf("ptu-memory row %+v: added 300 µs, 200 µs over the proxy at p50, 800 µs at p99", row)
	}
	if row := find(TargetPTUMemory, 0); row.ThroughputRatio != 0.65 {
		t.Errorf("ptu-memory saturation ratio %v, want 0.65", row.ThroughputRatio)
	}
	want := map[string]bool{
		"ptu-memory p50 over the bare proxy's at 1,000 calls/s": false, // 200 µs > 150 µs
		"ptu-redis p50 over the bare proxy's at 1,000 calls/s":  false, // 700 µs > 500 µs
		"ptu-memory saturation calls/s over the bare proxy's":   true,  // 65 %
		"ptu-redis saturation calls/s over the bare proxy's":    false, // 50 %
	}
	if len(r.Checks) != len(want) {
		t.Fatalf("checks %+v, want %d", r.Checks, len(want))
	}
	for _, c := range r.Checks {
		if pass, ok := want[c.What]; !ok || pass != c.Pass {
			t.Errorf("check %+v: want pass=%v", c, pass)
		}
	}
	// Streaming variants are compared with the streaming upstream and
	// proxy, and carry no target check.
	r.Targets = append(r.Targets, TargetUpstream+StreamSuffix, TargetProxy+StreamSuffix, TargetPTUMemory+StreamSuffix)
	r.Steps = append(r.Steps, step(TargetUpstream+StreamSuffix, 1000, 500*us, 0, 1000),
		step(TargetProxy+StreamSuffix, 1000, 700*us, 0, 1000), step(TargetPTUMemory+StreamSuffix, 1000, 900*us, 0, 1000))
	r.Compare()
	if row := find(TargetPTUMemory+StreamSuffix, 1000); row.AddedP50 != 400*us || row.OverProxyP50 != 200*us {
		t.Errorf("streaming ptu row %+v: want 400 µs over the streaming upstream, 200 µs over the streaming proxy", row)
	}
	if len(r.Checks) != len(want) {
		t.Errorf("streaming rows added checks: %+v", r.Checks)
	}
	var b strings.Builder
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "| 1000") || !strings.Contains(b.String(), "65 %") || !strings.Contains(b.String(), "NOT MET") {
		t.Errorf("table misses the rows, the ratio or the failed check:\n%s", b.String())
	}
}

func TestParseMetricsAndLeaks(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
process_resident_memory_bytes 5.24288e+07
ptu_deployment_bucket_level_ratio{account="a",deployment="x"} 0.25
ptu_deployment_bucket_level_ratio{account="a",deployment="y"} 0
`
	s, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.Goroutines != 42 || s.RSS != 52428800 || s.BucketLevel != 0.25 || s.Buckets != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	if _, err := ParseMetrics(strings.NewReader("process_resident_memory_bytes 1\n")); err == nil {
		t.Error("metrics without go_goroutines accepted")
	}
	base := Snapshot{Goroutines: 40}
	if l := Leaks(base, Snapshot{Goroutines: 48}, 8); len(l) != 0 {
		t.Errorf("within slack reported as leak: %v", l)
	}
	if l := Leaks(base, s, 1); len(l) != 2 {
		t.Errorf("leaks %v, want goroutines and buckets", l)
	}
	// SettleLeaks waits for the state to come back.
	calls := 0
	after, leaks, err := SettleLeaks(context.Background(), func(context.Context) (Snapshot, error) {
		calls++
		if calls < 2 {
			return s, nil
		}
		return Snapshot{Goroutines: 41}, nil
	}, base, 2, 10*time.Second)
	if err != nil || len(leaks) != 0 || after.Goroutines != 41 {
		t.Errorf("settle: %v %v %+v", err, leaks, after)
	}
}

func TestParseProc(t *testing.T) {
	if n, err := parseKB("   123 kB"); err != nil || n != 123*1024 {
		t.Errorf("parseKB: %d %v", n, err)
	}
	if _, err := parseKB("12 MB"); err == nil {
		t.Error("unit MB accepted")
	}
	stat := "1234 (ptu serve) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0"
	if d, err := parseStatCPU(stat); err != nil || d != 3*time.Second {
		t.Errorf("parseStatCPU = %v %v, want 3 s (300 ticks)", d, err)
	}
}

// A short soak through the whole server in this process: after the load,
// goroutines come back to the baseline taken after a warm-up at the same
// rate, and the bucket drains to empty.
func TestShortSoakLeaksNothing(t *testing.T) {
	up := instantUpstream(t)
	s, chat, key := ptuInProcess(t, up.URL)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	call := func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, chat, bytes.NewReader(benchBody))
		req.Header.Set("api-key", key)
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	ctx := context.Background()
	scrape := func(ctx context.Context) (Snapshot, error) { return Scrape(ctx, s.URL) }
	if out := OpenLoop(ctx, nil, 100, time.Second, call); out.OK != out.Sent {
		t.Fatalf("warm-up: %+v", out)
	}
	// Idle keep-alive connections are not leaks: ptu's pool keeps up to
	// 1,024 to the upstream, and a slow machine opens more of them under
	// load than the warm-up did. Before each reading both ends' idle
	// connections are closed (the test's to ptu, the upstream's to ptu), so
	// only what the calls themselves left behind is counted.
	closeIdle := func() {
		c.CloseIdleConnections()
		up.CloseClientConnections()
		time.Sleep(100 * time.Millisecond)
	}
	closeIdle()
	base, _, err := SettleLeaks(ctx, scrape, Snapshot{Goroutines: 1 << 30}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := OpenLoop(ctx, nil, 200, 2*time.Second, call)
	if out.OK != out.Sent || out.Sent != 400 {
		t.Fatalf("load: %d sent, %d answered 200 (%s)", out.Sent, out.OK, out.LastError)
	}
	closeIdle()
	// The slack is for connections in the middle of closing and the
	// scrape's own; a leak of one goroutine per call (400) is far past it.
	after, leaks, err := SettleLeaks(ctx, scrape, base, 16*3, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaks) > 0 {
		t.Errorf("after 400 calls: %v", leaks)
	}
	if after.Buckets != 1 {
		t.Errorf("%d bucket series, want the one deployment's", after.Buckets)
	}
	t.Logf("goroutines %d before, %d after", base.Goroutines, after.Goroutines)
}
