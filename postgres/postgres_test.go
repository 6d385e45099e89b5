package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/postgres"
	"github.com/ptu-dev/ptu/storetest"
)

// schemaURL creates a fresh schema, dropped when the test ends, and returns
// a URL whose search_path selects it.
func schemaURL(t *testing.T) string { return testenv.PostgresSchema(t) }

func open(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// newDB opens a fresh schema, closed when the test ends.
func newDB(t *testing.T) *postgres.DB {
	db := open(t, schemaURL(t))
	t.Cleanup(func() { db.Close() })
	return db
}

func newStore(t *testing.T) ptu.Store { return newDB(t) }

func TestStore(t *testing.T)       { storetest.Run(t, newStore) }
func TestStoreRAI(t *testing.T)    { storetest.RunRAI(t, newStore) }
func TestStoreAccess(t *testing.T) { storetest.RunAccess(t, newStore) }
func TestStoreMetrics(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) ptu.MetricStore { return newDB(t) })
}
func TestStoreUsage(t *testing.T) {
	storetest.RunUsage(t, func(t *testing.T) ptu.UsageStore { return newDB(t) })
}
func TestStoreActivity(t *testing.T) {
	storetest.RunActivity(t, func(t *testing.T) ptu.ActivityLog { return newDB(t) })
}

// Two handles on one schema, as two replicas have.
func TestStoreShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (storetest.Series, storetest.Series) {
		u := schemaURL(t)
		a, b := open(t, u), open(t, u)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	})
}

