package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu/admissiontest"
	"github.com/ptu-dev/ptu/leaky"
)

// TestContract runs the limiter contract against the test Redis on Redis's
// own clock; Advance sleeps.
func TestContract(t *testing.T) {
	admissiontest.Run(t, func(t *testing.T, rule leaky.RetryRule) admissiontest.Harness {
		l, _ := newTestLimiter(t, Options{RetryRule: rule})
		return admissiontest.Harness{Limiter: l, Advance: time.Sleep, Slack: 200 * time.Millisecond}
	})
}

// exact reports whether the scripts must match leaky.Bucket bit for bit:
// on amd64 neither Go nor a stock Redis build fuses a multiply and an add,
// so both round every step alike. Elsewhere either may, within an ulp.
var exact = runtime.GOARCH == "amd64"

func sameFloat(a, b float64) bool {
	if exact {
		return a == b
	}
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func sameDuration(a, b time.Duration) bool {
	if exact || a == leaky.InfDuration || b == leaky.InfDuration {
		return a == b
	}
	d := a - b
	return d >= -2 && d <= 2
}

// reference is what inmem keeps for a key: a leaky.Bucket, created by an
// admit or a charge, never by a refund. With queued set it models the
// limiter's settle queue: corrections add up and apply, as one, when Redis
// next sees the key.
type reference struct {
	bucket  leaky.Bucket
	exists  bool
	queued  bool
	pending float64
	rule    leaky.RetryRule
}

func (r *reference) admit(now time.Time, c, est float64) leaky.Decision {
	r.apply(now, c)
	r.exists = true
	return r.bucket.AdmitRule(now, c, est, r.rule)
}

func (r *reference) settle(now time.Time, c, delta float64) {
	if r.queued {
		r.pending += delta
		return
	}
	if !r.exists && !(delta > 0) {
		return
	}
	r.exists = true
	r.bucket.Settle(now, c, delta)
}

// apply settles the queued correction, if any, at now and capacity c.
func (r *reference) apply(now time.Time, c float64) {
	if !r.queued || r.pending == 0 {
		return
	}
	d := r.pending
	r.pending, r.queued = 0, false
	r.settle(now, c, d)
	r.queued = true
}

// TestMatchesBucket drives the scripts and leaky.Bucket through the same
// random calls at the same instants (the scripts' clock replaced by a fake
// one) and requires the same decisions, utilizations and stored state. The
// limiter's settles stay queued until the key's next script, which applies
// them first (the reference does the same).
func TestMatchesBucket(t *testing.T) {
	for _, rule := range []leaky.RetryRule{leaky.RetryExact, leaky.RetrySlots} {
		t.Run(rule.String(), func(t *testing.T) { testMatchesBucket(t, rule) })
	}
}

func testMatchesBucket(t *testing.T, rule leaky.RetryRule) {
	l, client := newTestLimiter(t, Options{RetryRule: rule})
	ctx := context.Background()
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now }
	l.settles.manual = true // settles wait for the key's next script, as under load

	var rejected, slotted, folded int
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 99))
		keys := []string{fmt.Sprintf("s%d:a", seed), fmt.Sprintf("s%d:b", seed), fmt.Sprintf("s%d:c", seed)}
		refs := map[string]*reference{}
		base := map[string]float64{}
		for i, k := range keys {
			refs[k] = &reference{queued: true, rule: rule}
			base[k] = []float64{60, 37_500, 750_000}[i]
		}
		for step := range 2500 {
			switch p := rng.IntN(100); {
			case p < 30: // same instant
			case p < 50:
				now = now.Add(time.Duration(1+rng.IntN(5000)) * time.Microsecond)
			case p < 80:
				now = now.Add(time.Duration(rng.IntN(2_000_000)) * time.Microsecond)
			case p < 95:
				now = now.Add(time.Duration(rng.IntN(180_000_000)) * time.Microsecond)
			default: // Redis's clock stepping back
				now = now.Add(-time.Duration(rng.IntN(500_000)) * time.Microsecond)
			}
			k := keys[rng.IntN(len(keys))]
			ref := refs[k]
			c := base[k] * []float64{1, 1, 1, 1, 0.5, 2, 1.5}[rng.IntN(7)]
			what := fmt.Sprintf("seed %d step %d key %s", seed, step, k)
			switch p := rng.IntN(100); {
			case p < 65:
				est := c * []float64{0, 0.001, 0.01, 0.1, 0.37, 1, 2.5}[rng.IntN(7)] * rng.Float64()
				if ref.pending != 0 {
					folded++
				}
				want := ref.admit(now, c, est)
				got, err := l.Admit(ctx, k, c, est)
				if err != nil {
					t.Fatalf("%s: Admit: %v", what, err)
				}
				if got.Allowed != want.Allowed || !sameDuration(got.RetryAfter, want.RetryAfter) ||
					!sameFloat(got.Level, want.Level) || !sameFloat(got.Utilization, want.Utilization) || !sameFloat(got.Recent, want.Recent) {
					t.Fatalf("%s: Admit(%v, %v) = %+v, bucket %+v", what, c, est, got, want)
				}
				if !got.Allowed {
					rejected++
					if open := ref.bucket.RetryAfter(now, c); got.RetryAfter > open {
						slotted++
					}
				}
			default:
				delta := c * (rng.Float64()*1.5 - 1)
				if rng.IntN(10) == 0 {
					delta = -1e12
				}
				ref.settle(now, c, delta)
				if err := l.Correct(ctx, k, c, delta); err != nil {
					t.Fatalf("%s: Settle: %v", what, err)
				}
			}
			// Seed 0 reads every step, which writes each settle at once; the
			// others read one step in four, so that settles queue up and ride
			// with the key's next Admit.
			if seed > 0 && rng.IntN(4) != 0 {
				continue
			}
			ref.apply(now, c)
			u, err := l.Utilization(ctx, k, c)
			if err != nil {
				t.Fatalf("%s: Utilization: %v", what, err)
			}
			if want := ref.bucket.Utilization(now, c); !sameFloat(u, want) {
				t.Fatalf("%s: Utilization = %v, bucket %v", what, u, want)
			}
			checkStored(t, client, l.prefix+k, ref, what)
		}
	}
	if folded == 0 {
		t.Fatal("no queued settle rode with an Admit")
	}
	// The walk must have reached the paths worth comparing.
	switch {
	case rejected < 200:
		t.Fatalf("only %d rejections", rejected)
	case rule == leaky.RetrySlots && slotted < 50:
		t.Fatalf("only %d of %d rejections given a later retry slot", slotted, rejected)
	case rule == leaky.RetryExact && slotted > 0:
		t.Fatalf("%d of %d rejections told more than the exact drain time", slotted, rejected)
	}
}

