package arm

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/billing"
)

// Pricing, reservations and chargeback reports (ptu's extension; Azure keeps
// them in the pricing pages, Microsoft.Capacity and Cost Management). Money
// is integer micro-dollars in fields named …Micros; quantities of PTU time
// are PTU-minutes.

// registerBilling adds the billing routes; they answer 404 when
// Options.Billing is nil.
func (h *handler) registerBilling() {
	h.handle(http.MethodGet, pCS+"/pricing", cognitiveVersions, h.withBilling(h.listPrices))
	h.handle(http.MethodGet, pCS+"/pricing/quote", cognitiveVersions, h.withBilling(h.quote))
	h.handle(http.MethodPost, pSub+pCS+"/reservations", cognitiveVersions, h.withBilling(h.purchaseReservation))
	h.handle(http.MethodGet, pSub+pCS+"/reservations", cognitiveVersions, h.withBilling(h.listReservations))
	h.handle(http.MethodGet, pSub+pCS+"/reservations/{id}", cognitiveVersions, h.withBilling(h.getReservation))
	h.handle(http.MethodPatch, pSub+pCS+"/reservations/{id}", cognitiveVersions, h.withBilling(h.updateReservation))
	h.handle(http.MethodPost, pSub+pCS+"/reservations/{id}/cancel", cognitiveVersions, h.withBilling(h.cancelReservation))
	h.handle(http.MethodGet, pSub+pCS+"/billing/usage", cognitiveVersions, h.withBilling(h.billingUsage))
	h.handle(http.MethodGet, pSub+pCS+"/billing/reservations", cognitiveVersions, h.withBilling(h.billingReservations))
}

func (h *handler) withBilling(fn endpointFunc) endpointFunc {
	return func(r *http.Request, p params) (int, any, error) {
		if h.billing == nil {
			return 0, nil, ptu.Errorf(ptu.CodeNotFound, "Billing is not enabled on this server.")
		}
		return fn(r, p)
	}
}

