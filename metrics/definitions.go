package metrics

import (
	"strings"

	"github.com/ptu-dev/ptu"
)

// Namespace is the Azure Monitor metric namespace of an account.
const Namespace = "Microsoft.CognitiveServices/accounts"

// Aggregation is an Azure Monitor aggregation type.
type Aggregation string

// Aggregation types, in the order Azure Monitor lists them.
const (
	Average Aggregation = "Average"
	Count   Aggregation = "Count"
	Maximum Aggregation = "Maximum"
	Minimum Aggregation = "Minimum"
	Total   Aggregation = "Total"
)

// Metric names (Azure Monitor REST names of Microsoft.CognitiveServices/accounts).
const (
	Requests          = "AzureOpenAIRequests"
	Utilization       = "AzureOpenAIProvisionedManagedUtilizationV2"
	ActiveTokens      = "ActiveTokens"
	CacheMatchRate    = "AzureOpenAIContextTokensCacheMatchRate"
	PromptTokens      = "ProcessedPromptTokens"
	GeneratedTokens   = "GeneratedTokens"
	InferenceTokens   = "TokenTransaction"
	TimeToResponse    = "AzureOpenAITimeToResponse"
	TimeBetweenTokens = "AzureOpenAINormalizedTBTInMS"
	TimeToLastByte    = "AzureOpenAITTLTInMS"
	TokensPerSecond   = "AzureOpenAITokenPerSecond"
)

// Dimension names.
const (
	DimDeployment   = "ModelDeploymentName"
	DimModelName    = "ModelName"
	DimModelVersion = "ModelVersion"
	DimRegion       = "Region"
	DimStreamType   = "StreamType"
	DimStatusCode   = "StatusCode"
	DimIsSpillover  = "IsSpillover"
	DimOperation    = "OperationName"
)

// StreamType dimension values (Azure's own values were not found; these are ptu's).
const (
	Streaming    = "Streaming"
	NonStreaming = "NonStreaming"
)

// Definition describes one metric: what Azure Monitor's metricDefinitions
// lists, and how stored points become aggregations.
type Definition struct {
	Name         string
	DisplayName  string
	Description  string
	Category     string
	Class        string // Azure's metricClass: Transactions, Saturation, Latency
	Unit         string // Count, Percent, MilliSeconds
	Primary      Aggregation
	Aggregations []Aggregation // the ones Azure lists as supported
	Dimensions   []string
	// utilization: a point's Total is a share of the minute's utilization
	// (shares add up), not a sum of samples; see the package documentation.
	utilization bool
}

var (
	base       = []string{DimRegion, DimDeployment, DimModelName, DimModelVersion}
	minMaxAvg  = []Aggregation{Minimum, Maximum, Average}
	totalOnly  = []Aggregation{Total}
	requestDim = []string{DimOperation, DimRegion, DimStreamType, DimDeployment, DimModelName, DimModelVersion, DimStatusCode, DimIsSpillover}
)

