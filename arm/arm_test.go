package arm_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/control"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestIDHeaders(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		hdr  []string
		path string
	}{
		{name: "success", path: q(subPath(""))},
		{name: "error", path: subPath("")},
		{name: "unauthenticated", path: q(subPath("")), hdr: []string{"Authorization", ""}},
		{name: "unknown route", path: q("/nowhere")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do("GET", tc.path, "", tc.hdr...)
			id := rec.Header().Get("x-ms-request-id")
			if !uuidRE.MatchString(id) {
				t.Errorf("x-ms-request-id %q is not a UUID", id)
			}
			if c := rec.Header().Get("x-ms-correlation-request-id"); c != id {
				t.Errorf("x-ms-correlation-request-id %q, want the request id %q", c, id)
			}
			if c := rec.Header().Get("x-ms-client-request-id"); c != "" {
				t.Errorf("x-ms-client-request-id %q sent back unasked", c)
			}
		})
	}

	rec := e.do("GET", q(subPath("")), "", "x-ms-client-request-id", "client-1", "x-ms-correlation-request-id", "corr-1")
	if got := rec.Header().Get("x-ms-client-request-id"); got != "client-1" {
		t.Errorf("x-ms-client-request-id %q, want it echoed", got)
	}
	if got := rec.Header().Get("x-ms-correlation-request-id"); got != "corr-1" {
		t.Errorf("x-ms-correlation-request-id %q, want it echoed", got)
	}
	if a, b := e.do("GET", q(subPath("")), "").Header().Get("x-ms-request-id"), rec.Header().Get("x-ms-request-id"); a == b {
		t.Error("two requests got the same request id")
	}
}

// brokenStore fails (or panics in) every transaction and every read or
// write of the activity log.
type brokenStore struct{ panics bool }

var _ control.Store = brokenStore{}

func (s brokenStore) Update(ctx context.Context, fn func(ptu.Tx) error) error { return s.fail() }
func (s brokenStore) View(ctx context.Context, fn func(ptu.Tx) error) error   { return s.fail() }
func (s brokenStore) Close() error                                            { return nil }

func (s brokenStore) AddActivityEvent(context.Context, ptu.ActivityEvent) error { return s.fail() }
func (s brokenStore) ListActivityEvents(context.Context, ptu.ActivityFilter) ([]ptu.ActivityEvent, error) {
	return nil, s.fail()
}
func (s brokenStore) DeleteActivityEventsBefore(context.Context, time.Time) (int, error) {
	return 0, s.fail()
}

func (s brokenStore) fail() error {
	if s.panics {
		panic("store exploded")
	}
	return errors.New("disk on fire at /var/lib/ptu")
}

