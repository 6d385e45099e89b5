// Package sim is the simulated model engine: a stand-in for a GPU replica
// set that needs no GPU, and an OpenAI-compatible HTTP server over it (what
// `ptu sim` serves in place of vLLM).
//
// # Model
//
// An Engine is one capacity pool. It has an aggregate rate, RatedTPM/60
// input-equivalent tokens per second, where a prompt token costs 1 and an
// output token costs OutputWeight, as in Azure's PTU sizing. Each request in
// flight first prefills its uncached prompt tokens (at most PrefillTPS) and
// then decodes its choices in lockstep (each at most DecodeTPS); the first
// output token appears when prefill ends, so time to first token is the
// prefill time.
//
// The pool's rate is shared max-min fairly among the requests in flight, the
// way continuous batching shares a GPU's iterations: each request gets what
// it can use up to a common level. While the sum of what requests could use
// stays under the rating, every request runs at its own ceiling; past it the
// level falls and the requests slow down, so the pool never processes more
// than its rating. With N equal requests over the rating each runs at
// rating/N.
//
// # Scheduling
//
// One scheduler goroutine per engine ticks every Config.Tick while anything is
// in flight and exits when nothing is. Each tick it computes the level,
// advances every request over the elapsed time (token instants are
// interpolated inside the tick, so timings do not depend on the tick length)
// and wakes, with a non-blocking send, only the requests that produced a new
// token. A request's own goroutine then emits the new tokens. There is no
// timer per request or per token, which keeps thousands of streams cheap.
//
// # Text
//
// The output of a request is planned when it starts: real single-token
// English words of the model's tokenizer, drawn with a PRNG seeded from the
// request's seed, model and prompt (or at random without a seed), with a
// log-normal length unless max_tokens cuts it shorter. Stop sequences end a
// choice at the token that completes them; the text is cut before them and
// the tokens generated up to there are counted. The plan keeps only the PRNG
// state and the length; text is generated as it is emitted, so a stream's
// memory does not grow with its length.
package sim
