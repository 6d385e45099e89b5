package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

func start(t *testing.T, dir string) (*server.Server, func()) {
	t.Helper()
	s := testserver.Start(t, server.Options{DataDir: dir})
	return s.Server, s.Stop
}

func TestEverythingSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	s, stop := start(t, dir)
	sub := s.Config.Subscriptions[0].ID
	ctx := context.Background()
	a, _, err := s.Control.PutAccount(ctx, sub, "rg", "acct", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "acct", "gpt-4o", control.DeploymentInput{
		Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	q, err := s.Control.CreateQuotaRequest(ctx, sub, control.QuotaRequestInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Limit: 900, Reason: "launch"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Control.DecideQuotaRequest(ctx, q.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	token, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	stop()

	s2, stop2 := start(t, dir)
	defer stop2()
	if s2.AdminToken != strings.TrimSpace(string(token)) || s2.AdminToken == "" {
		t.Fatalf("admin token changed across restart")
	}
	d, err := s2.Control.GetDeployment(ctx, sub, "rg", "acct", "gpt-4o")
	if err != nil || d.Capacity != 15 || len(d.Allocations) != 1 {
		t.Fatalf("deployment after restart: %+v %v", d, err)
	}
	a2, err := s2.Control.GetAccount(ctx, sub, "rg", "acct")
	if err != nil || a2.Key1 != a.Key1 || a2.Key2 != a.Key2 {
		t.Fatalf("account keys changed across restart: %v", err)
	}
	us, err := s2.Control.Usages(ctx, sub, "eastus")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		switch u.Name {
		case "OpenAI.GlobalProvisionedManaged":
			if u.CurrentValue != 15 {
				t.Errorf("global usage after restart = %d, want 15", u.CurrentValue)
			}
		case "OpenAI.ProvisionedManaged":
			if u.Limit != 900 {
				t.Errorf("approved limit after restart = %d, want 900 (bootstrap must keep it)", u.Limit)
			}
		}
	}
	pools, _ := s2.Control.ListPools(ctx)
	allocated := 0
	for _, p := range pools {
		allocated += p.Allocated
	}
	if allocated != 15 {
		t.Fatalf("pool allocations after restart sum to %d, want 15", allocated)
	}
}

func TestHealthzAndEndpoint(t *testing.T) {
	s, stop := start(t, t.TempDir())
	defer stop()
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	a, _, err := s.Control.PutAccount(context.Background(), s.Config.Subscriptions[0].ID, "rg", "acct", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Control.Endpoint(a), s.URL+"/accounts/acct/"; got != want {
		t.Fatalf("endpoint = %q, want %q", got, want)
	}
}

func TestSelfSignedTLS(t *testing.T) {
	s := testserver.Start(t, server.Options{TLSSelfSigned: true})
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("URL = %s", s.URL)
	}
	c := s.HTTP
	resp, err := c.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("healthz over TLS: %d %s", resp.StatusCode, resp.Proto)
	}
}

// az asks {resource manager}/metadata/endpoints with the endpoint's trailing
// slash kept; a path with a doubled leading slash is served as with one,
// not redirected (ServeMux would answer 301), and the token service and
// the cloud metadata take no bearer token.
func TestDoubledLeadingSlashAndLoginRoutes(t *testing.T) {
	s, stop := start(t, t.TempDir())
	defer stop()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"//metadata/endpoints?api-version=2015-01-01", "/metadata/endpoints?api-version=2015-01-01",
		"//adfs/.well-known/openid-configuration"} {
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), s.URL+"/adfs") {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"//subscriptions?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"tenantId":"`+s.Config.Tenant()+`"`) {
		t.Errorf("GET //subscriptions: %d %s", resp.StatusCode, b)
	}
}
