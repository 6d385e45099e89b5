package arm

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ptu-dev/ptu/tracing"
)

// traceRequest names the ARM request's server span by its route
// ("PUT /subscriptions/{sub}/resourceGroups/{rg}/...") and tells the action
// and the resource it is about. It does nothing when the request is not traced.
func traceRequest(r *http.Request, rc *reqContext, ep *endpoint, p params) {
	s := tracing.Span(r.Context())
	if s == nil {
		return
	}
	tracing.Name(r.Context(), r.Method+" "+ep.pattern)
	attrs := []attribute.KeyValue{
		attribute.String("http.route", ep.pattern),
		attribute.String("ptu.arm.action", ep.action),
		attribute.String("ptu.arm.request_id", rc.id),
		attribute.String("ptu.arm.api_version", r.URL.Query().Get("api-version")),
	}
	for _, k := range []string{"sub", "rg", "account", "deployment", "location"} {
		if v, ok := p[k]; ok {
			attrs = append(attrs, attribute.String("ptu.arm."+k, v))
		}
	}
	s.SetAttributes(attrs...)
}
