package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

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

// openTemp opens a new database in a temporary directory, closed when the
// test ends.
func openTemp(t *testing.T) *sqlite.DB {
	db := open(t, filepath.Join(t.TempDir(), "ptu.db"))
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ptu.Store {
		return open(t, filepath.Join(t.TempDir(), "ptu.db"))
	})
}

func TestStoreMetrics(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) ptu.MetricStore { return openTemp(t) })
}

func TestStoreUsage(t *testing.T) {
	storetest.RunUsage(t, func(t *testing.T) ptu.UsageStore { return openTemp(t) })
}

func TestStoreActivity(t *testing.T) {
	storetest.RunActivity(t, func(t *testing.T) ptu.ActivityLog { return openTemp(t) })
}

// Two handles on one file, as two processes sharing it have.
func TestStoreShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (storetest.Series, storetest.Series) {
		path := filepath.Join(t.TempDir(), "ptu.db")
		a, b := open(t, path), open(t, path)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
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
	storetest.Reopen(t, func(t *testing.T) ptu.Store { return open(t, path) })
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
			return tx.Regions().Put(ptu.Region{Name: "eastus", DisplayName: "East US", DataZone: "us"})
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
		return tx.Regions().Put(ptu.Region{Name: "eastus"})
	})
	if err == nil {
		t.Error("a write inside View succeeded")
	}
}
