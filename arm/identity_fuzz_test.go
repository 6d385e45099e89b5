package arm

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/control"
)

// FuzzLogin feeds the token service's form bodies and the operation ids of
// Azure-AsyncOperation URLs, both outside input: the token endpoint answers
// 200 with a token only for the admin secret and otherwise a 400 OAuth error
// (never echoing a secret), and an operation id parses to a resource or to
// nothing, never panicking.
func FuzzLogin(f *testing.F) {
	const admin = "admin-secret"
	for _, s := range []string{
		"grant_type=client_credentials&client_id=ci&client_secret=admin-secret&scope=https%3A%2F%2Fx%2F.default",
		"grant_type=client_credentials&client_secret=wrong", "grant_type=password", "", "%zz", "client_secret=admin-secret",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a/deployments/d",
	} {
		f.Add(s)
	}
	id := &identity{opt: IdentityOptions{AdminToken: admin, TokenLifetime: time.Hour}}
	id.opt.Now = nowForFuzz
	f.Fuzz(func(t *testing.T, s string) {
		req := httptest.NewRequest(http.MethodPost, "/adfs/oauth2/token", strings.NewReader(s))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		// A principal's token would need a control service: leave those out.
		if q, err := url.ParseQuery(s); err == nil && strings.HasPrefix(q.Get("client_secret"), control.TokenPrefix) {
			return
		}
		id.ServeHTTP(rec, req)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%q: not JSON: %s", s, rec.Body)
		}
		switch rec.Code {
		case http.StatusOK:
			if body["access_token"] != admin {
				t.Fatalf("%q: 200 %v", s, body)
			}
		case http.StatusBadRequest:
			if body["error"] == nil || body["access_token"] != nil {
				t.Fatalf("%q: 400 %v", s, body)
			}
		default:
			t.Fatalf("%q: status %d", s, rec.Code)
		}

		ref, ok := parseResourceID(s)
		if ok && (ref.sub == "" || ref.rg == "" || ref.account == "") {
			t.Fatalf("%q parsed to %+v", s, ref)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(operationID(s)); err != nil || string(raw) != strings.ToLower(s) {
			t.Fatalf("operation id of %q does not round-trip", s)
		}
	})
}

func nowForFuzz() (t time.Time) { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
