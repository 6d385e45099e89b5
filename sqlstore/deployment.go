package sqlstore

import (
	"database/sql"
	"errors"

	"github.com/ptu-dev/ptu"
)

// Deployments hang off their account by id; the subscription, resource group
// and account name they report are the account's, with its casing.
const deploymentSelect = `SELECT d.id, a.subscription_id, a.resource_group, a.name, d.name, d.region,
	d.model_format, d.model_name, d.model_version, d.sku_name, d.capacity, d.rai_policy_name,
	d.version_upgrade_option, d.spillover_deployment_name, d.state, d.created_at, d.updated_at,
	d.created_by, d.modified_by
	FROM deployments d JOIN accounts a ON a.id = d.account_id`

func scanDeployment(r interface{ Scan(...any) error }) (int64, ptu.Deployment, error) {
	var id int64
	var d ptu.Deployment
	var created, updated string
	if err := r.Scan(&id, &d.SubscriptionID, &d.ResourceGroup, &d.AccountName, &d.Name, &d.Region,
		&d.Model.Format, &d.Model.Name, &d.Model.Version, &d.SKUName, &d.Capacity, &d.RAIPolicyName,
		&d.VersionUpgradeOption, &d.SpilloverDeploymentName, &d.State, &created, &updated,
		&d.CreatedBy, &d.ModifiedBy); err != nil {
		return 0, d, err
	}
	var err error
	if d.CreatedAt, err = parseTime(created); err != nil {
		return 0, d, err
	}
	d.UpdatedAt, err = parseTime(updated)
	return id, d, err
}

// deploymentWhere builds the WHERE clause of f over deploymentSelect's aliases.
func deploymentWhere(f ptu.DeploymentFilter) (string, []any) {
	var w where
	w.add(f.SubscriptionID != "", "a.subscription_id = ?", f.SubscriptionID)
	w.add(f.ResourceGroup != "", "a.resource_group = ?", f.ResourceGroup)
	w.add(f.Account != "", "a.name = ?", f.Account)
	w.add(f.Region != "", "d.region = ?", f.Region)
	w.add(f.SKUName != "", "d.sku_name = ?", f.SKUName)
	w.add(f.ModelName != "", "lower(d.model_name) = lower(?)", f.ModelName)
	return w.clause(), w.args
}

