package armwire

// The capacity calculator (POST .../calculateModelCapacity;
// CalculateModelCapacityParameter and CalculateModelCapacityResult in
// armcognitiveservices v1.7.0), plus ptu's "estimate", which the SDK
// ignores: the raw estimate, its parts, and every provisioned deployment
// type's size and list price.

// CapacityCalculationBody is the calculator's request; absent fields are
// nil. Numbers are floats: the SDK sends integers, the portal's calculator
// takes averages.
type CapacityCalculationBody struct {
	Model     *ModelRef              `json:"model,omitempty"`
	SKUName   *string                `json:"skuName,omitempty"`
	Workloads []CapacityWorkloadBody `json:"workloads"`
}

// CapacityWorkloadBody is one kind of traffic at its peak.
type CapacityWorkloadBody struct {
	RequestPerMinute  *float64                `json:"requestPerMinute,omitempty"`
	RequestParameters *CapacityParametersBody `json:"requestParameters,omitempty"`
}

// CapacityParametersBody are a workload's average tokens per call.
type CapacityParametersBody struct {
	AvgPromptTokens    *float64 `json:"avgPromptTokens,omitempty"`
	AvgGeneratedTokens *float64 `json:"avgGeneratedTokens,omitempty"`
	// CacheRate is ptu's extension: the share of prompt tokens served from
	// the prompt cache, 0 to 1 (the portal calculator's "cache rate").
	CacheRate *float64 `json:"cacheRate,omitempty"`
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
	// Value is the raw estimate rounded up to a whole PTU (the SDK reads an
	// int32); Estimate.PTU has it unrounded.
	Value int `json:"value"`
	// DeployableValue is the estimate rounded up to skuName's step, at least its minimum.
	DeployableValue int `json:"deployableValue"`
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
