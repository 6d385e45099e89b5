package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(catalog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := Default().Validate(nil); err != nil {
		t.Fatalf("nil catalog: %v", err)
	}
	if got := Default().Metrics.Retention(); got != 30*24*time.Hour {
		t.Errorf("default metrics retention = %v, want 30 days", got)
	}
	if got := (Metrics{}).Retention(); got != 30*24*time.Hour {
		t.Errorf("retention when absent = %v, want 30 days", got)
	}
}

func TestDefaultWorld(t *testing.T) {
	c := Default()
	var zones []string
	for _, r := range c.Regions {
		zones = append(zones, r.Name+":"+r.DataZone)
	}
	if got, want := strings.Join(zones, " "), "southcentralus:us eastus:us eastus2:us westus3:us swedencentral:eu westeurope:eu"; got != want {
		t.Errorf("regions = %s, want %s", got, want)
	}
	if c.Regions[0].DisplayName != "South Central US" {
		t.Errorf("display name = %q", c.Regions[0].DisplayName)
	}
	for _, sku := range ptu.ProvisionedSKUs {
		if c.DefaultQuota[sku] != 500 {
			t.Errorf("defaultQuota[%s] = %d, want 500", sku, c.DefaultQuota[sku])
		}
	}
	if len(c.Subscriptions) != 1 || c.Subscriptions[0].DisplayName != "ptu default subscription" {
		t.Errorf("subscriptions = %+v", c.Subscriptions)
	}
	if c.PublicURL != "" || c.Catalog != "" {
		t.Errorf("publicURL %q catalog %q, want both empty", c.PublicURL, c.Catalog)
	}

	rated := map[string]int{}
	for _, p := range c.Pools {
		rated[c.PoolID(p)] = p.PTU
		if p.Backend != DefaultBackend {
			t.Errorf("%s: backend %q", c.PoolID(p), p.Backend)
		}
	}
	// The seed's example: 100 PTU of gpt-4 0613 and of gpt-4o 2024-05-13,
	// ProvisionedManaged, in one region.
	for _, id := range []string{"southcentralus/gpt-4/0613", "southcentralus/gpt-4o/2024-05-13"} {
		if rated[id] < 100 {
			t.Errorf("%s rated %d, the seed's example needs 100", id, rated[id])
		}
	}
	// Every model version of the catalog has a generous pool in every region
	// but westus3, which stays short: small pools, and none for some models.
	missing := 0
	for _, m := range catalog.Default().Models {
		for _, r := range c.Regions {
			id := c.PoolID(Pool{Region: r.Name, Model: m.Name, Version: m.Version})
			n, ok := rated[id]
			switch {
			case r.Name == "westus3" && !ok:
				missing++
			case r.Name == "westus3" && n > 50:
				t.Errorf("%s rated %d; westus3 should stay short of capacity", id, n)
			case r.Name != "westus3" && n < 1000:
				t.Errorf("%s rated %d, want at least 1000", id, n)
			}
		}
	}
	if missing == 0 {
		t.Error("westus3 has a pool for every model; keep some out")
	}
}

func TestPoolID(t *testing.T) {
	c := Default()
	tests := []struct {
		pool Pool
		want string
	}{
		{Pool{Region: "southcentralus", Model: "GPT-4", Version: "0613"}, "southcentralus/gpt-4/0613"},
		{Pool{Region: "EastUS", Model: "gpt-4o", Version: "2024-11-20"}, "eastus/gpt-4o/2024-11-20"},
	}
	for _, tt := range tests {
		if got := c.PoolID(tt.pool); got != tt.want {
			t.Errorf("PoolID(%+v) = %s, want %s", tt.pool, got, tt.want)
		}
	}
}