// definitions is every metric ptu records, in the order metricDefinitions lists them.
var definitions = []*Definition{
	{Name: Requests, DisplayName: "Azure OpenAI Requests", Category: "Azure OpenAI - HTTP Requests", Class: "Transactions",
		Description: "Number of calls made to the Azure OpenAI API over a period of time, including throttled (429) calls. Split by StatusCode to see throttling, by IsSpillover for calls redirected to a spillover deployment.",
		Unit:        "Count", Primary: Total, Aggregations: totalOnly, Dimensions: requestDim},
	{Name: Utilization, DisplayName: "Provisioned-managed Utilization V2", Category: "Azure OpenAI - Usage", Class: "Saturation",
		Description: "Utilization % for a provisioned-managed deployment, calculated as (PTUs consumed / PTUs deployed) x 100: the settled input-equivalent tokens of the calls that arrived in the minute over one minute of the deployment's capacity. Maximum and Minimum are the highest and lowest one-minute utilization sampled every 10 seconds within the interval. When utilization is at or above 100%, calls are throttled with 429.",
		Unit:        "Percent", Primary: Average, Aggregations: minMaxAvg,
		Dimensions: []string{DimRegion, DimStreamType, DimDeployment, DimModelName, DimModelVersion}, utilization: true},
	{Name: ActiveTokens, DisplayName: "Active Tokens", Category: "Azure OpenAI - Usage", Class: "Transactions",
		Description: "Total tokens minus cached tokens over a period of time (prompt + generated - cached, per call). Use it to compare your TPM with the deployment's benchmarks.",
		Unit:        "Count", Primary: Total, Aggregations: []Aggregation{Minimum, Maximum, Average, Total}, Dimensions: base},
	{Name: CacheMatchRate, DisplayName: "Prompt Token Cache Match Rate", Category: "Azure OpenAI - Usage", Class: "Transactions",
		Description: "Percentage of prompt tokens that hit the prompt cache. Average weighs calls by their prompt tokens; Minimum and Maximum are per call.",
		Unit:        "Percent", Primary: Average, Aggregations: minMaxAvg, Dimensions: base},
	{Name: PromptTokens, DisplayName: "Processed Prompt Tokens", Category: "Azure OpenAI - Usage", Class: "Transactions",
		Description: "Number of prompt tokens processed (input), cached ones included, of calls that were admitted.",
		Unit:        "Count", Primary: Total, Aggregations: totalOnly, Dimensions: base},
	{Name: GeneratedTokens, DisplayName: "Generated Completion Tokens", Category: "Azure OpenAI - Usage", Class: "Transactions",
		Description: "Number of tokens generated (output).",
		Unit:        "Count", Primary: Total, Aggregations: totalOnly, Dimensions: base},
	{Name: InferenceTokens, DisplayName: "Processed Inference Tokens", Category: "Azure OpenAI - Usage", Class: "Transactions",
		Description: "Number of inference tokens processed: prompt tokens plus generated tokens.",
		Unit:        "Count", Primary: Total, Aggregations: totalOnly, Dimensions: base},
	{Name: TimeToResponse, DisplayName: "Time to Response", Category: "Azure OpenAI - Latency", Class: "Latency",
		Description: "Time from the call's arrival to its first output token, in milliseconds, of successful calls.",
		Unit:        "MilliSeconds", Primary: Average, Aggregations: minMaxAvg,
		Dimensions: []string{DimOperation, DimRegion, DimStreamType, DimDeployment, DimModelName, DimModelVersion, DimStatusCode}},
	{Name: TimeBetweenTokens, DisplayName: "Time Between Tokens", Category: "Azure OpenAI - Latency", Class: "Latency",
		Description: "For successful streaming calls: the time from the first output token to the end of the call divided by the tokens after the first, in milliseconds.",
		Unit:        "MilliSeconds", Primary: Average, Aggregations: minMaxAvg, Dimensions: base},
	{Name: TimeToLastByte, DisplayName: "Time to Last Byte", Category: "Azure OpenAI - Latency", Class: "Latency",
		Description: "End-to-end latency of successful calls: from arrival to the last byte of the answer, in milliseconds.",
		Unit:        "MilliSeconds", Primary: Average, Aggregations: minMaxAvg, Dimensions: base},
	{Name: TokensPerSecond, DisplayName: "Tokens Per Second", Category: "Azure OpenAI - Latency", Class: "Latency",
		Description: "Generation speed of successful calls: tokens generated divided by the time from the first output token to the end, in seconds.",
		Unit:        "Count", Primary: Average, Aggregations: minMaxAvg, Dimensions: base},
}

// Definitions returns the metrics ptu records, in a stable order.
func Definitions() []*Definition { return definitions }

// Lookup finds a metric by name, case-insensitively.
func Lookup(name string) (*Definition, bool) {
	for _, d := range definitions {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return nil, false
}

// dimension returns the canonical spelling of the metric's dimension name,
// matched case-insensitively.
func (d *Definition) dimension(name string) (string, bool) {
	for _, dim := range d.Dimensions {
		if strings.EqualFold(dim, name) {
			return dim, true
		}
	}
	return "", false
}

// dimValue returns a point's value of dimension name.
func dimValue(d ptu.MetricDimensions, name string) string {
	switch name {
	case DimDeployment:
		return d.Deployment
	case DimModelName:
		return d.ModelName
	case DimModelVersion:
		return d.ModelVersion
	case DimRegion:
		return d.Region
	case DimStreamType:
		return d.StreamType
	case DimStatusCode:
		return d.StatusCode
	case DimIsSpillover:
		return d.IsSpillover
	case DimOperation:
		return d.Operation
	}
	return ""
}