// checkStored compares the bucket the scripts keep with the reference.
func checkStored(t *testing.T, c *goredis.Client, key string, ref *reference, what string) {
	t.Helper()
	raw, err := c.Get(context.Background(), key).Result()
	if err != nil && err != goredis.Nil {
		t.Fatal(err)
	}
	if !ref.exists {
		if err != goredis.Nil {
			t.Fatalf("%s: a refund created bucket %q", what, raw)
		}
		return
	}
	st, ok := decodeState(raw)
	if !ok {
		t.Fatalf("%s: no bucket stored (%q, %v)", what, raw, err)
	}
	b := ref.bucket
	if !sameFloat(st.Level, b.Level) || int64(st.Last) != b.Last.UnixMicro() {
		t.Fatalf("%s: stored level %v at %v, bucket %v at %d", what, st.Level, st.Last, b.Level, b.Last.UnixMicro())
	}
	switch {
	case b.Horizon.After(b.Last):
		if !(st.Horizon > 0) {
			t.Fatalf("%s: no horizon stored, bucket's is %v after its last update", what, b.Horizon.Sub(b.Last))
		}
		if !sameDuration(time.Duration(st.Horizon), b.Horizon.Sub(b.Last)) {
			t.Fatalf("%s: stored horizon %v after the last update, bucket %v", what, time.Duration(st.Horizon), b.Horizon.Sub(b.Last))
		}
	case st.Horizon != 0:
		t.Fatalf("%s: stored horizon %v, bucket has none pending", what, st.Horizon)
	}
	if int64(st.Window) != b.Window || !sameFloat(st.Cur, b.Cur) || !sameFloat(st.Prev, b.Prev) {
		t.Fatalf("%s: stored minute %v counts %v, %v; bucket %d counts %v, %v", what, st.Window, st.Cur, st.Prev, b.Window, b.Cur, b.Prev)
	}
}

