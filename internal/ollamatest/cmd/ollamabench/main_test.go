package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReport: the table reads only the measured window, counts outcomes,
// and turns successful calls into percentiles and accepted throughput.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "r.jsonl")
	lines := []string{
		// Before the window: not measured.
		`{"start":"2026-01-01T00:00:00Z","outcome":"ok","status":200,"e2e":9,"ttft":8,"prompt_tokens":10,"generated_tokens":11}`,
		`{"start":"2026-01-01T00:01:00Z","outcome":"ok","status":200,"e2e":2,"ttft":1,"prompt_tokens":10,"generated_tokens":11}`,
		`{"start":"2026-01-01T00:01:10Z","outcome":"ok","status":200,"e2e":3,"ttft":2,"prompt_tokens":10,"generated_tokens":11}`,
		`{"start":"2026-01-01T00:01:20Z","outcome":"throttled","status":429,"e2e":0.01}`,
		`{"start":"2026-01-01T00:01:30Z","outcome":"failed","status":500,"e2e":0.5}`,
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := report([]string{"-capacity", "100", "-weight", "4", "-svg", filepath.Join(dir, "c.svg"), "x=" + log + ":60:120"}, &out); err != nil {
		t.Fatal(err)
	}
	// 4 calls in the window: 2 ok (TTFT 1 and 2 s; 10 tokens after the first in 1 s each),
	// 1 throttled, 1 failed; accepted 2 × (10 + 4 × 11) = 108 tokens in one minute of 100.
	want := "| x | 60–120 s | 4 | 25.0 % | 1 | 1.000 s | 2.000 s | 10.0 | 10.0 | 108.0 % | 3.0 s |"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report:\n%s\nwant the line\n%s", out.String(), want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "c.svg")); err != nil || fi.Size() == 0 {
		t.Errorf("no chart: %v", err)
	}
	out.Reset()
	if err := cost([]string{"-weight", "4", log}, &out); err != nil || strings.TrimSpace(out.String()) != "54 10.0" {
		t.Errorf("cost %q, %v; want 54 (10 + 4 × 11) and 10.0 tokens/s", out.String(), err)
	}
}
