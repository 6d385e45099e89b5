package authz

import (
	"net/http"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.CognitiveServices/accounts/write", true},
		{"*/read", "Microsoft.CognitiveServices/accounts/deployments/read", true},
		{"*/read", "Microsoft.CognitiveServices/accounts/listKeys/action", false},
		{"*/read", "Microsoft.CognitiveServices/accounts/write", false},
		{"Microsoft.CognitiveServices/*", "microsoft.cognitiveservices/accounts/deployments/write", true},
		{"Microsoft.CognitiveServices/*", "Microsoft.Authorization/roleAssignments/write", false},
		{"Microsoft.CognitiveServices/*/read", "Microsoft.CognitiveServices/locations/usages/read", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.CognitiveServices/accounts/OpenAI/*/read", "Microsoft.CognitiveServices/accounts/OpenAI/models/read", true},
		{"Microsoft.CognitiveServices/accounts/OpenAI/*/read", "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"exact/read", "exact/read/more", false},
		{"", "", true},
		{"", "x", false},
	} {
		if got := Match(c.pattern, c.action); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

func TestScopeContains(t *testing.T) {
	acct := "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
	for _, c := range []struct {
		scope, resource string
		want            bool
	}{
		{"/", acct, true},
		{"", acct, true},
		{"/subscriptions/s1", acct, true},
		{"/subscriptions/S1/resourcegroups/RG", acct + "/deployments/d", true},
		{acct, acct, true},
		{acct + "/", acct, true},
		{acct, "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/ab", false},
		{"/subscriptions/s", acct, false}, // segment-wise, not by characters
		{acct + "/deployments/d", acct, false},
		{"/subscriptions/S2", acct, false},
	} {
		if got := ScopeContains(c.scope, c.resource); got != c.want {
			t.Errorf("ScopeContains(%q, %q) = %v, want %v", c.scope, c.resource, got, c.want)
		}
	}
}

func TestAction(t *testing.T) {
	const cs = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices"
	for _, c := range []struct {
		method, path, want string
	}{
		{http.MethodGet, "/subscriptions", "Microsoft.Resources/subscriptions/read"},
		{http.MethodGet, "/subscriptions/{sub}", "Microsoft.Resources/subscriptions/read"},
		{http.MethodGet, "/subscriptions/{sub}/locations", "Microsoft.Resources/subscriptions/locations/read"},
		{http.MethodGet, cs + "/accounts", "Microsoft.CognitiveServices/accounts/read"},
		{http.MethodPut, cs + "/accounts/{a}", "Microsoft.CognitiveServices/accounts/write"},
		{http.MethodPatch, cs + "/accounts/{a}", "Microsoft.CognitiveServices/accounts/write"},
		{http.MethodDelete, cs + "/accounts/{a}", "Microsoft.CognitiveServices/accounts/delete"},
		{http.MethodPost, cs + "/accounts/{a}/listKeys", "Microsoft.CognitiveServices/accounts/listKeys/action"},
		{http.MethodPost, cs + "/accounts/{a}/regenerateKey", "Microsoft.CognitiveServices/accounts/regenerateKey/action"},
		{http.MethodGet, cs + "/accounts/{a}/deployments", "Microsoft.CognitiveServices/accounts/deployments/read"},
		{http.MethodPut, cs + "/accounts/{a}/deployments/{d}", "Microsoft.CognitiveServices/accounts/deployments/write"},
		{http.MethodGet, cs + "/accounts/{a}/deployments/{d}/skus", "Microsoft.CognitiveServices/accounts/deployments/skus/read"},
		{http.MethodPost, cs + "/accounts/{a}/raiBlocklists/{b}/addRaiBlocklistItems", "Microsoft.CognitiveServices/accounts/raiBlocklists/addRaiBlocklistItems/action"},
		{http.MethodGet, cs + "/accounts/{a}/providers/Microsoft.Insights/metrics", "Microsoft.Insights/metrics/read"},
		{http.MethodGet, "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{l}/usages", "Microsoft.CognitiveServices/locations/usages/read"},
		{http.MethodPost, "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/calculateModelCapacity", "Microsoft.CognitiveServices/calculateModelCapacity/action"},
		{http.MethodPost, "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/quotaRequests/{id}/approve", "Microsoft.CognitiveServices/quotaRequests/approve/action"},
		{http.MethodGet, "/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values", "Microsoft.Insights/eventtypes/values/read"},
		{http.MethodPut, "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{id}", "Microsoft.Authorization/roleAssignments/write"},
	} {
		segs := strings.Split(strings.Trim(c.path, "/"), "/")
		if got := Action(c.method, segs); got != c.want {
			t.Errorf("Action(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

// TestRoles is the table of what each built-in role may do: the decisions
// the "done when" rests on.
func TestRoles(t *testing.T) {
	const (
		acctRead    = "Microsoft.CognitiveServices/accounts/read"
		acctWrite   = "Microsoft.CognitiveServices/accounts/write"
		depRead     = "Microsoft.CognitiveServices/accounts/deployments/read"
		depWrite    = "Microsoft.CognitiveServices/accounts/deployments/write"
		listKeys    = "Microsoft.CognitiveServices/accounts/listKeys/action"
		usages      = "Microsoft.CognitiveServices/locations/usages/read"
		raWrite     = "Microsoft.Authorization/roleAssignments/write"
		raRead      = "Microsoft.Authorization/roleAssignments/read"
		metrics     = "Microsoft.Insights/metrics/read"
		activityLog = "Microsoft.Insights/eventtypes/values/read"
	)
	type row struct {
		role    string
		allow   []string
		deny    []string
		data    []string
		notData []string
	}
	for _, c := range []row{
		{"Owner", []string{acctWrite, depWrite, listKeys, raWrite, ActionReservationPurchase}, nil, nil, []string{DataChatCompletions}},
		{"Contributor", []string{acctWrite, depWrite, listKeys, raRead, ActionReservationPurchase}, []string{raWrite, "Microsoft.Authorization/roleAssignments/delete"}, nil, []string{DataChatCompletions}},
		{"Reader", []string{acctRead, depRead, usages, raRead, metrics, activityLog, ActionReservationRead}, []string{acctWrite, depWrite, listKeys, raWrite, ActionReservationPurchase}, nil, []string{DataChatCompletions}},
		{"Cognitive Services Contributor", []string{acctWrite, depWrite, listKeys, depRead, metrics, raRead}, []string{raWrite, ActionReservationPurchase, activityLog}, nil, []string{DataChatCompletions}},
		{"Cognitive Services OpenAI User", []string{acctRead, depRead, usages, raRead}, []string{acctWrite, depWrite, listKeys, raWrite}, []string{DataChatCompletions, DataCompletions, DataModelsRead}, []string{"Microsoft.CognitiveServices/accounts/OpenAI/stored-completions/read"}},
		{"Cognitive Services Usages Reader", []string{usages}, []string{acctRead, depRead, depWrite, listKeys}, nil, []string{DataChatCompletions}},
		{"Reservation Purchaser", []string{ActionReservationPurchase, ActionReservationRead, raRead}, []string{acctRead, depWrite, "Microsoft.Capacity/reservationOrders/return/action"}, nil, nil},
	} {
		r, ok := Lookup(c.role)
		if !ok {
			t.Fatalf("no role %q", c.role)
		}
		for _, a := range c.allow {
			if !r.Allows(a) {
				t.Errorf("%s does not allow %s", c.role, a)
			}
		}
		for _, a := range c.deny {
			if r.Allows(a) {
				t.Errorf("%s allows %s", c.role, a)
			}
		}
		for _, a := range c.data {
			if !r.AllowsData(a) {
				t.Errorf("%s does not allow data action %s", c.role, a)
			}
		}
		for _, a := range c.notData {
			if r.AllowsData(a) {
				t.Errorf("%s allows data action %s", c.role, a)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	for _, ref := range []string{
		"Reader", "reader", ReaderID, strings.ToUpper(ReaderID),
		"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/" + ReaderID,
		"/providers/Microsoft.Authorization/roleDefinitions/" + ReaderID,
	} {
		if r, ok := Lookup(ref); !ok || r.ID != ReaderID {
			t.Errorf("Lookup(%q) = %v, %v", ref, r.Name, ok)
		}
	}
	if _, ok := Lookup("Global Administrator"); ok {
		t.Error("an unknown role was found")
	}
}

func TestAllowed(t *testing.T) {
	acctA := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
	acctB := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/b"
	as := []Assignment{
		{RoleDefinitionID: CognitiveServicesContributorID, Scope: acctA},
		{RoleDefinitionID: CognitiveServicesOpenAIUserID, Scope: "/subscriptions/s/resourceGroups/other"},
		{RoleDefinitionID: "not-a-role", Scope: "/"},
	}
	const depWrite = "Microsoft.CognitiveServices/accounts/deployments/write"
	if !Allowed(as, depWrite, acctA+"/deployments/d", false) {
		t.Error("contributor on account a cannot deploy there")
	}
	if Allowed(as, depWrite, acctB+"/deployments/d", false) {
		t.Error("contributor on account a can deploy on account b")
	}
	if Allowed(as, DataChatCompletions, acctA, true) {
		t.Error("Cognitive Services Contributor grants inference")
	}
	if !Allowed(as, DataChatCompletions, "/subscriptions/s/resourceGroups/OTHER/providers/Microsoft.CognitiveServices/accounts/c", true) {
		t.Error("OpenAI User on a resource group does not grant inference in it")
	}
	if Allowed(as, DataChatCompletions, "/subscriptions/s/resourceGroups/rg", false) {
		t.Error("a data action was granted as a control-plane action")
	}
}

// BenchmarkAllowed is one uncached decision: an OpenAI User's inference call
// checked against a Reader and an OpenAI User assignment.
func BenchmarkAllowed(b *testing.B) {
	as := []Assignment{
		{RoleDefinitionID: ReaderID, Scope: "/subscriptions/s"},
		{RoleDefinitionID: CognitiveServicesOpenAIUserID, Scope: "/subscriptions/s/resourceGroups/rg"},
	}
	acct := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
	b.ReportAllocs()
	for b.Loop() {
		if !Allowed(as, DataChatCompletions, acct, true) {
			b.Fatal("denied")
		}
	}
}