func (t deployments) List(f ptu.DeploymentFilter) ([]ptu.Deployment, error) {
	where, args := deploymentWhere(f)
	rows, err := t.query(deploymentSelect+where+` ORDER BY a.subscription_id, a.resource_group, a.name, d.name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ptu.Deployment
	index := make(map[int64]int)
	for rows.Next() {
		id, d, err := scanDeployment(rows)
		if err != nil {
			return nil, err
		}
		index[id] = len(out)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(out) == 0 {
		return nil, nil
	}

	// One query for the allocations of every listed deployment.
	arows, err := t.query(`SELECT l.deployment_id, l.pool_id, l.ptu FROM allocations l
		JOIN deployments d ON d.id = l.deployment_id JOIN accounts a ON a.id = d.account_id`+where+`
		ORDER BY l.deployment_id, l.seq`, args...)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var id int64
		var al ptu.Allocation
		if err := arows.Scan(&id, &al.PoolID, &al.PTU); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			out[i].Allocations = append(out[i].Allocations, al)
		}
	}
	return out, arows.Err()
}

// SumCapacity reads the running totals per account, region, type and model
// that the migrations' triggers keep (0006_usage_totals.sql), so its cost
// grows with the subscription's accounts, not its deployments.
func (t deployments) SumCapacity(f ptu.DeploymentFilter) (int, error) {
	where, args := deploymentWhere(f)
	var n int
	err := t.queryRow(`SELECT COALESCE(SUM(d.capacity), 0) FROM deployment_usage d JOIN accounts a ON a.id = d.account_id`+where, args...).Scan(&n)
	return n, err
}

// Get looks the account up first, in a subquery, so that the deployment is
// found through its unique (account_id, name) index. Joined the other way, the
// generic plan PostgreSQL caches for the statement while the table is nearly
// empty scans every deployment, and keeps doing so until the table is next
// analyzed.
func (t deployments) Get(subscriptionID, resourceGroup, account, name string) (ptu.Deployment, error) {
	id, d, err := scanDeployment(t.queryRow(deploymentSelect+`
		WHERE d.account_id = (SELECT id FROM accounts WHERE subscription_id = ? AND resource_group = ? AND name = ?)
		AND d.name = ?`,
		subscriptionID, resourceGroup, account, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("deployment %s/deployments/%s", ptu.AccountID(subscriptionID, resourceGroup, account), name)
	}
	if err != nil {
		return d, err
	}
	d.Allocations, err = scanAll(t, func(r *sql.Rows) (ptu.Allocation, error) {
		var al ptu.Allocation
		err := r.Scan(&al.PoolID, &al.PTU)
		return al, err
	}, `SELECT pool_id, ptu FROM allocations WHERE deployment_id = ? ORDER BY seq`, id)
	return d, err
}

// Put creates or replaces a deployment and its allocations. The
// account and every pool allocated in must exist, else it fails with an error
// wrapping ptu.ErrNotFound.
func (t deployments) Put(d ptu.Deployment) error {
	var accountID int64
	err := t.queryRow(`SELECT id FROM accounts WHERE subscription_id = ? AND resource_group = ? AND name = ?`,
		d.SubscriptionID, d.ResourceGroup, d.AccountName).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("account %s", ptu.AccountID(d.SubscriptionID, d.ResourceGroup, d.AccountName))
	}
	if err != nil {
		return err
	}

	var id int64
	err = t.queryRow(`INSERT INTO deployments (account_id, name, region, model_format, model_name, model_version,
			sku_name, capacity, rai_policy_name, version_upgrade_option, spillover_deployment_name, state,
			created_at, updated_at, created_by, modified_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, name) DO UPDATE SET
			region = excluded.region, model_format = excluded.model_format, model_name = excluded.model_name,
			model_version = excluded.model_version, sku_name = excluded.sku_name, capacity = excluded.capacity,
			rai_policy_name = excluded.rai_policy_name, version_upgrade_option = excluded.version_upgrade_option,
			spillover_deployment_name = excluded.spillover_deployment_name, state = excluded.state,
			created_at = excluded.created_at, updated_at = excluded.updated_at,
			created_by = excluded.created_by, modified_by = excluded.modified_by
		RETURNING id`,
		accountID, d.Name, d.Region, d.Model.Format, d.Model.Name, d.Model.Version,
		d.SKUName, d.Capacity, d.RAIPolicyName, d.VersionUpgradeOption, d.SpilloverDeploymentName, d.State,
		FormatTime(d.CreatedAt), FormatTime(d.UpdatedAt), d.CreatedBy, d.ModifiedBy).Scan(&id)
	if err != nil {
		return err
	}

	if _, err := t.exec(`DELETE FROM allocations WHERE deployment_id = ?`, id); err != nil {
		return err
	}
	for i, al := range d.Allocations {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM pools WHERE id = ?`, al.PoolID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("pool %s", al.PoolID)
		}
		if _, err := t.exec(`INSERT INTO allocations (deployment_id, seq, pool_id, ptu) VALUES (?, ?, ?, ?)`,
			id, i, al.PoolID, al.PTU); err != nil {
			return err
		}
	}
	return nil
}

func (t deployments) Delete(subscriptionID, resourceGroup, account, name string) error {
	res, err := t.exec(`DELETE FROM deployments WHERE name = ? AND account_id IN (
			SELECT id FROM accounts WHERE subscription_id = ? AND resource_group = ? AND name = ?)`,
		name, subscriptionID, resourceGroup, account)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("deployment %s/deployments/%s", ptu.AccountID(subscriptionID, resourceGroup, account), name)
	}
	return nil
}
