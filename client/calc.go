package client

import (
	"context"
	"net/http"

	"github.com/ptu-dev/ptu/armwire"
)

// CapacityCalculation asks the capacity calculator how many PTUs some
// traffic needs (POST …/calculateModelCapacity).
type CapacityCalculation struct {
	Model ModelRef // Version "" is the model's default version
	// SKUName picks the deployment type DeployableValue is rounded for; ""
	// is the first the model offers (Global, then Data Zone, then Regional).
	// Every provisioned type is sized in Estimate.DeploymentTypes either way.
	SKUName   string
	Workloads []CapacityWorkload
}

// CapacityWorkload is one kind of traffic at its peak.
type CapacityWorkload struct {
	RequestsPerMinute  float64
	AvgPromptTokens    float64
	AvgGeneratedTokens float64
	// CacheRate is the share of prompt tokens served from the prompt cache,
	// 0 to 1 (ptu's extension of the request).
	CacheRate float64
}

// CapacityResult is the calculator's answer.
type CapacityResult = armwire.CapacityResult

// EstimatedCapacity is the estimate as Azure returns it: Value is the raw
// estimate rounded up to a whole PTU, DeployableValue rounded up to SKUName's
// step, at least its minimum.
type EstimatedCapacity = armwire.EstimatedCapacity

// CapacityTokens is the traffic of one workload, or of all, in tokens per minute.
type CapacityTokens = armwire.CapacityTokens

// CapacityEstimate details an estimate (ptu's extension).
type CapacityEstimate = armwire.CapacityEstimate

// CapacityDeploymentType is the size and list price of one provisioned
// deployment type for the estimate.
type CapacityDeploymentType = armwire.CapacityDeploymentType

// body is the calculator's request body.
func (in CapacityCalculation) body() armwire.CapacityCalculationBody {
	model := in.Model
	b := armwire.CapacityCalculationBody{Model: &model, SKUName: nonEmpty(in.SKUName),
		Workloads: make([]armwire.CapacityWorkloadBody, len(in.Workloads))}
	for i, w := range in.Workloads {
		p := &armwire.CapacityParametersBody{AvgPromptTokens: &w.AvgPromptTokens, AvgGeneratedTokens: &w.AvgGeneratedTokens}
		if w.CacheRate != 0 {
			p.CacheRate = &w.CacheRate
		}
		b.Workloads[i] = armwire.CapacityWorkloadBody{RequestPerMinute: &w.RequestsPerMinute, RequestParameters: p}
	}
	return b
}

// CalculateModelCapacity sizes workloads for a model with the server's
// catalog: the capacity calculator of the Azure portal, as a REST call.
func (c *Client) CalculateModelCapacity(ctx context.Context, in CapacityCalculation, opts ...Option) (*CapacityResult, error) {
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out CapacityResult
	// A calculation changes nothing, so it is retried like a read.
	if err := c.armDo(ctx, &s, http.MethodPost, sp+providerPath+"/calculateModelCapacity", nil, in.body(), &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}
