package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
)

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Models {
		gl, hasGL := m.SKU(ptu.GlobalProvisionedManaged)
		dz, hasDZ := m.SKU(ptu.DataZoneProvisionedManaged)
		if hasGL != hasDZ || hasGL && (gl.Minimum != dz.Minimum || gl.Step != dz.Step) {
			t.Errorf("%s %s: Global and Data Zone provisioned must share one minimum and step", m.Name, m.Version)
		}
		if m.Notes == "" {
			t.Errorf("%s %s: notes should cite a source", m.Name, m.Version)
		}
		for _, s := range m.SKUs {
			if s.Provisioned() && (s.Maximum != DefaultMaximum || s.Default != s.Minimum) {
				t.Errorf("%s %s %s: maximum %d default %d, want %d and the minimum", m.Name, m.Version, s.Name, s.Maximum, s.Default, DefaultMaximum)
			}
		}
	}
}

func TestDefaultReturnsCopies(t *testing.T) {
	a := Default()
	a.Models[0].Name = "changed"
	a.Models[1].SKUs[0].Minimum = 999
	b := Default()
	if b.Models[0].Name == "changed" || b.Models[1].SKUs[0].Minimum == 999 {
		t.Fatal("Default shares state between calls")
	}
}

func TestDefaultContent(t *testing.T) {
	type sizes struct{ glMin, glStep, rgMin, rgStep int }
	tests := []struct {
		name, version string
		isDefault     bool
		tokenizer     string
		tpm           int
		weight        float64
		context, out  int
		tps           float64
		sizes         sizes // zero glMin: no Global/Data Zone provisioned
		assumed       bool
	}{
		{"gpt-4o", "2024-05-13", false, O200kBase, 2500, 4, 128000, 4096, 25, sizes{0, 0, 50, 50}, false},
		{"gpt-4o", "2024-08-06", false, O200kBase, 2500, 4, 128000, 16384, 25, sizes{15, 5, 50, 50}, false},
		{"gpt-4o", "2024-11-20", true, O200kBase, 2500, 4, 128000, 16384, 25, sizes{15, 5, 50, 50}, false},
		{"gpt-4o-mini", "2024-07-18", true, O200kBase, 37000, 4, 128000, 16384, 33, sizes{15, 5, 25, 25}, false},
		{"gpt-4.1", "2025-04-14", true, O200kBase, 3000, 4, 128000, 32768, 80, sizes{15, 5, 50, 50}, false},
		{"gpt-4.1-mini", "2025-04-14", true, O200kBase, 14900, 4, 128000, 32768, 90, sizes{15, 5, 25, 25}, false},
		{"gpt-4.1-nano", "2025-04-14", true, O200kBase, 59400, 4, 128000, 32768, 100, sizes{15, 5, 25, 25}, false},
		{"o1", "2024-12-17", true, O200kBase, 230, 4, 200000, 100000, 25, sizes{15, 5, 50, 50}, false},
		{"o3-mini", "2025-01-31", true, O200kBase, 2500, 4, 200000, 100000, 66, sizes{15, 5, 25, 25}, false},
		{"o4-mini", "2025-04-16", true, O200kBase, 5400, 4, 200000, 100000, 90, sizes{15, 5, 25, 25}, false},
		{"gpt-5-mini", "2025-08-07", true, O200kBase, 23750, 8, 400000, 128000, 80, sizes{15, 5, 25, 25}, false},
		{"gpt-4", "0613", true, Cl100kBase, 1000, 2, 8192, 4096, 20, sizes{0, 0, 100, 100}, true},
	}
	c := Default()
	if len(c.Models) != len(tests) {
		t.Errorf("catalog has %d models, the table %d", len(c.Models), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.version, func(t *testing.T) {
			m, ok := c.Lookup(tt.name, tt.version)
			if !ok {
				t.Fatal("missing")
			}
			if m.IsDefaultVersion != tt.isDefault || m.Tokenizer != tt.tokenizer || m.InputTPMPerPTU != tt.tpm ||
				m.OutputWeight != tt.weight || m.ContextWindow != tt.context || m.MaxOutputTokens != tt.out ||
				m.LatencyTargetTPS != tt.tps || m.Assumed != tt.assumed {
				t.Errorf("got default=%v %s tpm=%d weight=%g ctx=%d out=%d tps=%g assumed=%v",
					m.IsDefaultVersion, m.Tokenizer, m.InputTPMPerPTU, m.OutputWeight, m.ContextWindow, m.MaxOutputTokens, m.LatencyTargetTPS, m.Assumed)
			}
			rg, ok := m.SKU(ptu.ProvisionedManaged)
			if !ok || rg.Minimum != tt.sizes.rgMin || rg.Step != tt.sizes.rgStep || rg.PricePerPTUHourMicros != 2_000_000 {
				t.Errorf("ProvisionedManaged = %+v", rg)
			}
			gl, ok := m.SKU(ptu.GlobalProvisionedManaged)
			if tt.sizes.glMin == 0 {
				if ok {
					t.Errorf("unexpected GlobalProvisionedManaged")
				}
			} else if !ok || gl.Minimum != tt.sizes.glMin || gl.Step != tt.sizes.glStep || gl.PricePerPTUHourMicros != 1_000_000 {
				t.Errorf("GlobalProvisionedManaged = %+v", gl)
			}
			if dz, ok := m.SKU(ptu.DataZoneProvisionedManaged); ok && dz.PricePerPTUHourMicros != 1_100_000 {
				t.Errorf("DataZoneProvisionedManaged price = %d", dz.PricePerPTUHourMicros)
			}
			st, ok := m.SKU(ptu.Standard)
			if !ok || st.UsageName != "OpenAI.Standard."+tt.name || st.Minimum != 1 || st.Step != 1 || st.Maximum != 10000 {
				t.Errorf("Standard = %+v", st)
			}
		})
	}
}

