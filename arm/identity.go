package arm

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/control"
)

// The token service and cloud metadata that let the real az (and MSAL)
// log in to ptu with no internet.
//
// az reads a cloud's login endpoint and ARM audience from
// {resourceManager}/metadata/endpoints?api-version=2015-01-01 when only
// --endpoint-resource-manager is given (msrestazure azure_cloud.py,
// _populate_from_metadata_endpoint; the Azure Stack metadata shape). When the
// login endpoint ends in /adfs, MSAL treats the authority as ADFS: it skips
// instance discovery at login.microsoftonline.com and reads
// {authority}/.well-known/openid-configuration for the token endpoint (msal
// authority.py), then posts client credentials to it (OAuth 2.0, RFC 6749
// §4.4). Neither az 2.45 nor MSAL decodes a service principal's access token:
// it is only sent back as a bearer token, so the token handed out is the
// secret itself (the admin token or a principal's token), which the ARM API
// already accepts.

// IdentityOptions configure the token service.
type IdentityOptions struct {
	// AdminToken is accepted as a client secret, as in Options.
	AdminToken string
	// TenantID is the tenant the service answers as.
	TenantID string
	// PublicURL is the base URL advertised in the metadata; "" derives it
	// from each request's scheme and Host.
	PublicURL string
	// TokenLifetime is the expires_in of the admin token (principals' tokens
	// expire no later than the principal); an hour when 0.
	TokenLifetime time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// adfsPath is where the token service lives; MSAL and az recognise an
// authority whose path is /adfs as ADFS.
const adfsPath = "/adfs"

// metadataPath is the cloud metadata route of Azure Stack's Resource Manager.
const metadataPath = "/metadata/endpoints"

// Identity returns the handler of /adfs/... (OpenID configuration, token
// endpoint) and /metadata/endpoints. None of them takes a bearer token.
func Identity(svc Authenticator, opt IdentityOptions) http.Handler {
	if opt.TokenLifetime <= 0 {
		opt.TokenLifetime = time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &identity{svc: svc, opt: opt}
}

type identity struct {
	svc Authenticator
	opt IdentityOptions
}

func (id *identity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", newUUID())
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.EqualFold(path, metadataPath):
		id.metadata(w, r)
	case strings.EqualFold(path, adfsPath+"/.well-known/openid-configuration"):
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		id.openIDConfiguration(w, r)
	case strings.EqualFold(path, adfsPath+"/oauth2/token"):
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		id.token(w, r)
	case strings.EqualFold(path, adfsPath+"/discovery/keys"):
		// No token is signed: the key set is empty.
		writeIdentityJSON(w, http.StatusOK, map[string]any{"keys": []any{}})
	case strings.EqualFold(path, adfsPath+"/oauth2/authorize"), strings.EqualFold(path, adfsPath+"/oauth2/devicecode"):
		writeOAuthError(w, http.StatusBadRequest, "unsupported_response_type",
			"Only the client credentials grant is supported: log in with a service principal (az login --service-principal).")
	default:
		writeIdentityJSON(w, http.StatusNotFound, errorBody(ptu.Errorf(ptu.CodeNotFound, "No route matches '%s %s'.", r.Method, r.URL.EscapedPath())))
	}
}

func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	writeIdentityJSON(w, http.StatusMethodNotAllowed, errorBody(ptu.Errorf(ptu.CodeMethodNotAllowed,
		"The requested resource does not support http method '%s'.", r.Method)))
	return false
}

