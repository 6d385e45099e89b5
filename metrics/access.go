package metrics

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu"
)

// AccessLog writes one line per inference call to a logger: who called
// which deployment, how it ended, its usage and its timings (the fields are
// described in docs/monitoring.md).
type AccessLog struct {
	log *slog.Logger
}

var _ ptu.CallRecorder = (*AccessLog)(nil)

// NewAccessLog returns an AccessLog writing to log (slog.Default() when nil).
func NewAccessLog(log *slog.Logger) *AccessLog {
	if log == nil {
		log = slog.Default()
	}
	return &AccessLog{log: log}
}

// Record writes the call's access line.
func (l *AccessLog) Record(rec ptu.CallRecord) {
	ctx := context.Background()
	h := l.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "inference", recordPC())
	r.AddAttrs(
		slog.String("request_id", rec.RequestID),
		slog.String("account", rec.Account.Name),
		slog.String("deployment", rec.Deployment.Name),
		slog.String("operation", rec.Operation),
		slog.Bool("stream", rec.Stream),
		slog.Int("status", rec.Status),
		slog.Bool("throttled", rec.Throttled),
		slog.Bool("spillover", rec.IsSpillover),
		slog.Int("prompt_tokens", rec.PromptTokens),
		slog.Int("cached_tokens", rec.CachedTokens),
		slog.Int("completion_tokens", rec.CompletionTokens),
		slog.String("usage_source", rec.Source),
		slog.Float64("cost", round(rec.Actual, 1)),
		slog.Float64("utilization", round(rec.Utilization, 1)),
		slog.Float64("ttft_ms", round(millis(rec.TimeToFirstToken), 1)),
		slog.Float64("latency_ms", round(millis(rec.Duration), 1)),
		slog.String("cut", rec.Cut),
	)
	_ = h.Handle(ctx, r)
}

// accessLinePC is the program counter of Record's call site that slog.Logger would
// have looked up on every call; the same every time, it is looked up once.
var accessLinePC atomic.Uintptr

func recordPC() uintptr {
	if p := accessLinePC.Load(); p != 0 {
		return p
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // skip runtime.Callers and recordPC: Record
	accessLinePC.Store(pcs[0])
	return pcs[0]
}
