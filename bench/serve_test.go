package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/ptu-dev/ptu/server"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/bench"
)

// A 15-PTU gpt-4o deployment serves 37,500 input-equivalent tokens a
// minute. Calls of 200 prompt tokens and max_tokens 50 (which the simulated
// engine reaches: its answers run to about 256 tokens unless cut) cost
// 200 + 4 × 50 = 400, so the deployment takes 93.75 calls a minute.
const (
	deploymentPTU = 15
	callsAtFull   = 37500.0 / 400
)

func (e *env) load(rate float64, d time.Duration, retry string) bench.Config {
	return bench.Config{
		Endpoint: e.endpoint, Deployment: "gpt-4o", APIKey: e.key, APIVersion: "2024-10-21",
		Clients: 50, Rate: rate, Duration: d, Retry: retry,
		Shape: bench.Shape{ContextTokens: 200, MaxTokens: 50},
		Model: "gpt-4o@2024-11-20", PTU: deploymentPTU, Clock: e.clock, Seed: 1,
	}
}

// TestHalfCapacity: at half the deployment's capacity nothing is
// throttled, the traffic uses half the PTUs, and the bucket never fills.
func TestHalfCapacity(t *testing.T) {
	e := newEnv(t, speed)
	e.deploy("gpt-4o", deploymentPTU)
	var out syncBuffer
	cfg := e.load(callsAtFull/2, 150*time.Second, bench.RetryNone)
	cfg.Output, cfg.OutputFormat = &out, bench.FormatJSONL
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Throttled != 0 || s.Failed != 0 || s.Succeeded < 100 {
		t.Fatalf("%d succeeded, %d throttled, %d failed (%v)", s.Succeeded, s.Throttled, s.Failed, s.Statuses)
	}
	if z := s.Sizing; z == nil || z.Load < 45 || z.Load > 55 || z.OfferedLoad < 49 || z.OfferedLoad > 51 {
		t.Errorf("sizing %+v, want about 50%% of the deployment used and offered", z)
	}
	// The engine's answers run to about 256 tokens unless cut, so nearly
	// all reach max_tokens (one in a thousand is shorter than 50).
	if s.GenTokensPerCall < 45 || s.GenTokensPerCall > 50 {
		t.Errorf("%.1f generated tokens per call, want max_tokens 50", s.GenTokensPerCall)
	}
	// ptu's azure-openai-deployment-utilization is the deployment's use
	// over the last minute: once a minute of load has passed it reads the
	// offered half, far from the 100 % where calls are refused.
	if s.Util.N != s.Calls || s.Util.Max >= 75 {
		t.Errorf("utilization %+v over %d calls: want every answer to report it, well below 100%%", s.Util, s.Calls)
	}
	last := rep.Stats[len(rep.Stats)-2] // the last minute's aggregation window, past the first minute
	if last.Util.Avg == nil || *last.Util.Avg < 42 || *last.Util.Avg > 58 {
		t.Errorf("utilization over the last minute %v, want about 50%%", fmtPtr(last.Util.Avg))
	}
	checkJSONL(t, out.String())
}

// TestDoubleCapacity: at twice the capacity, once the idle deployment's
// burst allowance (a minute of capacity) is spent, about half the calls are
// throttled, the rest succeed at the deployment's rate, and utilization
// holds at 100 %.
func TestDoubleCapacity(t *testing.T) {
	e := newEnv(t, speed)
	e.deploy("gpt-4o", deploymentPTU)
	// The utilization header weighs the previous clock minute by the share
	// of the last sixty seconds it covers, so the burst minute shows in it
	// until two clock minutes have passed after it: 240 s keep the last
	// aggregation window clear of it.
	rep, err := bench.Run(context.Background(), e.load(2*callsAtFull, 240*time.Second, bench.RetryNone))
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Throttled < s.Calls/5 || s.Failed != 0 {
		t.Fatalf("%d calls: %d throttled, %d failed", s.Calls, s.Throttled, s.Failed)
	}
	// The last line covers the last minute, all of it past the burst.
	last := rep.Stats[len(rep.Stats)-2]
	if last.Util.Avg == nil || *last.Util.Avg < 95 || *last.Util.Avg > 105 {
		t.Errorf("utilization over the last minute %v, want about 100%%", fmtPtr(last.Util.Avg))
	}
	if last.RPM == nil || *last.RPM < 0.85*callsAtFull || *last.RPM > 1.15*callsAtFull {
		t.Errorf("successful calls per minute over the last minute %v, want about %.1f", fmtPtr(last.RPM), callsAtFull)
	}
	// Offered: 2 × 93.75 calls of 400 tokens a minute, twice the deployment.
	if z := s.Sizing; z.OfferedLoad < 195 || z.OfferedLoad > 205 || z.Load < 100 || z.Deployable["GlobalProvisionedManaged"] != 30 {
		t.Errorf("sizing %+v: want the offered traffic at 200%% of the deployment, needing 30 PTU", z)
	}
}

