package bench

import (
	"math"
	"net/http"
	"testing"
	"time"
)

// TestPythonNumbers checks the numbers print as Python's json.dumps and
// round() print them.
func TestPythonNumbers(t *testing.T) {
	tests := []struct {
		v      float64
		digits int
		want   string
	}{
		{5, 1, "5.0"},
		{12345, 0, "12345.0"},
		{0.1234567, 3, "0.123"},
		{2.675, 2, "2.67"}, // the binary value is below 2.675
		{0.0005, 3, "0.001"},
		{100.04, 1, "100.0"},
		{89.25, 1, "89.2"}, // exactly representable: ties go to even
		{1.5e16, 0, "1.5e+16"},
	}
	for _, tt := range tests {
		if got := pyFloat(round(tt.v, tt.digits)); got != tt.want {
			t.Errorf("pyFloat(round(%v, %d)) = %s, want %s", tt.v, tt.digits, got, tt.want)
		}
	}
	if got := pyFloat(0.00001); got != "1e-05" {
		t.Errorf("pyFloat(0.00001) = %s, want 1e-05", got)
	}
}

func okResult(start time.Time, e2e, ttft time.Duration, ctx, gen int, util float64) *result {
	return &result{Start: start, End: start.Add(e2e), Status: http.StatusOK, streamed: true,
		FirstToken: start.Add(ttft), ContextTokens: ctx, GeneratedTokens: gen,
		Util: util, UtilAt: start, HasUtil: true, Attempts: []attempt{{Status: 200}}}
}

