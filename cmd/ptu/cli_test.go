package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

var update = flag.Bool("update", false, "rewrite the golden files of cmd/ptu/testdata")

// cliEnv is a running ptu server, with the environment pointing the CLI at it.
type cliEnv struct {
	t   *testing.T
	s   *server.Server
	url string
}

// fixedNow is the server's clock in CLI tests, so that times and etags in
// golden outputs do not change.
var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	s := testserver.Start(t, server.Options{SimTimeScale: 1000, Now: func() time.Time { return fixedNow },
		// The clock stands still: creations answer at once rather than
		// provision for ever (TestCLIWaitsForCreations polls on a real clock).
		ProvisioningDelay: -1}).Server
	useServer(t, s.URL, s.AdminToken)
	return &cliEnv{t: t, s: s, url: s.URL}
}

// useServer points the CLI at the server at url, with a profile and data
// directory of its own.
func useServer(t *testing.T, url, token string) {
	t.Setenv("PTU_ENDPOINT", url)
	t.Setenv("PTU_TOKEN", token)
	t.Setenv("PTU_SUBSCRIPTION", "")
	t.Setenv("PTU_PROFILE", filepath.Join(t.TempDir(), "profile.json"))
	t.Setenv("PTU_DATA_DIR", t.TempDir())
}

