package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// The real tools, unchanged: Debian's azure-cli 2.45 (az) and its Python
// management SDK drive ptu over HTTPS with a self-signed certificate,
// logged in through ptu's own token service. Every name lookup they make
// other than 127.0.0.1 is refused and recorded (testdata/offline), and the
// tests fail if there was one. scripts/test installs both (apt: azure-cli,
// python3-azure); under CI=true a missing tool fails the test.

// debianPython is the interpreter Debian's python3-azure is installed for.
const debianPython = "/usr/bin/python3"

func needTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	msg := what + " is not installed (apt-get install azure-cli python3-azure; scripts/test does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// tlsServer starts ptu with --tls-self-signed on a random port.
func tlsServer(t *testing.T) *server.Server {
	t.Helper()
	return testserver.Start(t, server.Options{TLSSelfSigned: true}).Server
}

// offlineEnv is the environment of a Python tool under test: it trusts the
// server's certificate, sends no telemetry, and may resolve no name but
// 127.0.0.1 (lookups are logged to the returned file).
func offlineEnv(t *testing.T, s *server.Server) ([]string, string) {
	t.Helper()
	dir, err := filepath.Abs("testdata/offline")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "lookups")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"LANG=C.UTF-8",
		"PYTHONPATH=" + dir,
		"PTU_OFFLINE_LOG=" + log,
		"REQUESTS_CA_BUNDLE=" + s.TLSCert,
		"AZURE_CORE_COLLECT_TELEMETRY=no",
		"AZURE_CORE_SURVEY_MESSAGE=no",
		"AZURE_CORE_NO_COLOR=yes",
	}
	return env, log
}

func checkOffline(t *testing.T, log string) {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(b) > 0 {
		t.Errorf("the tool looked up names other than 127.0.0.1: %s", strings.Join(strings.Fields(string(b)), ", "))
	}
}

type azRunner struct {
	t   *testing.T
	env []string
}

