package control

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// DeploymentInput is what a caller may set on a deployment. Empty fields of an
// update keep their current values.
type DeploymentInput struct {
	Model                ptu.ModelRef // Name required on create; Version "" means the default version
	SKUName              string
	Capacity             *int // nil: the type's default on create, the current size on update
	RAIPolicyName        string
	VersionUpgradeOption string
	// SpilloverDeploymentName: nil keeps the current target, "" removes it.
	SpilloverDeploymentName *string
	By                      string // the caller making the change (systemData); "" keeps the record's
}

// CapacityShortage is the Info of an InsufficientResourcesAvailable error: what can
// be deployed now, and where else the deployment would fit (the "see other regions" path).
type CapacityShortage struct {
	Requested     int           `json:"requested"`
	DeployableNow int           `json:"deployableNow"`
	QuotaFree     int           `json:"quotaFree"`
	Alternatives  []Alternative `json:"alternatives"`
}

// Alternative is a region where the requested deployment would fit now.
type Alternative struct {
	Location    string   `json:"location"`
	DisplayName string   `json:"displayName"`
	MaxCapacity int      `json:"maxCapacity"`
	Accounts    []string `json:"accounts"` // ARM ids of the caller's accounts in that region
}

var upgradeOptions = []string{"OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"}

// DefaultRAIPolicy is the content filter policy a deployment gets when it names none.
const DefaultRAIPolicy = "Microsoft.DefaultV2"

// PutDeployment creates or updates a deployment. For provisioned types it checks
// the quota and places the PTUs in capacity pools in the same transaction, so a
// refused request changes nothing and concurrent requests never oversubscribe.
func (s *Service) PutDeployment(ctx context.Context, sub, rg, acct, name string, in DeploymentInput) (ptu.Deployment, bool, error) {
	if err := checkDeploymentName(name); err != nil {
		return ptu.Deployment{}, false, err
	}
	var out ptu.Deployment
	var created bool
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		cur, err := tx.Deployments().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
		exists := err == nil
		if err != nil && !isNotFound(err) {
			return err
		}
		created = !exists
		d, m, err := s.resolveDeployment(tx, a, name, in, cur, exists)
		if err != nil {
			return err
		}
		if ptu.IsProvisioned(d.SKUName) {
			var held, keep []ptu.Allocation
			if exists {
				held = cur.Allocations
				if cur.SKUName == d.SKUName && cur.Model.Version == d.Model.Version {
					keep = cur.Allocations
				}
			}
			selfCap := 0
			if exists && cur.SKUName == d.SKUName {
				selfCap = cur.Capacity
			}
			if d.Allocations, err = s.reserve(tx, a, m, d, held, keep, selfCap); err != nil {
				return err
			}
		} else if err := s.checkStandardQuota(tx, a, m, d, cur, exists); err != nil {
			return err
		}
		now := s.now()
		d.CreatedAt, d.UpdatedAt = now, now
		d.CreatedBy, d.ModifiedBy = in.By, in.By
		if exists {
			d.CreatedAt, d.CreatedBy = cur.CreatedAt, cur.CreatedBy
			if in.By == "" {
				d.ModifiedBy = cur.ModifiedBy
			}
		}
		out = d
		return putDeploymentRecorded(tx, cur, exists, d)
	})
	if err != nil {
		return ptu.Deployment{}, false, err
	}
	return out, created, nil
}