// Metric points, token counts and activity events are written while a
// control-plane Update holds its lock, from another handle: they do not wait
// for it.
func TestDataWritesDoNotWaitForUpdates(t *testing.T) {
	u := schemaURL(t)
	holder, writer := open(t, u), open(t, u)
	defer holder.Close()
	defer writer.Close()
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- holder.Update(t.Context(), func(tx ptu.Tx) error {
			if err := tx.Regions().Put(ptu.Region{Name: "eastus"}); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	writes := make(chan error, 1)
	go func() {
		ctx := t.Context()
		now := time.Now().UTC()
		writes <- errors.Join(
			writer.AddMetricPoints(ctx, []ptu.MetricPoint{{Resource: "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/a",
				Metric: "AzureOpenAIRequests", Grain: time.Minute, Time: now.Truncate(time.Minute), Count: 1, Total: 1}}),
			writer.AddTokenUsage(ctx, []ptu.TokenUsage{{SubscriptionID: "s", ResourceGroup: "rg", AccountName: "a", Deployment: "d",
				Region: "eastus", Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: "Standard",
				Hour: now.Truncate(time.Hour), Calls: 1, PromptTokens: 10}}),
			writer.AddActivityEvent(ctx, ptu.ActivityEvent{ID: "e1", Time: now, CallerID: "admin", Caller: "admin",
				Operation: "Microsoft.CognitiveServices/accounts/write", Scope: "/subscriptions/s", SubscriptionID: "s",
				Method: "PUT", URI: "/subscriptions/s", Status: "Failed", HTTPStatus: 403}),
		)
	}()
	select {
	case err := <-writes:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("data writes waited for an open Update")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	if db, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=bogus"); err == nil {
		db.Close()
		t.Error("Open with a malformed URL succeeded")
	}
}

func TestReopen(t *testing.T) {
	u := schemaURL(t)
	storetest.Reopen(t, func(t *testing.T) ptu.Store { return open(t, u) })
}

// Replicas starting together each run the migrations; they are applied once.
func TestMigrationsApplyOnce(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	u := schemaURL(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := postgres.Open(t.Context(), u)
			if err == nil {
				err = db.Update(t.Context(), func(tx ptu.Tx) error {
					return tx.Regions().Put(ptu.Region{Name: "eastus", DisplayName: "East US", DataZone: "us"})
				})
				db.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(files))
	}
}

func TestViewIsReadOnly(t *testing.T) {
	db := open(t, schemaURL(t))
	defer db.Close()
	err := db.View(t.Context(), func(tx ptu.Tx) error {
		return tx.Regions().Put(ptu.Region{Name: "eastus"})
	})
	if err == nil {
		t.Error("a write inside View succeeded")
	}
}

// Updates from separate connection pools (as from separate replicas) run one
// at a time: a read-check-write never lets two writers past the same check.
func TestUpdatesSerializeAcrossHandles(t *testing.T) {
	u := schemaURL(t)
	dbs := []*postgres.DB{open(t, u), open(t, u), open(t, u)}
	for _, db := range dbs {
		defer db.Close()
	}
	const limit, writers = 10, 40
	if err := dbs[0].Update(t.Context(), func(tx ptu.Tx) error {
		return tx.QuotaLimits().Put(ptu.QuotaLimit{SubscriptionID: "sub", Region: "eastus", SKUName: "S", Limit: 0})
	}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			errs <- dbs[i%len(dbs)].Update(t.Context(), func(tx ptu.Tx) error {
				qs, err := tx.QuotaLimits().List("sub")
				if err != nil {
					return err
				}
				if qs[0].Limit >= limit {
					return nil
				}
				time.Sleep(time.Millisecond) // widen the window a race would need
				qs[0].Limit++
				return tx.QuotaLimits().Put(qs[0])
			})
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := dbs[1].View(t.Context(), func(tx ptu.Tx) error {
		qs, err := tx.QuotaLimits().List("SUB")
		if err != nil {
			return err
		}
		if qs[0].Limit != limit {
			t.Errorf("limit = %d after %d capped increments, want %d", qs[0].Limit, writers, limit)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A commit through one handle reaches the listener of another; a failed
// Update sends nothing.
func TestListenSeesOtherWriters(t *testing.T) {
	u := schemaURL(t)
	listener, writer := open(t, u), open(t, u)
	defer listener.Close()
	defer writer.Close()
	ctx, cancel := context.WithCancel(t.Context())
	changed := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- listener.Listen(ctx, func() { changed <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatalf("no call to changed after %s", what)
		}
	}
	wait("connecting")

	if err := writer.Update(t.Context(), func(tx ptu.Tx) error {
		return tx.Regions().Put(ptu.Region{Name: "eastus"})
	}); err != nil {
		t.Fatal(err)
	}
	wait("a commit")

	failed := writer.Update(t.Context(), func(tx ptu.Tx) error {
		if err := tx.Regions().Put(ptu.Region{Name: "westus"}); err != nil {
			return err
		}
		return ptu.ErrNotFound
	})
	if failed == nil {
		t.Fatal("failing Update succeeded")
	}
	// A commit after it: the next notification is this one's, none was queued by the rollback.
	if err := writer.Update(t.Context(), func(tx ptu.Tx) error {
		return tx.Regions().Put(ptu.Region{Name: "northeurope"})
	}); err != nil {
		t.Fatal(err)
	}
	wait("the second commit")
	select {
	case <-changed:
		t.Error("a rolled-back Update notified")
	case <-time.After(300 * time.Millisecond):
	}

	// Measurements flushed by every replica every few seconds are cached
	// nowhere: they notify no one.
	if err := errors.Join(
		writer.AddMetricPoints(ctx, []ptu.MetricPoint{{Resource: "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/a",
			Metric: "AzureOpenAIRequests", Grain: time.Minute, Time: time.Now().UTC().Truncate(time.Minute), Count: 1, Total: 1}}),
		writer.AddTokenUsage(ctx, []ptu.TokenUsage{{SubscriptionID: "s", ResourceGroup: "rg", AccountName: "a", Deployment: "d",
			Region: "eastus", Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: "Standard", Hour: time.Now().UTC().Truncate(time.Hour), Calls: 1, PromptTokens: 10}}),
		writer.AddActivityEvent(ctx, ptu.ActivityEvent{ID: "e1", Time: time.Now().UTC(), CallerID: "admin", Caller: "admin",
			Operation: "Microsoft.CognitiveServices/accounts/write", Scope: "/subscriptions/s", SubscriptionID: "s",
			Method: "PUT", URI: "/subscriptions/s", Status: "Failed", HTTPStatus: 403}),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.DeleteMetricsBefore(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Error("writing metric points, token counts and activity notified")
	case <-time.After(300 * time.Millisecond):
	}

	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Listen returned %v, want context.Canceled", err)
	}
}

// TestBillingMigrationSeedsHistory: deployments that exist when the billing
// migration runs get a first capacity history entry at their last update.
func TestBillingMigrationSeedsHistory(t *testing.T) {
	u := schemaURL(t)
	db := open(t, u)
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
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TABLE capacity_changes`, `DROP TABLE reservations`, `DROP TABLE token_usage`,
		`DELETE FROM schema_migrations WHERE version = '0003_billing.sql'`,
	} {
		if _, err := conn.Exec(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close(t.Context())

	db = open(t, u)
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
