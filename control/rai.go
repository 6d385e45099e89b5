package control

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/ptu-dev/ptu"
)

// Content filter policies (raiPolicies) and custom blocklists (raiBlocklists)
// of an account. Policies named Microsoft.* are built in: they exist for
// every account and cannot be written.

var raiNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// MaxBlocklistPattern is the longest pattern a blocklist item may hold.
const MaxBlocklistPattern = 1000

var (
	raiModes      = []string{"Default", "Deferred", "Blocking", "Asynchronous_filter"}
	raiSources    = []string{ptu.RAISourcePrompt, ptu.RAISourceCompletion}
	raiThresholds = []string{"Low", "Medium", "High"}
)

// IsBuiltinRAIPolicy reports a policy every account has (Microsoft.Default, Microsoft.DefaultV2).
func IsBuiltinRAIPolicy(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "microsoft.")
}

func checkRAIName(kind, name string) error {
	if !raiNameRE.MatchString(name) {
		return ptu.Errorf(ptu.CodeInvalidResourceName,
			"%s name '%s' is invalid. It must be 1-64 characters of letters, digits, '-', '_' and '.', starting with a letter or digit.", kind, name)
	}
	return nil
}

func oneOf(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return "", false
}

// RAIPolicyInput is the writable part of a policy.
type RAIPolicyInput struct {
	BasePolicyName   string
	Mode             string
	ContentFilters   []ptu.RAIContentFilter
	CustomBlocklists []ptu.RAIBlocklistRef
}

// PutRAIPolicy creates or replaces a content filter policy. Every blocklist
// it names must exist in the account.
func (s *Service) PutRAIPolicy(ctx context.Context, sub, rg, acct, name string, in RAIPolicyInput) (ptu.RAIPolicy, bool, error) {
	var out ptu.RAIPolicy
	created := false
	if IsBuiltinRAIPolicy(name) {
		return out, false, ptu.Errorf(ptu.CodeInvalidResourceProperties, "Policy '%s' is built in and cannot be changed; create a policy with another name.", name)
	}
	if err := checkRAIName("RaiPolicy", name); err != nil {
		return out, false, err
	}
	p := ptu.RAIPolicy{Name: name, BasePolicyName: in.BasePolicyName, Mode: in.Mode}
	if p.BasePolicyName == "" {
		p.BasePolicyName = DefaultRAIPolicy
	}
	if p.Mode == "" {
		p.Mode = "Default"
	} else if m, ok := oneOf(p.Mode, raiModes); ok {
		p.Mode = m
	} else {
		return out, false, ptu.Errorf(ptu.CodeInvalidResourceProperties, "properties.mode '%s' is not valid; use one of %s.", in.Mode, strings.Join(raiModes, ", "))
	}
	for i, f := range in.ContentFilters {
		src, ok := oneOf(f.Source, raiSources)
		if !ok {
			return out, false, ptu.Errorf(ptu.CodeInvalidResourceProperties, "properties.contentFilters[%d].source '%s' must be Prompt or Completion.", i, f.Source)
		}
		f.Source = src
		if f.Name == "" {
			return out, false, ptu.Errorf(ptu.CodeInvalidResourceProperties, "properties.contentFilters[%d].name is required.", i)
		}
		if f.SeverityThreshold != "" {
			t, ok := oneOf(f.SeverityThreshold, raiThresholds)
			if !ok {
				return out, false, ptu.Errorf(ptu.CodeInvalidResourceProperties, "properties.contentFilters[%d].severityThreshold '%s' must be Low, Medium or High.", i, f.SeverityThreshold)
			}
			f.SeverityThreshold = t
		}
		p.ContentFilters = append(p.ContentFilters, f)
	}
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		for i, b := range in.CustomBlocklists {
			src, ok := oneOf(b.Source, raiSources)
			if !ok {
				return ptu.Errorf(ptu.CodeInvalidResourceProperties, "properties.customBlocklists[%d].source '%s' must be Prompt or Completion.", i, b.Source)
			}
			l, err := tx.RAIBlocklists().Get(a.SubscriptionID, a.ResourceGroup, a.Name, b.BlocklistName)
			if isNotFound(err) {
				return ptu.Errorf(ptu.CodeInvalidResourceProperties, "properties.customBlocklists[%d]: blocklist '%s' was not found in account '%s'.", i, b.BlocklistName, a.Name)
			}
			if err != nil {
				return err
			}
			p.CustomBlocklists = append(p.CustomBlocklists, ptu.RAIBlocklistRef{BlocklistName: l.Name, Blocking: b.Blocking, Source: src})
		}
		cur, err := tx.RAIPolicies().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
		now := s.now()
		p.SubscriptionID, p.ResourceGroup, p.AccountName, p.CreatedAt, p.UpdatedAt = a.SubscriptionID, a.ResourceGroup, a.Name, now, now
		switch {
		case isNotFound(err):
			created = true
		case err != nil:
			return err
		default:
			p.Name, p.CreatedAt = cur.Name, cur.CreatedAt
		}
		out = p
		return tx.RAIPolicies().Put(p)
	})
	return out, created, err
}

