package config

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/leaky"
)

// ValidationError lists every problem Validate found, each naming where it is.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid configuration (%d problems):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

var (
	guidPattern     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	regionPattern   = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	dataZonePattern = regexp.MustCompile(`^[a-z]*$`)
	backendPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// Validate checks the configuration against the model catalog (nil means the
// default catalog) and reports every problem at once as a *ValidationError.
func (c *Config) Validate(cat *catalog.Catalog) error {
	if cat == nil {
		cat = catalog.Default()
	}
	v := &validator{lines: c.lines}
	c.validatePublicURL(v)
	regions := c.validateRegions(v)
	backends := c.validateBackends(v)
	c.validateContentFilter(v)
	c.validatePools(v, cat, regions, backends)
	c.validateQuota(v, regions)
	c.validateSubscriptions(v)
	c.validateMetrics(v)
	if _, err := leaky.ParseRetryRule(c.Admission.RetryAfter); err != nil {
		v.addf("admission.retryAfter", "", "must be exact or slots (it is %q)", c.Admission.RetryAfter)
	}
	c.validateIdentity(v)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

type validator struct {
	lines    map[string]int
	problems []string
}

// addf records a problem at place ("pools[3]", "defaultQuota.X"); label adds
// what a reader recognises the place by.
func (v *validator) addf(place, label, format string, args ...any) {
	var b strings.Builder
	if line := v.lines[place]; line > 0 {
		fmt.Fprintf(&b, "line %d: ", line)
	}
	b.WriteString(place)
	if label != "" {
		fmt.Fprintf(&b, " (%s)", label)
	}
	b.WriteString(": ")
	fmt.Fprintf(&b, format, args...)
	v.problems = append(v.problems, b.String())
}

func (c *Config) validatePublicURL(v *validator) {
	if c.PublicURL == "" {
		return
	}
	u, err := url.Parse(c.PublicURL)
	switch {
	case err != nil:
		v.addf("publicURL", "", "%q is not a URL: %v", c.PublicURL, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.addf("publicURL", "", "%q must be an absolute http or https URL, such as https://ptu.example.com", c.PublicURL)
	case u.RawQuery != "" || u.Fragment != "":
		v.addf("publicURL", "", "%q must not have a query or fragment", c.PublicURL)
	}
}

// validateRegions returns the valid region names (lowercased).
func (c *Config) validateRegions(v *validator) map[string]bool {
	regions := map[string]bool{}
	if len(c.Regions) == 0 {
		v.addf("regions", "", "at least one region is required")
	}
	first := map[string]string{}
	for i, r := range c.Regions {
		place := fmt.Sprintf("regions[%d]", i)
		name := strings.ToLower(r.Name)
		switch {
		case r.Name == "":
			v.addf(place, "", "name is missing")
			continue
		case !regionPattern.MatchString(r.Name):
			v.addf(place, r.Name, "name %q must be lowercase letters and digits, such as eastus2", r.Name)
		}
		if prev, dup := first[name]; dup {
			v.addf(place, r.Name, "duplicate of %s", prev)
			continue
		}
		first[name] = place
		if !dataZonePattern.MatchString(r.DataZone) {
			v.addf(place, r.Name, "dataZone %q must be lowercase letters, such as us or eu", r.DataZone)
		}
		regions[name] = true
	}
	return regions
}

func (c *Config) validatePools(v *validator, cat *catalog.Catalog, regions, backends map[string]bool) {
	first := map[string]string{}
	for i, p := range c.Pools {
		place := fmt.Sprintf("pools[%d]", i)
		label := c.PoolID(p)
		if p.Region == "" {
			v.addf(place, label, "region is missing")
		} else if !regions[strings.ToLower(p.Region)] {
			v.addf(place, label, "region %q is not one of the configured regions", p.Region)
		}
		switch {
		case p.Model == "":
			v.addf(place, label, "model is missing")
		case p.Version == "":
			v.addf(place, label, "version is missing; name the model version the pool serves")
		default:
			m, ok := cat.Lookup(p.Model, p.Version)
			if !ok {
				if versions := cat.Versions(p.Model); len(versions) > 0 {
					v.addf(place, label, "model %s has no version %q in the catalog (versions: %s)", p.Model, p.Version, versionList(versions))
				} else {
					v.addf(place, label, "model %q is not in the catalog", p.Model)
				}
			} else if !hasProvisioned(m) {
				v.addf(place, label, "model %s %s has no provisioned deployment type, and pools serve only provisioned deployments", p.Model, p.Version)
			}
		}
		if p.PTU < 0 {
			v.addf(place, label, "ptu must not be negative (it is %d)", p.PTU)
		}
		if p.Backend != "" && !backendPattern.MatchString(p.Backend) {
			v.addf(place, label, "backend %q must be \"sim\" or a backend group name (letters, digits, '.', '_', '-')", p.Backend)
		} else if p.Backend != "" && p.Backend != DefaultBackend && !backends[strings.ToLower(p.Backend)] {
			v.addf(place, label, "backend %q is neither \"sim\" nor the name of a group under backends:", p.Backend)
		}
		if p.Region != "" && p.Model != "" && p.Version != "" {
			if prev, dup := first[label]; dup {
				v.addf(place, label, "duplicate of %s; rate one pool per region, model and version", prev)
			} else {
				first[label] = place
			}
		}
	}
}

func hasProvisioned(m *catalog.Model) bool {
	for i := range m.SKUs {
		if m.SKUs[i].Provisioned() {
			return true
		}
	}
	return false
}

func versionList(models []*catalog.Model) string {
	vs := make([]string, len(models))
	for i, m := range models {
		vs[i] = m.Version
	}
	return strings.Join(vs, ", ")
}

// checkSKU reports whether sku names a provisioned deployment type exactly.
func checkSKU(v *validator, place, label, sku string) bool {
	if ptu.IsProvisioned(sku) {
		return true
	}
	known := strings.Join(ptu.ProvisionedSKUs, ", ")
	switch canon := ptu.CanonicalSKU(sku); {
	case sku == "":
		v.addf(place, label, "sku is missing; use one of %s", known)
	case canon != "" && ptu.IsProvisioned(canon):
		v.addf(place, label, "write %q as %q", sku, canon)
	case canon != "":
		v.addf(place, label, "%s is not a provisioned deployment type; PTU quota applies to %s", sku, known)
	default:
		v.addf(place, label, "unknown deployment type %q; use one of %s", sku, known)
	}
	return false
}

func (c *Config) validateQuota(v *validator, regions map[string]bool) {
	skus := make([]string, 0, len(c.DefaultQuota))
	for sku := range c.DefaultQuota {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	for _, sku := range skus {
		place := "defaultQuota." + sku
		checkSKU(v, place, "", sku)
		if limit := c.DefaultQuota[sku]; limit < 0 {
			v.addf(place, "", "limit must not be negative (it is %d)", limit)
		}
	}
	type key struct{ sub, region, sku string }
	first := map[key]string{}
	for i, o := range c.QuotaOverrides {
		place := fmt.Sprintf("quotaOverrides[%d]", i)
		label := o.Subscription + "/" + o.Region + "/" + o.SKU
		if !guidPattern.MatchString(o.Subscription) {
			v.addf(place, label, "subscription %q is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", o.Subscription)
		}
		if o.Region == "" {
			v.addf(place, label, "region is missing")
		} else if !regions[strings.ToLower(o.Region)] {
			v.addf(place, label, "region %q is not one of the configured regions", o.Region)
		}
		checkSKU(v, place, label, o.SKU)
		if o.Limit < 0 {
			v.addf(place, label, "limit must not be negative (it is %d)", o.Limit)
		}
		k := key{strings.ToLower(o.Subscription), strings.ToLower(o.Region), strings.ToLower(o.SKU)}
		if prev, dup := first[k]; dup {
			v.addf(place, label, "duplicate of %s", prev)
		} else {
			first[k] = place
		}
	}
}

func (c *Config) validateSubscriptions(v *validator) {
	first := map[string]string{}
	for i, s := range c.Subscriptions {
		place := fmt.Sprintf("subscriptions[%d]", i)
		if s.ID == "" {
			v.addf(place, s.DisplayName, "id is missing")
			continue
		}
		if !guidPattern.MatchString(s.ID) {
			v.addf(place, s.DisplayName, "id %q is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s.ID)
		}
		id := strings.ToLower(s.ID)
		if prev, dup := first[id]; dup {
			v.addf(place, s.DisplayName, "id %s duplicates %s", s.ID, prev)
		} else {
			first[id] = place
		}
	}
}

// maxRetentionDays bounds metrics.retentionDays (ten years).
const maxRetentionDays = 3650

func (c *Config) validateMetrics(v *validator) {
	if d := c.Metrics.RetentionDays; d < 0 || d > maxRetentionDays {
		v.addf("metrics.retentionDays", "", "must be between 1 and %d days, or 0 for the default %d (it is %d)",
			maxRetentionDays, DefaultMetricsRetentionDays, d)
	}
}

// maxProvisioningDelay bounds provisioningDelay: pollers wait that long for
// every account and deployment created.
const maxProvisioningDelay = 10 * time.Minute

func (c *Config) validateIdentity(v *validator) {
	if c.TenantID != "" && !guidPattern.MatchString(c.TenantID) {
		v.addf("tenantId", "", "%q is not a GUID", c.TenantID)
	}
	if d := c.ProvisioningDelay; d != nil && (*d < 0 || *d > maxProvisioningDelay) {
		v.addf("provisioningDelay", "", "%s is out of range (0 to %s)", *d, maxProvisioningDelay)
	}
}
