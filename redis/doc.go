// Package redis is a leaky.Limiter that keeps the deployments' buckets in
// Redis, so that several ptu replicas behind a load balancer hold each
// deployment to its PTUs together rather than each on its own: a call is
// reserved at admission and corrected at settle in the one shared bucket,
// whichever replica serves it.
//
// # The scripts
//
// Admit runs one Lua script (admitSource in script.go) that reads the
// bucket, applies leaky.Bucket's arithmetic and writes it back. Redis runs a
// script to completion before any other command, so a decision and its
// update are atomic across replicas with no lock and no retry loop. The
// scripts are sent with EVALSHA and, when Redis does not know them yet
// (first use, a restart, a failover, SCRIPT FLUSH), once with EVAL, which
// caches them again.
//
// Concurrent admits travel together: a caller that finds fewer than two
// admit pipelines on their way to Redis sends its script at once, with the
// admits queued meanwhile, as one pipeline (admitPipe in pipeline.go), and
// the others wait for their replies. A lone call pays one round trip, as
// with a plain client; under load one write and one read carry many calls,
// and Redis wakes once for them rather than once per call, which matters
// most when it shares the machine with ptu.
//
// Admit hands each admitted call a leaky.Reservation that holds its Redis
// key. Settling it does not wait for Redis: the correction (actual cost −
// estimate) goes to a queue, summed per key, and Settle returns; a flusher
// goroutine, started by the first correction of a backlog and gone when the
// queue is empty, writes the queue with the settle script (settleSource),
// up to 128 keys per script.
// While one batch is on its way the next accumulates, so an idle limiter
// writes a correction at once and a busy one writes many calls' corrections
// with one script. An Admit of a key whose correction is still queued takes
// it along: the admit script settles first, then decides, at one instant.
// If the key's correction is already on its way, the Admit waits for that
// batch. Either way this limiter never decides on a bucket that lacks its
// own corrections; another replica sees them within about one round trip.
// This halves the scripts per call at load and takes the settle's round
// trip off the call's path. Flush waits for the queue to empty (the server
// calls it at shutdown).
//
// The arithmetic is leaky.Bucket's, step for step: drain by elapsed time,
// the 100 % rule, the exact retry-after (the same bisection over whole
// nanoseconds), the retry slots up to leaky.MaxRetrySpread past the opening
// under Options.RetryRule leaky.RetrySlots,
// and the clamping. Lua numbers are IEEE 754 doubles like Go's float64, and
// each step is the same operation in the same order, so the scripts and
// Bucket agree bit for bit; TestMatchesBucket drives both through the same
// random calls to check it. Two representation choices keep that true:
// the bucket is stored as the bits of its doubles, which read back as the
// same doubles, and times are whole microseconds (Redis's resolution) with
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
// One string per deployment, at Options.Prefix (default "ptu:bucket:")
// followed by the deployment key the gateway passes: 48 bytes, six
// little-endian doubles (struct.pack('<dddddd') in the scripts):
//
//	level in tokens
//	time of the level, microseconds since the Unix epoch on Redis's clock
//	end of the last retry slot, nanoseconds after that time; 0 when not after it
//	the minute of that time, and the tokens counted in it and in the minute before
//
// One GET and one SET with PX per bucket and script keep Redis's work per
// call small. A key holding anything else is read as an empty bucket and
// overwritten. The settle script touches several keys, so the limiter needs
// one Redis server (with replicas or Sentinel for failover), not a Redis
// Cluster.
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
//     the replicas together stay near the deployment's PTUs. A call admitted
//     locally holds a reservation on the local bucket, and its settle goes
//     there, even after Redis is back, so the shared bucket is never refunded
//     for an estimate it did not hold.
//
// Settling a reservation Redis made while Redis is known to be down returns
// an error wrapping ErrUnavailable in both modes, and a queued correction
// Redis does not take is dropped and counted (Stats.DroppedSettles): the
// correction is lost and the reservation drains from the shared bucket as if
// the call had used its whole estimate. Utilization reports the local bucket
// under FailOpen and an error under FailClosed.
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
