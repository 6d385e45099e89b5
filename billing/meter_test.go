package billing_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
)

// Regional (ProvisionedManaged) list price: $2 per PTU-hour.
const regionalPrice = 2_000_000

// TestReservationCoversPartOfTheDeployments: deployed PTUs beyond a
// reservation are billed hourly, as Microsoft describes provisioned billing
// (learn.microsoft.com/azure/ai-services/openai/how-to/provisioned-throughput-onboarding):
// a 500-PTU reservation with 600 PTUs deployed bills the other 100 hourly;
// over its whole term the reservation's price lands on the deployment to the
// micro-dollar.
func TestReservationCoversPartOfTheDeployments(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "big", ptu.ProvisionedManaged, 600)
	e.at(day0.Add(hour))
	r := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 500, Term: ptu.TermOneMonth})
	if r.State != ptu.ReservationActive || !r.End.Equal(day0.Add(hour).AddDate(0, 1, 0)) || r.PaymentMicros != 130_000_000_000 {
		t.Fatalf("reservation: %+v", r)
	}

	e.at(day0.Add(3 * hour))
	lines := e.hourly("big", day0, day0.Add(3*hour))
	want := []line{
		{36_000, 0, 36_000, 1_200_000_000},   // before the purchase: 600 PTUs at $2
		{36_000, 30_000, 6_000, 200_000_000}, // 100 PTUs billed hourly: $200
		{36_000, 30_000, 6_000, 200_000_000},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(lines), len(want), lines)
	}
	for i, w := range want {
		if got := figures(lines[i]); got != w {
			t.Errorf("hour %d: %+v, want %+v", i, got, w)
		}
	}
	// $130,000 spread over the 44,640 minutes of the term: each hour's part is
	// the difference of the amortized amounts at its ends, rounded down.
	if got := lines[1].ReservedCostMicros; got != 174_731_182 {
		t.Errorf("hour 1 reserved cost %d, want 174731182", got)
	}
	if got := lines[2].ReservedCostMicros; got != 349_462_365-174_731_182 {
		t.Errorf("hour 2 reserved cost %d, want %d", got, 349_462_365-174_731_182)
	}
	if sh := lines[1].Reservations; len(sh) != 1 || sh[0].ReservationID != r.ID || sh[0].PTUMinutes != 30_000 || sh[0].CostMicros != 174_731_182 {
		t.Errorf("hour 1 reservation shares: %+v", sh)
	}

	// A month later, over the whole term and the hours around it.
	e.at(day0.AddDate(0, 1, 0).Add(2 * hour))
	rep := e.usage(billing.UsageQuery{From: day0, To: e.now, Granularity: billing.NoGranularity})
	if len(rep.Lines) != 1 {
		t.Fatalf("lines: %+v", rep.Lines)
	}
	tot := rep.Lines[0]
	const hours = 31*24 + 2
	if got, want := figures(tot), (line{600 * 60 * hours, 500 * 44_640, 600*60*hours - 500*44_640, (600*60*hours - 500*44_640) * regionalPrice / 60}); got != want {
		t.Errorf("whole range: %+v, want %+v", got, want)
	}
	if tot.ReservedCostMicros != 130_000_000_000 || tot.TotalCostMicros != tot.ReservedCostMicros+tot.PayAsYouGoCostMicros {
		t.Errorf("whole range: reserved cost %d, total %d", tot.ReservedCostMicros, tot.TotalCostMicros)
	}
	rr := e.reservations(billing.ReservationQuery{From: day0, Granularity: billing.NoGranularity})
	if len(rr.Lines) != 1 || rr.Lines[0].UtilizationPercent != 100 || rr.Lines[0].AmortizedCostMicros != 130_000_000_000 ||
		rr.Lines[0].UnusedCostMicros != 0 || rr.Lines[0].ReservedPTUMinutes != 500*44_640 {
		t.Errorf("reservation lines: %+v", rr.Lines)
	}
	if len(rr.Charges) != 1 || rr.Charges[0].Kind != billing.ChargePurchase || rr.ChargesMicros != 130_000_000_000 ||
		!rr.Charges[0].Time.Equal(day0.Add(hour)) {
		t.Errorf("charges: %+v", rr.Charges)
	}
	if got, _ := e.bill.GetReservation(e.ctx, sub, r.ID); got.State != ptu.ReservationExpired {
		t.Errorf("state after the term: %s", got.State)
	}
}

