package perf

import (
	"strings"
	"testing"
	"time"
)

// wrk 4.1's summary, as Debian's package prints it.
const wrkOutput = `Running 10s test @ http://127.0.0.1:40001/v1/chat/completions
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms    1.02ms  21.13ms   80.12%
    Req/Sec     6.21k   512.33     7.30k    70.50%
  123456 requests in 10.01s, 80.12MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:  12333.33
Transfer/sec:      8.00MB
`

func TestParseWrk(t *testing.T) {
	req, non2xx, errs, elapsed, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if req != 123456 || non2xx != 17 || errs != 7 || elapsed != 10010*time.Millisecond {
		t.Errorf("parseWrk = %d requests, %d non-2xx, %d errors in %s", req, non2xx, errs, elapsed)
	}
	if _, _, _, _, err := parseWrk("wrk: connection refused\n"); err == nil {
		t.Error("parseWrk of an output with no summary succeeded")
	}
}

func TestWrkScript(t *testing.T) {
	got := wrkScript(target{body: []byte(`{"content":"a \"quote\" é"}`), key: "k\\1"})
	want := "wrk.method = \"POST\"\n" +
		"wrk.body = \"{\\034content\\034:\\034a \\092\\034quote\\092\\034 \\195\\169\\034}\"\n" +
		"wrk.headers[\"Content-Type\"] = \"application/json\"\n" +
		"wrk.headers[\"api-key\"] = \"k\\0921\"\n"
	if got != want {
		t.Errorf("wrkScript =\n%s\nwant\n%s", got, want)
	}
}

func TestWrkChecks(t *testing.T) {
	r := &WrkReport{Steps: []WrkStep{
		{Target: TargetProxy, Share: 1},
		{Target: TargetPTUMemory, Share: 0.81},
		{Target: TargetPTURedis, Share: 0.69},
	}}
	got := map[string]bool{}
	for _, c := range r.Checks() {
		got[c.What] = c.Pass
	}
	want := map[string]bool{
		"ptu-memory calls/s over the bare proxy's (wrk)": true,  // 0.81 ≥ 0.80
		"ptu-redis calls/s over the bare proxy's (wrk)":  false, // 0.69 < 0.70
	}
	if len(got) != len(want) {
		t.Fatalf("checks %v, want %v", got, want)
	}
	for what, pass := range want {
		if got[what] != pass {
			t.Errorf("%s: pass %v, want %v", what, got[what], pass)
		}
	}
	var b strings.Builder
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "ptu-redis calls/s over the bare proxy's (wrk): 0.69 (target ≥ 0.70): NOT met") {
		t.Errorf("table does not state the Redis check:\n%s", b.String())
	}
}
