package sqlstore

import (
	"database/sql"
	"errors"

	"github.com/ptu-dev/ptu"
)

// Capacity history

func (t capacityChanges) Add(c ptu.CapacityChange) error {
	_, err := t.exec(`INSERT INTO capacity_changes (subscription_id, resource_group, account, deployment, region,
		model_format, model_name, model_version, sku_name, capacity, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.SubscriptionID, c.ResourceGroup, c.AccountName, c.Deployment, c.Region,
		c.Model.Format, c.Model.Name, c.Model.Version, c.SKUName, c.Capacity, FormatTime(c.At))
	return err
}

func (t capacityChanges) List(f ptu.CapacityChangeFilter) ([]ptu.CapacityChange, error) {
	var w where
	w.add(f.SubscriptionID != "", "subscription_id = ?", f.SubscriptionID)
	w.add(f.ResourceGroup != "", "resource_group = ?", f.ResourceGroup)
	w.add(f.Account != "", "account = ?", f.Account)
	w.add(f.Deployment != "", "deployment = ?", f.Deployment)
	w.add(!f.Before.IsZero(), "at < ?", FormatTime(f.Before))
	return scanAll(t, func(r *sql.Rows) (ptu.CapacityChange, error) {
		var c ptu.CapacityChange
		var at string
		if err := r.Scan(&c.SubscriptionID, &c.ResourceGroup, &c.AccountName, &c.Deployment, &c.Region,
			&c.Model.Format, &c.Model.Name, &c.Model.Version, &c.SKUName, &c.Capacity, &at); err != nil {
			return c, err
		}
		var err error
		c.At, err = parseTime(at)
		return c, err
	}, `SELECT subscription_id, resource_group, account, deployment, region, model_format, model_name,
		model_version, sku_name, capacity, at FROM capacity_changes`+w.clause()+` ORDER BY at, seq`, w.args...)
}

// Reservations

const reservationSelect = `SELECT id, display_name, subscription_id, resource_group, region, sku_name, quantity,
	term, billing_plan, auto_renew, start_at, end_at, cancelled_at, created_at, updated_at FROM reservations`

func scanReservation(r interface{ Scan(...any) error }) (ptu.Reservation, error) {
	var v ptu.Reservation
	var start, end, cancelled, created, updated string
	if err := r.Scan(&v.ID, &v.DisplayName, &v.SubscriptionID, &v.ResourceGroup, &v.Region, &v.SKUName, &v.Quantity,
		&v.Term, &v.BillingPlan, &v.AutoRenew, &start, &end, &cancelled, &created, &updated); err != nil {
		return v, err
	}
	var err error
	if v.Start, err = parseTime(start); err != nil {
		return v, err
	}
	if v.End, err = parseTime(end); err != nil {
		return v, err
	}
	if v.CancelledAt, err = parseTime(cancelled); err != nil {
		return v, err
	}
	if v.CreatedAt, err = parseTime(created); err != nil {
		return v, err
	}
	v.UpdatedAt, err = parseTime(updated)
	return v, err
}

func (t reservations) Put(v ptu.Reservation) error {
	_, err := t.exec(`INSERT INTO reservations (id, display_name, subscription_id, resource_group, region, sku_name,
		quantity, term, billing_plan, auto_renew, start_at, end_at, cancelled_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
			subscription_id = excluded.subscription_id, resource_group = excluded.resource_group,
			region = excluded.region, sku_name = excluded.sku_name, quantity = excluded.quantity,
			term = excluded.term, billing_plan = excluded.billing_plan, auto_renew = excluded.auto_renew,
			start_at = excluded.start_at, end_at = excluded.end_at, cancelled_at = excluded.cancelled_at,
			created_at = excluded.created_at, updated_at = excluded.updated_at`,
		v.ID, v.DisplayName, v.SubscriptionID, v.ResourceGroup, v.Region, v.SKUName,
		v.Quantity, v.Term, v.BillingPlan, v.AutoRenew, FormatTime(v.Start), FormatTime(v.End),
		FormatTime(v.CancelledAt), FormatTime(v.CreatedAt), FormatTime(v.UpdatedAt))
	return err
}

func (t reservations) Get(id string) (ptu.Reservation, error) {
	v, err := scanReservation(t.queryRow(reservationSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound("reservation %s", id)
	}
	return v, err
}

func (t reservations) List(subscriptionID string) ([]ptu.Reservation, error) {
	scan := func(r *sql.Rows) (ptu.Reservation, error) { return scanReservation(r) }
	if subscriptionID == "" {
		return scanAll(t, scan, reservationSelect+` ORDER BY start_at, id`)
	}
	return scanAll(t, scan, reservationSelect+` WHERE subscription_id = ? ORDER BY start_at, id`, subscriptionID)
}
