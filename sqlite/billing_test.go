package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// TestBillingMigrationSeedsHistory: deployments that exist when the billing
// migration runs get a first capacity history entry at their last update, so
// they are billed from then on.
func TestBillingMigrationSeedsHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ptu.db")
	db := open(t, path)
	updated := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	d := ptu.Deployment{SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "Acct", Name: "Dep", Region: "eastus",
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.ProvisionedManaged,
		Capacity: 150, State: ptu.StateSucceeded, CreatedAt: updated.Add(-time.Hour), UpdatedAt: updated}
	if err := db.Update(t.Context(), func(tx ptu.Tx) error {
		if err := tx.Subscriptions().Put(ptu.Subscription{ID: "sub"}); err != nil {
			return err
		}
		if err := tx.Accounts().Put(ptu.Account{SubscriptionID: "sub", ResourceGroup: "RG", Name: "Acct", Location: "eastus", CustomSubDomain: "acct"}); err != nil {
			return err
		}
		return tx.Deployments().Put(d)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Take the database back to before the billing migration.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TABLE capacity_changes`, `DROP TABLE reservations`, `DROP TABLE token_usage`,
		`DELETE FROM schema_migrations WHERE version = '0003_billing.sql'`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()

	db = open(t, path)
	defer db.Close()
	var got []ptu.CapacityChange
	if err := db.View(t.Context(), func(tx ptu.Tx) (err error) {
		got, err = tx.CapacityChanges().List(ptu.CapacityChangeFilter{SubscriptionID: "sub"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := ptu.CapacityChange{SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "Acct", Deployment: "Dep", Region: "eastus",
		Model: d.Model, SKUName: ptu.ProvisionedManaged, Capacity: 150, At: updated}
	if len(got) != 1 || got[0] != want {
		t.Errorf("seeded history: %+v, want [%+v]", got, want)
	}
}
