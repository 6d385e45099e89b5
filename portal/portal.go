// Package portal is ptu's web portal: server-rendered pages at /portal/ for
// the Azure guide's walk-through (quota, the deployment wizard with its
// pricing confirmation, recovering from a capacity shortage by switching
// resource, utilization charts, reservations and billing).
//
// The portal holds no state and no rules of its own. Every page is made from
// calls to the ARM REST API the SDKs and the CLI use, made with the client
// library over an in-process transport (api.go) with the signed-in user's
// bearer token, so whatever the API checks and refuses applies to the
// portal unchanged. The token is kept in an HttpOnly,
// SameSite=Strict cookie scoped to /portal/.
//
// Assets are embedded: a style sheet, a small script, and two vendored npm
// libraries (htmx for partial updates, uPlot for charts; versions and
// licenses in assets/vendor/README.md). No CDN, no external fonts.
package portal

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/ptu-dev/ptu/client"
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

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string
	Path    string
	Subs    []client.Subscription
	Sub     string
	Regions []client.Location
	Region  string
	Flash   string
	Error   *apiError
	Data    any
}

// RegionName is the display name of the selected region.
func (v *view) RegionName() string { return regionName(v.Regions, v.Region) }

func regionName(ls []client.Location, name string) string {
	for _, l := range ls {
		if strings.EqualFold(l.Name, name) {
			return l.DisplayName
		}
	}
	return name
}

// session is one request of a signed-in user: the API client (acting on
// the selected subscription) and the selected subscription and region.
type session struct {
	api *client.Client
	r   *http.Request
	w   http.ResponseWriter
	v   *view
}

// ctx is the context of the session's API calls.
func (s *session) ctx() context.Context { return s.r.Context() }

// begin authenticates the request and resolves the subscription and region
// pickers. It answers (a redirect to sign-in, an error page) and returns nil
// when the page cannot go on.
func (p *Portal) begin(w http.ResponseWriter, r *http.Request, nav, title string) *session {
	ck, err := r.Cookie(tokenCookie)
	if err != nil || ck.Value == "" {
		p.toSignIn(w, r)
		return nil
	}
	s := &session{r: r, w: w, v: &view{Nav: nav, Title: title, Path: r.URL.Path, Flash: r.URL.Query().Get("flash")}}
	api, err := p.apiClient(r, ck.Value)
	if err != nil {
		p.fail(s, err)
		return nil
	}
	subs, err := api.Subscriptions(r.Context())
	if err != nil {
		p.fail(s, apiErr(err))
		return nil
	}
	s.v.Subs = subs
	if len(subs) == 0 {
		p.fail(s, &apiError{Status: 404, Code: "SubscriptionNotFound", Message: "The token sees no subscription."})
		return nil
	}
	s.v.Sub = p.pick(w, r, "sub", subCookie, func(v string) bool {
		for _, x := range subs {
			if strings.EqualFold(x.SubscriptionID, v) {
				return true
			}
		}
		return false
	}, subs[0].SubscriptionID)
	s.api = api.WithOptions(client.WithSubscription(s.v.Sub))
	locs, err := s.api.Locations(r.Context())
	if err != nil {
		p.fail(s, apiErr(err))
		return nil
	}
	s.v.Regions = locs
	def := ""
	if len(locs) > 0 {
		def = locs[0].Name
	}
	s.v.Region = p.pick(w, r, "region", regionCookie, func(v string) bool {
		for _, x := range locs {
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
