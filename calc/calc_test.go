package calc_test

import (
	"errors"
	"math"
	"testing"

	"github.com/ptu-dev/ptu/calc"
	"github.com/ptu-dev/ptu/catalog"
)

// TestWorkedExamples reproduces the examples of Azure's sizing guide
// (gpt-5.2: 3,400 input TPM per PTU, output weight 8). gpt-5.2 is not in the
// catalog, so the numbers are given directly.
func TestWorkedExamples(t *testing.T) {
	gpt52 := calc.Rates{InputTPMPerPTU: 3400, OutputWeight: 8}
	tests := []struct {
		name          string
		w             calc.Workload
		minimum, step int
		normalized    float64
		raw           float64
		deployable    int
	}{
		{"data zone, no cache", calc.Workload{RequestsPerMinute: 1000, PromptTokens: 200, CompletionTokens: 20},
			15, 5, 360_000, 105.88, 110},
		{"data zone, 50% cache", calc.Workload{RequestsPerMinute: 1000, PromptTokens: 200, CompletionTokens: 20, CacheRate: 0.5},
			15, 5, 260_000, 76.47, 80},
		{"regional", calc.Workload{RequestsPerMinute: 1000, PromptTokens: 100, CompletionTokens: 50},
			50, 50, 500_000, 147.06, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, _, err := gpt52.Sum([]calc.Workload{tt.w})
			if err != nil {
				t.Fatal(err)
			}
			if total.NormalizedTPM != tt.normalized {
				t.Errorf("normalized TPM %v, want %v", total.NormalizedTPM, tt.normalized)
			}
			if got := math.Round(total.PTU*100) / 100; got != tt.raw {
				t.Errorf("raw PTU %v (%.2f), want %.2f", total.PTU, got, tt.raw)
			}
			if got := calc.Deployable(total.PTU, tt.minimum, tt.step); got != tt.deployable {
				t.Errorf("deployable %d, want %d", got, tt.deployable)
			}
		})
	}
}

func TestDeployable(t *testing.T) {
	tests := []struct {
		raw           float64
		minimum, step int
		want          int
	}{
		{0, 15, 5, 15},          // nothing to serve still needs the smallest deployment
		{3.2, 15, 5, 15},        // below the minimum
		{15, 15, 5, 15},         // exactly the minimum
		{15.0000001, 15, 5, 20}, // a little over takes a step
		{110, 15, 5, 110},       // exact multiple
		{110.00000000001, 15, 5, 110},
		{51, 50, 50, 100},
		{99.9, 25, 25, 100},
		{346, 100, 100, 400}, // the REST spec example's numbers
	}
	for _, tt := range tests {
		if got := calc.Deployable(tt.raw, tt.minimum, tt.step); got != tt.want {
			t.Errorf("Deployable(%v, %d, %d) = %d, want %d", tt.raw, tt.minimum, tt.step, got, tt.want)
		}
	}
}

