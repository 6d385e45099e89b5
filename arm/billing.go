package arm

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
)

// Pricing, reservations and chargeback reports (ptu's extension; Azure keeps
// them in the pricing pages, Microsoft.Capacity and Cost Management). Money
// is integer micro-dollars in fields named …Micros; quantities of PTU time
// are PTU-minutes.

const typeReservation = "Microsoft.CognitiveServices/reservations"

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
		if h.opt.Billing == nil {
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

type priceJSON struct {
	Model                  modelRefJSON `json:"model"`
	SKUName                string       `json:"skuName"`
	PricePerPTUHourMicros  int64        `json:"pricePerPTUHourMicros,omitempty"`
	InputPer1MMicros       int64        `json:"inputPer1MMicros,omitempty"`
	CachedInputPer1MMicros int64        `json:"cachedInputPer1MMicros,omitempty"`
	OutputPer1MMicros      int64        `json:"outputPer1MMicros,omitempty"`
}

func priceWire(p billing.Price) priceJSON {
	return priceJSON{Model: modelRefWire(p.Model), SKUName: p.SKUName, PricePerPTUHourMicros: p.PricePerPTUHourMicros,
		InputPer1MMicros: p.InputPer1MMicros, CachedInputPer1MMicros: p.CachedInputPer1MMicros, OutputPer1MMicros: p.OutputPer1MMicros}
}

type termPriceJSON struct {
	Term                       string `json:"term"`
	Months                     int    `json:"months"`
	PricePerPTUMicros          int64  `json:"pricePerPTUMicros"`
	MonthlyPaymentPerPTUMicros int64  `json:"monthlyPaymentPerPTUMicros"`
}

func termPriceWire(t billing.TermPrice) termPriceJSON {
	return termPriceJSON{Term: t.Term, Months: t.Months, PricePerPTUMicros: t.PerPTUMicros, MonthlyPaymentPerPTUMicros: t.MonthlyPaymentPerPTUMicros}
}

type priceListJSON struct {
	Currency         string          `json:"currency"`
	HoursPerMonth    int             `json:"hoursPerMonth"`
	ReservationTerms []termPriceJSON `json:"reservationTerms"`
	Value            []priceJSON     `json:"value"`
}

func (h *handler) listPrices(r *http.Request, _ params) (int, any, error) {
	q := r.URL.Query()
	ps := h.opt.Billing.Prices(billing.PriceFilter{ModelName: queryValue(q, "modelName"), ModelVersion: queryValue(q, "modelVersion"),
		SKUName: queryValue(q, "skuName")})
	out := priceListJSON{Currency: billing.Currency, HoursPerMonth: billing.HoursPerMonth, Value: []priceJSON{}}
	for _, t := range billing.TermPrices() {
		out.ReservationTerms = append(out.ReservationTerms, termPriceWire(t))
	}
	for _, p := range ps {
		out.Value = append(out.Value, priceWire(p))
	}
	return http.StatusOK, out, nil
}

type quoteJSON struct {
	priceJSON
	Capacity      int                    `json:"capacity"`
	Currency      string                 `json:"currency"`
	HoursPerMonth int                    `json:"hoursPerMonth"`
	HourlyMicros  int64                  `json:"hourlyMicros"`
	MonthlyMicros int64                  `json:"monthlyMicros"`
	Reservations  []reservationQuoteJSON `json:"reservations"`
}

type reservationQuoteJSON struct {
	Term                 string  `json:"term"`
	TermMicros           int64   `json:"termMicros"`
	MonthlyPaymentMicros int64   `json:"monthlyPaymentMicros"`
	PayAsYouGoMicros     int64   `json:"payAsYouGoMicros"`
	SavingsMicros        int64   `json:"savingsMicros"`
	SavingsPercent       float64 `json:"savingsPercent"`
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
	qt, err := h.opt.Billing.Quote(in)
	if err != nil {
		return 0, nil, err
	}
	out := quoteJSON{priceJSON: priceWire(qt.Price), Capacity: qt.Capacity, Currency: billing.Currency, HoursPerMonth: billing.HoursPerMonth,
		HourlyMicros: qt.HourlyMicros, MonthlyMicros: qt.MonthlyMicros, Reservations: []reservationQuoteJSON{}}
	for _, rq := range qt.Reservations {
		out.Reservations = append(out.Reservations, reservationQuoteJSON{Term: rq.Term, TermMicros: rq.TermMicros,
			MonthlyPaymentMicros: rq.MonthlyPaymentMicros, PayAsYouGoMicros: rq.PayAsYouGoMicros,
			SavingsMicros: rq.SavingsMicros, SavingsPercent: rq.SavingsPercent})
	}
	return http.StatusOK, out, nil
}

// --- reservations ---

type reservationJSON struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Type       string               `json:"type"`
	Properties reservationPropsJSON `json:"properties"`
}