// TestRetryExponentialAgainstServe: every 429 is waited out for exactly
// its retry-after-ms, and the retry is admitted: with --retry-after slots
// ptu hands rejected calls consecutive retry slots. (Under the default,
// exact, every rejection of a full period is told the same instant and
// only the first retry to arrive gets in, as on Azure.)
func TestRetryExponentialAgainstServe(t *testing.T) {
	e := newEnvWith(t, speed, server.Options{RetryAfter: "slots"})
	e.deploy("gpt-4o", deploymentPTU)
	var log syncBuffer
	cfg := e.load(2*callsAtFull, 100*time.Second, bench.RetryExponential)
	cfg.RequestLog = &log
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.ThrottledAttempts == 0 || rep.Summary.RetryWait == 0 {
		t.Fatalf("nothing was retried: %+v", rep.Summary)
	}
	waits, admitted := 0, 0
	sc := bufio.NewScanner(strings.NewReader(log.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Outcome  string `json:"outcome"`
			Attempts []struct {
				Status       int     `json:"status"`
				RetryAfterMs float64 `json:"retry_after_ms"`
				WaitMs       float64 `json:"wait_ms"`
			} `json:"attempts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		for i, a := range l.Attempts {
			if a.Status != 429 || i == len(l.Attempts)-1 {
				continue
			}
			waits++
			if a.RetryAfterMs <= 0 || a.WaitMs != a.RetryAfterMs {
				t.Errorf("a 429 with retry-after-ms %v was followed by a wait of %v ms", a.RetryAfterMs, a.WaitMs)
			}
			if l.Attempts[i+1].Status == 200 {
				admitted++
			}
		}
	}
	if waits == 0 || float64(admitted) < 0.5*float64(waits) {
		t.Errorf("%d of %d retries after waiting retry-after-ms were admitted", admitted, waits)
	}
	if rep.Summary.E2E.Max <= rep.Summary.E2E.P50 {
		t.Errorf("e2e %+v: retried calls should include their waits", rep.Summary.E2E)
	}
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprint(*p)
}

// checkJSONL checks every line has azure-openai-benchmark's keys, in its
// order, with its types (statsaggregator.py's _dump): numbers printed as
// Python floats where it rounds them, integers for counts, "n/a" for missing
// values, utilization as a string such as "42.0%".
func checkJSONL(t *testing.T, out string) {
	t.Helper()
	type kind int
	const (
		integer kind = iota
		float        // a Python float, or "n/a"
		total        // a float, or the integer 0 when both token counts are n/a
		text
		percent // "12.5%" or "n/a"
	)
	want := []struct {
		key  string
		kind kind
	}{
		{"run_seconds", integer}, {"timestamp", text}, {"rpm", float}, {"processing", integer},
		{"completed", integer}, {"failures", integer}, {"throttled", integer}, {"requests", integer},
		{"tpm.context", float}, {"tpm.gen", float}, {"tpm.total", total},
		{"e2e.avg", float}, {"e2e.95th", float}, {"ttft.avg", float}, {"ttft.95th", float},
		{"tbt.avg", float}, {"tbt.95th", float}, {"util.avg", percent}, {"util.95th", percent},
	}
	floatRE := regexp.MustCompile(`^-?\d+\.\d+$`)
	pctRE := regexp.MustCompile(`^\d+\.\d%$`)
	tsRE := regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 10 {
		t.Fatalf("%d lines of output", len(lines))
	}
	seen := map[string]bool{}
	for n, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var got, vals []string
		if err := flatten(dec, "", &got, &vals); err != nil {
			t.Fatalf("line %d: %v\n%s", n+1, err, line)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("line %d: data after the object", n+1)
		}
		if len(got) != len(want) {
			t.Fatalf("line %d: keys %v, want %d keys", n+1, got, len(want))
		}
		for i, w := range want {
			raw := vals[i]
			if got[i] != w.key {
				t.Fatalf("line %d: key %d is %s, want %s", n+1, i, got[i], w.key)
			}
			ok := false
			switch w.kind {
			case integer:
				ok = regexp.MustCompile(`^\d+$`).MatchString(raw)
			case float:
				ok = raw == `"n/a"` || floatRE.MatchString(raw)
			case total:
				ok = raw == "0" || floatRE.MatchString(raw)
			case text:
				ok = tsRE.MatchString(strings.Trim(raw, `"`))
			case percent:
				ok = raw == `"n/a"` || pctRE.MatchString(strings.Trim(raw, `"`))
			}
			if !ok {
				t.Errorf("line %d: %s = %s is not of the benchmark's type", n+1, w.key, raw)
			}
			if raw != `"n/a"` {
				seen[w.key] = true
			}
		}
		if !strings.Contains(line, `", "rpm": `) {
			t.Errorf("line %d is not spaced as Python's json.dumps: %s", n+1, line)
		}
	}
	for _, w := range want {
		if !seen[w.key] {
			t.Errorf("%s never had a value", w.key)
		}
	}
}

// flatten reads a JSON object's keys in order, nested objects as "a.b",
// with each value's text: numbers as written, strings quoted.
func flatten(dec *json.Decoder, prefix string, keys, vals *[]string) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not an object: %v %v", tok, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := prefix + tok.(string)
		raw := json.RawMessage{}
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if raw[0] == '{' {
			sub := json.NewDecoder(strings.NewReader(string(raw)))
			sub.UseNumber()
			if err := flatten(sub, key+".", keys, vals); err != nil {
				return err
			}
			continue
		}
		*keys, *vals = append(*keys, key), append(*vals, string(raw))
	}
	_, err := dec.Token()
	return err
}