// resolveDeployment validates the input against the catalog and the account and
// returns the deployment as it would be stored (without allocations).
func (s *Service) resolveDeployment(tx ptu.Tx, a ptu.Account, name string, in DeploymentInput, cur ptu.Deployment, exists bool) (ptu.Deployment, *catalog.Model, error) {
	ref := in.Model
	if ref.Name == "" {
		if !exists {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.model.name",
				Message: "properties.model.name is required: name the model to deploy, e.g. 'gpt-4o'."}
		}
		ref = cur.Model
		if in.Model.Version != "" {
			ref.Version = in.Model.Version
		}
	}
	if ref.Format != "" && !strings.EqualFold(ref.Format, "OpenAI") {
		return ptu.Deployment{}, nil, ptu.Errorf(ptu.CodeDeploymentModelNotSupported,
			"The model format '%s' is not supported. Use 'OpenAI'.", ref.Format)
	}
	m, ok := s.cat.Lookup(ref.Name, ref.Version)
	if !ok {
		return ptu.Deployment{}, nil, s.unknownModel(ref)
	}
	if exists && !strings.EqualFold(m.Name, cur.Model.Name) {
		return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.model.name",
			Message: fmt.Sprintf("The model of deployment '%s' is '%s' and cannot be changed to '%s'. Create a new deployment instead.", name, cur.Model.Name, m.Name)}
	}

	skuName := in.SKUName
	if skuName == "" {
		if !exists {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "sku.name",
				Message: "sku.name is required: choose a deployment type such as 'GlobalProvisionedManaged'."}
		}
		skuName = cur.SKUName
	}
	canon := ptu.CanonicalSKU(skuName)
	sku, ok := m.SKU(canon)
	if canon == "" || !ok {
		var names []string
		for _, k := range m.SKUs {
			names = append(names, k.Name)
		}
		return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidSKU, Target: "sku.name",
			Message: fmt.Sprintf("The deployment type '%s' is not supported by model '%s' version '%s'. Supported types: %s.",
				skuName, m.Name, m.Version, strings.Join(names, ", "))}
	}

	capacity := sku.Default
	if in.Capacity != nil {
		capacity = *in.Capacity
	} else if exists && cur.SKUName == sku.Name {
		capacity = cur.Capacity
	}
	if err := sku.CheckCapacity(capacity); err != nil {
		return ptu.Deployment{}, nil, err
	}

	upgrade := "OnceNewDefaultVersionAvailable"
	if exists && cur.VersionUpgradeOption != "" {
		upgrade = cur.VersionUpgradeOption
	}
	if in.VersionUpgradeOption != "" {
		upgrade = ""
		for _, o := range upgradeOptions {
			if strings.EqualFold(o, in.VersionUpgradeOption) {
				upgrade = o
			}
		}
		if upgrade == "" {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.versionUpgradeOption",
				Message: fmt.Sprintf("versionUpgradeOption '%s' is invalid. Use one of %s.", in.VersionUpgradeOption, strings.Join(upgradeOptions, ", "))}
		}
	}
	rai := in.RAIPolicyName
	if rai == "" {
		rai = DefaultRAIPolicy
		if exists && cur.RAIPolicyName != "" {
			rai = cur.RAIPolicyName
		}
	}
	if !IsBuiltinRAIPolicy(rai) {
		p, err := tx.RAIPolicies().Get(a.SubscriptionID, a.ResourceGroup, a.Name, rai)
		if isNotFound(err) {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.raiPolicyName",
				Message: fmt.Sprintf("Content filter policy '%s' does not exist in account '%s'. Create it first (raiPolicies), or use %s.", rai, a.Name, DefaultRAIPolicy)}
		}
		if err != nil {
			return ptu.Deployment{}, nil, err
		}
		rai = p.Name
	}

	spill := ""
	if in.SpilloverDeploymentName != nil {
		spill = *in.SpilloverDeploymentName
	} else if exists {
		spill = cur.SpilloverDeploymentName
	}
	if spill != "" {
		if !ptu.IsProvisioned(sku.Name) {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.spilloverDeploymentName",
				Message: "Only provisioned deployments can spill over; this deployment is of type " + sku.Name + "."}
		}
		if strings.EqualFold(spill, name) {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.spilloverDeploymentName",
				Message: "A deployment cannot spill over to itself."}
		}
		t, err := tx.Deployments().Get(a.SubscriptionID, a.ResourceGroup, a.Name, spill)
		if isNotFound(err) {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.spilloverDeploymentName",
				Message: fmt.Sprintf("Spillover deployment '%s' was not found in account '%s'. Create a Standard, GlobalStandard or DataZoneStandard deployment first.", spill, a.Name)}
		}
		if err != nil {
			return ptu.Deployment{}, nil, err
		}
		if ptu.IsProvisioned(t.SKUName) {
			return ptu.Deployment{}, nil, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.spilloverDeploymentName",
				Message: fmt.Sprintf("Spillover deployment '%s' is of type %s; it must be a Standard, GlobalStandard or DataZoneStandard deployment.", spill, t.SKUName)}
		}
		spill = t.Name
	}

	d := ptu.Deployment{
		SubscriptionID: a.SubscriptionID, ResourceGroup: a.ResourceGroup, AccountName: a.Name, Name: name,
		Region:  a.Location,
		Model:   m.Ref(),
		SKUName: sku.Name, Capacity: capacity,
		RAIPolicyName: rai, VersionUpgradeOption: upgrade, SpilloverDeploymentName: spill,
		State: ptu.StateSucceeded,
	}
	if exists {
		d.Name = cur.Name
	}
	return d, m, nil
}

