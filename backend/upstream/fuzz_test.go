package upstream_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/upstream"
)

// bodyTransport answers every request with status 200 and the given body.
type bodyTransport struct{ body string }

func (b bodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(b.body))}, nil
}

// FuzzStream feeds arbitrary upstream streams to the parser: it must never
// panic, and it passes on only events that carry text or a finish reason.
func FuzzStream(f *testing.F) {
	f.Add("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	f.Add("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n")
	f.Add("data: {\"error\":{\"message\":\"boom\"}}\n\n")
	f.Add("data: {\"choices\":[{\"index\":-5,\"text\":\"x\"}]}\n\ndata: not json\n\n")
	f.Add(": comment\nevent: x\ndata:[DONE]\n")
	f.Fuzz(func(t *testing.T, body string) {
		g, err := upstream.New(upstream.Config{Name: "f", Endpoints: []upstream.Endpoint{{URL: "http://upstream.test/v1"}},
			Transport: bodyTransport{body}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = g.For("m", nil).Generate(context.Background(), backend.Request{PromptTokens: 4, Body: []byte(`{"messages":[]}`)},
			func(ev backend.Event) error {
				if ev.Text == "" && ev.FinishReason == "" {
					t.Errorf("empty event %+v", ev)
				}
				return nil
			})
	})
}
