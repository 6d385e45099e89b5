package redis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/tracing"
)

// ErrUnavailable is wrapped by the errors the limiter returns when Redis
// cannot be reached and the failure mode does not admit locally. The gateway
// answers such an Admit with 503 and a retry-after.
var ErrUnavailable = errors.New("redis limiter: Redis unavailable")

// FailureMode says what Admit does while Redis is unreachable.
type FailureMode int

const (
	// FailClosed refuses every call with an error wrapping ErrUnavailable:
	// no deployment can exceed its PTUs, and no call is served. The zero value.
	FailClosed FailureMode = iota
	// FailOpen admits against a bucket in this process holding this
	// replica's share of the capacity (capacity ÷ Options.Replicas): calls
	// keep being served, and with the load balanced evenly the replicas
	// together still hold the deployment near its PTUs. Decisions and
	// Utilization then report the share's utilization.
	FailOpen
)

// String returns "fail-closed" or "fail-open", the setting's spelling.
func (m FailureMode) String() string {
	switch m {
	case FailClosed:
		return "fail-closed"
	case FailOpen:
		return "fail-open"
	}
	return "FailureMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseFailureMode parses "fail-closed" or "fail-open" ("" is fail-closed).
func ParseFailureMode(s string) (FailureMode, error) {
	switch s {
	case "", "fail-closed":
		return FailClosed, nil
	case "fail-open":
		return FailOpen, nil
	}
	return 0, fmt.Errorf("unknown Redis failure mode %q: want fail-closed or fail-open", s)
}

// UnmarshalText lets a configuration file or flag spell the mode.
func (m *FailureMode) UnmarshalText(b []byte) error {
	v, err := ParseFailureMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalText spells the mode as ParseFailureMode reads it.
func (m FailureMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "ptu:bucket:"

// DefaultIdleTTL is how long a bucket stays in Redis after it has drained
// empty and its retry slots have passed, when Options.IdleTTL is zero.
const DefaultIdleTTL = inmem.IdleAfter

// DefaultBackoff is how long calls skip Redis after it failed, when
// Options.Backoff is zero.
const DefaultBackoff = time.Second

// Options configure a Limiter. The zero value is usable: fail-closed, one
// replica, the default prefix, idle TTL and backoff.
type Options struct {
	// Prefix is prepended to every deployment key (DefaultPrefix if empty),
	// so one Redis can serve several installations or tests.
	Prefix string
	// IdleTTL is how long a bucket outlives its drain and its last retry
	// slot (DefaultIdleTTL if zero). Each write sets the key's TTL to the
	// time the level takes to drain, or until the last slot if later, plus
	// IdleTTL, so Redis forgets idle deployments on its own and never a
	// bucket holding tokens.
	IdleTTL time.Duration
	// FailureMode says what Admit does while Redis is unreachable.
	FailureMode FailureMode
	// Replicas is the number of ptu replicas sharing the buckets (1 if less):
	// under FailOpen each admits against capacity ÷ Replicas on its own.
	Replicas int
	// Backoff is how long after a Redis error calls go straight to the
	// failure mode without trying Redis (DefaultBackoff if zero; negative to
	// try Redis on every call). It keeps an unreachable Redis from adding a
	// dial timeout to every call; the first call after it probes again.
	Backoff time.Duration
	// Logger receives one line when Redis becomes unreachable and one when
	// it is back (slog.Default() if nil).
	Logger *slog.Logger
	// Now is the clock of the local bucket and of the backoff (time.Now if
	// nil). The shared buckets always use Redis's clock.
	Now func() time.Time
	// RetryRule is the retry-after rule rejected calls are told by, in the
	// shared buckets and the local one. The zero value, leaky.RetryExact, is
	// leaky.DefaultRetryRule.
	RetryRule leaky.RetryRule
}

// Limiter is a leaky.Limiter whose buckets live in Redis, shared by every
// replica that uses the same Redis and prefix. Admit runs one Lua script,
// atomically, on Redis's clock. Settling a reservation does not wait for
// Redis: the correction is queued and written in batches by the settle
// script, or carried by the key's next Admit (settle.go). It is safe for
// concurrent use.
type Limiter struct {
	client   *goredis.Client
	prefix   string
	idleMs   string
	mode     FailureMode
	replicas float64
	backoff  time.Duration
	logger   *slog.Logger
	now      func() time.Time
	rule     leaky.RetryRule

	local   *inmem.Limiter
	settles settleQueue
	admits  admitPipe

	down      atomic.Bool
	downUntil atomic.Int64 // Unix nanoseconds on now; calls before it skip Redis

	redisAdmits    atomic.Uint64
	localAdmits    atomic.Uint64
	refused        atomic.Uint64
	localSettles   atomic.Uint64
	droppedSettles atomic.Uint64
	redisErrors    atomic.Uint64

	// scriptNow replaces Redis's clock in the scripts; tests only.
	scriptNow func() time.Time
}

var (
	_ leaky.Limiter = (*Limiter)(nil)
	_ leaky.Settler = (*Limiter)(nil)
	_ leaky.Settler = (*shared)(nil)
	_ leaky.Settler = (*localShare)(nil)
)

// New returns a limiter keeping its buckets in the Redis behind client. The
// client is the caller's to configure and close; ClientOptions gives settings
// suited to admission.
func New(client *goredis.Client, opts Options) *Limiter {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.IdleTTL <= 0 {
		opts.IdleTTL = DefaultIdleTTL
	}
	if opts.Replicas < 1 {
		opts.Replicas = 1
	}
	if opts.Backoff == 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{
		client:   client,
		prefix:   opts.Prefix,
		idleMs:   strconv.FormatInt(max(1, opts.IdleTTL.Milliseconds()), 10),
		mode:     opts.FailureMode,
		replicas: float64(opts.Replicas),
		backoff:  opts.Backoff,
		logger:   opts.Logger,
		now:      opts.Now,
		rule:     opts.RetryRule,
		local:    inmem.New(opts.Now, inmem.WithRetryRule(opts.RetryRule)),
		settles:  newSettleQueue(),
	}
}

// ClientOptions parses a redis:// or rediss:// URL (see goredis.ParseURL)
// and fills the timeouts and retries it leaves unset with values suited to
// admission, which sits in front of every call: 1s to dial, 500ms to read or
// write, one dial attempt and one retry. A URL can still set each of them
// (dial_timeout, read_timeout, write_timeout, max_retries).
func ClientOptions(url string) (*goredis.Options, error) {
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 500 * time.Millisecond
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = o.ReadTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	return o, nil
}

// Stats are the limiter's counters since New, for metrics and logs.
type Stats struct {
	// RedisAdmits counts Admit calls decided by Redis.
	RedisAdmits uint64
	// LocalAdmits counts Admit calls decided (admitted or throttled) by the
	// local bucket because Redis was unavailable (FailOpen).
	LocalAdmits uint64
	// Refused counts Admit calls answered with ErrUnavailable (FailClosed).
	Refused uint64
	// LocalSettles counts reservations settled or cancelled on the local
	// bucket: those of the calls it admitted.
	LocalSettles uint64
	// DroppedSettles counts queued corrections (one per key and batch)
	// that could not be written to Redis and were dropped.
	DroppedSettles uint64
	// RedisErrors counts failed calls to Redis (scripts and Ping).
	RedisErrors uint64
	// Down reports whether the last call to Redis failed.
	Down bool
}

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	return Stats{
		RedisAdmits:    l.redisAdmits.Load(),
		LocalAdmits:    l.localAdmits.Load(),
		Refused:        l.refused.Load(),
		LocalSettles:   l.localSettles.Load(),
		DroppedSettles: l.droppedSettles.Load(),
		RedisErrors:    l.redisErrors.Load(),
		Down:           l.down.Load(),
	}
}

// RetryRule returns the limiter's retry-after rule.
func (l *Limiter) RetryRule() leaky.RetryRule { return l.rule }

// FailureMode returns the limiter's failure mode.
func (l *Limiter) FailureMode() FailureMode { return l.mode }

// Ping checks that Redis answers, for health checks. A successful Ping ends
// the backoff after an error, so the next call tries Redis at once.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.client.Ping(ctx).Err(); err != nil {
		return l.failed(ctx, err)
	}
	l.recovered()
	return nil
}

