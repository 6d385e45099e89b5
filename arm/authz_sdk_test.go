package arm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/ptu-dev/ptu/authz"
)

// TestRoleAssignmentsSDK drives the role assignment and definition routes
// with the official armauthorization client, as az role and Terraform's
// azurerm_role_assignment call them.
func TestRoleAssignmentsSDK(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", q(acctPath("rg1", "acct1", "")), `{"location":"eastus"}`)
	pid, _ := e.principal("app", "")

	srv := httptest.NewTLSServer(e.h)
	t.Cleanup(srv.Close)
	f, err := armauthorization.NewClientFactory(subID, staticToken(adminToken), &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: "https://login.ptu.test/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: srv.URL, Audience: "https://management.ptu.test"},
			},
		},
		Transport: srv.Client(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	sub := "/subscriptions/" + subID

	// Find the role by name, as az role assignment create --role does.
	defs := f.NewRoleDefinitionsClient().NewListPager(sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Cognitive Services OpenAI User'")})
	var roleID string
	for defs.More() {
		page, err := defs.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			roleID = *d.ID
			if *d.Properties.RoleName != "Cognitive Services OpenAI User" || *d.Properties.RoleType != "BuiltInRole" ||
				len(d.Properties.Permissions) != 1 || len(d.Properties.Permissions[0].DataActions) == 0 {
				t.Errorf("definition %+v", d.Properties)
			}
		}
	}
	if roleID != sub+"/providers/Microsoft.Authorization/roleDefinitions/"+authz.CognitiveServicesOpenAIUserID {
		t.Fatalf("role id %q", roleID)
	}

	ras := f.NewRoleAssignmentsClient()
	scope := acctPath("rg1", "acct1", "")
	const name = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f"
	created, err := ras.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr(roleID), PrincipalID: to.Ptr(pid),
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := created.Properties
	if *created.Name != name || *created.ID != scope+"/providers/Microsoft.Authorization/roleAssignments/"+name ||
		*p.Scope != scope || *p.PrincipalID != pid || *p.RoleDefinitionID != roleID || p.CreatedOn == nil ||
		*p.PrincipalType != armauthorization.PrincipalTypeServicePrincipal {
		t.Errorf("created %+v %+v", created.RoleAssignment, p)
	}
	got, err := ras.GetByID(ctx, *created.ID, nil)
	if err != nil || *got.Name != name {
		t.Fatalf("get by id: %v", err)
	}
	// Listed for the resource group (below it) and for the account (at it).
	count := func(pager interface {
		More() bool
	}, next func() ([]*armauthorization.RoleAssignment, error)) int {
		n := 0
		for pager.More() {
			v, err := next()
			if err != nil {
				t.Fatal(err)
			}
			n += len(v)
		}
		return n
	}
	rgPager := ras.NewListForResourceGroupPager("rg1", nil)
	if n := count(rgPager, func() ([]*armauthorization.RoleAssignment, error) {
		page, err := rgPager.NextPage(ctx)
		return page.Value, err
	}); n != 1 {
		t.Errorf("resource group list: %d", n)
	}
	scopePager := ras.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")})
	if n := count(scopePager, func() ([]*armauthorization.RoleAssignment, error) {
		page, err := scopePager.NextPage(ctx)
		return page.Value, err
	}); n != 1 {
		t.Errorf("account list: %d", n)
	}
	// A second name for the same grant is refused as Azure refuses it.
	_, err = ras.Create(ctx, scope, "6f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr(roleID), PrincipalID: to.Ptr(pid)},
	}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusConflict || re.ErrorCode != "RoleAssignmentExists" {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := ras.Delete(ctx, scope, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ras.Get(ctx, scope, name, nil); !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		t.Errorf("after delete: %v", err)
	}
}