// ptu runs the CLI in-process and returns what it printed.
func ptu(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// mustPTU runs the CLI and fails the test on an error.
func (e *cliEnv) mustPTU(args ...string) string {
	e.t.Helper()
	out, errOut, err := ptu(e.t, "", args...)
	if err != nil {
		e.t.Fatalf("ptu %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// golden compares got (with the server's URL replaced) with testdata/name.golden.
func (e *cliEnv) golden(name, got string) {
	e.t.Helper()
	got = strings.ReplaceAll(got, e.url, "http://ptu.test")
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("%v (run go test ./cmd/ptu -run %s -update to create it)", err, e.t.Name())
	}
	if got != string(want) {
		e.t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

// The seed's command, as the Azure guide prints it.
const seedCommand = `az cognitiveservices account deployment create \
--name <myResourceName> \
--resource-group <myResourceGroupName> \
--deployment-name MyModel \
--model-name GPT-4 \
--model-version 0613 \
--model-format OpenAI \
--sku-capacity 100 \
--sku-name ProvisionedManaged`

// shellWords splits a command line as a POSIX shell would for this one:
// words separated by blanks, backslash-newline joining lines.
func shellWords(s string) []string {
	return strings.Fields(strings.ReplaceAll(s, "\\\n", " "))
}

// TestSeedCommandVerbatim runs the Azure guide's az command with "ptu" for
// "az" against an account in a region with gpt-4 0613 capacity.
func TestSeedCommandVerbatim(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "my-resource", "-g", "my-group", "-l", "southcentralus",
		"--kind", "OpenAI", "--sku", "S0", "--yes")

	args := shellWords(strings.NewReplacer("<myResourceName>", "my-resource", "<myResourceGroupName>", "my-group").Replace(seedCommand))
	if args[0] != "az" || len(args) != 21 {
		t.Fatalf("the seed command splits into %q", args)
	}
	out := e.mustPTU(args[1:]...)
	e.golden("seed-deployment-create", out)

	// The deployment is there, and it used 100 PTUs of the regional quota.
	if got := e.mustPTU("cognitiveservices", "account", "deployment", "show", "-n", "my-resource", "-g", "my-group",
		"--deployment-name", "MyModel", "--query", "[sku.name, sku.capacity, properties.model.name]", "-o", "tsv"); got != "ProvisionedManaged\n100\ngpt-4\n" {
		t.Errorf("deployment show: %q", got)
	}
	if got := e.mustPTU("cognitiveservices", "usage", "list", "-l", "southcentralus",
		"--query", "[?name.value=='OpenAI.ProvisionedManaged'].currentValue | [0]", "-o", "tsv"); got != "100\n" {
		t.Errorf("ProvisionedManaged usage after the seed command: %q, want 100", got)
	}
}

// TestGoldenOutputs checks the table, tsv and json outputs against golden files.
func TestGoldenOutputs(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0", "--yes",
		"--tags", "team=search")
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-scus", "-g", "demo", "-l", "southcentralus", "--kind", "OpenAI", "--sku-name", "S0", "--yes")
	e.mustPTU("cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o",
		"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku", "GlobalProvisionedManaged", "--capacity", "15")
	e.mustPTU("cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o-mini",
		"--model-name", "gpt-4o-mini", "--model-version", "2024-07-18", "--model-format", "OpenAI", "--sku-name", "DataZoneProvisionedManaged", "--sku-capacity", "30")

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"account-list-table", []string{"cognitiveservices", "account", "list", "-o", "table"}},
		{"account-list-tsv", []string{"cognitiveservices", "account", "list", "--query", "[].[name, location, kind]", "-o", "tsv"}},
		{"account-show-query-table", []string{"cognitiveservices", "account", "show", "-n", "demo-aoai", "-g", "demo",
			"--query", "{name:name, subdomain:properties.customSubDomainName, state:properties.provisioningState, local:properties.disableLocalAuth, team:tags.team}", "-o", "table"}},
		{"deployment-list-table", []string{"cognitiveservices", "account", "deployment", "list", "-n", "demo-aoai", "-g", "demo", "-o", "table"}},
		{"deployment-list-query-table", []string{"cognitiveservices", "account", "deployment", "list", "-n", "demo-aoai", "-g", "demo",
			"--query", "[].{name:name, sku:sku.name, ptu:sku.capacity, model:properties.model.name}", "-o", "table"}},
		{"deployment-show-json", []string{"cognitiveservices", "account", "deployment", "show", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o"}},
		{"usage-list-table", []string{"cognitiveservices", "usage", "list", "-l", "eastus", "-o", "table"}},
		{"usage-list-query-table", []string{"cognitiveservices", "usage", "list", "-l", "eastus",
			"--query", "[].{quota:name.value, used:currentValue, limit:limit}", "-o", "table"}},
		{"usage-list-tsv", []string{"cognitiveservices", "usage", "list", "-l", "eastus", "-o", "tsv"}},
		{"model-capacity-list-table", []string{"cognitiveservices", "model-capacity", "list", "--model-format", "OpenAI",
			"--model-name", "gpt-4o", "--model-version", "2024-08-06", "-l", "westus3", "-o", "table"}},
		{"model-capacity-query-table", []string{"cognitiveservices", "model-capacity", "list", "--model-format", "OpenAI",
			"--model-name", "gpt-4", "--model-version", "0613",
			"--query", "[?properties.availableCapacity > `0`].{location:location, sku:name, available:properties.availableCapacity}", "-o", "table"}},
		{"list-models-query-table", []string{"cognitiveservices", "account", "list-models", "-n", "demo-aoai", "-g", "demo",
			"--query", "[?name=='gpt-4o'].{name:name, version:version, default:isDefaultVersion}", "-o", "table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := *e
			e.t = t
			e.golden(tc.name, e.mustPTU(tc.args...))
		})
	}
}

// TestErrorsExitNonZero: the service's code and message reach the user, and
// the command fails (main exits 1 on any returned error).
func TestErrorsExitNonZero(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "acct", "-g", "rg", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")

	out, _, err := ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "acct", "-g", "rg", "--deployment-name", "big",
		"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku-name", "GlobalProvisionedManaged", "--sku-capacity", "600")
	if err == nil || out != "" {
		t.Fatalf("over quota: err %v, stdout %q", err, out)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "(InsufficientQuota) This operation require 600 new capacity") || !strings.Contains(msg, "\nCode: InsufficientQuota\nMessage: ") {
		t.Errorf("over quota: %q", msg)
	}

	for name, args := range map[string][]string{
		"not found":     {"cognitiveservices", "account", "show", "-n", "nope", "-g", "rg"},
		"missing flag":  {"cognitiveservices", "account", "show", "-n", "acct"},
		"bad output":    {"cognitiveservices", "account", "list", "-o", "xml"},
		"bad query":     {"cognitiveservices", "account", "list", "--query", "[?"},
		"bad key name":  {"cognitiveservices", "account", "keys", "regenerate", "-n", "acct", "-g", "rg", "--key-name", "key3"},
		"no sku":        {"cognitiveservices", "account", "create", "-n", "a2", "-g", "rg", "-l", "eastus", "--kind", "OpenAI"},
		"wrong sub":     {"cognitiveservices", "account", "list", "--subscription", "00000000-0000-0000-0000-000000000000"},
		"no deployment": {"chat", "--deployment", "nope", "hello"},
	} {
		if out, _, err := ptu(t, "", args...); err == nil {
			t.Errorf("%s: no error; printed %q", name, out)
		}
	}
	// No capacity for gpt-4 in West US 3: the message names where it would fit.
	e.mustPTU("cognitiveservices", "account", "create", "-n", "west", "-g", "rg", "-l", "westus3", "--kind", "OpenAI", "--sku", "S0")
	_, _, err = ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "west", "-g", "rg", "--deployment-name", "gpt4",
		"--model-name", "gpt-4", "--model-version", "0613", "--model-format", "OpenAI", "--sku-name", "ProvisionedManaged", "--sku-capacity", "100")
	if err == nil || !strings.HasPrefix(err.Error(), "(InsufficientResourcesAvailable) ") || !strings.Contains(err.Error(), "eastus") {
		t.Errorf("capacity short: %v", err)
	}
	_, _, err = ptu(t, "", "cognitiveservices", "account", "show", "-n", "nope", "-g", "rg")
	if err == nil || !strings.HasPrefix(err.Error(), "(ResourceNotFound) ") {
		t.Errorf("not found: %v", err)
	}
	_, _, err = ptu(t, "", "cognitiveservices", "account", "list", "--subscription", "00000000-0000-0000-0000-000000000000")
	if err == nil || !strings.HasPrefix(err.Error(), "(SubscriptionNotFound) ") {
		t.Errorf("wrong subscription: %v", err)
	}
}

// TestConnectionDefaults: with no endpoint or token configured the CLI uses
// the local server's address and the admin token in its data directory; a
// profile from `ptu login` is used when nothing else says otherwise.
func TestConnectionDefaults(t *testing.T) {
	e := newCLIEnv(t)

	// Nothing set: the defaults of a local `ptu serve`.
	t.Setenv("PTU_ENDPOINT", "")
	t.Setenv("PTU_TOKEN", "")
	t.Setenv("PTU_DATA_DIR", e.s.DataDir)
	var none connection
	r, err := none.resolve(true)
	if err != nil {
		t.Fatal(err)
	}
	if r.endpoint != "http://127.0.0.1:8080" || r.token != e.s.AdminToken || r.subscription != "" {
		t.Errorf("defaults = %+v; want 127.0.0.1:8080 and the token of PTU_DATA_DIR", r)
	}
	// The data directory's token, with only the endpoint given.
	if got := e.mustPTU("cognitiveservices", "account", "list", "--endpoint", e.url, "-o", "tsv"); got != "" {
		t.Errorf("account list = %q, want nothing", got)
	}
	// The local token never goes to another host.
	remote := connection{endpoint: "https://ptu.example.com"}
	if r, _ := remote.resolve(true); r.token != "" {
		t.Errorf("the local admin token was picked for a remote endpoint")
	}

	// login writes a profile that later commands use.
	t.Setenv("PTU_DATA_DIR", t.TempDir()) // no token file any more
	out := e.mustPTU("login", "--endpoint", e.url, "--token", e.s.AdminToken, "--query", "[].[subscriptionId, isDefault]", "-o", "tsv")
	if want := e.s.Config.Subscriptions[0].ID + "\tTrue\n"; out != want {
		t.Errorf("login printed %q, want %q", out, want)
	}
	b, err := os.ReadFile(os.Getenv("PTU_PROFILE"))
	if err != nil || !strings.Contains(string(b), e.s.AdminToken) {
		t.Fatalf("profile: %s, %v", b, err)
	}
	if got := e.mustPTU("cognitiveservices", "usage", "list", "-l", "eastus", "--query", "length(@)"); got != "3\n" {
		t.Errorf("usage list through the profile: %q", got)
	}
	// A flag overrides the profile.
	if _, _, err := ptu(t, "", "cognitiveservices", "usage", "list", "-l", "eastus", "--token", "wrong"); err == nil ||
		!strings.Contains(err.Error(), "InvalidAuthenticationToken") {
		t.Errorf("--token over the profile: %v", err)
	}
	// A wrong token fails login and keeps the profile.
	if _, _, err := ptu(t, "", "login", "--endpoint", e.url, "--token", "wrong"); err == nil {
		t.Error("login with a wrong token succeeded")
	}
	if b2, _ := os.ReadFile(os.Getenv("PTU_PROFILE")); !bytes.Equal(b, b2) {
		t.Error("a failed login changed the profile")
	}
}

// TestEveryCommandHasHelpAndExample walks the client commands.
func TestEveryCommandHasHelpAndExample(t *testing.T) {
	root := newRoot()
	var walk func(c *cobra.Command, path []string)
	n := 0
	walk = func(c *cobra.Command, path []string) {
		path = append(path, c.Name())
		if c.Example == "" {
			t.Errorf("%s has no example", strings.Join(path, " "))
		}
		out, _, err := ptu(t, "", append(path[1:], "--help")...)
		if err != nil || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: %v\n%s", strings.Join(path, " "), err, out)
		}
		n++
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub, path)
			}
		}
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "cognitiveservices", "quota", "chat", "login", "monitor", "pricing", "reservation", "billing", "calc":
			walk(c, []string{"ptu"})
		}
	}
	if n < 25 {
		t.Errorf("walked %d commands, want at least 25", n)
	}
}

