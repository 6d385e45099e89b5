package main

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/testenv"

	domain "github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/postgres"
	"github.com/ptu-dev/ptu/server"
)

// migrateTarget is a fresh schema of the test PostgreSQL, dropped at the end.
func migrateTarget(t *testing.T) string { return testenv.PostgresSchema(t) }

func TestAdminMigrate(t *testing.T) {
	to := migrateTarget(t)
	dir := t.TempDir()
	ctx := t.Context()
	s, err := server.New(ctx, server.Options{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sub := s.Config.Subscriptions[0].ID
	a, _, err := s.Control.PutAccount(ctx, sub, "RG", "Acct", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if _, _, err := s.Control.PutDeployment(ctx, sub, "RG", "Acct", "gpt-4o", control.DeploymentInput{
		Model: domain.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: domain.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := s.Store.AddTokenUsage(ctx, []domain.TokenUsage{{SubscriptionID: sub, ResourceGroup: "RG", AccountName: "Acct", Deployment: "gpt-4o",
		Region: "eastus", SKUName: domain.GlobalProvisionedManaged, Hour: hour, Calls: 3, PromptTokens: 30}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.AddMetricPoints(ctx, []domain.MetricPoint{{Resource: a.ID(), Metric: "ProcessedPromptTokens", Time: hour, Grain: time.Minute, Count: 1, Total: 30, Minimum: 30, Maximum: 30}}); err != nil {
		t.Fatal(err)
	}
	var want [4]int
	if err := s.Store.View(ctx, func(tx domain.Tx) error {
		pools, _ := tx.Pools().List()
		changes, _ := tx.CapacityChanges().List(domain.CapacityChangeFilter{})
		limits, _ := tx.QuotaLimits().List("")
		regions, _ := tx.Regions().List()
		want = [4]int{len(pools), len(changes), len(limits), len(regions)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	run := func() error {
		cmd := newRoot()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"admin", "migrate", "--from", filepath.Join(dir, "ptu.db"), "--to", to})
		err := cmd.ExecuteContext(ctx)
		t.Log(out.String())
		return err
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil {
		t.Error("a second migrate into the same database succeeded")
	}

	db, err := postgres.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(ctx, func(tx domain.Tx) error {
		got, err := tx.Accounts().GetBySubDomain(a.CustomSubDomain)
		if err != nil {
			return err
		}
		if got.Key1 != a.Key1 || got.Key2 != a.Key2 || got.Name != "Acct" {
			t.Errorf("account after migrate: %+v, want keys of %+v", got, a)
		}
		d, err := tx.Deployments().Get(sub, "rg", "acct", "GPT-4O")
		if err != nil {
			return err
		}
		if d.Capacity != 15 || len(d.Allocations) == 0 {
			t.Errorf("deployment after migrate: %+v", d)
		}
		pools, _ := tx.Pools().List()
		changes, _ := tx.CapacityChanges().List(domain.CapacityChangeFilter{})
		limits, _ := tx.QuotaLimits().List("")
		regions, _ := tx.Regions().List()
		if got := [4]int{len(pools), len(changes), len(limits), len(regions)}; got != want {
			t.Errorf("pools, capacity changes, quota limits, regions after migrate: %v, want %v", got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	usage, err := db.ListTokenUsage(ctx, domain.TokenUsageFilter{SubscriptionID: sub})
	if err != nil {
		t.Fatal(err)
	}
	if len(usage) != 1 || usage[0].Calls != 3 {
		t.Errorf("token usage after migrate: %+v", usage)
	}
	points, err := db.QueryMetrics(ctx, domain.MetricFilter{Resource: a.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 1 || points[0].Total != 30 {
		t.Errorf("metric points after migrate: %+v", points)
	}
}
