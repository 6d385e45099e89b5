package billing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// MaxReservationQuantity is the largest reservation, in PTUs.
const MaxReservationQuantity = 100_000

// ReservationInput is a reservation purchase.
type ReservationInput struct {
	DisplayName string
	// ResourceGroup scopes the reservation to one resource group; "" is the
	// whole subscription.
	ResourceGroup string
	Location      string
	SKUName       string // a provisioned deployment type
	Quantity      int    // PTUs
	Term          string // P1M or P1Y
	BillingPlan   string // Monthly (default) or Upfront
	AutoRenew     bool
	// Force buys a reservation larger than the PTUs it could discount now.
	Force bool
}

// ReservationSizing is the Info of a purchase refused for its size: what the
// reservation could discount in its scope now.
type ReservationSizing struct {
	Requested int `json:"requested"`
	Deployed  int `json:"deployed"`  // PTUs of the type deployed in the scope and region
	Reserved  int `json:"reserved"`  // PTUs of active reservations that can discount the same deployments
	Uncovered int `json:"uncovered"` // Deployed - Reserved, at least 0: the largest purchase accepted without force
}

// Reservation is a stored reservation with what follows from it at one time.
type Reservation struct {
	ptu.Reservation
	State string // ptu.ReservationActive | Expired | Cancelled
	// TermStart and TermEnd bound the current term (the last one once the
	// reservation has ended); it renews at TermEnd when AutoRenew is set.
	TermStart, TermEnd time.Time
	Price              TermPrice
	// PaymentMicros is what each payment of its billing plan is.
	PaymentMicros int64
	// RefundMicros is what its cancellation refunded (0 when not cancelled).
	RefundMicros int64
}

// resv holds a reservation's term arithmetic.
type resv struct {
	ptu.Reservation
	price TermPrice
}

func newResv(r ptu.Reservation) resv {
	p, ok := termPrice(r.Term)
	if !ok {
		p = termPrices[0] // stored reservations always have a valid term; this keeps term arithmetic finite
	}
	return resv{Reservation: r, price: p}
}

// addMonths adds n calendar months to t, keeping the time of day and
// clamping the day to the month's last (Jan 31 + 1 month is Feb 28 or 29).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// termStart is the start of term k (0 for the first). Terms and monthly
// payments count from Start, never from each other, so a reservation bought
// on Jan 31 renews on Feb 28 and then on Mar 31.
func (r resv) termStart(k int) time.Time { return addMonths(r.Start, k*r.price.Months) }

// end is when the reservation stops applying: its End or its cancellation,
// whichever is first; zero while it renews.
func (r resv) end() time.Time {
	e := r.End
	if !r.CancelledAt.IsZero() && (e.IsZero() || r.CancelledAt.Before(e)) {
		e = r.CancelledAt
	}
	return e
}

// activeAt reports whether the reservation applies in the minute starting at t.
func (r resv) activeAt(t time.Time) bool {
	e := r.end()
	return !t.Before(r.Start) && (e.IsZero() || t.Before(e))
}

func (r resv) state(now time.Time) string {
	switch e := r.end(); {
	case !r.CancelledAt.IsZero() && !now.Before(r.CancelledAt):
		return ptu.ReservationCancelled
	case !e.IsZero() && !now.Before(e):
		return ptu.ReservationExpired
	}
	return ptu.ReservationActive
}

// term returns the bounds of the term holding t (the last term when t is
// past the reservation's end).
func (r resv) term(t time.Time) (time.Time, time.Time) {
	if e := r.end(); !e.IsZero() && !t.Before(e) {
		t = e.Add(-time.Minute)
	}
	k := 0
	for !r.termStart(k + 1).After(t) {
		k++
	}
	return r.termStart(k), r.termStart(k + 1)
}

// period is what one payment covers.
type period struct {
	start, end time.Time
	amount     int64
	kind       string
}

// Kinds of charges.
const (
	ChargePurchase       = "Purchase"       // the first payment
	ChargeMonthlyPayment = "MonthlyPayment" // a later payment of the Monthly plan within a term
	ChargeRenewal        = "Renewal"        // the first payment of a renewed term
	ChargeRefund         = "Refund"         // the unused part of the last payment, on cancellation
)

