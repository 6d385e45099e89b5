package control

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/ptu-dev/ptu"
)

// AccountInput is what a caller may set on an account.
type AccountInput struct {
	Location            string
	Kind                string // OpenAI (default) or AIServices
	SKU                 string // S0
	CustomSubDomain     string // defaults to the lowercased account name
	Tags                map[string]string
	DisableLocalAuth    bool
	PublicNetworkAccess string // Enabled (default) or Disabled
	By                  string // the caller making the change (systemData); "" keeps the record's
}

// ListSubscriptions lists every subscription.
func (s *Service) ListSubscriptions(ctx context.Context) ([]ptu.Subscription, error) {
	var out []ptu.Subscription
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = tx.Subscriptions().List(); return })
	return out, err
}

// GetSubscription returns one subscription or SubscriptionNotFound.
func (s *Service) GetSubscription(ctx context.Context, id string) (ptu.Subscription, error) {
	var out ptu.Subscription
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = getSubscription(tx, id); return })
	return out, err
}

func getSubscription(tx ptu.Tx, id string) (ptu.Subscription, error) {
	sub, err := tx.Subscriptions().Get(strings.ToLower(id))
	if isNotFound(err) {
		return sub, ptu.Errorf(ptu.CodeSubscriptionNotFound, "The subscription '%s' could not be found.", id)
	}
	return sub, err
}

// ListLocations lists the regions a subscription can use.
func (s *Service) ListLocations(ctx context.Context, sub string) ([]ptu.Region, error) {
	var out []ptu.Region
	err := s.view(ctx, func(tx ptu.Tx) error {
		if _, err := getSubscription(tx, sub); err != nil {
			return err
		}
		var err error
		out, err = tx.Regions().List()
		return err
	})
	return out, err
}

func getRegion(tx ptu.Tx, name string) (ptu.Region, error) {
	regions, err := tx.Regions().List()
	if err != nil {
		return ptu.Region{}, err
	}
	norm := strings.ToLower(strings.ReplaceAll(name, " ", ""))
	var names []string
	for _, r := range regions {
		if r.Name == norm || strings.EqualFold(strings.ReplaceAll(r.DisplayName, " ", ""), norm) {
			return r, nil
		}
		names = append(names, r.Name)
	}
	return ptu.Region{}, ptu.Errorf(ptu.CodeLocationNotAvailable,
		"The provided location '%s' is not available for resource type 'Microsoft.CognitiveServices/accounts'. List of available regions is '%s'.",
		name, strings.Join(names, ","))
}

// PutAccount creates an account, or updates its tags and settings. Location and
// custom subdomain cannot change once set.
func (s *Service) PutAccount(ctx context.Context, sub, rg, name string, in AccountInput) (ptu.Account, bool, error) {
	if err := checkResourceGroup(rg); err != nil {
		return ptu.Account{}, false, err
	}
	if err := checkAccountName(name); err != nil {
		return ptu.Account{}, false, err
	}
	kind := in.Kind
	switch {
	case kind == "":
		kind = "OpenAI"
	case strings.EqualFold(kind, "OpenAI"):
		kind = "OpenAI"
	case strings.EqualFold(kind, "AIServices"):
		kind = "AIServices"
	default:
		return ptu.Account{}, false, ptu.Errorf(ptu.CodeInvalidResourceProperties,
			"The kind '%s' is not supported. Use 'OpenAI' or 'AIServices'.", in.Kind)
	}
	sku := in.SKU
	if sku == "" || strings.EqualFold(sku, "S0") {
		sku = "S0"
	} else {
		return ptu.Account{}, false, ptu.Errorf(ptu.CodeInvalidSKU,
			"The SKU '%s' is not supported for kind '%s'. Use 'S0'.", in.SKU, kind)
	}
	pna := in.PublicNetworkAccess
	switch {
	case pna == "" || strings.EqualFold(pna, "Enabled"):
		pna = "Enabled"
	case strings.EqualFold(pna, "Disabled"):
		pna = "Disabled"
	default:
		return ptu.Account{}, false, ptu.Errorf(ptu.CodeInvalidResourceProperties,
			"publicNetworkAccess '%s' is invalid. Use 'Enabled' or 'Disabled'.", in.PublicNetworkAccess)
	}
	if in.Location == "" {
		return ptu.Account{}, false, ptu.Errorf(ptu.CodeInvalidResourceProperties, "The location of the account is required.")
	}
	subDomain := strings.ToLower(in.CustomSubDomain)

	var out ptu.Account
	var created bool
	err := s.update(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		region, err := getRegion(tx, in.Location)
		if err != nil {
			return err
		}
		now := s.now()
		cur, err := tx.Accounts().Get(subn.ID, rg, name)
		switch {
		case isNotFound(err):
			created = true
			if subDomain == "" {
				subDomain = strings.ToLower(name)
			}
			if err := checkSubDomain(subDomain); err != nil {
				return err
			}
			if other, err := tx.Accounts().GetBySubDomain(subDomain); err == nil {
				return ptu.Errorf(ptu.CodeCustomDomainInUse,
					"The subdomain name '%s' is not available as it's already used by a resource (%s).", subDomain, other.ID())
			} else if !isNotFound(err) {
				return err
			}
			out = ptu.Account{
				SubscriptionID: subn.ID, ResourceGroup: rg, Name: name,
				CustomSubDomain: subDomain,
				Key1:            newKey(), Key2: newKey(),
				CreatedAt: now, CreatedBy: in.By,
			}
		case err != nil:
			return err
		default:
			out = cur
			if out.Location != region.Name {
				return ptu.Errorf(ptu.CodeConflict,
					"The location of account '%s' is '%s' and cannot be changed to '%s'.", name, out.Location, region.Name)
			}
			if subDomain != "" && subDomain != strings.ToLower(out.CustomSubDomain) {
				return ptu.Errorf(ptu.CodeConflict,
					"The custom subdomain of account '%s' is '%s' and cannot be changed.", name, out.CustomSubDomain)
			}
		}
		out.Location = region.Name
		out.Kind = kind
		out.SKU = sku
		out.Tags = in.Tags
		out.DisableLocalAuth = in.DisableLocalAuth
		out.PublicNetwork = pna
		out.State = ptu.StateSucceeded
		out.UpdatedAt = now
		if in.By != "" {
			out.ModifiedBy = in.By
		}
		return tx.Accounts().Put(out)
	})
	if err != nil {
		return ptu.Account{}, false, err
	}
	return out, created, nil
}

