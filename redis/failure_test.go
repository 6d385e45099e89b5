package redis

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu/leaky"
)

// logBuffer collects log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

func TestFailClosed(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	var logs logBuffer
	l := New(unreachableClient(t), Options{FailureMode: FailClosed, Logger: logs.logger(), Now: clock.Now})

	_, err := l.Admit(ctx, "dep", 60_000, 100)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Admit with Redis down: err = %v, want ErrUnavailable", err)
	}
	if s := l.Stats(); s != (Stats{Refused: 1, RedisErrors: 1, Down: true}) {
		t.Fatalf("stats %+v", s)
	}
	// Within the backoff calls are refused without trying Redis.
	clock.Advance(DefaultBackoff - time.Nanosecond)
	for range 3 {
		if _, err := l.Admit(ctx, "dep", 60_000, 100); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Admit during backoff: err = %v", err)
		}
	}
	if err := l.Correct(ctx, "dep", 60_000, -50); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Correct: err = %v, want ErrUnavailable", err)
	}
	if _, err := l.Utilization(ctx, "dep", 60_000); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Utilization: err = %v, want ErrUnavailable", err)
	}
	if s := l.Stats(); s != (Stats{Refused: 4, RedisErrors: 1, Down: true}) {
		t.Fatalf("stats during backoff %+v", s)
	}
	// After it, the next call tries again.
	clock.Advance(time.Nanosecond)
	if _, err := l.Admit(ctx, "dep", 60_000, 100); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Admit after backoff: err = %v", err)
	}
	if err := l.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping: err = %v, want ErrUnavailable", err)
	}
	if s := l.Stats(); s != (Stats{Refused: 5, RedisErrors: 3, Down: true}) {
		t.Fatalf("stats after backoff %+v", s)
	}
	if n := logs.count("Redis unavailable"); n != 1 {
		t.Fatalf("logged the outage %d times, want once:\n%s", n, logs.buf.String())
	}
	// Arguments are checked before Redis is asked.
	if _, err := l.Admit(ctx, "dep", math.NaN(), 1); !errors.Is(err, leaky.ErrInvalid) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Admit with NaN capacity: err = %v, want ErrInvalid only", err)
	}
}

func TestFailOpenAdmitsThisReplicasShare(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	l := New(unreachableClient(t), Options{FailureMode: FailOpen, Replicas: 3, Logger: discardLogger(), Now: clock.Now})
	const capacity = 60_000.0 // the local bucket holds 20,000 per minute

	// The local bucket follows the same arithmetic as any other.
	var ref leaky.Bucket
	check := func(est float64) leaky.Decision {
		t.Helper()
		got, err := l.Admit(ctx, "dep", capacity, est)
		if err != nil {
			t.Fatalf("Admit with Redis down, fail-open: %v", err)
		}
		if (got.Reservation != nil) != got.Allowed {
			t.Fatalf("Admit(%v) = %+v: a reservation exactly when admitted", est, got)
		}
		want := ref.Admit(clock.Now(), capacity/3, est)
		bare := got
		if bare.Reservation = nil; bare != want {
			t.Fatalf("Admit(%v) = %+v, want %+v", est, got, want)
		}
		return got
	}
	first := check(15_000)
	if !first.Allowed || first.Utilization != 75 {
		t.Fatalf("first call %+v", first)
	}
	second := check(10_000) // 125 % of the share
	// 5,000 tokens over at 20,000 per minute: open 15 s (and a nanosecond) on.
	refused := check(1)
	if refused.Allowed || refused.RetryAfter <= 15*time.Second || refused.RetryAfter > 15*time.Second+time.Microsecond {
		t.Fatalf("call over the share %+v, want retry-after 15s", refused)
	}
	// The first call used nothing: its refund goes to the local bucket, once.
	for range 2 {
		if err := first.Reservation.Settle(ctx, 0); err != nil {
			t.Fatalf("Settle of a local admit: %v", err)
		}
	}
	ref.Settle(clock.Now(), capacity/3, -15_000)
	if u, err := l.Utilization(ctx, "dep", capacity); err != nil || u != 50 {
		t.Fatalf("Utilization = %v, %v; want the local bucket's 50", u, err)
	}
	// The refused call's settle does nothing.
	if err := refused.Reservation.Settle(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Second) // 5,000 drained: 25 %
	last := check(1)
	s := l.Stats()
	if s.LocalAdmits != 4 || s.LocalSettles != 1 || s.Refused != 0 || s.RedisAdmits != 0 || !s.Down || s.RedisErrors == 0 {
		t.Fatalf("stats %+v", s)
	}
	// The second call's settle and the last call's go local too, after the
	// backoff as within it; a correction of no local reservation goes to
	// Redis, which is down.
	if err := second.Reservation.Settle(ctx, 10_000); err != nil {
		t.Fatal(err)
	}
	clock.Advance(DefaultBackoff)
	if err := last.Reservation.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Correct(ctx, "dep", capacity, -1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Correct of the shared bucket: err = %v, want ErrUnavailable", err)
	}
	if s := l.Stats(); s.LocalSettles != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// TestCallerCancelIsNotAnOutage: a call whose client went away fails with
// its context's error and leaves the Redis health alone.
func TestCallerCancelIsNotAnOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := New(unreachableClient(t), Options{FailureMode: FailOpen, Logger: discardLogger()})
	_, err := l.Admit(ctx, "dep", 60_000, 100)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Admit with a cancelled context: err = %v", err)
	}
	if s := l.Stats(); s != (Stats{}) {
		t.Fatalf("stats %+v", s)
	}
}

