package leaky

import (
	"testing"
	"time"
)

// BenchmarkAdmit measures one admission and its settle on a bucket kept at
// about 80 % of capacity, so every call is admitted.
func BenchmarkAdmit(b *testing.B) {
	var bucket Bucket
	now := simStart
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(200 * time.Millisecond) // 2,000 tokens per 200 ms: 80 % of 750,000 per minute
		if d := bucket.Admit(now, gpt4o300, 2500); d.Allowed {
			bucket.Settle(now, gpt4o300, -500)
		} else {
			b.Fatal("rejected")
		}
	}
}

// BenchmarkAdmitRejected measures the rejection path, which computes the
// exact retry-after (the default rule).
func BenchmarkAdmitRejected(b *testing.B) {
	bucket := Bucket{Level: 10 * gpt4o300, Last: simStart}
	now := simStart
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		bucket.Admit(now, gpt4o300, 2000)
	}
}
