package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/ptu-dev/ptu/contentfilter"
	"github.com/ptu-dev/ptu/oai"
)

// The data plane answers errors in two shapes, as Azure OpenAI does: Azure's
// own {"error":{"code","message"}} for what happens before the request reaches a
// model (auth, routing, throttling), and OpenAI's
// {"error":{"message","type","param","code"}} for problems with the request body.

type azureError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
	Status  int     `json:"-"`
}

// writeJSON answers v as JSON with its Content-Length, so the answer goes
// out whole in one write however long it is. net/http measures an answer
// that fits its buffer itself, without an entry in the header map (one
// more than a call's eight headers makes the map grow); a longer one it
// would chunk.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBufs.Get().(*bytes.Buffer)
	defer putJSONBuf(buf)
	_ = json.NewEncoder(buf).Encode(v)
	h := w.Header()
	h[hdrContentType] = valJSON
	if buf.Len() > netHTTPBuffer {
		setHeader(h, hdrContentLength, strconv.Itoa(buf.Len()))
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// netHTTPBuffer is how much of an answer net/http's server holds before it
// sends the headers (bufferBeforeChunkingSize in net/http/server.go): an
// answer the handler has written whole within it gets its Content-Length.
const netHTTPBuffer = 2048

// jsonBufs holds the buffers answers are encoded in.
var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putJSONBuf returns buf to the pool unless an unusually long answer grew it.
func putJSONBuf(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	jsonBufs.Put(buf)
}

func writeAzureError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]azureError{"error": {Code: code, Message: msg}})
}

func writeOpenAIError(w http.ResponseWriter, e *openAIError) {
	writeJSON(w, e.status(), map[string]*openAIError{"error": e})
}

// status is the HTTP status the error is answered with (400 unless set).
func (e *openAIError) status() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

func strp(s string) *string { return &s }

// invalid is a 400 invalid_request_error naming the parameter at fault.
func invalid(param, code, msg string) *openAIError {
	e := &openAIError{Message: msg, Type: "invalid_request_error"}
	if param != "" {
		e.Param = strp(param)
	}
	if code != "" {
		e.Code = strp(code)
	}
	return e
}

const (
	msgUnauthorized = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
	msgBadToken     = "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."
	msgNoDeployment = "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func errorsIsCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// asUnavailable finds an error that says whether the backend was unavailable
// (503) rather than failing (500).
func asUnavailable(err error, target *interface{ Unavailable() bool }) bool {
	return errors.As(err, target)
}

// contentFilterError is Azure's 400 for a prompt the content filter policy
// blocks (https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter,
// and errorResponse in specification/cognitiveservices/data-plane/
// AzureOpenAI/inference/stable/2024-10-21/inference.json in
// Azure/azure-rest-api-specs): OpenAI's shape with type null, param "prompt",
// code content_filter, and an innererror naming what was found.
type contentFilterError struct {
	Message    string  `json:"message"`
	Type       *string `json:"type"`
	Param      string  `json:"param"`
	Code       string  `json:"code"`
	Status     int     `json:"status"`
	InnerError struct {
		Code                string                   `json:"code"`
		ContentFilterResult oai.ContentFilterResults `json:"content_filter_result"`
	} `json:"innererror"`
}

func writeContentFilterError(w http.ResponseWriter, res contentfilter.Result) {
	e := contentFilterError{
		Message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
		Param:   "prompt", Code: "content_filter", Status: http.StatusBadRequest}
	e.InnerError.Code = "ResponsibleAIPolicyViolation"
	e.InnerError.ContentFilterResult = res.Annotations()
	writeJSON(w, http.StatusBadRequest, map[string]contentFilterError{"error": e})
}

// errFiltered ends a generation whose every choice has ended, at least one
// of them cut by the content filter.
var errFiltered = errors.New("every choice ended; content filtered")
