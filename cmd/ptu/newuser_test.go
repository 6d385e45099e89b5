package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// ptuIn runs the CLI in-process with in as its standard input, which may be
// a real file or terminal: unlike ptu, the terminal check is not replaced.
func ptuIn(t *testing.T, in io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(in)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// The guide's command against an account in southcentralus.
func (e *cliEnv) seedAccount() {
	e.mustPTU("cognitiveservices", "account", "create", "-n", "my-resource", "-g", "my-group", "-l", "southcentralus",
		"--kind", "OpenAI", "--sku", "S0", "--yes")
}

func (e *cliEnv) deploymentCount(account, rg string) string {
	return e.mustPTU("cognitiveservices", "account", "deployment", "list", "-n", account, "-g", rg, "--query", "length(@)")
}

// TestGuideCommandWithStdinFromDevNull: cron, `ssh -n` and CI give
// /dev/null as standard input. It is a character device but no terminal,
// so the guide's command creates the deployment as az's does, with the price
// on standard error.
func TestGuideCommandWithStdinFromDevNull(t *testing.T) {
	e := newCLIEnv(t)
	e.seedAccount()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	out, errOut, err := ptuIn(t, devNull, seedArgs...)
	if err != nil {
		t.Fatalf("stdin from /dev/null: %v\nstderr: %s", err, errOut)
	}
	if !strings.Contains(out, `"name": "MyModel"`) || strings.Contains(errOut, "(y/N)") ||
		!strings.Contains(errOut, "$146,000.00 per month") || !strings.Contains(errOut, "standard input is not a terminal: creating it") {
		t.Errorf("stdout %q\nstderr %q", out, errOut)
	}
	if got := e.deploymentCount("my-resource", "my-group"); got != "1\n" {
		t.Errorf("deployments after the create: %q", got)
	}
}

// TestPricePromptOnATerminal runs the create on a pseudo-terminal, as a user
// at a shell would: it asks, "n" creates nothing, "y" creates it.
func TestPricePromptOnATerminal(t *testing.T) {
	e := newCLIEnv(t)
	e.seedAccount()
	answer := func(reply string) (string, string, error) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatalf("no pseudo-terminal: %v", err)
		}
		defer ptmx.Close()
		defer tty.Close()
		// The terminal echoes what is typed; drain it so writes never block.
		go func() { _, _ = io.Copy(io.Discard, ptmx) }()
		if _, err := ptmx.Write([]byte(reply + "\n")); err != nil {
			t.Fatal(err)
		}
		return ptuIn(t, tty, seedArgs...)
	}
	out, errOut, err := answer("n")
	if err == nil || !strings.Contains(err.Error(), "the price was not confirmed") || out != "" {
		t.Fatalf(`answered "n": err %v, stdout %q`, err, out)
	}
	if !strings.HasSuffix(errOut, "Create the deployment at this price? (y/N): ") {
		t.Errorf("the prompt: %q", errOut)
	}
	if got := e.deploymentCount("my-resource", "my-group"); got != "0\n" {
		t.Fatalf(`deployments after "n": %q`, got)
	}
	if out, errOut, err = answer("y"); err != nil || !strings.Contains(out, `"capacity": 100`) {
		t.Fatalf(`answered "y": %v, stdout %q, stderr %q`, err, out, errOut)
	}
	if got := e.deploymentCount("my-resource", "my-group"); got != "1\n" {
		t.Errorf(`deployments after "y": %q`, got)
	}
}

// TestZeroCapacityRefused: Azure refuses sku.capacity 0 with InvalidCapacity;
// the CLI sends it as given rather than leaving it out (which would deploy
// the type's default size), and nothing is created.
func TestZeroCapacityRefused(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")
	for _, flag := range []string{"--sku-capacity", "--capacity"} {
		out, errOut, err := ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo",
			"--deployment-name", "gpt-4o", "--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI",
			"--sku-name", "GlobalProvisionedManaged", flag, "0")
		if err == nil || !strings.HasPrefix(err.Error(), "(InvalidCapacity) The specified capacity '0'") || out != "" || strings.Contains(errOut, "Price") {
			t.Errorf("%s 0: err %v, stdout %q, stderr %q", flag, err, out, errOut)
		}
	}
	if got := e.deploymentCount("demo-aoai", "demo"); got != "0\n" {
		t.Errorf("deployments: %q", got)
	}
	if got := e.mustPTU("cognitiveservices", "usage", "list", "-l", "eastus", "--query", "sum([].currentValue)"); got != "0\n" {
		t.Errorf("quota used: %q", got)
	}
}

