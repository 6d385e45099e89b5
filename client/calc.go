package client

import (
	"context"
	"net/http"
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

type calcRequestBody struct {
	Model     ModelRef           `json:"model"`
	SKUName   string             `json:"skuName,omitempty"`
	Workloads []calcWorkloadBody `json:"workloads"`
}

type calcWorkloadBody struct {
	RequestPerMinute  float64            `json:"requestPerMinute"`
	RequestParameters calcParametersBody `json:"requestParameters"`
}

type calcParametersBody struct {
	AvgPromptTokens    float64  `json:"avgPromptTokens"`
	AvgGeneratedTokens float64  `json:"avgGeneratedTokens"`
	CacheRate          *float64 `json:"cacheRate,omitempty"`
}

// CapacityResult is the calculator's answer.
type CapacityResult struct {
	Model             ModelRef          `json:"model"`
	SKUName           string            `json:"skuName"`
	EstimatedCapacity EstimatedCapacity `json:"estimatedCapacity"`
	// Estimate is ptu's extension: the unrounded estimate, its parts and
	// every provisioned deployment type's size and list price.
	Estimate CapacityEstimate `json:"estimate"`
}

// EstimatedCapacity is the estimate as Azure returns it.
type EstimatedCapacity struct {
	Value           int `json:"value"`           // raw PTUs rounded up to a whole PTU
	DeployableValue int `json:"deployableValue"` // rounded up to SKUName's step, at least its minimum
}

// CapacityTokens is the traffic of one workload, or of all, in tokens per minute.
type CapacityTokens struct {
	InputTokensPerMinute      float64 `json:"inputTokensPerMinute"`
	CachedTokensPerMinute     float64 `json:"cachedTokensPerMinute"`
	OutputTokensPerMinute     float64 `json:"outputTokensPerMinute"`
	NormalizedTokensPerMinute float64 `json:"normalizedTokensPerMinute"`
	PTU                       float64 `json:"ptu"` // unrounded
}

// CapacityEstimate details an estimate (ptu's extension).
type CapacityEstimate struct {
	CapacityTokens
	InputTokensPerMinutePerPTU float64                  `json:"inputTokensPerMinutePerPTU"`
	OutputWeight               float64                  `json:"outputWeight"`
	Workloads                  []CapacityTokens         `json:"workloads"`
	DeploymentTypes            []CapacityDeploymentType `json:"deploymentTypes"`
	Currency                   string                   `json:"currency"`
	HoursPerMonth              int                      `json:"hoursPerMonth"`
}

// CapacityDeploymentType is the size and list price of one provisioned
// deployment type for the estimate.
type CapacityDeploymentType struct {
	SKUName             string  `json:"skuName"`
	Minimum             int     `json:"minimum"`
	Step                int     `json:"step"`
	DeployableValue     int     `json:"deployableValue"`
	ListPricePerPTUHour float64 `json:"listPricePerPTUHour"`
	ListPricePerHour    float64 `json:"listPricePerHour"`
	ListPricePerMonth   float64 `json:"listPricePerMonth"`
}

// CalculateModelCapacity sizes workloads for a model with the server's
// catalog: the capacity calculator of the Azure portal, as a REST call.
func (c *Client) CalculateModelCapacity(ctx context.Context, in CapacityCalculation, opts ...Option) (*CapacityResult, error) {
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	b := calcRequestBody{Model: in.Model, SKUName: in.SKUName, Workloads: make([]calcWorkloadBody, len(in.Workloads))}
	for i, w := range in.Workloads {
		b.Workloads[i] = calcWorkloadBody{RequestPerMinute: w.RequestsPerMinute,
			RequestParameters: calcParametersBody{AvgPromptTokens: w.AvgPromptTokens, AvgGeneratedTokens: w.AvgGeneratedTokens}}
		if w.CacheRate != 0 {
			b.Workloads[i].RequestParameters.CacheRate = &w.CacheRate
		}
	}
	var out CapacityResult
	// A calculation changes nothing, so it is retried like a read.
	if err := c.armDo(ctx, &s, http.MethodPost, sp+providerPath+"/calculateModelCapacity", nil, b, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}