// queryValue reads a query parameter, matching its name in any case.
func queryValue(q url.Values, name string) string {
	if v := q.Get(name); v != "" {
		return v
	}
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// queryTime parses a time parameter: RFC 3339, or a date (midnight UTC).
func queryTime(q url.Values, name string) (time.Time, error) {
	s := queryValue(q, name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &ptu.Error{Code: ptu.CodeBadRequest, Target: name,
		Message: "'" + name + "' must be a date (2026-03-01) or an RFC 3339 time (2026-03-01T00:00:00Z), not '" + s + "'."}
}

// --- pricing ---

func priceWire(p billing.Price) armwire.Price {
	return armwire.Price{Model: modelRefWire(p.Model), SKUName: p.SKUName, PricePerPTUHourMicros: p.PricePerPTUHourMicros,
		InputPer1MMicros: p.InputPer1MMicros, CachedInputPer1MMicros: p.CachedInputPer1MMicros, OutputPer1MMicros: p.OutputPer1MMicros}
}

func termPriceWire(t billing.TermPrice) armwire.ReservationTerm {
	return armwire.ReservationTerm{Term: t.Term, Months: t.Months, PricePerPTUMicros: t.PerPTUMicros, MonthlyPaymentPerPTUMicros: t.MonthlyPaymentPerPTUMicros}
}

func (h *handler) listPrices(r *http.Request, _ params) (int, any, error) {
	q := r.URL.Query()
	ps := h.billing.Prices(billing.PriceFilter{ModelName: queryValue(q, "modelName"), ModelVersion: queryValue(q, "modelVersion"),
		SKUName: queryValue(q, "skuName")})
	out := armwire.PriceList{Currency: billing.Currency, HoursPerMonth: billing.HoursPerMonth, Value: []armwire.Price{}}
	for _, t := range billing.TermPrices() {
		out.ReservationTerms = append(out.ReservationTerms, termPriceWire(t))
	}
	for _, p := range ps {
		out.Value = append(out.Value, priceWire(p))
	}
	return http.StatusOK, out, nil
}

func (h *handler) quote(r *http.Request, _ params) (int, any, error) {
	q := r.URL.Query()
	in := billing.QuoteInput{Model: ptu.ModelRef{Format: queryValue(q, "modelFormat"), Name: queryValue(q, "modelName"),
		Version: queryValue(q, "modelVersion")}, SKUName: queryValue(q, "skuName")}
	c := queryValue(q, "capacity")
	n, err := strconv.Atoi(c)
	if err != nil {
		return 0, nil, &ptu.Error{Code: ptu.CodeBadRequest, Target: "capacity",
			Message: "'capacity' must be the deployment's size as an integer (PTUs for provisioned types), not '" + c + "'."}
	}
	in.Capacity = n
	qt, err := h.billing.Quote(in)
	if err != nil {
		return 0, nil, err
	}
	out := armwire.Quote{Price: priceWire(qt.Price), Capacity: qt.Capacity, Currency: billing.Currency, HoursPerMonth: billing.HoursPerMonth,
		HourlyMicros: qt.HourlyMicros, MonthlyMicros: qt.MonthlyMicros, Reservations: []armwire.ReservationQuote{}}
	for _, rq := range qt.Reservations {
		out.Reservations = append(out.Reservations, armwire.ReservationQuote{Term: rq.Term, TermMicros: rq.TermMicros,
			MonthlyPaymentMicros: rq.MonthlyPaymentMicros, PayAsYouGoMicros: rq.PayAsYouGoMicros,
			SavingsMicros: rq.SavingsMicros, SavingsPercent: rq.SavingsPercent})
	}
	return http.StatusOK, out, nil
}

// --- reservations ---

func reservationWire(r billing.Reservation) armwire.Reservation {
	scope := "Subscription"
	if r.ResourceGroup != "" {
		scope = "ResourceGroup"
	}
	end := r.End
	if !r.CancelledAt.IsZero() {
		end = r.CancelledAt
	}
	return armwire.Reservation{
		ID:   "/subscriptions/" + r.SubscriptionID + armwire.ProviderPrefix + "/reservations/" + r.ID,
		Name: r.ID, Type: armwire.TypeReservation,
		Properties: armwire.ReservationProperties{
			DisplayName: r.DisplayName, SubscriptionID: r.SubscriptionID, AppliedScopeType: scope, ResourceGroup: r.ResourceGroup,
			Location: r.Region, SKUName: r.SKUName, Quantity: r.Quantity, Term: r.Term, BillingPlan: r.BillingPlan,
			AutoRenew: r.AutoRenew, State: r.State, PurchaseDateTime: armTime(r.Start),
			TermStart: armTime(r.TermStart), TermEnd: armTime(r.TermEnd), ExpiryDateTime: armTime(end),
			CancelledAt: armTime(r.CancelledAt), Currency: billing.Currency, TermPricePerPTU: r.Price.PerPTUMicros,
			TermMicros: int64(r.Quantity) * r.Price.PerPTUMicros, PaymentMicros: r.PaymentMicros, RefundMicros: r.RefundMicros,
		},
	}
}

func (h *handler) purchaseReservation(r *http.Request, p params) (int, any, error) {
	var b armwire.ReservationBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if b.Quantity == nil {
		return 0, nil, invalidContent("quantity", "The request content was invalid: 'quantity' is required (the PTUs to reserve).")
	}
	in := billing.ReservationInput{DisplayName: deref(b.DisplayName), ResourceGroup: deref(b.ResourceGroup),
		Location: deref(b.Location), SKUName: deref(b.SKUName), Quantity: *b.Quantity, Term: deref(b.Term),
		BillingPlan: deref(b.BillingPlan), AutoRenew: deref(b.AutoRenew), Force: deref(b.Force)}
	switch scope := deref(b.AppliedScopeType); {
	case scope == "":
	case strings.EqualFold(scope, "Subscription"):
		if in.ResourceGroup != "" {
			return 0, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "resourceGroup",
				Message: "A reservation with appliedScopeType 'Subscription' applies to the whole subscription; leave out 'resourceGroup'."}
		}
	case strings.EqualFold(scope, "ResourceGroup"):
		if in.ResourceGroup == "" {
			return 0, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "resourceGroup",
				Message: "A reservation with appliedScopeType 'ResourceGroup' needs 'resourceGroup'."}
		}
	default:
		return 0, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "appliedScopeType",
			Message: "appliedScopeType '" + scope + "' is not valid. Use 'Subscription' or 'ResourceGroup'."}
	}
	res, err := h.billing.PurchaseReservation(r.Context(), p["sub"], in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, reservationWire(res), nil
}