func TestQuotaCommands(t *testing.T) {
	e := newCLIEnv(t)
	id := strings.TrimSpace(e.mustPTU("quota", "request", "create", "-l", "eastus", "--sku-name", "GlobalProvisionedManaged",
		"--limit", "800", "--reason", "launch", "--query", "name", "-o", "tsv"))
	if id == "" {
		t.Fatal("no request id")
	}
	if got := e.mustPTU("quota", "request", "show", id, "--query", "properties.state", "-o", "tsv"); got != "Pending\n" {
		t.Errorf("state %q, want Pending", got)
	}
	if got := e.mustPTU("quota", "request", "approve", "-n", id, "--note", "ok", "--query", "properties.[state, reviewNote]", "-o", "tsv"); got != "Approved\nok\n" {
		t.Errorf("approve printed %q", got)
	}
	if got := e.mustPTU("cognitiveservices", "usage", "list", "-l", "eastus",
		"--query", "[?name.value=='OpenAI.GlobalProvisionedManaged'].limit | [0]"); got != "800\n" {
		t.Errorf("limit after approval %q", got)
	}
	id2 := strings.TrimSpace(e.mustPTU("quota", "request", "create", "-l", "eastus", "--sku", "ProvisionedManaged",
		"--limit", "700", "--reason", "more", "--query", "name", "-o", "tsv"))
	if got := e.mustPTU("quota", "request", "reject", id2, "--query", "properties.state", "-o", "tsv"); got != "Rejected\n" {
		t.Errorf("reject printed %q", got)
	}
	if _, _, err := ptu(t, "", "quota", "request", "reject", id2); err == nil || !strings.HasPrefix(err.Error(), "(Conflict) ") {
		t.Errorf("deciding twice: %v", err)
	}
	// (The server's clock stands still, so "newest first" cannot order them.)
	if got := e.mustPTU("quota", "request", "list", "--query", "sort([].properties.state)", "-o", "tsv"); got != "Approved\nRejected\n" {
		t.Errorf("list printed %q", got)
	}
	if got := e.mustPTU("quota", "request", "list", "--all", "--query", "length(@)"); got != "2\n" {
		t.Errorf("list --all printed %q", got)
	}
}