// GetAccount returns an account or ResourceNotFound.
func (s *Service) GetAccount(ctx context.Context, sub, rg, name string) (ptu.Account, error) {
	var out ptu.Account
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = getAccount(tx, sub, rg, name); return })
	return out, err
}

func getAccount(tx ptu.Tx, sub, rg, name string) (ptu.Account, error) {
	subn, err := getSubscription(tx, sub)
	if err != nil {
		return ptu.Account{}, err
	}
	a, err := tx.Accounts().Get(subn.ID, rg, name)
	if isNotFound(err) {
		return a, ptu.Errorf(ptu.CodeResourceNotFound,
			"The Resource 'Microsoft.CognitiveServices/accounts/%s' under resource group '%s' was not found.", name, rg)
	}
	return a, err
}

// AccountBySubDomain resolves an inference endpoint's account.
func (s *Service) AccountBySubDomain(ctx context.Context, subDomain string) (ptu.Account, error) {
	var out ptu.Account
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = tx.Accounts().GetBySubDomain(subDomain); return })
	if isNotFound(err) {
		return out, ptu.Errorf(ptu.CodeResourceNotFound, "No account has the endpoint subdomain '%s'.", subDomain)
	}
	return out, err
}

// ListAccounts lists a subscription's accounts, or one resource group's when rg is set.
func (s *Service) ListAccounts(ctx context.Context, sub, rg string) ([]ptu.Account, error) {
	var out []ptu.Account
	err := s.view(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		out, err = tx.Accounts().List(subn.ID, rg)
		return err
	})
	return out, err
}

// DeleteAccount deletes an account with its deployments, releasing their capacity.
func (s *Service) DeleteAccount(ctx context.Context, sub, rg, name string) (bool, error) {
	existed := true
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, name)
		if ptu.ErrorCode(err) == ptu.CodeResourceNotFound {
			existed = false
			return nil
		}
		if err != nil {
			return err
		}
		return deleteAccountRecorded(tx, a, s.now())
	})
	return existed, err
}

// RegenerateKey replaces Key1 or Key2 with a new random key; the old one stops working at once.
func (s *Service) RegenerateKey(ctx context.Context, sub, rg, name, keyName string) (ptu.Account, error) {
	var out ptu.Account
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, name)
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(keyName, "Key1"):
			a.Key1 = newKey()
		case strings.EqualFold(keyName, "Key2"):
			a.Key2 = newKey()
		default:
			return &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "keyName",
				Message: "keyName '" + keyName + "' is invalid. Use 'Key1' or 'Key2'."}
		}
		a.UpdatedAt = s.now()
		out = a
		return tx.Accounts().Put(a)
	})
	return out, err
}

// sortedRegions returns regions sorted by name; used where output order matters.
func sortedRegions(rs []ptu.Region) []ptu.Region {
	out := append([]ptu.Region(nil), rs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var errStop = errors.New("stop")
