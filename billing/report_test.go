package billing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
)

// TestMonthReconciles runs a month of simulated hours (deployments created,
// resized and deleted; reservations bought, overlapping, cancelled) and
// checks the bill the way an accountant would: every hourly line from its own
// figures, and every total as the sum of the lines below it.
func TestMonthReconciles(t *testing.T) {
	e := newEnv(t)
	e.account("team-a", "acct-a", "eastus")
	e.account("team-b", "acct-b", "eastus")
	e.account("team-b", "acct-w", "westus")
	step := func(d time.Duration) { e.at(e.now.Add(d)) }

	e.deploy("team-a", "acct-a", "chat", ptu.ProvisionedManaged, 300)
	e.deploy("team-b", "acct-b", "search", ptu.ProvisionedManaged, 200)
	e.deploy("team-b", "acct-w", "west", ptu.GlobalProvisionedManaged, 45)
	step(3*time.Hour + 17*time.Minute)
	rs := e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.ProvisionedManaged, Quantity: 400, Term: ptu.TermOneYear})
	step(2*day + 5*time.Hour + 41*time.Minute + 13*time.Second)
	e.deploy("team-a", "acct-a", "chat", ptu.ProvisionedManaged, 450)
	step(4*day + 29*time.Minute)
	ra := e.purchase(billing.ReservationInput{ResourceGroup: "team-a", Location: "eastus", SKUName: ptu.ProvisionedManaged,
		Quantity: 100, Term: ptu.TermOneMonth, BillingPlan: ptu.BillingPlanUpfront})
	step(6*day + 7*time.Minute)
	e.undeploy("team-b", "acct-b", "search")
	step(3*day + 11*time.Hour)
	e.deploy("team-b", "acct-b", "search", ptu.ProvisionedManaged, 50)
	step(5 * day)
	if _, err := e.bill.CancelReservation(e.ctx, sub, ra.ID); err != nil {
		t.Fatal(err)
	}
	step(2*day + 13*time.Minute)
	e.deploy("team-b", "acct-w", "west", ptu.GlobalProvisionedManaged, 15)
	e.at(day0.AddDate(0, 1, 0))
	from, to := day0, e.now

	hourly := e.usage(billing.UsageQuery{From: from, To: to, Granularity: billing.Hourly})
	var sum billing.UsageLine
	for _, l := range hourly.Lines {
		if l.PayAsYouGoPTUMinutes != l.PTUMinutes-l.ReservedPTUMinutes || l.PTUMinutes > 60*450 {
			t.Fatalf("%s %s: minutes %+v", l.Period, l.Deployment, figures(l))
		}
		if want := (l.PayAsYouGoPTUMinutes*l.PricePerPTUHourMicros + 30) / 60; l.PayAsYouGoCostMicros != want {
			t.Fatalf("%s %s: pay-as-you-go cost %d, want %d", l.Period, l.Deployment, l.PayAsYouGoCostMicros, want)
		}
		var shMin, shCost int64
		for _, s := range l.Reservations {
			shMin += s.PTUMinutes
			shCost += s.CostMicros
		}
		if shMin != l.ReservedPTUMinutes || shCost != l.ReservedCostMicros || l.TotalCostMicros != l.PayAsYouGoCostMicros+l.ReservedCostMicros {
			t.Fatalf("%s %s: shares %d/%d vs %+v", l.Period, l.Deployment, shMin, shCost, l)
		}
		sum.PTUMinutes += l.PTUMinutes
		sum.ReservedPTUMinutes += l.ReservedPTUMinutes
		sum.PayAsYouGoCostMicros += l.PayAsYouGoCostMicros
		sum.ReservedCostMicros += l.ReservedCostMicros
		sum.TotalCostMicros += l.TotalCostMicros
	}
	if sum.PTUMinutes != hourly.Total.PTUMinutes || sum.TotalCostMicros != hourly.Total.TotalCostMicros {
		t.Errorf("hourly total %+v, sum of lines %+v", hourly.Total, sum)
	}
	// Every granularity and grouping adds up to the same total.
	for _, gran := range []string{billing.Daily, billing.Monthly, billing.NoGranularity} {
		for _, by := range []string{billing.ByDeployment, billing.ByAccount, billing.ByResourceGroup, billing.BySubscription} {
			rep := e.usage(billing.UsageQuery{From: from, To: to, Granularity: gran, GroupBy: by})
			if rep.Total.PTUMinutes != sum.PTUMinutes || rep.Total.ReservedPTUMinutes != sum.ReservedPTUMinutes ||
				rep.Total.PayAsYouGoCostMicros != sum.PayAsYouGoCostMicros || rep.Total.ReservedCostMicros != sum.ReservedCostMicros {
				t.Errorf("%s by %s: total %+v, want %+v", gran, by, rep.Total, sum)
			}
		}
	}
	// The deployments' reserved cost is the reservations' used cost; used
	// and unused make up the amortized cost.
	rr := e.reservations(billing.ReservationQuery{From: from, To: to, Granularity: billing.Daily})
	var used, amortized int64
	for _, l := range rr.Lines {
		if l.UsedCostMicros+l.UnusedCostMicros != l.AmortizedCostMicros || l.UsedPTUMinutes+l.UnusedPTUMinutes != l.ReservedPTUMinutes {
			t.Errorf("reservation line %+v", l)
		}
		used += l.UsedCostMicros
		amortized += l.AmortizedCostMicros
	}
	if used != sum.ReservedCostMicros || rr.Total.UsedCostMicros != used || rr.Total.AmortizedCostMicros != amortized {
		t.Errorf("used %d, deployments' reserved cost %d, totals %+v", used, sum.ReservedCostMicros, rr.Total)
	}
	// The cancelled upfront reservation was amortized exactly as it was paid.
	none := e.reservations(billing.ReservationQuery{From: from, To: to, Granularity: billing.NoGranularity})
	var paidA int64
	for _, c := range none.Charges {
		if c.ReservationID == ra.ID {
			paidA += c.AmountMicros
		}
	}
	for _, l := range none.Lines {
		if l.ReservationID == ra.ID && l.AmortizedCostMicros != paidA {
			t.Errorf("cancelled reservation: amortized %d, paid %d", l.AmortizedCostMicros, paidA)
		}
		if l.ReservationID == rs.ID && l.UtilizationPercent >= 100 {
			t.Errorf("the subscription reservation went unused while search was deleted, yet: %+v", l)
		}
	}
	// The yearly monthly-plan reservation paid once in March: 400 × $221.
	if len(none.Charges) != 3 || none.Charges[0].ReservationID != rs.ID || none.Charges[0].AmountMicros != 400*221_000_000 {
		t.Errorf("charges: %+v", none.Charges)
	}
}

