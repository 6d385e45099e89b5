package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// accessAttrs are the attributes of a call's access line as docs/monitoring.md
// lists them, in order.
func accessAttrs(r ptu.CallRecord) []slog.Attr {
	round1 := func(v float64) float64 { return math.Round(v*10) / 10 }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return []slog.Attr{
		slog.String("request_id", r.RequestID), slog.String("account", r.Account.Name),
		slog.String("deployment", r.Deployment.Name), slog.String("operation", r.Operation),
		slog.Bool("stream", r.Stream), slog.Int("status", r.Status), slog.Bool("throttled", r.Throttled),
		slog.Bool("spillover", r.IsSpillover), slog.Int("prompt_tokens", r.PromptTokens),
		slog.Int("cached_tokens", r.CachedTokens), slog.Int("completion_tokens", r.CompletionTokens),
		slog.String("usage_source", r.Source), slog.Float64("cost", round1(r.Actual)),
		slog.Float64("utilization", round1(r.Utilization)), slog.Float64("ttft_ms", round1(ms(r.TimeToFirstToken))),
		slog.Float64("latency_ms", round1(ms(r.Duration))), slog.String("cut", r.Cut),
	}
}

// The access line is, byte for byte, the line slog.Logger.LogAttrs writes
// of its attributes, in JSON and in text; with AddSource, its source is
// AccessLog.Record.
func TestAccessLineAsLogAttrsWritesIt(t *testing.T) {
	a := call("dep1", 1234.56)
	a.RequestID, a.Utilization, a.CachedTokens, a.Source = "5b0f8a0e-7c1d", 42.25, 64, ptu.UsageBackend
	b := call("dep \"quoted\"", 0)
	b.Status, b.Throttled, b.Stream, b.Duration, b.TimeToFirstToken = 429, true, true, 1234567*time.Microsecond, 0
	c := call("dep1", 3e21)
	c.IsSpillover, c.Cut, c.Source, c.Utilization = true, ptu.CutUpstream, ptu.UsageTokenizer, -0.01
	noTime := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	handlers := map[string]func(io.Writer) slog.Handler{
		"json": func(w io.Writer) slog.Handler {
			return slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime})
		},
		"text": func(w io.Writer) slog.Handler {
			return slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime})
		},
	}
	for name, h := range handlers {
		for _, r := range []ptu.CallRecord{a, b, c} {
			var got, want bytes.Buffer
			metrics.NewAccessLog(slog.New(h(&got))).Record(r)
			slog.New(h(&want)).LogAttrs(context.Background(), slog.LevelInfo, "inference", accessAttrs(r)...)
			if got.String() != want.String() {
				t.Errorf("%s:\n got %s\nwant %s", name, got.String(), want.String())
			}
		}
	}

	var buf bytes.Buffer
	metrics.NewAccessLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{AddSource: true}))).Record(a)
	var line struct{ Source slog.Source }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(line.Source.Function, "metrics.(*AccessLog).Record") || filepath.Base(line.Source.File) != "access.go" {
		t.Errorf("source %+v, want AccessLog.Record in access.go", line.Source)
	}

	var quiet bytes.Buffer
	metrics.NewAccessLog(slog.New(slog.NewJSONHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelWarn}))).Record(a)
	if quiet.Len() != 0 {
		t.Errorf("a logger at warn level wrote %s", quiet.String())
	}
}
