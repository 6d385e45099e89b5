package control

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ptu-dev/ptu"
)

// Usage is one row of a subscription's quota usage in a region.
type Usage struct {
	Name          string // OpenAI.ProvisionedManaged
	LocalizedName string
	Unit          string // Count
	CurrentValue  int
	Limit         int
}

var usageDisplay = map[string]string{
	ptu.ProvisionedManaged:         "Provisioned Managed Throughput Unit",
	ptu.GlobalProvisionedManaged:   "Global Provisioned Managed Throughput Unit",
	ptu.DataZoneProvisionedManaged: "Data Zone Provisioned Managed Throughput Unit",
}

// quotaLimit is the subscription's PTU limit for sku in region: the stored one, else the default.
func (s *Service) quotaLimit(tx ptu.Tx, sub, region, sku string) (int, error) {
	limits, err := tx.QuotaLimits().List(sub)
	if err != nil {
		return 0, err
	}
	for _, l := range limits {
		if l.Region == region && l.SKUName == sku {
			return l.Limit, nil
		}
	}
	return s.opt.DefaultQuota[sku], nil
}

// quotaUsed sums the capacity of the subscription's deployments of sku in
// region, less skipCap: the capacity of a deployment of that sku and region
// being updated, which counts its own size once. The store sums, so the cost
// does not grow with the number of deployments read into memory.
func quotaUsed(tx ptu.Tx, sub, region, sku string, skipCap int) (int, error) {
	used, err := tx.Deployments().SumCapacity(ptu.DeploymentFilter{SubscriptionID: sub, Region: region, SKUName: sku})
	return used - skipCap, err
}

// quotaFree is what a deployment (an update of one holding skipCap PTUs of
// sku in region, or 0 for a new one) could hold under the limit.
func (s *Service) quotaFree(tx ptu.Tx, sub, region, sku string, skipCap int) (free, used, limit int, err error) {
	if limit, err = s.quotaLimit(tx, sub, region, sku); err != nil {
		return
	}
	if used, err = quotaUsed(tx, sub, region, sku, skipCap); err != nil {
		return
	}
	return max(0, limit-used), used, limit, nil
}

// Usages reports, for each provisioned deployment type, the PTUs the subscription
// has deployed in location and its limit there.
func (s *Service) Usages(ctx context.Context, sub, location string) ([]Usage, error) {
	var out []Usage
	err := s.view(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		region, err := getRegion(tx, location)
		if err != nil {
			return err
		}
		for _, sku := range ptu.ProvisionedSKUs {
			_, used, limit, err := s.quotaFree(tx, subn.ID, region.Name, sku, 0)
			if err != nil {
				return err
			}
			out = append(out, Usage{Name: ptu.QuotaUsageName(sku), LocalizedName: usageDisplay[sku],
				Unit: "Count", CurrentValue: used, Limit: limit})
		}
		std, err := s.standardUsages(tx, subn.ID, region.Name)
		out = append(out, std...)
		return err
	})
	return out, err
}

// QuotaRequestInput asks for a new PTU limit.
type QuotaRequestInput struct {
	Location string
	SKUName  string
	Limit    int
	Reason   string
}

// CreateQuotaRequest files a request for a higher limit; an administrator decides it.
func (s *Service) CreateQuotaRequest(ctx context.Context, sub string, in QuotaRequestInput) (ptu.QuotaRequest, error) {
	sku := ptu.CanonicalSKU(in.SKUName)
	if !ptu.IsProvisioned(sku) {
		return ptu.QuotaRequest{}, &ptu.Error{Code: ptu.CodeInvalidSKU, Target: "skuName",
			Message: fmt.Sprintf("skuName '%s' is not a provisioned deployment type. Use one of %s.", in.SKUName, strings.Join(ptu.ProvisionedSKUs, ", "))}
	}
	if strings.TrimSpace(in.Reason) == "" {
		return ptu.QuotaRequest{}, &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "reason",
			Message: "A quota request needs a reason: say what the PTUs are for."}
	}
	var out ptu.QuotaRequest
	err := s.update(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		region, err := getRegion(tx, in.Location)
		if err != nil {
			return err
		}
		limit, err := s.quotaLimit(tx, subn.ID, region.Name, sku)
		if err != nil {
			return err
		}
		if in.Limit <= limit || in.Limit > maxQuota {
			return &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "limit",
				Message: fmt.Sprintf("The requested limit %d must be above the current limit %d for %s in %s, and at most %d.",
					in.Limit, limit, sku, region.Name, maxQuota)}
		}
		out = ptu.QuotaRequest{ID: newRequestID(), SubscriptionID: subn.ID, Region: region.Name, SKUName: sku,
			RequestedLimit: in.Limit, Reason: in.Reason, State: ptu.QuotaRequestPending, CreatedAt: s.now()}
		return tx.QuotaRequests().Put(out)
	})
	return out, err
}