// base is the URL clients reach the service at, without a trailing slash.
func (id *identity) base(r *http.Request) string {
	if id.opt.PublicURL != "" {
		return strings.TrimSuffix(id.opt.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// metadataVersions are the api-versions of the Azure Stack metadata shape.
const metadataVersions = "2015-01-01"

// metadata answers Resource Manager's cloud metadata in the 2015-01-01 shape
// (as Azure Stack Hub serves it): the login endpoint is this server's token
// service and the audience this server.
func (id *identity) metadata(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	v, ok := q["api-version"]
	switch {
	case !ok || len(v) == 0 || v[0] == "":
		writeIdentityJSON(w, http.StatusBadRequest, errorBody(ptu.Errorf(ptu.CodeMissingAPIVersion,
			"The api-version query parameter (?api-version=) is required for all requests.")))
		return
	case len(v) > 1 || v[0] != metadataVersions:
		writeIdentityJSON(w, http.StatusBadRequest, errorBody(&ptu.Error{Code: ptu.CodeInvalidAPIVersion, Target: "api-version",
			Message: "The api-version '" + strings.Join(v, ",") + "' is invalid. The supported versions are '" + metadataVersions + "'."}))
		return
	}
	base := id.base(r)
	writeIdentityJSON(w, http.StatusOK, cloudMetadataJSON{
		GalleryEndpoint: base + "/",
		GraphEndpoint:   base + "/",
		PortalEndpoint:  base + "/portal/",
		Authentication: cloudAuthJSON{
			LoginEndpoint: base + adfsPath,
			Audiences:     []string{base + "/"},
		},
	})
}

type cloudMetadataJSON struct {
	GalleryEndpoint string        `json:"galleryEndpoint"`
	GraphEndpoint   string        `json:"graphEndpoint"`
	PortalEndpoint  string        `json:"portalEndpoint"`
	Authentication  cloudAuthJSON `json:"authentication"`
}

type cloudAuthJSON struct {
	LoginEndpoint string   `json:"loginEndpoint"`
	Audiences     []string `json:"audiences"`
}

// openIDConfiguration is the OpenID Connect discovery document of the
// token service (OpenID Connect Discovery 1.0 §3; the fields MSAL reads are
// authorization_endpoint and token_endpoint, whose first path segment,
// "adfs", MSAL takes as the tenant).
func (id *identity) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	issuer := id.base(r) + adfsPath
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                issuer + "/oauth2/authorize/",
		"token_endpoint":                        issuer + "/oauth2/token/",
		"jwks_uri":                              issuer + "/discovery/keys",
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"scopes_supported":                      []string{"openid"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"access_token_issuer":                   issuer,
	})
}

// token is the OAuth 2.0 token endpoint for the client credentials grant.
// The client secret is the admin token or a principal's token; the client id
// may be anything (az sends the service principal's name or id).
func (id *identity) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form (application/x-www-form-urlencoded).")
		return
	}
	form := r.PostForm
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The grant_type parameter is required.")
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			"The grant type '"+gt+"' is not supported; use client_credentials (a service principal login).")
		return
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	if secret == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "Client authentication failed: no client_secret was sent.")
		return
	}
	expires, err := id.verify(r, secret)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "Client authentication failed for client '"+clientID+
			"': "+err.Error())
		return
	}
	now := id.opt.Now()
	lifetime := id.opt.TokenLifetime
	if !expires.IsZero() && expires.Sub(now) < lifetime {
		lifetime = expires.Sub(now)
	}
	secs := int64(lifetime / time.Second)
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"access_token":   secret,
		"expires_in":     secs,
		"ext_expires_in": secs,
		"expires_on":     now.Add(lifetime).Unix(),
		"resource":       form.Get("resource"),
		"scope":          form.Get("scope"),
	})
}

// verify checks a client secret and returns when it stops being valid
// (zero: never).
func (id *identity) verify(r *http.Request, secret string) (time.Time, error) {
	if id.opt.AdminToken != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(id.opt.AdminToken)) == 1 {
		return time.Time{}, nil
	}
	c, err := bearerCaller(r, id.svc, "", secret)
	if err != nil {
		if ptu.ErrorCode(err) == ptu.CodeExpiredAuthenticationToken {
			return time.Time{}, errString("the secret has expired")
		}
		if ptu.ErrorCode(err) == ptu.CodeInvalidAuthenticationToken {
			return time.Time{}, errString("the secret is not the admin token nor a principal's token")
		}
		return time.Time{}, errString("the secret could not be checked")
	}
	return c.Expires, nil
}

type errString string

func (e errString) Error() string { return string(e) }

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeIdentityJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeIdentityJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("arm: identity response: " + err.Error()) // maps of strings and numbers only
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// bearerCaller finds the caller a token names: the admin (when it equals
// admin) or a principal.
func bearerCaller(r *http.Request, svc Authenticator, admin, token string) (*control.Caller, error) {
	if admin != "" && subtle.ConstantTimeCompare([]byte(token), []byte(admin)) == 1 {
		return control.Admin(), nil
	}
	if !strings.HasPrefix(token, control.TokenPrefix) {
		return nil, ptu.Errorf(ptu.CodeInvalidAuthenticationToken, "The access token is invalid.")
	}
	return svc.Authenticate(r.Context(), token)
}

// errorBody is ARM's error envelope of a client error.
func errorBody(e *ptu.Error) armwire.ErrorResponse {
	d, _ := detailOf(e) // these errors carry no Info, the only part that can fail to encode
	return armwire.ErrorResponse{Error: d}
}
