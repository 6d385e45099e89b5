package storetest

import (
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// Reopen checks that what one store writes is there, unchanged, after it is
// closed and the same database is opened again. open opens that database.
func Reopen(t *testing.T, open func(t *testing.T) ptu.Store) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	acct := ptu.Account{
		SubscriptionID: "sub", ResourceGroup: "RG", Name: "Acct", Location: "eastus",
		CustomSubDomain: "acct", Tags: map[string]string{"k": "v"}, CreatedAt: created,
	}
	pool := ptu.Pool{ID: "eastus/m/1", Region: "eastus", Model: "m", Version: "1", RatedPTU: 100, Backend: "sim"}
	dep := ptu.Deployment{
		SubscriptionID: "sub", ResourceGroup: "RG", AccountName: "Acct", Name: "d", Region: "eastus",
		SKUName: ptu.ProvisionedManaged, Capacity: 30, Allocations: []ptu.Allocation{{PoolID: pool.ID, PTU: 30}},
	}

	db := open(t)
	if err := db.Update(t.Context(), func(tx ptu.Tx) error {
		if err := tx.Pools().Put(pool); err != nil {
			return err
		}
		if err := tx.Accounts().Put(acct); err != nil {
			return err
		}
		return tx.Deployments().Put(dep)
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t)
	defer db.Close()
	if err := db.View(t.Context(), func(tx ptu.Tx) error {
		a, err := tx.Accounts().GetBySubDomain("ACCT")
		if err != nil {
			return err
		}
		if a.Name != "Acct" || a.Tags["k"] != "v" || !a.CreatedAt.Equal(created) {
			t.Errorf("account after reopen = %+v", a)
		}
		d, err := tx.Deployments().Get("sub", "rg", "acct", "D")
		if err != nil {
			return err
		}
		if len(d.Allocations) != 1 || d.Allocations[0] != dep.Allocations[0] {
			t.Errorf("allocations after reopen = %+v, want %+v", d.Allocations, dep.Allocations)
		}
		m, err := tx.Pools().Allocations()
		if err != nil {
			return err
		}
		if m[pool.ID] != 30 {
			t.Errorf("PoolAllocations after reopen = %v", m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
