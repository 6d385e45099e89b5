package arm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cognitiveservices/armcognitiveservices"

	"github.com/ptu-dev/ptu/catalog"
)

// staticToken is a credential that always presents the same bearer token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// sdkClients serves e over TLS (the SDK sends bearer tokens only over
// HTTPS) and returns the official SDK's client factory pointed at it, with
// every other option at its default.
func sdkClients(t *testing.T, e *env, token string) *armcognitiveservices.ClientFactory {
	t.Helper()
	srv := httptest.NewTLSServer(e.h)
	t.Cleanup(srv.Close)
	opts := &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: "https://login.ptu.test/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: srv.URL, Audience: "https://management.ptu.test"},
			},
		},
		Transport: srv.Client(),
	}}
	f, err := armcognitiveservices.NewClientFactory(subID, staticToken(token), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func usageOf(t *testing.T, f *armcognitiveservices.ClientFactory, location, name string) float64 {
	t.Helper()
	pager := f.NewUsagesClient().NewListPager(location, nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Value {
			if *u.Name.Value == name {
				return *u.CurrentValue
			}
		}
	}
	t.Fatalf("usage %s not listed in %s", name, location)
	return 0
}

func TestSDKEndToEnd(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, catalog.Default())
	f := sdkClients(t, e, adminToken)
	accounts := f.NewAccountsClient()
	deployments := f.NewDeploymentsClient()
	const gptu = "OpenAI.GlobalProvisionedManaged"

	// Account: the create poller is done with the first response.
	poller, err := accounts.BeginCreate(ctx, "rg1", "acct1", armcognitiveservices.Account{
		Location:   to.Ptr("eastus"),
		Kind:       to.Ptr("OpenAI"),
		SKU:        &armcognitiveservices.SKU{Name: to.Ptr("S0")},
		Tags:       map[string]*string{"team": to.Ptr("search")},
		Properties: &armcognitiveservices.AccountProperties{CustomSubDomainName: to.Ptr("acct1")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !poller.Done() {
		t.Error("account create poller is not done after the first response")
	}
	created, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *created.Properties.Endpoint, publicURL+"/accounts/acct1/"; got != want {
		t.Errorf("endpoint %q, want %q", got, want)
	}
	if *created.Properties.ProvisioningState != armcognitiveservices.ProvisioningStateSucceeded {
		t.Errorf("provisioningState %s", *created.Properties.ProvisioningState)
	}
	if *created.Properties.Endpoints["OpenAI Language Model Instance API"] != *created.Properties.Endpoint {
		t.Errorf("endpoints = %v", created.Properties.Endpoints)
	}
	if created.SystemData == nil || !created.SystemData.CreatedAt.Equal(fixedNow) {
		t.Errorf("systemData = %+v", created.SystemData)
	}

	keys, err := accounts.ListKeys(ctx, "rg1", "acct1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *keys.Key1 == "" || *keys.Key2 == "" || *keys.Key1 == *keys.Key2 {
		t.Errorf("keys %q %q", *keys.Key1, *keys.Key2)
	}
	regen, err := accounts.RegenerateKey(ctx, "rg1", "acct1", armcognitiveservices.RegenerateKeyParameters{KeyName: to.Ptr(armcognitiveservices.KeyNameKey1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *regen.Key1 == *keys.Key1 || *regen.Key2 != *keys.Key2 {
		t.Errorf("regenerating Key1: before %q %q, after %q %q", *keys.Key1, *keys.Key2, *regen.Key1, *regen.Key2)
	}

	upd, err := accounts.BeginUpdate(ctx, "rg1", "acct1", armcognitiveservices.Account{Tags: map[string]*string{"team": to.Ptr("ads")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := upd.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *updated.Tags["team"] != "ads" || *updated.Location != "eastus" {
		t.Errorf("after update: tags %v location %s", updated.Tags, *updated.Location)
	}

	var listed int
	for pager := accounts.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page.Value)
	}
	for pager := accounts.NewListByResourceGroupPager("rg1", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page.Value)
	}
	if listed != 2 {
		t.Errorf("account listed %d times, want once per list", listed)
	}

	if u := usageOf(t, f, "eastus", gptu); u != 0 {
		t.Fatalf("usage before deploying: %v", u)
	}

	// Deployment of 15 PTUs, then scaled to 30.
	deploy := func(capacity int32) armcognitiveservices.DeploymentsClientCreateOrUpdateResponse {
		t.Helper()
		p, err := deployments.BeginCreateOrUpdate(ctx, "rg1", "acct1", "gpt-4o-ptu", armcognitiveservices.Deployment{
			SKU: &armcognitiveservices.SKU{Name: to.Ptr("GlobalProvisionedManaged"), Capacity: to.Ptr(capacity)},
			Properties: &armcognitiveservices.DeploymentProperties{
				Model: &armcognitiveservices.DeploymentModel{Format: to.Ptr("OpenAI"), Name: to.Ptr("gpt-4o"), Version: to.Ptr("2024-08-06")},
			},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Done() {
			t.Error("deployment poller is not done after the first response")
		}
		res, err := p.PollUntilDone(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	d := deploy(15)
	if *d.SKU.Capacity != 15 || *d.Properties.CurrentCapacity != 15 || *d.Properties.ProvisioningState != armcognitiveservices.DeploymentProvisioningStateSucceeded {
		t.Errorf("created deployment: sku %+v properties %+v", *d.SKU, *d.Properties)
	}
	if u := usageOf(t, f, "eastus", gptu); u != 15 {
		t.Errorf("usage after deploying 15: %v", u)
	}
	d = deploy(30)
	if *d.SKU.Capacity != 30 {
		t.Errorf("scaled deployment capacity %d", *d.SKU.Capacity)
	}
	if u := usageOf(t, f, "eastus", gptu); u != 30 {
		t.Errorf("usage after scaling to 30: %v", u)
	}

	got, err := deployments.Get(ctx, "rg1", "acct1", "gpt-4o-ptu", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Name != "gpt-4o-ptu" || *got.SKU.Name != "GlobalProvisionedManaged" || *got.SKU.Capacity != 30 ||
		*got.Properties.Model.Name != "gpt-4o" || *got.Properties.Model.Version != "2024-08-06" ||
		*got.Properties.Capabilities["chatCompletion"] != "true" || *got.Type != "Microsoft.CognitiveServices/accounts/deployments" {
		t.Errorf("get deployment: %+v %+v", got.Deployment, *got.Properties)
	}

	// The SDK's PATCH (BeginUpdate) resizes too.
	pp, err := deployments.BeginUpdate(ctx, "rg1", "acct1", "gpt-4o-ptu", armcognitiveservices.PatchResourceTagsAndSKU{
		SKU: &armcognitiveservices.SKU{Name: to.Ptr("GlobalProvisionedManaged"), Capacity: to.Ptr[int32](35)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := pp.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *patched.SKU.Capacity != 35 || *patched.Properties.Model.Version != "2024-08-06" {
		t.Errorf("patched deployment: %+v", *patched.SKU)
	}
	if u := usageOf(t, f, "eastus", gptu); u != 35 {
		t.Errorf("usage after patching to 35: %v", u)
	}

	var names []string
	for pager := deployments.NewListPager("rg1", "acct1", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			names = append(names, *d.Name)
		}
	}
	if len(names) != 1 || names[0] != "gpt-4o-ptu" {
		t.Errorf("deployments listed: %v", names)
	}

	var skuNames []string
	for pager := deployments.NewListSKUsPager("rg1", "acct1", "gpt-4o-ptu", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			skuNames = append(skuNames, *s.SKU.Name)
			if *s.SKU.Name == "GlobalProvisionedManaged" && (*s.Capacity.Minimum != 15 || *s.Capacity.Step != 5) {
				t.Errorf("GlobalProvisionedManaged capacity %+v", *s.Capacity)
			}
		}
	}
	if len(skuNames) == 0 {
		t.Error("no deployment skus")
	}

	// Models, by location and by account.
	var found bool
	for pager := f.NewModelsClient().NewListPager("eastus", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Value {
			if *m.Kind != "OpenAI" || *m.SKUName != "S0" {
				t.Errorf("model kind %s sku %s", *m.Kind, *m.SKUName)
			}
			if *m.Model.Name != "gpt-4o" || *m.Model.Version != "2024-08-06" {
				continue
			}
			for _, s := range m.Model.SKUs {
				if *s.Name == "GlobalProvisionedManaged" {
					found = *s.UsageName == gptu && *s.Capacity.Minimum == 15 && *s.Capacity.Step == 5
				}
			}
			if *m.Model.LifecycleStatus != armcognitiveservices.ModelLifecycleStatusGenerallyAvailable {
				t.Errorf("lifecycle %s", *m.Model.LifecycleStatus)
			}
		}
	}
	if !found {
		t.Error("models list lacks gpt-4o 2024-08-06 GlobalProvisionedManaged with its size rule")
	}
	var accountModels int
	for pager := accounts.NewListModelsPager("rg1", "acct1", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		accountModels += len(page.Value)
	}
	if accountModels == 0 {
		t.Error("account models list is empty")
	}

	// Model capacities: westus has all its quota (500) and room in the pools.
	caps := map[string]float32{}
	for pager := f.NewModelCapacitiesClient().NewListPager("OpenAI", "gpt-4o", "2024-08-06", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Value {
			caps[*c.Location+"/"+*c.Properties.SKUName] = *c.Properties.AvailableCapacity
		}
	}
	if caps["westus/GlobalProvisionedManaged"] != 500 || caps["eastus/GlobalProvisionedManaged"] != 465 {
		t.Errorf("model capacities: %v", caps)
	}
	for pager := f.NewLocationBasedModelCapacitiesClient().NewListPager("westus", "OpenAI", "gpt-4o", "2024-08-06", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Value) == 0 {
			t.Error("no location model capacities")
		}
		for _, c := range page.Value {
			if *c.Location != "westus" || *c.Properties.Model.Name != "gpt-4o" {
				t.Errorf("location capacity %s %s", *c.Location, *c.Properties.Model.Name)
			}
		}
	}

	// Delete: usage falls to 0; the account goes with its deployments.
	dp, err := deployments.BeginDelete(ctx, "rg1", "acct1", "gpt-4o-ptu", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if u := usageOf(t, f, "eastus", gptu); u != 0 {
		t.Errorf("usage after delete: %v", u)
	}
	ap, err := accounts.BeginDelete(ctx, "rg1", "acct1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ap.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = accounts.Get(ctx, "rg1", "acct1", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || re.ErrorCode != "ResourceNotFound" {
		t.Errorf("get deleted account: %v", err)
	}
}

// TestSDKCapacityShortage: a deployment bigger than the room left in its
// region is refused with 409 InsufficientResourcesAvailable, which the SDK
// surfaces as an *azcore.ResponseError whose body carries what is
// deployable now and where else it would fit.
func TestSDKCapacityShortage(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, catalog.Default())
	f := sdkClients(t, e, adminToken)
	accounts := f.NewAccountsClient()
	deployments := f.NewDeploymentsClient()
	for _, a := range []struct{ rg, name, loc string }{{"rg1", "acct-east", "eastus"}, {"rg2", "acct-west", "westus"}} {
		p, err := accounts.BeginCreate(ctx, a.rg, a.name, armcognitiveservices.Account{
			Location: to.Ptr(a.loc), Kind: to.Ptr("OpenAI"), SKU: &armcognitiveservices.SKU{Name: to.Ptr("S0")},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	model := &armcognitiveservices.DeploymentModel{Format: to.Ptr("OpenAI"), Name: to.Ptr("gpt-4o"), Version: to.Ptr("2024-08-06")}
	// The operator lowers eastus's pool to 100 PTUs (capacity is dynamic).
	if _, err := e.svc.SetPoolRating(ctx, "eastus/gpt-4o/2024-08-06", 100); err != nil {
		t.Fatal(err)
	}

	_, err := deployments.BeginCreateOrUpdate(ctx, "rg1", "acct-east", "regional", armcognitiveservices.Deployment{
		SKU:        &armcognitiveservices.SKU{Name: to.Ptr("ProvisionedManaged"), Capacity: to.Ptr[int32](150)},
		Properties: &armcognitiveservices.DeploymentProperties{Model: model},
	}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *azcore.ResponseError", err)
	}
	if re.StatusCode != http.StatusConflict || re.ErrorCode != "InsufficientResourcesAvailable" {
		t.Fatalf("status %d code %q", re.StatusCode, re.ErrorCode)
	}
	body, err := io.ReadAll(re.RawResponse.Body)
	if err != nil {
		t.Fatal(err)
	}
	var er armcognitiveservices.ErrorResponse
	if err := json.Unmarshal(body, &er); err != nil {
		t.Fatalf("SDK cannot decode the error: %v\n%s", err, body)
	}
	if len(er.Error.AdditionalInfo) != 1 || *er.Error.AdditionalInfo[0].Type != "CapacityShortage" {
		t.Fatalf("additionalInfo: %s", body)
	}
	raw, _ := json.Marshal(er.Error.AdditionalInfo[0].Info)
	var info struct {
		Requested     int `json:"requested"`
		DeployableNow int `json:"deployableNow"`
		QuotaFree     int `json:"quotaFree"`
		Alternatives  []struct {
			Location    string   `json:"location"`
			MaxCapacity int      `json:"maxCapacity"`
			Accounts    []string `json:"accounts"`
		} `json:"alternatives"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	if info.Requested != 150 || info.DeployableNow != 100 || info.QuotaFree != 200 {
		t.Errorf("shortage %+v", info)
	}
	alts := map[string]int{}
	for _, a := range info.Alternatives {
		alts[a.Location] = a.MaxCapacity
		if a.Location == "westus" && (len(a.Accounts) != 1 || a.Accounts[0] != acctPath("rg2", "acct-west", "")) {
			t.Errorf("westus accounts %v", a.Accounts)
		}
	}
	if alts["westus"] != 200 || alts["swedencentral"] != 200 || len(alts) != 2 {
		t.Errorf("alternatives %v", alts)
	}

	// Nothing was deployed or reserved.
	if u := usageOf(t, f, "eastus", "OpenAI.ProvisionedManaged"); u != 0 {
		t.Errorf("ProvisionedManaged usage after refusal: %v", u)
	}
	_, err = deployments.Get(ctx, "rg1", "acct-east", "regional", nil)
	if !errors.As(err, &re) || re.ErrorCode != "DeploymentNotFound" {
		t.Errorf("refused deployment exists: %v", err)
	}
}

// TestSDKWrongToken: the SDK reports a wrong bearer token as a 401 response error.
func TestSDKWrongToken(t *testing.T) {
	e := newEnv(t)
	f := sdkClients(t, e, "not-the-token")
	_, err := f.NewAccountsClient().Get(context.Background(), "rg1", "acct1", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "InvalidAuthenticationToken" {
		t.Fatalf("err = %v", err)
	}
}
