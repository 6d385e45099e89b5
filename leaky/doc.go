// Package leaky implements admission for provisioned deployments: the
// "leaky bucket variation" Azure OpenAI documents for PTU deployments.
//
// # The rule
//
// Each deployment has a capacity C, in input-equivalent tokens per minute
// (PTUs × input TPM per PTU). Its bucket holds a level L of tokens that drains
// continuously at C per minute, never below zero. A call arrives with an
// estimated cost: if L ≥ C the call is rejected (HTTP 429) with the exact time
// until L falls below C; otherwise the estimate is added to L. When the call
// finishes the gateway settles the difference between the actual cost and the
// estimate, which may give capacity back or take more: Limiter.Admit hands the
// admitted call a Reservation, which it settles (or cancels) once.
//
// # Why utilization is L ÷ C
//
// The bucket is a fluid model of the deployment's work: each call pours in
// its cost and the deployment's rated throughput drains it. Dividing the level
// by one minute of capacity makes 100 % the point where the deployment holds
// exactly as much work as it can serve in a minute, which matches Azure's
// definition (PTUs consumed ÷ PTUs deployed) and its per-minute
// "Provisioned-managed Utilization" metric: a deployment receiving exactly its
// capacity every minute settles at 100 %, one receiving 90 % never reaches it.
//
// # What a call is told: the last minute's use
//
// The level is what admission needs, but it is not what a caller means by
// "how busy is my deployment": below capacity it drains back towards zero
// between calls, so a deployment taking half its PTUs reads about one call's
// estimate. So the bucket also counts the tokens it admitted (estimates at
// admission, corrected at settlement) per minute of the Unix clock, and
// Bucket.Recent weighs the previous minute's count by the share of the last
// sixty seconds it still covers: a sliding minute over two fixed ones, two
// numbers per deployment, the same arithmetic in the Redis scripts.
// Decision.Reported, the larger of that use and the level, is what the
// azure-openai-deployment-utilization header carries: about 50 % at half
// load, about 100 % at or above capacity (where 429s begin), and the level
// itself when a burst pushes it past the minute's use. The weighting assumes
// the previous minute's calls were spread evenly; for two clock minutes
// after a burst it reads high by up to the burst's excess. The counters
// only report: admission looks at the level alone.
//
// # Why a call may overshoot
//
// Admission looks only at the level before the call, so a call admitted at
// 99 % may push the bucket to 99 % + its estimate. Azure documents this
// ("short bursts slightly above 100% may be let through, but over time traffic
// is held at 100%"). It keeps the rule per call and free of estimate-size
// bias: a large prompt is never starved by a stream of small ones, and the
// overshoot is paid back because nothing else is admitted until the level has
// drained below C again. Over any long window, admitted tokens equal drained
// tokens plus the change in level, and the level stays below C plus one
// estimate, so accepted throughput converges to exactly C.
//
// # Why retry-after is exact
//
// The level is a deterministic function of time until the next call changes
// it, so the time at which a rejected call would be admitted is known exactly:
// (L − C) ÷ drain rate. Bucket.RetryAfter returns the smallest whole
// nanosecond at which the same arithmetic the bucket uses to drain admits a
// call (strictly below 100 %), so a client that waits the reported time
// (rounded up to whole milliseconds for the retry-after-ms header) finds the
// bucket open. A rejection's retry-after is never zero.
//
// Every call rejected while the bucket is full gets that same instant under
// RetryExact, the default and what Azure documents for retry-after-ms; the
// first to come back gets in and the next admission closes the bucket again.
// RetrySlots (a setting) hands rejected calls consecutive retry slots
// instead: the first starts when the bucket opens, each lasts the time the
// call's own estimate takes to drain, and the next starts where it ends (the
// slots end at Bucket.Horizon). A retry admitted at the start of its slot
// raises the level by its estimate, which has drained by the start of the
// next one, so each retry finds the bucket open in turn; the price is that
// every caller is told more than the time to the opening, by the slots of
// calls rejected before it whether or not they come back. Slots reach at
// most MaxRetrySpread past the opening, and a refund that reopens the bucket
// between slots lets a new call take the room the next retry counted on.
// Either way the rule shapes retry-after only: admission looks at the level
// alone, so throughput, overshoot and the 100 % rule are the same. The
// measurements behind the default are in rules_test.go and
// docs/benchmarks.md.
//
// # Representation
//
// Bucket stores the level as float64 tokens and the time it was last brought
// up to date. Draining is computed from the elapsed time since that instant,
// never accumulated tick by tick, so no error builds up over time; each
// update rounds once, at the level's own magnitude (about 1e-16 relative).
// The level is clamped to [0, math.MaxFloat64] after every change, so it is
// never negative, NaN or infinite, whatever the inputs.
//
// Capacity is passed to every call rather than stored: resizing a deployment
// keeps its level and the new capacity applies from the bucket's last update
// on, so utilization jumps (or drops) in proportion, as Azure reports it.
//
// Like golang.org/x/time/rate, Bucket takes the time as an argument and holds
// no lock and no clock; Limiter implementations (inmem, redis) add both, and,
// as rate.Reservation there, a Reservation per admitted call that is settled
// or cancelled later. The admissiontest package is the contract suite every
// Limiter passes.
package leaky
