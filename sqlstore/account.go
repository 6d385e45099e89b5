package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ptu-dev/ptu"
)

const accountColumns = `subscription_id, resource_group, name, location, kind, sku, custom_subdomain, tags,
	key1, key2, disable_local_auth, public_network, state, created_at, updated_at, created_by, modified_by`

func scanAccount(r interface{ Scan(...any) error }) (ptu.Account, error) {
	var a ptu.Account
	var tags, created, updated string
	if err := r.Scan(&a.SubscriptionID, &a.ResourceGroup, &a.Name, &a.Location, &a.Kind, &a.SKU,
		&a.CustomSubDomain, &tags, &a.Key1, &a.Key2, &a.DisableLocalAuth, &a.PublicNetwork, &a.State,
		&created, &updated, &a.CreatedBy, &a.ModifiedBy); err != nil {
		return a, err
	}
	if tags != "" && tags != "{}" {
		if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
			return a, fmt.Errorf("store: tags of account %s: %w", a.ID(), err)
		}
	}
	var err error
	if a.CreatedAt, err = parseTime(created); err != nil {
		return a, err
	}
	a.UpdatedAt, err = parseTime(updated)
	return a, err
}

func (t accounts) List(subscriptionID, resourceGroup string) ([]ptu.Account, error) {
	return scanAll(t, func(r *sql.Rows) (ptu.Account, error) { return scanAccount(r) },
		`SELECT `+accountColumns+` FROM accounts
		WHERE subscription_id = ? AND (? = '' OR resource_group = ?)
		ORDER BY resource_group, name`, subscriptionID, resourceGroup, resourceGroup)
}

func (t accounts) Get(subscriptionID, resourceGroup, name string) (ptu.Account, error) {
	a, err := scanAccount(t.queryRow(`SELECT `+accountColumns+` FROM accounts
		WHERE subscription_id = ? AND resource_group = ? AND name = ?`, subscriptionID, resourceGroup, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account %s", ptu.AccountID(subscriptionID, resourceGroup, name))
	}
	return a, err
}

func (t accounts) GetBySubDomain(subDomain string) (ptu.Account, error) {
	if subDomain == "" {
		return ptu.Account{}, notFound("account with an empty custom subdomain")
	}
	a, err := scanAccount(t.queryRow(`SELECT `+accountColumns+` FROM accounts WHERE custom_subdomain = ?`, subDomain))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account with custom subdomain %s", subDomain)
	}
	return a, err
}

// Put creates or replaces an account. A replaced account keeps the
// casing of its resource group and name from creation. A custom subdomain
// held by another account fails with ptu.CodeCustomDomainInUse.
func (t accounts) Put(a ptu.Account) error {
	if a.CustomSubDomain != "" {
		var sub, rg, name string
		err := t.queryRow(`SELECT subscription_id, resource_group, name FROM accounts
			WHERE custom_subdomain = ? AND NOT (subscription_id = ? AND resource_group = ? AND name = ?)`,
			a.CustomSubDomain, a.SubscriptionID, a.ResourceGroup, a.Name).Scan(&sub, &rg, &name)
		switch {
		case err == nil:
			return &ptu.Error{
				Code:    ptu.CodeCustomDomainInUse,
				Message: fmt.Sprintf("The subdomain name '%s' is not available as it's already used by a resource.", a.CustomSubDomain),
				Target:  "customSubDomainName",
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}

	tags := "{}"
	if len(a.Tags) > 0 {
		b, err := json.Marshal(a.Tags)
		if err != nil {
			return err
		}
		tags = string(b)
	}
	_, err := t.exec(`INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subscription_id, resource_group, name) DO UPDATE SET
			location = excluded.location, kind = excluded.kind, sku = excluded.sku,
			custom_subdomain = excluded.custom_subdomain, tags = excluded.tags,
			key1 = excluded.key1, key2 = excluded.key2, disable_local_auth = excluded.disable_local_auth,
			public_network = excluded.public_network, state = excluded.state,
			created_at = excluded.created_at, updated_at = excluded.updated_at,
			created_by = excluded.created_by, modified_by = excluded.modified_by`,
		a.SubscriptionID, a.ResourceGroup, a.Name, a.Location, a.Kind, a.SKU, a.CustomSubDomain, tags,
		a.Key1, a.Key2, a.DisableLocalAuth, a.PublicNetwork, a.State,
		FormatTime(a.CreatedAt), FormatTime(a.UpdatedAt), a.CreatedBy, a.ModifiedBy)
	return err
}

// Delete removes an account; its deployments and their allocations go
// with it (ON DELETE CASCADE).
func (t accounts) Delete(subscriptionID, resourceGroup, name string) error {
	res, err := t.exec(`DELETE FROM accounts WHERE subscription_id = ? AND resource_group = ? AND name = ?`,
		subscriptionID, resourceGroup, name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("account %s", ptu.AccountID(subscriptionID, resourceGroup, name))
	}
	return nil
}