// TestInternalError: a failure without a client code answers 500 with a
// generic message naming the request id, and the log holds the cause under
// that id.
func TestInternalError(t *testing.T) {
	for _, panics := range []bool{false, true} {
		logs := &syncBuffer{}
		svc := control.New(brokenStore{panics: panics}, testCatalog(t), control.Options{PublicURL: publicURL})
		h := arm.New(arm.ServicesOf(svc), arm.Options{AdminToken: adminToken, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		req := httptest.NewRequest("GET", q(subPath("/providers/Microsoft.CognitiveServices/accounts")), nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("panics=%v: status %d\n%s", panics, rec.Code, rec.Body.String())
		}
		id := rec.Header().Get("x-ms-request-id")
		e := decodeError(t, rec.Body.Bytes())
		if e.Error.Code != "InternalServerError" || !strings.Contains(e.Error.Message, id) {
			t.Errorf("panics=%v: error %+v does not name request id %s", panics, e.Error, id)
		}
		if strings.Contains(rec.Body.String(), "fire") || strings.Contains(rec.Body.String(), "exploded") {
			t.Errorf("panics=%v: the cause leaked to the client: %s", panics, rec.Body.String())
		}
		cause := "disk on fire"
		if panics {
			cause = "store exploded"
		}
		if l := logs.String(); !strings.Contains(l, id) || !strings.Contains(l, cause) {
			t.Errorf("panics=%v: log lacks the request id or the cause:\n%s", panics, l)
		}
	}
}

func TestEmptyAdminTokenAcceptsNothing(t *testing.T) {
	svc := control.New(brokenStore{}, testCatalog(t), control.Options{})
	h := arm.New(arm.ServicesOf(svc), arm.Options{})
	for _, auth := range []string{"Bearer ", "Bearer x", ""} {
		req := httptest.NewRequest("GET", q("/subscriptions"), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d", auth, rec.Code)
		}
	}
}

// TestPathMatching: literal segments match in any case, names are passed on
// as sent (after unescaping), and a trailing slash is ignored.
func TestPathMatching(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", q(acctPath("My.Group(1)", "Acct-1", "")), `{"location":"eastus"}`)
	for _, path := range []string{
		"/subscriptions/" + subID + "/resourcegroups/my.group(1)/providers/microsoft.cognitiveservices/accounts/acct-1",
		"/SUBSCRIPTIONS/" + strings.ToUpper(subID) + "/RESOURCEGROUPS/My.Group%281%29/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/ACCT-1/",
	} {
		rec := e.do("GET", q(path), "")
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d\n%s", path, rec.Code, rec.Body.String())
			continue
		}
		if !strings.Contains(rec.Body.String(), `"name":"Acct-1"`) || !strings.Contains(rec.Body.String(), "/resourceGroups/My.Group(1)/") {
			t.Errorf("%s: the stored spelling should be returned: %s", path, rec.Body.String())
		}
	}
	rec := e.do("GET", q("/subscriptions/"+subID+"/resourceGroups//providers/Microsoft.CognitiveServices/accounts"), "")
	if rec.Code != http.StatusNotFound || decodeError(t, rec.Body.Bytes()).Error.Code != "NotFound" {
		t.Errorf("empty segment: status %d %s", rec.Code, rec.Body.String())
	}
}

func TestAPIVersions(t *testing.T) {
	e := newEnv(t)
	acct := acctPath("rg1", "nope", "")
	for _, tc := range []struct {
		path, version string
		ok            bool
	}{
		{acct, "2023-05-01", true},
		{acct, "2024-10-01", true},
		{acct, "2025-06-01", true},
		{acct, "2023-10-01-preview", true},
		{acct, "2024-04-01-preview", true},
		{acct, "2024-06-01-preview", true},
		{acct, "2025-04-01-preview", true},
		{acct, "2025-07-01-preview", true},
		{acct, "2026-01-15-preview", true},
		{acct, "2023-05-01-preview", true},
		{acct, "2026-12-31-preview", true},
		{acct, "2023-04-30-preview", false},
		{acct, "2027-01-01-preview", false},
		{acct, "2024-02-30-preview", false},
		{acct, "2024-10-02", false},
		// Every published version (specification/cognitiveservices/resource-manager/readme.md).
		{acct, "2016-02-01-preview", true},
		{acct, "2017-04-18", true},
		{acct, "2021-04-30", true},
		{acct, "2021-10-01", true},
		{acct, "2022-03-01", true},
		{acct, "2022-10-01", true},
		{acct, "2022-12-01", true}, // az 2.45, azure-mgmt-cognitiveservices 13.4.0b1
		{acct, "2025-09-01", true},
		{acct, "2025-10-01-preview", true},
		{acct, "2025-12-01", true},
		{acct, "2026-03-01", true},
		{acct, "2026-03-15-preview", true},
		{acct, "2022-11-01", false},
		{acct, "2019-11-01", false}, // a subscription API version, not a provider one
		{acct, "2024-10-01 ", false},
		{acct, "latest", false},
		{"/subscriptions", "2022-12-01", true},
		{"/subscriptions", "2016-06-01", true},
		{"/subscriptions", "2024-10-01", true},
		{subPath("/locations"), "2020-01-01", true},
		{"/subscriptions", "2099-01-01", false},
	} {
		rec := e.do("GET", tc.path+"?api-version="+strings.ReplaceAll(tc.version, " ", "%20"), "")
		code := ""
		if rec.Code >= 400 {
			code = decodeError(t, rec.Body.Bytes()).Error.Code
		}
		if tc.ok && code == "InvalidApiVersionParameter" || !tc.ok && code != "InvalidApiVersionParameter" {
			t.Errorf("%s?api-version=%q: status %d code %q, want accepted=%v", tc.path, tc.version, rec.Code, code, tc.ok)
		}
	}
	// ARM matches the parameter's name in any case.
	if rec := e.do("GET", "/subscriptions?API-VERSION=2022-12-01", ""); rec.Code != http.StatusOK {
		t.Errorf("API-VERSION: status %d %s", rec.Code, rec.Body.String())
	}
	if rec := e.do("GET", "/subscriptions?api-version=", ""); decodeError(t, rec.Body.Bytes()).Error.Code != "MissingApiVersionParameter" {
		t.Errorf("empty api-version: %s", rec.Body.String())
	}
}

// TestConcurrentDeployments: parallel requests for the last PTUs of a pool
// never oversubscribe it, and each is answered 201 or 409/400.
func TestConcurrentDeployments(t *testing.T) {
	e := newEnv(t)
	acct := acctPath("rg1", "acct1", "")
	e.must(http.StatusCreated, "PUT", q(acct), `{"location":"eastus"}`)
	const n = 12 // 12 x 50 PTUs of ProvisionedManaged against a 200-PTU pool and a 200-PTU quota
	codes := make(chan int, n)
	for i := range n {
		go func() {
			body := `{"sku":{"name":"ProvisionedManaged","capacity":50},"properties":{"model":{"name":"gpt-4o","version":"2024-08-06"}}}`
			codes <- e.do("PUT", q(acct+"/deployments/d"+string(rune('a'+i))), body).Code
		}()
	}
	created := 0
	for range n {
		switch c := <-codes; c {
		case http.StatusCreated:
			created++
		case http.StatusConflict, http.StatusBadRequest:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if created != 4 {
		t.Errorf("%d deployments of 50 created, want 4", created)
	}
}
