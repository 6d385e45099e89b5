package arm

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/calc"
	"github.com/ptu-dev/ptu/catalog"
)

// calculateModelCapacity is POST .../calculateModelCapacity: the capacity
// calculator. It reads no state but the subscription and the catalog.
func (h *handler) calculateModelCapacity(r *http.Request, p params) (int, any, error) {
	var b armwire.CapacityCalculationBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if _, err := h.subs.GetSubscription(r.Context(), p["sub"]); err != nil {
		return 0, nil, err
	}
	m, err := calcModel(h.capacity.Catalog(), b.Model)
	if err != nil {
		return 0, nil, err
	}
	ws, err := calcWorkloads(b.Workloads)
	if err != nil {
		return 0, nil, err
	}
	s, err := calc.ForModel(m, ws)
	if err != nil {
		return 0, nil, calcError(err)
	}
	if len(s.Options) == 0 {
		return 0, nil, &ptu.Error{Code: ptu.CodeInvalidSKU, Target: "skuName",
			Message: fmt.Sprintf("Model '%s' version '%s' has no provisioned deployment type to size.", m.Name, m.Version)}
	}
	opt := s.Options[0] // without a skuName: the first type the model offers, Global first
	if b.SKUName != nil && *b.SKUName != "" {
		var ok bool
		if opt, ok = s.Option(*b.SKUName); !ok {
			names := make([]string, len(s.Options))
			for i, o := range s.Options {
				names[i] = o.SKUName
			}
			return 0, nil, &ptu.Error{Code: ptu.CodeInvalidSKU, Target: "skuName",
				Message: fmt.Sprintf("skuName '%s' is not a provisioned deployment type of model '%s' version '%s'. Use one of %s.",
					*b.SKUName, m.Name, m.Version, strings.Join(names, ", "))}
		}
	}
	return http.StatusOK, calcResultWire(s, opt), nil
}

