package arm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cognitiveservices/armcognitiveservices"

	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/catalog"
)

const provisioning = 30 * time.Second

func lroEnv(t *testing.T) *env {
	return newEnvOpts(t, catalog.Default(), func(o *arm.Options) { o.ProvisioningDelay = provisioning })
}

// The official Go SDK's pollers follow a creation through
// Azure-AsyncOperation until the provisioning delay has passed (azcore
// runtime/poller.go; the ARM async operation protocol). The clock is the
// test's, so the pollers see the operation in progress, then done.
func TestSDKPollsCreations(t *testing.T) {
	ctx := context.Background()
	e := lroEnv(t)
	f := sdkClients(t, e, adminToken)

	poller, err := f.NewAccountsClient().BeginCreate(ctx, "rg1", "acct1", armcognitiveservices.Account{
		Location: to.Ptr("eastus"), Kind: to.Ptr("OpenAI"), SKU: &armcognitiveservices.SKU{Name: to.Ptr("S0")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if poller.Done() {
		t.Fatal("account create poller done with the first response; want a long-running operation")
	}
	// Still provisioning: one poll leaves it in progress.
	if _, err := poller.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if poller.Done() {
		t.Fatal("account create poller done before the provisioning delay passed")
	}
	got, err := f.NewAccountsClient().Get(ctx, "rg1", "acct1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := *got.Properties.ProvisioningState; s != armcognitiveservices.ProvisioningStateCreating {
		t.Errorf("provisioningState while provisioning = %s, want Creating", s)
	}

	// PollUntilDone would wait what retry-after-ms says in real time; the
	// clock is the test's, so poll by hand once it has moved.
	e.clock.Set(fixedNow.Add(provisioning))
	if _, err := poller.Poll(ctx); err != nil || !poller.Done() {
		t.Fatalf("account create poller after the delay: done %v, %v", poller.Done(), err)
	}
	acct, err := poller.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := *acct.Properties.ProvisioningState; s != armcognitiveservices.ProvisioningStateSucceeded {
		t.Errorf("provisioningState after the delay = %s, want Succeeded", s)
	}

	dp, err := f.NewDeploymentsClient().BeginCreateOrUpdate(ctx, "rg1", "acct1", "gpt-4o", armcognitiveservices.Deployment{
		SKU: &armcognitiveservices.SKU{Name: to.Ptr("GlobalProvisionedManaged"), Capacity: to.Ptr[int32](15)},
		Properties: &armcognitiveservices.DeploymentProperties{Model: &armcognitiveservices.DeploymentModel{
			Format: to.Ptr("OpenAI"), Name: to.Ptr("gpt-4o"), Version: to.Ptr("2024-08-06")}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dp.Done() {
		t.Fatal("deployment create poller done with the first response")
	}
	// Quota is taken when the creation is accepted, not when it is done.
	if u := usageOf(t, f, "eastus", "OpenAI.GlobalProvisionedManaged"); u != 15 {
		t.Errorf("usage while provisioning = %v, want 15", u)
	}
	e.clock.Set(fixedNow.Add(2 * provisioning))
	if _, err := dp.Poll(ctx); err != nil || !dp.Done() {
		t.Fatalf("deployment create poller after the delay: done %v, %v", dp.Done(), err)
	}
	d, err := dp.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := *d.Properties.ProvisioningState; s != armcognitiveservices.DeploymentProvisioningStateSucceeded || *d.SKU.Capacity != 15 {
		t.Errorf("deployment after the delay: state %s capacity %d", s, *d.SKU.Capacity)
	}
}

// The raw protocol: 201 with a non-terminal state and Azure-AsyncOperation
// (PutDeployment.json's 201 is Accepted), the operation InProgress with
// retry-after-ms, then Succeeded with endTime; an update is not an
// operation; the operation of a resource deleted meanwhile fails.
func TestCreationOperationStatus(t *testing.T) {
	e := lroEnv(t)
	acct := "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/acct1"
	rec := e.do("PUT", acct+"?api-version=2022-12-01", `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var a struct {
		Properties struct{ ProvisioningState string } `json:"properties"`
	}
	json.Unmarshal(rec.Body.Bytes(), &a)
	if a.Properties.ProvisioningState != "Creating" {
		t.Errorf("201 provisioningState = %q, want Creating", a.Properties.ProvisioningState)
	}
	op := rec.Header().Get("Azure-AsyncOperation")
	u, err := url.Parse(op)
	if err != nil || !u.IsAbs() || !strings.Contains(u.Path, "/providers/Microsoft.CognitiveServices/locations/eastus/operationStatuses/") ||
		u.Query().Get("api-version") != "2022-12-01" {
		t.Fatalf("Azure-AsyncOperation = %q", op)
	}
	if ms := rec.Header().Get("retry-after-ms"); ms != "30000" || rec.Header().Get("Retry-After") != "30" {
		t.Errorf("201 retry-after-ms %q Retry-After %q, want 30000 and 30", ms, rec.Header().Get("Retry-After"))
	}
	status := func() (string, http.Header) {
		t.Helper()
		rec := e.do("GET", u.RequestURI(), "")
		if rec.Code != http.StatusOK {
			t.Fatalf("operation status: %d %s", rec.Code, rec.Body)
		}
		var s struct {
			Status, StartTime, EndTime string
			Error                      *struct{ Code string }
		}
		json.Unmarshal(rec.Body.Bytes(), &s)
		if s.StartTime == "" && s.Status != "Failed" {
			t.Errorf("operation has no startTime: %s", rec.Body)
		}
		if s.Status == "Failed" && (s.Error == nil || s.Error.Code == "") {
			t.Errorf("failed operation has no error: %s", rec.Body)
		}
		return s.Status, rec.Header()
	}
	e.clock.Set(fixedNow.Add(provisioning - 250*time.Millisecond))
	if s, h := status(); s != "InProgress" || h.Get("retry-after-ms") != "250" || h.Get("Retry-After") != "" {
		t.Errorf("status %q retry-after-ms %q Retry-After %q, want InProgress, 250 and none", s, h.Get("retry-after-ms"), h.Get("Retry-After"))
	}
	e.clock.Set(fixedNow.Add(provisioning))
	if s, _ := status(); s != "Succeeded" {
		t.Errorf("status after the delay = %q, want Succeeded", s)
	}
	// Replacing an account is not a creation.
	rec = e.do("PUT", acct+"?api-version=2022-12-01", `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`)
	if rec.Code != http.StatusOK || rec.Header().Get("Azure-AsyncOperation") != "" {
		t.Errorf("replace: %d, Azure-AsyncOperation %q", rec.Code, rec.Header().Get("Azure-AsyncOperation"))
	}

	// A deployment created and deleted before it was done: its operation failed.
	rec = e.do("PUT", acct+"/deployments/d1?api-version=2022-12-01",
		`{"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"scaleSettings":{"scaleType":"Manual","capacity":50}}}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"provisioningState":"Accepted"`) {
		t.Fatalf("deployment create: %d %s", rec.Code, rec.Body)
	}
	u, _ = url.Parse(rec.Header().Get("Azure-AsyncOperation"))
	if s, _ := status(); s != "InProgress" {
		t.Errorf("deployment operation = %q, want InProgress", s)
	}
	e.must(http.StatusOK, "DELETE", acct+"/deployments/d1?api-version=2022-12-01", "")
	if s, _ := status(); s != "Failed" {
		t.Errorf("operation of a deleted deployment = %q, want Failed", s)
	}
	// An id that names nothing is not found.
	if rec := e.do("GET", "/subscriptions/"+subID+"/providers/Microsoft.CognitiveServices/locations/eastus/operationStatuses/bm9wZQ?api-version=2024-10-01", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown operation: %d %s", rec.Code, rec.Body)
	}
}
