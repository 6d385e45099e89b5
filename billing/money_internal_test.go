package billing

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{500, []int64{300, 300}, []int64{250, 250}},
		{200, []int64{100, 100, 100}, []int64{67, 67, 66}}, // ties go to the earlier weight
		{300, []int64{100, 300}, []int64{75, 225}},
		{7, []int64{1, 1, 5}, []int64{1, 1, 5}},
		{10, []int64{0, 3, 0}, []int64{0, 10, 0}},
		{10, []int64{0, 0}, []int64{0, 0}},
		{0, []int64{4, 5}, []int64{0, 0}},
		{1, []int64{1, 2}, []int64{0, 1}},
		{math.MaxInt64 / 2, []int64{math.MaxInt64 / 4, math.MaxInt64 / 4}, []int64{math.MaxInt64/4 + 1, math.MaxInt64 / 4}},
	} {
		got := apportion(tc.total, tc.weights)
		if !slices.Equal(got, tc.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
		}
		var sum int64
		for _, v := range got {
			sum += v
		}
		if sum != tc.total && slices.ContainsFunc(tc.weights, func(w int64) bool { return w > 0 }) && tc.total > 0 {
			t.Errorf("apportion(%d, %v) sums to %d", tc.total, tc.weights, sum)
		}
	}
}

func TestMulDiv(t *testing.T) {
	for _, tc := range []struct{ a, b, c, round, floor int64 }{
		{35, 1_000_000, 60, 583_333, 583_333},
		{50, 2_000_000, 60, 1_666_667, 1_666_666},
		{1, 1, 2, 1, 0}, // half rounds up
		{1, 1, 3, 0, 0},
		// Products past 64 bits still divide exactly.
		{1 << 40, 1 << 40, 1 << 30, 1 << 50, 1 << 50},
		{265_200_000_000, 14_400, 525_600, 7_265_753_425, 7_265_753_424},
	} {
		if got := mulDiv(tc.a, tc.b, tc.c); got != tc.round {
			t.Errorf("mulDiv(%d, %d, %d) = %d, want %d", tc.a, tc.b, tc.c, got, tc.round)
		}
		if got := mulDivFloor(tc.a, tc.b, tc.c); got != tc.floor {
			t.Errorf("mulDivFloor(%d, %d, %d) = %d, want %d", tc.a, tc.b, tc.c, got, tc.floor)
		}
	}
}

func TestAddMonths(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 13, 45, 0, 0, time.UTC) }
	for _, tc := range []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{d(2026, 1, 31), 1, d(2026, 2, 28)},
		{d(2028, 1, 31), 1, d(2028, 2, 29)},
		{d(2026, 1, 31), 2, d(2026, 3, 31)},
		{d(2026, 3, 15), 12, d(2027, 3, 15)},
		{d(2026, 12, 31), 1, d(2027, 1, 31)},
		{d(2024, 2, 29), 12, d(2025, 2, 28)},
	} {
		if got := addMonths(tc.from, tc.n); !got.Equal(tc.want) {
			t.Errorf("addMonths(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
}

// TestTermsCountFromStart: renewals and monthly payments count from the
// purchase, so a reservation bought on Jan 31 is due on Feb 28 and Mar 31.
func TestTermsCountFromStart(t *testing.T) {
	start := time.Date(2026, 1, 31, 9, 30, 0, 0, time.UTC)
	r := newResv(ptu.Reservation{ID: "r", Quantity: 2, Term: ptu.TermOneYear, BillingPlan: ptu.BillingPlanMonthly, AutoRenew: true, Start: start})
	ps := r.periods(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	if len(ps) != 14 {
		t.Fatalf("%d payments: %+v", len(ps), ps)
	}
	for i, want := range []struct {
		day  time.Time
		kind string
	}{
		{start, ChargePurchase},
		{time.Date(2026, 2, 28, 9, 30, 0, 0, time.UTC), ChargeMonthlyPayment},
		{time.Date(2026, 3, 31, 9, 30, 0, 0, time.UTC), ChargeMonthlyPayment},
		{time.Date(2027, 1, 31, 9, 30, 0, 0, time.UTC), ChargeRenewal},
		{time.Date(2027, 2, 28, 9, 30, 0, 0, time.UTC), ChargeMonthlyPayment},
	} {
		j := []int{0, 1, 2, 12, 13}[i]
		if !ps[j].start.Equal(want.day) || ps[j].kind != want.kind || ps[j].amount != 442_000_000 {
			t.Errorf("payment %d: %+v, want %s %s", j, ps[j], want.day, want.kind)
		}
	}
	// Amortized over a whole payment period, the payment comes back exactly.
	if got := r.amortized(ps, ps[1].start, ps[1].end); got != ps[1].amount {
		t.Errorf("amortized over February: %d, want %d", got, ps[1].amount)
	}
	if s, e := r.term(time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)); !s.Equal(time.Date(2027, 1, 31, 9, 30, 0, 0, time.UTC)) || !e.Equal(time.Date(2028, 1, 31, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("second term: %s - %s", s, e)
	}
}

func TestFormatUSD(t *testing.T) {
	for micros, want := range map[int64]string{
		0:               "$0.00",
		4_995:           "$0.00",
		5_000:           "$0.01",
		1_000_000:       "$1.00",
		146_000_000_000: "$146,000.00",
		-1_234_567_890:  "-$1,234.57",
	} {
		if got := FormatUSD(micros); got != want {
			t.Errorf("FormatUSD(%d) = %q, want %q", micros, got, want)
		}
	}
}