// periods lists the payments made before until: one per term (Upfront) or
// one per month of each term (Monthly), each at the start of what it
// covers. A payment falls due only while the reservation applies; the first
// one, the purchase, always does.
func (r resv) periods(until time.Time) []period {
	e := r.end()
	if !e.IsZero() && e.Before(until) {
		until = e
	}
	monthly := r.BillingPlan == ptu.BillingPlanMonthly && r.price.Months > 1
	q := int64(r.Quantity)
	var out []period
	for i := 0; ; i++ {
		var p period
		if monthly {
			p = period{start: addMonths(r.Start, i), end: addMonths(r.Start, i+1), amount: q * r.price.MonthlyPaymentPerPTUMicros}
		} else {
			p = period{start: r.termStart(i), end: r.termStart(i + 1), amount: q * r.price.PerPTUMicros}
		}
		if i > 0 && !p.start.Before(until) {
			return out
		}
		switch {
		case i == 0:
			p.kind = ChargePurchase
		case !monthly || i%r.price.Months == 0:
			p.kind = ChargeRenewal
		default:
			p.kind = ChargeMonthlyPayment
		}
		out = append(out, p)
		if i == 0 && !until.After(p.start) {
			return out
		}
	}
}

// cum is the part of p's payment amortized by t: the payment spread evenly
// over its minutes, rounded down, so the parts of a period add up exactly.
func (p period) cum(t time.Time) int64 {
	if !t.After(p.start) {
		return 0
	}
	if !t.Before(p.end) {
		return p.amount
	}
	return mulDivFloor(p.amount, minutes(p.start, t), minutes(p.start, p.end))
}

// amortized is the cost of the reservation over [a, b), a span in which it applies.
func (r resv) amortized(ps []period, a, b time.Time) int64 {
	var c int64
	for _, p := range ps {
		if p.end.After(a) && p.start.Before(b) {
			c += p.cum(b) - p.cum(a)
		}
	}
	return c
}

// refund is what cancelling returns: the part of the last payment not
// amortized by the cancellation.
func (r resv) refund() int64 {
	if r.CancelledAt.IsZero() || !r.End.IsZero() && !r.CancelledAt.Before(r.End) {
		return 0
	}
	ps := r.periods(r.CancelledAt)
	last := ps[len(ps)-1]
	if !last.end.After(r.CancelledAt) {
		return 0
	}
	return last.amount - last.cum(r.CancelledAt)
}

func (r resv) view(now time.Time) Reservation {
	out := Reservation{Reservation: r.Reservation, State: r.state(now), Price: r.price, RefundMicros: r.refund()}
	out.TermStart, out.TermEnd = r.term(now)
	out.PaymentMicros = int64(r.Quantity) * r.price.PerPTUMicros
	if r.BillingPlan == ptu.BillingPlanMonthly {
		out.PaymentMicros = int64(r.Quantity) * r.price.MonthlyPaymentPerPTUMicros
	}
	return out
}

// PurchaseReservation buys a reservation that applies from now. It is refused
// when it is larger than the PTUs of its type deployed in its region and
// scope that no active reservation covers yet, unless in.Force: a
// reservation discounts deployed PTUs and reserves no capacity, so PTUs
// reserved beyond them are paid for and unused.
func (s *Service) PurchaseReservation(ctx context.Context, sub string, in ReservationInput) (Reservation, error) {
	now := minute(s.Now())
	var out Reservation
	err := s.store.Update(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		r, err := s.checkPurchase(tx, subn, in)
		if err != nil {
			return err
		}
		r.ID, r.Start, r.CreatedAt, r.UpdatedAt = newID(), now, now, now
		rv := newResv(r)
		if !r.AutoRenew {
			rv.End = rv.termStart(1)
		}
		if rv.DisplayName == "" {
			scope := "subscription"
			if rv.ResourceGroup != "" {
				scope = rv.ResourceGroup
			}
			rv.DisplayName = fmt.Sprintf("%s_%s_%s_%s", rv.SKUName, rv.Region, scope, now.Format("2006-01-02"))
		}
		if err := s.checkSize(tx, rv.Reservation, in.Force, now); err != nil {
			return err
		}
		out = rv.view(now)
		return tx.Reservations().Put(rv.Reservation)
	})
	return out, err
}

