package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/sqlite"
)

// billingCLIEnv is an ARM server with billing over the default configuration
// (what `ptu serve` runs), on a clock the test moves, with the environment
// pointing the CLI at it.
type billingCLIEnv struct {
	*clock.Fake
	t *testing.T
}

func newBillingCLIEnv(t *testing.T) *billingCLIEnv {
	t.Helper()
	e := &billingCLIEnv{t: t, Fake: clock.NewFake(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg, cat := config.Default(), catalog.Default()
	svc := control.New(store, cat, control.Options{Now: e.Now, PublicURL: "http://ptu.test", DefaultQuota: cfg.DefaultQuota})
	if err := svc.Bootstrap(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	h := arm.New(arm.ServicesOf(svc), arm.Options{AdminToken: "test-token", Logger: slog.New(slog.DiscardHandler),
		Billing: billing.New(store, cat, billing.Options{Now: e.Now})})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	useServer(t, ts.URL, "test-token")
	return e
}

func (e *billingCLIEnv) must(stdin string, args ...string) (string, string) {
	e.t.Helper()
	out, errOut, err := ptu(e.t, stdin, args...)
	if err != nil {
		e.t.Fatalf("ptu %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// billingGolden compares got, with reservation ids replaced by {reservationN}
// in order of appearance, with testdata/name.golden.
func billingGolden(t *testing.T, name, got string, ids []string) {
	t.Helper()
	for i, id := range ids {
		got = strings.ReplaceAll(got, id, "{reservation"+string(rune('1'+i))+"}")
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/ptu -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

var seedArgs = []string{"cognitiveservices", "account", "deployment", "create", "--name", "my-resource", "--resource-group", "my-group",
	"--deployment-name", "MyModel", "--model-name", "GPT-4", "--model-version", "0613", "--model-format", "OpenAI",
	"--sku-capacity", "100", "--sku-name", "ProvisionedManaged"}

// TestDeploymentCreateConfirmsPrice: the seed's "confirm pricing" step.
func TestDeploymentCreateConfirmsPrice(t *testing.T) {
	e := newBillingCLIEnv(t)
	e.must("", "cognitiveservices", "account", "create", "-n", "my-resource", "-g", "my-group", "-l", "southcentralus", "--kind", "OpenAI", "--sku", "S0")
	exists := func() bool {
		_, _, err := ptu(t, "", "cognitiveservices", "account", "deployment", "show", "-n", "my-resource", "-g", "my-group", "--deployment-name", "MyModel")
		return err == nil
	}
	del := func() {
		e.must("", "cognitiveservices", "account", "deployment", "delete", "-n", "my-resource", "-g", "my-group", "--deployment-name", "MyModel")
	}

	// On a terminal, a refusal creates nothing.
	defer func(f func(io.Reader) bool) { stdinIsTerminal = f }(stdinIsTerminal)
	stdinIsTerminal = func(io.Reader) bool { return true }
	out, errOut, err := ptu(t, "n\n", seedArgs...)
	if err == nil || !strings.Contains(err.Error(), "not confirmed") || out != "" || exists() {
		t.Fatalf("refused on a terminal: err %v, stdout %q", err, out)
	}
	billingGolden(t, "deployment-create-price-prompt", errOut, nil)

	// Accepted, it is created.
	out, errOut = e.must("y\n", seedArgs...)
	if !strings.Contains(errOut, "(y/N): ") || !strings.Contains(out, `"name": "MyModel"`) || !exists() {
		t.Fatalf("accepted on a terminal: stderr %q", errOut)
	}
	del()

	// --yes neither shows nor asks.
	out, errOut = e.must("", append(seedArgs, "--yes")...)
	if errOut != "" || !strings.Contains(out, `"name": "MyModel"`) || !exists() {
		t.Errorf("--yes: stderr %q", errOut)
	}
	del()

	// Not a terminal: the price is shown on stderr and the deployment created,
	// so the guide's command runs unchanged in a script.
	stdinIsTerminal = func(io.Reader) bool { return false }
	out, errOut = e.must("", seedArgs...)
	if !strings.Contains(errOut, "$200.00 per hour, $146,000.00 per month (730 hours)") || !strings.Contains(errOut, "not a terminal") ||
		strings.Contains(errOut, "(y/N)") || !exists() || !strings.Contains(out, `"capacity": 100`) {
		t.Errorf("not a terminal: stderr %q", errOut)
	}

	// A Standard deployment has no hourly price to confirm.
	_, errOut = e.must("", "cognitiveservices", "account", "deployment", "create", "-n", "my-resource", "-g", "my-group",
		"--deployment-name", "std", "--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI",
		"--sku-name", "Standard", "--sku-capacity", "10")
	if errOut != "" {
		t.Errorf("standard deployment: stderr %q", errOut)
	}
	// A bad size shows no price: the create reports it.
	_, errOut, err = ptu(t, "", "cognitiveservices", "account", "deployment", "create", "-n", "my-resource", "-g", "my-group",
		"--deployment-name", "odd", "--model-name", "gpt-4", "--model-version", "0613", "--model-format", "OpenAI",
		"--sku-name", "ProvisionedManaged", "--sku-capacity", "75")
	if err == nil || !strings.Contains(err.Error(), "InvalidCapacity") || strings.Contains(errOut, "Price") {
		t.Errorf("bad size: %v, stderr %q", err, errOut)
	}
}

func TestPricingShow(t *testing.T) {
	newBillingCLIEnv(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"pricing-show-table", []string{"pricing", "show", "--model-name", "gpt-4o", "--model-version", "2024-08-06", "-o", "table"}},
		{"pricing-quote-table", []string{"pricing", "show", "--model-name", "gpt-4", "--model-version", "0613", "--sku-name", "ProvisionedManaged",
			"--sku-capacity", "100", "-o", "table"}},
		{"pricing-quote-json", []string{"pricing", "show", "--model-name", "gpt-4o", "--model-version", "2024-08-06", "--sku", "GlobalProvisionedManaged",
			"--capacity", "15"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := ptu(t, "", tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			billingGolden(t, tc.name, out, nil)
		})
	}
	if _, _, err := ptu(t, "", "pricing", "show", "--sku-capacity", "15"); err == nil || !strings.Contains(err.Error(), "--model-name") {
		t.Errorf("quote without a model: %v", err)
	}
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// TestReservationsAndBilling buys a reservation sized to a deployment, lets
// hours pass, and reads the bill as CSV.
func TestReservationsAndBilling(t *testing.T) {
	e := newBillingCLIEnv(t)
	e.must("", "cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")
	e.must("", "cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", "gpt-4o",
		"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku", "GlobalProvisionedManaged",
		"--capacity", "30", "--yes")

	_, _, err := ptu(t, "", "reservation", "purchase", "-l", "eastus", "--sku", "GlobalProvisionedManaged", "--quantity", "40", "--term", "P1M")
	if err == nil || !strings.Contains(err.Error(), "Code: InvalidResourceProperties") || !strings.Contains(err.Error(), "reserve at most 30 PTUs") {
		t.Fatalf("oversized purchase: %v", err)
	}
	e.Set(e.Now().Add(30 * time.Minute))
	id, _ := e.must("", "reservation", "purchase", "-l", "eastus", "--sku", "GlobalProvisionedManaged", "--quantity", "20", "--term", "P1Y",
		"--billing-plan", "Upfront", "--display-name", "demo", "--query", "name", "-o", "tsv")
	id = strings.TrimSpace(id)
	if !uuidRE.MatchString(id) {
		t.Fatalf("purchase printed %q", id)
	}
	e.must("", "reservation", "update", id, "--renew")
	list, _ := e.must("", "reservation", "list", "--query", "[].{name:properties.displayName, sku:properties.skuName, ptu:properties.quantity, term:properties.term, renew:properties.autoRenew, state:properties.state, ends:properties.termEndDateTime}", "-o", "table")
	billingGolden(t, "reservation-list-table", list, []string{id})

	e.Set(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC))
	usage, _ := e.must("", "billing", "usage", "list", "--from", "2026-03-01T08:00:00Z", "--to", "2026-03-01T11:00:00Z", "--granularity", "Hourly", "-o", "csv")
	billingGolden(t, "billing-usage-hourly-csv", usage, []string{id})
	table, _ := e.must("", "billing", "usage", "list", "--from", "2026-03-01", "--to", "2026-03-01T11:00:00Z", "--group-by", "Account", "--granularity", "None", "-o", "table",
		"--query", "[].{account:account, ptuMinutes:ptuMinutes, reserved:reservedPTUMinutes, paygMicros:payAsYouGoCostMicros, reservedMicros:reservedCostMicros}")
	billingGolden(t, "billing-usage-account-table", table, []string{id})

	cancelled, _ := e.must("", "reservation", "cancel", "-n", id, "--query", "properties.state", "-o", "tsv")
	if cancelled != "Cancelled\n" {
		t.Errorf("cancel printed %q", cancelled)
	}
	e.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	res, _ := e.must("", "billing", "reservation", "list", "--from", "2026-03-01", "--to", "2026-03-01T12:00:00Z", "--granularity", "None", "-o", "csv")
	billingGolden(t, "billing-reservation-csv", res, []string{id})
	charges, _ := e.must("", "billing", "charge", "list", "--from", "2026-03-01", "--to", "2026-03-01T12:00:00Z", "-o", "csv")
	billingGolden(t, "billing-charge-csv", charges, []string{id})

	if _, _, err := ptu(t, "", "billing", "usage", "list", "-o", "csv", "--query", "[0]"); err == nil {
		t.Error("--query with csv was accepted")
	}
	if _, _, err := ptu(t, "", "billing", "usage", "list", "--from", "last week"); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("bad --from: %v", err)
	}
	if _, _, err := ptu(t, "", "billing", "usage", "list", "-o", "yaml"); err == nil || !strings.Contains(err.Error(), "csv") {
		t.Errorf("bad --output: %v", err)
	}
}