// TestReportQueries: filters, groupings and what is refused.
func TestReportQueries(t *testing.T) {
	e := newEnv(t)
	e.account("rg1", "acct1", "eastus")
	e.account("rg2", "acct2", "eastus")
	e.deploy("rg1", "acct1", "one", ptu.ProvisionedManaged, 100)
	e.deploy("rg2", "acct2", "two", ptu.ProvisionedManaged, 50)
	e.at(day0.Add(2*day + 90*time.Minute))

	daily := e.usage(billing.UsageQuery{})
	if daily.Granularity != billing.Daily || daily.GroupBy != billing.ByDeployment || !daily.From.Equal(day0) ||
		!daily.To.Equal(e.now.Add(time.Minute)) || len(daily.Lines) != 6 {
		t.Fatalf("default report: %s %s %s-%s, %d lines", daily.Granularity, daily.GroupBy, daily.From, daily.To, len(daily.Lines))
	}
	if l := daily.Lines[0]; l.Deployment != "one" || l.PTUMinutes != 100*1440 || !l.Period.Equal(day0) {
		t.Errorf("first line: %+v", l)
	}
	byRG := e.usage(billing.UsageQuery{From: day0, To: day0.Add(day), GroupBy: "resourcegroup", Granularity: "none"})
	if len(byRG.Lines) != 2 || byRG.Lines[0].ResourceGroup != "rg1" || byRG.Lines[0].Account != "" || byRG.Lines[1].PTUMinutes != 50*1440 {
		t.Errorf("by resource group: %+v", byRG.Lines)
	}
	filtered := e.usage(billing.UsageQuery{From: day0, To: day0.Add(day), Account: "ACCT2", Granularity: billing.Monthly})
	if len(filtered.Lines) != 1 || filtered.Lines[0].Deployment != "two" || filtered.Total.PTUMinutes != 50*1440 {
		t.Errorf("filtered: %+v", filtered.Lines)
	}
	// A range that is not on the hour is widened to whole hours.
	odd := e.usage(billing.UsageQuery{From: day0.Add(30 * time.Minute), To: day0.Add(90 * time.Minute), Granularity: billing.NoGranularity, GroupBy: billing.BySubscription})
	if !odd.From.Equal(day0) || !odd.To.Equal(day0.Add(2*hour)) || odd.Total.PTUMinutes != 150*120 {
		t.Errorf("widened range %s-%s: %+v", odd.From, odd.To, odd.Total)
	}
	// A range in the future is empty.
	future := e.usage(billing.UsageQuery{From: day0.AddDate(0, 0, 10), To: day0.AddDate(0, 0, 11)})
	if len(future.Lines) != 0 || future.Total.TotalCostMicros != 0 {
		t.Errorf("future: %+v", future.Lines)
	}

	for _, q := range []billing.UsageQuery{
		{Granularity: "weekly"},
		{GroupBy: "model"},
		{From: day0.Add(day), To: day0},
		{From: day0, To: day0.AddDate(2, 0, 0)},
	} {
		q.SubscriptionID = sub
		if _, err := e.bill.Usage(e.ctx, q); ptu.ErrorCode(err) != ptu.CodeBadRequest {
			t.Errorf("%+v: %v, want BadRequest", q, err)
		}
	}
	if _, err := e.bill.Usage(e.ctx, billing.UsageQuery{SubscriptionID: "00000000-0000-0000-0000-000000000009"}); ptu.ErrorCode(err) != ptu.CodeSubscriptionNotFound {
		t.Errorf("unknown subscription: %v", err)
	}
}