func calcModel(cat *catalog.Catalog, ref *armwire.ModelRef) (*catalog.Model, error) {
	if ref == nil || ref.Name == "" {
		return nil, invalidContent("model.name", "The request content was invalid: 'model.name' is required, e.g. {\"format\":\"OpenAI\",\"name\":\"gpt-4o\",\"version\":\"2024-11-20\"}.")
	}
	if f := ref.Format; f != "" && !strings.EqualFold(f, "OpenAI") {
		return nil, &ptu.Error{Code: ptu.CodeDeploymentModelNotSupported, Target: "model.format",
			Message: fmt.Sprintf("The model format '%s' is not supported. Use 'OpenAI'.", f)}
	}
	name, version := ref.Name, ref.Version
	if m, ok := cat.Lookup(name, version); ok {
		return m, nil
	}
	versions := cat.Versions(name)
	if len(versions) == 0 {
		seen := map[string]bool{}
		var names []string
		for _, m := range cat.Models {
			if !seen[m.Name] {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
		return nil, &ptu.Error{Code: ptu.CodeDeploymentModelNotSupported, Target: "model.name",
			Message: fmt.Sprintf("The model '%s' is not in the catalog. Available models: %s.", name, strings.Join(names, ", "))}
	}
	vs := make([]string, len(versions))
	for i, m := range versions {
		vs[i] = m.Version
	}
	return nil, &ptu.Error{Code: ptu.CodeDeploymentModelNotSupported, Target: "model.version",
		Message: fmt.Sprintf("The model '%s' has no version '%s'. Available versions: %s.", versions[0].Name, version, strings.Join(vs, ", "))}
}

func calcWorkloads(in []armwire.CapacityWorkloadBody) ([]calc.Workload, error) {
	if len(in) == 0 {
		return nil, invalidContent("workloads", "The request content was invalid: 'workloads' needs at least one workload, e.g. [{\"requestPerMinute\":1000,\"requestParameters\":{\"avgPromptTokens\":200,\"avgGeneratedTokens\":20}}].")
	}
	out := make([]calc.Workload, len(in))
	for i, w := range in {
		if w.RequestPerMinute == nil {
			return nil, invalidContent(fmt.Sprintf("workloads[%d].requestPerMinute", i),
				"The request content was invalid: 'workloads[%d].requestPerMinute' is required.", i)
		}
		if w.RequestParameters == nil || w.RequestParameters.AvgPromptTokens == nil || w.RequestParameters.AvgGeneratedTokens == nil {
			return nil, invalidContent(fmt.Sprintf("workloads[%d].requestParameters", i),
				"The request content was invalid: 'workloads[%d].requestParameters' needs avgPromptTokens and avgGeneratedTokens.", i)
		}
		rp := w.RequestParameters
		out[i] = calc.Workload{
			RequestsPerMinute: *w.RequestPerMinute,
			PromptTokens:      *rp.AvgPromptTokens,
			CompletionTokens:  *rp.AvgGeneratedTokens,
			CacheRate:         deref(rp.CacheRate),
		}
	}
	return out, nil
}

// calcFields are the wire names of a workload's fields.
var calcFields = map[calc.Field]string{
	calc.FieldRequestsPerMinute: "requestPerMinute",
	calc.FieldPromptTokens:      "requestParameters.avgPromptTokens",
	calc.FieldCompletionTokens:  "requestParameters.avgGeneratedTokens",
	calc.FieldCacheRate:         "requestParameters.cacheRate",
}

func calcError(err error) error {
	if we, ok := err.(*calc.WorkloadError); ok {
		target := fmt.Sprintf("workloads[%d].%s", we.Index, calcFields[we.Field])
		return &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: target,
			Message: fmt.Sprintf("The request content was invalid: '%s' is %v; it must be %s.", target, we.Value, we.Rule)}
	}
	return err
}

func calcTokensWire(e calc.Estimate) armwire.CapacityTokens {
	return armwire.CapacityTokens{
		InputTokensPerMinute:      e.InputTPM,
		CachedTokensPerMinute:     e.CachedTPM,
		OutputTokensPerMinute:     e.OutputTPM,
		NormalizedTokensPerMinute: e.NormalizedTPM,
		PTU:                       e.PTU,
	}
}

func dollars(micros int64) float64 { return float64(micros) / 1e6 }

func calcResultWire(s *calc.Sizing, opt calc.Option) armwire.CapacityResult {
	out := armwire.CapacityResult{
		Model:   modelRefWire(s.Model),
		SKUName: opt.SKUName,
		EstimatedCapacity: armwire.EstimatedCapacity{
			// The same tolerance as the deployable rounding, so 112.0000000001
			// reads 112; both are capped at what the SDK's int32 can hold.
			Value:           int(min(max(math.Ceil(s.Total.PTU-1e-9), 0), math.MaxInt32)),
			DeployableValue: min(opt.PTU, math.MaxInt32),
		},
		Estimate: armwire.CapacityEstimate{
			CapacityTokens:             calcTokensWire(s.Total),
			InputTokensPerMinutePerPTU: s.Rates.InputTPMPerPTU,
			OutputWeight:               s.Rates.OutputWeight,
			Currency:                   "USD",
			HoursPerMonth:              calc.HoursPerMonth,
		},
	}
	for _, w := range s.Workloads {
		out.Estimate.Workloads = append(out.Estimate.Workloads, calcTokensWire(w))
	}
	for _, o := range s.Options {
		out.Estimate.DeploymentTypes = append(out.Estimate.DeploymentTypes, armwire.CapacityDeploymentType{
			SKUName:             o.SKUName,
			Minimum:             o.Minimum,
			Step:                o.Step,
			DeployableValue:     o.PTU,
			ListPricePerPTUHour: dollars(o.PricePerPTUHourMicros),
			ListPricePerHour:    dollars(o.HourlyMicros),
			ListPricePerMonth:   dollars(o.MonthlyMicros),
		})
	}
	return out
}