// Admit decides one call for key on the shared bucket; an admitted call's
// reservation settles there. While Redis is unavailable it follows the
// failure mode, and a call admitted locally (FailOpen) holds a reservation
// on the local bucket, which its settle corrects even after Redis is back.
func (l *Limiter) Admit(ctx context.Context, key string, capacityPerMinute, estimate float64) (leaky.Decision, error) {
	if err := leaky.CheckAdmit(capacityPerMinute, estimate); err != nil {
		return leaky.Decision{}, err
	}
	if l.skip() {
		return l.admitUnavailable(ctx, key, capacityPerMinute, estimate, errBackoff)
	}
	rkey := l.prefix + key
	pending, err := l.settles.take(ctx, rkey)
	if err != nil {
		return leaky.Decision{}, fmt.Errorf("redis limiter: %w", err)
	}
	sctx, span := l.startAdmitSpan(ctx)
	res, err := l.runAdmit(sctx, rkey, []any{l.idleMs, l.scriptTime(), formatFloat(capacityPerMinute), formatFloat(estimate), formatFloat(pending), l.rule.String()})
	tracing.End(span, err)
	if err != nil && pending != 0 {
		switch {
		case errors.Is(err, errNotSent): // Redis never saw it: the correction goes back in the queue
			l.queueSettle(rkey, capacityPerMinute, pending)
		case ctx.Err() == nil: // Redis failed; a caller that gave up after sending leaves it to Redis
			l.droppedSettles.Add(1)
		}
	}
	if err == nil {
		var d leaky.Decision
		if d, err = decision(res, capacityPerMinute); err == nil {
			l.recovered()
			l.redisAdmits.Add(1)
			if d.Allowed {
				d.Reservation = leaky.NewReservation((*shared)(l), rkey, capacityPerMinute, estimate)
			}
			return d, nil
		}
	}
	if err := l.failed(ctx, err); !errors.Is(err, ErrUnavailable) {
		return leaky.Decision{}, err
	}
	return l.admitUnavailable(ctx, key, capacityPerMinute, estimate, err)
}

