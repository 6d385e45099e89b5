// Package arm serves the control plane as an Azure Resource Manager REST API
// (Microsoft.CognitiveServices and the subscription routes ARM clients need).
// Handlers decode the wire shape, call control.Service, and encode the result;
// the rules live in control.
package arm

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/metrics"
)

// Options configure the ARM handler.
type Options struct {
	// AdminToken is the bearer token every request must carry. When empty no
	// token is accepted.
	AdminToken string
	// Logger receives internal errors and panics; nothing is logged when nil.
	Logger *slog.Logger
	// Metrics answers the Azure Monitor metrics routes of accounts; they
	// answer 404 when nil.
	Metrics *metrics.Reader
	// Billing answers the pricing, reservation and billing routes; they
	// answer 404 when nil.
	Billing *billing.Service
	// MaxBody is the largest request body accepted (DefaultMaxBody when 0);
	// larger ones are refused with 413 RequestEntityTooLarge.
	MaxBody int64
}

// DefaultMaxBody is the largest request body accepted by default (1 MiB).
const DefaultMaxBody = 1 << 20

// New returns the ARM API handler over svc. Routes live at the root:
// /subscriptions/... and /providers/Microsoft.CognitiveServices/... (admin).
func New(svc *control.Service, opt Options) http.Handler {
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	h := &handler{svc: svc, opt: opt, log: opt.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.register()
	return h
}

type handler struct {
	svc    *control.Service
	opt    Options
	log    *slog.Logger
	routes []*route
}

// endpointFunc handles a matched request. It returns the status and the value
// to encode as JSON (nil for no body), or an error for writeError.
type endpointFunc func(r *http.Request, p params) (int, any, error)

// params holds the path segments captured by a route's {name} wildcards.
type params map[string]string

type route struct {
	segs     []string // literal segments match case-insensitively; "{x}" captures
	versions versionSet
	methods  map[string]endpointFunc
}

// handle registers fn for method and pattern.
func (h *handler) handle(method, pattern string, vs versionSet, fn endpointFunc) {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	for _, rt := range h.routes {
		if slices.Equal(rt.segs, segs) {
			rt.methods[method] = fn
			return
		}
	}
	h.routes = append(h.routes, &route{segs: segs, versions: vs, methods: map[string]endpointFunc{method: fn}})
}

func (rt *route) match(segs []string) (params, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var p params
	for i, s := range rt.segs {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[s[1:len(s)-1]] = segs[i]
			continue
		}
		if !strings.EqualFold(s, segs[i]) {
			return nil, false
		}
	}
	return p, true
}

// splitPath splits an escaped URL path into unescaped segments; ok is false
// when a segment is not a valid escape sequence.
func splitPath(u *url.URL) ([]string, bool) {
	raw := strings.Trim(u.EscapedPath(), "/")
	if raw == "" {
		return nil, true
	}
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &reqContext{id: newUUID(), start: time.Now()}
	hdr := w.Header()
	hdr.Set("x-ms-request-id", rc.id)
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = rc.id
	}
	hdr.Set("x-ms-correlation-request-id", corr)
	if c := r.Header.Get("x-ms-client-request-id"); c != "" {
		hdr.Set("x-ms-client-request-id", c)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.writeError(w, r, rc, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}
	}()

	if err := h.authenticate(r); err != nil {
		if ptu.ErrorCode(err) == ptu.CodeAuthenticationFailed {
			hdr.Set("WWW-Authenticate", `Bearer`)
		} else {
			hdr.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		h.writeError(w, r, rc, err)
		return
	}

	fn, p, vs, err := h.lookup(r)
	if err != nil {
		if e, ok := err.(*methodError); ok {
			hdr.Set("Allow", e.allow)
			err = e.err
		}
		h.writeError(w, r, rc, err)
		return
	}
	if err := checkAPIVersion(r.URL.Query(), vs); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if err := checkMediaType(r); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if r.ContentLength > h.opt.MaxBody {
		h.writeError(w, r, rc, tooLarge(h.opt.MaxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxBody)
	status, body, err := fn(r, p)
	if err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if err := writeJSON(w, status, body); err != nil {
		h.writeError(w, r, rc, err)
	}
}

// lookup finds the endpoint for r. It fails with NotFound when no route has
// r's path and with a *methodError when routes have the path but not the method.
func (h *handler) lookup(r *http.Request) (endpointFunc, params, versionSet, error) {
	segs, ok := splitPath(r.URL)
	if !ok {
		return nil, nil, 0, ptu.Errorf(ptu.CodeNotFound, "The request path '%s' is not valid.", r.URL.EscapedPath())
	}
	var allowed []string
	for _, rt := range h.routes {
		p, ok := rt.match(segs)
		if !ok {
			continue
		}
		if fn, ok := rt.methods[r.Method]; ok {
			return fn, p, rt.versions, nil
		}
		for m := range rt.methods {
			allowed = append(allowed, m)
		}
	}
	if allowed != nil {
		slices.Sort(allowed)
		return nil, nil, 0, &methodError{
			allow: strings.Join(slices.Compact(allowed), ", "),
			err:   ptu.Errorf(ptu.CodeMethodNotAllowed, "The requested resource does not support http method '%s'.", r.Method),
		}
	}
	return nil, nil, 0, ptu.Errorf(ptu.CodeNotFound, "No route matches '%s %s'.", r.Method, r.URL.EscapedPath())
}

// methodError is a MethodNotAllowed error with the methods the path allows.
type methodError struct {
	allow string
	err   *ptu.Error
}

func (e *methodError) Error() string { return e.err.Error() }

// authenticate checks the bearer token. It is the one place requests are
// authorized, so roles can be added here.
func (h *handler) authenticate(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return ptu.Errorf(ptu.CodeAuthenticationFailed, "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return ptu.Errorf(ptu.CodeAuthenticationFailed, "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	token = strings.TrimSpace(token)
	if h.opt.AdminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(h.opt.AdminToken)) != 1 {
		return ptu.Errorf(ptu.CodeInvalidAuthenticationToken, "The access token is invalid.")
	}
	return nil
}

// reqContext is what the error writer needs to know about a request.
type reqContext struct {
	id    string
	start time.Time
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
