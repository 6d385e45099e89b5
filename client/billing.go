package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ptu-dev/ptu/armwire"
)

// Pricing, reservations and chargeback reports (ptu's extension; see
// docs/billing.md). Money is integer micro-dollars in fields named …Micros
// ($1 = 1,000,000); PTU time is counted in PTU-minutes.

// Price is the list price of one deployment type of one model version:
// per PTU-hour for provisioned types, per million tokens for Standard ones.
type Price = armwire.Price

// ReservationTerm is the price of a reservation of one PTU for one term.
type ReservationTerm = armwire.ReservationTerm

// PriceList is the server's list prices and reservation terms.
type PriceList = armwire.PriceList

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
type Quote = armwire.Quote

// ReservationQuote compares a reservation for one term with the hourly price
// over the same term.
type ReservationQuote = armwire.ReservationQuote

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
type Reservation = armwire.Reservation

// ReservationProperties are a reservation's properties. State is Active,
// Expired or Cancelled; ExpiryDateTime is absent while it renews itself.
type ReservationProperties = armwire.ReservationProperties

// ReservationPurchase is what buying a reservation takes.
type ReservationPurchase struct {
	DisplayName string
	// AppliedScopeType is Subscription or ResourceGroup; "" means
	// ResourceGroup when ResourceGroup is set, else Subscription.
	AppliedScopeType string
	ResourceGroup    string
	Location         string
	SKUName          string
	Quantity         int
	Term             string // P1M or P1Y
	BillingPlan      string // Monthly (default) or Upfront
	AutoRenew        bool
	// Force buys a reservation larger than the deployed PTUs it can discount.
	Force bool
}

// body is the purchase's POST body: location, SKU, quantity, term and
// autoRenew always, the other fields when set.
func (in ReservationPurchase) body() armwire.ReservationBody {
	b := armwire.ReservationBody{DisplayName: nonEmpty(in.DisplayName), AppliedScopeType: nonEmpty(in.AppliedScopeType),
		ResourceGroup: nonEmpty(in.ResourceGroup), Location: &in.Location, SKUName: &in.SKUName, Quantity: &in.Quantity,
		Term: &in.Term, BillingPlan: nonEmpty(in.BillingPlan), AutoRenew: &in.AutoRenew}
	if in.Force {
		b.Force = &in.Force
	}
	return b
}

// ReservationUpdate changes a reservation; nil fields are left as they are.
type ReservationUpdate struct {
	DisplayName *string
	AutoRenew   *bool
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
	if err := c.armDo(ctx, &s, http.MethodPost, p, nil, in.body(), &out, false); err != nil {
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
	return c.reservationCall(ctx, http.MethodPatch, id, "", armwire.ReservationPatchBody{DisplayName: in.DisplayName, AutoRenew: in.AutoRenew}, true, opts)
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
type UsageReport = armwire.UsageReport

// UsageLine is one group's usage in one period: PTU-minutes deployed, split
// into reserved and pay-as-you-go, their cost (reserved ones at their share
// of the reservations' amortized price), and the tokens of Standard
// deployments with their cost.
type UsageLine = armwire.UsageLine

// ReservationShare is the part of a usage line one reservation covered.
type ReservationShare = armwire.ReservationShare

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
type ReservationReport = armwire.ReservationReport

// ReservationLine is one reservation in one period.
type ReservationLine = armwire.ReservationLine

// Charge is a reservation payment (Purchase, MonthlyPayment, Renewal) or a
// Refund (negative).
type Charge = armwire.Charge

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