// GetRAIPolicy returns a policy of the account.
func (s *Service) GetRAIPolicy(ctx context.Context, sub, rg, acct, name string) (ptu.RAIPolicy, error) {
	var out ptu.RAIPolicy
	err := s.view(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		out, err = tx.RAIPolicies().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
		if isNotFound(err) {
			return ptu.Errorf(ptu.CodeResourceNotFound, "The RaiPolicy '%s' was not found in account '%s'.", name, a.Name)
		}
		return err
	})
	return out, err
}

// ListRAIPolicies lists the account's own policies.
func (s *Service) ListRAIPolicies(ctx context.Context, sub, rg, acct string) ([]ptu.RAIPolicy, error) {
	var out []ptu.RAIPolicy
	err := s.view(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		out, err = tx.RAIPolicies().List(a.SubscriptionID, a.ResourceGroup, a.Name)
		return err
	})
	return out, err
}

// DeleteRAIPolicy deletes a policy no deployment uses.
func (s *Service) DeleteRAIPolicy(ctx context.Context, sub, rg, acct, name string) (bool, error) {
	existed := true
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		if _, err := tx.RAIPolicies().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name); isNotFound(err) {
			existed = false
			return nil
		} else if err != nil {
			return err
		}
		ds, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: a.SubscriptionID, ResourceGroup: a.ResourceGroup, Account: a.Name})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if strings.EqualFold(d.RAIPolicyName, name) {
				return ptu.Errorf(ptu.CodeConflict, "RaiPolicy '%s' is used by deployment '%s'. Change that deployment's raiPolicyName first.", name, d.Name)
			}
		}
		return tx.RAIPolicies().Delete(a.SubscriptionID, a.ResourceGroup, a.Name, name)
	})
	return existed, err
}

// RAIPolicyFor returns what a deployment's raiPolicyName means in its
// account: the policy and the blocklists it names. A built-in policy has no
// custom blocklists (found is false).
func (s *Service) RAIPolicyFor(ctx context.Context, a ptu.Account, name string) (p ptu.RAIPolicy, lists []ptu.RAIBlocklist, found bool, err error) {
	if name == "" || IsBuiltinRAIPolicy(name) {
		return p, nil, false, nil
	}
	err = s.view(ctx, func(tx ptu.Tx) error {
		p, err = tx.RAIPolicies().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		for _, ref := range p.CustomBlocklists {
			l, err := tx.RAIBlocklists().Get(a.SubscriptionID, a.ResourceGroup, a.Name, ref.BlocklistName)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			lists = append(lists, l)
		}
		return nil
	})
	return p, lists, found, err
}

// PutRAIBlocklist creates a blocklist or changes its description; items are kept.
func (s *Service) PutRAIBlocklist(ctx context.Context, sub, rg, acct, name, description string) (ptu.RAIBlocklist, bool, error) {
	var out ptu.RAIBlocklist
	created := false
	if err := checkRAIName("RaiBlocklist", name); err != nil {
		return out, false, err
	}
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		l, err := tx.RAIBlocklists().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
		now := s.now()
		switch {
		case isNotFound(err):
			created = true
			l = ptu.RAIBlocklist{SubscriptionID: a.SubscriptionID, ResourceGroup: a.ResourceGroup, AccountName: a.Name, Name: name, CreatedAt: now}
		case err != nil:
			return err
		}
		l.Description, l.UpdatedAt = description, now
		out = l
		return tx.RAIBlocklists().Put(l)
	})
	return out, created, err
}

func (s *Service) getBlocklist(tx ptu.Tx, sub, rg, acct, name string) (ptu.RAIBlocklist, error) {
	a, err := getAccount(tx, sub, rg, acct)
	if err != nil {
		return ptu.RAIBlocklist{}, err
	}
	l, err := tx.RAIBlocklists().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
	if isNotFound(err) {
		return l, ptu.Errorf(ptu.CodeResourceNotFound, "The RaiBlocklist '%s' was not found in account '%s'.", name, a.Name)
	}
	return l, err
}

