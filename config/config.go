// Package config is the server configuration: regions, capacity pools, PTU
// quota and the subscriptions to bootstrap. A default (default.yaml) is
// embedded; an operator file replaces it entirely.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var embedded []byte

// DefaultBackend serves a pool with the built-in simulated engine.
const DefaultBackend = "sim"

// Config is the server configuration.
type Config struct {
	// PublicURL is the base URL account endpoints are built from; "" derives
	// it from the listen address.
	PublicURL string `yaml:"publicURL"`
	// Catalog is an optional model catalog file merged over the embedded one.
	// A relative path is relative to the configuration file.
	Catalog string   `yaml:"catalog"`
	Regions []Region `yaml:"regions"`
	Pools   []Pool   `yaml:"pools"`
	// Backends are the upstream server groups pools may name as their backend.
	Backends      []Backend     `yaml:"backends"`
	ContentFilter ContentFilter `yaml:"contentFilter"`
	// DefaultQuota is the PTU limit per subscription per region for each
	// provisioned deployment type.
	DefaultQuota   map[string]int  `yaml:"defaultQuota"`
	QuotaOverrides []QuotaOverride `yaml:"quotaOverrides"`
	Subscriptions  []Subscription  `yaml:"subscriptions"`
	Metrics        Metrics         `yaml:"metrics"`
	Admission      Admission       `yaml:"admission"`
	// TenantID is the one Microsoft Entra tenant ptu answers as: GET /tenants,
	// tenantId on subscriptions, az login --tenant. "" is DefaultTenantID.
	TenantID string `yaml:"tenantId"`
	// ProvisioningDelay is how long a new account or deployment stays in
	// provisioningState Creating before it is Succeeded: the time ARM clients
	// poll its Azure-AsyncOperation for. Absent: DefaultProvisioningDelay; 0
	// answers creations synchronously.
	ProvisioningDelay *time.Duration `yaml:"provisioningDelay"`
	lines             map[string]int // "pools[3]" -> line in the parsed file
}

// DefaultTenantID is the tenant id when the configuration names none.
const DefaultTenantID = "6f1c3b2a-8d4e-4f7a-9b05-2e6d1c0a7f38"

// DefaultProvisioningDelay is how long creations take when the
// configuration does not say: long enough for pollers to poll, short
// enough not to be noticed.
const DefaultProvisioningDelay = 200 * time.Millisecond

// Tenant is the configured tenant id, or DefaultTenantID.
func (c *Config) Tenant() string {
	if c.TenantID == "" {
		return DefaultTenantID
	}
	return strings.ToLower(c.TenantID)
}

// Provisioning is the configured provisioning delay, or DefaultProvisioningDelay.
func (c *Config) Provisioning() time.Duration {
	if c.ProvisioningDelay == nil {
		return DefaultProvisioningDelay
	}
	return *c.ProvisioningDelay
}

// Admission configures the deployments' leaky buckets.
type Admission struct {
	// RetryAfter is the retry-after rule of a 429: "exact" (the time until
	// the bucket drains below 100 %, for every caller, as Azure documents
	// it) or "slots" (consecutive retry slots for calls rejected in one full
	// period); "" is the default, exact. `ptu serve --retry-after` wins over
	// it. docs/data-plane.md compares the two.
	RetryAfter string `yaml:"retryAfter"`
}

// DefaultMetricsRetentionDays is how long metric series are kept when the
// configuration does not say.
const DefaultMetricsRetentionDays = 30

// Metrics configures the per-minute metric series.
type Metrics struct {
	// RetentionDays is how many days series are kept (every grain); 0 means
	// DefaultMetricsRetentionDays.
	RetentionDays int `yaml:"retentionDays"`
}

