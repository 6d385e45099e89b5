package redis

import (
	"context"

	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ptu-dev/ptu/tracing"
)

// startAdmitSpan starts the client span of an admit's round trip to Redis
// (https://opentelemetry.io/docs/specs/semconv/database/redis/). An admit
// may travel in a pipeline with other calls' admits; its span covers its own
// wait for the reply.
func (l *Limiter) startAdmitSpan(ctx context.Context) (context.Context, trace.Span) {
	ctx, s := tracing.Start(ctx, "EVALSHA", trace.SpanKindClient)
	if s != nil {
		s.SetAttributes(semconv.DBSystemNameRedis, semconv.DBOperationName("EVALSHA"),
			semconv.ServerAddress(l.client.Options().Addr))
	}
	return ctx, s
}
