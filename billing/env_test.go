package billing_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/sqlite"
)

const sub = "6d3a1c2e-8f4b-4a9e-9c71-2b5e0f7a4d10"

const testConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
  - {name: westus, displayName: West US, dataZone: us}
  - {name: swedencentral, displayName: Sweden Central, dataZone: eu}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 5000}
  - {region: westus, model: gpt-4o, version: "2024-08-06", ptu: 5000}
  - {region: swedencentral, model: gpt-4o, version: "2024-08-06", ptu: 5000}
defaultQuota:
  ProvisionedManaged: 3000
  GlobalProvisionedManaged: 3000
  DataZoneProvisionedManaged: 3000
subscriptions:
  - {id: ` + sub + `, displayName: test}
`

// day0 is 2026-03-01 00:00 UTC, a Sunday; March has 31 days.
var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// env is the control plane and billing over one SQLite store, sharing a clock
// that moves only when a test sets it.
type env struct {
	t     testing.TB
	ctx   context.Context
	store *sqlite.DB
	ctl   *control.Service
	bill  *billing.Service
	now   time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, ctx: context.Background(), store: store, now: day0}
	clock := func() time.Time { return e.now }
	cat := catalog.Default()
	e.ctl = control.New(store, cat, control.Options{Now: clock, DefaultQuota: cfg.DefaultQuota})
	e.bill = billing.New(store, cat, billing.Options{Now: clock})
	if err := e.ctl.Bootstrap(e.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) at(t time.Time) { e.now = t }

func (e *env) account(rg, name, region string) {
	e.t.Helper()
	if _, _, err := e.ctl.PutAccount(e.ctx, sub, rg, name, control.AccountInput{Location: region}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deploy(rg, acct, name, sku string, capacity int) {
	e.t.Helper()
	_, _, err := e.ctl.PutDeployment(e.ctx, sub, rg, acct, name, control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: sku, Capacity: &capacity})
	if err != nil {
		e.t.Fatalf("deploy %s %d: %v", name, capacity, err)
	}
}

func (e *env) undeploy(rg, acct, name string) {
	e.t.Helper()
	if _, err := e.ctl.DeleteDeployment(e.ctx, sub, rg, acct, name); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) purchase(in billing.ReservationInput) billing.Reservation {
	e.t.Helper()
	r, err := e.bill.PurchaseReservation(e.ctx, sub, in)
	if err != nil {
		e.t.Fatalf("purchase %+v: %v", in, err)
	}
	return r
}

func (e *env) usage(q billing.UsageQuery) *billing.UsageReport {
	e.t.Helper()
	q.SubscriptionID = sub
	rep, err := e.bill.Usage(e.ctx, q)
	if err != nil {
		e.t.Fatalf("usage %+v: %v", q, err)
	}
	return rep
}

func (e *env) reservations(q billing.ReservationQuery) *billing.ReservationReport {
	e.t.Helper()
	q.SubscriptionID = sub
	rep, err := e.bill.Reservations(e.ctx, q)
	if err != nil {
		e.t.Fatalf("reservations %+v: %v", q, err)
	}
	return rep
}

// hourly returns the hourly lines of one deployment over [from, to).
func (e *env) hourly(dep string, from, to time.Time) []billing.UsageLine {
	e.t.Helper()
	return e.usage(billing.UsageQuery{From: from, To: to, Granularity: billing.Hourly, Deployment: dep}).Lines
}

// line is the figures of a usage line a test checks.
type line struct {
	ptuMin, reservedMin, paygMin, paygCost int64
}

func figures(l billing.UsageLine) line {
	return line{l.PTUMinutes, l.ReservedPTUMinutes, l.PayAsYouGoPTUMinutes, l.PayAsYouGoCostMicros}
}

const (
	hour = time.Hour
	day  = 24 * time.Hour
)
