package billing

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// Granularities of a report: the period each line covers.
const (
	Hourly        = "Hourly"
	Daily         = "Daily"
	Monthly       = "Monthly"
	NoGranularity = "None" // one line per group for the whole range
)

// Groupings of a usage report.
const (
	ByDeployment    = "Deployment"
	ByAccount       = "Account"
	ByResourceGroup = "ResourceGroup"
	BySubscription  = "Subscription"
)

// MaxReportDays is the longest range one report covers.
const MaxReportDays = 366

var (
	granularities = []string{Hourly, Daily, Monthly, NoGranularity}
	groupings     = []string{ByDeployment, ByAccount, ByResourceGroup, BySubscription}
)

func oneOf(what, v, def string, choices []string) (string, error) {
	if v == "" {
		return def, nil
	}
	for _, c := range choices {
		if strings.EqualFold(c, v) {
			return c, nil
		}
	}
	return "", ptu.Errorf(ptu.CodeBadRequest, "The %s '%s' is not valid. Use one of %s.", what, v, strings.Join(choices, ", "))
}

// span normalizes a report's range: from defaults to the start of the current
// month (UTC) and is rounded down to the hour, to defaults to now and is
// rounded up to the hour; neither goes past the current minute, which counts
// as started.
func (s *Service) span(from, to time.Time) (time.Time, time.Time, error) {
	end := minute(s.Now()).Add(time.Minute)
	if from.IsZero() {
		y, m, _ := end.Add(-time.Minute).Date()
		from = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = end
	}
	from, to = from.UTC().Truncate(time.Hour), to.UTC()
	if t := to.Truncate(time.Hour); t.Before(to) {
		to = t.Add(time.Hour)
	}
	if !from.Before(to) {
		return from, to, ptu.Errorf(ptu.CodeBadRequest, "The range is empty: 'from' (%s) must be before 'to' (%s).",
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxReportDays*24*time.Hour {
		return from, to, ptu.Errorf(ptu.CodeBadRequest, "The range is longer than %d days; ask for less at a time.", MaxReportDays)
	}
	if to.After(end) {
		to = end
	}
	if from.After(to) {
		from = to
	}
	return from, to, nil
}

func periodOf(t time.Time, granularity string, from time.Time) time.Time {
	y, m, d := t.Date()
	switch granularity {
	case Hourly:
		return t
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return from
}

// UsageQuery asks for a subscription's usage and charges over a range.
type UsageQuery struct {
	SubscriptionID string
	From, To       time.Time // see span; To is exclusive
	Granularity    string    // Hourly, Daily (default), Monthly or None
	GroupBy        string    // Deployment (default), Account, ResourceGroup or Subscription
	// Filters, matched case-insensitively; empty matches everything.
	ResourceGroup, Account, Deployment string
}

// ReservationShare is the part of a line one reservation covered.
type ReservationShare struct {
	ReservationID string
	PTUMinutes    int64
	CostMicros    int64 // its amortized cost
}

// UsageLine is one group's usage in one period. For provisioned types the
// deployed PTU-minutes split into reserved and pay-as-you-go ones; the
// pay-as-you-go ones cost the list price, the reserved ones their share of
// the reservations' amortized price. Standard types are charged per token.
// Fields the grouping sums over are empty.
type UsageLine struct {
	Period         time.Time
	SubscriptionID string
	ResourceGroup  string
	Account        string
	Deployment     string
	// Deployment grouping only: a deployment whose type or model version
	// changed has a line for each.
	Region                string
	SKUName               string
	Model                 ptu.ModelRef
	PricePerPTUHourMicros int64

	PTUMinutes           int64
	ReservedPTUMinutes   int64
	PayAsYouGoPTUMinutes int64
	PayAsYouGoCostMicros int64
	ReservedCostMicros   int64

	Calls            int64
	PromptTokens     int64 // including CachedTokens
	CachedTokens     int64
	CompletionTokens int64
	TokenCostMicros  int64

	TotalCostMicros int64 // pay-as-you-go + reserved (amortized) + tokens
	Reservations    []ReservationShare
}

func (l *UsageLine) add(o *UsageLine) {
	l.PTUMinutes += o.PTUMinutes
	l.ReservedPTUMinutes += o.ReservedPTUMinutes
	l.PayAsYouGoPTUMinutes += o.PayAsYouGoPTUMinutes
	l.PayAsYouGoCostMicros += o.PayAsYouGoCostMicros
	l.ReservedCostMicros += o.ReservedCostMicros
	l.Calls += o.Calls
	l.PromptTokens += o.PromptTokens
	l.CachedTokens += o.CachedTokens
	l.CompletionTokens += o.CompletionTokens
	l.TokenCostMicros += o.TokenCostMicros
	l.TotalCostMicros += o.TotalCostMicros
	for _, s := range o.Reservations {
		i := slices.IndexFunc(l.Reservations, func(x ReservationShare) bool { return x.ReservationID == s.ReservationID })
		if i < 0 {
			l.Reservations = append(l.Reservations, s)
			continue
		}
		l.Reservations[i].PTUMinutes += s.PTUMinutes
		l.Reservations[i].CostMicros += s.CostMicros
	}
}

// UsageReport is the answer to a UsageQuery.
type UsageReport struct {
	SubscriptionID string
	From, To       time.Time // the range covered, after normalization
	Granularity    string
	GroupBy        string
	Lines          []UsageLine
	Total          UsageLine
}

// Usage reports a subscription's usage and charges per period and group.
// Costs are computed per deployment and hour and every other figure sums
// those lines, so each total can be checked against them.
func (s *Service) Usage(ctx context.Context, q UsageQuery) (*UsageReport, error) {
	gran, err := oneOf("granularity", q.Granularity, Daily, granularities)
	if err != nil {
		return nil, err
	}
	groupBy, err := oneOf("groupBy", q.GroupBy, ByDeployment, groupings)
	if err != nil {
		return nil, err
	}
	from, to, err := s.span(q.From, q.To)
	if err != nil {
		return nil, err
	}
	rep := &UsageReport{From: from, To: to, Granularity: gran, GroupBy: groupBy, Lines: []UsageLine{}}
	tokens, err := s.tokenUsage(ctx, q.SubscriptionID, from, to)
	if err != nil {
		return nil, err
	}
	err = s.view(ctx, func(tx ptu.Tx) error {
		sub, err := getSubscription(tx, q.SubscriptionID)
		if err != nil {
			return err
		}
		rep.SubscriptionID = sub.ID
		rep.Total = UsageLine{Period: from, SubscriptionID: sub.ID}
		if !from.Before(to) {
			return nil
		}
		m, err := s.meter(tx, sub.ID, from, to, tokens)
		if err != nil {
			return err
		}
		rep.Lines = m.usageLines(sub.ID, q, gran, groupBy)
		for i := range rep.Lines {
			rep.Total.add(&rep.Lines[i])
		}
		m.sortShares(rep.Total.Reservations)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func (m *metered) usageLines(sub string, q UsageQuery, gran, groupBy string) []UsageLine {
	keys := make([]lineKey, 0, len(m.lines))
	for k := range m.lines {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareLineKeys)

	type groupKey struct {
		period                          int64
		rg, account, deployment, sku, m string
	}
	index := map[groupKey]int{}
	var out []UsageLine
	for _, k := range keys {
		h := m.lines[k]
		if q.ResourceGroup != "" && !strings.EqualFold(h.rg, q.ResourceGroup) ||
			q.Account != "" && !strings.EqualFold(h.account, q.Account) ||
			q.Deployment != "" && !strings.EqualFold(h.deployment, q.Deployment) {
			continue
		}
		l := h.usage(sub)
		l.Period = periodOf(h.hour, gran, m.from)
		gk := groupKey{period: l.Period.Unix()}
		switch groupBy {
		case ByDeployment:
			gk.rg, gk.account, gk.deployment, gk.sku, gk.m = strings.ToLower(h.rg), strings.ToLower(h.account), k.dep, k.sku, k.model
		case ByAccount:
			gk.rg, gk.account = strings.ToLower(h.rg), strings.ToLower(h.account)
			l.Deployment, l.Region, l.SKUName, l.Model, l.PricePerPTUHourMicros = "", "", "", ptu.ModelRef{}, 0
		case ByResourceGroup:
			gk.rg = strings.ToLower(h.rg)
			l.Account, l.Deployment, l.Region, l.SKUName, l.Model, l.PricePerPTUHourMicros = "", "", "", "", ptu.ModelRef{}, 0
		default:
			l.ResourceGroup, l.Account, l.Deployment, l.Region, l.SKUName, l.Model, l.PricePerPTUHourMicros = "", "", "", "", "", ptu.ModelRef{}, 0
		}
		if i, ok := index[gk]; ok {
			out[i].add(&l)
			continue
		}
		index[gk] = len(out)
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b UsageLine) int {
		return cmp.Or(a.Period.Compare(b.Period),
			cmp.Compare(strings.ToLower(a.ResourceGroup), strings.ToLower(b.ResourceGroup)),
			cmp.Compare(strings.ToLower(a.Account), strings.ToLower(b.Account)),
			cmp.Compare(strings.ToLower(a.Deployment), strings.ToLower(b.Deployment)),
			cmp.Compare(a.SKUName, b.SKUName))
	})
	for i := range out {
		m.sortShares(out[i].Reservations)
	}
	if out == nil {
		out = []UsageLine{}
	}
	return out
}

// sortShares orders shares as the reservations were bought.
func (m *metered) sortShares(shares []ReservationShare) {
	order := make(map[string]int, len(m.resvs))
	for i, r := range m.resvs {
		order[r.ID] = i
	}
	slices.SortFunc(shares, func(a, b ReservationShare) int { return cmp.Compare(order[a.ReservationID], order[b.ReservationID]) })
}

func (h *hourLine) usage(sub string) UsageLine {
	l := UsageLine{SubscriptionID: sub, ResourceGroup: h.rg, Account: h.account, Deployment: h.deployment,
		Region: h.region, SKUName: h.sku, Model: h.model, PricePerPTUHourMicros: h.price.PricePerPTUHourMicros,
		PTUMinutes: h.ptuMinutes, ReservedPTUMinutes: h.reservedMinutes, PayAsYouGoPTUMinutes: h.ptuMinutes - h.reservedMinutes,
		PayAsYouGoCostMicros: h.paygCost, ReservedCostMicros: h.reservedCost,
		Calls: h.calls, PromptTokens: h.prompt, CachedTokens: h.cached, CompletionTokens: h.completion, TokenCostMicros: h.tokenCost}
	l.TotalCostMicros = l.PayAsYouGoCostMicros + l.ReservedCostMicros + l.TokenCostMicros
	for _, sh := range h.shares {
		l.Reservations = append(l.Reservations, *sh)
	}
	return l
}

// ReservationQuery asks for the utilization and charges of a subscription's
// reservations over a range.
type ReservationQuery struct {
	SubscriptionID string
	From, To       time.Time
	Granularity    string // Hourly, Daily (default), Monthly or None
}

// ReservationLine is one reservation's use in one period: the PTU-minutes it
// offered, those deployments used, and its amortized cost split the same way.
type ReservationLine struct {
	Period        time.Time
	ReservationID string
	DisplayName   string
	ResourceGroup string // the scope; "" for the subscription
	Region        string
	SKUName       string
	Term          string
	Quantity      int

	ReservedPTUMinutes int64
	UsedPTUMinutes     int64
	UnusedPTUMinutes   int64
	UtilizationPercent float64 // used / reserved, to two decimals

	AmortizedCostMicros int64
	UsedCostMicros      int64
	UnusedCostMicros    int64
}

func (l *ReservationLine) add(o *ReservationLine) {
	l.ReservedPTUMinutes += o.ReservedPTUMinutes
	l.UsedPTUMinutes += o.UsedPTUMinutes
	l.UnusedPTUMinutes += o.UnusedPTUMinutes
	l.AmortizedCostMicros += o.AmortizedCostMicros
	l.UsedCostMicros += o.UsedCostMicros
	l.UnusedCostMicros += o.UnusedCostMicros
	l.UtilizationPercent = utilization(l.UsedPTUMinutes, l.ReservedPTUMinutes)
}

func utilization(used, reserved int64) float64 {
	if reserved == 0 {
		return 0
	}
	return math.Round(10000*float64(used)/float64(reserved)) / 100
}

// Charge is a payment for a reservation, or a refund (a negative amount).
type Charge struct {
	ReservationID string
	DisplayName   string
	Time          time.Time
	Kind          string // ChargePurchase, ChargeMonthlyPayment, ChargeRenewal, ChargeRefund
	AmountMicros  int64
	// PeriodStart and PeriodEnd bound what the payment covers (for a refund,
	// the part of it returned).
	PeriodStart, PeriodEnd time.Time
}

// ReservationReport is the answer to a ReservationQuery: the amortized view
// (Lines) and the payments (Charges) in the range.
type ReservationReport struct {
	SubscriptionID string
	From, To       time.Time
	Granularity    string
	Lines          []ReservationLine
	Total          ReservationLine
	Charges        []Charge
	ChargesMicros  int64
}

// Reservations reports how much of each reservation was used, what it cost
// amortized, and what was paid for it, over a range.
func (s *Service) Reservations(ctx context.Context, q ReservationQuery) (*ReservationReport, error) {
	gran, err := oneOf("granularity", q.Granularity, Daily, granularities)
	if err != nil {
		return nil, err
	}
	from, to, err := s.span(q.From, q.To)
	if err != nil {
		return nil, err
	}
	rep := &ReservationReport{From: from, To: to, Granularity: gran, Lines: []ReservationLine{}, Charges: []Charge{}}
	tokens, err := s.tokenUsage(ctx, q.SubscriptionID, from, to)
	if err != nil {
		return nil, err
	}
	err = s.view(ctx, func(tx ptu.Tx) error {
		sub, err := getSubscription(tx, q.SubscriptionID)
		if err != nil {
			return err
		}
		rep.SubscriptionID = sub.ID
		rep.Total = ReservationLine{Period: from}
		if !from.Before(to) {
			return nil
		}
		m, err := s.meter(tx, sub.ID, from, to, tokens)
		if err != nil {
			return err
		}
		rep.Lines = m.reservationLines(gran)
		rep.Charges = m.charges()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range rep.Lines {
		rep.Total.add(&rep.Lines[i])
	}
	for _, c := range rep.Charges {
		rep.ChargesMicros += c.AmountMicros
	}
	return rep, nil
}

func (m *metered) reservationLines(gran string) []ReservationLine {
	hours := make([]*resHour, 0, len(m.resHours))
	for _, rh := range m.resHours {
		hours = append(hours, rh)
	}
	slices.SortFunc(hours, func(a, b *resHour) int {
		return cmp.Or(a.hour.Compare(b.hour), a.r.Start.Compare(b.r.Start), strings.Compare(a.r.ID, b.r.ID))
	})
	type key struct {
		period int64
		id     string
	}
	index := map[key]int{}
	out := []ReservationLine{}
	for _, rh := range hours {
		l := ReservationLine{Period: periodOf(rh.hour, gran, m.from), ReservationID: rh.r.ID, DisplayName: rh.r.DisplayName,
			ResourceGroup: rh.r.ResourceGroup, Region: rh.r.Region, SKUName: rh.r.SKUName, Term: rh.r.Term, Quantity: rh.r.Quantity,
			ReservedPTUMinutes: rh.available, UsedPTUMinutes: rh.used, UnusedPTUMinutes: rh.available - rh.used,
			AmortizedCostMicros: rh.usedCost + rh.unusedCost, UsedCostMicros: rh.usedCost, UnusedCostMicros: rh.unusedCost}
		l.UtilizationPercent = utilization(l.UsedPTUMinutes, l.ReservedPTUMinutes)
		k := key{l.Period.Unix(), rh.r.ID}
		if i, ok := index[k]; ok {
			out[i].add(&l)
			continue
		}
		index[k] = len(out)
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b ReservationLine) int { return a.Period.Compare(b.Period) })
	return out
}

// charges lists the payments and refunds of every reservation in [from, to).
func (m *metered) charges() []Charge {
	out := []Charge{}
	in := func(t time.Time) bool { return !t.Before(m.from) && t.Before(m.to) }
	for _, r := range m.resvs {
		ps := r.periods(m.to)
		for _, p := range ps {
			if in(p.start) {
				out = append(out, Charge{ReservationID: r.ID, DisplayName: r.DisplayName, Time: p.start, Kind: p.kind,
					AmountMicros: p.amount, PeriodStart: p.start, PeriodEnd: p.end})
			}
		}
		if refund := r.refund(); refund > 0 && in(r.CancelledAt) {
			last := r.periods(r.CancelledAt)
			out = append(out, Charge{ReservationID: r.ID, DisplayName: r.DisplayName, Time: r.CancelledAt, Kind: ChargeRefund,
				AmountMicros: -refund, PeriodStart: r.CancelledAt, PeriodEnd: last[len(last)-1].end})
		}
	}
	slices.SortStableFunc(out, func(a, b Charge) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ReservationID, b.ReservationID))
	})
	return out
}