// GetRAIBlocklist returns a blocklist with its items.
func (s *Service) GetRAIBlocklist(ctx context.Context, sub, rg, acct, name string) (ptu.RAIBlocklist, error) {
	var out ptu.RAIBlocklist
	err := s.view(ctx, func(tx ptu.Tx) (err error) { out, err = s.getBlocklist(tx, sub, rg, acct, name); return })
	return out, err
}

// ListRAIBlocklists lists the account's blocklists.
func (s *Service) ListRAIBlocklists(ctx context.Context, sub, rg, acct string) ([]ptu.RAIBlocklist, error) {
	var out []ptu.RAIBlocklist
	err := s.view(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		out, err = tx.RAIBlocklists().List(a.SubscriptionID, a.ResourceGroup, a.Name)
		return err
	})
	return out, err
}

// DeleteRAIBlocklist deletes a blocklist no policy uses.
func (s *Service) DeleteRAIBlocklist(ctx context.Context, sub, rg, acct, name string) (bool, error) {
	existed := true
	err := s.update(ctx, func(tx ptu.Tx) error {
		a, err := getAccount(tx, sub, rg, acct)
		if err != nil {
			return err
		}
		l, err := tx.RAIBlocklists().Get(a.SubscriptionID, a.ResourceGroup, a.Name, name)
		if isNotFound(err) {
			existed = false
			return nil
		}
		if err != nil {
			return err
		}
		ps, err := tx.RAIPolicies().List(l.SubscriptionID, l.ResourceGroup, l.AccountName)
		if err != nil {
			return err
		}
		for _, p := range ps {
			for _, ref := range p.CustomBlocklists {
				if strings.EqualFold(ref.BlocklistName, name) {
					return ptu.Errorf(ptu.CodeConflict, "RaiBlocklist '%s' is used by RaiPolicy '%s'. Remove it from that policy first.", name, p.Name)
				}
			}
		}
		return tx.RAIBlocklists().Delete(l.SubscriptionID, l.ResourceGroup, l.AccountName, l.Name)
	})
	return existed, err
}

// CheckBlocklistItem validates an item's pattern: non-empty, at most
// MaxBlocklistPattern characters, and a valid regular expression (RE2
// syntax) when IsRegex.
func CheckBlocklistItem(it ptu.RAIBlocklistItem) error {
	if err := checkRAIName("RaiBlocklistItem", it.Name); err != nil {
		return err
	}
	if strings.TrimSpace(it.Pattern) == "" || len(it.Pattern) > MaxBlocklistPattern {
		return ptu.Errorf(ptu.CodeInvalidResourceProperties, "Item '%s': pattern must be 1-%d characters.", it.Name, MaxBlocklistPattern)
	}
	if it.IsRegex {
		if _, err := regexp.Compile(it.Pattern); err != nil {
			return ptu.Errorf(ptu.CodeInvalidResourceProperties, "Item '%s': pattern is not a valid regular expression: %v", it.Name, err)
		}
	}
	return nil
}

// PutRAIBlocklistItems adds or replaces items of a blocklist (by name).
func (s *Service) PutRAIBlocklistItems(ctx context.Context, sub, rg, acct, list string, items []ptu.RAIBlocklistItem) (ptu.RAIBlocklist, []bool, error) {
	var out ptu.RAIBlocklist
	created := make([]bool, len(items))
	for _, it := range items {
		if err := CheckBlocklistItem(it); err != nil {
			return out, nil, err
		}
	}
	err := s.update(ctx, func(tx ptu.Tx) error {
		l, err := s.getBlocklist(tx, sub, rg, acct, list)
		if err != nil {
			return err
		}
		for i, it := range items {
			j := slices.IndexFunc(l.Items, func(x ptu.RAIBlocklistItem) bool { return strings.EqualFold(x.Name, it.Name) })
			if j < 0 {
				created[i] = true
				l.Items = append(l.Items, it)
			} else {
				it.Name = l.Items[j].Name
				l.Items[j] = it
			}
		}
		l.UpdatedAt = s.now()
		out = l
		return tx.RAIBlocklists().Put(l)
	})
	return out, created, err
}

// DeleteRAIBlocklistItems removes items by name; it reports how many existed.
func (s *Service) DeleteRAIBlocklistItems(ctx context.Context, sub, rg, acct, list string, names []string) (int, error) {
	n := 0
	err := s.update(ctx, func(tx ptu.Tx) error {
		l, err := s.getBlocklist(tx, sub, rg, acct, list)
		if err != nil {
			return err
		}
		kept := l.Items[:0]
		for _, it := range l.Items {
			if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, it.Name) }) {
				n++
				continue
			}
			kept = append(kept, it)
		}
		l.Items, l.UpdatedAt = kept, s.now()
		return tx.RAIBlocklists().Put(l)
	})
	return n, err
}