var errBackoff = errors.New("skipped during the backoff after a Redis error")

func (l *Limiter) admitUnavailable(ctx context.Context, key string, capacityPerMinute, estimate float64, cause error) (leaky.Decision, error) {
	if l.mode != FailOpen {
		l.refused.Add(1)
		if !errors.Is(cause, ErrUnavailable) {
			cause = fmt.Errorf("%w: %w", ErrUnavailable, cause)
		}
		return leaky.Decision{}, cause
	}
	share := capacityPerMinute / l.replicas
	d, err := l.local.Admit(ctx, key, share, estimate)
	if err != nil { // a share too small to be a capacity
		return d, err
	}
	l.localAdmits.Add(1)
	if d.Allowed { // the settle goes to the local bucket, and is counted
		d.Reservation = leaky.NewReservation((*localShare)(l), key, share, estimate)
	}
	return d, nil
}

// Correct adds delta tokens to key's shared bucket, as the settle of a
// reservation Redis made does (see leaky.Settler); callers settle through
// the Reservation. The correction is queued and Correct returns: it reaches
// Redis within about one round trip, in one script with the others queued
// meanwhile, and the next Admit or Utilization of key on this limiter
// carries it if it is still queued, so this limiter never decides without
// it. While Redis is known to be unavailable the correction is lost and an
// error wrapping ErrUnavailable says so; a queued one that Redis does not
// take is dropped and counted (Stats.DroppedSettles). Either way the
// reservation stays in the shared bucket and drains with it.
func (l *Limiter) Correct(ctx context.Context, key string, capacityPerMinute, delta float64) error {
	return (*shared)(l).Correct(ctx, l.prefix+key, capacityPerMinute, delta)
}