// checkPurchase validates a purchase and returns the reservation it makes.
func (s *Service) checkPurchase(tx ptu.Tx, sub ptu.Subscription, in ReservationInput) (ptu.Reservation, error) {
	r := ptu.Reservation{SubscriptionID: sub.ID, DisplayName: strings.TrimSpace(in.DisplayName), AutoRenew: in.AutoRenew}
	if len(r.DisplayName) > 64 {
		return r, invalid("displayName", "The display name is longer than 64 characters.")
	}
	if in.ResourceGroup != "" {
		if err := checkResourceGroup(in.ResourceGroup); err != nil {
			return r, err
		}
		r.ResourceGroup = in.ResourceGroup
	}
	if in.Location == "" {
		return r, invalid("location", "The location is required: the region whose deployments the reservation discounts.")
	}
	region, err := getRegion(tx, in.Location)
	if err != nil {
		return r, err
	}
	r.Region = region.Name
	r.SKUName = ptu.CanonicalSKU(in.SKUName)
	if !ptu.IsProvisioned(r.SKUName) {
		return r, &ptu.Error{Code: ptu.CodeInvalidSKU, Target: "skuName", Message: fmt.Sprintf(
			"Reservations apply to provisioned deployment types; '%s' is not one. Use %s.", in.SKUName, strings.Join(ptu.ProvisionedSKUs, ", "))}
	}
	if in.Quantity < 1 || in.Quantity > MaxReservationQuantity {
		return r, invalid("quantity", "The quantity must be a number of PTUs from 1 to %d, not %d.", MaxReservationQuantity, in.Quantity)
	}
	r.Quantity = in.Quantity
	t, ok := termPrice(in.Term)
	if !ok {
		return r, invalid("term", "The term '%s' is not valid. Use P1M (one month) or P1Y (one year).", in.Term)
	}
	r.Term = t.Term
	switch {
	case in.BillingPlan == "" || strings.EqualFold(in.BillingPlan, ptu.BillingPlanMonthly):
		r.BillingPlan = ptu.BillingPlanMonthly
	case strings.EqualFold(in.BillingPlan, ptu.BillingPlanUpfront):
		r.BillingPlan = ptu.BillingPlanUpfront
	default:
		return r, invalid("billingPlan", "The billing plan '%s' is not valid. Use Monthly or Upfront.", in.BillingPlan)
	}
	return r, nil
}

// checkResourceGroup applies ARM's resource group naming rule.
func checkResourceGroup(rg string) error {
	ok := len(rg) >= 1 && len(rg) <= 90 && !strings.HasSuffix(rg, ".")
	for _, c := range rg {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.()", c))
	}
	if !ok {
		return &ptu.Error{Code: ptu.CodeInvalidResourceName, Target: "resourceGroup", Message: fmt.Sprintf(
			"Resource group '%s' is invalid: use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'.", rg)}
	}
	return nil
}

// checkSize refuses, unless forced, a reservation larger than the deployed
// PTUs it could discount that active reservations do not cover already. A
// reservation for a resource group must fit both its group (against the
// group's own reservations) and the subscription (against all of them, as
// subscription-wide reservations may be covering the group already).
func (s *Service) checkSize(tx ptu.Tx, r ptu.Reservation, force bool, now time.Time) error {
	deps, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: r.SubscriptionID, Region: r.Region, SKUName: r.SKUName})
	if err != nil {
		return err
	}
	others, err := tx.Reservations().List(r.SubscriptionID)
	if err != nil {
		return err
	}
	sub := ReservationSizing{Requested: r.Quantity}
	group := ReservationSizing{Requested: r.Quantity}
	for _, d := range deps {
		sub.Deployed += d.Capacity
		if strings.EqualFold(d.ResourceGroup, r.ResourceGroup) {
			group.Deployed += d.Capacity
		}
	}
	for _, o := range others {
		if o.Region != r.Region || o.SKUName != r.SKUName || !newResv(o).activeAt(now) {
			continue
		}
		sub.Reserved += o.Quantity
		if r.ResourceGroup != "" && strings.EqualFold(o.ResourceGroup, r.ResourceGroup) {
			group.Reserved += o.Quantity
		}
	}
	sub.Uncovered = max(0, sub.Deployed-sub.Reserved)
	group.Uncovered = max(0, group.Deployed-group.Reserved)
	sz, scope := sub, "subscription "+r.SubscriptionID
	if r.ResourceGroup != "" && group.Uncovered <= sub.Uncovered {
		sz, scope = group, "resource group '"+r.ResourceGroup+"'"
	}
	if r.Quantity <= sz.Uncovered || force {
		return nil
	}
	return &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "quantity", Info: sz, Message: fmt.Sprintf(
		"A reservation of %d PTUs is larger than what it can discount: %d PTUs of %s are deployed in %s in %s and %d of them are "+
			"already covered by active reservations, so %d are uncovered. A reservation is a discount on deployed PTUs, not "+
			"capacity: PTUs reserved beyond them are paid for and never used, and capacity to deploy more is not guaranteed. "+
			"Create the deployments first, then reserve at most %d PTUs, or set force to buy this reservation anyway.",
		r.Quantity, sz.Deployed, r.SKUName, r.Region, scope, sz.Reserved, sz.Uncovered, sz.Uncovered)}
}

