// Package calc sizes provisioned deployments the way Azure's capacity
// calculator does: a workload's peak calls per minute and average tokens per
// call become normalized (input-equivalent) tokens per minute, which divided
// by the model's input TPM per PTU give the raw PTUs; each deployment type
// then rounds them up to a size it can deploy and prices them.
//
//	input_TPM      = RPM × avg prompt tokens
//	output_TPM     = RPM × avg generated tokens
//	normalized_TPM = input_TPM × (1 − cache rate) + output weight × output_TPM
//	PTU            = normalized_TPM ÷ input TPM per PTU
//
// The package is pure arithmetic over catalog numbers: no I/O, no clock.
package calc

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// HoursPerMonth is the month the monthly price is quoted for (Azure's
// pricing pages use 730 hours).
const HoursPerMonth = 730

// Workload is one kind of traffic at its peak.
type Workload struct {
	RequestsPerMinute float64 // peak calls per minute
	PromptTokens      float64 // average prompt tokens per call
	CompletionTokens  float64 // average generated tokens per call
	// CacheRate is the share of prompt tokens served from the prompt cache,
	// 0 to 1. Cached tokens use no PTU capacity.
	CacheRate float64
}

// Rates are the two sizing numbers of a model.
type Rates struct {
	InputTPMPerPTU float64 // input tokens per minute one PTU serves
	OutputWeight   float64 // input tokens one output token counts as
}

// RatesOf returns a catalog model's sizing numbers.
func RatesOf(m *catalog.Model) Rates {
	return Rates{InputTPMPerPTU: float64(m.InputTPMPerPTU), OutputWeight: m.OutputWeight}
}

// Estimate is the capacity some traffic needs, before rounding.
type Estimate struct {
	InputTPM      float64 // prompt tokens per minute
	CachedTPM     float64 // of which served from the cache
	OutputTPM     float64 // generated tokens per minute
	NormalizedTPM float64 // (input − cached) + output weight × output
	PTU           float64 // NormalizedTPM ÷ input TPM per PTU, unrounded
}

func (e *Estimate) add(o Estimate) {
	e.InputTPM += o.InputTPM
	e.CachedTPM += o.CachedTPM
	e.OutputTPM += o.OutputTPM
	e.NormalizedTPM += o.NormalizedTPM
	e.PTU += o.PTU
}

// Field names a field of a Workload in a WorkloadError.
type Field string

// The fields of a Workload.
const (
	FieldRequestsPerMinute Field = "RequestsPerMinute"
	FieldPromptTokens      Field = "PromptTokens"
	FieldCompletionTokens  Field = "CompletionTokens"
	FieldCacheRate         Field = "CacheRate"
)

// WorkloadError reports a workload value the formula cannot take. Callers
// that speak a wire format map Field to their own spelling.
type WorkloadError struct {
	Index int // position of the workload, from 0
	Field Field
	Value float64
	Rule  string // what the value must be
}

func (e *WorkloadError) Error() string {
	return fmt.Sprintf("workload %d: %s is %v; it must be %s", e.Index+1, e.Field, e.Value, e.Rule)
}

// ErrNoWorkloads is returned when there is nothing to size.
var ErrNoWorkloads = errors.New("calc: at least one workload is required")

// validate checks one workload's values.
func (w Workload) validate(i int) error {
	for _, f := range []struct {
		field Field
		v     float64
	}{
		{FieldRequestsPerMinute, w.RequestsPerMinute},
		{FieldPromptTokens, w.PromptTokens},
		{FieldCompletionTokens, w.CompletionTokens},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return &WorkloadError{Index: i, Field: f.field, Value: f.v, Rule: "a finite number of at least 0"}
		}
	}
	if math.IsNaN(w.CacheRate) || w.CacheRate < 0 || w.CacheRate > 1 {
		return &WorkloadError{Index: i, Field: FieldCacheRate, Value: w.CacheRate, Rule: "between 0 and 1"}
	}
	return nil
}