// TestUpdateSaysItIsAnUpdate: creating a deployment whose name exists
// updates it; the price notice says so and from what.
func TestUpdateSaysItIsAnUpdate(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")
	create := func(version, capacity string) string {
		_, errOut, err := ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo",
			"--deployment-name", "gpt-4o", "--model-name", "gpt-4o", "--model-version", version, "--model-format", "OpenAI",
			"--sku-name", "GlobalProvisionedManaged", "--sku-capacity", capacity)
		if err != nil {
			t.Fatal(err)
		}
		return errOut
	}
	if first := create("2024-08-06", "15"); strings.Contains(first, "Deployment 'gpt-4o' exists") || !strings.Contains(first, "creating it without asking") {
		t.Errorf("first create: %q", first)
	}
	second := create("2024-11-20", "115")
	want := "Deployment 'gpt-4o' exists: this updates it from 15 PTUs of GlobalProvisionedManaged (gpt-4o 2024-08-06) to the size and model below.\n" +
		"Price of deployment 'gpt-4o': 115 PTUs of GlobalProvisionedManaged (gpt-4o 2024-11-20)"
	if !strings.HasPrefix(second, want) || !strings.Contains(second, "updating it without asking") {
		t.Errorf("update notice:\n%s\nwant it to start with:\n%s", second, want)
	}
}

// TestTokenHints: a server on another port with its own data directory. With
// only PTU_ENDPOINT set the CLI says where it looked for the token and how to
// pass one; PTU_ADMIN_TOKEN, what the server was started with, is enough.
func TestTokenHints(t *testing.T) {
	e := newCLIEnv(t)
	t.Setenv("PTU_TOKEN", "")
	t.Setenv("PTU_ADMIN_TOKEN", "")
	empty := t.TempDir()
	t.Setenv("PTU_DATA_DIR", empty)
	_, _, err := ptu(t, "", "cognitiveservices", "usage", "list", "-l", "eastus")
	if err == nil {
		t.Fatal("no token: no error")
	}
	for _, want := range []string{
		"(AuthenticationFailed) Authentication failed. The 'Authorization' header is missing.",
		"No token was sent: there is no " + filepath.Join(empty, "admin-token"),
		"set PTU_DATA_DIR=DIR", "set PTU_ADMIN_TOKEN", "--token", "ptu login",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no token: %q lacks %q", err, want)
		}
	}

	t.Setenv("PTU_ADMIN_TOKEN", e.s.AdminToken)
	if got := e.mustPTU("cognitiveservices", "usage", "list", "-l", "eastus", "--query", "length(@)"); got != "3\n" {
		t.Errorf("with PTU_ADMIN_TOKEN: %q", got)
	}

	t.Setenv("PTU_ADMIN_TOKEN", "")
	t.Setenv("PTU_TOKEN", "not-the-token")
	_, _, err = ptu(t, "", "cognitiveservices", "usage", "list", "-l", "eastus")
	if err == nil || !strings.Contains(err.Error(), "(InvalidAuthenticationToken)") || !strings.Contains(err.Error(), "The token came from PTU_TOKEN") {
		t.Errorf("wrong token: %v", err)
	}
}

// TestQueryColumns: the README's step 6, in a table and in tsv. Every key of
// the multiselect hash is a column (az drops "type"), and tsv keeps the
// query's order (az's OrderedDict), so `read location type available` works.
func TestQueryColumns(t *testing.T) {
	e := newCLIEnv(t)
	base := []string{"cognitiveservices", "model-capacity", "list", "--model-format", "OpenAI", "--model-name", "gpt-4o",
		"--model-version", "2024-11-20", "-l", "westus3", "--query", "[].{location:location, type:name, available:properties.availableCapacity}"}
	e.golden("readme-step6-table", e.mustPTU(append(base, "-o", "table")...))
	e.golden("readme-step6-tsv", e.mustPTU(append(base, "-o", "tsv")...))
	sc := bufio.NewScanner(strings.NewReader(e.mustPTU(append(base, "-o", "tsv")...)))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 || f[0] != "westus3" || !strings.HasSuffix(f[1], "ProvisionedManaged") {
			t.Errorf("tsv line %q: want location, type, available", sc.Text())
		}
	}
}