// GetReservation returns one reservation of sub, or ResourceNotFound.
func (s *Service) GetReservation(ctx context.Context, sub, id string) (Reservation, error) {
	var out Reservation
	err := s.view(ctx, func(tx ptu.Tx) error {
		r, err := getReservation(tx, sub, id)
		if err != nil {
			return err
		}
		out = newResv(r).view(s.Now())
		return nil
	})
	return out, err
}

func getReservation(tx ptu.Tx, sub, id string) (ptu.Reservation, error) {
	if _, err := getSubscription(tx, sub); err != nil {
		return ptu.Reservation{}, err
	}
	r, err := tx.Reservations().Get(strings.ToLower(id))
	if err == nil && !strings.EqualFold(r.SubscriptionID, sub) {
		err = ptu.ErrNotFound
	}
	if err != nil && isNotFound(err) {
		return r, ptu.Errorf(ptu.CodeResourceNotFound, "Reservation '%s' was not found in subscription %s.", id, sub)
	}
	return r, err
}

// ListReservations lists sub's reservations, oldest first.
func (s *Service) ListReservations(ctx context.Context, sub string) ([]Reservation, error) {
	var out []Reservation
	err := s.view(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		rs, err := tx.Reservations().List(subn.ID)
		now := s.Now()
		for _, r := range rs {
			out = append(out, newResv(r).view(now))
		}
		return err
	})
	return out, err
}

// ReservationUpdate changes a reservation; nil fields keep their values.
type ReservationUpdate struct {
	DisplayName *string
	// AutoRenew off ends the reservation at the end of its current term; on
	// renews it there again.
	AutoRenew *bool
}

// UpdateReservation changes an active reservation's name or renewal.
func (s *Service) UpdateReservation(ctx context.Context, sub, id string, in ReservationUpdate) (Reservation, error) {
	now := minute(s.Now())
	var out Reservation
	err := s.store.Update(ctx, func(tx ptu.Tx) error {
		r, err := getReservation(tx, sub, id)
		if err != nil {
			return err
		}
		rv := newResv(r)
		if st := rv.state(now); st != ptu.ReservationActive {
			return ptu.Errorf(ptu.CodeConflict, "Reservation '%s' is %s and can no longer change.", r.ID, strings.ToLower(st))
		}
		if in.DisplayName != nil {
			name := strings.TrimSpace(*in.DisplayName)
			if name == "" || len(name) > 64 {
				return invalid("displayName", "The display name must have 1 to 64 characters.")
			}
			rv.DisplayName = name
		}
		if in.AutoRenew != nil {
			rv.AutoRenew = *in.AutoRenew
			rv.End = time.Time{}
			if !rv.AutoRenew {
				_, rv.End = rv.term(now)
			}
		}
		rv.UpdatedAt = now
		out = rv.view(now)
		return tx.Reservations().Put(rv.Reservation)
	})
	return out, err
}

// CancelReservation ends an active reservation now. The unused part of its
// last payment is refunded, prorated by the minute, with no fee; no later
// payment falls due.
func (s *Service) CancelReservation(ctx context.Context, sub, id string) (Reservation, error) {
	now := minute(s.Now())
	var out Reservation
	err := s.store.Update(ctx, func(tx ptu.Tx) error {
		r, err := getReservation(tx, sub, id)
		if err != nil {
			return err
		}
		rv := newResv(r)
		if st := rv.state(now); st != ptu.ReservationActive {
			return ptu.Errorf(ptu.CodeConflict, "Reservation '%s' is already %s.", r.ID, strings.ToLower(st))
		}
		rv.CancelledAt, rv.UpdatedAt = now, now
		out = rv.view(now)
		return tx.Reservations().Put(rv.Reservation)
	})
	return out, err
}