// throughOutage returns a client of the test Redis (direct), an outage proxy
// in front of it, a client through the proxy that gives up at once, and a
// key prefix of the test's own.
func throughOutage(t *testing.T) (direct *goredis.Client, proxy *outage, client *goredis.Client, prefix string) {
	direct = testClient(t)
	prefix = testPrefix(t, direct)
	proxy = newOutage(t, redisOptions(t).Addr)
	o := redisOptions(t)
	o.Addr, o.MaxRetries, o.DialerRetries, o.DialTimeout = proxy.Addr(), -1, 1, time.Second
	client = goredis.NewClient(o)
	t.Cleanup(func() { client.Close() })
	return direct, proxy, client, prefix
}

// TestOutageAndRecovery cuts a working Redis off and brings it back: during
// the outage a fail-open limiter admits locally, after it Redis decides again,
// and the settles of the calls admitted locally never reach Redis.
func TestOutageAndRecovery(t *testing.T) {
	ctx := context.Background()
	_, proxy, client, prefix := throughOutage(t)

	clock := newFakeClock()
	var logs logBuffer
	l := New(client, Options{Prefix: prefix, FailureMode: FailOpen, Replicas: 2, Logger: logs.logger(), Now: clock.Now})
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now }
	const capacity = 60_000.0

	admit := func(est float64) leaky.Decision {
		t.Helper()
		d, err := l.Admit(ctx, "dep", capacity, est)
		if err != nil || !d.Allowed {
			t.Fatalf("Admit(%v) = %+v, %v", est, d, err)
		}
		return d
	}
	redisA := admit(1000)
	if redisA.Level != 1000 {
		t.Fatalf("Redis admit %+v", redisA)
	}
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	proxy.setDown(true)
	localA := admit(2000) // local: Redis fails, the call is served
	localB := admit(3000) // local, within the backoff
	if s := l.Stats(); s.RedisAdmits != 1 || s.LocalAdmits != 2 || s.RedisErrors != 1 || !s.Down {
		t.Fatalf("stats during the outage %+v", s)
	}
	if err := l.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping during the outage: %v", err)
	}

	proxy.setDown(false)
	if err := l.Ping(ctx); err != nil { // a health check ends the backoff
		t.Fatalf("Ping after the outage: %v", err)
	}
	redisB := admit(500)
	if redisB.Level != 1500 {
		t.Fatalf("Redis admit after the outage %+v, want level 1,500", redisB)
	}
	// Each settle goes to the bucket its reservation is in, whatever the
	// order: the calls admitted locally used nothing, the others refund
	// 400 and 100.
	for _, s := range []struct {
		d      leaky.Decision
		actual float64
	}{{redisB, 100}, {localB, 0}, {redisA, 900}, {localA, 0}} {
		if err := s.d.Reservation.Settle(ctx, s.actual); err != nil {
			t.Fatal(err)
		}
	}
	u, err := l.Utilization(ctx, "dep", capacity)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1000.0 / capacity * 100; u != want {
		t.Fatalf("Redis utilization %v%%, want %v%%: the local refunds reached Redis", u, want)
	}
	if u, _ := l.local.Utilization(ctx, "dep", capacity/2); u != 0 {
		t.Fatalf("local bucket at %v%% after its calls settled", u)
	}
	s := l.Stats()
	if s.RedisAdmits != 2 || s.LocalAdmits != 2 || s.LocalSettles != 2 || s.Down {
		t.Fatalf("stats after the outage %+v", s)
	}
	if logs.count("Redis unavailable") != 1 || logs.count("Redis available again") != 1 {
		t.Fatalf("want one line for the outage and one for the recovery:\n%s", logs.buf.String())
	}
}

func TestFailureModeText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FailureMode
		ok   bool
	}{
		{"", FailClosed, true},
		{"fail-closed", FailClosed, true},
		{"fail-open", FailOpen, true},
		{"open", 0, false},
		{"FAIL-OPEN", 0, false},
	} {
		var m FailureMode
		err := m.UnmarshalText([]byte(tc.in))
		if (err == nil) != tc.ok || m != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v", tc.in, m, err)
		}
		if tc.ok && tc.in != "" {
			if b, _ := m.MarshalText(); string(b) != tc.in {
				t.Errorf("MarshalText(%v) = %q", m, b)
			}
		}
	}
}

