package control

import (
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// Every billable change of a deployment (create, resize, a change of type or
// model version, delete) appends an entry to its capacity history in the
// transaction that makes the change, with the service's clock: hourly billing
// is computed from that history, so a resize bills from the minute it is
// made and a delete stops the meter, whatever happens to the deployment row.

// putDeploymentRecorded stores d and, when its billable state differs from
// cur's (or it is new), appends it to the capacity history at d.UpdatedAt.
func putDeploymentRecorded(tx ptu.Tx, cur ptu.Deployment, existed bool, d ptu.Deployment) error {
	if err := tx.Deployments().Put(d); err != nil {
		return err
	}
	if existed && cur.SKUName == d.SKUName && cur.Capacity == d.Capacity &&
		strings.EqualFold(cur.Model.Name, d.Model.Name) && cur.Model.Version == d.Model.Version {
		return nil
	}
	return tx.CapacityChanges().Add(capacityChange(d, d.Capacity, d.UpdatedAt))
}

// deleteDeploymentRecorded deletes d and records its capacity falling to 0 at now.
func deleteDeploymentRecorded(tx ptu.Tx, d ptu.Deployment, now time.Time) error {
	if err := tx.Deployments().Delete(d.SubscriptionID, d.ResourceGroup, d.AccountName, d.Name); err != nil {
		return err
	}
	return tx.CapacityChanges().Add(capacityChange(d, 0, now))
}

// deleteAccountRecorded deletes a with its deployments, recording each
// deployment's capacity falling to 0 at now. ptu has no soft delete: the
// meter stops with the account.
func deleteAccountRecorded(tx ptu.Tx, a ptu.Account, now time.Time) error {
	ds, err := tx.Deployments().List(ptu.DeploymentFilter{SubscriptionID: a.SubscriptionID, ResourceGroup: a.ResourceGroup, Account: a.Name})
	if err != nil {
		return err
	}
	if err := tx.Accounts().Delete(a.SubscriptionID, a.ResourceGroup, a.Name); err != nil {
		return err
	}
	for _, d := range ds {
		if err := tx.CapacityChanges().Add(capacityChange(d, 0, now)); err != nil {
			return err
		}
	}
	return nil
}

func capacityChange(d ptu.Deployment, capacity int, at time.Time) ptu.CapacityChange {
	return ptu.CapacityChange{
		SubscriptionID: d.SubscriptionID, ResourceGroup: d.ResourceGroup, AccountName: d.AccountName, Deployment: d.Name,
		Region: d.Region, Model: d.Model, SKUName: d.SKUName, Capacity: capacity, At: at,
	}
}
