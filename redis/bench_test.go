package redis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// cpuMeter reports the CPU a benchmark used per operation: this process's
// (the limiter and its go-redis client) and redis-server's, read from INFO
// cpu. Redis shares the machine in these benchmarks, so its CPU is part of
// what one admission costs.
type cpuMeter struct {
	client      *goredis.Client
	self, redis time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func serverCPU(tb testing.TB, c *goredis.Client) time.Duration {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("INFO cpu %s: %v", k, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

func startCPU(b *testing.B, c *goredis.Client) *cpuMeter {
	return &cpuMeter{client: c, self: processCPU(), redis: serverCPU(b, c)}
}

func (m *cpuMeter) report(b *testing.B) {
	self, redis := processCPU()-m.self, serverCPU(b, m.client)-m.redis
	b.ReportMetric(float64(self.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(redis.Microseconds())/float64(b.N), "redis-cpu-µs/op")
}

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
	l, client := newTestLimiter(b, Options{})
	keys := benchKeys()
	ctx := context.Background()
	if err := l.Correct(ctx, keys[0], benchCapacity, 1); err != nil {
		b.Fatal(err)
	}
	var next atomic.Uint32
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b, client)
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
				if err := d.Reservation.Settle(ctx, 1500); err != nil {
					b.Error(err)
				}
			}
		}
	})
	b.StopTimer()
	cpu.report(b)
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
