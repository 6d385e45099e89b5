package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/server"
)

// simServer serves a simulated gpt-4o engine as an OpenAI-compatible
// server, a hundred times faster than real time.
func simServer(t *testing.T) string {
	t.Helper()
	m, _ := catalog.Default().Lookup("gpt-4o", "")
	eng, err := server.SimEngine(m, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.NewServer(map[string]*sim.Engine{"gpt-4o": eng}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBenchLoad runs ptu bench load against an OpenAI-style server with
// JSON lines, a per-call log and a report.
func TestBenchLoad(t *testing.T) {
	url := simServer(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "run.html")
	t.Setenv("OPENAI_API_KEY", "")
	stdout, stderr, err := ptu(t, "", "bench", "load", url+"/v1", "--api-style", "openai", "-e", "gpt-4o",
		"-c", "4", "-n", "24", "--shape-profile", "custom", "-p", "120", "-m", "30", "-f", "jsonl",
		"--log-save-dir", filepath.Join(dir, "logs"), "--report", report)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var last map[string]any
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("standard output holds more than JSON lines: %q", l)
		}
	}
	if last["completed"] != 24.0 || last["failures"] != 0.0 {
		t.Errorf("last line %v", last)
	}
	for _, want := range []string{"Summary:", "24 succeeded", "p99", "report written"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("standard error lacks %q:\n%s", want, stderr)
		}
	}
	calls, _ := filepath.Glob(filepath.Join(dir, "logs", "*-requests.jsonl"))
	if len(calls) != 1 {
		t.Fatalf("per-call logs %v", calls)
	}
	data, _ := os.ReadFile(calls[0])
	if n := strings.Count(string(data), "\n"); n != 24 {
		t.Errorf("%d lines in the per-call log, want 24", n)
	}
	for _, suffix := range []string{"-stats.jsonl", "-summary.json", "-summary.txt"} {
		if m, _ := filepath.Glob(filepath.Join(dir, "logs", "*"+suffix)); len(m) != 1 {
			t.Errorf("no %s file", suffix)
		}
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(html), "<svg") != 4 || strings.Contains(string(html), "<script") || strings.Contains(string(html), "src=") {
		t.Errorf("the report should hold four inline charts and load nothing")
	}
}

// TestBenchLoadFlags checks azure-openai-benchmark's argument rules.
func TestBenchLoadFlags(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("NO_SUCH_KEY", "")
	os.Unsetenv("NO_SUCH_KEY")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-e", "d", "--duration", "10"}, "duration must be > 30"},
		{[]string{"-e", "d", "--shape-profile", "custom"}, "context-tokens must be specified with shape=custom"},
		{[]string{"-e", "d", "--context-tokens", "100"}, "go with --shape-profile custom"},
		{[]string{"-e", "d", "--clients", "0"}, "clients must be > 0"},
		{[]string{"-e", "d", "-k", "NO_SUCH_KEY"}, "api-key-env NO_SUCH_KEY not set"},
		{[]string{"-e", "d", "--retry", "forever"}, "retry \"forever\""},
		{[]string{"-e", "d", "--sweep"}, "--sweep starts from --rate"},
		{[]string{"-e", "d", "--sweep", "--rate", "60"}, "--sweep needs --duration"},
		{[]string{"-e", "d", "--shape-profile", "wide"}, "choose balanced, context, generation or custom"},
		{[]string{"-e", "d", "--temperature", "3"}, "temperature must be between 0 and 2"},
		{[]string{"-e", "d", "--cache-rate", "1.5"}, "cache rate must be between 0 and 1"},
		{[]string{}, `"deployment" not set`},
	} {
		_, _, err := ptu(t, "", append([]string{"bench", "load", "http://127.0.0.1:1"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ptu bench load %s: error %v, want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	_, _, err := ptu(t, "", "bench", "calibrate", "http://127.0.0.1:1", "-e", "gpt-4o", "--step-duration", "5")
	if err == nil || !strings.Contains(err.Error(), "step-duration must be at least 30") {
		t.Errorf("calibrate with 5 s steps: %v", err)
	}
}
