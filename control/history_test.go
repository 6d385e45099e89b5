package control_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/sqlite"
)

// TestCapacityHistory: each billable change of a deployment is recorded with
// the service's clock in the transaction that makes it; changes billing does
// not care about, and refused requests, record nothing.
func TestCapacityHistory(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	svc := control.New(store, catalog.Default(), control.Options{Now: func() time.Time { return now }, DefaultQuota: cfg.DefaultQuota})
	ctx := context.Background()
	if err := svc.Bootstrap(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutAccount(ctx, sub, "rg", "acct", control.AccountInput{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	put := func(name, sku string, capacity int, rai string) error {
		_, _, err := svc.PutDeployment(ctx, sub, "rg", "acct", name, control.DeploymentInput{
			Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: sku, Capacity: &capacity, RAIPolicyName: rai})
		return err
	}
	at := func(min int) time.Time { return time.Date(2026, 3, 1, 10, min, 30, 0, time.UTC) }
	step := func(min int) { now = at(min) }

	step(0)
	mustNoErr(t, put("ptu", ptu.ProvisionedManaged, 100, ""))
	step(5)
	mustNoErr(t, put("ptu", ptu.ProvisionedManaged, 100, "Microsoft.Default")) // not billable: no entry
	step(15)
	mustNoErr(t, put("ptu", ptu.ProvisionedManaged, 150, "")) // resize
	step(20)
	if err := put("ptu", ptu.ProvisionedManaged, 5000, ""); ptu.ErrorCode(err) != ptu.CodeInsufficientQuota {
		t.Fatalf("oversized resize: %v", err) // refused: no entry
	}
	step(25)
	mustNoErr(t, put("ptu", ptu.GlobalProvisionedManaged, 150, "")) // type change
	mustNoErr(t, put("std", ptu.GlobalStandard, 10, ""))
	step(40)
	if _, err := svc.DeleteDeployment(ctx, sub, "rg", "acct", "ptu"); err != nil {
		t.Fatal(err)
	}
	step(41)
	if _, err := svc.DeleteDeployment(ctx, sub, "rg", "acct", "ptu"); err != nil { // already gone: no entry
		t.Fatal(err)
	}
	step(45)
	mustNoErr(t, put("ptu2", ptu.DataZoneProvisionedManaged, 15, ""))
	step(50)
	if _, err := svc.DeleteAccount(ctx, sub, "rg", "acct"); err != nil {
		t.Fatal(err)
	}

	var got []ptu.CapacityChange
	if err := store.View(ctx, func(tx ptu.Tx) (err error) {
		got, err = tx.CapacityChanges().List(ptu.CapacityChangeFilter{SubscriptionID: sub})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		dep, sku string
		capacity int
		at       time.Time
	}
	want := []entry{
		{"ptu", ptu.ProvisionedManaged, 100, at(0)},
		{"ptu", ptu.ProvisionedManaged, 150, at(15)},
		{"ptu", ptu.GlobalProvisionedManaged, 150, at(25)},
		{"std", ptu.GlobalStandard, 10, at(25)},
		{"ptu", ptu.GlobalProvisionedManaged, 0, at(40)},
		{"ptu2", ptu.DataZoneProvisionedManaged, 15, at(45)},
		{"ptu2", ptu.DataZoneProvisionedManaged, 0, at(50)},
		{"std", ptu.GlobalStandard, 0, at(50)},
	}
	if len(got) != len(want) {
		t.Fatalf("history has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Deployment != w.dep || g.SKUName != w.sku || g.Capacity != w.capacity || !g.At.Equal(w.at) ||
			g.ResourceGroup != "rg" || g.AccountName != "acct" || g.Region != "eastus" || g.Model.Name != "gpt-4o" {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
