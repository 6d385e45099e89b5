package metrics_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/metrics"
)

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	l := metrics.NewAccessLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	r := call("dep1", 1234.5)
	r.RequestID, r.Utilization, r.CachedTokens, r.Source = "7f3e-1", 42.25, 0, ptu.UsageBackend
	l.Record(r)
	line := buf.String()
	for _, want := range []string{`"msg":"inference"`, `"request_id":"7f3e-1"`, `"account":"acct1"`, `"deployment":"dep1"`,
		`"operation":"ChatCompletions_Create"`, `"status":200`, `"prompt_tokens":100`, `"completion_tokens":10`,
		`"usage_source":"backend"`, `"cost":1234.5`, `"utilization":42.3`, `"ttft_ms":200`, `"latency_ms":1200`,
		`"throttled":false`, `"spillover":false`} {
		if !strings.Contains(line, want) {
			t.Errorf("access line lacks %s:\n%s", want, line)
		}
	}
	if n := strings.Count(line, "\n"); n != 1 {
		t.Errorf("%d lines for one call", n)
	}
}
