package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// Billing fixtures: a deployment's capacity history and reservations (the
// hourly token counts of Standard deployments are in usage.go).

var billingHour = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// testBilling runs the billing tables' tests; they share one store, as
// each writes only its own table.
func testBilling(t *testing.T, s ptu.Store) {
	t.Run("CapacityHistory", func(t *testing.T) { testCapacityHistory(t, s) })
	t.Run("Reservations", func(t *testing.T) { testReservations(t, s) })
}

func capacityChange(rg, acct, dep string, capacity int, at time.Time) ptu.CapacityChange {
	return ptu.CapacityChange{SubscriptionID: sub1, ResourceGroup: rg, AccountName: acct, Deployment: dep, Region: "eastus",
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.ProvisionedManaged,
		Capacity: capacity, At: at}
}

func listCapacityChanges(t *testing.T, s ptu.Store, f ptu.CapacityChangeFilter) []ptu.CapacityChange {
	t.Helper()
	var out []ptu.CapacityChange
	view(t, s, func(tx ptu.Tx) (err error) { out, err = tx.CapacityChanges().List(f); return })
	return out
}

func testCapacityHistory(t *testing.T, s ptu.Store) {
	a1 := capacityChange("RG1", "Acct1", "Dep1", 100, billingHour.Add(15*time.Minute))
	// Written second but earlier: the list is by time.
	a0 := capacityChange("RG1", "Acct1", "Dep1", 50, billingHour)
	// Two entries at the same instant keep the order they were written in.
	a2 := capacityChange("RG1", "Acct1", "Dep1", 150, billingHour.Add(30*time.Minute))
	a3 := capacityChange("RG1", "Acct1", "Dep1", 0, billingHour.Add(30*time.Minute))
	b := capacityChange("rg2", "acct2", "dep2", 50, billingHour.Add(5*time.Minute))
	other := capacityChange("RG1", "Acct1", "Dep1", 50, billingHour)
	other.SubscriptionID = sub2
	// A time in another zone comes back as the same instant in UTC.
	kst := capacityChange("rg2", "acct2", "dep2", 100, billingHour.Add(45*time.Minute).In(time.FixedZone("KST", 9*3600)))
	update(t, s, func(tx ptu.Tx) error {
		for _, c := range []ptu.CapacityChange{a1, a0, a2, a3, b, other, kst} {
			if err := tx.CapacityChanges().Add(c); err != nil {
				return err
			}
		}
		return nil
	})
	kstUTC := kst
	kstUTC.At = kst.At.UTC()

	equal(t, "subscription's history", listCapacityChanges(t, s, ptu.CapacityChangeFilter{SubscriptionID: sub1}),
		[]ptu.CapacityChange{a0, b, a1, a2, a3, kstUTC})
	equal(t, "one deployment, other casing", listCapacityChanges(t, s, ptu.CapacityChangeFilter{SubscriptionID: sub1,
		ResourceGroup: "rg1", Account: "ACCT1", Deployment: "dep1"}), []ptu.CapacityChange{a0, a1, a2, a3})
	equal(t, "one resource group", listCapacityChanges(t, s, ptu.CapacityChangeFilter{SubscriptionID: sub1, ResourceGroup: "RG2"}),
		[]ptu.CapacityChange{b, kstUTC})
	equal(t, "before a time (exclusive)", listCapacityChanges(t, s, ptu.CapacityChangeFilter{SubscriptionID: sub1,
		Before: billingHour.Add(15 * time.Minute)}), []ptu.CapacityChange{a0, b})
	equal(t, "every subscription", len(listCapacityChanges(t, s, ptu.CapacityChangeFilter{})), 7)

	// A rolled-back transaction leaves no entry behind.
	boom := errors.New("boom")
	if err := s.Update(t.Context(), func(tx ptu.Tx) error {
		if err := tx.CapacityChanges().Add(capacityChange("RG1", "Acct1", "Dep1", 300, billingHour.Add(time.Hour))); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update: %v, want boom", err)
	}
	equal(t, "after rollback", len(listCapacityChanges(t, s, ptu.CapacityChangeFilter{SubscriptionID: sub1})), 6)
}

func reservation(id, sub string, start time.Time) ptu.Reservation {
	return ptu.Reservation{ID: id, DisplayName: "PTU " + id, SubscriptionID: sub, ResourceGroup: "RG1", Region: "eastus",
		SKUName: ptu.GlobalProvisionedManaged, Quantity: 500, Term: ptu.TermOneYear, BillingPlan: ptu.BillingPlanMonthly,
		AutoRenew: true, Start: start, CreatedAt: start, UpdatedAt: start}
}

func testReservations(t *testing.T, s ptu.Store) {
	view(t, s, func(tx ptu.Tx) error {
		_, err := tx.Reservations().Get("r1")
		wantNotFound(t, "GetReservation before Put", err)
		return nil
	})
	r2 := reservation("r2", sub1, billingHour)
	r1 := reservation("r1", sub1, billingHour) // same start: by id
	r0 := reservation("r0", sub1, billingHour.Add(time.Hour))
	r0.ResourceGroup, r0.AutoRenew, r0.End = "", false, billingHour.AddDate(1, 0, 0)
	x := reservation("x", sub2, billingHour.Add(-time.Hour))
	update(t, s, func(tx ptu.Tx) error {
		for _, r := range []ptu.Reservation{r2, r1, r0, x} {
			if err := tx.Reservations().Put(r); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Reservations().Get("r0")
		must(t, err)
		equal(t, "GetReservation", got, r0)
		list, err := tx.Reservations().List(sub1)
		must(t, err)
		equal(t, "ListReservations", list, []ptu.Reservation{r1, r2, r0})
		all, err := tx.Reservations().List("")
		must(t, err)
		equal(t, "ListReservations of every subscription", all, []ptu.Reservation{x, r1, r2, r0})
		other, err := tx.Reservations().List(sub2)
		must(t, err)
		equal(t, "ListReservations(sub2)", other, []ptu.Reservation{x})
		return nil
	})

	// Put replaces: cancelling sets CancelledAt, turning renewal off sets End.
	r1.CancelledAt = billingHour.Add(90 * time.Minute)
	r1.AutoRenew, r1.End = false, billingHour.AddDate(1, 0, 0)
	r1.UpdatedAt = r1.CancelledAt
	update(t, s, func(tx ptu.Tx) error { return tx.Reservations().Put(r1) })
	view(t, s, func(tx ptu.Tx) error {
		got, err := tx.Reservations().Get("r1")
		must(t, err)
		equal(t, "replaced reservation", got, r1)
		return nil
	})
}
