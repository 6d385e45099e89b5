package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// A deployment made through the served control plane is billed by the hour
// from the minute it was created: what `ptu serve` wires together.
func TestServedDeploymentIsBilled(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	ctx := context.Background()
	s := testserver.Start(t, server.Options{Now: clk.Now}).Server
	sub := s.Config.Subscriptions[0].ID
	if _, _, err := s.Control.PutAccount(ctx, sub, "rg", "acct", control.AccountInput{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	capacity := 15
	in := control.DeploymentInput{Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}
	if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "acct", "gpt-4o", in); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	capacity = 30 // resized half way through the hour
	if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "acct", "gpt-4o", in); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	rep, err := s.Billing.Usage(ctx, billing.UsageQuery{SubscriptionID: sub, From: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		To: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), Granularity: "Hourly"})
	if err != nil {
		t.Fatal(err)
	}
	// 15 PTUs for 30 minutes and 30 for 30 minutes at $1.00 per PTU-hour: 22.5 PTU-hours, $22.50.
	if rep.Total.PTUMinutes != 15*30+30*30 || rep.Total.PayAsYouGoCostMicros != 22_500_000 {
		t.Fatalf("billed %d PTU-minutes for %d micro-dollars, want 1350 and 22500000", rep.Total.PTUMinutes, rep.Total.PayAsYouGoCostMicros)
	}
}