// run runs az with args and returns its standard output; it fails the test
// when az fails.
func (a azRunner) run(args ...string) string {
	a.t.Helper()
	out, errOut, err := a.try(args...)
	if err != nil {
		a.t.Fatalf("az %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func (a azRunner) try(args ...string) (string, string, error) {
	cmd := exec.Command("az", args...)
	cmd.Env = a.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (a azRunner) json(v any, args ...string) {
	a.t.Helper()
	out := a.run(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("az %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// azVersion is the version az's core reports, which its version check
// file must name (azure/cli/core/util.py handle_version_update).
func azVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(debianPython, "-c", "import azure.cli.core as c; print(c.__version__)").Output()
	if err != nil {
		t.Fatalf("azure-cli core version: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestRealAz walks the README's "Use the real az" recipe with Debian's az.
func TestRealAz(t *testing.T) {
	_, err := exec.LookPath("az")
	needTool(t, err == nil, "az (Debian's azure-cli)")
	s := tlsServer(t)
	env, lookups := offlineEnv(t, s)
	cfg := t.TempDir()
	// az checks its version on GitHub once per new configuration directory
	// unless the check is on record (versionCheck.json).
	ver := azVersion(t)
	check := `{"versions": {"azure-cli": {"local": "` + ver + `"}, "core": {"local": "` + ver + `"}}}`
	if err := os.WriteFile(filepath.Join(cfg, "versionCheck.json"), []byte(check), 0o600); err != nil {
		t.Fatal(err)
	}
	az := azRunner{t: t, env: append(env, "AZURE_CONFIG_DIR="+cfg)}
	sub := s.Config.Subscriptions[0].ID
	tenant := s.Config.Tenant()

	// Cloud register from the Resource Manager URL alone.
	az.run("cloud", "register", "-n", "ptu", "--endpoint-resource-manager", s.URL+"/")
	var cloud struct {
		Endpoints struct{ ActiveDirectory, ActiveDirectoryResourceID string }
	}
	az.json(&cloud, "cloud", "show", "-n", "ptu")
	if cloud.Endpoints.ActiveDirectory != s.URL+"/adfs" || cloud.Endpoints.ActiveDirectoryResourceID != s.URL+"/" {
		t.Errorf("registered cloud endpoints: %+v", cloud.Endpoints)
	}
	az.run("cloud", "set", "-n", "ptu")

	// A wrong secret is refused with the token service's invalid_client.
	if _, errOut, err := az.try("login", "--service-principal", "-u", "admin", "-p", "not-the-token", "--tenant", tenant); err == nil ||
		!strings.Contains(errOut, "Client authentication failed") {
		t.Errorf("login with a wrong secret: err %v\n%s", err, errOut)
	}
	// The admin token logs in.
	var subs []struct {
		ID, TenantID string
		User         struct{ Name, Type string }
	}
	az.json(&subs, "login", "--service-principal", "-u", "admin", "-p", s.AdminToken, "--tenant", tenant)
	if len(subs) != 1 || subs[0].ID != sub || subs[0].TenantID != tenant || subs[0].User.Type != "servicePrincipal" {
		t.Fatalf("az login: %+v", subs)
	}

	// Account create, show, list.
	var acct struct {
		ID         string
		Properties struct{ ProvisioningState, Endpoint string }
	}
	az.json(&acct, "cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus",
		"--kind", "OpenAI", "--sku", "S0", "--yes")
	if acct.Properties.ProvisioningState != "Succeeded" || acct.Properties.Endpoint != s.URL+"/accounts/demo-aoai/" {
		t.Errorf("account create (polled to its end): %+v", acct.Properties)
	}
	az.json(&acct, "cognitiveservices", "account", "show", "-n", "demo-aoai", "-g", "demo")
	if !strings.HasSuffix(acct.ID, "/accounts/demo-aoai") {
		t.Errorf("account show: id %q", acct.ID)
	}
	if got := strings.TrimSpace(az.run("cognitiveservices", "account", "list", "-g", "demo", "--query", "[].name", "-o", "tsv")); got != "demo-aoai" {
		t.Errorf("account list: %q", got)
	}

	// A Manual (regional provisioned) 50-PTU deployment; quota usage follows.
	var dep struct {
		Name       string
		Properties struct {
			ProvisioningState string
			ScaleSettings     struct {
				ScaleType string
				Capacity  int
			}
		}
	}
	az.json(&dep, "cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo",
		"--deployment-name", "gpt-4o", "--model-name", "gpt-4o", "--model-version", "2024-11-20", "--model-format", "OpenAI",
		"--scale-settings-scale-type", "Manual", "--scale-settings-capacity", "50")
	if dep.Properties.ScaleSettings.ScaleType != "Manual" || dep.Properties.ScaleSettings.Capacity != 50 {
		t.Errorf("deployment create: %+v", dep)
	}
	az.json(&dep, "cognitiveservices", "account", "deployment", "show", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o")
	if dep.Name != "gpt-4o" || dep.Properties.ScaleSettings.Capacity != 50 {
		t.Errorf("deployment show: %+v", dep)
	}
	if got := strings.TrimSpace(az.run("cognitiveservices", "account", "deployment", "list", "-n", "demo-aoai", "-g", "demo",
		"--query", "[].name", "-o", "tsv")); got != "gpt-4o" {
		t.Errorf("deployment list: %q", got)
	}
	usagesURL := "/subscriptions/" + sub + "/providers/Microsoft.CognitiveServices/locations/eastus/usages?api-version=2023-05-01"
	ptuUsage := func() string {
		return strings.TrimSpace(az.run("rest", "--method", "get", "--url", usagesURL,
			"--query", "value[?name.value=='OpenAI.ProvisionedManaged'].currentValue | [0]", "-o", "tsv"))
	}
	if got := ptuUsage(); got != "50" {
		t.Errorf("az rest usages: ProvisionedManaged currentValue %q, want 50", got)
	}
	if got := az.run("cognitiveservices", "account", "list-usage", "-n", "demo-aoai", "-g", "demo",
		"--query", "[?name.value=='OpenAI.ProvisionedManaged'].currentValue | [0]", "-o", "tsv"); strings.TrimSpace(got) != "50.0" {
		t.Errorf("account list-usage: %q", got)
	}

	// Keys.
	var keys, regen struct{ Key1, Key2 string }
	az.json(&keys, "cognitiveservices", "account", "keys", "list", "-n", "demo-aoai", "-g", "demo")
	az.json(&regen, "cognitiveservices", "account", "keys", "regenerate", "-n", "demo-aoai", "-g", "demo", "--key-name", "key1")
	if keys.Key1 == "" || regen.Key1 == keys.Key1 || regen.Key2 != keys.Key2 {
		t.Errorf("keys %+v, after regenerating key1 %+v", keys, regen)
	}

	// Models and metrics.
	if got := az.run("cognitiveservices", "account", "list-models", "-n", "demo-aoai", "-g", "demo",
		"--query", "[?name=='gpt-4o'].version", "-o", "tsv"); !strings.Contains(got, "2024-11-20") {
		t.Errorf("list-models: %q", got)
	}
	var metrics struct {
		Value []struct {
			Name       struct{ Value string }
			Unit       string
			Timeseries []struct{ Data []json.RawMessage }
		}
	}
	az.json(&metrics, "monitor", "metrics", "list", "--resource", acct.ID, "--metric", "AzureOpenAIProvisionedManagedUtilizationV2")
	if len(metrics.Value) != 1 || metrics.Value[0].Name.Value != "AzureOpenAIProvisionedManagedUtilizationV2" || metrics.Value[0].Unit != "Percent" {
		t.Errorf("monitor metrics list: %+v", metrics.Value)
	}

	// A principal's token logs in too, and sees what its role allows.
	ctx := context.Background()
	p, token, err := s.Control.CreatePrincipal(ctx, "ci", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Control.PutRoleAssignment(ctx, "9f0c7b4e-2a51-4d36-8e7f-0b1c2d3e4f5a", control.RoleAssignmentInput{
		Scope: "/subscriptions/" + sub + "/resourceGroups/demo", RoleDefinitionID: "Cognitive Services Contributor", PrincipalID: p.ID,
	}); err != nil {
		t.Fatal(err)
	}
	az.json(&subs, "login", "--service-principal", "-u", "ci", "-p", token, "--tenant", tenant)
	if len(subs) != 1 || subs[0].ID != sub || subs[0].User.Name != "ci" {
		t.Fatalf("az login as a principal: %+v", subs)
	}
	if got := strings.TrimSpace(az.run("cognitiveservices", "account", "deployment", "list", "-n", "demo-aoai", "-g", "demo",
		"--query", "[].name", "-o", "tsv")); got != "gpt-4o" {
		t.Errorf("deployment list as the principal: %q", got)
	}

	// Delete the deployment (usage back to 0), then the account, as the
	// admin: the principal's role is the resource group's, and quota usages
	// are the subscription's.
	az.json(&subs, "login", "--service-principal", "-u", "admin", "-p", s.AdminToken, "--tenant", tenant)
	az.run("cognitiveservices", "account", "deployment", "delete", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o")
	if got := ptuUsage(); got != "0" {
		t.Errorf("usage after the delete: %q, want 0", got)
	}
	az.run("cognitiveservices", "account", "delete", "-n", "demo-aoai", "-g", "demo")
	if got := strings.TrimSpace(az.run("cognitiveservices", "account", "list", "-g", "demo", "--query", "length(@)", "-o", "tsv")); got != "0" {
		t.Errorf("accounts after the delete: %q", got)
	}
	checkOffline(t, lookups)
}

// TestDebianPythonSDK drives ptu with azure-mgmt-cognitiveservices as Debian
// ships it (13.4.0b1, api-version 2022-12-01 by default), logged in with
// azure-identity through ptu's token service: account and deployment
// creations polled to their end, deployments listed in the scaleSettings
// shape, usages, keys, deletes.
func TestDebianPythonSDK(t *testing.T) {
	probe := exec.Command(debianPython, "-c", "import azure.mgmt.cognitiveservices, azure.identity")
	needTool(t, probe.Run() == nil, "Debian's python3-azure (azure-mgmt-cognitiveservices, azure-identity)")
	s := tlsServer(t)
	env, lookups := offlineEnv(t, s)
	cmd := exec.Command(debianPython, "testdata/mgmt_sdk.py")
	cmd.Env = append(env, "PTU_URL="+s.URL, "PTU_TOKEN="+s.AdminToken, "PTU_SUBSCRIPTION="+s.Config.Subscriptions[0].ID)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mgmt_sdk.py: %v\n%s", err, stderr.String())
	}
	var out struct {
		APIVersion string
		Account    struct{ Name, State, Endpoint string }
		Deployment struct {
			Name, State, ScaleType string
			Capacity               int
		}
		Deployments []struct {
			Name, ScaleType string
			Capacity        int
		}
		Usages              map[string]float64
		Keys                bool
		AccountsAfterDelete []string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if out.APIVersion != "2022-12-01" {
		t.Errorf("the SDK's default api-version is %s; this test expects Debian's 2022-12-01", out.APIVersion)
	}
	if out.Account.State != "Succeeded" || out.Account.Endpoint != s.URL+"/accounts/py-aoai/" {
		t.Errorf("account: %+v", out.Account)
	}
	if out.Deployment.State != "Succeeded" || out.Deployment.ScaleType != "Manual" || out.Deployment.Capacity != 50 {
		t.Errorf("deployment (polled to its end): %+v", out.Deployment)
	}
	if len(out.Deployments) != 1 || out.Deployments[0].Name != "gpt-4o" || out.Deployments[0].Capacity != 50 {
		t.Errorf("deployments list: %+v", out.Deployments)
	}
	if out.Usages["OpenAI.ProvisionedManaged"] != 50 || !out.Keys {
		t.Errorf("usages %v, keys %v", out.Usages, out.Keys)
	}
	if len(out.AccountsAfterDelete) != 0 {
		t.Errorf("accounts after the delete: %v", out.AccountsAfterDelete)
	}
	checkOffline(t, lookups)
}
