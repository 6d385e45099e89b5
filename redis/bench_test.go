package redis

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// latencies collects the duration of every operation of a benchmark and
// reports their 50th and 99th percentiles.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	at := func(q float64) float64 { return float64(l.all[int(q*float64(len(l.all)-1))]) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// benchKeys are 100 deployments' keys, as the gateway names them.
func benchKeys() []string {
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct/deployments/dep-" + strconv.Itoa(i)
	}
	return keys
}

// capacity large enough that every call is admitted, as in normal operation.
const benchCapacity = 1e12

// BenchmarkAdmitRedis measures Admit from 8 callers per CPU over 100
// deployments on the test Redis, as a gateway serving many calls at once
// would, and the latency of each call.
func BenchmarkAdmitRedis(b *testing.B) {
	l, _ := newTestLimiter(b, Options{})
	keys := benchKeys()
	ctx := context.Background()
	if _, err := l.Admit(ctx, keys[0], benchCapacity, 2000); err != nil { // loads the script
		b.Fatal(err)
	}
	var lat latencies
	var next atomic.Uint32
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			i++
			start := time.Now()
			if _, err := l.Admit(ctx, keys[i%len(keys)], benchCapacity, 2000); err != nil {
				b.Error(err)
			}
			mine = append(mine, time.Since(start))
		}
		lat.add(mine)
	})
	b.StopTimer()
	lat.report(b)
}

// BenchmarkAdmitRedisSerial measures one caller's Admit: the round trip
// and script alone, without queueing behind other calls.
func BenchmarkAdmitRedisSerial(b *testing.B) {
	l, _ := newTestLimiter(b, Options{})
	keys := benchKeys()
	ctx := context.Background()
	if _, err := l.Admit(ctx, keys[0], benchCapacity, 2000); err != nil {
		b.Fatal(err)
	}
	var lat latencies
	mine := make([]time.Duration, 0, 1024)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		start := time.Now()
		if _, err := l.Admit(ctx, keys[i%len(keys)], benchCapacity, 2000); err != nil {
			b.Fatal(err)
		}
		mine = append(mine, time.Since(start))
	}
	lat.add(mine)
	lat.report(b)
}

// BenchmarkAdmitSettleRedis adds the settle every admitted call makes, the
// limiter's whole cost per inference call, from 8 callers per CPU.
func BenchmarkAdmitSettleRedis(b *testing.B) {
	l, _ := newTestLimiter(b, Options{})
	keys := benchKeys()
	ctx := context.Background()
	if err := l.Settle(ctx, keys[0], benchCapacity, 1); err != nil {
		b.Fatal(err)
	}
	var next atomic.Uint32
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			k := keys[i%len(keys)]
			d, err := l.Admit(ctx, k, benchCapacity, 2000)
			if err != nil {
				b.Error(err)
			}
			if d.Allowed {
				if err := l.Settle(ctx, k, benchCapacity, -500); err != nil {
					b.Error(err)
				}
			}
		}
	})
}

// BenchmarkPingRedis is one PING from one caller: the round trip any
// Redis-backed admission pays before its script runs, for comparison.
func BenchmarkPingRedis(b *testing.B) {
	c := testClient(b)
	ctx := context.Background()
	var lat latencies
	mine := make([]time.Duration, 0, 1024)
	for b.Loop() {
		start := time.Now()
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		mine = append(mine, time.Since(start))
	}
	lat.add(mine)
	lat.report(b)
}