// TestDefaultTables: -o table without --query shows what a user looks for in
// each list (the quota's name, a deployment's model and size, the capacity
// available), as az's table transformers pick columns per command.
func TestDefaultTables(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")
	e.mustPTU("cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o",
		"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku", "GlobalProvisionedManaged", "--capacity", "15", "--yes")
	e.golden("deployment-show-table", e.mustPTU("cognitiveservices", "account", "deployment", "show", "-n", "demo-aoai", "-g", "demo",
		"--deployment-name", "gpt-4o", "-o", "table"))
	e.golden("model-list-table", e.mustPTU("cognitiveservices", "model", "list", "-l", "eastus", "-o", "table"))
	e.golden("calc-table", e.mustPTU("calc", "--model", "gpt-4o", "--rpm", "1000", "--prompt-tokens", "200", "--completion-tokens", "20", "-o", "table"))

	// A quota request's table says what was asked and its state, not only its id.
	out := e.mustPTU("quota", "request", "create", "-l", "eastus", "--sku-name", "GlobalProvisionedManaged", "--limit", "800", "--reason", "launch", "-o", "table")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || strings.Join(strings.Fields(lines[0]), " ") != "Name Location Sku Limit State Reason Note" ||
		strings.Join(strings.Fields(lines[2])[1:], " ") != "eastus GlobalProvisionedManaged 800 Pending launch" {
		t.Errorf("quota request create -o table:\n%s", out)
	}
}

// TestSubcommandTypo: a typo in a subcommand is named as such, with the
// nearest choice, whatever flags follow it (az: "'lst' is not in the 'az
// cognitiveservices account deployment' command group").
func TestSubcommandTypo(t *testing.T) {
	for args, want := range map[string]string{
		"cognitiveservices account deployment lst -n demo-aoai -g demo": "'lst' is not in the 'ptu cognitiveservices account deployment' command group. See 'ptu cognitiveservices account deployment --help'.\nThe most similar choice to 'lst' is: list",
		"cognitiveservices acount list":                                 "The most similar choice to 'acount' is: account",
		"quota reqest list --all":                                       "The most similar choice to 'reqest' is: request",
		"reservation lst -o table":                                      "The most similar choice to 'lst' is: list",
	} {
		_, _, err := ptu(t, "", strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ptu %s: %v\nwant %q", args, err, want)
		}
	}
	// The group alone still prints its help.
	if out, _, err := ptu(t, "", "cognitiveservices", "account", "deployment"); err != nil || !strings.Contains(out, "Available Commands:") {
		t.Errorf("group alone: %v, %q", err, out)
	}
}

// TestServeBannerSuggestsTheCLI: the banner's next steps are the README's
// CLI commands, with the exports that point the CLI at this server.
func TestServeBannerSuggestsTheCLI(t *testing.T) {
	e := newCLIEnv(t)
	var b bytes.Buffer
	printWelcome(&b, e.s)
	got := b.String()
	for _, want := range []string{
		"export PTU_ENDPOINT=" + e.url + " PTU_DATA_DIR=" + e.s.DataDir + "\n",
		"ptu cognitiveservices usage list -l eastus -o table\n",
		"ptu cognitiveservices account deployment create -n demo-aoai -g demo --deployment-name gpt-4o",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("banner lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "curl -s") {
		t.Errorf("banner still suggests curl:\n%s", got)
	}
}

// TestBenchLoadWrongKey: a run whose calls are all refused (a wrong key)
// stops after the first refusals instead of running its whole duration,
// shows the first error's status and message, and fails.
func TestBenchLoadWrongKey(t *testing.T) {
	e := newCLIEnv(t)
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")
	e.mustPTU("cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o",
		"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku", "GlobalProvisionedManaged", "--capacity", "15", "--yes")
	t.Setenv("OPENAI_API_KEY", "not-a-key")
	// An hour at 600 calls a minute: were the run not stopped, the test would time out.
	stdout, stderr, err := ptu(t, "", "bench", "load", e.url+"/accounts/demo-aoai/", "-e", "gpt-4o", "--duration", "3600", "--rate", "600",
		"--shape-profile", "custom", "-p", "50", "-m", "5")
	const msg = "HTTP 401: Access denied due to invalid subscription key or wrong API endpoint."
	if err == nil || !strings.HasPrefix(err.Error(), "no call succeeded (") || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"ERROR    call failed: " + msg, "  first error    " + msg, "  stopped        every call so far was refused with HTTP 401"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, stdout, stderr)
		}
	}
}
