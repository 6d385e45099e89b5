package tokens

import (
	"math"
	"testing"
)

func TestEstimate(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		prompt, cached, maxOutput int
		weight                    float64
		want                      float64
	}{
		{"prompt only", 1000, 0, 0, 4, 1000},
		{"prompt and output", 1000, 0, 500, 4, 3000},
		// MS sizing example: 200 in, 20 out, ratio 8 → 360 per call (360k at 1,000 RPM).
		{"sizing guide example", 200, 0, 20, 8, 360},
		{"cached tokens are free", 2000, 1920, 100, 4, 80 + 400},
		{"fractional weight", 100, 0, 3, 2.5, 107.5},
		{"cached above prompt is capped", 100, 500, 10, 1, 10},
		{"negative inputs count as zero", -5, -5, -5, 4, 0},
		{"negative weight counts as zero", 100, 0, 50, -1, 100},
		{"NaN weight counts as zero", 100, 0, 50, math.NaN(), 100},
	} {
		if got := Estimate(tc.prompt, tc.cached, tc.maxOutput, tc.weight); got != tc.want {
			t.Errorf("%s: Estimate(%d, %d, %d, %v) = %v, want %v", tc.name, tc.prompt, tc.cached, tc.maxOutput, tc.weight, got, tc.want)
		}
	}
}

func TestDefaultMaxOutput(t *testing.T) {
	for _, tc := range []struct {
		name                            string
		modelMax, context, prompt, want int
	}{
		{"nothing known", 0, 0, 1000, MaxOutputWhenUnset},
		{"model allows more", 16384, 128000, 1000, MaxOutputWhenUnset},
		{"model allows less", 2048, 128000, 1000, 2048},
		{"context nearly full", 16384, 8192, 6000, 2192},
		{"context full", 16384, 8192, 8192, 0},
		{"prompt over context", 16384, 8192, 9000, 0},
		{"unknown context", 1000, 0, 1 << 20, 1000},
	} {
		if got := DefaultMaxOutput(tc.modelMax, tc.context, tc.prompt); got != tc.want {
			t.Errorf("%s: DefaultMaxOutput(%d, %d, %d) = %d, want %d", tc.name, tc.modelMax, tc.context, tc.prompt, got, tc.want)
		}
	}
}
