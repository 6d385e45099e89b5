package bench

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

// BenchmarkStream reads one streamed answer of 500 tokens as Azure sends it
// (prompt-filter chunk, 500 content chunks, usage, [DONE]): the load
// generator's own CPU cost per call, which bounds the streams one core can
// follow.
func BenchmarkStream(b *testing.B) {
	body := []byte(azureStream(500, true))
	c := &caller{clock: clock.Real{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := &result{Start: time.Now()}
		c.stream(&http.Response{Body: io.NopCloser(bytes.NewReader(body))}, r)
		if !r.streamed || r.GeneratedTokens != 501 {
			b.Fatalf("%+v", r)
		}
	}
}

// BenchmarkBody builds one request body of a 500-token prompt.
func BenchmarkBody(b *testing.B) {
	r, err := newRunner(Config{Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIKey: "k",
		Shape: Shape{ContextTokens: 500, MaxTokens: 500}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if body, _ := r.body(); len(body) == 0 {
			b.Fatal("empty body")
		}
	}
}
