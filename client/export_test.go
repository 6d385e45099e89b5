package client

import (
	"io"
	"net/http"
	"strings"

	"github.com/ptu-dev/ptu/oai"
)

// NewTestStream reads a chat stream from body, as if a server had sent it.
func NewTestStream(body string) *Stream[oai.ChatCompletionChunk] {
	resp := &http.Response{Body: io.NopCloser(strings.NewReader(body))}
	return newStream[oai.ChatCompletionChunk](resp, &Response{})
}