type reservationPropsJSON struct {
	DisplayName      string `json:"displayName"`
	SubscriptionID   string `json:"subscriptionId"`
	AppliedScopeType string `json:"appliedScopeType"` // Subscription | ResourceGroup
	ResourceGroup    string `json:"resourceGroup,omitempty"`
	Location         string `json:"location"`
	SKUName          string `json:"skuName"`
	Quantity         int    `json:"quantity"`
	Term             string `json:"term"`
	BillingPlan      string `json:"billingPlan"`
	AutoRenew        bool   `json:"autoRenew"`
	State            string `json:"state"`
	PurchaseDateTime string `json:"purchaseDateTime"`
	TermStart        string `json:"termStartDateTime"`
	TermEnd          string `json:"termEndDateTime"`
	ExpiryDateTime   string `json:"expiryDateTime,omitempty"` // when it stops applying; absent while it renews
	CancelledAt      string `json:"cancelledDateTime,omitempty"`
	Currency         string `json:"currency"`
	TermPricePerPTU  int64  `json:"termPricePerPTUMicros"`
	TermMicros       int64  `json:"termMicros"`
	PaymentMicros    int64  `json:"paymentMicros"`
	RefundMicros     int64  `json:"refundMicros,omitempty"`
}

func reservationWire(r billing.Reservation) reservationJSON {
	scope := "Subscription"
	if r.ResourceGroup != "" {
		scope = "ResourceGroup"
	}
	end := r.End
	if !r.CancelledAt.IsZero() {
		end = r.CancelledAt
	}
	return reservationJSON{
		ID:   "/subscriptions/" + r.SubscriptionID + providerPrefix + "/reservations/" + r.ID,
		Name: r.ID, Type: typeReservation,
		Properties: reservationPropsJSON{
			DisplayName: r.DisplayName, SubscriptionID: r.SubscriptionID, AppliedScopeType: scope, ResourceGroup: r.ResourceGroup,
			Location: r.Region, SKUName: r.SKUName, Quantity: r.Quantity, Term: r.Term, BillingPlan: r.BillingPlan,
			AutoRenew: r.AutoRenew, State: r.State, PurchaseDateTime: armTime(r.Start),
			TermStart: armTime(r.TermStart), TermEnd: armTime(r.TermEnd), ExpiryDateTime: armTime(end),
			CancelledAt: armTime(r.CancelledAt), Currency: billing.Currency, TermPricePerPTU: r.Price.PerPTUMicros,
			TermMicros: int64(r.Quantity) * r.Price.PerPTUMicros, PaymentMicros: r.PaymentMicros, RefundMicros: r.RefundMicros,
		},
	}
}

type reservationBody struct {
	DisplayName      *string `json:"displayName"`
	AppliedScopeType *string `json:"appliedScopeType"`
	ResourceGroup    *string `json:"resourceGroup"`
	Location         *string `json:"location"`
	SKUName          *string `json:"skuName"`
	Quantity         *int    `json:"quantity"`
	Term             *string `json:"term"`
	BillingPlan      *string `json:"billingPlan"`
	AutoRenew        *bool   `json:"autoRenew"`
	Force            *bool   `json:"force"`
}

