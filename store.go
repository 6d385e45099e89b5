package ptu

import (
	"context"
	"time"
)

// Database is every store of ptu over one database: what packages sqlite and
// postgres implement, and what a server opens. ptu keeps its records in
// stores split by concern, and each user takes only the ones it needs:
//
//   - Store: the control-plane state (subscriptions, regions, pools, quota
//     limits, accounts, deployments, quota requests, capacity history,
//     reservations) and the access and content policy data tied to it
//     (principals, role assignments, RAI policies and blocklists), read and
//     written in serialized transactions (Tx hands out one small interface
//     per kind of record: tx.Deployments(), tx.Principals(), …);
//   - MetricStore and UsageStore: the metric points and hourly token counts
//     every replica flushes, merged row by row outside those transactions;
//   - ActivityLog: the log of control-plane writes, appended outside them.
type Database interface {
	Store
	MetricStore
	UsageStore
	ActivityLog
}

// Store keeps the control-plane state. Update runs fn in one transaction that
// is serialized against every other Update (so read-check-write sequences such
// as quota and capacity checks are safe); any error from fn rolls it back and
// leaves the state as it was. View runs fn in a read-only snapshot.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction of a Store. Each method returns the reads and writes
// of one kind of record, all inside the transaction; the values are valid
// until fn returns.
//
// Throughout, Get methods return an error wrapping ErrNotFound when the
// record is absent, and List methods return records in a stable order (by
// name / id).
type Tx interface {
	Subscriptions() Subscriptions
	Regions() Regions
	Pools() Pools
	QuotaLimits() QuotaLimits
	Accounts() Accounts
	Deployments() Deployments
	QuotaRequests() QuotaRequests
	CapacityChanges() CapacityChanges
	Reservations() Reservations

	Principals() Principals
	RoleAssignments() RoleAssignments
	RAIPolicies() RAIPolicies
	RAIBlocklists() RAIBlocklists
}

// Subscriptions are the subscriptions of a transaction.
type Subscriptions interface {
	List() ([]Subscription, error)
	Get(id string) (Subscription, error)
	Put(Subscription) error
}

// Regions are the regions of a transaction.
type Regions interface {
	List() ([]Region, error)
	Put(Region) error
}

// Pools are the capacity pools of a transaction.
type Pools interface {
	List() ([]Pool, error)
	Get(id string) (Pool, error)
	Put(Pool) error
	// Allocations returns the PTUs allocated in each pool (pool id -> PTUs), summed over deployments.
	Allocations() (map[string]int, error)
}

// QuotaLimits are the stored quota limits of a transaction.
type QuotaLimits interface {
	// List lists a subscription's limits; subscriptionID "" means all.
	List(subscriptionID string) ([]QuotaLimit, error)
	Put(QuotaLimit) error
}

// Accounts are the accounts of a transaction.
type Accounts interface {
	// List lists a subscription's accounts; resourceGroup "" means all groups.
	// Resource groups match case-insensitively, as in ARM.
	List(subscriptionID, resourceGroup string) ([]Account, error)
	Get(subscriptionID, resourceGroup, name string) (Account, error)
	// GetBySubDomain finds an account by its custom subdomain (case-insensitive).
	GetBySubDomain(subDomain string) (Account, error)
	// Put creates or replaces an account.
	Put(Account) error
	// Delete removes an account and all its deployments and their allocations.
	Delete(subscriptionID, resourceGroup, name string) error
}

// Deployments are the deployments of a transaction.
type Deployments interface {
	List(f DeploymentFilter) ([]Deployment, error)
	// SumCapacity is the total capacity of the deployments f matches, summed
	// in the store: what quota checks need, without reading each deployment.
	SumCapacity(f DeploymentFilter) (int, error)
	Get(subscriptionID, resourceGroup, account, name string) (Deployment, error)
	// Put creates or replaces a deployment, replacing its allocations.
	Put(Deployment) error
	Delete(subscriptionID, resourceGroup, account, name string) error
}

// QuotaRequests are the quota increase requests of a transaction.
type QuotaRequests interface {
	Put(QuotaRequest) error
	Get(id string) (QuotaRequest, error)
	// List lists requests, newest first; subscriptionID "" means all.
	List(subscriptionID string) ([]QuotaRequest, error)
}

// CapacityChanges are the deployments' capacity history in a transaction.
type CapacityChanges interface {
	// Add appends an entry to a deployment's capacity history.
	Add(CapacityChange) error
	// List returns the entries f selects, oldest first; entries with the
	// same time come in the order they were added.
	List(f CapacityChangeFilter) ([]CapacityChange, error)
}

// Reservations are the reservations of a transaction.
type Reservations interface {
	// Put creates or replaces a reservation.
	Put(Reservation) error
	Get(id string) (Reservation, error)
	// List lists reservations by Start, then ID; subscriptionID "" means all.
	List(subscriptionID string) ([]Reservation, error)
}

// DeploymentFilter selects deployments; empty fields match everything.
// Account requires SubscriptionID and ResourceGroup.
type DeploymentFilter struct {
	SubscriptionID string
	ResourceGroup  string
	Account        string
	Region         string
	SKUName        string
	ModelName      string // case-insensitive; SumCapacity only
}

// MetricStore keeps metric points. Each call is atomic on its own; writers
// through any number of handles on one database merge exactly.
type MetricStore interface {
	// AddMetricPoints merges each point into the stored point with the same
	// resource, metric, dimensions, grain and time (MetricPoint.Merge),
	// creating it when absent. Resource and dimension values match
	// case-insensitively; the casing first written is kept. A point that
	// fails validation leaves every point of the call unwritten.
	AddMetricPoints(ctx context.Context, points []MetricPoint) error
	// QueryMetrics returns the points f selects, ordered by metric,
	// dimensions and time; times are in UTC.
	QueryMetrics(ctx context.Context, f MetricFilter) ([]MetricPoint, error)
	// DeleteMetricsBefore deletes every point (of any grain) whose interval
	// starts before t and returns how many it deleted.
	DeleteMetricsBefore(ctx context.Context, t time.Time) (int, error)
}

// UsageStore keeps the hourly token counts of pay-per-token deployments.
// Each call is atomic on its own; writers through any number of handles on
// one database add up exactly.
type UsageStore interface {
	// AddTokenUsage adds each row's counts to the stored row with the same
	// subscription, resource group, account, deployment, region, model,
	// deployment type and hour, creating it when absent. Names match
	// case-insensitively; the casing first written is kept.
	AddTokenUsage(ctx context.Context, rows []TokenUsage) error
	// ListTokenUsage returns the rows f selects, ordered by hour, then
	// resource group, account, deployment, deployment type and model.
	ListTokenUsage(ctx context.Context, f TokenUsageFilter) ([]TokenUsage, error)
}

// ActivityLog keeps the log of control-plane writes.
type ActivityLog interface {
	// AddActivityEvent appends an event to the activity log.
	AddActivityEvent(ctx context.Context, e ActivityEvent) error
	// ListActivityEvents returns the events f selects, newest first; events
	// with the same time come newest-added first.
	ListActivityEvents(ctx context.Context, f ActivityFilter) ([]ActivityEvent, error)
	// DeleteActivityEventsBefore deletes the events older than t and
	// returns how many it deleted.
	DeleteActivityEventsBefore(ctx context.Context, t time.Time) (int, error)
}
