package control

import (
	"context"
	"fmt"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/config"
)

// Bootstrap brings the store in line with the configuration: regions and pools
// as configured (the file is the source of truth for pool ratings at start),
// the configured subscriptions, and quota overrides. Limits already stored, such
// as approved quota increases, are kept. It is idempotent.
func (s *Service) Bootstrap(ctx context.Context, cfg *config.Config) error {
	return s.update(ctx, func(tx ptu.Tx) error {
		for _, r := range cfg.Regions {
			if err := tx.Regions().Put(ptu.Region{Name: strings.ToLower(r.Name), DisplayName: r.DisplayName, DataZone: strings.ToLower(r.DataZone)}); err != nil {
				return err
			}
		}
		for _, p := range cfg.Pools {
			m, ok := s.cat.Lookup(p.Model, p.Version)
			if !ok {
				return fmt.Errorf("pool %s: model %s version %s is not in the catalog", cfg.PoolID(p), p.Model, p.Version)
			}
			backend := p.Backend
			if backend == "" {
				backend = "sim"
			}
			pool := ptu.Pool{ID: cfg.PoolID(p), Region: strings.ToLower(p.Region), Model: m.Name, Version: m.Version,
				RatedPTU: p.PTU, Backend: backend}
			if err := tx.Pools().Put(pool); err != nil {
				return err
			}
		}
		for _, sc := range cfg.Subscriptions {
			id := strings.ToLower(sc.ID)
			if _, err := tx.Subscriptions().Get(id); err == nil {
				continue
			} else if !isNotFound(err) {
				return err
			}
			if err := tx.Subscriptions().Put(ptu.Subscription{ID: id, DisplayName: sc.DisplayName, State: "Enabled"}); err != nil {
				return err
			}
		}
		for _, o := range cfg.QuotaOverrides {
			if err := tx.QuotaLimits().Put(ptu.QuotaLimit{SubscriptionID: strings.ToLower(o.Subscription), Region: strings.ToLower(o.Region),
				SKUName: ptu.CanonicalSKU(o.SKU), Limit: o.Limit}); err != nil {
				return err
			}
		}
		return nil
	})
}
