package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Pricing, reservations and chargeback reports (ptu's extension; see
// docs/billing.md). Money is integer micro-dollars in fields named …Micros
// ($1 = 1,000,000); PTU time is counted in PTU-minutes.

// Price is the list price of one deployment type of one model version:
// per PTU-hour for provisioned types, per million tokens for Standard ones.
type Price struct {
	Model                  ModelRef `json:"model"`
	SKUName                string   `json:"skuName"`
	PricePerPTUHourMicros  int64    `json:"pricePerPTUHourMicros,omitempty"`
	InputPer1MMicros       int64    `json:"inputPer1MMicros,omitempty"`
	CachedInputPer1MMicros int64    `json:"cachedInputPer1MMicros,omitempty"`
	OutputPer1MMicros      int64    `json:"outputPer1MMicros,omitempty"`
}

// ReservationTerm is the price of a reservation of one PTU for one term.
type ReservationTerm struct {
	Term                       string `json:"term"` // P1M or P1Y
	Months                     int    `json:"months"`
	PricePerPTUMicros          int64  `json:"pricePerPTUMicros"`
	MonthlyPaymentPerPTUMicros int64  `json:"monthlyPaymentPerPTUMicros"`
}

// PriceList is the server's list prices and reservation terms.
type PriceList struct {
	Currency         string            `json:"currency"`
	HoursPerMonth    int               `json:"hoursPerMonth"`
	ReservationTerms []ReservationTerm `json:"reservationTerms"`
	Value            []Price           `json:"value"`
}

// PriceFilter selects list prices; empty fields match everything.
type PriceFilter struct {
	ModelName, ModelVersion, SKUName string
}

// ListPrices returns the list prices of the server's catalog.
func (c *Client) ListPrices(ctx context.Context, f PriceFilter, opts ...Option) (*PriceList, error) {
	s := c.s.with(opts)
	q := url.Values{}
	setIf(q, "modelName", f.ModelName)
	setIf(q, "modelVersion", f.ModelVersion)
	setIf(q, "skuName", f.SKUName)
	var out PriceList
	if err := c.armDo(ctx, &s, http.MethodGet, providerPath+"/pricing", q, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// QuoteRequest names a deployment to price before creating it.
type QuoteRequest struct {
	Model    ModelRef // Version "" is the model's default version
	SKUName  string
	Capacity int
}

// Quote is what a deployment costs: on the hourly list price (HourlyMicros,
// and MonthlyMicros for 730 hours) and with a reservation of its size.
// Standard types have per-token prices and no hourly cost.
type Quote struct {
	Price
	Capacity      int                `json:"capacity"`
	Currency      string             `json:"currency"`
	HoursPerMonth int                `json:"hoursPerMonth"`
	HourlyMicros  int64              `json:"hourlyMicros"`
	MonthlyMicros int64              `json:"monthlyMicros"`
	Reservations  []ReservationQuote `json:"reservations"`
}

// ReservationQuote compares a reservation for one term with the hourly price
// over the same term.
type ReservationQuote struct {
	Term                 string  `json:"term"`
	TermMicros           int64   `json:"termMicros"`
	MonthlyPaymentMicros int64   `json:"monthlyPaymentMicros"`
	PayAsYouGoMicros     int64   `json:"payAsYouGoMicros"`
	SavingsMicros        int64   `json:"savingsMicros"`
	SavingsPercent       float64 `json:"savingsPercent"`
}

// QuotePrice prices a deployment before it is created. The size is checked
// as a create would check it.
func (c *Client) QuotePrice(ctx context.Context, in QuoteRequest, opts ...Option) (*Quote, error) {
	s := c.s.with(opts)
	q := url.Values{}
	setIf(q, "modelFormat", in.Model.Format)
	setIf(q, "modelName", in.Model.Name)
	setIf(q, "modelVersion", in.Model.Version)
	setIf(q, "skuName", in.SKUName)
	q.Set("capacity", strconv.Itoa(in.Capacity))
	var out Quote
	if err := c.armDo(ctx, &s, http.MethodGet, providerPath+"/pricing/quote", q, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reservation is a term discount on deployed PTUs of one type in one region
// of a subscription or resource group.
type Reservation struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Type       string                `json:"type"`
	Properties ReservationProperties `json:"properties"`
}

// ReservationProperties are a reservation's properties. State is Active,
// Expired or Cancelled; ExpiryDateTime is absent while it renews itself.
type ReservationProperties struct {
	DisplayName      string `json:"displayName"`
	SubscriptionID   string `json:"subscriptionId"`
	AppliedScopeType string `json:"appliedScopeType"`
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
	ExpiryDateTime   string `json:"expiryDateTime,omitempty"`
	CancelledAt      string `json:"cancelledDateTime,omitempty"`
	Currency         string `json:"currency"`
	TermPricePerPTU  int64  `json:"termPricePerPTUMicros"`
	TermMicros       int64  `json:"termMicros"`
	PaymentMicros    int64  `json:"paymentMicros"`
	RefundMicros     int64  `json:"refundMicros,omitempty"`
}

// ReservationPurchase is what buying a reservation takes.
type ReservationPurchase struct {
	DisplayName string `json:"displayName,omitempty"`
	// AppliedScopeType is Subscription or ResourceGroup; "" means
	// ResourceGroup when ResourceGroup is set, else Subscription.
	AppliedScopeType string `json:"appliedScopeType,omitempty"`
	ResourceGroup    string `json:"resourceGroup,omitempty"`
	Location         string `json:"location"`
	SKUName          string `json:"skuName"`
	Quantity         int    `json:"quantity"`
	Term             string `json:"term"`                  // P1M or P1Y
	BillingPlan      string `json:"billingPlan,omitempty"` // Monthly (default) or Upfront
	AutoRenew        bool   `json:"autoRenew"`
	// Force buys a reservation larger than the deployed PTUs it can discount.
	Force bool `json:"force,omitempty"`
}

// ReservationUpdate changes a reservation; nil fields are left as they are.
type ReservationUpdate struct {
	DisplayName *string `json:"displayName,omitempty"`
	AutoRenew   *bool   `json:"autoRenew,omitempty"`
}

func (c *Client) reservationsPath(ctx context.Context, s *settings) (string, error) {
	sp, err := c.subPath(ctx, s)
	if err != nil {
		return "", err
	}
	return sp + providerPath + "/reservations", nil
}

// PurchaseReservation buys a reservation. One larger than the PTUs deployed
// in its scope and region that no reservation covers yet is refused with
// InvalidResourceProperties unless Force is set.
func (c *Client) PurchaseReservation(ctx context.Context, in ReservationPurchase, opts ...Option) (*Reservation, error) {
	s := c.s.with(opts)
	p, err := c.reservationsPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out Reservation
	if err := c.armDo(ctx, &s, http.MethodPost, p, nil, in, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListReservations lists the subscription's reservations, oldest first.
func (c *Client) ListReservations(ctx context.Context, opts ...Option) ([]Reservation, error) {
	s := c.s.with(opts)
	p, err := c.reservationsPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out list[Reservation]
	err = c.armDo(ctx, &s, http.MethodGet, p, nil, nil, &out, true)
	return out.Value, err
}

// GetReservation returns one reservation.
func (c *Client) GetReservation(ctx context.Context, id string, opts ...Option) (*Reservation, error) {
	return c.reservationCall(ctx, http.MethodGet, id, "", nil, true, opts)
}

// UpdateReservation renames a reservation or turns its renewal on or off.
func (c *Client) UpdateReservation(ctx context.Context, id string, in ReservationUpdate, opts ...Option) (*Reservation, error) {
	return c.reservationCall(ctx, http.MethodPatch, id, "", in, true, opts)
}

// CancelReservation ends a reservation now; the unused part of its last
// payment is refunded (Properties.RefundMicros).
func (c *Client) CancelReservation(ctx context.Context, id string, opts ...Option) (*Reservation, error) {
	// Not retried on errors that may follow a cancellation that happened:
	// a second one answers 409 Conflict.
	return c.reservationCall(ctx, http.MethodPost, id, "/cancel", nil, false, opts)
}

func (c *Client) reservationCall(ctx context.Context, method, id, suffix string, body any, idempotent bool, opts []Option) (*Reservation, error) {
	if id == "" {
		return nil, errors.New("client: a reservation id is required")
	}
	s := c.s.with(opts)
	p, err := c.reservationsPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out Reservation
	if err := c.armDo(ctx, &s, method, p+"/"+seg(id)+suffix, nil, body, &out, idempotent); err != nil {
		return nil, err
	}
	return &out, nil
}

// UsageQuery asks for usage and charges over a range. Zero From is the start
// of the current month, zero To now; the server widens the range to whole
// hours (UTC).
type UsageQuery struct {
	From, To    time.Time
	Granularity string // Hourly, Daily (default), Monthly or None
	GroupBy     string // Deployment (default), Account, ResourceGroup or Subscription
	// Filters (case-insensitive); empty matches everything.
	ResourceGroup, Account, Deployment string
}

// UsageReport is the chargeback report: lines per period and group, and
// their total.
type UsageReport struct {
	SubscriptionID string      `json:"subscriptionId"`
	From           string      `json:"from"`
	To             string      `json:"to"`
	Granularity    string      `json:"granularity"`
	GroupBy        string      `json:"groupBy"`
	Currency       string      `json:"currency"`
	Value          []UsageLine `json:"value"`
	Total          UsageLine   `json:"total"`
}

// UsageLine is one group's usage in one period: PTU-minutes deployed, split
// into reserved and pay-as-you-go, their cost (reserved ones at their share
// of the reservations' amortized price), and the tokens of Standard
// deployments with their cost.
type UsageLine struct {
	Period                string             `json:"period"`
	SubscriptionID        string             `json:"subscriptionId"`
	ResourceGroup         string             `json:"resourceGroup,omitempty"`
	Account               string             `json:"account,omitempty"`
	Deployment            string             `json:"deployment,omitempty"`
	Location              string             `json:"location,omitempty"`
	SKUName               string             `json:"skuName,omitempty"`
	Model                 *ModelRef          `json:"model,omitempty"`
	PricePerPTUHourMicros int64              `json:"pricePerPTUHourMicros,omitempty"`
	PTUMinutes            int64              `json:"ptuMinutes"`
	ReservedPTUMinutes    int64              `json:"reservedPTUMinutes"`
	PayAsYouGoPTUMinutes  int64              `json:"payAsYouGoPTUMinutes"`
	PayAsYouGoCostMicros  int64              `json:"payAsYouGoCostMicros"`
	ReservedCostMicros    int64              `json:"reservedCostMicros"`
	Calls                 int64              `json:"calls"`
	PromptTokens          int64              `json:"promptTokens"`
	CachedTokens          int64              `json:"cachedTokens"`
	CompletionTokens      int64              `json:"completionTokens"`
	TokenCostMicros       int64              `json:"tokenCostMicros"`
	TotalCostMicros       int64              `json:"totalCostMicros"`
	Reservations          []ReservationShare `json:"reservations,omitempty"`
}

// ReservationShare is the part of a usage line one reservation covered.
type ReservationShare struct {
	ReservationID string `json:"reservationId"`
	PTUMinutes    int64  `json:"ptuMinutes"`
	CostMicros    int64  `json:"costMicros"`
}

// BillingUsage returns the subscription's usage report.
func (c *Client) BillingUsage(ctx context.Context, in UsageQuery, opts ...Option) (*UsageReport, error) {
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	q := rangeQuery(in.From, in.To, in.Granularity)
	setIf(q, "groupBy", in.GroupBy)
	setIf(q, "resourceGroup", in.ResourceGroup)
	setIf(q, "account", in.Account)
	setIf(q, "deployment", in.Deployment)
	var out UsageReport
	if err := c.armDo(ctx, &s, http.MethodGet, sp+providerPath+"/billing/usage", q, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReservationReportQuery asks for reservation utilization over a range.
type ReservationReportQuery struct {
	From, To    time.Time
	Granularity string
}

// ReservationReport is the utilization and amortized cost of each
// reservation per period, and the payments and refunds in the range.
type ReservationReport struct {
	SubscriptionID string            `json:"subscriptionId"`
	From           string            `json:"from"`
	To             string            `json:"to"`
	Granularity    string            `json:"granularity"`
	Currency       string            `json:"currency"`
	Value          []ReservationLine `json:"value"`
	Total          ReservationLine   `json:"total"`
	Charges        []Charge          `json:"charges"`
	ChargesMicros  int64             `json:"chargesMicros"`
}

// ReservationLine is one reservation in one period.
type ReservationLine struct {
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

// Charge is a reservation payment (Purchase, MonthlyPayment, Renewal) or a
// Refund (negative).
type Charge struct {
	ReservationID string `json:"reservationId"`
	DisplayName   string `json:"displayName"`
	Time          string `json:"time"`
	Kind          string `json:"kind"`
	AmountMicros  int64  `json:"amountMicros"`
	PeriodStart   string `json:"periodStart"`
	PeriodEnd     string `json:"periodEnd"`
}

// ReservationReport returns the subscription's reservation report.
func (c *Client) ReservationReport(ctx context.Context, in ReservationReportQuery, opts ...Option) (*ReservationReport, error) {
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out ReservationReport
	if err := c.armDo(ctx, &s, http.MethodGet, sp+providerPath+"/billing/reservations", rangeQuery(in.From, in.To, in.Granularity), nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

func rangeQuery(from, to time.Time, granularity string) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339))
	}
	setIf(q, "granularity", granularity)
	return q
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
