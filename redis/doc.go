// Package redis is a leaky.Limiter that keeps the deployments' buckets in
// Redis, so that several ptu replicas behind a load balancer hold each
// deployment to its PTUs together rather than each on its own: a call is
// reserved at admission and corrected at settle in the one shared bucket,
// whichever replica serves it.
//
// # The scripts
//
// Admit and Settle each run one Lua script (admitSource, settleSource in
// script.go) that reads the bucket, applies leaky.Bucket's arithmetic and
// writes it back. Redis runs a script to completion before any other
// command, so a decision and its update are atomic across replicas with no
// lock and no retry loop. The scripts are sent with EVALSHA and, when Redis
// does not know them yet (first use, a restart, a failover, SCRIPT FLUSH),
// once with EVAL, which caches them again. Each touches one key, so it also
// fits a Redis Cluster slot.
//
// The arithmetic is leaky.Bucket's, step for step: drain by elapsed time,
// the 100 % rule, the exact retry-after (the same bisection over whole
// nanoseconds), retry slots up to leaky.MaxRetrySpread past the opening,
// and the clamping. Lua numbers are IEEE 754 doubles like Go's float64, and
// each step is the same operation in the same order, so the scripts and
// Bucket agree bit for bit; TestMatchesBucket drives both through the same
// random calls to check it. Two representation choices keep that true:
// the level is stored with 17 significant digits, which reads back as the
// same double, and times are whole microseconds (Redis's resolution) with
// the retry horizon in nanoseconds relative to the last update, numbers a
// double holds exactly (nanoseconds since the epoch would not be). Past 2^52
// ns of drain (52 days), where doubles stop counting single nanoseconds, the
// script uses the closed-form retry-after.
//
// Utilization runs a third script that writes nothing: it returns Redis's
// time and the stored level, and Go applies Bucket.Utilization to them.
//
// # The clock
//
// Every script reads the time with redis.call('TIME'), so all replicas
// decide on one clock, Redis's, and the skew between the replicas' own
// clocks never enters a bucket. Redis (5 or later, which this package needs)
// replicates the effects of a script, the values it wrote, not the script,
// so a Redis replica or an AOF replay never re-reads the time. Like Bucket, a script never drains backwards: if
// Redis's clock steps back (a failover to a server whose clock is behind),
// the level holds until time passes its last update again.
//
// # Keys
//
// One hash per deployment, at Options.Prefix (default "ptu:bucket:")
// followed by the deployment key the gateway passes:
//
//	l  level in tokens (%.17g)
//	t  time of the level, microseconds since the Unix epoch on Redis's clock
//	h  end of the last retry slot, nanoseconds after t; absent when not after t
//
// Every write sets the key's TTL to the time the level takes to drain or
// until the last retry slot, whichever is later, plus Options.IdleTTL
// (default five minutes), so Redis forgets idle deployments by itself and
// never one holding tokens or pending slots. The drain time is computed at
// the capacity of that write: a deployment shrunk by more than the idle TTL
// can absorb and then left without calls may be forgotten a little early,
// which only frees capacity it was no longer using. A refund on a key that
// does not exist writes nothing: an absent bucket is an empty one.
//
// # When Redis is unavailable
//
// Options.FailureMode decides what Admit does when a script fails (a
// connection refused, a timeout, an error reply):
//
//   - FailClosed (the default) returns an error wrapping ErrUnavailable; the
//     gateway answers 503 with a retry-after. No deployment can exceed its
//     PTUs, and nothing is served.
//   - FailOpen admits against a bucket in this process (an inmem.Limiter)
//     holding this replica's share of the capacity, capacity ÷
//     Options.Replicas. Calls keep being served; with the load spread evenly
//     the replicas together stay near the deployment's PTUs. The settle of a
//     call admitted locally goes to the local bucket, even after Redis is
//     back, so the shared bucket is never refunded for a reservation it did
//     not hold (Settle carries no reservation id: the first n settles of a
//     key after n local admits are routed locally).
//
// A Settle that cannot reach Redis returns an error wrapping ErrUnavailable
// in both modes: the correction is lost and the reservation drains from the
// shared bucket as if the call had used its whole estimate. Utilization
// reports the local bucket under FailOpen and an error under FailClosed.
//
// After an error, calls skip Redis for Options.Backoff (default one second)
// and go straight to the failure mode, so an unreachable server costs one
// dial timeout per second rather than one per call; a successful Ping ends
// the backoff at once. An error caused by the caller's own context (a client
// that went away) is returned as it is and says nothing about Redis.
//
// Stats counts decisions made by Redis and locally, refusals, local settles
// and Redis errors, and tells whether Redis is down; the limiter logs one
// line when Redis becomes unavailable and one when it is back. Ping is the
// health check. ClientOptions turns a redis:// URL into client options with
// timeouts suited to admission, which sits in front of every call.
package redis