func TestClientOptions(t *testing.T) {
	o, err := ClientOptions("redis://:secret@10.0.0.5:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "10.0.0.5:6380" || o.Password != "secret" || o.DB != 2 ||
		o.DialTimeout != time.Second || o.ReadTimeout != 500*time.Millisecond || o.WriteTimeout != 500*time.Millisecond ||
		o.MaxRetries != 1 || o.DialerRetries != 1 {
		t.Fatalf("options %+v", o)
	}
	o, err = ClientOptions("redis://127.0.0.1:6379?dial_timeout=3s&read_timeout=2s&max_retries=5")
	if err != nil {
		t.Fatal(err)
	}
	if o.DialTimeout != 3*time.Second || o.ReadTimeout != 2*time.Second || o.WriteTimeout != 2*time.Second || o.MaxRetries != 5 {
		t.Fatalf("URL settings not kept: %+v", o)
	}
	if _, err := ClientOptions("http://example.com"); err == nil {
		t.Fatal("accepted a non-Redis URL")
	}
}

// TestQueuedSettlesLostInOutage queues settles, cuts Redis off and flushes:
// the corrections are dropped and counted, the limiter is down, and further
// settles say so at once. Once Redis is back, settles queue and land again.
func TestQueuedSettlesLostInOutage(t *testing.T) {
	ctx := context.Background()
	direct, proxy, client, prefix := throughOutage(t)
	clock := newFakeClock()
	l := New(client, Options{Prefix: prefix, Logger: discardLogger(), Now: clock.Now})
	l.settles.manual = true
	const capacity = 60_000.0

	for _, k := range []string{"a", "b", "c"} {
		d, err := l.Admit(ctx, k, capacity, 1000)
		if err != nil || !d.Allowed {
			t.Fatalf("Admit(%s) = %+v, %v", k, d, err)
		}
		if err := d.Reservation.Settle(ctx, 400); err != nil {
			t.Fatal(err)
		}
	}
	open, err := l.Admit(ctx, "d", capacity, 1000)
	if err != nil || !open.Allowed {
		t.Fatalf("Admit(d) = %+v, %v", open, err)
	}
	proxy.setDown(true)
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if s := l.Stats(); s.DroppedSettles != 3 || !s.Down || s.RedisErrors != 1 {
		t.Fatalf("stats after the failed flush %+v", s)
	}
	if err := open.Reservation.Settle(ctx, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Settle while Redis is down: %v", err)
	}
	if err := open.Reservation.Cancel(ctx); err != nil {
		t.Fatalf("Cancel of a reservation whose settle failed: %v", err)
	}
	// What Prometheus scrapes says so.
	if err := testutil.CollectAndCompare(l.Collector(), strings.NewReader(`
# HELP ptu_redis_limiter_dropped_settles_total Queued settle corrections (one per deployment and batch) Redis did not take; those calls' estimates drain as if fully used.
# TYPE ptu_redis_limiter_dropped_settles_total counter
ptu_redis_limiter_dropped_settles_total 3
# HELP ptu_redis_limiter_up 1 if the last call to Redis succeeded, 0 if it failed.
# TYPE ptu_redis_limiter_up gauge
ptu_redis_limiter_up 0
# HELP ptu_redis_limiter_admits_total Admissions decided by the shared buckets in Redis (decided_by=redis) or, while Redis was unavailable and the failure mode is fail-open, by this replica's local share (decided_by=local).
# TYPE ptu_redis_limiter_admits_total counter
ptu_redis_limiter_admits_total{decided_by="local"} 0
ptu_redis_limiter_admits_total{decided_by="redis"} 4
`), "ptu_redis_limiter_dropped_settles_total", "ptu_redis_limiter_up", "ptu_redis_limiter_admits_total"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(l.Collector()); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	// The reservations stayed whole in Redis.
	for _, k := range []string{"a", "b", "c"} {
		raw, err := direct.Get(ctx, prefix+k).Result()
		st, ok := decodeState(raw)
		if err != nil || !ok || st.Level > 1000 || st.Level < 990 {
			t.Fatalf("%s: stored %+v, %v; want the whole 1,000-token reservation less its drain", k, st, err)
		}
	}

	proxy.setDown(false)
	clock.Advance(DefaultBackoff)
	if d, err := l.Admit(ctx, "a", capacity, 0); err != nil || !d.Allowed {
		t.Fatalf("Admit after the outage = %+v, %v", d, err)
	}
	if err := l.Correct(ctx, "b", capacity, -900); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if u, err := l.Utilization(ctx, "b", capacity); err != nil || u > 100.0/capacity*100 {
		t.Fatalf("b at %v%% (%v) after its refund, want at most 100 tokens' worth", u, err)
	}
	if s := l.Stats(); s.DroppedSettles != 3 || s.Down {
		t.Fatalf("stats after the outage %+v", s)
	}
}
