// Package arm serves the control plane as an Azure Resource Manager REST API
// (Microsoft.CognitiveServices and the subscription routes ARM clients need).
// Handlers decode the wire shape (package armwire), call the control plane
// through the small interfaces of service.go (*control.Service provides them
// all), and encode the result; the rules live in control.
package arm

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/authz"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/metrics"
)

// Options configure the ARM handler.
type Options struct {
	// AdminToken is the admin's bearer token: a principal holding Owner at
	// "/". Principals' tokens (control.Service.CreatePrincipal) are accepted
	// too, for what their role assignments allow. When empty only principals'
	// tokens are accepted.
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
	// TenantID is the tenant subscriptions belong to (GET /tenants and
	// tenantId on subscriptions); "" keeps each subscription's own.
	TenantID string
	// ProvisioningDelay is how long a created account or deployment reports
	// provisioningState Creating, answering its creation as a long-running
	// operation (201 with Azure-AsyncOperation); 0 completes creations in
	// their first response.
	ProvisioningDelay time.Duration
	// PublicURL is the base of the absolute URLs the API hands out
	// (Azure-AsyncOperation); "" takes each request's scheme and Host.
	PublicURL string
	// Now is the clock provisioning is timed by; time.Now when nil.
	Now func() time.Time
	// OnAuthFailure, when set, is told of each request refused with 401:
	// the reason (no_credential, malformed, invalid_token, expired_token)
	// and the caller's address.
	OnAuthFailure func(plane, reason, source string)
}

// DefaultMaxBody is the largest request body accepted by default (1 MiB).
const DefaultMaxBody = 1 << 20

// New returns the ARM API handler over the parts in svc. Routes live at the root:
// /subscriptions/... and /providers/Microsoft.CognitiveServices/... (admin).
func New(svc Services, opt Options) http.Handler {
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	h := &handler{subs: svc.Subscriptions, accounts: svc.Accounts, deployments: svc.Deployments, quota: svc.Quota,
		capacity: svc.Capacity, auth: svc.Auth, access: svc.Access, rai: svc.RAI, activity: svc.Activity, opt: opt, log: opt.Logger}
	if opt.Billing != nil { // a nil *billing.Service stays a nil Billing: the routes answer 404
		h.billing = opt.Billing
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.register()
	return h
}

type handler struct {
	subs        Subscriptions
	accounts    Accounts
	deployments Deployments
	quota       Quota
	capacity    Capacity
	auth        Authenticator
	access      Access
	rai         RAI
	activity    Activity
	billing     Billing // nil when Options.Billing is

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
	methods  map[string]*endpoint
}

// endpoint is one method of a route: its handler and what a caller needs
// to be allowed to call it.
type endpoint struct {
	fn      endpointFunc
	pattern string // the route, for traces: "/subscriptions/{sub}/..."
	action  string // the ARM action the caller must hold (authz.Action of the pattern unless overridden)
	access  access
}

// handle registers fn for method and pattern. The action it requires is
// derived from the pattern (authz.Action); access rules in register adjust
// the exceptions.
func (h *handler) handle(method, pattern string, vs versionSet, fn endpointFunc) {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	ep := &endpoint{fn: fn, pattern: pattern, action: authz.Action(method, segs)}
	for _, rt := range h.routes {
		if slices.Equal(rt.segs, segs) {
			rt.methods[method] = ep
			return
		}
	}
	h.routes = append(h.routes, &route{segs: segs, versions: vs, methods: map[string]*endpoint{method: ep}})
}

// endpointOf returns the registered endpoint of method and pattern; it
// panics when there is none, which only a mistake in register can cause.
func (h *handler) endpointOf(method, pattern string) *endpoint {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	for _, rt := range h.routes {
		if slices.Equal(rt.segs, segs) {
			if ep, ok := rt.methods[method]; ok {
				return ep
			}
		}
	}
	panic("arm: no route " + method + " " + pattern)
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

	caller, err := h.authenticate(r)
	if err != nil {
		if reason := authReason(r, err); h.opt.OnAuthFailure != nil && reason != "" {
			h.opt.OnAuthFailure("arm", reason, r.RemoteAddr)
		}
		if ptu.ErrorCode(err) == ptu.CodeAuthenticationFailed {
			hdr.Set("WWW-Authenticate", `Bearer`)
		} else {
			hdr.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		h.writeError(w, r, rc, err)
		return
	}

	ep, p, vs, err := h.lookup(r)
	if err != nil {
		if e, ok := err.(*methodError); ok {
			hdr.Set("Allow", e.allow)
			err = e.err
		}
		h.writeError(w, r, rc, err)
		return
	}
	traceRequest(r, rc, ep, p)
	if err := checkAPIVersion(r.URL.Query(), vs); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if isWrite(r.Method) {
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer h.recordActivity(r, caller, ep, corr, sw)
	}
	if err := authorize(r, caller, ep, p); err != nil {
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
	r = r.WithContext(withCaller(r.Context(), caller))
	r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxBody)
	status, body, err := ep.fn(r, p)
	if err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if wh, ok := body.(withHeaders); ok {
		for k, v := range wh.header {
			hdr[k] = v
		}
		body = wh.body
	}
	if err := writeJSON(w, status, body); err != nil {
		h.writeError(w, r, rc, err)
	}
}

// lookup finds the endpoint for r. It fails with NotFound when no route has
// r's path and with a *methodError when routes have the path but not the method.
func (h *handler) lookup(r *http.Request) (*endpoint, params, versionSet, error) {
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
		if ep, ok := rt.methods[r.Method]; ok {
			return ep, p, rt.versions, nil
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

// authenticate finds the caller of the bearer token: the admin (Owner at
// "/") or a principal. Whether the caller may do what it asks is decided
// after routing (authorize).
func (h *handler) authenticate(r *http.Request) (*control.Caller, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, ptu.Errorf(ptu.CodeAuthenticationFailed, "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, ptu.Errorf(ptu.CodeAuthenticationFailed, "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	return bearerCaller(r, h.auth, h.opt.AdminToken, strings.TrimSpace(token))
}

// authReason names why authenticate refused r, for the failure counter.
func authReason(r *http.Request, err error) string {
	switch ptu.ErrorCode(err) {
	case ptu.CodeAuthenticationFailed:
		if r.Header.Get("Authorization") == "" {
			return "no_credential"
		}
		return "malformed"
	case ptu.CodeExpiredAuthenticationToken:
		return "expired_token"
	case ptu.CodeInvalidAuthenticationToken:
		return "invalid_token"
	}
	return "" // not a refused credential: the store failed
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
