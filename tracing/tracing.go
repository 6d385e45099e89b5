// Package tracing exports OpenTelemetry traces of ptu's calls over OTLP:
// a server span per data-plane call (named and attributed by the GenAI
// semantic conventions, https://opentelemetry.io/docs/specs/semconv/gen-ai/)
// and per ARM request, with child spans for admission, the backend call and
// the Redis round trip. It is configured by the standard OTEL_* environment
// variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
// and is off when none of them asks for traces: a nil *Tracing leaves the
// handler and transports it is given as they are, and the hooks in the other
// packages cost a context lookup.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of ptu's own spans.
const Scope = "github.com/ptu-dev/ptu"

// EnvCaptureContent turns on the recording of prompt and completion text
// (gen_ai.input.messages, gen_ai.output.messages), the variable the
// OpenTelemetry GenAI instrumentations use for it. It is off by default.
const EnvCaptureContent = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

// Options are ptu's own settings of tracing; the rest comes from OTEL_*.
type Options struct {
	// CaptureContent records prompt and completion text on the data-plane
	// spans. Off unless set here or by EnvCaptureContent=true.
	CaptureContent bool
	// ServiceVersion is service.version of the resource.
	ServiceVersion string
	// Getenv reads the variables that decide whether tracing is on and how
	// (os.Getenv when nil). The OTLP exporters read their own
	// OTEL_EXPORTER_OTLP_* settings from the process environment.
	Getenv func(string) string
}

// Tracing is ptu's tracer provider and propagator. A nil *Tracing is tracing
// turned off; every method accepts it.
type Tracing struct {
	tp      *sdktrace.TracerProvider
	prop    propagation.TextMapPropagator
	capture bool
}

// Enabled reports whether the OTEL_* variables ask for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER is otlp, and
// neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none turns them off.
func Enabled(getenv func(string) string) (bool, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: ptu exports traces with otlp (or none)", exp)
	}
}

// FromEnv returns the tracing the OTEL_* environment variables configure, or
// nil when they leave it off. The exporter is OTLP over HTTP/protobuf (the
// specification's default) or gRPC (OTEL_EXPORTER_OTLP_PROTOCOL or
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL); it reads its endpoint, headers,
// timeout, compression and certificates from the OTEL_EXPORTER_OTLP_*
// variables itself. The sampler comes from OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on), the batch
// processor's limits from OTEL_BSP_*, the resource from OTEL_SERVICE_NAME
// (default ptu) and OTEL_RESOURCE_ATTRIBUTES, the propagators from
// OTEL_PROPAGATORS (default tracecontext,baggage).
func FromEnv(ctx context.Context, opt Options) (*Tracing, error) {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	on, err := Enabled(getenv)
	if err != nil || !on {
		return nil, err
	}
	prop, err := propagators(getenv("OTEL_PROPAGATORS"))
	if err != nil {
		return nil, err
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: ptu exports with http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName("ptu")}
	if opt.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(opt.ServiceVersion))
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the defaults.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	capture := opt.CaptureContent || strings.EqualFold(strings.TrimSpace(getenv(EnvCaptureContent)), "true")
	return New(exp, res, prop, capture), nil
}

// New returns tracing that sends its spans to exp in batches.
func New(exp sdktrace.SpanExporter, res *resource.Resource, prop propagation.TextMapPropagator, captureContent bool) *Tracing {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp)}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return &Tracing{tp: sdktrace.NewTracerProvider(opts...), prop: prop, capture: captureContent}
}

func propagators(v string) (propagation.TextMapPropagator, error) {
	if strings.TrimSpace(v) == "" {
		v = "tracecontext,baggage"
	}
	var ps []propagation.TextMapPropagator
	for _, name := range strings.Split(v, ",") {
		switch strings.TrimSpace(name) {
		case "tracecontext":
			ps = append(ps, propagation.TraceContext{})
		case "baggage":
			ps = append(ps, propagation.Baggage{})
		case "none":
		default:
			return nil, fmt.Errorf("OTEL_PROPAGATORS: %q is not supported (tracecontext, baggage or none)", name)
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// TracerProvider is the provider of ptu's spans (nil when tracing is off).
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// untraced are the paths that get no span: probes and scrapes.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Handler wraps h with a server span per request, continuing the trace of
// an incoming traceparent. The span is named "{method} {route}" once the
// route is known, or by Name (a data-plane call: "chat gpt-4o").
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	inner := otelhttp.NewHandler(h, "ptu",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }),
		otelhttp.WithSpanNameFormatter(spanName))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, &call{capture: t.capture})))
	})
}

// Transport wraps rt with a client span per request made within a traced
// call, and puts the call's traceparent on the request. Requests made
// outside a trace (health probes) pass through untouched.
func (t *Tracing) Transport(rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return trace.SpanFromContext(r.Context()).IsRecording() }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}

type callKey struct{}

// call is what the hooks of a request tell its server span.
type call struct {
	capture bool
	name    string
}

func spanName(_ string, r *http.Request) string {
	if c, ok := r.Context().Value(callKey{}).(*call); ok && c.name != "" {
		return c.name
	}
	if r.Pattern == "" {
		return r.Method
	}
	// Patterns with a method ("POST /accounts/...") already carry it.
	if strings.HasPrefix(r.Pattern, r.Method+" ") {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}

// Span is the recording span of ctx, or nil: hooks skip their work on nil.
func Span(ctx context.Context) trace.Span {
	s := trace.SpanFromContext(ctx)
	if !s.IsRecording() {
		return nil
	}
	return s
}

// Name names the server span of ctx's request, e.g. "chat gpt-4o" (GenAI's
// "{gen_ai.operation.name} {gen_ai.request.model}") or an ARM route.
func Name(ctx context.Context, name string) {
	s := Span(ctx)
	if s == nil {
		return
	}
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		c.name = name
	}
	s.SetName(name)
}

// CaptureContent reports whether prompt and completion text may be recorded
// on ctx's spans: tracing is on, the call is sampled, and the operator
// turned capture on.
func CaptureContent(ctx context.Context) bool {
	c, ok := ctx.Value(callKey{}).(*call)
	return ok && c.capture && Span(ctx) != nil
}

// Start starts a child span of ctx's recording span, using its provider. When
// ctx has none (tracing off, or the call not sampled) it returns ctx and a
// nil span, at the cost of a context lookup.
// Callers set the span's attributes after checking it is not nil, so that
// an untraced call builds none.
func Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	parent := Span(ctx)
	if parent == nil {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithSpanKind(kind))
}

// End ends s (nil is allowed), recording err as its status.
func End(s trace.Span, err error, attrs ...attribute.KeyValue) {
	if s == nil {
		return
	}
	s.SetAttributes(attrs...)
	if err != nil {
		s.RecordError(err)
		s.SetStatus(codes.Error, err.Error())
	}
	s.End()
}