func TestStandardPrices(t *testing.T) {
	tests := []struct {
		name, version       string
		in, cached, out     int64
		effectiveCachedRate int64
	}{
		{"gpt-4o", "2024-11-20", 2_500_000, 1_250_000, 10_000_000, 1_250_000},
		{"gpt-4o-mini", "", 150_000, 75_000, 600_000, 75_000},
		{"gpt-4.1", "", 2_000_000, 500_000, 8_000_000, 500_000},
		{"gpt-4.1-mini", "", 400_000, 100_000, 1_600_000, 100_000},
		{"gpt-4.1-nano", "", 100_000, 25_000, 400_000, 25_000},
		{"o3-mini", "", 1_100_000, 550_000, 4_400_000, 550_000},
		{"o4-mini", "", 1_100_000, 275_000, 4_400_000, 275_000},
		{"o1", "", 15_000_000, 7_500_000, 60_000_000, 7_500_000},
		{"gpt-5-mini", "", 250_000, 25_000, 2_000_000, 25_000},
		{"gpt-4", "0613", 30_000_000, 0, 60_000_000, 30_000_000},
	}
	c := Default()
	for _, tt := range tests {
		m, ok := c.Lookup(tt.name, tt.version)
		if !ok {
			t.Fatalf("%s %s missing", tt.name, tt.version)
		}
		s, _ := m.SKU(ptu.Standard)
		if s.InputPer1MMicros != tt.in || s.CachedInputPer1MMicros != tt.cached || s.OutputPer1MMicros != tt.out {
			t.Errorf("%s: prices %d/%d/%d, want %d/%d/%d", tt.name, s.InputPer1MMicros, s.CachedInputPer1MMicros, s.OutputPer1MMicros, tt.in, tt.cached, tt.out)
		}
		if got := s.CachedInputPrice(); got != tt.effectiveCachedRate {
			t.Errorf("%s: CachedInputPrice = %d, want %d", tt.name, got, tt.effectiveCachedRate)
		}
	}
}