func TestWorkloadsAdd(t *testing.T) {
	r := calc.Rates{InputTPMPerPTU: 2500, OutputWeight: 4}
	ws := []calc.Workload{
		{RequestsPerMinute: 45, PromptTokens: 1000, CompletionTokens: 200},                // chat
		{RequestsPerMinute: 7, PromptTokens: 7000, CompletionTokens: 150},                 // summarization
		{RequestsPerMinute: 24, PromptTokens: 7000, CompletionTokens: 1, CacheRate: 0.25}, // classification
	}
	total, each, err := r.Sum(ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(each) != 3 {
		t.Fatalf("%d shares, want 3", len(each))
	}
	// 45×1000 + 4×45×200 = 81,000; 7×7000 + 4×7×150 = 53,200; 24×7000×0.75 + 4×24 = 126,096.
	wants := []float64{81_000, 53_200, 126_096}
	sum := 0.0
	for i, e := range each {
		if e.NormalizedTPM != wants[i] {
			t.Errorf("workload %d: normalized %v, want %v", i, e.NormalizedTPM, wants[i])
		}
		sum += e.NormalizedTPM
	}
	if total.NormalizedTPM != sum || total.PTU != sum/2500 {
		t.Errorf("total %+v, want normalized %v and PTU %v", total, sum, sum/2500)
	}
	if total.CachedTPM != 24*7000*0.25 {
		t.Errorf("cached TPM %v", total.CachedTPM)
	}
}

func TestForModelPrices(t *testing.T) {
	m, ok := catalog.Default().Lookup("gpt-4o", "2024-11-20")
	if !ok {
		t.Fatal("gpt-4o 2024-11-20 not in the catalog")
	}
	s, err := calc.ForModel(m, []calc.Workload{{RequestsPerMinute: 1000, PromptTokens: 200, CompletionTokens: 20}})
	if err != nil {
		t.Fatal(err)
	}
	// 200,000 + 4 × 20,000 = 280,000 normalized TPM; ÷ 2,500 = 112 PTU.
	if s.Total.PTU != 112 {
		t.Fatalf("raw PTU %v, want 112", s.Total.PTU)
	}
	want := []calc.Option{
		{SKUName: "GlobalProvisionedManaged", Minimum: 15, Step: 5, PTU: 115, PricePerPTUHourMicros: 1_000_000,
			HourlyMicros: 115_000_000, MonthlyMicros: 115_000_000 * 730},
		{SKUName: "DataZoneProvisionedManaged", Minimum: 15, Step: 5, PTU: 115, PricePerPTUHourMicros: 1_100_000,
			HourlyMicros: 126_500_000, MonthlyMicros: 126_500_000 * 730},
		{SKUName: "ProvisionedManaged", Minimum: 50, Step: 50, PTU: 150, PricePerPTUHourMicros: 2_000_000,
			HourlyMicros: 300_000_000, MonthlyMicros: 300_000_000 * 730},
	}
	if len(s.Options) != len(want) {
		t.Fatalf("options %+v", s.Options)
	}
	for i := range want {
		if s.Options[i] != want[i] {
			t.Errorf("option %d: %+v\nwant %+v", i, s.Options[i], want[i])
		}
	}
	if o, ok := s.Option("provisionedmanaged"); !ok || o.PTU != 150 {
		t.Errorf("Option(provisionedmanaged) = %+v, %v", o, ok)
	}
	// The first gpt-4o release is sold as Regional only.
	old, _ := catalog.Default().Lookup("gpt-4o", "2024-05-13")
	s, err = calc.ForModel(old, []calc.Workload{{RequestsPerMinute: 1, PromptTokens: 1, CompletionTokens: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Options) != 1 || s.Options[0].SKUName != "ProvisionedManaged" || s.Options[0].PTU != 50 {
		t.Errorf("gpt-4o 2024-05-13 options %+v, want Regional 50", s.Options)
	}
}

func TestInvalidWorkloads(t *testing.T) {
	r := calc.Rates{InputTPMPerPTU: 2500, OutputWeight: 4}
	if _, _, err := r.Sum(nil); !errors.Is(err, calc.ErrNoWorkloads) {
		t.Errorf("no workloads: %v", err)
	}
	ok := calc.Workload{RequestsPerMinute: 1, PromptTokens: 1, CompletionTokens: 1}
	tests := []struct {
		w     calc.Workload
		field calc.Field
	}{
		{calc.Workload{RequestsPerMinute: -1, PromptTokens: 1}, calc.FieldRequestsPerMinute},
		{calc.Workload{RequestsPerMinute: 1, PromptTokens: math.NaN()}, calc.FieldPromptTokens},
		{calc.Workload{RequestsPerMinute: 1, CompletionTokens: math.Inf(1)}, calc.FieldCompletionTokens},
		{calc.Workload{RequestsPerMinute: 1, CacheRate: 1.5}, calc.FieldCacheRate},
		{calc.Workload{RequestsPerMinute: 1, CacheRate: -0.1}, calc.FieldCacheRate},
	}
	for _, tt := range tests {
		_, _, err := r.Sum([]calc.Workload{ok, tt.w})
		var we *calc.WorkloadError
		if !errors.As(err, &we) || we.Field != tt.field || we.Index != 1 {
			t.Errorf("%+v: error %v, want a WorkloadError on %s of workload 1", tt.w, err, tt.field)
		}
	}
	if _, _, err := (calc.Rates{}).Sum([]calc.Workload{ok}); err == nil {
		t.Error("zero rates accepted")
	}
}
