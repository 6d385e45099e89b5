package arm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/control"
)

func identityServer(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(arm.Identity(e.svc, arm.IdentityOptions{AdminToken: adminToken, TenantID: "t1", Now: e.clock.Now}))
	t.Cleanup(srv.Close)
	return srv
}

func getJSON(t *testing.T, c *http.Client, u string, v any) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

func postToken(t *testing.T, c *http.Client, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(base+"/adfs/oauth2/token/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// What az 2.45 and MSAL 1.21 read (msrestazure azure_cloud.py
// _populate_from_metadata_endpoint; msal authority.py): the cloud metadata's
// authentication.loginEndpoint (ending in /adfs, so MSAL skips instance
// discovery) and audiences[0], then the OpenID configuration's
// authorization_endpoint and token_endpoint, whose first path segment MSAL
// takes as the tenant.
func TestCloudMetadataAndOpenIDConfiguration(t *testing.T) {
	e := newEnv(t)
	srv := identityServer(t, e)
	c := srv.Client()

	var md struct {
		GraphEndpoint  string
		Authentication struct {
			LoginEndpoint string
			Audiences     []string
		}
	}
	if code := getJSON(t, c, srv.URL+"/metadata/endpoints?api-version=2015-01-01", &md); code != http.StatusOK {
		t.Fatalf("metadata: %d", code)
	}
	if md.Authentication.LoginEndpoint != srv.URL+"/adfs" || len(md.Authentication.Audiences) == 0 ||
		md.Authentication.Audiences[0] != srv.URL+"/" || md.GraphEndpoint == "" {
		t.Errorf("metadata = %+v", md)
	}
	var er struct{ Error struct{ Code string } }
	if code := getJSON(t, c, srv.URL+"/metadata/endpoints?api-version=2019-05-01", &er); code != http.StatusBadRequest || er.Error.Code != "InvalidApiVersionParameter" {
		t.Errorf("metadata in 2019-05-01: %d %+v", code, er)
	}

	var oidc map[string]any
	if code := getJSON(t, c, srv.URL+"/adfs/.well-known/openid-configuration", &oidc); code != http.StatusOK {
		t.Fatalf("openid-configuration: %d", code)
	}
	for k, want := range map[string]string{
		"authorization_endpoint": srv.URL + "/adfs/oauth2/authorize/",
		"token_endpoint":         srv.URL + "/adfs/oauth2/token/",
		"issuer":                 srv.URL + "/adfs",
	} {
		if oidc[k] != want {
			t.Errorf("%s = %v, want %s", k, oidc[k], want)
		}
	}
}

// The client credentials grant (RFC 6749 §4.4) as MSAL posts it: the admin
// token and a principal's token are secrets that buy themselves as access
// tokens, a principal's no longer than it lives; anything else is
// invalid_client (what az prints), and other grants are refused.
func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	srv := identityServer(t, e)
	c := srv.Client()
	form := func(secret string) url.Values {
		return url.Values{"client_id": {"ci"}, "grant_type": {"client_credentials"}, "client_secret": {secret},
			"scope": {srv.URL + "/.default"}, "client_info": {"1"}}
	}

	code, tok := postToken(t, c, srv.URL, form(adminToken))
	if code != http.StatusOK || tok["access_token"] != adminToken || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) {
		t.Errorf("admin token: %d %v", code, tok)
	}

	expires := fixedNow.Add(10 * time.Minute)
	_, ptoken, err := e.svc.CreatePrincipal(context.Background(), "ci", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	code, tok = postToken(t, c, srv.URL, form(ptoken))
	if code != http.StatusOK || tok["access_token"] != ptoken || tok["expires_in"] != float64(600) {
		t.Errorf("principal token: %d %v", code, tok)
	}
	// The token it hands out is what the ARM API takes.
	rec := e.do("GET", "/subscriptions?api-version=2022-12-01", "", "Authorization", "Bearer "+tok["access_token"].(string))
	if rec.Code != http.StatusOK {
		t.Errorf("ARM with the issued token: %d %s", rec.Code, rec.Body)
	}

	for _, secret := range []string{"wrong", control.TokenPrefix + "nope", strings.ToUpper(adminToken)} {
		code, tok = postToken(t, c, srv.URL, form(secret))
		if code != http.StatusBadRequest || tok["error"] != "invalid_client" || tok["error_description"] == "" || tok["access_token"] != nil {
			t.Errorf("secret %q: %d %v", secret, code, tok)
		}
	}
	e.clock.Set(expires)
	if code, tok = postToken(t, c, srv.URL, form(ptoken)); code != http.StatusBadRequest || tok["error"] != "invalid_client" {
		t.Errorf("expired principal: %d %v", code, tok)
	}
	f := form(adminToken)
	f.Set("grant_type", "password")
	if code, tok = postToken(t, c, srv.URL, f); code != http.StatusBadRequest || tok["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v", code, tok)
	}
	// client_secret_basic.
	req, _ := http.NewRequest("POST", srv.URL+"/adfs/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ci", adminToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
	if resp, err := c.Get(srv.URL + "/adfs/oauth2/token"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %v %v", resp.StatusCode, err)
	}
}