// TestResizeAndDeleteMidHour: each change counts from the start of its minute.
func TestResizeAndDeleteMidHour(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "acct", "eastus")
	at := func(h, m, s int) time.Time {
		return day0.Add(time.Duration(h)*hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	e.at(at(10, 0, 0))
	e.deploy("rg", "acct", "dep", ptu.ProvisionedManaged, 100)
	e.at(at(10, 15, 40))
	e.deploy("rg", "acct", "dep", ptu.ProvisionedManaged, 150)
	e.at(at(10, 45, 10))
	e.undeploy("rg", "acct", "dep")
	e.at(at(11, 20, 30))
	e.deploy("rg", "acct", "dep", ptu.ProvisionedManaged, 50)
	e.at(at(11, 59, 59))
	e.undeploy("rg", "acct", "dep")
	e.at(at(14, 0, 0))

	lines := e.hourly("dep", at(9, 0, 0), at(14, 0, 0))
	if len(lines) != 2 {
		t.Fatalf("lines: %+v", lines)
	}
	// 10:00-10:15 at 100, 10:15-10:45 at 150: 1,500 + 4,500 PTU-minutes, $200.
	if got, want := figures(lines[0]), (line{6_000, 0, 6_000, 200_000_000}); got != want || !lines[0].Period.Equal(at(10, 0, 0)) {
		t.Errorf("hour 10: %+v at %s, want %+v", got, lines[0].Period, want)
	}
	// 11:20-11:59 at 50: 1,950 PTU-minutes, $65 exactly; the deletion's minute is not billed.
	if got, want := figures(lines[1]), (line{1_950, 0, 1_950, 65_000_000}); got != want {
		t.Errorf("hour 11: %+v, want %+v", got, want)
	}

	// A minute billed at a price that does not divide: rounded half up.
	e.at(at(15, 0, 0))
	e.deploy("rg", "acct", "glob", ptu.GlobalProvisionedManaged, 15)
	e.at(at(15, 1, 0))
	e.deploy("rg", "acct", "glob", ptu.GlobalProvisionedManaged, 20)
	e.at(at(15, 2, 0))
	e.undeploy("rg", "acct", "glob")
	e.at(at(16, 0, 0))
	g := e.hourly("glob", at(15, 0, 0), at(16, 0, 0))
	// 35 PTU-minutes at $1 per PTU-hour: 583,333.33 micro-dollars.
	if len(g) != 1 || g[0].PTUMinutes != 35 || g[0].PayAsYouGoCostMicros != 583_333 || g[0].PricePerPTUHourMicros != 1_000_000 {
		t.Errorf("global lines: %+v", g)
	}
}

// TestOverlappingReservationsAndScopes: a resource group's reservations cover
// its deployments first; subscription-wide ones share what is left among all
// matching deployments in proportion to their size, and overlapping
// purchases add up.
func TestOverlappingReservationsAndScopes(t *testing.T) {
	e := newEnv(t)
	e.account("a", "acct-a", "eastus")
	e.account("b", "acct-b", "eastus")
	e.deploy("a", "acct-a", "dep-a", ptu.ProvisionedManaged, 300)
	e.deploy("b", "acct-b", "dep-b", ptu.ProvisionedManaged, 300)
	r1 := e.purchase(billing.ReservationInput{ResourceGroup: "a", Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 200, Term: ptu.TermOneMonth})
	e.at(day0.Add(hour))
	r2 := e.purchase(billing.ReservationInput{Location: "East US", SKUName: "provisionedmanaged", Quantity: 300, Term: ptu.TermOneYear,
		BillingPlan: "upfront", AutoRenew: true})
	if r2.Region != "eastus" || r2.SKUName != ptu.ProvisionedManaged || r2.BillingPlan != ptu.BillingPlanUpfront || !r2.End.IsZero() {
		t.Fatalf("r2: %+v", r2)
	}
	e.at(day0.Add(2 * hour))
	r3 := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 100, Term: ptu.TermOneMonth})
	e.at(day0.Add(3 * hour))

	rep := e.usage(billing.UsageQuery{From: day0, To: e.now, Granularity: billing.Hourly})
	type share struct {
		id  string
		min int64
	}
	want := map[string][]struct {
		l      line
		shares []share
	}{
		// Hour 0: r1 covers 200 of A; B has no reservation.
		// Hour 1: r1 covers 200 of A; r2's 300 cover the rest, 100 of A and 300
		// of B, in proportion: 75 and 225.
		// Hour 2: r2 and r3 together cover the 400 left.
		"dep-a": {
			{line{18_000, 12_000, 6_000, 200_000_000}, []share{{r1.ID, 12_000}}},
			{line{18_000, 16_500, 1_500, 50_000_000}, []share{{r1.ID, 12_000}, {r2.ID, 4_500}}},
			{line{18_000, 18_000, 0, 0}, nil},
		},
		"dep-b": {
			{line{18_000, 0, 18_000, 600_000_000}, nil},
			{line{18_000, 13_500, 4_500, 150_000_000}, []share{{r2.ID, 13_500}}},
			{line{18_000, 18_000, 0, 0}, nil},
		},
	}
	got := map[string][]billing.UsageLine{}
	for _, l := range rep.Lines {
		got[l.Deployment] = append(got[l.Deployment], l)
	}
	for dep, ws := range want {
		if len(got[dep]) != len(ws) {
			t.Fatalf("%s: %d lines, want %d", dep, len(got[dep]), len(ws))
		}
		for i, w := range ws {
			l := got[dep][i]
			if figures(l) != w.l {
				t.Errorf("%s hour %d: %+v, want %+v", dep, i, figures(l), w.l)
			}
			if w.shares == nil {
				continue
			}
			var gs []share
			for _, s := range l.Reservations {
				gs = append(gs, share{s.ReservationID, s.PTUMinutes})
			}
			if len(gs) != len(w.shares) {
				t.Errorf("%s hour %d shares %+v, want %+v", dep, i, gs, w.shares)
				continue
			}
			for _, s := range w.shares {
				found := false
				for _, g := range gs {
					found = found || g == s
				}
				if !found {
					t.Errorf("%s hour %d shares %+v, want %+v", dep, i, gs, w.shares)
				}
			}
		}
	}
	// Every reservation is fully used from the hour it was bought.
	rr := e.reservations(billing.ReservationQuery{From: day0, To: e.now, Granularity: billing.NoGranularity})
	if len(rr.Lines) != 3 {
		t.Fatalf("reservation lines: %+v", rr.Lines)
	}
	for _, l := range rr.Lines {
		if l.UtilizationPercent != 100 || l.UnusedCostMicros != 0 {
			t.Errorf("%s: %+v", l.ReservationID, l)
		}
	}
	if rr.Total.ReservedPTUMinutes != 200*180+300*120+100*60 || rr.Total.UtilizationPercent != 100 {
		t.Errorf("total: %+v", rr.Total)
	}
	// The charges: r1 and r3 monthly (one payment), r2 upfront for the year.
	if len(rr.Charges) != 3 || rr.ChargesMicros != 200*260_000_000+300*2_652_000_000+100*260_000_000 {
		t.Errorf("charges %d: %+v", rr.ChargesMicros, rr.Charges)
	}
	_ = r3
}