// Estimate sizes one workload.
func (r Rates) Estimate(w Workload) Estimate {
	in := w.RequestsPerMinute * w.PromptTokens
	cached := in * w.CacheRate
	out := w.RequestsPerMinute * w.CompletionTokens
	norm := in - cached + r.OutputWeight*out
	e := Estimate{InputTPM: in, CachedTPM: cached, OutputTPM: out, NormalizedTPM: norm}
	if r.InputTPMPerPTU > 0 {
		e.PTU = norm / r.InputTPMPerPTU
	}
	return e
}

// Sum sizes several workloads that share one deployment: the total and each
// workload's share. Workloads add because each one's peak is assumed to
// coincide with the others'; size for the traffic of the busiest minute.
func (r Rates) Sum(ws []Workload) (total Estimate, each []Estimate, err error) {
	if len(ws) == 0 {
		return Estimate{}, nil, ErrNoWorkloads
	}
	if !(r.InputTPMPerPTU > 0) || math.IsInf(r.InputTPMPerPTU, 0) || math.IsNaN(r.OutputWeight) || r.OutputWeight < 0 {
		return Estimate{}, nil, fmt.Errorf("calc: invalid model rates %+v", r)
	}
	each = make([]Estimate, len(ws))
	for i, w := range ws {
		if err := w.validate(i); err != nil {
			return Estimate{}, nil, err
		}
		each[i] = r.Estimate(w)
		total.add(each[i])
	}
	// The total's PTU is computed from the summed tokens, not by adding the
	// rounded-off shares, so it equals what one workload of that size gives.
	total.PTU = total.NormalizedTPM / r.InputTPMPerPTU
	return total, each, nil
}

// Deployable rounds a raw PTU estimate up to a size a deployment type with
// this minimum and step can deploy: the next multiple of step, and at least
// the minimum. It is catalog.SKU.Deployable for sizes given as numbers.
func Deployable(raw float64, minimum, step int) int {
	s := catalog.SKU{Minimum: minimum, Step: step}
	return s.Deployable(raw)
}

// Option is what one deployment type would take for the estimate.
type Option struct {
	SKUName string // GlobalProvisionedManaged, ...
	Minimum int
	Step    int
	PTU     int // the estimate rounded up to the step, at least the minimum
	// Prices in micro-dollars; zero when the catalog has no price.
	PricePerPTUHourMicros int64
	HourlyMicros          int64 // PTU × price per PTU-hour
	MonthlyMicros         int64 // HourlyMicros × HoursPerMonth
}

// Sizing is the calculator's answer for one model.
type Sizing struct {
	Model     ptu.ModelRef
	Rates     Rates
	Total     Estimate
	Workloads []Estimate
	// Options has one entry per provisioned deployment type the model
	// offers, in the order Global, Data Zone, Regional.
	Options []Option
}

// Option returns the entry of the deployment type named sku (case-insensitive).
func (s *Sizing) Option(sku string) (Option, bool) {
	for _, o := range s.Options {
		if strings.EqualFold(o.SKUName, sku) {
			return o, true
		}
	}
	return Option{}, false
}

// optionOrder is the order options are listed in: cheapest and most
// flexible first, as the portal's calculator shows them.
var optionOrder = []string{ptu.GlobalProvisionedManaged, ptu.DataZoneProvisionedManaged, ptu.ProvisionedManaged}

// ForModel sizes workloads for a catalog model and prices every provisioned
// deployment type it offers.
func ForModel(m *catalog.Model, ws []Workload) (*Sizing, error) {
	r := RatesOf(m)
	total, each, err := r.Sum(ws)
	if err != nil {
		return nil, err
	}
	s := &Sizing{Model: m.Ref(), Rates: r, Total: total, Workloads: each}
	for _, name := range optionOrder {
		sku, ok := m.SKU(name)
		if !ok {
			continue
		}
		n := sku.Deployable(total.PTU)
		hourly := int64(n) * sku.PricePerPTUHourMicros
		s.Options = append(s.Options, Option{
			SKUName:               sku.Name,
			Minimum:               sku.Minimum,
			Step:                  sku.Step,
			PTU:                   n,
			PricePerPTUHourMicros: sku.PricePerPTUHourMicros,
			HourlyMicros:          hourly,
			MonthlyMicros:         hourly * HoursPerMonth,
		})
	}
	return s, nil
}