// maxQuota bounds a limit so that sums stay far from integer overflow.
const maxQuota = 1_000_000

func newRequestID() string {
	k := newKey()
	return k[:8] + "-" + k[8:12] + "-" + k[12:16] + "-" + k[16:20] + "-" + k[20:]
}

// ListQuotaRequests lists a subscription's requests (all when sub is ""), newest first.
func (s *Service) ListQuotaRequests(ctx context.Context, sub string) ([]ptu.QuotaRequest, error) {
	var out []ptu.QuotaRequest
	err := s.view(ctx, func(tx ptu.Tx) error {
		id := ""
		if sub != "" {
			subn, err := getSubscription(tx, sub)
			if err != nil {
				return err
			}
			id = subn.ID
		}
		var err error
		out, err = tx.QuotaRequests().List(id)
		return err
	})
	return out, err
}

// GetQuotaRequest returns one request.
func (s *Service) GetQuotaRequest(ctx context.Context, id string) (ptu.QuotaRequest, error) {
	var out ptu.QuotaRequest
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = getQuotaRequest(tx, id); return })
	return out, err
}

func getQuotaRequest(tx ptu.Tx, id string) (ptu.QuotaRequest, error) {
	q, err := tx.QuotaRequests().Get(strings.ToLower(id))
	if isNotFound(err) {
		return q, ptu.Errorf(ptu.CodeResourceNotFound, "Quota request '%s' was not found.", id)
	}
	return q, err
}

// DecideQuotaRequest approves or rejects a pending request. Approval raises the
// limit to the requested value in the same transaction.
func (s *Service) DecideQuotaRequest(ctx context.Context, id string, approve bool, note string) (ptu.QuotaRequest, error) {
	var out ptu.QuotaRequest
	err := s.update(ctx, func(tx ptu.Tx) error {
		q, err := getQuotaRequest(tx, id)
		if err != nil {
			return err
		}
		if q.State != ptu.QuotaRequestPending {
			return ptu.Errorf(ptu.CodeConflict, "Quota request '%s' was already %s.", q.ID, strings.ToLower(q.State))
		}
		q.State, q.ReviewNote, q.DecidedAt = ptu.QuotaRequestRejected, note, s.now()
		if approve {
			q.State = ptu.QuotaRequestApproved
			limit, err := s.quotaLimit(tx, q.SubscriptionID, q.Region, q.SKUName)
			if err != nil {
				return err
			}
			if q.RequestedLimit > limit {
				if err := tx.QuotaLimits().Put(ptu.QuotaLimit{SubscriptionID: q.SubscriptionID, Region: q.Region,
					SKUName: q.SKUName, Limit: q.RequestedLimit}); err != nil {
					return err
				}
			}
		}
		out = q
		return tx.QuotaRequests().Put(q)
	})
	return out, err
}

// PoolStatus is a capacity pool with what is allocated from it.
type PoolStatus struct {
	ptu.Pool
	Allocated int
	Free      int
}

// ListPools lists every capacity pool with its allocation.
func (s *Service) ListPools(ctx context.Context) ([]PoolStatus, error) {
	var out []PoolStatus
	err := s.view(ctx, func(tx ptu.Tx) error {
		w, err := loadWorld(tx)
		if err != nil {
			return err
		}
		for _, p := range w.pools {
			out = append(out, poolStatus(p, w.alloc[p.ID]))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return nil
	})
	return out, err
}

func poolStatus(p ptu.Pool, allocated int) PoolStatus {
	return PoolStatus{Pool: p, Allocated: allocated, Free: max(0, p.RatedPTU-allocated)}
}

// SetPoolRating changes a pool's PTU rating at runtime. Deployments already
// placed keep their allocations even when the new rating is below them; only
// new placements see the change.
func (s *Service) SetPoolRating(ctx context.Context, id string, ptus int) (PoolStatus, error) {
	if ptus < 0 || ptus > maxQuota {
		return PoolStatus{}, &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "ptu",
			Message: fmt.Sprintf("A pool rating must be between 0 and %d PTUs; got %d.", maxQuota, ptus)}
	}
	var out PoolStatus
	err := s.update(ctx, func(tx ptu.Tx) error {
		p, err := tx.Pools().Get(strings.ToLower(id))
		if isNotFound(err) {
			return ptu.Errorf(ptu.CodeResourceNotFound, "Capacity pool '%s' was not found.", id)
		}
		if err != nil {
			return err
		}
		p.RatedPTU = ptus
		if err := tx.Pools().Put(p); err != nil {
			return err
		}
		alloc, err := tx.Pools().Allocations()
		if err != nil {
			return err
		}
		out = poolStatus(p, alloc[p.ID])
		return nil
	})
	return out, err
}
