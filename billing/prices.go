package billing

import (
	"fmt"
	"math"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// Hours in the month and the year of a price estimate, as Azure's pricing
// pages count them.
const (
	HoursPerMonth = 730
	HoursPerYear  = 8760
)

// TermPrice is what a reservation of one PTU costs for one term. The figures
// are the published third-party ones (Azure publishes none): $260 per PTU for
// a month and $2,652 per PTU for a year ($221 a month), the same for every
// provisioned deployment type. They are constants of this package; list
// prices per PTU-hour come from the catalog, which an operator can override.
type TermPrice struct {
	Term   string // ptu.TermOneMonth | ptu.TermOneYear
	Months int
	// PerPTUMicros is the price of one PTU for the whole term.
	PerPTUMicros int64
	// MonthlyPaymentPerPTUMicros is what the Monthly billing plan pays at the
	// start of each month of the term; the payments add up to PerPTUMicros.
	MonthlyPaymentPerPTUMicros int64
}

var termPrices = []TermPrice{
	{Term: ptu.TermOneMonth, Months: 1, PerPTUMicros: 260_000_000, MonthlyPaymentPerPTUMicros: 260_000_000},
	{Term: ptu.TermOneYear, Months: 12, PerPTUMicros: 2_652_000_000, MonthlyPaymentPerPTUMicros: 221_000_000},
}

// TermPrices lists the reservation terms with their prices.
func TermPrices() []TermPrice { return append([]TermPrice(nil), termPrices...) }

// termPrice finds a term by name, ignoring case.
func termPrice(term string) (TermPrice, bool) {
	for _, t := range termPrices {
		if strings.EqualFold(t.Term, term) {
			return t, true
		}
	}
	return TermPrice{}, false
}

// Price is the list price of one deployment type of one model version.
type Price struct {
	Model       ptu.ModelRef
	SKUName     string
	Provisioned bool
	// PricePerPTUHourMicros: provisioned types.
	PricePerPTUHourMicros int64
	// Per 1M tokens: Standard types. CachedInputPer1MMicros is the price
	// cached input tokens are charged at (the input price when the model
	// has no cached-input price).
	InputPer1MMicros       int64
	CachedInputPer1MMicros int64
	OutputPer1MMicros      int64
}

func priceOf(m *catalog.Model, k *catalog.SKU) Price {
	p := Price{Model: m.Ref(), SKUName: k.Name, Provisioned: k.Provisioned()}
	if p.Provisioned {
		p.PricePerPTUHourMicros = k.PricePerPTUHourMicros
	} else {
		p.InputPer1MMicros, p.CachedInputPer1MMicros, p.OutputPer1MMicros = k.InputPer1MMicros, k.CachedInputPrice(), k.OutputPer1MMicros
	}
	return p
}

// PriceFilter selects list prices; empty fields match everything and names
// match case-insensitively.
type PriceFilter struct {
	ModelName    string
	ModelVersion string
	SKUName      string
}

// Prices lists the catalog's list prices, by model, version and the model's
// order of deployment types.
func (s *Service) Prices(f PriceFilter) []Price {
	var out []Price
	for i := range s.cat.Models {
		m := &s.cat.Models[i]
		if f.ModelName != "" && !strings.EqualFold(m.Name, f.ModelName) || f.ModelVersion != "" && !strings.EqualFold(m.Version, f.ModelVersion) {
			continue
		}
		for j := range m.SKUs {
			if f.SKUName != "" && !strings.EqualFold(m.SKUs[j].Name, f.SKUName) {
				continue
			}
			out = append(out, priceOf(m, &m.SKUs[j]))
		}
	}
	return out
}

// price is the list price billing uses for a deployment of model as sku: the
// catalog's entry for that model version, else (a model since removed from
// the catalog) the first catalog price for that deployment type.
func (s *Service) price(model ptu.ModelRef, sku string) (Price, bool) {
	if m, ok := s.cat.Lookup(model.Name, model.Version); ok {
		if k, ok := m.SKU(sku); ok {
			return priceOf(m, k), true
		}
	}
	for i := range s.cat.Models {
		if k, ok := s.cat.Models[i].SKU(sku); ok {
			p := priceOf(&s.cat.Models[i], k)
			p.Model = model
			return p, true
		}
	}
	return Price{Model: model, SKUName: sku, Provisioned: ptu.IsProvisioned(sku)}, false
}

// QuoteInput names a deployment to price before it is created.
type QuoteInput struct {
	Model    ptu.ModelRef // Name required; Version "" is the default version
	SKUName  string
	Capacity int
}

// Quote is the price of a deployment before it is created: what it costs on
// the hourly list price, and what a reservation of its size would cost.
type Quote struct {
	Price
	Capacity int
	// HourlyMicros and MonthlyMicros (730 hours) are the pay-as-you-go cost
	// of a provisioned deployment of Capacity PTUs; 0 for Standard types,
	// which are charged per token.
	HourlyMicros  int64
	MonthlyMicros int64
	Reservations  []ReservationQuote // provisioned types only
}

// ReservationQuote compares a reservation of the deployment's size for one
// term with the hourly price over the same term.
type ReservationQuote struct {
	TermPrice
	// TermMicros is the reservation's price for the term; MonthlyPaymentMicros
	// what the Monthly plan pays each month.
	TermMicros           int64
	MonthlyPaymentMicros int64
	// PayAsYouGoMicros is the hourly price over the term (730 hours a month,
	// 8,760 a year); SavingsMicros the difference.
	PayAsYouGoMicros int64
	SavingsMicros    int64
	SavingsPercent   float64 // of PayAsYouGoMicros, to one decimal
}

// Quote prices a deployment of in.Capacity units of in.SKUName of a model
// version. The size must be valid for the type (InvalidCapacity otherwise),
// so a quote is also a check of what a create would be asked.
func (s *Service) Quote(in QuoteInput) (Quote, error) {
	if in.Model.Name == "" {
		return Quote{}, invalid("modelName", "The model name is required, e.g. 'gpt-4o'.")
	}
	if in.Model.Format != "" && !strings.EqualFold(in.Model.Format, "OpenAI") {
		return Quote{}, ptu.Errorf(ptu.CodeDeploymentModelNotSupported, "The model format '%s' is not supported. Use 'OpenAI'.", in.Model.Format)
	}
	m, ok := s.cat.Lookup(in.Model.Name, in.Model.Version)
	if !ok {
		var vs []string
		for _, v := range s.cat.Versions(in.Model.Name) {
			vs = append(vs, v.Version)
		}
		if len(vs) == 0 {
			return Quote{}, ptu.Errorf(ptu.CodeDeploymentModelNotSupported, "The model '%s' is not in the catalog.", in.Model.Name)
		}
		return Quote{}, ptu.Errorf(ptu.CodeDeploymentModelNotSupported,
			"The model '%s' has no version '%s'. Available versions: %s.", in.Model.Name, in.Model.Version, strings.Join(vs, ", "))
	}
	k, ok := m.SKU(ptu.CanonicalSKU(in.SKUName))
	if !ok {
		var names []string
		for _, x := range m.SKUs {
			names = append(names, x.Name)
		}
		return Quote{}, &ptu.Error{Code: ptu.CodeInvalidSKU, Target: "skuName",
			Message: fmt.Sprintf("The deployment type '%s' is not supported by model '%s' version '%s'. Supported types: %s.",
				in.SKUName, m.Name, m.Version, strings.Join(names, ", "))}
	}
	if err := k.CheckCapacity(in.Capacity); err != nil {
		return Quote{}, err
	}
	q := Quote{Price: priceOf(m, k), Capacity: in.Capacity}
	if !q.Provisioned {
		return q, nil
	}
	capacity := int64(in.Capacity)
	q.HourlyMicros = capacity * q.PricePerPTUHourMicros
	q.MonthlyMicros = q.HourlyMicros * HoursPerMonth
	for _, t := range termPrices {
		r := ReservationQuote{TermPrice: t, TermMicros: capacity * t.PerPTUMicros,
			MonthlyPaymentMicros: capacity * t.MonthlyPaymentPerPTUMicros,
			PayAsYouGoMicros:     q.MonthlyMicros * int64(t.Months)}
		if t.Months == 12 {
			r.PayAsYouGoMicros = q.HourlyMicros * HoursPerYear
		}
		r.SavingsMicros = r.PayAsYouGoMicros - r.TermMicros
		if r.PayAsYouGoMicros > 0 {
			r.SavingsPercent = math.Round(1000*float64(r.SavingsMicros)/float64(r.PayAsYouGoMicros)) / 10
		}
		q.Reservations = append(q.Reservations, r)
	}
	return q, nil
}
