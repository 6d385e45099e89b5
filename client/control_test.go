package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/client"
)

func usageOf(t *testing.T, c *client.Client, location, name string) client.Usage {
	t.Helper()
	us, err := c.ListUsages(context.Background(), location)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Name.Value == name {
			return u
		}
	}
	t.Fatalf("no usage %s in %s: %+v", name, location, us)
	return client.Usage{}
}

// TestControlPlane walks the seed's path through the SDK: an account in a
// region with capacity, the seed's gpt-4 0613 ProvisionedManaged deployment,
// quota used, resize, and clean-up.
func TestControlPlane(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	c := e.c

	sub, err := c.SubscriptionID(ctx)
	if err != nil || sub != e.s.Config.Subscriptions[0].ID {
		t.Fatalf("SubscriptionID = %q, %v; want the server's first %q", sub, err, e.s.Config.Subscriptions[0].ID)
	}
	locs, err := c.Locations(ctx)
	if err != nil || len(locs) == 0 {
		t.Fatalf("Locations = %v, %v", locs, err)
	}

	a, err := c.CreateAccount(ctx, "rg1", "acct-scus", client.AccountCreate{Location: "southcentralus", Kind: "OpenAI", SKU: "S0",
		Tags: map[string]string{"team": "search"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "acct-scus" || a.Location != "southcentralus" || a.ResourceGroup() != "rg1" ||
		a.Properties.Endpoint != e.s.URL+"/accounts/acct-scus/" || a.Tags["team"] != "search" {
		t.Errorf("created account = %+v", a)
	}
	got, err := c.GetAccount(ctx, "rg1", "ACCT-SCUS")
	if err != nil || got.ID != a.ID {
		t.Errorf("GetAccount = %+v, %v", got, err)
	}
	for _, rg := range []string{"rg1", ""} {
		as, err := c.ListAccounts(ctx, rg)
		if err != nil || len(as) != 1 || as[0].Name != "acct-scus" {
			t.Errorf("ListAccounts(%q) = %+v, %v", rg, as, err)
		}
	}

	keys, err := c.ListKeys(ctx, "rg1", "acct-scus")
	if err != nil || keys.Key1 == "" || keys.Key2 == "" || keys.Key1 == keys.Key2 {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}
	re, err := c.RegenerateKey(ctx, "rg1", "acct-scus", "key1")
	if err != nil || re.Key1 == keys.Key1 || re.Key2 != keys.Key2 {
		t.Errorf("RegenerateKey(key1) = %+v, %v; want a new key1 and the same key2", re, err)
	}

	models, err := c.ListAccountModels(ctx, "rg1", "acct-scus")
	if err != nil || !hasModel(models, "gpt-4", "0613") {
		t.Errorf("ListAccountModels: gpt-4 0613 missing (%d models, %v)", len(models), err)
	}

	before := usageOf(t, c, "southcentralus", "OpenAI.ProvisionedManaged")
	d, err := c.CreateDeployment(ctx, "rg1", "acct-scus", "MyModel", client.DeploymentCreate{
		Model:   client.ModelRef{Format: "OpenAI", Name: "GPT-4", Version: "0613"},
		SKUName: "ProvisionedManaged", Capacity: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "MyModel" || d.Capacity() != 100 || d.SKU.Name != "ProvisionedManaged" ||
		!strings.EqualFold(d.Properties.Model.Name, "gpt-4") || d.Properties.ProvisioningState != "Succeeded" || d.ResourceGroup() != "rg1" {
		t.Errorf("created deployment = %+v", d)
	}
	if after := usageOf(t, c, "southcentralus", "OpenAI.ProvisionedManaged"); after.CurrentValue != before.CurrentValue+100 {
		t.Errorf("usage %d after a 100-PTU deployment, %d before", after.CurrentValue, before.CurrentValue)
	}
	ds, err := c.ListDeployments(ctx, "rg1", "acct-scus")
	if err != nil || len(ds) != 1 || ds[0].ID != d.ID {
		t.Errorf("ListDeployments = %+v, %v", ds, err)
	}
	skus, err := c.ListDeploymentSKUs(ctx, "rg1", "acct-scus", "MyModel")
	if err != nil || len(skus) == 0 || skus[0].Capacity.Step != 100 {
		t.Errorf("ListDeploymentSKUs = %+v, %v", skus, err)
	}
	up, err := c.UpdateDeployment(ctx, "rg1", "acct-scus", "MyModel", client.DeploymentUpdate{Capacity: 200})
	if err != nil || up.Capacity() != 200 {
		t.Errorf("UpdateDeployment to 200 = %+v, %v", up, err)
	}
	if u := usageOf(t, c, "southcentralus", "OpenAI.ProvisionedManaged"); u.CurrentValue != before.CurrentValue+200 {
		t.Errorf("usage %d after resizing to 200", u.CurrentValue)
	}

	lm, err := c.ListModels(ctx, "southcentralus")
	if err != nil || len(lm) == 0 || lm[0].Kind == "" {
		t.Errorf("ListModels = %d models, %v", len(lm), err)
	}
	caps, err := c.ListModelCapacities(ctx, client.ModelCapacityQuery{Format: "OpenAI", Name: "gpt-4", Version: "0613", Location: "southcentralus"})
	if err != nil || len(caps) == 0 {
		t.Fatalf("ListModelCapacities(southcentralus) = %+v, %v", caps, err)
	}
	for _, mc := range caps {
		if mc.Location != "southcentralus" || mc.Properties.SKUName == "ProvisionedManaged" && mc.Properties.AvailableCapacity != 300 {
			t.Errorf("capacity %+v; want southcentralus, and 300 PTUs of ProvisionedManaged left of the quota's 500", mc)
		}
	}
	all, err := c.ListModelCapacities(ctx, client.ModelCapacityQuery{Format: "OpenAI", Name: "gpt-4", Version: "0613"})
	if err != nil || len(all) <= len(caps) {
		t.Errorf("ListModelCapacities(every region) = %d rows, %v; want more than one region's %d", len(all), err, len(caps))
	}

	existed, err := c.DeleteDeployment(ctx, "rg1", "acct-scus", "MyModel")
	if err != nil || !existed {
		t.Errorf("DeleteDeployment = %v, %v", existed, err)
	}
	existed, err = c.DeleteDeployment(ctx, "rg1", "acct-scus", "MyModel")
	if err != nil || existed {
		t.Errorf("second DeleteDeployment = %v, %v; want false, nil", existed, err)
	}
	if _, err := c.GetDeployment(ctx, "rg1", "acct-scus", "MyModel"); !client.IsNotFound(err) || client.ErrorCode(err) != "DeploymentNotFound" {
		t.Errorf("GetDeployment after delete: %v; want 404 DeploymentNotFound", err)
	}
	if existed, err := c.DeleteAccount(ctx, "rg1", "acct-scus"); err != nil || !existed {
		t.Errorf("DeleteAccount = %v, %v", existed, err)
	}
}

func hasModel(ms []client.AccountModel, name, version string) bool {
	for _, m := range ms {
		if m.Name == name && m.Version == version {
			return true
		}
	}
	return false
}

// TestTypedErrors checks that service errors arrive with their code, status
// and request id, and are not retried.
func TestTypedErrors(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	c := e.c
	if _, err := c.CreateAccount(ctx, "rg", "acct", client.AccountCreate{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}

	// Past quota: 400 InsufficientQuota.
	mark := e.rec.mark()
	_, err := c.CreateDeployment(ctx, "rg", "acct", "big", client.DeploymentCreate{
		Model: client.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: "GlobalProvisionedManaged", Capacity: 505})
	var ae *client.Error
	if !errors.As(err, &ae) {
		t.Fatalf("over quota: %v, want *client.Error", err)
	}
	if ae.StatusCode != http.StatusBadRequest || ae.Code != "InsufficientQuota" || ae.RequestID == "" ||
		!strings.Contains(ae.Message, "OpenAI.GlobalProvisionedManaged") || len(ae.Attempts) != 1 {
		t.Errorf("over quota: %+v", ae)
	}
	if n := len(e.rec.calls) - mark; n != 1 {
		t.Errorf("over quota: %d HTTP calls, want 1 (a 400 is not retried)", n)
	}

	// Past capacity: 409 InsufficientResourcesAvailable with the "other regions" detail.
	if _, err := c.CreateAccount(ctx, "rg", "acct-west", client.AccountCreate{Location: "westus3"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDeployment(ctx, "rg", "acct-west", "gpt-4o", client.DeploymentCreate{
		Model: client.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-11-20"}, SKUName: "ProvisionedManaged", Capacity: 100})
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict || ae.Code != "InsufficientResourcesAvailable" {
		t.Fatalf("past capacity: %v", err)
	}
	sh := ae.CapacityShortage()
	if sh == nil || sh.Requested != 100 || sh.DeployableNow != 50 || len(sh.Alternatives) == 0 {
		t.Fatalf("CapacityShortage = %+v", sh)
	}
	foundEast := false
	for _, alt := range sh.Alternatives {
		if alt.Location == "eastus" && len(alt.Accounts) == 1 && strings.HasSuffix(alt.Accounts[0], "/accounts/acct") {
			foundEast = true
		}
	}
	if !foundEast {
		t.Errorf("alternatives %+v lack eastus with the caller's account", sh.Alternatives)
	}

	// A wrong token: 401, not retried.
	bad := c.WithOptions(client.WithToken("wrong"))
	if _, err := bad.ListAccounts(ctx, ""); !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "InvalidAuthenticationToken" {
		t.Errorf("wrong token: %v", err)
	}
	// A missing account: 404 ResourceNotFound.
	if _, err := c.GetAccount(ctx, "rg", "nope"); !client.IsNotFound(err) || client.ErrorCode(err) != "ResourceNotFound" {
		t.Errorf("missing account: %v", err)
	}
	// The data plane's OpenAI-shaped error: a bad request body.
	_, ac := e.account("rg", "acct-dp", "eastus")
	e.deploy("rg", "acct-dp", "chat")
	_, err = ac.ChatCompletion(ctx, "chat", client.ChatRequest{})
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Type != "invalid_request_error" || ae.Code == "" || ae.RequestID == "" {
		t.Errorf("empty messages: %#v", err)
	}
	// A missing deployment on the data plane: Azure's 404 DeploymentNotFound.
	_, err = ac.ChatCompletion(ctx, "nope", chatReq("hi"))
	if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Code != "DeploymentNotFound" || len(ae.Attempts) != 1 {
		t.Errorf("missing deployment: %v", err)
	}
}

func TestQuotaRequests(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	c := e.c
	q, err := c.CreateQuotaRequest(ctx, client.QuotaRequestCreate{Location: "eastus", SKUName: "GlobalProvisionedManaged", Limit: 800, Reason: "launch"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Name == "" || q.Properties.State != "Pending" || q.Properties.Limit != 800 || q.Properties.UsageName != "OpenAI.GlobalProvisionedManaged" {
		t.Errorf("created request = %+v", q)
	}
	got, err := c.GetQuotaRequest(ctx, q.Name)
	if err != nil || got.ID != q.ID {
		t.Errorf("GetQuotaRequest = %+v, %v", got, err)
	}
	ok, err := c.ApproveQuotaRequest(ctx, q.Name, "approved for Q1")
	if err != nil || ok.Properties.State != "Approved" || ok.Properties.ReviewNote != "approved for Q1" {
		t.Fatalf("ApproveQuotaRequest = %+v, %v", ok, err)
	}
	if u := usageOf(t, c, "eastus", "OpenAI.GlobalProvisionedManaged"); u.Limit != 800 {
		t.Errorf("limit %d after approval, want 800", u.Limit)
	}
	if _, err := c.RejectQuotaRequest(ctx, q.Name, ""); client.ErrorCode(err) != "Conflict" {
		t.Errorf("deciding twice: %v, want 409 Conflict", err)
	}
	q2, err := c.CreateQuotaRequest(ctx, client.QuotaRequestCreate{Location: "eastus", SKUName: "ProvisionedManaged", Limit: 900, Reason: "more"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.RejectQuotaRequest(ctx, q2.Name, "no capacity"); err != nil || r.Properties.State != "Rejected" {
		t.Errorf("RejectQuotaRequest = %+v, %v", r, err)
	}
	qs, err := c.ListQuotaRequests(ctx)
	if err != nil || len(qs) != 2 || qs[0].Name != q2.Name {
		t.Errorf("ListQuotaRequests = %+v, %v; want both, newest first", qs, err)
	}
	all, err := c.ListAllQuotaRequests(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("ListAllQuotaRequests = %d, %v", len(all), err)
	}
}

func TestOptionsValidated(t *testing.T) {
	for name, opt := range map[string]client.Option{
		"negative retries": client.WithMaxRetries(-1),
		"negative time":    client.WithMaxRetryTime(-1),
		"not http":         client.WithEndpoint("ftp://example.com"),
		"no host":          client.WithAzureEndpoint("http://"),
		"backoff":          client.WithBackoff(0, 0),
		"failover":         client.WithFailover(client.Target{}),
		"nil clock":        client.WithClock(nil),
	} {
		if _, err := client.New(opt); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	c, err := client.New()
	if err != nil {
		t.Fatal(err)
	}
	// An invalid per-call option fails the call before any request.
	if _, err := c.ListAccounts(context.Background(), "", client.WithMaxRetries(-3)); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("per-call invalid option: %v", err)
	}
}