// shared settles the reservations Redis made. Its keys are Redis keys
// (prefixed), kept in the reservation so that a settle builds none.
type shared Limiter

// Correct is Limiter.Correct on a Redis key.
func (s *shared) Correct(_ context.Context, rkey string, capacityPerMinute, delta float64) error {
	if err := leaky.CheckCorrect(capacityPerMinute, delta); err != nil {
		return err
	}
	l := (*Limiter)(s)
	if l.down.Load() {
		return fmt.Errorf("%w: %w", ErrUnavailable, errDown)
	}
	if delta == 0 {
		return nil
	}
	l.queueSettle(rkey, capacityPerMinute, delta)
	return nil
}

// localShare settles the reservations of the calls the local bucket
// admitted while Redis was unavailable (FailOpen), on that bucket, so that
// the shared bucket is never refunded for an estimate it did not hold. Its
// capacities are this replica's share.
type localShare Limiter

// Correct corrects key's local bucket and counts it (Stats.LocalSettles).
func (s *localShare) Correct(ctx context.Context, key string, share, delta float64) error {
	l := (*Limiter)(s)
	if err := l.local.Correct(ctx, key, share, delta); err != nil {
		return err
	}
	l.localSettles.Add(1)
	return nil
}

var errDown = errors.New("the last call to Redis failed")

// Utilization reports key's utilization on Redis's clock without changing
// the bucket. While Redis is unavailable, FailOpen reports the local bucket
// (what admission then enforces) and FailClosed an error.
func (l *Limiter) Utilization(ctx context.Context, key string, capacityPerMinute float64) (float64, error) {
	if err := leaky.CheckCapacity(capacityPerMinute); err != nil {
		return 0, err
	}
	var err error
	if l.skip() {
		err = fmt.Errorf("%w: %w", ErrUnavailable, errBackoff)
	} else {
		rkey := l.prefix + key
		var res []any
		if err = l.settleKey(ctx, rkey, capacityPerMinute); err == nil {
			res, err = readScript.Run(ctx, l.client, []string{rkey}, l.scriptTime()).Slice()
		}
		if err == nil {
			var u float64
			if u, err = utilization(res, capacityPerMinute); err == nil {
				l.recovered()
				return u, nil
			}
		}
		if err = l.failed(ctx, err); !errors.Is(err, ErrUnavailable) {
			return 0, err
		}
	}
	if l.mode != FailOpen {
		return 0, err
	}
	return l.local.Utilization(ctx, key, capacityPerMinute/l.replicas)
}

// scriptTime is the scripts' ARGV[2]: "" for Redis's clock, or the tests'.
func (l *Limiter) scriptTime() string {
	if l.scriptNow != nil {
		return strconv.FormatInt(l.scriptNow().UnixMicro(), 10)
	}
	return ""
}

// formatFloat prints the shortest decimal that reads back as the same
// float64, in Lua as in Go.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// skip reports whether calls are in the backoff after a Redis error.
func (l *Limiter) skip() bool {
	return l.down.Load() && l.backoff > 0 && l.now().UnixNano() < l.downUntil.Load()
}

