// Package portal is ptu's web portal: server-rendered pages at /portal/ for
// the Azure guide's walk-through (quota, the deployment wizard with its
// pricing confirmation, recovering from a capacity shortage by switching
// resource, utilization charts, reservations and billing).
//
// The portal holds no state and no rules of its own. Every page is made from
// calls to the ARM REST API the SDKs and the CLI use, made in-process with
// the signed-in user's bearer token, so whatever the API checks and refuses
// applies to the portal unchanged. The token is kept in an HttpOnly,
// SameSite=Strict cookie scoped to /portal/.
//
// Assets are embedded: a style sheet, a small script, and two vendored npm
// libraries (htmx for partial updates, uPlot for charts; versions and
// licenses in assets/vendor/README.md). No CDN, no external fonts.
package portal

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

//go:embed assets templates
var files embed.FS

// Prefix is where the portal is served.
const Prefix = "/portal/"

// Options configure the portal.
type Options struct {
	// API is the ARM REST API handler (arm.New) the portal calls in-process
	// with the signed-in user's token.
	API http.Handler
	// Logger receives unexpected errors; nothing is logged when nil.
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure (set when serving TLS).
	SecureCookies bool
}

// Portal is the portal's HTTP handler.
type Portal struct {
	opt    Options
	log    *slog.Logger
	pages  map[string]*template.Template
	mux    *http.ServeMux
	assets http.Handler
}

// New returns the portal handler; mount it at Prefix.
func New(opt Options) (*Portal, error) {
	if opt.API == nil {
		return nil, errors.New("portal: Options.API is required")
	}
	p := &Portal{opt: opt, log: opt.Logger, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	pages, err := fs.Glob(files, "templates/page-*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/page-"), ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html", f)
		if err != nil {
			return nil, fmt.Errorf("portal template %s: %w", f, err)
		}
		p.pages[name] = t
	}
	assets, _ := fs.Sub(files, "assets")
	p.assets = http.StripPrefix(Prefix+"assets/", http.FileServerFS(assets))
	p.routes()
	return p, nil
}

// Must is New for the embedded templates, which parse or the build is broken.
func Must(opt Options) *Portal {
	p, err := New(opt)
	if err != nil {
		panic(err)
	}
	return p
}

func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "cross-site form posts are refused", http.StatusForbidden)
		return
	}
	p.mux.ServeHTTP(w, r)
}

// sameOrigin refuses cross-site POSTs (with the SameSite=Strict cookie this
// keeps forms from other sites from acting with the user's token).
func sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

const (
	tokenCookie  = "ptu_portal_token"
	subCookie    = "ptu_portal_sub"
	regionCookie = "ptu_portal_region"
)

func (p *Portal) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: p.opt.SecureCookies, MaxAge: maxAge})
}

// apiError is an ARM error answer.
type apiError struct {
	Status  int
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Target  string          `json:"target"`
	Info    []apiErrorInfo  `json:"additionalInfo"`
	Details json.RawMessage `json:"details"`
}

type apiErrorInfo struct {
	Type string          `json:"type"`
	Info json.RawMessage `json:"info"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errSignedOut is returned when the API refuses the token.
var errSignedOut = errors.New("signed out")

// client calls the ARM API in-process as the signed-in user.
type client struct {
	api   http.Handler
	token string
	r     *http.Request
}

const (
	cognitiveVersion    = "2024-10-01"
	subscriptionVersion = "2022-12-01"
	monitorVersion      = "2023-10-01"
)

// call sends method path?query (api-version added) with body as JSON and
// decodes the answer into out. Errors are *apiError or errSignedOut.
func (c *client) call(method, path string, query url.Values, body, out any) error {
	if query == nil {
		query = url.Values{}
	}
	if query.Get("api-version") == "" {
		v := cognitiveVersion
		switch {
		case strings.Contains(path, "/Microsoft.Insights/"):
			v = monitorVersion
		case !strings.Contains(path, "/providers/"):
			v = subscriptionVersion
		}
		query.Set("api-version", v)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.r.Context(), method, path+"?"+query.Encode(), rd)
	if err != nil {
		return err
	}
	req.Host = c.r.Host
	req.RemoteAddr = c.r.RemoteAddr
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ptu-portal")
	if id := c.r.Header.Get("X-Request-Id"); id != "" {
		req.Header.Set("x-ms-client-request-id", id)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	c.api.ServeHTTP(rec, req)
	if rec.status == http.StatusUnauthorized {
		return errSignedOut
	}
	if rec.status >= 400 {
		var env struct {
			Error apiError `json:"error"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &env); err != nil || env.Error.Code == "" {
			return &apiError{Status: rec.status, Code: http.StatusText(rec.status), Message: strings.TrimSpace(rec.body.String())}
		}
		env.Error.Status = rec.status
		return &env.Error
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("decoding %s %s: %w", method, path, err)
		}
	}
	return nil
}