// TestStatsLines follows azure-openai-benchmark's _dump by hand: windows
// keyed by call start, a dynamic window before the aggregation window has
// passed, and n/a until there are samples (two for a 95th percentile).
func TestStatsLines(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.Local)
	a := newAggregator(20, 10*time.Second, start)

	// Nothing finished yet.
	a.started()
	got := a.snapshot(start.Add(time.Second)).JSONL()
	want := `{"run_seconds": 1, "timestamp": "2026-05-01 12:00:01", "rpm": "n/a", "processing": 1, "completed": 0, "failures": 0, "throttled": 0, "requests": 0, "tpm": {"context": "n/a", "gen": "n/a", "total": 0}, "e2e": {"avg": "n/a", "95th": "n/a"}, "ttft": {"avg": "n/a", "95th": "n/a"}, "tbt": {"avg": "n/a", "95th": "n/a"}, "util": {"avg": "n/a", "95th": "n/a"}}`
	if got != want {
		t.Errorf("empty line:\n got %s\nwant %s", got, want)
	}

	// One success: 500 prompt tokens, 101 generated, e2e 2 s, ttft 0.5 s.
	a.add(okResult(start, 2*time.Second, 500*time.Millisecond, 500, 101, 12.5))
	// One throttled call and one that failed, each reporting utilization.
	for _, status := range []int{429, 500} {
		a.started()
		a.add(&result{Start: start.Add(time.Second), End: start.Add(time.Second), Status: status,
			Util: 100.5, UtilAt: start.Add(time.Second), HasUtil: true, Attempts: []attempt{{Status: status}}})
	}
	got = a.snapshot(start.Add(2 * time.Second)).JSONL()
	// rpm = 60 × 1 / 2 s; tpm = 60 × tokens / 2 s; tbt = 1.5 s / 101; util over all three answers.
	want = `{"run_seconds": 2, "timestamp": "2026-05-01 12:00:02", "rpm": 30.0, "processing": 0, "completed": 3, "failures": 2, "throttled": 1, "requests": 3, "tpm": {"context": 15000.0, "gen": 3030.0, "total": 18030.0}, "e2e": {"avg": 2.0, "95th": "n/a"}, "ttft": {"avg": 0.5, "95th": "n/a"}, "tbt": {"avg": 0.015, "95th": "n/a"}, "util": {"avg": "71.2%", "95th": "100.5%"}}`
	if got != want {
		t.Errorf("line at 2 s:\n got %s\nwant %s", got, want)
	}

	// A second success, started at 15 s.
	a.started()
	a.add(okResult(start.Add(15*time.Second), 1*time.Second, 250*time.Millisecond, 500, 51, 20))
	got = a.snapshot(start.Add(16 * time.Second)).JSONL()
	// The calls started at 0 s and 1 s are older than the 10 s window at
	// 16 s, but the window slides after each line is computed (as
	// _dump then _slide_window do), so they count once more here.
	// 0.4875 is just below its decimal in binary: Python's round gives 0.487.
	want = `{"run_seconds": 16, "timestamp": "2026-05-01 12:00:16", "rpm": 12.0, "processing": 0, "completed": 4, "failures": 2, "throttled": 1, "requests": 4, "tpm": {"context": 6000.0, "gen": 912.0, "total": 6912.0}, "e2e": {"avg": 1.5, "95th": 1.95}, "ttft": {"avg": 0.375, "95th": 0.487}, "tbt": {"avg": 0.015, "95th": 0.015}, "util": {"avg": "58.4%", "95th": "100.5%"}}`
	if got != want {
		t.Errorf("line at 16 s:\n got %s\nwant %s", got, want)
	}
	// Now only the call started at 15 s is in the window.
	got = a.snapshot(start.Add(17 * time.Second)).JSONL()
	want = `{"run_seconds": 17, "timestamp": "2026-05-01 12:00:17", "rpm": 6.0, "processing": 0, "completed": 4, "failures": 2, "throttled": 1, "requests": 4, "tpm": {"context": 3000.0, "gen": 306.0, "total": 3306.0}, "e2e": {"avg": 1.0, "95th": "n/a"}, "ttft": {"avg": 0.25, "95th": "n/a"}, "tbt": {"avg": 0.015, "95th": "n/a"}, "util": {"avg": "20.0%", "95th": "n/a"}}`
	if got != want {
		t.Errorf("line at 17 s:\n got %s\nwant %s", got, want)
	}
	human := a.snapshot(start.Add(18 * time.Second)).Human()
	wantHuman := "2026-05-01 12:00:18 rpm: 6.0   processing: 0    completed: 4     failures: 2    throttled: 1    requests: 4     tpm: 3306.0 ttft_avg: 0.25   ttft_95th: n/a    tbt_avg: 0.015  tbt_95th: n/a    e2e_avg: 1.0    e2e_95th: n/a    util_avg: 20.0%  util_95th: n/a"
	if human != wantHuman {
		t.Errorf("human line:\n got %q\nwant %q", human, wantHuman)
	}
}

// TestUtilTrend: the trend ignores calls that bunch up and finds a steady climb.
func TestUtilTrend(t *testing.T) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Minute)
	var flat, climbing []sample
	for i := range 120 {
		at := start.Add(time.Duration(i) * 500 * time.Millisecond)
		v := 1.1
		if i%17 == 0 || i > 110 { // bursts, one of them at the very end
			v = 4.4
		}
		flat = append(flat, sample{at, v})
		// 105 % of capacity: 5 points a minute, plus the call's own estimate.
		climbing = append(climbing, sample{at, 1.1 + 5*at.Sub(start).Minutes() + float64(i%3)*0.5})
	}
	if rise, _ := utilTrend(flat, start, end); math.Abs(rise) > 0.5 {
		t.Errorf("flat utilization with bursts: rise %.2f points/min, want about 0", rise)
	}
	rise, atEnd := utilTrend(climbing, start, end)
	if math.Abs(rise-5) > 0.5 || math.Abs(atEnd-6.1) > 0.6 {
		t.Errorf("climbing 5 points/min from 1.1%%: rise %.2f, at the end %.2f", rise, atEnd)
	}
	if rise, _ := utilTrend(climbing[:5], start, end); !math.IsNaN(rise) {
		t.Errorf("5 samples gave a trend %v", rise)
	}
}