func (s *Service) unknownModel(ref ptu.ModelRef) error {
	versions := s.cat.Versions(ref.Name)
	if len(versions) == 0 {
		var names []string
		seen := map[string]bool{}
		for _, m := range s.cat.Models {
			if !seen[m.Name] {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
		return &ptu.Error{Code: ptu.CodeDeploymentModelNotSupported, Target: "properties.model",
			Message: fmt.Sprintf("The model '%s' of account deployment is not supported. Available models: %s.", ref, strings.Join(names, ", "))}
	}
	var vs []string
	for _, m := range versions {
		vs = append(vs, m.Version)
	}
	return &ptu.Error{Code: ptu.CodeDeploymentModelNotSupported, Target: "properties.model.version",
		Message: fmt.Sprintf("The model '%s' of account deployment is not supported. Available versions of '%s': %s.", ref, versions[0].Name, strings.Join(vs, ", "))}
}

// reserve checks quota and places d's PTUs, returning its allocations. held are
// the allocations d holds now (released by this change), keep those of them that
// may stay where they are; selfCap is d's current size when it already counts
// against the same quota.
func (s *Service) reserve(tx ptu.Tx, a ptu.Account, m *catalog.Model, d ptu.Deployment, held, keep []ptu.Allocation, selfCap int) ([]ptu.Allocation, error) {
	free, used, limit, err := s.quotaFree(tx, a.SubscriptionID, a.Location, d.SKUName, selfCap)
	if err != nil {
		return nil, err
	}
	if d.Capacity > free {
		usage := ptu.QuotaUsageName(d.SKUName)
		return nil, ptu.Errorf(ptu.CodeInsufficientQuota,
			"This operation require %d new capacity in quota %s, which is bigger than the current available capacity %d. The current quota usage is %d and the quota limit is %d for quota %s in region %s. Request more quota or choose a smaller size.",
			d.Capacity, usageDisplay[d.SKUName], free, used, limit, usage, a.Location)
	}
	w, err := loadWorld(tx)
	if err != nil {
		return nil, err
	}
	others := w.without(held)
	cands := w.candidates(m.Name, m.Version, d.SKUName, a.Location, others)
	allocs, short := place(cands, others, keep, d.Capacity)
	if short == 0 {
		return allocs, nil
	}
	sku, _ := m.SKU(d.SKUName)
	shortage := &CapacityShortage{Requested: d.Capacity, QuotaFree: free,
		DeployableNow: floorToStep(min(free, capacityFor(cands, others, keep)), sku)}
	alts, err := s.alternatives(tx, w, a, m, d)
	if err != nil {
		return nil, err
	}
	shortage.Alternatives = alts
	msg := fmt.Sprintf("There is not enough capacity for %d PTUs of %s %s (%s) in %s; %d PTUs can be deployed there now (your free quota is %d).",
		d.Capacity, m.Name, m.Version, d.SKUName, a.Location, shortage.DeployableNow, free)
	if len(alts) > 0 {
		var where []string
		for _, alt := range alts {
			where = append(where, fmt.Sprintf("%s (up to %d PTUs, %d of your accounts there)", alt.Location, alt.MaxCapacity, len(alt.Accounts)))
		}
		msg += " It would fit in: " + strings.Join(where, "; ") + "."
	} else {
		msg += " No other region has room for it now."
	}
	return nil, &ptu.Error{Code: ptu.CodeInsufficientCapacity, Message: msg, Info: shortage}
}

// alternatives lists the other regions where a new deployment like d would fit now.
func (s *Service) alternatives(tx ptu.Tx, w *world, a ptu.Account, m *catalog.Model, d ptu.Deployment) ([]Alternative, error) {
	sku, _ := m.SKU(d.SKUName)
	accounts, err := tx.Accounts().List(a.SubscriptionID, "")
	if err != nil {
		return nil, err
	}
	out := []Alternative{}
	for _, name := range w.names {
		if name == a.Location {
			continue
		}
		largest, err := s.largest(tx, w, a.SubscriptionID, name, m, sku)
		if err != nil {
			return nil, err
		}
		if largest < d.Capacity {
			continue
		}
		alt := Alternative{Location: name, DisplayName: w.regions[name].DisplayName, MaxCapacity: largest, Accounts: []string{}}
		for _, acc := range accounts {
			if acc.Location == name {
				alt.Accounts = append(alt.Accounts, acc.ID())
			}
		}
		out = append(out, alt)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].MaxCapacity > out[j].MaxCapacity })
	return out, nil
}

