package arm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
)

type deploymentWire struct {
	SKU *struct {
		Name     string `json:"name"`
		Capacity int    `json:"capacity"`
	} `json:"sku"`
	Properties struct {
		ProvisioningState    string `json:"provisioningState"`
		VersionUpgradeOption string `json:"versionUpgradeOption"`
		ScaleSettings        *struct {
			ScaleType      string `json:"scaleType"`
			Capacity       int    `json:"capacity"`
			ActiveCapacity int    `json:"activeCapacity"`
		} `json:"scaleSettings"`
		RateLimits []struct {
			Key           string  `json:"key"`
			RenewalPeriod float64 `json:"renewalPeriod"`
			Count         float64 `json:"count"`
		} `json:"rateLimits"`
		CallRateLimit *struct {
			Count         float64 `json:"count"`
			RenewalPeriod float64 `json:"renewalPeriod"`
		} `json:"callRateLimit"`
	} `json:"properties"`
}

func decodeDeployment(t *testing.T, b []byte) deploymentWire {
	t.Helper()
	var d deploymentWire
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return d
}

// Api-versions before 2023-05-01 size a deployment by
// properties.scaleSettings {scaleType, capacity} and carry no sku
// (stable/2022-12-01/examples/PutDeployment.json, GetDeployment.json;
// azure-mgmt-cognitiveservices 13.4.0b1's Deployment and
// DeploymentScaleSettings, which az 2.45 sends). Manual is a regional
// provisioned deployment; later versions answer with sku.
func TestScaleSettingsVersions(t *testing.T) {
	e := newEnvWith(t, catalog.Default())
	acct := "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/acct1"
	e.must(http.StatusCreated, "PUT", acct+"?api-version=2022-12-01", `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`)

	// az cognitiveservices account deployment create --scale-settings-scale-type Manual --scale-settings-capacity 50
	body := e.must(http.StatusCreated, "PUT", acct+"/deployments/ptu?api-version=2022-12-01",
		`{"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"scaleSettings":{"scaleType":"Manual","capacity":50}}}`)
	old := decodeDeployment(t, body)
	if old.SKU != nil || old.Properties.ScaleSettings == nil || old.Properties.ScaleSettings.ScaleType != "Manual" ||
		old.Properties.ScaleSettings.Capacity != 50 || old.Properties.ScaleSettings.ActiveCapacity != 50 {
		t.Errorf("2022-12-01 shape: %s", body)
	}
	if old.Properties.VersionUpgradeOption != "" || old.Properties.RateLimits != nil {
		t.Errorf("2022-12-01 carries fields added in 2023-05-01: %s", body)
	}
	// The same deployment in 2024-10-01 (armcognitiveservices v1.7.0): a ProvisionedManaged sku, no scaleSettings.
	body = e.must(http.StatusOK, "GET", acct+"/deployments/ptu?api-version=2024-10-01", "")
	cur := decodeDeployment(t, body)
	if cur.SKU == nil || cur.SKU.Name != "ProvisionedManaged" || cur.SKU.Capacity != 50 || cur.Properties.ScaleSettings != nil {
		t.Errorf("2024-10-01 shape: %s", body)
	}
	if u := usage(t, e, "eastus", "OpenAI.ProvisionedManaged"); u != 50 {
		t.Errorf("regional PTU usage = %d, want 50", u)
	}

	// Standard is a Standard deployment, with its rate limits in the new versions.
	e.must(http.StatusCreated, "PUT", acct+"/deployments/std?api-version=2021-10-01",
		`{"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"scaleSettings":{"scaleType":"Standard","capacity":60}}}`)
	std := decodeDeployment(t, e.must(http.StatusOK, "GET", acct+"/deployments/std?api-version=2024-10-01", ""))
	if std.SKU == nil || std.SKU.Name != "Standard" || std.SKU.Capacity != 60 {
		t.Errorf("scaleType Standard made %+v", std.SKU)
	}
	// working-with-models.md: capacity 60 → request 60 per 10 s, token 60,000 per 60 s.
	if rl := std.Properties.RateLimits; len(rl) != 2 || rl[0].Key != "request" || rl[0].RenewalPeriod != 10 || rl[0].Count != 60 ||
		rl[1].Key != "token" || rl[1].RenewalPeriod != 60 || rl[1].Count != 60000 {
		t.Errorf("rateLimits = %+v", rl)
	}
	if c := std.Properties.CallRateLimit; c == nil || c.Count != 60 || c.RenewalPeriod != 10 {
		t.Errorf("callRateLimit = %+v", c)
	}
	if cur.Properties.RateLimits != nil || cur.Properties.CallRateLimit != nil {
		t.Errorf("a provisioned deployment carries rate limits: %+v", cur.Properties)
	}
	// A provisioned type the old versions cannot name reads back as Manual,
	// and a Manual resize keeps it.
	e.must(http.StatusCreated, "PUT", acct+"/deployments/global?api-version=2024-10-01",
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`)
	g := decodeDeployment(t, e.must(http.StatusOK, "PUT", acct+"/deployments/global?api-version=2022-12-01",
		`{"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"scaleSettings":{"scaleType":"Manual","capacity":20}}}`))
	if g.Properties.ScaleSettings == nil || g.Properties.ScaleSettings.ScaleType != "Manual" || g.Properties.ScaleSettings.Capacity != 20 {
		t.Errorf("GlobalProvisionedManaged in 2022-12-01: %+v", g.Properties.ScaleSettings)
	}
	if u := usage(t, e, "eastus", "OpenAI.GlobalProvisionedManaged"); u != 20 {
		t.Errorf("global usage after a Manual resize = %d, want 20", u)
	}

	// An unknown scale type changes nothing.
	rec := e.do("PUT", acct+"/deployments/bad?api-version=2022-12-01",
		`{"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"scaleSettings":{"scaleType":"Auto","capacity":50}}}`)
	if er := decodeError(t, rec.Body.Bytes()); rec.Code != http.StatusBadRequest || er.Error.Code != "InvalidResourceProperties" ||
		er.Error.Target != "properties.scaleSettings.scaleType" {
		t.Errorf("scaleType Auto: %d %s", rec.Code, rec.Body)
	}
	e.must(http.StatusNoContent, "DELETE", acct+"/deployments/bad?api-version=2022-12-01", "")

	// Before 2021-10-01 deployments are not a resource type.
	rec = e.do("GET", acct+"/deployments?api-version=2017-04-18", "")
	if er := decodeError(t, rec.Body.Bytes()); rec.Code != http.StatusBadRequest || er.Error.Code != "NoRegisteredProviderFound" {
		t.Errorf("deployments in 2017-04-18: %d %s", rec.Code, rec.Body)
	}
	e.must(http.StatusOK, "GET", acct+"?api-version=2017-04-18", "")
}

func usage(t *testing.T, e *env, location, name string) int {
	t.Helper()
	var l struct {
		Value []struct {
			Name         struct{ Value string }
			CurrentValue int
		}
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", "/subscriptions/"+subID+"/providers/Microsoft.CognitiveServices/locations/"+location+"/usages?api-version=2024-10-01", ""), &l)
	for _, u := range l.Value {
		if u.Name.Value == name {
			return u.CurrentValue
		}
	}
	t.Fatalf("no usage %s", name)
	return 0
}

// Accounts - List Usages and List Skus (az cognitiveservices account
// list-usage, list-skus): the account region's quota usages and the S0 sku
// (armcognitiveservices UsageListResult, AccountSKUListResult); /tenants and
// tenantId on subscriptions (Microsoft.Resources TenantIdDescription,
// Subscription.tenantId; az login reads them).
func TestAccountUsagesSkusAndTenants(t *testing.T) {
	const tenant = "6f1c3b2a-8d4e-4f7a-9b05-2e6d1c0a7f38"
	e := newEnvOpts(t, catalog.Default(), func(o *arm.Options) { o.TenantID = tenant })
	acct := "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/acct1"
	e.must(http.StatusCreated, "PUT", acct+"?api-version=2022-12-01", `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`)
	e.must(http.StatusCreated, "PUT", acct+"/deployments/ptu?api-version=2024-10-01",
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`)

	var us struct {
		Value []struct {
			Name         struct{ Value string }
			CurrentValue float64
			Limit        float64
			Unit         string
		}
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", acct+"/usages?api-version=2022-12-01", ""), &us)
	found := false
	for _, u := range us.Value {
		if u.Name.Value == "OpenAI.GlobalProvisionedManaged" {
			found = u.CurrentValue == 15 && u.Limit == 500 && u.Unit == "Count"
		}
	}
	if !found {
		t.Errorf("account usages: %+v", us.Value)
	}
	var skus struct {
		Value []struct {
			ResourceType string
			SKU          struct{ Name string }
		}
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", acct+"/skus?api-version=2022-12-01", ""), &skus)
	if len(skus.Value) != 1 || skus.Value[0].ResourceType != "Microsoft.CognitiveServices/accounts" || skus.Value[0].SKU.Name != "S0" {
		t.Errorf("account skus: %+v", skus.Value)
	}
	e.must(http.StatusNotFound, "GET", acct+"x/usages?api-version=2022-12-01", "")

	var tenants struct {
		Value []struct{ ID, TenantID string }
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", "/tenants?api-version=2022-12-01", ""), &tenants)
	if len(tenants.Value) != 1 || tenants.Value[0].TenantID != tenant || tenants.Value[0].ID != "/tenants/"+tenant {
		t.Errorf("tenants: %+v", tenants.Value)
	}
	var subs struct {
		Value []struct{ SubscriptionID, TenantID string }
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", "/subscriptions?api-version=2022-12-01", ""), &subs)
	if len(subs.Value) == 0 {
		t.Fatal("no subscriptions")
	}
	for _, s := range subs.Value {
		if s.TenantID != tenant {
			t.Errorf("subscription %s tenantId %q", s.SubscriptionID, s.TenantID)
		}
	}
}

// systemData names who created a resource and who changed it last, as
// Azure's does (createdBy, createdByType, lastModifiedBy,
// lastModifiedByType: armcognitiveservices SystemData; the example in
// working-with-models.md). Every caller is a service principal: Application.
func TestSystemDataNamesTheCallers(t *testing.T) {
	e := newEnvWith(t, catalog.Default())
	_, token, err := e.svc.CreatePrincipal(context.Background(), "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.PutRoleAssignment(context.Background(), "5a8f3c2e-1b4d-4e6f-9a0b-7c8d9e0f1a2b", control.RoleAssignmentInput{
		Scope: "/subscriptions/" + subID, RoleDefinitionID: "Cognitive Services Contributor", PrincipalID: "ci"}); err != nil {
		t.Fatal(err)
	}
	acct := "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/acct1"
	if rec := e.do("PUT", acct+"?api-version=2024-10-01", `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`,
		"Authorization", "Bearer "+token); rec.Code != http.StatusCreated {
		t.Fatalf("create as ci: %d %s", rec.Code, rec.Body)
	}
	e.must(http.StatusOK, "PATCH", acct+"?api-version=2024-10-01", `{"tags":{"team":"search"}}`)
	var a struct {
		SystemData struct {
			CreatedBy, CreatedByType, LastModifiedBy, LastModifiedByType string
		} `json:"systemData"`
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", acct+"?api-version=2024-10-01", ""), &a)
	if sd := a.SystemData; sd.CreatedBy != "ci" || sd.CreatedByType != "Application" || sd.LastModifiedBy != "admin" || sd.LastModifiedByType != "Application" {
		t.Errorf("account systemData = %+v", sd)
	}
	if rec := e.do("PUT", acct+"/deployments/dep1?api-version=2024-10-01",
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`,
		"Authorization", "Bearer "+token); rec.Code != http.StatusCreated {
		t.Fatalf("deployment as ci: %d %s", rec.Code, rec.Body)
	}
	e.must(http.StatusOK, "PATCH", acct+"/deployments/dep1?api-version=2024-10-01", `{"sku":{"name":"GlobalProvisionedManaged","capacity":20}}`)
	json.Unmarshal(e.must(http.StatusOK, "GET", acct+"/deployments/dep1?api-version=2024-10-01", ""), &a)
	if sd := a.SystemData; sd.CreatedBy != "ci" || sd.LastModifiedBy != "admin" {
		t.Errorf("deployment systemData = %+v", sd)
	}
}