func (h *handler) listReservations(r *http.Request, p params) (int, any, error) {
	rs, err := h.billing.ListReservations(r.Context(), p["sub"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.Reservation, 0, len(rs))
	for _, res := range rs {
		out = append(out, reservationWire(res))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) getReservation(r *http.Request, p params) (int, any, error) {
	res, err := h.billing.GetReservation(r.Context(), p["sub"], p["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reservationWire(res), nil
}

func (h *handler) updateReservation(r *http.Request, p params) (int, any, error) {
	var b armwire.ReservationPatchBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	in := billing.ReservationUpdate{DisplayName: b.DisplayName, AutoRenew: b.AutoRenew}
	if b.Properties != nil {
		in.DisplayName = firstNonNil(in.DisplayName, b.Properties.DisplayName)
		in.AutoRenew = firstNonNil(in.AutoRenew, b.Properties.AutoRenew)
	}
	res, err := h.billing.UpdateReservation(r.Context(), p["sub"], p["id"], in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reservationWire(res), nil
}

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func (h *handler) cancelReservation(r *http.Request, p params) (int, any, error) {
	res, err := h.billing.CancelReservation(r.Context(), p["sub"], p["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reservationWire(res), nil
}

// --- reports ---

func usageLineWire(l billing.UsageLine) armwire.UsageLine {
	out := armwire.UsageLine{Period: armTime(l.Period), SubscriptionID: l.SubscriptionID, ResourceGroup: l.ResourceGroup,
		Account: l.Account, Deployment: l.Deployment, Location: l.Region, SKUName: l.SKUName,
		PricePerPTUHourMicros: l.PricePerPTUHourMicros, PTUMinutes: l.PTUMinutes, ReservedPTUMinutes: l.ReservedPTUMinutes,
		PayAsYouGoPTUMinutes: l.PayAsYouGoPTUMinutes, PayAsYouGoCostMicros: l.PayAsYouGoCostMicros,
		ReservedCostMicros: l.ReservedCostMicros, Calls: l.Calls, PromptTokens: l.PromptTokens, CachedTokens: l.CachedTokens,
		CompletionTokens: l.CompletionTokens, TokenCostMicros: l.TokenCostMicros, TotalCostMicros: l.TotalCostMicros}
	if l.Model.Name != "" {
		m := modelRefWire(l.Model)
		out.Model = &m
	}
	for _, s := range l.Reservations {
		out.Reservations = append(out.Reservations, armwire.ReservationShare{ReservationID: s.ReservationID, PTUMinutes: s.PTUMinutes, CostMicros: s.CostMicros})
	}
	return out
}

func (h *handler) billingUsage(r *http.Request, p params) (int, any, error) {
	q := r.URL.Query()
	from, err := queryTime(q, "from")
	if err != nil {
		return 0, nil, err
	}
	to, err := queryTime(q, "to")
	if err != nil {
		return 0, nil, err
	}
	rep, err := h.billing.Usage(r.Context(), billing.UsageQuery{SubscriptionID: p["sub"], From: from, To: to,
		Granularity: queryValue(q, "granularity"), GroupBy: queryValue(q, "groupBy"),
		ResourceGroup: queryValue(q, "resourceGroup"), Account: queryValue(q, "account"), Deployment: queryValue(q, "deployment")})
	if err != nil {
		return 0, nil, err
	}
	out := armwire.UsageReport{SubscriptionID: rep.SubscriptionID, From: armTime(rep.From), To: armTime(rep.To),
		Granularity: rep.Granularity, GroupBy: rep.GroupBy, Currency: billing.Currency,
		Value: make([]armwire.UsageLine, 0, len(rep.Lines)), Total: usageLineWire(rep.Total)}
	for _, l := range rep.Lines {
		out.Value = append(out.Value, usageLineWire(l))
	}
	return http.StatusOK, out, nil
}

func reservationLineWire(l billing.ReservationLine) armwire.ReservationLine {
	return armwire.ReservationLine{Period: armTime(l.Period), ReservationID: l.ReservationID, DisplayName: l.DisplayName,
		ResourceGroup: l.ResourceGroup, Location: l.Region, SKUName: l.SKUName, Term: l.Term, Quantity: l.Quantity,
		ReservedPTUMinutes: l.ReservedPTUMinutes, UsedPTUMinutes: l.UsedPTUMinutes, UnusedPTUMinutes: l.UnusedPTUMinutes,
		UtilizationPercent: l.UtilizationPercent, AmortizedCostMicros: l.AmortizedCostMicros,
		UsedCostMicros: l.UsedCostMicros, UnusedCostMicros: l.UnusedCostMicros}
}

func (h *handler) billingReservations(r *http.Request, p params) (int, any, error) {
	q := r.URL.Query()
	from, err := queryTime(q, "from")
	if err != nil {
		return 0, nil, err
	}
	to, err := queryTime(q, "to")
	if err != nil {
		return 0, nil, err
	}
	rep, err := h.billing.Reservations(r.Context(), billing.ReservationQuery{SubscriptionID: p["sub"], From: from, To: to,
		Granularity: queryValue(q, "granularity")})
	if err != nil {
		return 0, nil, err
	}
	out := armwire.ReservationReport{SubscriptionID: rep.SubscriptionID, From: armTime(rep.From), To: armTime(rep.To),
		Granularity: rep.Granularity, Currency: billing.Currency, Value: make([]armwire.ReservationLine, 0, len(rep.Lines)),
		Total: reservationLineWire(rep.Total), Charges: make([]armwire.Charge, 0, len(rep.Charges)), ChargesMicros: rep.ChargesMicros}
	for _, l := range rep.Lines {
		out.Value = append(out.Value, reservationLineWire(l))
	}
	for _, c := range rep.Charges {
		out.Charges = append(out.Charges, armwire.Charge{ReservationID: c.ReservationID, DisplayName: c.DisplayName, Time: armTime(c.Time),
			Kind: c.Kind, AmountMicros: c.AmountMicros, PeriodStart: armTime(c.PeriodStart), PeriodEnd: armTime(c.PeriodEnd)})
	}
	return http.StatusOK, out, nil
}
