package armwire

// Pricing, reservations and chargeback reports (ptu's extension; Azure keeps
// them in the pricing pages, Microsoft.Capacity and Cost Management; see
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

// Reservation is a term discount on deployed PTUs of one type in one region
// of a subscription or resource group.
type Reservation struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Type       string                `json:"type"`
	Properties ReservationProperties `json:"properties"`
}

// ReservationProperties are a reservation's properties. State is Active,
// Expired or Cancelled; ExpiryDateTime (when it stops applying) is absent
// while it renews itself.
type ReservationProperties struct {
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
	ExpiryDateTime   string `json:"expiryDateTime,omitempty"`
	CancelledAt      string `json:"cancelledDateTime,omitempty"`
	Currency         string `json:"currency"`
	TermPricePerPTU  int64  `json:"termPricePerPTUMicros"`
	TermMicros       int64  `json:"termMicros"`
	PaymentMicros    int64  `json:"paymentMicros"`
	RefundMicros     int64  `json:"refundMicros,omitempty"`
}

// ReservationBody is the body of buying a reservation; absent fields are nil.
type ReservationBody struct {
	DisplayName      *string `json:"displayName,omitempty"`
	AppliedScopeType *string `json:"appliedScopeType,omitempty"`
	ResourceGroup    *string `json:"resourceGroup,omitempty"`
	Location         *string `json:"location,omitempty"`
	SKUName          *string `json:"skuName,omitempty"`
	Quantity         *int    `json:"quantity,omitempty"`
	Term             *string `json:"term,omitempty"`
	BillingPlan      *string `json:"billingPlan,omitempty"`
	AutoRenew        *bool   `json:"autoRenew,omitempty"`
	// Force buys a reservation larger than the deployed PTUs it can discount.
	Force *bool `json:"force,omitempty"`
}

// ReservationPatchBody changes a reservation; the server takes the fields
// flat or under properties. Nil fields are left as they are.
type ReservationPatchBody struct {
	DisplayName *string                         `json:"displayName,omitempty"`
	AutoRenew   *bool                           `json:"autoRenew,omitempty"`
	Properties  *ReservationPatchBodyProperties `json:"properties,omitempty"`
}

// ReservationPatchBodyProperties are ReservationPatchBody's fields under properties.
type ReservationPatchBodyProperties struct {
	DisplayName *string `json:"displayName,omitempty"`
	AutoRenew   *bool   `json:"autoRenew,omitempty"`
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
