package arm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/ptu-dev/ptu/authz"
)

const (
	authzVersion = "2022-04-01"
	depBody      = `{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`
)

func aq(path string) string {
	if strings.Contains(path, "?") {
		return path + "&api-version=" + authzVersion
	}
	return path + "?api-version=" + authzVersion
}

// as sends a request with a principal's token.
func (e *env) as(token, method, path, body string) (int, []byte) {
	e.t.Helper()
	rec := e.do(method, path, body, "Authorization", "Bearer "+token)
	return rec.Code, rec.Body.Bytes()
}

// principal creates a principal (as the admin) and returns its id and token.
func (e *env) principal(name, expiresIn string) (string, string) {
	e.t.Helper()
	body := e.must(http.StatusCreated, "POST", aq("/providers/Microsoft.Authorization/principals"),
		fmt.Sprintf(`{"name":%q,"expiresIn":%q}`, name, expiresIn))
	var p struct {
		Name       string `json:"name"`
		Properties struct {
			PrincipalID string `json:"principalId"`
			Token       string `json:"token"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Properties.Token == "" || p.Properties.PrincipalID == "" {
		e.t.Fatalf("principal: %v\n%s", err, body)
	}
	return p.Properties.PrincipalID, p.Properties.Token
}

var assignmentSeq int

// assign gives principal role at scope (as the admin) and returns the assignment's id.
func (e *env) assign(principal, role, scope string) string {
	e.t.Helper()
	r, ok := authz.Lookup(role)
	if !ok {
		e.t.Fatalf("no role %s", role)
	}
	assignmentSeq++
	id := fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", assignmentSeq)
	e.must(http.StatusCreated, "PUT", aq(strings.TrimRight(scope, "/")+"/providers/Microsoft.Authorization/roleAssignments/"+id),
		fmt.Sprintf(`{"properties":{"roleDefinitionId":"/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s","principalId":%q}}`, subID, r.ID, principal))
	return id
}

// wantDenied checks a 403 AuthorizationFailed naming the principal, action and scope.
func wantDenied(t *testing.T, status int, body []byte, principal, action, scope string) {
	t.Helper()
	if status != http.StatusForbidden {
		t.Fatalf("status %d, want 403\n%s", status, body)
	}
	e := decodeError(t, body)
	want := "The client '" + principal + "' with object id '" + principal + "' does not have authorization to perform action '" +
		action + "' over scope '" + scope + "' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if e.Error.Code != "AuthorizationFailed" || e.Error.Message != want {
		t.Fatalf("got %s: %s\nwant AuthorizationFailed: %s", e.Error.Code, e.Error.Message, want)
	}
}

func rgPath(rg string) string { return subPath("/resourceGroups/" + rg) }

func TestReaderLooksButDoesNotDeploy(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", q(acctPath("rg1", "acct1", "")), `{"location":"eastus"}`)
	e.must(http.StatusCreated, "PUT", q(acctPath("rg1", "acct1", "/deployments/dep1")), depBody)
	id, token := e.principal("reader", "90d")
	e.assign(id, "Reader", rgPath("rg1"))

	for _, path := range []string{acctPath("rg1", "acct1", ""), acctPath("rg1", "acct1", "/deployments"), acctPath("rg1", "acct1", "/deployments/dep1"),
		subPath("/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts")} {
		if st, body := e.as(token, "GET", q(path), ""); st != http.StatusOK {
			t.Errorf("reader GET %s: %d\n%s", path, st, body)
		}
	}
	dep2 := acctPath("rg1", "acct1", "/deployments/dep2")
	st, body := e.as(token, "PUT", q(dep2), depBody)
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/deployments/write", dep2)
	st, body = e.as(token, "DELETE", q(acctPath("rg1", "acct1", "/deployments/dep1")), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/deployments/delete", acctPath("rg1", "acct1", "/deployments/dep1"))
	st, body = e.as(token, "POST", q(acctPath("rg1", "acct1", "/listKeys")), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/listKeys/action", acctPath("rg1", "acct1", "/listKeys"))
	// Listing the subscription's accounts needs read at the subscription.
	st, body = e.as(token, "GET", q(subPath("/providers/Microsoft.CognitiveServices/accounts")), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/read", subPath("/providers/Microsoft.CognitiveServices/accounts"))
	// Nothing changed.
	if st, _ := e.as(token, "GET", q(dep2), ""); st != http.StatusNotFound {
		t.Errorf("denied PUT created the deployment: GET %d", st)
	}
	// The operators' routes are out of reach.
	st, body = e.as(token, "GET", q("/providers/Microsoft.CognitiveServices/capacityPools"), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/capacityPools/read", "/providers/Microsoft.CognitiveServices/capacityPools")
}

func TestOpenAIUserCallsButDoesNotManage(t *testing.T) {
	e := newEnv(t)
	acct := acctPath("rg1", "acct1", "")
	e.must(http.StatusCreated, "PUT", q(acct), `{"location":"eastus"}`)
	id, token := e.principal("app", "")
	e.assign(id, "Cognitive Services OpenAI User", acct)
	if st, body := e.as(token, "GET", q(acct+"/deployments"), ""); st != http.StatusOK {
		t.Errorf("list deployments: %d %s", st, body)
	}
	st, body := e.as(token, "POST", q(acct+"/listKeys"), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/listKeys/action", acct+"/listKeys")
	st, body = e.as(token, "PUT", q(acct+"/deployments/dd"), depBody)
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/deployments/write", acct+"/deployments/dd")
	st, body = e.as(token, "PATCH", q(acct), `{"tags":{"a":"b"}}`)
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/write", acct)
}

func TestContributorScopedToOneAccount(t *testing.T) {
	e := newEnv(t)
	a, b := acctPath("rg1", "acct-a", ""), acctPath("rg1", "acct-b", "")
	e.must(http.StatusCreated, "PUT", q(a), `{"location":"eastus"}`)
	e.must(http.StatusCreated, "PUT", q(b), `{"location":"eastus"}`)
	id, token := e.principal("team-a", "")
	e.assign(id, "Cognitive Services Contributor", a)
	if st, body := e.as(token, "PUT", q(a+"/deployments/dd"), depBody); st != http.StatusCreated {
		t.Fatalf("deploy on its account: %d %s", st, body)
	}
	if st, body := e.as(token, "POST", q(a+"/listKeys"), ""); st != http.StatusOK {
		t.Fatalf("keys of its account: %d %s", st, body)
	}
	st, body := e.as(token, "PUT", q(b+"/deployments/dd"), depBody)
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/deployments/write", b+"/deployments/dd")
	st, body = e.as(token, "GET", q(b), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/read", b)
	// An account whose name starts with the other's is another account.
	ab := acctPath("rg1", "acct-ab", "")
	st, body = e.as(token, "PUT", q(ab), `{"location":"eastus"}`)
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/write", ab)
	// Not an owner: it cannot grant itself more.
	raPath := a + "/providers/Microsoft.Authorization/roleAssignments/11111111-2222-4333-8444-555555555555"
	st, body = e.as(token, "PUT", aq(raPath), fmt.Sprintf(`{"properties":{"roleDefinitionId":%q,"principalId":%q}}`, authz.OwnerID, id))
	wantDenied(t, st, body, id, "Microsoft.Authorization/roleAssignments/write", raPath)
}

func TestTokensAuthenticate(t *testing.T) {
	e := newEnv(t)
	id, token := e.principal("short", "1h")
	e.assign(id, "Reader", subPath(""))
	if st, body := e.as(token, "GET", q(subPath("/providers/Microsoft.CognitiveServices/accounts")), ""); st != http.StatusOK {
		t.Fatalf("fresh token: %d %s", st, body)
	}
	for _, bad := range []string{token + "x", "ptu_" + strings.Repeat("A", 43), "not-a-token"} {
		rec := e.do("GET", q(subPath("")), "", "Authorization", "Bearer "+bad)
		if rec.Code != http.StatusUnauthorized || decodeError(t, rec.Body.Bytes()).Error.Code != "InvalidAuthenticationToken" {
			t.Errorf("token %q: %d %s", bad, rec.Code, rec.Body)
		}
	}
	e.clock.Set(fixedNow.Add(time.Hour))
	rec := e.do("GET", q(subPath("")), "", "Authorization", "Bearer "+token)
	if rec.Code != http.StatusUnauthorized || decodeError(t, rec.Body.Bytes()).Error.Code != "ExpiredAuthenticationToken" {
		t.Fatalf("expired token: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// Deleting a principal ends its token at once.
	e.clock.Set(fixedNow)
	id2, token2 := e.principal("gone", "")
	e.assign(id2, "Reader", "/")
	if st, _ := e.as(token2, "GET", q(subPath("")), ""); st != http.StatusOK {
		t.Fatalf("before delete: %d", st)
	}
	e.must(http.StatusOK, "DELETE", aq("/providers/Microsoft.Authorization/principals/gone"), "")
	if st, _ := e.as(token2, "GET", q(subPath("")), ""); st != http.StatusUnauthorized {
		t.Fatalf("deleted principal's token: %d, want 401", st)
	}
}

func TestSubscriptionsListShowsOnlyReachable(t *testing.T) {
	e := newEnv(t)
	id, token := e.principal("p", "")
	e.assign(id, "Cognitive Services Usages Reader", subPath(""))
	st, body := e.as(token, "GET", q("/subscriptions"), "")
	if st != http.StatusOK || !strings.Contains(string(body), subID) || strings.Contains(string(body), otherSubID) {
		t.Fatalf("subscriptions: %d %s", st, body)
	}
	if st, _ := e.as(token, "GET", q("/subscriptions/"+otherSubID), ""); st != http.StatusForbidden {
		t.Errorf("other subscription: %d, want 403", st)
	}
	if st, body := e.as(token, "GET", q(subPath("/providers/Microsoft.CognitiveServices/locations/eastus/usages")), ""); st != http.StatusOK {
		t.Errorf("usages: %d %s", st, body)
	}
	st, body = e.as(token, "GET", q(subPath("/providers/Microsoft.CognitiveServices/accounts")), "")
	wantDenied(t, st, body, id, "Microsoft.CognitiveServices/accounts/read", subPath("/providers/Microsoft.CognitiveServices/accounts"))
}

func TestRoleAssignmentsAPI(t *testing.T) {
	e := newEnv(t)
	id, token := e.principal("rg-owner", "")
	other, _ := e.principal("other", "")
	raID := e.assign(id, "Owner", rgPath("rg1"))
	raPath := rgPath("rg1") + "/providers/Microsoft.Authorization/roleAssignments/" + raID

	var got struct {
		ID, Type, Name string
		Properties     struct {
			RoleDefinitionID, PrincipalID, PrincipalType, Scope, CreatedBy string
		}
	}
	if err := json.Unmarshal(e.must(http.StatusOK, "GET", aq(raPath), ""), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != raPath || got.Name != raID || got.Type != "Microsoft.Authorization/roleAssignments" ||
		got.Properties.RoleDefinitionID != "/subscriptions/"+subID+"/providers/Microsoft.Authorization/roleDefinitions/"+authz.OwnerID ||
		got.Properties.PrincipalID != id || got.Properties.Scope != rgPath("rg1") || got.Properties.PrincipalType != "ServicePrincipal" {
		t.Errorf("assignment %+v", got)
	}
	// The same PUT again is answered with the assignment; the same grant
	// under another name is a conflict.
	body := fmt.Sprintf(`{"properties":{"roleDefinitionId":"%s","principalId":"%s"}}`, authz.OwnerID, id)
	e.must(http.StatusOK, "PUT", aq(raPath), body)
	rec := e.do("PUT", aq(rgPath("rg1")+"/providers/Microsoft.Authorization/roleAssignments/99999999-0000-4000-8000-000000000000"), body)
	if rec.Code != http.StatusConflict || decodeError(t, rec.Body.Bytes()).Error.Code != "RoleAssignmentExists" {
		t.Errorf("duplicate grant: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		name, path, body, code string
		status                 int
	}{
		{"name not a GUID", "/roleAssignments/abc", body, "InvalidRoleAssignmentId", 400},
		{"unknown role", "/roleAssignments/99999999-0000-4000-8000-000000000001",
			fmt.Sprintf(`{"properties":{"roleDefinitionId":"00000000-1111-2222-3333-444444444444","principalId":"%s"}}`, id), "RoleDefinitionDoesNotExist", 404},
		{"unknown principal", "/roleAssignments/99999999-0000-4000-8000-000000000002",
			fmt.Sprintf(`{"properties":{"roleDefinitionId":"%s","principalId":"nobody"}}`, authz.ReaderID), "PrincipalNotFound", 400},
	} {
		rec := e.do("PUT", aq(rgPath("rg1")+"/providers/Microsoft.Authorization"+c.path), c.body)
		if rec.Code != c.status || decodeError(t, rec.Body.Bytes()).Error.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, rec.Code, rec.Body, c.status, c.code)
		}
	}

	// An owner of the resource group grants roles in it, not above it.
	inRG := rgPath("rg1") + "/providers/Microsoft.Authorization/roleAssignments/77777777-0000-4000-8000-000000000000"
	if st, b := e.as(token, "PUT", aq(inRG), fmt.Sprintf(`{"properties":{"roleDefinitionId":%q,"principalId":%q}}`, authz.ReaderID, other)); st != http.StatusCreated {
		t.Fatalf("owner grants in its group: %d %s", st, b)
	}
	atSub := subPath("/providers/Microsoft.Authorization/roleAssignments/77777777-0000-4000-8000-000000000001")
	st, b := e.as(token, "PUT", aq(atSub), fmt.Sprintf(`{"properties":{"roleDefinitionId":%q,"principalId":%q}}`, authz.ReaderID, other))
	wantDenied(t, st, b, id, "Microsoft.Authorization/roleAssignments/write", atSub)

	// Lists: at the subscription everything below; atScope() what applies there.
	var l struct{ Value []roleAssignmentView }
	json.Unmarshal(e.must(http.StatusOK, "GET", aq(subPath("/providers/Microsoft.Authorization/roleAssignments")), ""), &l)
	if len(l.Value) != 2 {
		t.Errorf("subscription list: %+v", l.Value)
	}
	l.Value = nil
	json.Unmarshal(e.must(http.StatusOK, "GET", aq(subPath("/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()")), ""), &l)
	if len(l.Value) != 0 {
		t.Errorf("atScope() at the subscription: %+v", l.Value)
	}
	l.Value = nil
	json.Unmarshal(e.must(http.StatusOK, "GET", aq(acctPath("rg1", "x", "/providers/Microsoft.Authorization/roleAssignments?$filter=principalId+eq+'"+other+"'")), ""), &l)
	if len(l.Value) != 1 || l.Value[0].Properties.PrincipalID != other {
		t.Errorf("principal filter below the group: %+v", l.Value)
	}

	// Role definitions.
	var defs struct {
		Value []struct {
			ID, Name   string
			Properties struct{ RoleName string }
		}
	}
	json.Unmarshal(e.must(http.StatusOK, "GET", aq(subPath("/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName+eq+'Reader'")), ""), &defs)
	if len(defs.Value) != 1 || defs.Value[0].Name != authz.ReaderID ||
		defs.Value[0].ID != "/subscriptions/"+subID+"/providers/Microsoft.Authorization/roleDefinitions/"+authz.ReaderID {
		t.Errorf("role definitions: %+v", defs.Value)
	}

	// Deleting an assignment takes the grant away at once.
	if st, _ := e.as(token, "GET", aq(inRG), ""); st != http.StatusOK {
		t.Fatalf("owner reads in its group: %d", st)
	}
	e.must(http.StatusOK, "DELETE", aq(raPath), "")
	e.must(http.StatusNoContent, "DELETE", aq(raPath), "")
	st, b = e.as(token, "GET", aq(inRG), "")
	wantDenied(t, st, b, id, "Microsoft.Authorization/roleAssignments/read", inRG)
}

type roleAssignmentView struct {
	Properties struct{ PrincipalID, Scope string }
}

func TestPrincipalsNeedOwnerAtRoot(t *testing.T) {
	e := newEnv(t)
	id, token := e.principal("sub-owner", "")
	e.assign(id, "Owner", subPath(""))
	st, b := e.as(token, "POST", aq("/providers/Microsoft.Authorization/principals"), `{"name":"x"}`)
	wantDenied(t, st, b, id, "Microsoft.Authorization/principals/write", "/providers/Microsoft.Authorization/principals")
	// The list never shows tokens or their hashes.
	body := string(e.must(http.StatusOK, "GET", aq("/providers/Microsoft.Authorization/principals"), ""))
	if !strings.Contains(body, `"displayName":"sub-owner"`) || strings.Contains(body, token) || strings.Contains(body, "token") {
		t.Errorf("principal list: %s", body)
	}
	rec := e.do("POST", aq("/providers/Microsoft.Authorization/principals"), `{"name":"sub-owner"}`)
	if rec.Code != http.StatusConflict {
		t.Errorf("second principal of the same name: %d %s", rec.Code, rec.Body)
	}
}

func TestActivityLog(t *testing.T) {
	e := newEnv(t)
	acct := acctPath("rg1", "acct1", "")
	e.must(http.StatusCreated, "PUT", q(acct), `{"location":"eastus"}`)
	id, token := e.principal("reader", "")
	e.assign(id, "Reader", subPath(""))
	e.clock.Set(fixedNow.Add(time.Minute))
	st, _ := e.as(token, "PUT", q(acct+"/deployments/dd"), depBody)
	if st != http.StatusForbidden {
		t.Fatalf("reader PUT: %d", st)
	}
	e.clock.Set(fixedNow.Add(2 * time.Minute))
	rec := e.do("PUT", q(acct+"/deployments/dd"), depBody, "x-ms-correlation-request-id", "corr-1", "x-ms-client-request-id", "client-1")
	if rec.Code != http.StatusCreated {
		t.Fatalf("admin PUT: %d %s", rec.Code, rec.Body)
	}
	e.clock.Set(fixedNow.Add(3 * time.Minute))
	e.must(http.StatusOK, "POST", q(acct+"/regenerateKey"), `{"keyName":"Key1"}`)
	e.must(http.StatusCreated, "PUT", q(acctPath("rg2", "acct2", "")), `{"location":"eastus"}`)
	// Reads are not recorded.
	e.must(http.StatusOK, "GET", q(acct), "")

	// The official client reads it, with a reader's token.
	f := monitorClientsWith(t, e.h, token)
	filter := fmt.Sprintf("eventTimestamp ge '%s' and eventTimestamp le '%s' and resourceGroupName eq 'rg1'",
		fixedNow.Add(-time.Hour).Format(time.RFC3339), fixedNow.Add(time.Hour).Format(time.RFC3339))
	pager := f.NewActivityLogsClient().NewListPager(filter, &armmonitor.ActivityLogsClientListOptions{
		Select: to.Ptr("eventTimestamp,operationName,caller,status,resourceId,correlationId"),
	})
	var events []*armmonitor.EventData
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, page.Value...)
	}
	if len(events) != 4 {
		for _, ev := range events {
			t.Logf("%s %s %s", *ev.OperationName.Value, *ev.Caller, *ev.Status.Value)
		}
		t.Fatalf("%d events in rg1, want 4 (account create, denied deploy, deploy, regenerate)", len(events))
	}
	// Newest first.
	regen, deploy, deniedEv, create := events[0], events[1], events[2], events[3]
	if *regen.OperationName.Value != "Microsoft.CognitiveServices/accounts/regenerateKey/action" || *regen.Caller != "admin" ||
		*regen.ResourceID != acct+"/regenerateKey" {
		t.Errorf("regenerate: %s by %s on %s", *regen.OperationName.Value, *regen.Caller, *regen.ResourceID)
	}
	if *deploy.OperationName.Value != "Microsoft.CognitiveServices/accounts/deployments/write" || *deploy.Status.Value != "Succeeded" ||
		*deploy.CorrelationID != "corr-1" || *deploy.HTTPRequest.ClientRequestID != "client-1" || *deploy.HTTPRequest.Method != "PUT" ||
		!deploy.EventTimestamp.Equal(fixedNow.Add(2*time.Minute)) || *deploy.ResourceGroupName != "rg1" || *deploy.SubscriptionID != subID ||
		*deploy.Level != armmonitor.EventLevelInformational || *deploy.Authorization.Scope != acct+"/deployments/dd" {
		t.Errorf("deploy event: %+v", deploy)
	}
	if *deniedEv.Status.Value != "Failed" || *deniedEv.Caller != "reader" || *deniedEv.SubStatus.Value != "Forbidden" ||
		*deniedEv.Claims["http://schemas.microsoft.com/identity/claims/objectidentifier"] != id || *deniedEv.Level != armmonitor.EventLevelError ||
		!strings.Contains(*deniedEv.Properties["statusMessage"], "AuthorizationFailed") {
		t.Errorf("denied event: %+v", deniedEv)
	}
	if *create.OperationName.Value != "Microsoft.CognitiveServices/accounts/write" || *create.SubStatus.Value != "Created" {
		t.Errorf("create event: %s %s", *create.OperationName.Value, *create.SubStatus.Value)
	}

	// The time range bounds the events; a filter without a start is refused.
	rec = e.do("GET", subPath("/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter="+
		"eventTimestamp+ge+'"+fixedNow.Add(90*time.Second).Format(time.RFC3339)+"'+and+eventTimestamp+le+'"+fixedNow.Add(150*time.Second).Format(time.RFC3339)+"'"), "")
	var l struct{ Value []json.RawMessage }
	if json.Unmarshal(rec.Body.Bytes(), &l); rec.Code != 200 || len(l.Value) != 1 {
		t.Errorf("time range: %d, %d events\n%s", rec.Code, len(l.Value), rec.Body)
	}
	rec = e.do("GET", subPath("/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=resourceGroupName+eq+'rg1'"), "")
	if rec.Code != http.StatusBadRequest {
		t.Errorf("no start time: %d %s", rec.Code, rec.Body)
	}
	// The account-scoped contributor cannot read the subscription's log.
	cid, ctoken := e.principal("cs", "")
	e.assign(cid, "Cognitive Services Contributor", acct)
	path := subPath("/providers/Microsoft.Insights/eventtypes/management/values")
	st, b := e.as(ctoken, "GET", path+"?api-version=2015-04-01&$filter="+strings.ReplaceAll(filter, " ", "+"), "")
	wantDenied(t, st, b, cid, "Microsoft.Insights/eventtypes/values/read", path)
}
