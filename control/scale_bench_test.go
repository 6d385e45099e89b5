package control_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testenv"
	"github.com/ptu-dev/ptu/postgres"
	"github.com/ptu-dev/ptu/sqlite"
)

// scaleConfig holds room for tens of thousands of deployments in one
// subscription and region.
const scaleConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
  - {name: westus3, displayName: West US 3, dataZone: us}
pools:
  - {region: eastus, model: gpt-4o-mini, version: "2024-07-18", ptu: 10000000}
  - {region: westus3, model: gpt-4o-mini, version: "2024-07-18", ptu: 1000}
defaultQuota:
  ProvisionedManaged: 10000000
  GlobalProvisionedManaged: 10000000
  DataZoneProvisionedManaged: 10000000
subscriptions:
  - {id: ` + sub + `, displayName: scale}
`

// scaleAnalyze reports whether BenchmarkCreateDeployments analyzes the
// PostgreSQL tables as autovacuum's auto-analyze would with its defaults
// (PTU_SCALE_ANALYZE=1), for servers that run with autovacuum off.
func scaleAnalyze() bool { return os.Getenv("PTU_SCALE_ANALYZE") == "1" }

// scaleDeployments is how many deployments BenchmarkCreateDeployments makes
// (PTU_SCALE_DEPLOYMENTS, default 2,000).
func scaleDeployments() int {
	if n, err := strconv.Atoi(os.Getenv("PTU_SCALE_DEPLOYMENTS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// BenchmarkCreateDeployments makes N deployments of 15 PTU in one
// subscription and region, 1,000 per account (the portal's limit is far
// higher; the accounts only spread the names), and reports the time of the
// first and last 10% of creates, so a cost that grows with the count shows
// as a ratio above 1. With PTU_SCALE_ANALYZE=1 it runs ANALYZE on the
// PostgreSQL schema whenever autovacuum would (50 rows plus 10% of those at
// the last analysis changed), outside the timed creates. Then it opens a new control plane on the same store
// (what ptu serve does at startup) and reports that time.
func BenchmarkCreateDeployments(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				benchCreate(b, kind, scaleDeployments())
			}
		})
	}
}

func benchCreate(b *testing.B, kind string, n int) {
	ctx := context.Background()
	cfg, err := config.Parse([]byte(scaleConfig))
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog.Default()
	var store control.Store
	analyze := func(int) {}
	switch kind {
	case "sqlite":
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "ptu.db"))
		if err != nil {
			b.Fatal(err)
		}
		store = db
	case "postgres":
		url := testenv.PostgresSchema(b)
		db, err := postgres.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		store = db
		if scaleAnalyze() {
			analyze = autoAnalyze(b, url)
		}
	}
	defer store.Close()
	svc := control.New(store, cat, control.Options{DefaultQuota: cfg.DefaultQuota})
	if err := svc.Bootstrap(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	capacity := 15
	tenth := max(1, n/10)
	var first, last time.Duration
	start := time.Now()
	for i := range n {
		acct := fmt.Sprintf("scale%d", i/1000)
		if i%1000 == 0 {
			if _, _, err := svc.PutAccount(ctx, sub, "rg", acct, control.AccountInput{Location: "eastus"}); err != nil {
				b.Fatal(err)
			}
		}
		analyze(i)
		t0 := time.Now()
		if _, _, err := svc.PutDeployment(ctx, sub, "rg", acct, fmt.Sprintf("d%05d", i), control.DeploymentInput{
			Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o-mini", Version: "2024-07-18"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
			b.Fatal(err)
		}
		switch d := time.Since(t0); {
		case i < tenth:
			first += d
		case i >= n-tenth:
			last += d
		}
	}
	total := time.Since(start)
	b.ReportMetric(total.Seconds(), "s-create-all")
	b.ReportMetric(float64(first.Microseconds())/float64(tenth), "µs/create-first10%")
	b.ReportMetric(float64(last.Microseconds())/float64(tenth), "µs/create-last10%")
	t0 := time.Now()
	svc2 := control.New(store, cat, control.Options{DefaultQuota: cfg.DefaultQuota})
	if err := svc2.Bootstrap(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	if _, err := svc2.ListDeployments(ctx, sub, "rg", "scale0"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(t0).Seconds()*1000, "ms-restart")
}

// autoAnalyze returns what stands in for auto-analyze on the schema at url:
// called with the number of deployments made so far, it runs ANALYZE when
// autovacuum's default thresholds (autovacuum_analyze_threshold 50,
// autovacuum_analyze_scale_factor 0.1) would.
func autoAnalyze(b *testing.B, url string) func(int) {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	last := 0
	return func(made int) {
		if made-last < 50+last/10 {
			return
		}
		if _, err := conn.Exec(context.Background(), `ANALYZE accounts, deployments, allocations, capacity_changes, deployment_usage, pool_usage`); err != nil {
			b.Fatal(err)
		}
		last = made
	}
}