// TestExpiringTerm: a reservation that does not renew stops discounting at
// the end of its term; one that renews keeps going and is paid again.
func TestExpiringTerm(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "dep", ptu.ProvisionedManaged, 100)
	e.deploy("rg", "acct", "glob", ptu.GlobalProvisionedManaged, 100)
	once := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 100, Term: ptu.TermOneMonth})
	renews := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.GlobalProvisionedManaged, Quantity: 100,
		Term: ptu.TermOneMonth, AutoRenew: true})
	end := day0.AddDate(0, 1, 0)
	if !once.End.Equal(end) || !once.TermEnd.Equal(end) || !renews.End.IsZero() || !renews.TermEnd.Equal(end) {
		t.Fatalf("terms: once %+v, renews %+v", once, renews)
	}

	// Jump a month ahead.
	e.at(end.Add(2 * hour))
	d := e.hourly("dep", end.Add(-hour), end.Add(2*hour))
	want := []line{{6_000, 6_000, 0, 0}, {6_000, 0, 6_000, 200_000_000}, {6_000, 0, 6_000, 200_000_000}}
	for i, w := range want {
		if i >= len(d) || figures(d[i]) != w {
			t.Fatalf("d hour %d: %+v, want %+v", i, d, w)
		}
	}
	for _, l := range e.hourly("glob", end.Add(-hour), end.Add(2*hour)) {
		if l.ReservedPTUMinutes != 6_000 || l.PayAsYouGoCostMicros != 0 {
			t.Errorf("g at %s: %+v", l.Period, figures(l))
		}
	}
	got, err := e.bill.GetReservation(e.ctx, sub, once.ID)
	if err != nil || got.State != ptu.ReservationExpired {
		t.Errorf("once: %s %v", got.State, err)
	}
	got, err = e.bill.GetReservation(e.ctx, sub, renews.ID)
	if err != nil || got.State != ptu.ReservationActive || !got.TermStart.Equal(end) || !got.TermEnd.Equal(end.AddDate(0, 1, 0)) {
		t.Errorf("renews: %+v %v", got, err)
	}
	rr := e.reservations(billing.ReservationQuery{From: end.Add(-hour)})
	if len(rr.Charges) != 1 || rr.Charges[0].Kind != billing.ChargeRenewal || rr.Charges[0].ReservationID != renews.ID ||
		!rr.Charges[0].Time.Equal(end) || rr.Charges[0].AmountMicros != 26_000_000_000 {
		t.Errorf("charges: %+v", rr.Charges)
	}

	// Turning renewal off ends it with the current term; an expired one cannot change.
	off := false
	upd, err := e.bill.UpdateReservation(e.ctx, sub, renews.ID, billing.ReservationUpdate{AutoRenew: &off})
	if err != nil || upd.AutoRenew || !upd.End.Equal(end.AddDate(0, 1, 0)) {
		t.Errorf("renewal off: %+v %v", upd, err)
	}
	if _, err := e.bill.UpdateReservation(e.ctx, sub, once.ID, billing.ReservationUpdate{AutoRenew: &off}); ptu.ErrorCode(err) != ptu.CodeConflict {
		t.Errorf("update of an expired reservation: %v", err)
	}
}

