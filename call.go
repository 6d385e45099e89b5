package ptu

import "time"

// CallRecord describes one inference call of the data plane as it ended. The
// gateway makes one per call (and one more for a call that spilled over), and
// the server hands it to each of its consumers: billing, the access log and
// metrics.
type CallRecord struct {
	Time       time.Time // when it started
	RequestID  string
	Account    Account
	Deployment Deployment
	Operation  string // ChatCompletions_Create | Completions_Create
	Stream     bool
	Status     int
	// CallUsage is the call's token counts, decided once: what the response
	// reported, what the bucket settled and what metrics and billing count.
	CallUsage
	Estimate    float64 // admission estimate, input-equivalent tokens
	Actual      float64 // settled cost, input-equivalent tokens
	Utilization float64 // percent, as reported in the response header
	// TimeToFirstToken and Duration are measured from Time.
	TimeToFirstToken time.Duration
	Duration         time.Duration
	Throttled        bool // refused with 429
	// IsSpillover marks a call served by (or refused by) the Standard
	// deployment it spilled over to; the provisioned deployment's own refusal
	// is recorded separately with IsSpillover false, as Azure records it.
	IsSpillover bool
	// Cut says why an answer was cut off before its end by the server's
	// side: CutDrain, CutUpstream, CutTimeout; "" for a whole answer, a
	// refusal, or a client that went away.
	Cut string
}

// CallUsage is the tokens one call processed. PromptTokens include
// CachedTokens.
type CallUsage struct {
	PromptTokens     int
	CachedTokens     int
	CompletionTokens int
	// Source says where the counts come from: UsageBackend or UsageTokenizer.
	Source string
}

// Sources of a call's usage (CallUsage.Source).
const (
	// UsageBackend is the count the backend reported for what it processed.
	UsageBackend = "backend"
	// UsageTokenizer is the model's tokenizer's count, used when the
	// backend reported none (an upstream that sends no usage) and for calls
	// refused before they ran.
	UsageTokenizer = "tokenizer"
)

// Reasons a call was cut off before its end (CallRecord.Cut).
const (
	CutDrain    = "drain"    // the server shut down past its drain timeout
	CutUpstream = "upstream" // the backend failed mid-answer
	CutTimeout  = "timeout"  // the backend took longer than its request timeout
)

// CallRecorder takes the record of each finished inference call.
type CallRecorder interface {
	Record(CallRecord)
}