// largest is the biggest new deployment of m with sku that sub could create in region now.
func (s *Service) largest(tx ptu.Tx, w *world, sub, region string, m *catalog.Model, sku *catalog.SKU) (int, error) {
	free, _, _, err := s.quotaFree(tx, sub, region, sku.Name, 0)
	if err != nil {
		return 0, err
	}
	cands := w.candidates(m.Name, m.Version, sku.Name, region, w.alloc)
	return floorToStep(min(free, capacityFor(cands, w.alloc, nil)), sku), nil
}

// floorToStep is the largest valid size not above n, or 0 when even the minimum does not fit.
func floorToStep(n int, sku *catalog.SKU) int {
	n = min(n, sku.Maximum)
	if n < sku.Minimum {
		return 0
	}
	return n - (n-sku.Minimum)%sku.Step
}

// GetDeployment returns a deployment or DeploymentNotFound.
func (s *Service) GetDeployment(ctx context.Context, sub, rg, acct, name string) (ptu.Deployment, error) {
	var out ptu.Deployment
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = getDeployment(tx, sub, rg, acct, name); return })
	return out, err
}

func getDeployment(tx ptu.Tx, sub, rg, acct, name string) (ptu.Deployment, error) {
	a, err := getAccount(tx, sub, rg, acct)
	if err != nil {
		return ptu.Deployment{}, err
	}
	d, err := tx.Deployments().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
	if isNotFound(err) {
		return d, ptu.Errorf(ptu.CodeDeploymentNotFound, "The deployment '%s' was not found in account '%s'.", name, a.Name)
	}
	return d, err
}

// ListDeployments lists an account's deployments.
func (s *Service) ListDeployments(ctx context.Context, sub, rg, acct string) ([]ptu.Deployment, error) {
	var out []ptu.Deployment
	err := s.view(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		out, err = tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: a.SubscriptionID, ResourceGroup: a.ResourceGroup, Account: a.Name})
		return err
	})
	return out, err
}

// DeleteDeployment deletes a deployment, releasing its PTUs. A Standard deployment
// that a provisioned one spills over to cannot be deleted until that link is removed.
func (s *Service) DeleteDeployment(ctx context.Context, sub, rg, acct, name string) (bool, error) {
	existed := true
	err := s.update(ctx, func(tx ptu.Tx) error {
		d, err := getDeployment(tx, sub, rg, acct, name)
		if ptu.ErrorCode(err) == ptu.CodeDeploymentNotFound {
			existed = false
			return nil
		}
		if err != nil {
			return err
		}
		siblings, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: d.SubscriptionID, ResourceGroup: d.ResourceGroup, Account: d.AccountName})
		if err != nil {
			return err
		}
		for _, o := range siblings {
			if strings.EqualFold(o.SpilloverDeploymentName, d.Name) {
				return ptu.Errorf(ptu.CodeConflict,
					"Deployment '%s' is the spillover target of '%s'. Remove spilloverDeploymentName from '%s' first.", d.Name, o.Name, o.Name)
			}
		}
		return deleteDeploymentRecorded(tx, d, s.now())
	})
	return existed, err
}

// Capacity is the size rule of a deployment type.
type Capacity struct{ Minimum, Maximum, Step, Default int }

// SKUOption is a deployment type a deployment may use, with its size rule.
type SKUOption struct {
	ResourceType string
	Name         string
	Capacity     Capacity
}

func capacityOf(k *catalog.SKU) Capacity {
	return Capacity{Minimum: k.Minimum, Maximum: k.Maximum, Step: k.Step, Default: k.Default}
}

// DeploymentSKUs lists the deployment types the deployment's model supports.
func (s *Service) DeploymentSKUs(ctx context.Context, sub, rg, acct, name string) ([]SKUOption, error) {
	d, err := s.GetDeployment(ctx, sub, rg, acct, name)
	if err != nil {
		return nil, err
	}
	m, ok := s.cat.Lookup(d.Model.Name, d.Model.Version)
	if !ok {
		return nil, s.unknownModel(d.Model)
	}
	var out []SKUOption
	for i := range m.SKUs {
		out = append(out, SKUOption{ResourceType: "Microsoft.CognitiveServices/accounts/deployments",
			Name: m.SKUs[i].Name, Capacity: capacityOf(&m.SKUs[i])})
	}
	return out, nil
}