// Retention is how long metric series are kept.
func (m Metrics) Retention() time.Duration {
	days := m.RetentionDays
	if days == 0 {
		days = DefaultMetricsRetentionDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// Region is a place capacity lives in.
type Region struct {
	Name        string `yaml:"name"`        // eastus
	DisplayName string `yaml:"displayName"` // East US
	DataZone    string `yaml:"dataZone"`    // us; "" for a region in no data zone
}

// Pool is capacity for one model version in one region, rated in PTUs.
type Pool struct {
	Region  string `yaml:"region"`
	Model   string `yaml:"model"`
	Version string `yaml:"version"`
	PTU     int    `yaml:"ptu"`
	Backend string `yaml:"backend"` // "sim" (the default) or an upstream backend group
}

// QuotaOverride sets one subscription's PTU limit for one region and
// provisioned deployment type, in place of DefaultQuota.
type QuotaOverride struct {
	Subscription string `yaml:"subscription"`
	Region       string `yaml:"region"`
	SKU          string `yaml:"sku"`
	Limit        int    `yaml:"limit"`
}

// Subscription is created at startup if it does not exist.
type Subscription struct {
	ID          string `yaml:"id"`
	DisplayName string `yaml:"displayName"`
}

// Default returns the embedded configuration: six regions in two data zones,
// one subscription, 500 PTUs of each provisioned quota and pools for every
// model of the default catalog, with westus3 kept short of capacity.
// Each call returns a fresh copy.
func Default() *Config {
	c, err := Parse(embedded)
	if err != nil {
		panic("config: embedded default.yaml: " + err.Error())
	}
	return c
}

// Load reads the configuration file at path; "" returns Default(). Parsing is
// strict (unknown fields are errors with their line). Load does not validate:
// call Validate with the catalog the configuration names.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Catalog != "" && !filepath.IsAbs(c.Catalog) {
		c.Catalog = filepath.Join(filepath.Dir(path), c.Catalog)
	}
	return c, nil
}

// Parse decodes a configuration strictly and fills defaults (a pool's
// backend is "sim" when not given).
func Parse(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		c.lines = lines(&root)
	}
	for i := range c.Pools {
		if c.Pools[i].Backend == "" {
			c.Pools[i].Backend = DefaultBackend
		}
	}
	return &c, nil
}

// lines maps the place of every list item and map key to its line, so
// validation messages can point into the file.
func lines(root *yaml.Node) map[string]int {
	out := map[string]int{}
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, val := doc.Content[i], doc.Content[i+1]
		out[key.Value] = key.Line
		switch val.Kind {
		case yaml.SequenceNode:
			for j, item := range val.Content {
				out[fmt.Sprintf("%s[%d]", key.Value, j)] = item.Line
			}
		case yaml.MappingNode:
			for j := 0; j+1 < len(val.Content); j += 2 {
				out[key.Value+"."+val.Content[j].Value] = val.Content[j].Line
			}
		}
	}
	return out
}

// PoolID is the pool's id: "<region>/<model>/<version>", lowercased except
// for the version.
func (c *Config) PoolID(p Pool) string {
	return strings.ToLower(p.Region) + "/" + strings.ToLower(p.Model) + "/" + p.Version
}

// PTURegions returns the regions as domain records.
func (c *Config) PTURegions() []ptu.Region {
	out := make([]ptu.Region, 0, len(c.Regions))
	for _, r := range c.Regions {
		display := r.DisplayName
		if display == "" {
			display = r.Name
		}
		out = append(out, ptu.Region{Name: strings.ToLower(r.Name), DisplayName: display, DataZone: strings.ToLower(r.DataZone)})
	}
	return out
}

// PTUPools returns the pools as domain records.
func (c *Config) PTUPools() []ptu.Pool {
	out := make([]ptu.Pool, 0, len(c.Pools))
	for _, p := range c.Pools {
		backend := p.Backend
		if backend == "" {
			backend = DefaultBackend
		}
		out = append(out, ptu.Pool{
			ID:       c.PoolID(p),
			Region:   strings.ToLower(p.Region),
			Model:    strings.ToLower(p.Model),
			Version:  p.Version,
			RatedPTU: p.PTU,
			Backend:  backend,
		})
	}
	return out
}

// PTUSubscriptions returns the subscriptions to bootstrap as domain records,
// in state Enabled.
func (c *Config) PTUSubscriptions() []ptu.Subscription {
	out := make([]ptu.Subscription, 0, len(c.Subscriptions))
	for _, s := range c.Subscriptions {
		out = append(out, ptu.Subscription{ID: strings.ToLower(s.ID), DisplayName: s.DisplayName, State: "Enabled"})
	}
	return out
}

// QuotaLimits returns a subscription's PTU limit in every region for every
// provisioned deployment type: the default quota (0 when it names no limit
// for a type) unless an override sets it.
func (c *Config) QuotaLimits(subscriptionID string) []ptu.QuotaLimit {
	var out []ptu.QuotaLimit
	for _, r := range c.Regions {
		region := strings.ToLower(r.Name)
		for _, sku := range ptu.ProvisionedSKUs {
			limit := c.DefaultQuota[sku]
			for _, o := range c.QuotaOverrides {
				if strings.EqualFold(o.Subscription, subscriptionID) && strings.EqualFold(o.Region, region) && strings.EqualFold(o.SKU, sku) {
					limit = o.Limit
				}
			}
			out = append(out, ptu.QuotaLimit{SubscriptionID: strings.ToLower(subscriptionID), Region: region, SKUName: sku, Limit: limit})
		}
	}
	return out
}
