package tracing

import (
	"context"
	"strings"
	"testing"
)

// TestFromEnv checks which OTEL_* settings turn tracing on, which leave it
// off, and that a setting ptu cannot honour is an error rather than silence.
func TestFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		on   bool
		err  string
	}{
		{"nothing set", nil, false, ""},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, ""},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true, ""},
		{"exporter otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, ""},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false, ""},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false, ""},
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, "OTEL_TRACES_EXPORTER"},
		{"http/json", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, false, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"unknown propagator", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_PROPAGATORS": "b3"}, false, "OTEL_PROPAGATORS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := FromEnv(context.Background(), Options{Getenv: func(k string) string { return c.env[k] }})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one naming %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tr != nil) != c.on {
				t.Fatalf("tracing on = %v, want %v", tr != nil, c.on)
			}
			if tr != nil {
				tr.Shutdown(context.Background())
			}
		})
	}
}

// TestCaptureContentIsOptIn: content capture needs the operator's setting.
func TestCaptureContentIsOptIn(t *testing.T) {
	for _, c := range []struct {
		opt  bool
		env  string
		want bool
	}{{false, "", false}, {false, "false", false}, {true, "", true}, {false, "true", true}} {
		tr, err := FromEnv(context.Background(), Options{CaptureContent: c.opt, Getenv: func(k string) string {
			switch k {
			case "OTEL_EXPORTER_OTLP_ENDPOINT":
				return "http://127.0.0.1:4318"
			case EnvCaptureContent:
				return c.env
			}
			return ""
		}})
		if err != nil {
			t.Fatal(err)
		}
		if tr.capture != c.want {
			t.Errorf("option %v, %s=%q: capture %v, want %v", c.opt, EnvCaptureContent, c.env, tr.capture, c.want)
		}
		tr.Shutdown(context.Background())
	}
}
