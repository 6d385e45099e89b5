package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/sqlite"
)

// billingServer is the ARM API with billing over the default configuration,
// on a clock the test sets.
type billingServer struct {
	*clock.Fake
	c *client.Client
}

func newBillingServer(t *testing.T) *billingServer {
	t.Helper()
	b := &billingServer{Fake: clock.NewFake(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "ptu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg, cat := config.Default(), catalog.Default()
	svc := control.New(store, cat, control.Options{Now: b.Now, DefaultQuota: cfg.DefaultQuota})
	if err := svc.Bootstrap(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	h := arm.New(arm.ServicesOf(svc), arm.Options{AdminToken: "tok", Logger: slog.New(slog.DiscardHandler),
		Billing: billing.New(store, cat, billing.Options{Now: b.Now})})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	if b.c, err = client.New(client.WithEndpoint(ts.URL), client.WithToken("tok")); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBilling(t *testing.T) {
	b := newBillingServer(t)
	ctx := context.Background()
	c := b.c

	prices, err := c.ListPrices(ctx, client.PriceFilter{ModelName: "gpt-4o", ModelVersion: "2024-08-06", SKUName: "GlobalProvisionedManaged"})
	if err != nil || len(prices.Value) != 1 || prices.Value[0].PricePerPTUHourMicros != 1_000_000 || len(prices.ReservationTerms) != 2 ||
		prices.ReservationTerms[1].MonthlyPaymentPerPTUMicros != 221_000_000 {
		t.Fatalf("prices: %+v %v", prices, err)
	}
	q, err := c.QuotePrice(ctx, client.QuoteRequest{Model: client.ModelRef{Name: "gpt-4o"}, SKUName: "GlobalProvisionedManaged", Capacity: 15})
	if err != nil || q.HourlyMicros != 15_000_000 || q.MonthlyMicros != 10_950_000_000 || len(q.Reservations) != 2 || q.Reservations[0].SavingsPercent != 64.4 {
		t.Fatalf("quote: %+v %v", q, err)
	}
	if _, err := c.QuotePrice(ctx, client.QuoteRequest{Model: client.ModelRef{Name: "gpt-4o"}, SKUName: "GlobalProvisionedManaged", Capacity: 16}); client.ErrorCode(err) != ptu.CodeInvalidCapacity {
		t.Errorf("quote of a bad size: %v", err)
	}

	if _, err := c.CreateAccount(ctx, "demo", "demo-aoai", client.AccountCreate{Location: "eastus", Kind: "OpenAI", SKU: "S0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, "demo", "demo-aoai", "gpt-4o", client.DeploymentCreate{
		Model: client.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: "GlobalProvisionedManaged", Capacity: 30}); err != nil {
		t.Fatal(err)
	}

	_, err = c.PurchaseReservation(ctx, client.ReservationPurchase{Location: "eastus", SKUName: "GlobalProvisionedManaged", Quantity: 40, Term: "P1M"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != ptu.CodeInvalidResourceProperties || ce.StatusCode != http.StatusBadRequest || ce.Target != "quantity" {
		t.Fatalf("oversized purchase: %v", err)
	}
	r, err := c.PurchaseReservation(ctx, client.ReservationPurchase{Location: "eastus", SKUName: "GlobalProvisionedManaged", Quantity: 20,
		Term: "P1Y", BillingPlan: "Upfront"})
	if err != nil || r.Properties.State != "Active" || r.Properties.TermMicros != 20*2_652_000_000 || r.Properties.AppliedScopeType != "Subscription" {
		t.Fatalf("purchase: %+v %v", r, err)
	}
	on := true
	if u, err := c.UpdateReservation(ctx, r.Name, client.ReservationUpdate{AutoRenew: &on}); err != nil || !u.Properties.AutoRenew || u.Properties.ExpiryDateTime != "" {
		t.Errorf("renew on: %+v %v", u, err)
	}
	if rs, err := c.ListReservations(ctx); err != nil || len(rs) != 1 || rs[0].Name != r.Name {
		t.Errorf("list: %+v %v", rs, err)
	}

	b.Set(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	rep, err := c.BillingUsage(ctx, client.UsageQuery{From: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), To: b.Now(), Granularity: "Hourly"})
	if err != nil || len(rep.Value) != 2 || rep.Total.PTUMinutes != 2*30*60 || rep.Total.ReservedPTUMinutes != 2*20*60 ||
		rep.Total.PayAsYouGoCostMicros != 2*10*1_000_000 || rep.Value[0].Model == nil || rep.Value[0].Reservations[0].ReservationID != r.Name {
		t.Fatalf("usage: %+v %v", rep, err)
	}
	rr, err := c.ReservationReport(ctx, client.ReservationReportQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: b.Now(), Granularity: "None"})
	if err != nil || len(rr.Value) != 1 || rr.Value[0].UtilizationPercent != 100 || len(rr.Charges) != 1 || rr.ChargesMicros != 20*2_652_000_000 {
		t.Fatalf("reservation report: %+v %v", rr, err)
	}

	cancelled, err := c.CancelReservation(ctx, r.Name)
	if err != nil || cancelled.Properties.State != "Cancelled" || cancelled.Properties.RefundMicros <= 0 {
		t.Fatalf("cancel: %+v %v", cancelled, err)
	}
	if _, err := c.CancelReservation(ctx, r.Name); client.ErrorCode(err) != ptu.CodeConflict {
		t.Errorf("second cancel: %v", err)
	}
	if _, err := c.GetReservation(ctx, "00000000-0000-0000-0000-000000000000"); !client.IsNotFound(err) {
		t.Errorf("unknown reservation: %v", err)
	}
	if _, err := c.GetReservation(ctx, ""); err == nil {
		t.Error("an empty id was sent")
	}
}