func TestLookup(t *testing.T) {
	c := Default()
	tests := []struct {
		name, version string
		wantVersion   string // "" means not found
	}{
		{"gpt-4o", "", "2024-11-20"},
		{"GPT-4o", "", "2024-11-20"},
		{"gpt-4o", "2024-08-06", "2024-08-06"},
		{"GPT-4", "0613", "0613"},
		{"gpt-4", "", "0613"},
		{"Gpt-4.1-Mini", "2025-04-14", "2025-04-14"},
		{"gpt-4o", "2023-01-01", ""},
		{"gpt-99", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		m, ok := c.Lookup(tt.name, tt.version)
		switch {
		case tt.wantVersion == "" && ok:
			t.Errorf("Lookup(%q, %q) found %s %s", tt.name, tt.version, m.Name, m.Version)
		case tt.wantVersion != "" && (!ok || m.Version != tt.wantVersion):
			t.Errorf("Lookup(%q, %q) = %v, %v; want version %s", tt.name, tt.version, m, ok, tt.wantVersion)
		}
	}
}

func TestVersions(t *testing.T) {
	c := Default()
	var got []string
	for _, m := range c.Versions("GPT-4O") {
		got = append(got, m.Version)
	}
	if want := "2024-05-13 2024-08-06 2024-11-20"; strings.Join(got, " ") != want {
		t.Errorf("Versions(GPT-4O) = %v, want %s", got, want)
	}
	if v := c.Versions("nothing"); len(v) != 0 {
		t.Errorf("Versions(nothing) = %v", v)
	}
}

func TestModelHelpers(t *testing.T) {
	c := Default()
	m, _ := c.Lookup("gpt-4o-mini", "")
	if got := m.Ref(); got != (ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o-mini", Version: "2024-07-18"}) {
		t.Errorf("Ref = %+v", got)
	}
	if got := m.TokensPerMinute(15); got != 15*37000 {
		t.Errorf("TokensPerMinute(15) = %d", got)
	}
	if _, ok := m.SKU("datazonestandard"); !ok {
		t.Error("SKU lookup is not case-insensitive")
	}
	if _, ok := m.SKU("GlobalBatch"); ok {
		t.Error("SKU(GlobalBatch) found")
	}
}

func TestCheckCapacity(t *testing.T) {
	c := Default()
	gpt4o, _ := c.Lookup("gpt-4o", "")
	global, _ := gpt4o.SKU(ptu.GlobalProvisionedManaged)
	regional, _ := gpt4o.SKU(ptu.ProvisionedManaged)
	standard, _ := gpt4o.SKU(ptu.GlobalStandard)
	tests := []struct {
		sku      *SKU
		capacity int
		wantMsg  string // "" means valid
	}{
		{global, 15, ""},
		{global, 20, ""},
		{global, 10000, ""},
		{global, 17, "The specified capacity '17' of deployment type 'GlobalProvisionedManaged' for model 'gpt-4o' must be at least 15 and a multiple of 5 (valid: 15, 20, 25, ...); the most is 10000."},
		{global, 10, "capacity '10' of deployment type 'GlobalProvisionedManaged'"},
		{global, 0, "capacity '0'"},
		{global, -5, "capacity '-5'"},
		{global, 10005, "the most is 10000"},
		{regional, 100, ""},
		{regional, 25, "must be at least 50 and a multiple of 50 (valid: 50, 100, 150, ...)"},
		{regional, 75, "capacity '75'"},
		{standard, 1, ""},
		{standard, 0, "The specified capacity '0' of deployment type 'GlobalStandard' for model 'gpt-4o' must be between 1 and 10000."},
		{standard, 10001, "must be between 1 and 10000"},
	}
	for _, tt := range tests {
		err := tt.sku.CheckCapacity(tt.capacity)
		if tt.wantMsg == "" {
			if err != nil {
				t.Errorf("%s %d: %v", tt.sku.Name, tt.capacity, err)
			}
			continue
		}
		var e *ptu.Error
		if !errors.As(err, &e) || e.Code != ptu.CodeInvalidCapacity {
			t.Errorf("%s %d: got %v, want an InvalidCapacity *ptu.Error", tt.sku.Name, tt.capacity, err)
			continue
		}
		if !strings.Contains(e.Message, tt.wantMsg) {
			t.Errorf("%s %d: message %q does not contain %q", tt.sku.Name, tt.capacity, e.Message, tt.wantMsg)
		}
	}
}

func TestDeployable(t *testing.T) {
	dz := &SKU{Name: ptu.DataZoneProvisionedManaged, Minimum: 15, Step: 5, Maximum: 10000}
	regional := &SKU{Name: ptu.ProvisionedManaged, Minimum: 50, Step: 50, Maximum: 10000}
	tests := []struct {
		sku  *SKU
		raw  float64
		want int
	}{
		{dz, 105.88, 110}, // MS docs example: gpt-5.2, 360k normalized TPM / 3,400
		{dz, 76.47, 80},   // the same with a 50% cache rate
		{dz, 110, 110},
		{dz, 110.0000000001, 110}, // float noise does not add a step
		{dz, 110.01, 115},
		{dz, 3, 15},
		{dz, 0, 15},
		{dz, -4, 15},
		{regional, 147.06, 150}, // MS docs Regional example
		{regional, 346, 350},
		{regional, 12000, 12000}, // not capped at the maximum
	}
	for _, tt := range tests {
		if got := tt.sku.Deployable(tt.raw); got != tt.want {
			t.Errorf("%s Deployable(%g) = %d, want %d", tt.sku.Name, tt.raw, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const overrideFile = `
models:
  - name: GPT-4o          # replaces the embedded entry despite the spelling
    version: "2024-08-06"
    lifecycleStatus: GenerallyAvailable
    tokenizer: o200k_base
    inputTPMPerPTU: 3_000
    outputWeight: 3
    contextWindow: 128000
    maxOutputTokens: 16384
    latencyTargetTPS: 40
    notes: measured on our own fleet
    skus:
      - {name: globalprovisionedmanaged, minimum: 10, step: 10, pricePerPTUHourMicros: 900_000}
  - name: gpt-4o
    version: "2025-01-01"
    isDefaultVersion: true
    lifecycleStatus: Preview
    tokenizer: o200k_base
    inputTPMPerPTU: 2_500
    outputWeight: 4
    contextWindow: 128000
    maxOutputTokens: 16384
    latencyTargetTPS: 25
    skus:
      - {name: ProvisionedManaged, minimum: 50, step: 50, pricePerPTUHourMicros: 2_000_000}
  - name: llama-local
    version: "1"
    isDefaultVersion: true
    lifecycleStatus: Preview
    tokenizer: cl100k_base
    inputTPMPerPTU: 8_450
    outputWeight: 4
    contextWindow: 32768
    maxOutputTokens: 4096
    latencyTargetTPS: 50
    skus:
      - {name: ProvisionedManaged, minimum: 100, step: 100, pricePerPTUHourMicros: 1_500_000}
`

func TestLoadMerges(t *testing.T) {
	c, err := Load(writeFile(t, overrideFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.Models), len(Default().Models)+2; got != want {
		t.Errorf("%d models, want %d", got, want)
	}
	m, ok := c.Lookup("gpt-4o", "2024-08-06")
	if !ok || m.InputTPMPerPTU != 3000 || len(m.SKUs) != 1 {
		t.Fatalf("replaced entry = %+v", m)
	}
	s, _ := m.SKU(ptu.GlobalProvisionedManaged)
	if s.Name != ptu.GlobalProvisionedManaged || s.UsageName != "OpenAI.GlobalProvisionedManaged" || s.Maximum != DefaultMaximum || s.Default != 10 {
		t.Errorf("derived sku fields = %+v", s)
	}
	if m.Format != "OpenAI" {
		t.Errorf("format = %q", m.Format)
	}
	if d, _ := c.Lookup("gpt-4o", ""); d == nil || d.Version != "2025-01-01" {
		t.Errorf("default gpt-4o = %+v, want the override's 2025-01-01", d)
	}
	if n := len(c.Versions("gpt-4o")); n != 4 {
		t.Errorf("%d gpt-4o versions, want 4", n)
	}
	if _, ok := c.Lookup("LLAMA-LOCAL", ""); !ok {
		t.Error("added model not found")
	}
	if _, ok := c.Lookup("gpt-4", "0613"); !ok {
		t.Error("untouched default entry lost")
	}
}

func TestLoadEmptyPath(t *testing.T) {
	c, err := Load("")
	if err != nil || len(c.Models) != len(Default().Models) {
		t.Fatalf("Load(\"\") = %d models, %v", len(c.Models), err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "models:\n  - name: x\n    versoin: \"1\"\n", []string{"line 3", "versoin"}},
		{"wrong type", "models:\n  - name: x\n    inputTPMPerPTU: lots\n", []string{"line 3", "lots"}},
		{"invalid after merge", `
models:
  - name: gpt-4o
    version: "2024-11-20"
    isDefaultVersion: true
    lifecycleStatus: GenerallyAvailable
    tokenizer: p50k_base
    inputTPMPerPTU: 2500
    outputWeight: 4
    contextWindow: 128000
    maxOutputTokens: 16384
    latencyTargetTPS: 25
    skus:
      - {name: GlobalProvisionedManaged, minimum: 17, step: 5, pricePerPTUHourMicros: 1}
`, []string{"merged with the default catalog", "line 3: model 'gpt-4o' version '2024-11-20': tokenizer 'p50k_base'",
			"line 14: model 'gpt-4o' version '2024-11-20' sku 'GlobalProvisionedManaged': minimum 17 is not a multiple of step 5"}},
		{"duplicate entries", `
models:
  - {name: gpt-4o, version: "2024-11-20"}
  - {name: GPT-4o, version: "2024-11-20"}
`, []string{"line 4: model 'GPT-4o' version '2024-11-20': duplicate of line 3: model 'gpt-4o' version '2024-11-20'"}},
		{"new model without default version", `
models:
  - name: extra
    version: "2"
    lifecycleStatus: Preview
    tokenizer: o200k_base
    inputTPMPerPTU: 10
    outputWeight: 1
    contextWindow: 100
    maxOutputTokens: 10
    latencyTargetTPS: 5
    skus: [{name: Standard, inputPer1MMicros: 1, outputPer1MMicros: 2, minimum: 1, step: 1}]
`, []string{"model 'extra': no version is marked isDefaultVersion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.body))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// validModel is a complete model that tests break one field at a time.
func validModel() Model {
	return Model{
		Format: "OpenAI", Name: "m", Version: "1", IsDefaultVersion: true,
		LifecycleStatus: GenerallyAvailable, Tokenizer: O200kBase,
		InputTPMPerPTU: 1000, OutputWeight: 4, ContextWindow: 1000, MaxOutputTokens: 100, LatencyTargetTPS: 10,
		SKUs: []SKU{
			{Name: ptu.GlobalProvisionedManaged, UsageName: "OpenAI.GlobalProvisionedManaged", Minimum: 15, Step: 5, Maximum: 10000, Default: 15, PricePerPTUHourMicros: 1_000_000},
			{Name: ptu.Standard, UsageName: "OpenAI.Standard.m", Minimum: 1, Step: 1, Maximum: 10000, Default: 1, InputPer1MMicros: 10, CachedInputPer1MMicros: 5, OutputPer1MMicros: 40},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Catalog)
		want   string // "" means valid
	}{
		{"valid", func(c *Catalog) {}, ""},
		{"missing name", func(c *Catalog) { c.Models[0].Name = ""; c.Models[0].Version = "" }, "models[0]: name is missing"},
		{"missing version", func(c *Catalog) { c.Models[0].Version = "" }, "model 'm' version '': version is missing"},
		{"format", func(c *Catalog) { c.Models[0].Format = "Meta" }, "format 'Meta' is not supported"},
		{"lifecycle", func(c *Catalog) { c.Models[0].LifecycleStatus = "Retired" }, "lifecycleStatus 'Retired' is not GenerallyAvailable or Preview"},
		{"lifecycle missing", func(c *Catalog) { c.Models[0].LifecycleStatus = "" }, "lifecycleStatus is missing"},
		{"tokenizer", func(c *Catalog) { c.Models[0].Tokenizer = "gpt2" }, "model 'm' version '1': tokenizer 'gpt2' is not one of 'o200k_base', 'cl100k_base'"},
		{"tokenizer missing", func(c *Catalog) { c.Models[0].Tokenizer = "" }, "tokenizer is missing"},
		{"tpm", func(c *Catalog) { c.Models[0].InputTPMPerPTU = 0 }, "inputTPMPerPTU must be more than 0"},
		{"weight", func(c *Catalog) { c.Models[0].OutputWeight = -1 }, "outputWeight must be more than 0 (it is -1)"},
		{"context", func(c *Catalog) { c.Models[0].ContextWindow = 0 }, "contextWindow must be more than 0"},
		{"output over context", func(c *Catalog) { c.Models[0].MaxOutputTokens = 2000 }, "maxOutputTokens 2000 is more than contextWindow 1000"},
		{"latency", func(c *Catalog) { c.Models[0].LatencyTargetTPS = 0 }, "latencyTargetTPS must be more than 0"},
		{"no skus", func(c *Catalog) { c.Models[0].SKUs = nil }, "skus is empty"},
		{"unknown sku", func(c *Catalog) { c.Models[0].SKUs[0].Name = "Provisioned" }, "model 'm' version '1' sku 'Provisioned': unknown deployment type"},
		{"sku name missing", func(c *Catalog) { c.Models[0].SKUs[1].Name = "" }, "skus[1]: name is missing"},
		{"sku twice", func(c *Catalog) { c.Models[0].SKUs[1] = c.Models[0].SKUs[0] }, "sku 'GlobalProvisionedManaged': listed twice"},
		{"step zero", func(c *Catalog) { c.Models[0].SKUs[0].Step = 0 }, "sku 'GlobalProvisionedManaged': step must be more than 0 (it is 0)"},
		{"step negative", func(c *Catalog) { c.Models[0].SKUs[0].Step = -5 }, "step must be more than 0 (it is -5)"},
		{"min not multiple", func(c *Catalog) { c.Models[0].SKUs[0].Minimum = 17; c.Models[0].SKUs[0].Default = 20 }, "minimum 17 is not a multiple of step 5"},
		{"min zero", func(c *Catalog) { c.Models[0].SKUs[0].Minimum = 0 }, "minimum must be more than 0"},
		{"max below min", func(c *Catalog) { c.Models[0].SKUs[0].Maximum = 10 }, "maximum 10 is less than minimum 15"},
		{"max not multiple", func(c *Catalog) { c.Models[0].SKUs[0].Maximum = 10001 }, "maximum 10001 is not a multiple of step 5"},
		{"default out of range", func(c *Catalog) { c.Models[0].SKUs[0].Default = 5 }, "default 5 is not between minimum 15 and maximum 10000"},
		{"default not multiple", func(c *Catalog) { c.Models[0].SKUs[0].Default = 16 }, "default 16 is not a multiple of step 5"},
		{"usage name", func(c *Catalog) { c.Models[0].SKUs[0].UsageName = "" }, "usageName is missing"},
		{"ptu price", func(c *Catalog) { c.Models[0].SKUs[0].PricePerPTUHourMicros = 0 }, "pricePerPTUHourMicros must be more than 0"},
		{"token price on provisioned", func(c *Catalog) { c.Models[0].SKUs[0].OutputPer1MMicros = 1 }, "apply to Standard types only"},
		{"ptu price on standard", func(c *Catalog) { c.Models[0].SKUs[1].PricePerPTUHourMicros = 1 }, "sku 'Standard': pricePerPTUHourMicros applies to provisioned types only"},
		{"input price", func(c *Catalog) {
			c.Models[0].SKUs[1].InputPer1MMicros = 0
			c.Models[0].SKUs[1].CachedInputPer1MMicros = 0
		}, "inputPer1MMicros must be more than 0"},
		{"output price", func(c *Catalog) { c.Models[0].SKUs[1].OutputPer1MMicros = 0 }, "outputPer1MMicros must be more than 0"},
		{"cached above input", func(c *Catalog) { c.Models[0].SKUs[1].CachedInputPer1MMicros = 11 }, "cachedInputPer1MMicros 11 is more than inputPer1MMicros 10"},
		{"cached negative", func(c *Catalog) { c.Models[0].SKUs[1].CachedInputPer1MMicros = -1 }, "cachedInputPer1MMicros must not be negative"},
		{"duplicate", func(c *Catalog) {
			d := validModel()
			d.Name = "M"
			d.IsDefaultVersion = false
			c.Models = append(c.Models, d)
		}, "model 'M' version '1': duplicate of model 'm' version '1'"},
		{"no default", func(c *Catalog) { c.Models[0].IsDefaultVersion = false }, "model 'm': no version is marked isDefaultVersion"},
		{"two defaults", func(c *Catalog) {
			d := validModel()
			d.Version = "2"
			c.Models = append(c.Models, d)
		}, "model 'm': versions '1', '2' are all marked isDefaultVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Catalog{Models: []Model{validModel()}}
			tt.change(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := &Catalog{Models: []Model{validModel(), validModel()}}
	c.Models[0].Tokenizer = "x"
	c.Models[1].Name = "n"
	c.Models[1].SKUs[0].Step = 0
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("got %v, want 2 problems", err)
	}
	if !strings.HasPrefix(err.Error(), "invalid catalog (2 problems):\n") {
		t.Errorf("error = %q", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(embedded)
	f.Add([]byte(overrideFile))
	f.Add([]byte("models: [{name: a, skus: [{name: Standard, step: 0}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		// A valid catalog answers every size question without panicking.
		for i := range c.Models {
			for j := range c.Models[i].SKUs {
				s := &c.Models[i].SKUs[j]
				if s.CheckCapacity(s.Default) != nil {
					t.Errorf("default %d of %s fails its own check", s.Default, s.Name)
				}
				if d := s.Deployable(float64(s.Minimum) + 0.5); s.CheckCapacity(d) != nil && d <= s.Maximum {
					t.Errorf("Deployable gave %d, which %s rejects", d, s.Name)
				}
			}
		}
	})
}
