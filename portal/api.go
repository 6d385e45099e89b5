package portal

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ptu-dev/ptu/client"
)

// The portal calls the ARM REST API with the client library, whose requests
// an in-process transport serves with the API's handler: no socket, the
// same checks as any SDK call.

// inProcess is an http.RoundTripper that serves requests with the ARM
// handler directly. The portal request's remote address, TLS state and
// request id go along, so the API logs and links as it would for the
// browser's own call.
type inProcess struct {
	api  http.Handler
	from *http.Request
}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close() // a RoundTripper closes the request body
	}
	in := req.Clone(req.Context())
	if in.Host == "" {
		in.Host = in.URL.Host
	}
	in.RemoteAddr = t.from.RemoteAddr
	in.TLS = t.from.TLS
	in.RequestURI = in.URL.RequestURI()
	if id := t.from.Header.Get("X-Request-Id"); id != "" {
		in.Header.Set("x-ms-client-request-id", id)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.api.ServeHTTP(rec, in)
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the in-process ResponseWriter of inProcess.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if !r.wrote {
		r.status, r.wrote = s, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// apiClient is the API as the holder of token, called for the portal
// request r. It neither retries nor waits for creations to finish: a page
// shows what the API answered at once.
func (p *Portal) apiClient(r *http.Request, token string) (*client.Client, error) {
	u := url.URL{Scheme: "http", Host: cmp.Or(r.Host, "localhost")}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return client.New(client.WithEndpoint(u.String()), client.WithToken(token),
		client.WithHTTPClient(&http.Client{Transport: inProcess{api: p.opt.API, from: r}}),
		client.WithUserAgent("ptu-portal"), client.WithMaxRetries(0), client.WithNoWait())
}

// apiError is an ARM error answer, as the pages show it.
type apiError struct {
	Status  int
	Code    string
	Message string
	Target  string
	Info    []client.AdditionalInfo
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Shortage is the error's CapacityShortage detail, or nil.
func (e *apiError) Shortage() *client.CapacityShortage {
	return (&client.Error{AdditionalInfo: e.Info}).CapacityShortage()
}

// errSignedOut is returned when the API refuses the token.
var errSignedOut = errors.New("signed out")

// apiErr turns a client error into an *apiError, or errSignedOut when the
// API refused the token; other errors are returned as they are.
func apiErr(err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	if ce.StatusCode == http.StatusUnauthorized {
		return errSignedOut
	}
	return &apiError{Status: ce.StatusCode, Code: ce.Code, Message: strings.TrimSpace(ce.Message), Target: ce.Target, Info: ce.AdditionalInfo}
}
