package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAccessCommands walks principals, role assignments, a principal's
// login and the activity log through the CLI.
func TestAccessCommands(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.s.Config.Subscriptions[0].ID
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")

	token := strings.TrimSpace(e.mustPTU("principal", "create", "--name", "auditor", "--expires-in", "90d", "--query", "properties.token", "-o", "tsv"))
	if !strings.HasPrefix(token, "ptu_") {
		t.Fatalf("token %q", token)
	}
	if out := e.mustPTU("principal", "list", "--query", "[].properties.displayName", "-o", "tsv"); out != "auditor\n" {
		t.Errorf("principal list: %q", out)
	}
	var a struct {
		ID, PrincipalName, RoleDefinitionName, Scope string
	}
	if err := json.Unmarshal([]byte(e.mustPTU("role", "assignment", "create", "--assignee", "auditor", "--role", "Reader", "-g", "demo")), &a); err != nil {
		t.Fatal(err)
	}
	if a.PrincipalName != "auditor" || a.RoleDefinitionName != "Reader" || a.Scope != "/subscriptions/"+sub+"/resourceGroups/demo" ||
		!strings.HasPrefix(a.ID, a.Scope+"/providers/Microsoft.Authorization/roleAssignments/") {
		t.Errorf("assignment %+v", a)
	}
	if out := e.mustPTU("role", "assignment", "list", "--assignee", "auditor", "--query", "[].[principalName, roleDefinitionName]", "-o", "tsv"); out != "auditor\tReader\n" {
		t.Errorf("assignment list: %q", out)
	}
	if out := e.mustPTU("role", "definition", "list", "--name", "Cognitive Services OpenAI User", "--query", "[0].name", "-o", "tsv"); out != "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd\n" {
		t.Errorf("definition list: %q", out)
	}

	// The principal logs in, reads, and is refused a deployment.
	admin := e.s.AdminToken
	t.Setenv("PTU_TOKEN", "")
	if out := e.mustPTU("login", "--endpoint", e.url, "--token", token, "--query", "[].subscriptionId", "-o", "tsv"); out != sub+"\n" {
		t.Errorf("login as the principal: %q", out)
	}
	if b, _ := os.ReadFile(os.Getenv("PTU_PROFILE")); !strings.Contains(string(b), token) {
		t.Fatal("the profile does not hold the principal's token")
	}
	if out := e.mustPTU("cognitiveservices", "account", "list", "-g", "demo", "--query", "[].name", "-o", "tsv"); out != "demo-aoai\n" {
		t.Errorf("reader lists accounts: %q", out)
	}
	_, _, err := ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "d1",
		"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku-name", "GlobalProvisionedManaged", "--sku-capacity", "15")
	if err == nil || !strings.Contains(err.Error(), "(AuthorizationFailed)") || !strings.Contains(err.Error(), "Microsoft.CognitiveServices/accounts/deployments/write") {
		t.Fatalf("reader deploys: %v", err)
	}
	if _, _, err := ptu(t, "", "principal", "create", "--name", "escalate"); err == nil || !strings.Contains(err.Error(), "AuthorizationFailed") {
		t.Fatalf("reader creates a principal: %v", err)
	}

	// The admin reads the activity log: the refused deployment is there.
	t.Setenv("PTU_TOKEN", admin)
	var events []struct {
		Caller        string
		OperationName struct{ Value string }
		Status        struct{ Value string }
	}
	start, end := fixedNow.Add(-time.Hour).Format("2006-01-02T15:04:05Z"), fixedNow.Add(time.Hour).Format("2006-01-02T15:04:05Z")
	out := e.mustPTU("monitor", "activity-log", "list", "-g", "demo", "--start-time", start, "--end-time", end, "--status", "Failed")
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Caller != "auditor" || events[0].OperationName.Value != "Microsoft.CognitiveServices/accounts/deployments/write" {
		t.Errorf("failed events: %s", out)
	}
	if out := e.mustPTU("monitor", "activity-log", "list", "--start-time", start, "--end-time", end, "--caller", "admin",
		"--query", "[].operationName.value", "-o", "tsv"); !strings.Contains(out, "Microsoft.Authorization/roleAssignments/write\n") ||
		!strings.Contains(out, "Microsoft.CognitiveServices/accounts/write\n") {
		t.Errorf("admin's events: %q", out)
	}

	// Revoke: the role, then the principal.
	e.mustPTU("role", "assignment", "delete", "--assignee", "auditor", "--role", "Reader", "-g", "demo")
	if out := e.mustPTU("role", "assignment", "list", "--all", "--query", "length(@)"); out != "0\n" {
		t.Errorf("after delete: %q", out)
	}
	e.mustPTU("principal", "delete", "--name", "auditor")
	if _, _, err := ptu(t, "", "cognitiveservices", "account", "list", "--token", token); err == nil || !strings.Contains(err.Error(), "InvalidAuthenticationToken") {
		t.Errorf("deleted principal's token: %v", err)
	}
}
