package leaky

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzBucket drives a bucket with arbitrary sequences of operations, times
// (including a clock that steps back), capacities, estimates and deltas, and
// checks the invariants: the level is never negative, NaN or infinite;
// utilization is never NaN; a rejection always has a positive retry-after; an
// admission happens only below 100 %; under either retry-after rule.
func FuzzBucket(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte{1}, math.Float64bits(1e300)), math.Float64bits(math.Inf(1))))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte{2}, math.Float64bits(math.NaN())), math.Float64bits(-1e308)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Bucket
		now := simStart
		for len(data) >= 17 {
			op := data[0]
			x := math.Float64frombits(binary.LittleEndian.Uint64(data[1:9]))
			y := math.Float64frombits(binary.LittleEndian.Uint64(data[9:17]))
			data = data[17:]
			// Capacity from x: sometimes invalid, usually a plausible size.
			c := x
			if op&0x80 == 0 {
				c = 1 + math.Mod(math.Abs(x), 1e9)
			}
			step := time.Duration(int64(op&0x0f)-3) * time.Duration(math.Pow(10, float64(op>>4&0x7)))
			now = now.Add(step)
			before := b.LevelAt(now, c)
			switch op % 3 {
			case 0:
				rule := RetryExact // the op's bit 0x08 picks the rule
				if op&0x08 != 0 {
					rule = RetrySlots
				}
				d := b.AdmitRule(now, c, y, rule)
				if d.Allowed && !(before < c) {
					t.Fatalf("admitted at level %v, capacity %v", before, c)
				}
				if !d.Allowed && d.RetryAfter <= 0 {
					t.Fatalf("rejected with retry-after %v (level %v, capacity %v)", d.RetryAfter, before, c)
				}
				if d.Allowed && d.RetryAfter != 0 {
					t.Fatalf("admitted with retry-after %v", d.RetryAfter)
				}
				if math.IsNaN(d.Utilization) || math.IsNaN(d.Level) {
					t.Fatalf("NaN in decision %+v", d)
				}
			case 1:
				b.Settle(now, c, y)
			case 2:
				if u := b.Utilization(now, c); math.IsNaN(u) || u < 0 {
					t.Fatalf("utilization %v", u)
				}
				if r := b.RetryAfter(now, c); r < 0 {
					t.Fatalf("retry-after %v", r)
				}
			}
			if !(b.Level >= 0) || math.IsInf(b.Level, 0) {
				t.Fatalf("level %v after op %d", b.Level, op)
			}
		}
	})
}