func TestDomainRecords(t *testing.T) {
	c, err := Parse([]byte(`
regions:
  - {name: eastus, displayName: East US, dataZone: us}
  - {name: local}
pools:
  - {region: eastus, model: GPT-4o, version: "2024-11-20", ptu: 300}
  - {region: local, model: gpt-4o-mini, version: "2024-07-18", ptu: 0, backend: vllm-a}
defaultQuota: {ProvisionedManaged: 100, GlobalProvisionedManaged: 200}
quotaOverrides:
  - {subscription: 3F9C2A7E-5B14-4D8E-9A61-0C7E2B4D8F15, region: local, sku: GlobalProvisionedManaged, limit: 0}
  - {subscription: 11111111-2222-3333-4444-555555555555, region: eastus, sku: ProvisionedManaged, limit: 900}
subscriptions:
  - {id: 3F9C2A7E-5B14-4D8E-9A61-0C7E2B4D8F15, displayName: mine}
backends:
  - {name: vllm-a, endpoints: [{url: "http://10.0.0.5:8000/v1"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(nil); err != nil {
		t.Fatal(err)
	}
	pools := c.PTUPools()
	want := []ptu.Pool{
		{ID: "eastus/gpt-4o/2024-11-20", Region: "eastus", Model: "gpt-4o", Version: "2024-11-20", RatedPTU: 300, Backend: "sim"},
		{ID: "local/gpt-4o-mini/2024-07-18", Region: "local", Model: "gpt-4o-mini", Version: "2024-07-18", RatedPTU: 0, Backend: "vllm-a"},
	}
	if len(pools) != 2 || pools[0] != want[0] || pools[1] != want[1] {
		t.Errorf("PTUPools = %+v", pools)
	}
	regions := c.PTURegions()
	if regions[1] != (ptu.Region{Name: "local", DisplayName: "local"}) {
		t.Errorf("region without display name = %+v", regions[1])
	}
	subs := c.PTUSubscriptions()
	if subs[0].ID != "3f9c2a7e-5b14-4d8e-9a61-0c7e2b4d8f15" || subs[0].State != "Enabled" {
		t.Errorf("subscription = %+v", subs[0])
	}

	limits := map[string]int{}
	for _, l := range c.QuotaLimits("3f9c2a7e-5b14-4d8e-9a61-0c7e2b4d8f15") {
		limits[l.Region+"/"+l.SKUName] = l.Limit
	}
	wantLimits := map[string]int{
		"eastus/ProvisionedManaged": 100, "eastus/GlobalProvisionedManaged": 200, "eastus/DataZoneProvisionedManaged": 0,
		"local/ProvisionedManaged": 100, "local/GlobalProvisionedManaged": 0, "local/DataZoneProvisionedManaged": 0,
	}
	if len(limits) != len(wantLimits) {
		t.Errorf("QuotaLimits = %v", limits)
	}
	for k, w := range wantLimits {
		if limits[k] != w {
			t.Errorf("limit %s = %d, want %d", k, limits[k], w)
		}
	}
}

func TestValidateProblems(t *testing.T) {
	const regions = "regions:\n  - {name: eastus, displayName: East US, dataZone: us}\n"
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error; nil means valid
	}{
		{"minimal", regions, nil},
		{"tenant and provisioning delay", regions + "tenantId: 0B1C2D3E-4F5A-4B6C-8D7E-9F0A1B2C3D4E\nprovisioningDelay: 2s\n", nil},
		{"tenant not a GUID", regions + "tenantId: contoso\n", []string{"line 3: tenantId: \"contoso\" is not a GUID"}},
		{"negative provisioning delay", regions + "provisioningDelay: -1s\n", []string{"provisioningDelay: -1s is out of range (0 to 10m0s)"}},
		{"provisioning delay too long", regions + "provisioningDelay: 1h\n", []string{"provisioningDelay: 1h0m0s is out of range"}},
		{"no regions", "defaultQuota: {ProvisionedManaged: 1}\n", []string{"regions: at least one region is required"}},
		{"empty region name", "regions:\n  - {displayName: Nowhere}\n", []string{"line 2: regions[0]: name is missing"}},
		{"region name spelling", "regions:\n  - {name: East US}\n", []string{"regions[0] (East US): name \"East US\" must be lowercase letters and digits"}},
		{"duplicate region", regions + "  - {name: EastUS}\n", []string{"line 3: regions[1] (EastUS): duplicate of regions[0]"}},
		{"bad data zone", "regions:\n  - {name: eastus, dataZone: US-1}\n", []string{"dataZone \"US-1\" must be lowercase letters"}},
		{"pool in unknown region", regions + "pools:\n  - {region: westus9, model: gpt-4o, version: \"2024-11-20\", ptu: 10}\n",
			[]string{"line 4: pools[0] (westus9/gpt-4o/2024-11-20): region \"westus9\" is not one of the configured regions"}},
		{"pool for unknown model", regions + "pools:\n  - {region: eastus, model: gpt-99, version: \"1\", ptu: 10}\n",
			[]string{"pools[0] (eastus/gpt-99/1): model \"gpt-99\" is not in the catalog"}},
		{"pool for unknown version", regions + "pools:\n  - {region: eastus, model: gpt-4o, version: \"2023-01-01\", ptu: 10}\n",
			[]string{"model gpt-4o has no version \"2023-01-01\" in the catalog (versions: 2024-05-13, 2024-08-06, 2024-11-20)"}},
		{"pool without version", regions + "pools:\n  - {region: eastus, model: gpt-4o, ptu: 10}\n", []string{"pools[0] (eastus/gpt-4o/): version is missing"}},
		{"pool without model", regions + "pools:\n  - {region: eastus, version: \"1\"}\n", []string{"model is missing"}},
		{"pool without region", regions + "pools:\n  - {model: gpt-4o, version: \"2024-11-20\"}\n", []string{"region is missing"}},
		{"negative ptu", regions + "pools:\n  - {region: eastus, model: gpt-4o, version: \"2024-11-20\", ptu: -1}\n", []string{"ptu must not be negative (it is -1)"}},
		{"bad backend", regions + "pools:\n  - {region: eastus, model: gpt-4o, version: \"2024-11-20\", backend: \"a b\"}\n", []string{"backend \"a b\" must be"}},
		{"duplicate pool", regions + "pools:\n  - {region: eastus, model: gpt-4o, version: \"2024-11-20\", ptu: 10}\n  - {region: eastus, model: GPT-4o, version: \"2024-11-20\", ptu: 20}\n",
			[]string{"line 5: pools[1] (eastus/gpt-4o/2024-11-20): duplicate of pools[0]"}},
		{"standard sku in quota", regions + "defaultQuota: {GlobalStandard: 100}\n", []string{"line 3: defaultQuota.GlobalStandard: GlobalStandard is not a provisioned deployment type"}},
		{"unknown sku in quota", regions + "defaultQuota: {Provisioned: 100}\n", []string{"defaultQuota.Provisioned: unknown deployment type \"Provisioned\""}},
		{"sku spelling in quota", regions + "defaultQuota: {provisionedmanaged: 100}\n", []string{"write \"provisionedmanaged\" as \"ProvisionedManaged\""}},
		{"negative default quota", regions + "defaultQuota: {ProvisionedManaged: -5}\n", []string{"defaultQuota.ProvisionedManaged: limit must not be negative (it is -5)"}},
		{"override problems", regions + "quotaOverrides:\n  - {subscription: abc, region: westus9, sku: Standard, limit: -1}\n", []string{
			"line 4: quotaOverrides[0] (abc/westus9/Standard): subscription \"abc\" is not a GUID",
			"region \"westus9\" is not one of the configured regions",
			"Standard is not a provisioned deployment type",
			"limit must not be negative (it is -1)",
		}},
		{"override without sku", regions + "quotaOverrides:\n  - {subscription: 11111111-2222-3333-4444-555555555555, region: eastus, limit: 1}\n", []string{"sku is missing"}},
		{"duplicate override", regions + "quotaOverrides:\n  - {subscription: 11111111-2222-3333-4444-555555555555, region: eastus, sku: ProvisionedManaged, limit: 1}\n  - {subscription: 11111111-2222-3333-4444-555555555555, region: EASTUS, sku: ProvisionedManaged, limit: 2}\n",
			[]string{"quotaOverrides[1]", "duplicate of quotaOverrides[0]"}},
		{"subscription id not a guid", regions + "subscriptions:\n  - {id: my-sub, displayName: mine}\n", []string{"line 4: subscriptions[0] (mine): id \"my-sub\" is not a GUID"}},
		{"subscription id missing", regions + "subscriptions:\n  - {displayName: mine}\n", []string{"subscriptions[0] (mine): id is missing"}},
		{"duplicate subscription", regions + "subscriptions:\n  - {id: 11111111-2222-3333-4444-555555555555}\n  - {id: 11111111-2222-3333-4444-555555555555}\n", []string{"subscriptions[1]: id 11111111-2222-3333-4444-555555555555 duplicates subscriptions[0]"}},
		{"public url relative", "publicURL: ptu.example.com\n" + regions, []string{"line 1: publicURL: \"ptu.example.com\" must be an absolute http or https URL"}},
		{"public url scheme", "publicURL: ftp://ptu.example.com\n" + regions, []string{"must be an absolute http or https URL"}},
		{"public url query", "publicURL: https://ptu.example.com/?x=1\n" + regions, []string{"must not have a query or fragment"}},
		{"public url fine", "publicURL: https://ptu.example.com:8443/base\n" + regions, nil},
		{"metrics retention fine", regions + "metrics: {retentionDays: 90}\n", nil},
		{"retry-after slots", regions + "admission: {retryAfter: slots}\n", nil},
		{"retry-after unknown", regions + "admission:\n  retryAfter: fair\n", []string{`admission.retryAfter: must be exact or slots (it is "fair")`}},
		{"metrics retention negative", regions + "metrics:\n  retentionDays: -1\n", []string{"line 4: metrics.retentionDays: must be between 1 and 3650 days, or 0 for the default 30 (it is -1)"}},
		{"metrics retention too long", regions + "metrics: {retentionDays: 4000}\n", []string{"metrics.retentionDays: must be between 1 and 3650"}},
		{"every problem at once", "regions:\n  - {name: eastus}\n  - {name: eastus}\npools:\n  - {region: nowhere, model: gpt-4o, version: \"2024-11-20\", ptu: -1}\n",
			[]string{"invalid configuration (3 problems)", "duplicate of regions[0]", "not one of the configured regions", "ptu must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate(catalog.Default())
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPoolForOverrideModel(t *testing.T) {
	dir := t.TempDir()
	models := `
models:
  - name: local-llama
    version: "1"
    isDefaultVersion: true
    lifecycleStatus: Preview
    tokenizer: cl100k_base
    inputTPMPerPTU: 8450
    outputWeight: 4
    contextWindow: 32768
    maxOutputTokens: 4096
    latencyTargetTPS: 50
    skus: [{name: ProvisionedManaged, minimum: 100, step: 100, pricePerPTUHourMicros: 1_500_000}]
  - name: standard-only
    version: "1"
    isDefaultVersion: true
    lifecycleStatus: Preview
    tokenizer: cl100k_base
    inputTPMPerPTU: 1000
    outputWeight: 4
    contextWindow: 32768
    maxOutputTokens: 4096
    latencyTargetTPS: 50
    skus: [{name: Standard, minimum: 1, step: 1, inputPer1MMicros: 1, outputPer1MMicros: 2}]
`
	if err := os.WriteFile(filepath.Join(dir, "models.yaml"), []byte(models), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "ptu.yaml")
	cfg := `catalog: models.yaml
regions: [{name: eastus, dataZone: us}]
pools:
  - {region: eastus, model: local-llama, version: "1", ptu: 400, backend: vllm}
  - {region: eastus, model: standard-only, version: "1", ptu: 400}
backends: [{name: vllm, endpoints: [{url: "http://127.0.0.1:8000/v1"}]}]
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "models.yaml"); c.Catalog != want {
		t.Fatalf("catalog path = %s, want %s", c.Catalog, want)
	}
	cat, err := catalog.Load(c.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate(cat)
	if err == nil || !strings.Contains(err.Error(), "line 5: pools[1] (eastus/standard-only/1): model standard-only 1 has no provisioned deployment type") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "local-llama") {
		t.Errorf("pool for a model the override adds was rejected: %v", err)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load("")
	if err != nil || len(c.Pools) != len(Default().Pools) {
		t.Fatalf("Load(\"\") = %v", err)
	}
	dir := t.TempDir()
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "regions:\n  - name: eastus\n    zone: us\n", []string{"line 3", "field zone not found"}},
		{"unknown top-level field", "region: []\n", []string{"line 1", "field region not found"}},
		{"wrong type", "pools:\n  - {region: eastus, ptu: many}\n", []string{"line 2", "many"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.Pools[0].PTU = -1
	a.DefaultQuota[ptu.ProvisionedManaged] = 1
	b := Default()
	if b.Pools[0].PTU == -1 || b.DefaultQuota[ptu.ProvisionedManaged] == 1 {
		t.Fatal("Default shares state between calls")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(embedded)
	f.Add([]byte("regions: [{name: a}]\npools: [{region: a, model: gpt-4o, version: x, ptu: -1}]\ndefaultQuota: {X: 1}\n"))
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		err = c.Validate(cat)
		var ve *ValidationError
		if err != nil && (!errors.As(err, &ve) || len(ve.Problems) == 0) {
			t.Fatalf("Validate returned %v", err)
		}
		_ = c.PTUPools()
		_ = c.QuotaLimits("x")
	})
}

func TestBackendsValidation(t *testing.T) {
	c, err := Parse([]byte(`
regions: [{name: eastus}]
pools:
  - {region: eastus, model: gpt-4o, version: "2024-11-20", ptu: 100, backend: vllm}
  - {region: eastus, model: gpt-4o-mini, version: "2024-07-18", ptu: 100, backend: nowhere}
backends:
  - name: vllm
    endpoints: [{url: "http://10.0.0.5:8000/v1", apiKeyEnv: VLLM_KEY}]
    models: {gpt-4o: meta-llama/Llama-3.3-70B-Instruct}
    connectTimeout: 2s
    maxConnections: 32
  - {name: sim, endpoints: [{url: "http://x"}]}
  - {name: aoai, kind: bedrock, endpoints: [{url: "ftp://x", apiKey: a, apiKeyEnv: B}]}
  - {name: empty}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Backends[0].ConnectTimeout != 2*time.Second || c.Backends[0].MaxConnections != 32 {
		t.Errorf("backend %+v: durations and limits not decoded", c.Backends[0])
	}
	err = c.Validate(nil)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	want := []string{
		`backend "nowhere" is neither "sim" nor the name of a group`,
		`name "sim" is reserved`,
		`kind "bedrock" must be openai or azure`,
		`endpoints[0].url "ftp://x" must be an http:// or https:// URL`,
		`endpoints[0] sets both apiKey and apiKeyEnv`,
		`backends[3] (empty): endpoints is empty`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing problem %q in:\n%v", w, err)
		}
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
}

// FuzzBackendKeySecret: whatever surrounds a backend's inline apiKey, no
// parse or validation error repeats the key.
func FuzzBackendKeySecret(f *testing.F) {
	f.Add("abc123", "http://10.0.0.5:8000/v1", "vllm", "openai")
	f.Add("k", "ftp://x", "sim", "bedrock")
	f.Add("key with spaces\tand: colons", "", "", "azure")
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, key, url, name, kind string) {
		secret := "SECRET-" + key
		for _, s := range []string{url, name, kind} {
			if strings.Contains(s, "SECRET-") {
				return
			}
		}
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // a YAML double-quoted scalar
		doc := "regions: [{name: eastus}]\n" +
			"pools:\n  - {region: eastus, model: gpt-4o, version: \"2024-08-06\", ptu: 100, backend: " + q(name) + "}\n" +
			"backends:\n  - name: " + q(name) + "\n    kind: " + q(kind) + "\n" +
			"    endpoints: [{url: " + q(url) + ", apiKey: " + q(secret) + ", apiKeyEnv: " + q(name) + "}]\n"
		c, err := Parse([]byte(doc))
		if err != nil {
			if strings.Contains(err.Error(), "SECRET-") {
				t.Fatalf("parse error repeats the key: %v", err)
			}
			return
		}
		if err := c.Validate(cat); err != nil && strings.Contains(err.Error(), "SECRET-") {
			t.Fatalf("validation error repeats the key: %v", err)
		}
	})
}

// The tenant and the provisioning delay: the configured values, or their
// defaults when absent; 0 is a delay of its own (synchronous creations).
func TestTenantAndProvisioningDelay(t *testing.T) {
	c, err := Parse([]byte("tenantId: 0B1C2D3E-4F5A-4B6C-8D7E-9F0A1B2C3D4E\nprovisioningDelay: 1.5s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenant() != "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e" || c.Provisioning() != 1500*time.Millisecond {
		t.Errorf("tenant %q delay %s", c.Tenant(), c.Provisioning())
	}
	c, _ = Parse([]byte("provisioningDelay: 0s\n"))
	if c.Provisioning() != 0 || c.Tenant() != DefaultTenantID {
		t.Errorf("explicit 0: delay %s tenant %q", c.Provisioning(), c.Tenant())
	}
	d := Default()
	if d.Provisioning() != DefaultProvisioningDelay || d.Tenant() != DefaultTenantID {
		t.Errorf("default: delay %s tenant %q", d.Provisioning(), d.Tenant())
	}
}