// failed records a Redis error and returns it wrapping ErrUnavailable. An
// error caused by the caller's context is returned as it is: the caller gave
// up, which says nothing about Redis.
func (l *Limiter) failed(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("redis limiter: %w", ctxErr)
	}
	l.redisErrors.Add(1)
	if l.backoff > 0 {
		l.downUntil.Store(l.now().Add(l.backoff).UnixNano())
	}
	if !l.down.Swap(true) {
		l.logger.Warn("redis limiter: Redis unavailable", "failure_mode", l.mode.String(), "err", err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// recovered ends the down state after a call to Redis succeeded.
func (l *Limiter) recovered() {
	if l.down.Load() && l.down.Swap(false) {
		l.downUntil.Store(0)
		s := l.Stats()
		l.logger.Info("redis limiter: Redis available again", "local_admits", s.LocalAdmits, "refused", s.Refused, "redis_errors", s.RedisErrors)
	}
}

// decision reads the admit script's reply {allowed, level, retry-after, recent}.
func decision(res []any, capacityPerMinute float64) (leaky.Decision, error) {
	if len(res) != 4 {
		return leaky.Decision{}, fmt.Errorf("admit script replied %v", res)
	}
	allowed, ok1 := res[0].(int64)
	levelS, ok2 := res[1].(string)
	retryS, ok3 := res[2].(string)
	recentS, ok4 := res[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return leaky.Decision{}, fmt.Errorf("admit script replied %#v", res)
	}
	level, err := strconv.ParseFloat(levelS, 64)
	if err != nil {
		return leaky.Decision{}, fmt.Errorf("admit script level: %w", err)
	}
	recent, err := strconv.ParseFloat(recentS, 64)
	if err != nil {
		return leaky.Decision{}, fmt.Errorf("admit script recent use: %w", err)
	}
	d := leaky.Decision{Allowed: allowed == 1, Level: level, Utilization: percent(level, capacityPerMinute),
		Recent: percent(recent, capacityPerMinute)}
	if d.Allowed {
		return d, nil
	}
	if retryS == "inf" {
		d.RetryAfter = leaky.InfDuration
		return d, nil
	}
	ns, err := strconv.ParseFloat(retryS, 64)
	if err != nil || !(ns >= 1) {
		return leaky.Decision{}, fmt.Errorf("admit script retry-after %q", retryS)
	}
	if ns >= float64(leaky.InfDuration) {
		d.RetryAfter = leaky.InfDuration
	} else {
		d.RetryAfter = time.Duration(ns)
	}
	return d, nil
}

// utilization applies Bucket.Utilization to the read script's reply {now, state}.
func utilization(res []any, capacityPerMinute float64) (float64, error) {
	if len(res) != 2 {
		return 0, fmt.Errorf("read script replied %v", res)
	}
	nowS, ok := res[0].(string)
	if !ok {
		return 0, fmt.Errorf("read script replied %#v", res)
	}
	now, err := strconv.ParseInt(nowS, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read script: %w", err)
	}
	if res[1] == nil {
		return 0, nil
	}
	raw, ok := res[1].(string)
	if !ok {
		return 0, fmt.Errorf("read script replied %#v", res)
	}
	st, ok := decodeState(raw)
	if !ok {
		return 0, nil // not a bucket this version wrote: the scripts treat it as empty
	}
	b := leaky.Bucket{Level: st.Level, Last: time.UnixMicro(int64(st.Last))}
	return b.Utilization(time.UnixMicro(now), capacityPerMinute), nil
}

// state is a bucket as the scripts store it (see script.go).
type state struct {
	Level, Last, Horizon, Window, Cur, Prev float64
}

// decodeState reads the scripts' 48-byte string of six little-endian doubles.
func decodeState(raw string) (state, bool) {
	if len(raw) != 48 {
		return state{}, false
	}
	var f [6]float64
	for i := range f {
		f[i] = math.Float64frombits(binary.LittleEndian.Uint64([]byte(raw[8*i : 8*i+8])))
	}
	return state{Level: f[0], Last: f[1], Horizon: f[2], Window: f[3], Cur: f[4], Prev: f[5]}, true
}

// percent is the level in percent of one minute of capacity, as leaky computes it.
func percent(level, capacityPerMinute float64) float64 {
	if level == 0 {
		return 0
	}
	return level / capacityPerMinute * 100
}