// TestStandardTokenCharges: the recorder counts the tokens of the successful
// calls pay-per-token deployments serve, and they are charged per million.
func TestStandardTokenCharges(t *testing.T) {
	e := newEnv(t)
	e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "std", ptu.GlobalStandard, 10)
	e.deploy("rg", "acct", "ptu", ptu.GlobalProvisionedManaged, 15)
	deps, err := e.ctl.ListDeployments(e.ctx, sub, "rg", "acct")
	if err != nil {
		t.Fatal(err)
	}
	dep := map[string]ptu.Deployment{}
	for _, d := range deps {
		dep[d.Name] = d
	}
	rec := billing.NewRecorder(e.store, billing.RecorderOptions{})
	call := func(at time.Time, d string, status, prompt, cached, completion int) {
		rec.Record(ptu.CallRecord{Time: at, Deployment: dep[d], Status: status,
			CallUsage: ptu.CallUsage{PromptTokens: prompt, CachedTokens: cached, CompletionTokens: completion}})
	}
	call(day0.Add(10*time.Minute), "std", http.StatusOK, 1000, 200, 500)
	call(day0.Add(20*time.Minute), "std", http.StatusOK, 1000, 200, 500)
	call(day0.Add(30*time.Minute), "std", http.StatusTooManyRequests, 1000, 0, 0) // refused: not charged
	call(day0.Add(40*time.Minute), "ptu", http.StatusOK, 1000, 0, 500)            // provisioned: billed by the hour
	if err := rec.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	call(day0.Add(70*time.Minute), "std", http.StatusOK, 3_000_000, 0, 0)
	if err := rec.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}

	e.at(day0.Add(2 * hour))
	lines := e.hourly("std", day0, day0.Add(2*hour))
	// gpt-4o GlobalStandard: $2.50 input, $1.25 cached input, $10 output per 1M.
	// Two calls of 800 + 200 cached + 500 output: 2 × 7,250 micro-dollars.
	if len(lines) != 2 || lines[0].Calls != 2 || lines[0].PromptTokens != 2000 || lines[0].CachedTokens != 400 ||
		lines[0].CompletionTokens != 1000 || lines[0].TokenCostMicros != 14_500 || lines[0].TotalCostMicros != 14_500 || lines[0].PTUMinutes != 0 {
		t.Fatalf("std lines: %+v", lines)
	}
	if lines[1].TokenCostMicros != 7_500_000 {
		t.Errorf("second hour: %+v", lines[1])
	}
	if p := e.hourly("ptu", day0, day0.Add(hour)); len(p) != 1 || p[0].Calls != 0 || p[0].PTUMinutes != 15*60 {
		t.Errorf("provisioned line: %+v", p)
	}

	// A failed write keeps the counts for the next flush.
	flaky := &flakyStore{UsageStore: e.store, fail: true}
	later := billing.NewRecorder(flaky, billing.RecorderOptions{})
	later.Record(ptu.CallRecord{Time: day0.Add(5 * hour), Deployment: dep["std"], Status: http.StatusOK, CallUsage: ptu.CallUsage{PromptTokens: 10}})
	if err := later.Flush(e.ctx); err == nil {
		t.Fatal("flush through a failing store succeeded")
	}
	later.Record(ptu.CallRecord{Time: day0.Add(5 * hour), Deployment: dep["std"], Status: http.StatusOK, CallUsage: ptu.CallUsage{PromptTokens: 5}})
	flaky.fail = false
	if err := later.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := e.store.ListTokenUsage(e.ctx, ptu.TokenUsageFilter{SubscriptionID: sub, From: day0.Add(5 * hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Calls != 2 || rows[0].PromptTokens != 15 {
		t.Errorf("after a failed flush and a good one: %+v", rows)
	}
}

// flakyStore fails every write while fail is set.
type flakyStore struct {
	ptu.UsageStore
	fail bool
}

func (s *flakyStore) AddTokenUsage(ctx context.Context, rows []ptu.TokenUsage) error {
	if s.fail {
		return errors.New("disk full")
	}
	return s.UsageStore.AddTokenUsage(ctx, rows)
}

// TestQuote: the price shown before a deployment is created.
func TestQuote(t *testing.T) {
	e := newEnv(t)
	q, err := e.bill.Quote(billing.QuoteInput{Model: ptu.ModelRef{Name: "GPT-4", Version: "0613"}, SKUName: "provisionedmanaged", Capacity: 100})
	if err != nil {
		t.Fatal(err)
	}
	if q.SKUName != ptu.ProvisionedManaged || q.HourlyMicros != 200_000_000 || q.MonthlyMicros != 146_000_000_000 || len(q.Reservations) != 2 {
		t.Fatalf("quote: %+v", q)
	}
	m, y := q.Reservations[0], q.Reservations[1]
	if m.Term != ptu.TermOneMonth || m.TermMicros != 26_000_000_000 || m.SavingsMicros != 120_000_000_000 || m.SavingsPercent != 82.2 {
		t.Errorf("P1M: %+v", m)
	}
	if y.Term != ptu.TermOneYear || y.TermMicros != 265_200_000_000 || y.MonthlyPaymentMicros != 22_100_000_000 ||
		y.PayAsYouGoMicros != 1_752_000_000_000 || y.SavingsPercent != 84.9 {
		t.Errorf("P1Y: %+v", y)
	}
	g, err := e.bill.Quote(billing.QuoteInput{Model: ptu.ModelRef{Name: "gpt-4o"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: 15})
	if err != nil || g.Model.Version == "" || g.HourlyMicros != 15_000_000 || g.Reservations[0].SavingsPercent != 64.4 || g.Reservations[1].SavingsPercent != 69.7 {
		t.Errorf("global quote: %+v %v", g, err)
	}
	s, err := e.bill.Quote(billing.QuoteInput{Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalStandard, Capacity: 10})
	if err != nil || s.HourlyMicros != 0 || s.Reservations != nil || s.InputPer1MMicros != 2_500_000 || s.CachedInputPer1MMicros != 1_250_000 {
		t.Errorf("standard quote: %+v %v", s, err)
	}
	for _, tc := range []struct {
		in   billing.QuoteInput
		code string
	}{
		{billing.QuoteInput{Model: ptu.ModelRef{Name: "gpt-4o"}, SKUName: ptu.ProvisionedManaged, Capacity: 60}, ptu.CodeInvalidCapacity},
		{billing.QuoteInput{Model: ptu.ModelRef{Name: "gpt-9"}, SKUName: ptu.ProvisionedManaged, Capacity: 50}, ptu.CodeDeploymentModelNotSupported},
		{billing.QuoteInput{Model: ptu.ModelRef{Name: "gpt-4o", Version: "1999"}, SKUName: ptu.ProvisionedManaged, Capacity: 50}, ptu.CodeDeploymentModelNotSupported},
		{billing.QuoteInput{Model: ptu.ModelRef{Name: "gpt-4o"}, SKUName: "Turbo", Capacity: 50}, ptu.CodeInvalidSKU},
		{billing.QuoteInput{SKUName: ptu.ProvisionedManaged, Capacity: 50}, ptu.CodeInvalidResourceProperties},
	} {
		if _, err := e.bill.Quote(tc.in); ptu.ErrorCode(err) != tc.code {
			t.Errorf("%+v: %v, want %s", tc.in, err, tc.code)
		}
	}
	if ps := e.bill.Prices(billing.PriceFilter{ModelName: "gpt-4o", ModelVersion: "2024-08-06", SKUName: "GlobalProvisionedManaged"}); len(ps) != 1 || ps[0].PricePerPTUHourMicros != 1_000_000 {
		t.Errorf("prices: %+v", ps)
	}
}

// BenchmarkMonthHourly: an hourly report of a 31-day month for 40
// deployments resized daily, with two overlapping reservations.
func BenchmarkMonthHourly(b *testing.B) {
	e := newEnv(b)
	e.account("rg", "acct", "eastus")
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("dep-%02d", i))
	}
	for _, n := range names {
		e.deploy("rg", "acct", n, ptu.GlobalProvisionedManaged, 15)
	}
	for _, q := range []int{300, 200} {
		e.purchase(billing.ReservationInput{Location: "eastus", SKUName: ptu.GlobalProvisionedManaged, Quantity: q, Term: ptu.TermOneYear})
	}
	for d := range 31 {
		e.at(day0.Add(time.Duration(d)*day + 7*time.Hour))
		for i, n := range names {
			e.deploy("rg", "acct", n, ptu.GlobalProvisionedManaged, 15+5*((d+i)%4))
		}
	}
	e.at(day0.AddDate(0, 1, 0))
	q := billing.UsageQuery{SubscriptionID: sub, From: day0, To: e.now, Granularity: billing.Hourly}
	for b.Loop() {
		if _, err := e.bill.Usage(e.ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