// TestOtherRegionOrTypeNotDiscounted: a reservation applies only to its own
// deployment type in its own region.
func TestOtherRegionOrTypeNotDiscounted(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "east", "eastus")
	e.account("rg", "west", "westus")
	e.deploy("rg", "east", "dep", ptu.ProvisionedManaged, 100)
	e.deploy("rg", "west", "dep", ptu.ProvisionedManaged, 100)
	west := e.purchase(billing.ReservationInput{Location: "westus", SKUName: ptu.ProvisionedManaged, Quantity: 100, Term: ptu.TermOneMonth})
	global := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.GlobalProvisionedManaged, Quantity: 100,
		Term: ptu.TermOneMonth, Force: true})
	e.at(day0.Add(hour))

	rep := e.usage(billing.UsageQuery{From: day0, To: e.now, Granularity: billing.Hourly})
	for _, l := range rep.Lines {
		want := line{6_000, 0, 6_000, 200_000_000}
		if l.Account == "west" {
			want = line{6_000, 6_000, 0, 0}
		}
		if figures(l) != want {
			t.Errorf("%s: %+v, want %+v", l.Account, figures(l), want)
		}
	}
	rr := e.reservations(billing.ReservationQuery{From: day0})
	for _, l := range rr.Lines {
		switch l.ReservationID {
		case west.ID:
			if l.UtilizationPercent != 100 {
				t.Errorf("west: %+v", l)
			}
		case global.ID:
			// Nothing to discount: all of its amortized cost is unused.
			if l.UtilizationPercent != 0 || l.UsedCostMicros != 0 || l.UnusedCostMicros != l.AmortizedCostMicros || l.AmortizedCostMicros == 0 {
				t.Errorf("global: %+v", l)
			}
		}
	}
}