// TestCLIWaitsForCreations: on a server whose creations are long-running
// operations (the default provisioningDelay, real time), the CLI polls
// Azure-AsyncOperation and prints the account and the deployment once they
// are Succeeded, as az does.
func TestCLIWaitsForCreations(t *testing.T) {
	s := testserver.Start(t, server.Options{SimTimeScale: 1000, ProvisioningDelay: 300 * time.Millisecond})
	useServer(t, s.URL, s.AdminToken)
	out, errOut, err := ptu(t, "", "cognitiveservices", "account", "create", "-n", "lro", "-g", "rg", "-l", "eastus",
		"--kind", "OpenAI", "--sku", "S0", "--yes", "--query", "properties.provisioningState", "-o", "tsv")
	if err != nil || strings.TrimSpace(out) != "Succeeded" {
		t.Fatalf("account create: %q %v %s", out, err, errOut)
	}
	out, errOut, err = ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "lro", "-g", "rg",
		"--deployment-name", "gpt-4o", "--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI",
		"--sku-name", "GlobalProvisionedManaged", "--sku-capacity", "15", "--yes", "--query", "properties.provisioningState", "-o", "tsv")
	if err != nil || strings.TrimSpace(out) != "Succeeded" {
		t.Fatalf("deployment create: %q %v %s", out, err, errOut)
	}
}