// recorder is the in-process ResponseWriter of client.call.
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

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string
	Path    string
	Subs    []subscription
	Sub     string
	Regions []location
	Region  string
	Flash   string
	Error   *apiError
	Data    any
}

// RegionName is the display name of the selected region.
func (v *view) RegionName() string { return regionName(v.Regions, v.Region) }

func regionName(ls []location, name string) string {
	for _, l := range ls {
		if strings.EqualFold(l.Name, name) {
			return l.DisplayName
		}
	}
	return name
}

// session is one request of a signed-in user: the API client and the
// selected subscription and region.
type session struct {
	*client
	w http.ResponseWriter
	v *view
}

// begin authenticates the request and resolves the subscription and region
// pickers. It answers (a redirect to sign-in, an error page) and returns nil
// when the page cannot go on.
func (p *Portal) begin(w http.ResponseWriter, r *http.Request, nav, title string) *session {
	ck, err := r.Cookie(tokenCookie)
	if err != nil || ck.Value == "" {
		p.toSignIn(w, r)
		return nil
	}
	s := &session{client: &client{api: p.opt.API, token: ck.Value, r: r}, w: w,
		v: &view{Nav: nav, Title: title, Path: r.URL.Path, Flash: r.URL.Query().Get("flash")}}
	var subs struct{ Value []subscription }
	if err := s.call(http.MethodGet, "/subscriptions", nil, nil, &subs); err != nil {
		p.fail(s, err)
		return nil
	}
	s.v.Subs = subs.Value
	if len(subs.Value) == 0 {
		p.fail(s, &apiError{Status: 404, Code: "SubscriptionNotFound", Message: "The token sees no subscription."})
		return nil
	}
	s.v.Sub = p.pick(w, r, "sub", subCookie, func(v string) bool {
		for _, x := range subs.Value {
			if strings.EqualFold(x.SubscriptionID, v) {
				return true
			}
		}
		return false
	}, subs.Value[0].SubscriptionID)
	var locs struct{ Value []location }
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+"/locations", nil, nil, &locs); err != nil {
		p.fail(s, err)
		return nil
	}
	s.v.Regions = locs.Value
	def := ""
	if len(locs.Value) > 0 {
		def = locs.Value[0].Name
	}
	s.v.Region = p.pick(w, r, "region", regionCookie, func(v string) bool {
		for _, x := range locs.Value {
			if strings.EqualFold(x.Name, v) {
				return true
			}
		}
		return false
	}, def)
	return s
}

// pick resolves a picker: the query parameter (remembered in a cookie), else
// the cookie, else def.
func (p *Portal) pick(w http.ResponseWriter, r *http.Request, param, cookie string, valid func(string) bool, def string) string {
	if v := r.URL.Query().Get(param); v != "" && valid(v) {
		p.setCookie(w, cookie, v, 0)
		return v
	}
	if ck, err := r.Cookie(cookie); err == nil && valid(ck.Value) {
		return ck.Value
	}
	return def
}

func (p *Portal) toSignIn(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") != "" {
		next = Prefix
	}
	target := Prefix + "signin?next=" + url.QueryEscape(next)
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// fail answers a page that cannot be made: sign-in again for a refused
// token, else an error page with the API's code and message.
func (p *Portal) fail(s *session, err error) {
	if errors.Is(err, errSignedOut) {
		p.setCookie(s.w, tokenCookie, "", -1)
		p.toSignIn(s.w, s.r)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		p.log.Error("portal: unexpected error", "path", s.r.URL.Path, "err", err)
		ae = &apiError{Status: 500, Code: "InternalServerError", Message: "The portal could not make this page; the server log has the cause."}
	}
	s.v.Error = ae
	if s.v.Title == "" {
		s.v.Title = "Error"
	}
	p.render(s.w, s.r, "error", ae.Status, s.v)
}

// render writes page (or, for an htmx request naming a fragment with
// ?fragment=, that template alone).
func (p *Portal) render(w http.ResponseWriter, r *http.Request, page string, status int, v *view) {
	t, ok := p.pages[page]
	if !ok {
		http.Error(w, "no page "+page, http.StatusInternalServerError)
		return
	}
	name := "layout"
	if f := r.URL.Query().Get("fragment"); f != "" && r.Header.Get("HX-Request") != "" {
		if t.Lookup("frag-"+f) == nil {
			http.Error(w, "no fragment "+f, http.StatusNotFound)
			return
		}
		name = "frag-" + f
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		p.log.Error("portal: template", "page", page, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// redirect sends the browser to a portal page with a flash message.
func redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values, flash string) {
	if q == nil {
		q = url.Values{}
	}
	if flash != "" {
		q.Set("flash", flash)
	}
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
