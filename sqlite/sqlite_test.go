package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/sqlite"
	"github.com/ptu-dev/ptu/storetest"
)

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ptu.Store {
		return open(t, filepath.Join(t.TempDir(), "ptu.db"))
	})
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "ptu.db")
	db := open(t, path)
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", filepath.Join(t.TempDir(), "x.db?mode=ro")} {
		if db, err := sqlite.Open(path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ptu.db")
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

	db := open(t, path)
	if err := db.Update(t.Context(), func(tx ptu.Tx) error {
		if err := tx.PutPool(pool); err != nil {
			return err
		}
		if err := tx.PutAccount(acct); err != nil {
			return err
		}
		return tx.PutDeployment(dep)
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path)
	defer db.Close()
	if err := db.View(t.Context(), func(tx ptu.Tx) error {
		a, err := tx.GetAccountBySubDomain("ACCT")
		if err != nil {
			return err
		}
		if a.Name != "Acct" || a.Tags["k"] != "v" || !a.CreatedAt.Equal(created) {
			t.Errorf("account after reopen = %+v", a)
		}
		d, err := tx.GetDeployment("sub", "rg", "acct", "D")
		if err != nil {
			return err
		}
		if len(d.Allocations) != 1 || d.Allocations[0] != dep.Allocations[0] {
			t.Errorf("allocations after reopen = %+v, want %+v", d.Allocations, dep.Allocations)
		}
		m, err := tx.PoolAllocations()
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

func TestMigrationsApplyOnce(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	path := filepath.Join(t.TempDir(), "ptu.db")

	for range 3 {
		db := open(t, path)
		if err := db.Update(t.Context(), func(tx ptu.Tx) error {
			return tx.PutRegion(ptu.Region{Name: "eastus", DisplayName: "East US", DataZone: "us"})
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(files))
	}
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestViewIsReadOnly(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "ptu.db"))
	defer db.Close()
	err := db.View(t.Context(), func(tx ptu.Tx) error {
		return tx.PutRegion(ptu.Region{Name: "eastus"})
	})
	if err == nil {
		t.Error("a write inside View succeeded")
	}
}
