package tokens

import "math"

// Estimate returns the admission cost in input-equivalent tokens:
// (prompt − cached) + outputWeight × maxOutput, the increment Azure documents
// for a provisioned deployment's utilization. Cached tokens cost nothing (the
// current sizing guide removes them 100%). Negative or NaN inputs count as
// zero, and cached is capped at the prompt.
func Estimate(promptTokens, cachedTokens, maxOutput int, outputWeight float64) float64 {
	prompt := max(promptTokens, 0)
	cached := min(max(cachedTokens, 0), prompt)
	if math.IsNaN(outputWeight) || outputWeight < 0 {
		outputWeight = 0
	}
	return float64(prompt-cached) + outputWeight*float64(max(maxOutput, 0))
}

// MaxOutputWhenUnset is the output length assumed for a request that names no
// max_tokens (or max_completion_tokens), before the model's and the context
// window's limits apply.
//
// Azure says only that it "estimates a value" and that leaving max_tokens out
// can lower concurrency when real outputs are short, i.e. the guess is
// generous. 4,096 keeps that property (it is well above typical chat replies
// of a few hundred tokens, so omitting max_tokens visibly costs concurrency)
// without letting one call claim a model's whole 16k–128k output limit; the
// bucket is corrected to the true output when the call completes either way.
const MaxOutputWhenUnset = 4096

// DefaultMaxOutput returns the output tokens to reserve for a request with no
// max_tokens: MaxOutputWhenUnset, capped by the model's maximum output and by
// the context left after the prompt. A zero modelMaxOutput or contextWindow
// means that limit is unknown. The result is 0 when the prompt already fills
// the context window.
func DefaultMaxOutput(modelMaxOutput, contextWindow, promptTokens int) int {
	n := MaxOutputWhenUnset
	if modelMaxOutput > 0 {
		n = min(n, modelMaxOutput)
	}
	if contextWindow > 0 {
		n = min(n, max(contextWindow-max(promptTokens, 0), 0))
	}
	return n
}
