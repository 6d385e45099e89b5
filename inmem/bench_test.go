package inmem

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkAdmitParallel measures Admit from parallel callers over 100
// deployments on the wall clock.
func BenchmarkAdmitParallel(b *testing.B) {
	l := New(nil)
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct/deployments/dep-" + strconv.Itoa(i)
	}
	ctx := context.Background()
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			if _, err := l.Admit(ctx, keys[i%len(keys)], 750_000, 2000); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkAdmitSettleParallel adds the settle every admitted call makes.
func BenchmarkAdmitSettleParallel(b *testing.B) {
	l := New(nil)
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "dep-" + strconv.Itoa(i)
	}
	ctx := context.Background()
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			k := keys[i%len(keys)]
			d, err := l.Admit(ctx, k, 750_000, 2000)
			if err != nil {
				b.Error(err)
			}
			if d.Allowed {
				_ = d.Reservation.Settle(ctx, 1500)
			}
		}
	})
}

// BenchmarkAdmitSettleAdmitted is one caller whose every call is admitted
// and settled: the path that carries a reservation (the parallel
// benchmarks' buckets are full most of the time, and refused calls hold
// none).
func BenchmarkAdmitSettleAdmitted(b *testing.B) {
	l := New(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := l.Admit(ctx, "dep", 1e15, 2000)
		if err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
		if err := d.Reservation.Settle(ctx, 1500); err != nil {
			b.Fatal(err)
		}
	}
}