func (h *handler) purchaseReservation(r *http.Request, p params) (int, any, error) {
	var b reservationBody
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
	res, err := h.opt.Billing.PurchaseReservation(r.Context(), p["sub"], in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, reservationWire(res), nil
}

func (h *handler) listReservations(r *http.Request, p params) (int, any, error) {
	rs, err := h.opt.Billing.ListReservations(r.Context(), p["sub"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]reservationJSON, 0, len(rs))
	for _, res := range rs {
		out = append(out, reservationWire(res))
	}
	return http.StatusOK, listOf(out), nil
}

func (h *handler) getReservation(r *http.Request, p params) (int, any, error) {
	res, err := h.opt.Billing.GetReservation(r.Context(), p["sub"], p["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reservationWire(res), nil
}

// reservationPatchBody takes the changeable fields flat or under properties.
type reservationPatchBody struct {
	DisplayName *string `json:"displayName"`
	AutoRenew   *bool   `json:"autoRenew"`
	Properties  *struct {
		DisplayName *string `json:"displayName"`
		AutoRenew   *bool   `json:"autoRenew"`
	} `json:"properties"`
}

func (h *handler) updateReservation(r *http.Request, p params) (int, any, error) {
	var b reservationPatchBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	in := billing.ReservationUpdate{DisplayName: b.DisplayName, AutoRenew: b.AutoRenew}
	if b.Properties != nil {
		in.DisplayName = firstNonNil(in.DisplayName, b.Properties.DisplayName)
		in.AutoRenew = firstNonNil(in.AutoRenew, b.Properties.AutoRenew)
	}
	res, err := h.opt.Billing.UpdateReservation(r.Context(), p["sub"], p["id"], in)
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
	res, err := h.opt.Billing.CancelReservation(r.Context(), p["sub"], p["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reservationWire(res), nil
}

// --- reports ---

type usageReportJSON struct {
	SubscriptionID string          `json:"subscriptionId"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Granularity    string          `json:"granularity"`
	GroupBy        string          `json:"groupBy"`
	Currency       string          `json:"currency"`
	Value          []usageLineJSON `json:"value"`
	Total          usageLineJSON   `json:"total"`
}

type usageLineJSON struct {
	Period                string                 `json:"period"`
	SubscriptionID        string                 `json:"subscriptionId"`
	ResourceGroup         string                 `json:"resourceGroup,omitempty"`
	Account               string                 `json:"account,omitempty"`
	Deployment            string                 `json:"deployment,omitempty"`
	Location              string                 `json:"location,omitempty"`
	SKUName               string                 `json:"skuName,omitempty"`
	Model                 *modelRefJSON          `json:"model,omitempty"`
	PricePerPTUHourMicros int64                  `json:"pricePerPTUHourMicros,omitempty"`
	PTUMinutes            int64                  `json:"ptuMinutes"`
	ReservedPTUMinutes    int64                  `json:"reservedPTUMinutes"`
	PayAsYouGoPTUMinutes  int64                  `json:"payAsYouGoPTUMinutes"`
	PayAsYouGoCostMicros  int64                  `json:"payAsYouGoCostMicros"`
	ReservedCostMicros    int64                  `json:"reservedCostMicros"`
	Calls                 int64                  `json:"calls"`
	PromptTokens          int64                  `json:"promptTokens"`
	CachedTokens          int64                  `json:"cachedTokens"`
	CompletionTokens      int64                  `json:"completionTokens"`
	TokenCostMicros       int64                  `json:"tokenCostMicros"`
	TotalCostMicros       int64                  `json:"totalCostMicros"`
	Reservations          []reservationShareJSON `json:"reservations,omitempty"`
}

type reservationShareJSON struct {
	ReservationID string `json:"reservationId"`
	PTUMinutes    int64  `json:"ptuMinutes"`
	CostMicros    int64  `json:"costMicros"`
}

func usageLineWire(l billing.UsageLine) usageLineJSON {
	out := usageLineJSON{Period: armTime(l.Period), SubscriptionID: l.SubscriptionID, ResourceGroup: l.ResourceGroup,
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
		out.Reservations = append(out.Reservations, reservationShareJSON{ReservationID: s.ReservationID, PTUMinutes: s.PTUMinutes, CostMicros: s.CostMicros})
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
	rep, err := h.opt.Billing.Usage(r.Context(), billing.UsageQuery{SubscriptionID: p["sub"], From: from, To: to,
		Granularity: queryValue(q, "granularity"), GroupBy: queryValue(q, "groupBy"),
		ResourceGroup: queryValue(q, "resourceGroup"), Account: queryValue(q, "account"), Deployment: queryValue(q, "deployment")})
	if err != nil {
		return 0, nil, err
	}
	out := usageReportJSON{SubscriptionID: rep.SubscriptionID, From: armTime(rep.From), To: armTime(rep.To),
		Granularity: rep.Granularity, GroupBy: rep.GroupBy, Currency: billing.Currency,
		Value: make([]usageLineJSON, 0, len(rep.Lines)), Total: usageLineWire(rep.Total)}
	for _, l := range rep.Lines {
		out.Value = append(out.Value, usageLineWire(l))
	}
	return http.StatusOK, out, nil
}

type reservationReportJSON struct {
	SubscriptionID string                `json:"subscriptionId"`
	From           string                `json:"from"`
	To             string                `json:"to"`
	Granularity    string                `json:"granularity"`
	Currency       string                `json:"currency"`
	Value          []reservationLineJSON `json:"value"`
	Total          reservationLineJSON   `json:"total"`
	Charges        []chargeJSON          `json:"charges"`
	ChargesMicros  int64                 `json:"chargesMicros"`
}

type reservationLineJSON struct {
	Period              string  `json:"period"`
	ReservationID       string  `json:"reservationId,omitempty"`
	DisplayName         string  `json:"displayName,omitempty"`
	ResourceGroup       string  `json:"resourceGroup,omitempty"`
	Location            string  `json:"location,omitempty"`
	SKUName             string  `json:"skuName,omitempty"`
	Term                string  `json:"term,omitempty"`
	Quantity            int     `json:"quantity,omitempty"`
	ReservedPTUMinutes  int64   `json:"reservedPTUMinutes"`
	UsedPTUMinutes      int64   `json:"usedPTUMinutes"`
	UnusedPTUMinutes    int64   `json:"unusedPTUMinutes"`
	UtilizationPercent  float64 `json:"utilizationPercent"`
	AmortizedCostMicros int64   `json:"amortizedCostMicros"`
	UsedCostMicros      int64   `json:"usedCostMicros"`
	UnusedCostMicros    int64   `json:"unusedCostMicros"`
}

type chargeJSON struct {
	ReservationID string `json:"reservationId"`
	DisplayName   string `json:"displayName"`
	Time          string `json:"time"`
	Kind          string `json:"kind"`
	AmountMicros  int64  `json:"amountMicros"`
	PeriodStart   string `json:"periodStart"`
	PeriodEnd     string `json:"periodEnd"`
}

func reservationLineWire(l billing.ReservationLine) reservationLineJSON {
	return reservationLineJSON{Period: armTime(l.Period), ReservationID: l.ReservationID, DisplayName: l.DisplayName,
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
	rep, err := h.opt.Billing.Reservations(r.Context(), billing.ReservationQuery{SubscriptionID: p["sub"], From: from, To: to,
		Granularity: queryValue(q, "granularity")})
	if err != nil {
		return 0, nil, err
	}
	out := reservationReportJSON{SubscriptionID: rep.SubscriptionID, From: armTime(rep.From), To: armTime(rep.To),
		Granularity: rep.Granularity, Currency: billing.Currency, Value: make([]reservationLineJSON, 0, len(rep.Lines)),
		Total: reservationLineWire(rep.Total), Charges: make([]chargeJSON, 0, len(rep.Charges)), ChargesMicros: rep.ChargesMicros}
	for _, l := range rep.Lines {
		out.Value = append(out.Value, reservationLineWire(l))
	}
	for _, c := range rep.Charges {
		out.Charges = append(out.Charges, chargeJSON{ReservationID: c.ReservationID, DisplayName: c.DisplayName, Time: armTime(c.Time),
			Kind: c.Kind, AmountMicros: c.AmountMicros, PeriodStart: armTime(c.PeriodStart), PeriodEnd: armTime(c.PeriodEnd)})
	}
	return http.StatusOK, out, nil
}
