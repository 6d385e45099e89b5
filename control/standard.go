package control

import (
	"fmt"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// Standard (pay-per-token) deployments: capacity is in units of 1,000 tokens
// per minute, and quota is per model and deployment type in a region
// (OpenAI.Standard.<model>, OpenAI.GlobalStandard.<model>, …), shared by the
// model's versions.

// DefaultStandardQuota is a subscription's limit per model, Standard
// deployment type and region, in units of 1,000 tokens per minute, unless
// the configuration's defaultQuota names the type.
const DefaultStandardQuota = 5000

// StandardRequestsPer1K is how many requests per minute each unit of 1,000
// tokens per minute allows (6 RPM per 1,000 TPM, as Azure sets it).
const StandardRequestsPer1K = 6

func (s *Service) standardLimit(tx ptu.Tx, sub, region, sku string) (int, error) {
	limits, err := tx.QuotaLimits().List(sub)
	if err != nil {
		return 0, err
	}
	for _, l := range limits {
		if l.Region == region && l.SKUName == sku {
			return l.Limit, nil
		}
	}
	if v, ok := s.opt.DefaultQuota[sku]; ok {
		return v, nil
	}
	return DefaultStandardQuota, nil
}

// standardUsed sums the capacity of the subscription's deployments of model
// (any version) and sku in region, less skipCap (an update's own size).
func standardUsed(tx ptu.Tx, sub, region, sku, model string, skipCap int) (int, error) {
	used, err := tx.Deployments().SumCapacity(ptu.DeploymentFilter{SubscriptionID: sub, Region: region, SKUName: sku, ModelName: model})
	return used - skipCap, err
}

func standardUsageName(m *catalog.Model, sku string) string {
	if k, ok := m.SKU(sku); ok && k.UsageName != "" {
		return k.UsageName
	}
	return "OpenAI." + sku + "." + m.Name
}

func standardDisplay(model, sku string) string {
	return fmt.Sprintf("Tokens Per Minute (thousands) - %s - %s", model, sku)
}

// checkStandardQuota refuses a Standard deployment whose model's quota in the
// region cannot hold it.
func (s *Service) checkStandardQuota(tx ptu.Tx, a ptu.Account, m *catalog.Model, d ptu.Deployment, cur ptu.Deployment, exists bool) error {
	skip := 0
	if exists && cur.SKUName == d.SKUName && strings.EqualFold(cur.Model.Name, d.Model.Name) {
		skip = cur.Capacity
	}
	limit, err := s.standardLimit(tx, a.SubscriptionID, a.Location, d.SKUName)
	if err != nil {
		return err
	}
	used, err := standardUsed(tx, a.SubscriptionID, a.Location, d.SKUName, m.Name, skip)
	if err != nil {
		return err
	}
	if used+d.Capacity <= limit {
		return nil
	}
	return &ptu.Error{Code: ptu.CodeInsufficientQuota, Target: "sku.capacity", Message: fmt.Sprintf(
		"This operation require %d new capacity in quota %s, which is bigger than the current available capacity %d. The current quota usage is %d and the quota limit is %d for quota %s in region %s. Request more quota or choose a smaller size.",
		d.Capacity, standardDisplay(m.Name, d.SKUName), max(0, limit-used), used, limit, standardUsageName(m, d.SKUName), a.Location)}
}

// standardUsages lists, for every model the subscription has Standard
// deployments of in region, its usage and limit, one row per usage name.
// Models with none are left out, which keeps the list short (the catalog
// has a row for every model and Standard type).
func (s *Service) standardUsages(tx ptu.Tx, sub, region string) ([]Usage, error) {
	var out []Usage
	seen := map[string]bool{}
	for i := range s.cat.Models {
		m := &s.cat.Models[i]
		for _, sku := range m.SKUs {
			if ptu.IsProvisioned(sku.Name) {
				continue
			}
			name := standardUsageName(m, sku.Name)
			if seen[strings.ToLower(name)] {
				continue
			}
			seen[strings.ToLower(name)] = true
			used, err := standardUsed(tx, sub, region, sku.Name, m.Name, 0)
			if err != nil {
				return nil, err
			}
			if used == 0 {
				continue
			}
			limit, err := s.standardLimit(tx, sub, region, sku.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, Usage{Name: name, LocalizedName: standardDisplay(m.Name, sku.Name), Unit: "Count", CurrentValue: used, Limit: limit})
		}
	}
	return out, nil
}
