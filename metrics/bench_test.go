package metrics_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/metrics"
)

// benchCall is a typical answered call of a provisioned deployment, as the
// gateway hands it to the recorders.
func benchCall() ptu.CallRecord {
	rec := call("dep1", 1234.5)
	rec.Time = time.Now()
	rec.RequestID = "5b0f8a0e-7c1d-4f7e-9d4a-2f1c3b6e8d90"
	rec.CachedTokens, rec.Source, rec.Utilization = 64, ptu.UsageBackend, 42.25
	return rec
}

// benchRecorder is a Recorder built as the server builds it; nothing flushes
// it, so no store is needed.
func benchRecorder() *metrics.Recorder {
	return metrics.NewRecorder(metrics.Options{Catalog: catalog.Default(), Limiter: inmem.New(time.Now),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Retention: metrics.DefaultRetention})
}

// BenchmarkRecord is what recording one call costs the request's goroutine:
// the access line (JSON, discarded) and the metrics recorder, together and
// each alone.
func BenchmarkRecord(b *testing.B) {
	rec := benchCall()
	access := metrics.NewAccessLog(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	recorder := benchRecorder()
	b.Run("both", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			access.Record(rec)
			recorder.Record(rec)
		}
	})
	b.Run("access", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			access.Record(rec)
		}
	})
	b.Run("recorder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recorder.Record(rec)
		}
	})
}