// TestExtremeLevels covers what the random walk avoids: a level that can
// never drain (InfDuration) and a retry-after beyond 2^52 ns, where the
// script takes the closed form.
func TestExtremeLevels(t *testing.T) {
	l, client := newTestLimiter(t, Options{})
	ctx := context.Background()
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now }

	var ref reference
	ref.settle(now, 60, math.MaxFloat64)
	if err := l.Correct(ctx, "inf", 60, math.MaxFloat64); err != nil {
		t.Fatal(err)
	}
	want := ref.admit(now, 60, 1)
	got, err := l.Admit(ctx, "inf", 60, 1)
	if err != nil || got.Allowed || got.RetryAfter != leaky.InfDuration || got.Level != math.MaxFloat64 || got != want {
		t.Fatalf("Admit on a full bucket = %+v, %v; bucket %+v", got, err, want)
	}
	checkStored(t, client, l.prefix+"inf", &ref, "inf")
	// PTTL in milliseconds: the TTL is beyond what a time.Duration holds.
	if ms, err := client.Do(ctx, "PTTL", l.prefix+"inf").Int64(); err != nil || ms < 100*365*24*3600*1000 {
		t.Fatalf("a bucket that never drains expires in %d ms (%v)", ms, err)
	}

	// 200 days of drain: the script's closed form is within a few
	// nanoseconds of the bucket's exact search.
	ref = reference{}
	ref.admit(now, 60, 200*24*60*60)
	if _, err := l.Admit(ctx, "far", 60, 200*24*60*60); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	want = ref.admit(now, 60, 5)
	got, err = l.Admit(ctx, "far", 60, 5)
	if err != nil || got.Allowed || got.Level != want.Level {
		t.Fatalf("Admit = %+v, %v; bucket %+v", got, err, want)
	}
	if d := got.RetryAfter - want.RetryAfter; d < -1000 || d > 1000 {
		t.Fatalf("retry-after %v, bucket %v", got.RetryAfter, want.RetryAfter)
	}
}

