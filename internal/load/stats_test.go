package load

import (
	"math"
	"testing"
)

// TestPercentile checks numpy.percentile's default interpolation.
func TestPercentile(t *testing.T) {
	tests := []struct {
		v    []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 95, 3.85},        // numpy.percentile([1,2,3,4], 95)
		{[]float64{4, 1, 3, 2}, 50, 2.5},         // order does not matter
		{[]float64{10, 20}, 95, 19.5},            // two samples, the fewest a 95th needs
		{[]float64{0.5, 0.25, 1, 2, 8}, 90, 5.6}, // rank 3.6 between 2 and 8
		{[]float64{7}, 99, 7},
	}
	for _, tt := range tests {
		if got := Percentile(append([]float64(nil), tt.v...), tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.v, tt.p, got, tt.want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("the percentile of nothing is a number")
	}
}

func TestDistOf(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	d := DistOf(v)
	if want := (Dist{N: 5, Min: 1, Avg: 3, P50: 3, P90: 4.6, P99: 4.96, Max: 5}); math.Abs(d.P90-want.P90) > 1e-12 ||
		math.Abs(d.P99-want.P99) > 1e-12 || d.N != want.N || d.Min != want.Min || d.Avg != want.Avg || d.P50 != want.P50 || d.Max != want.Max {
		t.Errorf("DistOf = %+v, want %+v", d, want)
	}
	if v[0] != 5 || v[1] != 1 {
		t.Errorf("DistOf reordered its input: %v", v)
	}
	if (DistOf(nil) != Dist{}) {
		t.Error("the summary of nothing is not zero")
	}
}
