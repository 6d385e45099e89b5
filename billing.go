package ptu

import "time"

// Reservation terms (ISO 8601 durations, as Azure Reservations name them).
const (
	TermOneMonth = "P1M"
	TermOneYear  = "P1Y"
)

// Reservation billing plans.
const (
	BillingPlanMonthly = "Monthly"
	BillingPlanUpfront = "Upfront"
)

// Reservation states.
const (
	ReservationActive    = "Active"
	ReservationExpired   = "Expired"
	ReservationCancelled = "Cancelled"
)

// CapacityChange is one entry of a deployment's capacity history, the record
// hourly billing is computed from: from At on, the deployment has Capacity
// units of SKUName. A deletion is an entry with Capacity 0. Names are kept
// with the casing they had when the entry was written.
type CapacityChange struct {
	SubscriptionID string
	ResourceGroup  string
	AccountName    string
	Deployment     string
	Region         string
	Model          ModelRef
	SKUName        string
	Capacity       int
	At             time.Time
}

// CapacityChangeFilter selects capacity history entries; empty fields match
// everything. Names match case-insensitively.
type CapacityChangeFilter struct {
	SubscriptionID string
	ResourceGroup  string
	Account        string
	Deployment     string
	Before         time.Time // entries with At < Before; zero: no bound
}

// Reservation is a term discount on the PTUs of one deployment type deployed
// in one region of a subscription, or of one of its resource groups. It
// reserves no capacity.
type Reservation struct {
	ID             string
	DisplayName    string
	SubscriptionID string
	ResourceGroup  string // the scope: "" for the whole subscription
	Region         string
	SKUName        string
	Quantity       int    // PTUs
	Term           string // TermOneMonth | TermOneYear
	BillingPlan    string // BillingPlanMonthly | BillingPlanUpfront
	AutoRenew      bool
	// Start is when the reservation began to apply, at the start of a minute.
	Start time.Time
	// End is when it stops applying: the end of its last term. It is zero
	// while the reservation renews itself.
	End time.Time
	// CancelledAt is when it was cancelled, at the start of a minute; zero
	// when it was not.
	CancelledAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TokenUsage counts the tokens of the calls one deployment served in one
// hour, for the token charges of pay-per-token (Standard) deployment types.
// PromptTokens include CachedTokens.
type TokenUsage struct {
	SubscriptionID   string
	ResourceGroup    string
	AccountName      string
	Deployment       string
	Region           string
	Model            ModelRef
	SKUName          string
	Hour             time.Time // the start of the hour, UTC
	Calls            int64
	PromptTokens     int64
	CachedTokens     int64
	CompletionTokens int64
}

// TokenUsageFilter selects token usage; SubscriptionID is required, other
// empty fields match everything, names match case-insensitively, and a zero
// From or To leaves that end open.
type TokenUsageFilter struct {
	SubscriptionID string
	ResourceGroup  string
	Account        string
	Deployment     string
	From, To       time.Time // rows with From <= Hour < To
}