// TestReplicasShareBuckets has four limiters with clients of their own, as
// four replicas would, admit on one key from many goroutines, then settle
// every admitted call at once. On a stopped clock the bucket must account for
// every token: admission stops between capacity and capacity + one estimate,
// and no settle is lost.
func TestReplicasShareBuckets(t *testing.T) {
	const capacity, replicas, goroutines, perGoroutine = 100_000.0, 4, 16, 40
	ctx := context.Background()
	now := time.UnixMicro(time.Now().UnixMicro())
	var limiters []*Limiter
	prefix := ""
	for i := range replicas {
		c := testClient(t)
		if i == 0 {
			prefix = testPrefix(t, c)
		}
		l := New(c, Options{Prefix: prefix, Logger: discardLogger()})
		l.scriptNow = func() time.Time { return now }
		limiters = append(limiters, l)
	}

	var mu sync.Mutex
	var admitted, maxLevel float64
	var calls int
	var admits, settles sync.WaitGroup
	settle := make(chan struct{})
	for g := range replicas * goroutines {
		l := limiters[g%replicas]
		admits.Add(1)
		settles.Go(func() {
			var mine []*leaky.Reservation
			for i := range perGoroutine {
				est := float64(250 * (1 + (g+i)%8)) // 250..2,000
				d, err := l.Admit(ctx, "dep", capacity, est)
				if err != nil {
					t.Error(err)
					break
				}
				if d.Allowed {
					mine = append(mine, d.Reservation)
					mu.Lock()
					admitted += est
					maxLevel = max(maxLevel, d.Level)
					calls++
					mu.Unlock()
				}
			}
			admits.Done()
			<-settle
			for _, r := range mine {
				if err := r.Settle(ctx, r.Estimate()/2); err != nil {
					t.Error(err)
				}
			}
		})
	}
	admits.Wait()
	if admitted < capacity || admitted > capacity+2000 {
		t.Errorf("admitted %v tokens in %d calls, want between %v and %v", admitted, calls, capacity, capacity+2000.0)
	}
	if maxLevel > capacity+2000 {
		t.Errorf("an admitted call saw level %v, above capacity + one estimate", maxLevel)
	}
	u, err := limiters[0].Utilization(ctx, "dep", capacity)
	if err != nil {
		t.Fatal(err)
	}
	if want := admitted / capacity * 100; u != want {
		t.Errorf("utilization %v%% after the admits, want %v%%", u, want)
	}
	close(settle)
	settles.Wait()
	for _, l := range limiters {
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Each call used half its estimate.
	u, err = limiters[1].Utilization(ctx, "dep", capacity)
	if err != nil {
		t.Fatal(err)
	}
	if want := admitted / 2 / capacity * 100; u != want {
		t.Errorf("utilization %v%% after the settles, want %v%%", u, want)
	}
	for _, l := range limiters {
		if s := l.Stats(); s.RedisErrors != 0 || s.LocalAdmits != 0 || s.RedisAdmits != replicas*goroutines*perGoroutine/replicas {
			t.Errorf("stats %+v", s)
		}
	}
}

// TestKeyTTL checks that a key outlives its level and its retry slots: each
// write sets the TTL to the drain of the level or the end of the last slot,
// whichever is later, plus the idle TTL.
func TestKeyTTL(t *testing.T) {
	ctx := context.Background()
	const idle = time.Second
	l, client := newTestLimiter(t, Options{IdleTTL: idle, RetryRule: leaky.RetrySlots})
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now }

	// wantTTL is the rule, applied to the reference bucket.
	wantTTL := func(b leaky.Bucket, c float64) time.Duration {
		until := b.Level / c * float64(time.Minute)
		until = max(until, float64(b.Horizon.Sub(b.Last)))
		return time.Duration(math.Ceil(until/1e6))*time.Millisecond + idle
	}
	// checkTTL runs write and reads the key's TTL, bracketing both between
	// two readings of Redis's clock: the TTL the script set is exact, and the
	// PTTL read afterwards is short of it by at most the time in between.
	checkTTL := func(key string, want time.Duration, write func()) {
		t.Helper()
		t0 := client.Time(ctx).Val()
		write()
		ttl := client.PTTL(ctx, l.prefix+key).Val()
		t1 := client.Time(ctx).Val()
		if ttl > want || ttl < want-t1.Sub(t0)-time.Millisecond {
			t.Fatalf("%s: TTL %v, want %v less the %v the calls took", key, ttl, want, t1.Sub(t0))
		}
	}
	// admit applies a call to the reference bucket at once and returns the
	// same call on the limiter, to be run as checkTTL's write.
	admit := func(b *leaky.Bucket, key string, c, est float64, allowed bool) func() {
		t.Helper()
		want := b.AdmitRule(now, c, est, leaky.RetrySlots)
		if want.Allowed != allowed {
			t.Fatalf("reference Admit(%s, %v) = %+v", key, est, want)
		}
		return func() {
			t.Helper()
			d, err := l.Admit(ctx, key, c, est)
			if err != nil || (d.Reservation != nil) != d.Allowed {
				t.Fatalf("Admit(%s, %v) = %+v, %v", key, est, d, err)
			}
			if d.Reservation = nil; d != want {
				t.Fatalf("Admit(%s, %v) = %+v, %v; want %+v", key, est, d, err, want)
			}
		}
	}

	// One minute of level: the key lives a minute plus the idle TTL.
	var level leaky.Bucket
	call := admit(&level, "level", 60_000, 60_000, true)
	if w := wantTTL(level, 60_000); w != time.Minute+idle {
		t.Fatalf("TTL rule gives %v", w)
	}
	checkTTL("level", wantTTL(level, 60_000), call)

	// Three calls rejected with 30 s estimates get slots at the opening
	// (10 ms away), 30 s later and 60 s later (the spread's limit): the last
	// ends 90 s out, long after the level has drained.
	var slots leaky.Bucket
	admit(&slots, "slots", 60_000, 60_010, true)()
	admit(&slots, "slots", 60_000, 30_000, false)()
	admit(&slots, "slots", 60_000, 30_000, false)()
	call = admit(&slots, "slots", 60_000, 30_000, false)
	if w := wantTTL(slots, 60_000); w < 91*time.Second {
		t.Fatalf("TTL rule gives %v, want past the 90 s of slots plus 1 s", w)
	}
	checkTTL("slots", wantTTL(slots, 60_000), call)

	// 80 s later the level has drained but the last slot is 10 s ahead: a
	// write keeps the key until then, plus the idle TTL.
	now = now.Add(80 * time.Second)
	slots.Settle(now, 60_000, 1)
	if w := wantTTL(slots, 60_000); w < 11*time.Second {
		t.Fatalf("TTL rule gives %v with the last slot 10 s ahead", w)
	}
	checkTTL("slots", wantTTL(slots, 60_000), func() {
		if err := l.Correct(ctx, "slots", 60_000, 1); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestIdleKeysExpire lets Redis expire a drained bucket on its own clock.
func TestIdleKeysExpire(t *testing.T) {
	ctx := context.Background()
	l, client := newTestLimiter(t, Options{IdleTTL: 50 * time.Millisecond})
	if _, err := l.Admit(ctx, "a", 60_000, 20); err != nil { // 20 ms of drain
		t.Fatal(err)
	}
	// A refund on an unknown key writes nothing.
	if err := l.Correct(ctx, "b", 60_000, -20); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, l.prefix+"b").Val(); n != 0 {
		t.Fatal("a refund created a key")
	}
	deadline := time.Now().Add(10 * time.Second)
	for client.Exists(ctx, l.prefix+"a").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatalf("idle key still there with TTL %v", client.PTTL(ctx, l.prefix+"a").Val())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A forgotten bucket starts empty, as if it had been kept.
	d, err := l.Admit(ctx, "a", 60_000, 30)
	if err != nil || !d.Allowed || d.Level != 30 {
		t.Fatalf("Admit after expiry = %+v, %v", d, err)
	}
}

// TestRetryAfterSearch checks the script's exact retry-after search where it
// matters: buckets days above capacity, where the closed form (l − c) ÷ c is
// a nanosecond off the first instant the drain arithmetic opens the bucket.
func TestRetryAfterSearch(t *testing.T) {
	l, _ := newTestLimiter(t, Options{})
	ctx := context.Background()
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now }

	rng := rand.New(rand.NewPCG(1, 2))
	var off, same int
	for i := 0; off < 20 || same < 20; i++ {
		c := math.Exp(rng.Float64()*30 - 5)
		level := c * (1 + rng.Float64()*math.Exp(rng.Float64()*11)) // up to 42 days of drain
		b := leaky.Bucket{Level: level, Last: now}
		want := b.RetryAfter(now, c)
		closed := time.Duration(math.Max(1, math.Ceil((level-c)/c*float64(time.Minute))))
		if want != closed {
			off++
		} else if same++; same > 20 {
			continue
		}
		key := "k" + strconv.Itoa(i)
		if err := l.Correct(ctx, key, c, level); err != nil { // a new key holds exactly the charge
			t.Fatal(err)
		}
		d, err := l.Admit(ctx, key, c, 0)
		if err != nil || d.Allowed || d.Level != level || !sameDuration(d.RetryAfter, want) {
			t.Fatalf("capacity %v level %v: Admit = %+v, %v; want retry-after %v (closed form %v)", c, level, d, err, want, closed)
		}
	}
}

// TestSettleQueue has 32 callers settle 50 calls each on 10 keys at once,
// with the flusher running: every correction lands (none lost, none doubled),
// this limiter's own reads see them, and the flusher stops when it is done.
func TestSettleQueue(t *testing.T) {
	ctx := context.Background()
	l, _ := newTestLimiter(t, Options{})
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now } // a stopped clock: nothing drains
	const capacity, callers, calls = 1e9, 32, 50
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range calls {
				k := "k" + strconv.Itoa((g+i)%10)
				d, err := l.Admit(ctx, k, capacity, 1000)
				if err != nil || !d.Allowed {
					t.Errorf("Admit = %+v, %v", d, err)
					return
				}
				if err := d.Reservation.Settle(ctx, 750); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Each key: 160 calls of 1,000 tokens, each refunded 250.
	for i := range 10 {
		u, err := l.Utilization(ctx, "k"+strconv.Itoa(i), capacity)
		if err != nil {
			t.Fatal(err)
		}
		if want := 160 * 750 / capacity * 100; u != want {
			t.Fatalf("k%d: utilization %v%%, want %v%%", i, u, want)
		}
	}
	select {
	case <-l.settles.idleChan():
	case <-time.After(10 * time.Second):
		t.Fatal("the flusher did not stop")
	}
	if s := l.Stats(); s.DroppedSettles != 0 || s.RedisErrors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestAdmitPipeline has 64 callers admit and settle at once, some admits
// with contexts that end while they are queued or on their way: every admit
// that returns a decision counts once in the bucket, every settle lands once
// (those carried by an admit that was never sent go back in the queue), the
// callers that gave up get their context's error, and the pipeline is left
// idle, ready for the next call.
func TestAdmitPipeline(t *testing.T) {
	ctx := context.Background()
	l, _ := newTestLimiter(t, Options{})
	now := time.UnixMicro(time.Now().UnixMicro())
	l.scriptNow = func() time.Time { return now } // a stopped clock: nothing drains
	l.settles.manual = true                       // settles wait for the next admit: most admits carry one
	// Admits are small against refunds, so that a lost refund shows past the
	// uncertainty of the abandoned admits.
	const capacity, callers, calls, base, est, refund = 1e12, 64, 40, 5000.0, 1.0 / 1024, 1.0
	if _, err := l.Admit(ctx, "dep", capacity, base); err != nil { // the refunds never empty it
		t.Fatal(err)
	}
	var decided, cancelled atomic.Int64
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range calls {
				cctx, cancel := ctx, context.CancelFunc(func() {})
				if (g+i)%3 == 0 {
					cctx, cancel = context.WithTimeout(ctx, time.Duration((g*i)%300)*time.Microsecond)
				}
				d, err := l.Admit(cctx, "dep", capacity, est)
				cancel()
				switch {
				case err == nil && d.Allowed:
					decided.Add(1)
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
				default:
					t.Errorf("Admit = %+v, %v", d, err)
				}
				if err := l.Correct(ctx, "dep", capacity, -refund); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l.admits.mu.Lock()
	leaders, queued := l.admits.leaders, len(l.admits.queue)
	l.admits.mu.Unlock()
	if leaders != 0 || queued != 0 {
		t.Fatalf("pipeline left with %d leaders and %d queued", leaders, queued)
	}
	d, err := l.Admit(ctx, "dep", capacity, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Admits whose caller gave up may or may not have run; every refund did.
	refunds := float64(callers*calls) * refund
	if got, lo, hi := d.Level, base+float64(decided.Load())*est-refunds, base+float64(decided.Load()+cancelled.Load())*est-refunds; got < lo || got > hi {
		t.Fatalf("level %v after %d decided and %d abandoned admits and %v tokens refunded, want %v to %v", got, decided.Load(), cancelled.Load(), refunds, lo, hi)
	}
	if s := l.Stats(); s.DroppedSettles != 0 || s.RedisErrors != 0 {
		t.Fatalf("stats %+v", s)
	}
	if decided.Load() == 0 || cancelled.Load() == 0 {
		t.Fatalf("%d decided, %d abandoned: the test did not reach both", decided.Load(), cancelled.Load())
	}
}