// TestPurchaseSizedToDeployment: the seed's best practice as a rule.
func TestPurchaseSizedToDeployment(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "dep", ptu.ProvisionedManaged, 500)

	_, err := e.bill.PurchaseReservation(e.ctx, sub, billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged,
		Quantity: 600, Term: ptu.TermOneYear})
	var pe *ptu.Error
	if !errors.As(err, &pe) || pe.Code != ptu.CodeInvalidResourceProperties || pe.Target != "quantity" {
		t.Fatalf("oversized purchase: %v", err)
	}
	for _, s := range []string{"600 PTUs", "500 PTUs of ProvisionedManaged are deployed in eastus", "reserve at most 500 PTUs", "force"} {
		if !strings.Contains(pe.Message, s) {
			t.Errorf("message %q lacks %q", pe.Message, s)
		}
	}
	if sz, ok := pe.Info.(billing.ReservationSizing); !ok || sz != (billing.ReservationSizing{Requested: 600, Deployed: 500, Reserved: 0, Uncovered: 500}) {
		t.Errorf("info: %+v", pe.Info)
	}
	if rs, _ := e.bill.ListReservations(e.ctx, sub); len(rs) != 0 {
		t.Fatalf("a refused purchase was stored: %+v", rs)
	}

	e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 400, Term: ptu.TermOneYear})
	// 100 are left uncovered: 101 is refused, forced it is bought.
	if _, err := e.bill.PurchaseReservation(e.ctx, sub, billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged,
		Quantity: 101, Term: ptu.TermOneMonth}); !strings.Contains(ptu.ErrorCode(err)+fmtErr(err), "400 of them are already covered") {
		t.Errorf("second purchase: %v", err)
	}
	e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 101, Term: ptu.TermOneMonth, Force: true})
	// A resource group with nothing deployed.
	if _, err := e.bill.PurchaseReservation(e.ctx, sub, billing.ReservationInput{ResourceGroup: "empty", Location: "eastus",
		SKUName: ptu.ProvisionedManaged, Quantity: 50, Term: ptu.TermOneMonth}); !strings.Contains(fmtErr(err), "resource group 'empty'") {
		t.Errorf("empty resource group: %v", err)
	}
	// The deployment's own group: nothing is reserved for the group, but the
	// subscription-wide reservations cover it already.
	if _, err := e.bill.PurchaseReservation(e.ctx, sub, billing.ReservationInput{ResourceGroup: "rg", Location: "eastus",
		SKUName: ptu.ProvisionedManaged, Quantity: 50, Term: ptu.TermOneMonth}); !strings.Contains(fmtErr(err), "in subscription "+sub+" and 501 of them") {
		t.Errorf("group covered by the subscription's reservations: %v", err)
	}

	for _, tc := range []struct {
		in   billing.ReservationInput
		code string
	}{
		{billing.ReservationInput{Location: "eastus", SKUName: ptu.GlobalStandard, Quantity: 1, Term: "P1M"}, ptu.CodeInvalidSKU},
		{billing.ReservationInput{Location: "mars", SKUName: ptu.ProvisionedManaged, Quantity: 1, Term: "P1M"}, ptu.CodeLocationNotAvailable},
		{billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 0, Term: "P1M"}, ptu.CodeInvalidResourceProperties},
		{billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 1, Term: "P3Y"}, ptu.CodeInvalidResourceProperties},
		{billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 1, Term: "P1M", BillingPlan: "weekly"}, ptu.CodeInvalidResourceProperties},
		{billing.ReservationInput{ResourceGroup: "bad/rg", Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 1, Term: "P1M"}, ptu.CodeInvalidResourceName},
	} {
		tc.in.Force = true
		if _, err := e.bill.PurchaseReservation(e.ctx, sub, tc.in); ptu.ErrorCode(err) != tc.code {
			t.Errorf("%+v: %v, want %s", tc.in, err, tc.code)
		}
	}
	if _, err := e.bill.PurchaseReservation(e.ctx, "00000000-0000-0000-0000-000000000009", billing.ReservationInput{}); ptu.ErrorCode(err) != ptu.CodeSubscriptionNotFound {
		t.Errorf("unknown subscription: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCancelRefunds: cancelling refunds the unused part of the last payment,
// so what was paid equals what was amortized while it applied.
func TestCancelRefunds(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "dep", ptu.ProvisionedManaged, 100)
	r := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 100,
		Term: ptu.TermOneYear, BillingPlan: ptu.BillingPlanUpfront})
	e.at(day0.Add(10 * day))
	c, err := e.bill.CancelReservation(e.ctx, sub, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// $265,200 for the 525,600 minutes of the year; 14,400 were used.
	const paid, used = 265_200_000_000, 7_265_753_424
	if c.State != ptu.ReservationCancelled || c.RefundMicros != paid-used || !c.CancelledAt.Equal(day0.Add(10*day)) {
		t.Fatalf("cancelled: %+v", c)
	}
	if _, err := e.bill.CancelReservation(e.ctx, sub, r.ID); ptu.ErrorCode(err) != ptu.CodeConflict {
		t.Errorf("second cancel: %v", err)
	}
	e.at(day0.Add(11 * day))
	rr := e.reservations(billing.ReservationQuery{From: day0, Granularity: billing.NoGranularity})
	if len(rr.Charges) != 2 || rr.Charges[0].AmountMicros != paid || rr.Charges[1].Kind != billing.ChargeRefund ||
		rr.Charges[1].AmountMicros != -(paid-used) || rr.ChargesMicros != used {
		t.Errorf("charges: %+v", rr.Charges)
	}
	if len(rr.Lines) != 1 || rr.Lines[0].AmortizedCostMicros != used || rr.Lines[0].ReservedPTUMinutes != 100*14_400 {
		t.Errorf("lines: %+v", rr.Lines)
	}
	// After the cancellation the deployment pays the list price again.
	last := e.hourly("dep", day0.Add(10*day), day0.Add(10*day+hour))
	if len(last) != 1 || figures(last[0]) != (line{6_000, 0, 6_000, 200_000_000}) {
		t.Errorf("after cancel: %+v", last)
	}
	if _, err := e.bill.GetReservation(e.ctx, sub, "no-such-id"); ptu.ErrorCode(err) != ptu.CodeResourceNotFound {
		t.Errorf("unknown reservation: %v", err)
	}
}
