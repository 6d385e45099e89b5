package billing

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Integer arithmetic for money: products are taken in 128 bits, so PTU-minutes
// times prices never overflow before the division that brings them back to
// micro-dollars. Arguments are non-negative and divisors positive.

// mulDiv returns a×b/c rounded half up.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(c)/2, 0)
	q, _ := bits.Div64(hi+carry, lo, uint64(c))
	return int64(q)
}

// mulDivFloor returns a×b/c rounded down.
func mulDivFloor(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// apportion splits total into whole parts proportional to weights, by
// largest remainders (ties go to the earlier weight). The parts sum to total
// when some weight is positive, and no part exceeds total×weight/sum rounded
// up; with every weight 0 all parts are 0.
func apportion(total int64, weights []int64) []int64 {
	out := make([]int64, len(weights))
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if sum == 0 || total == 0 {
		return out
	}
	rems := make([]uint64, len(weights))
	left := total
	for i, w := range weights {
		hi, lo := bits.Mul64(uint64(total), uint64(w))
		q, r := bits.Div64(hi, lo, uint64(sum))
		out[i], rems[i] = int64(q), r
		left -= int64(q)
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		switch {
		case rems[i] > rems[j]:
			return -1
		case rems[i] < rems[j]:
			return 1
		}
		return 0
	})
	for k := 0; k < int(left); k++ {
		out[order[k]]++
	}
	return out
}

// FormatUSD formats micro-dollars as dollars rounded half up to the cent,
// with thousands separators: 146000000000 is "$146,000.00".
func FormatUSD(micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	cents := (micros + 5_000) / 10_000
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), cents%100)
}
