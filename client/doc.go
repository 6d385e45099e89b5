// Package client is the Go SDK for ptu: typed calls for the ARM control plane
// (accounts, keys, deployments, usages, models, model capacities, quota
// requests) and for the Azure-OpenAI-compatible data plane (chat completions
// and completions, streamed or not), with the retry and failover behaviour
// provisioned deployments call for. It imports no server package; the wire
// shapes come from package oai (inference) and armwire (the control plane:
// Account, Deployment and the other resource types are aliases of armwire's).
//
// # Retries
//
// A call is tried, and tried again after a wait, while the failure is one a
// retry can cure:
//
//   - 429 waits what the service says: retry-after-ms, else retry-after
//     (seconds or an HTTP date). A provisioned deployment computes that time
//     exactly (it is when its utilization falls below 100 %), so the wait
//     has no jitter added. A 429 without either header backs off like a 5xx.
//   - 408, 5xx and connection errors back off exponentially with full
//     jitter: a uniform wait in [0, min(MaxBackoff, InitialBackoff·2ⁿ)] where
//     n counts the earlier failures of the same target. A 5xx that carries
//     retry-after-ms or retry-after waits that instead.
//   - Anything else (400, 401, 404, 409, ...) returns at once.
//
// MaxRetries (default 2, as in the OpenAI Python library) bounds the number
// of waits, so a call makes at most MaxRetries+1 attempts per target. It is
// set per client (New, WithOptions) or per call (pass WithMaxRetries to the
// call). MaxRetryTime (default 60 s, the benchmark tool's budget) caps the
// time from the first attempt to the end of the last wait: a wait that would
// end later is not taken and the last error is returned, carrying the
// service's retry-after so the caller can decide. Every wait ends early when
// the call's context is done; the error then matches both the context's
// error and the last service error (errors.Is / errors.As).
//
// Two control-plane calls are not idempotent (creating a quota request and
// regenerating a key); they are retried only on 429 and 503, which say the
// request was not processed.
//
// # Failover
//
// WithFailover gives an ordered list of other targets (a deployment, and
// optionally another account's endpoint and key). Each attempt goes to the
// first target in the list, primary first, that is not known to be
// throttled or failing; a target that answers 429, 5xx or does not answer is
// marked closed until its retry-after or backoff ends, and the next open
// target is tried at once, without a wait and without counting a retry.
// Only when every target is closed does the call wait, until the first one
// reopens. The result's Response.Served names the target that answered and
// Response.Attempts lists every attempt in order.
package client
