package ptu

import (
	"context"
	"time"
)

// Store keeps the control-plane state. Update runs fn in one transaction that
// is serialized against every other Update (so read-check-write sequences such
// as quota and capacity checks are safe); any error from fn rolls it back and
// leaves the state as it was. View runs fn in a read-only snapshot.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is the set of reads and writes available inside a transaction.
// Get methods return an error wrapping ErrNotFound when the record is absent.
// List methods return records in a stable order (by name / id).
type Tx interface {
	ListSubscriptions() ([]Subscription, error)
	GetSubscription(id string) (Subscription, error)
	PutSubscription(Subscription) error

	ListRegions() ([]Region, error)
	PutRegion(Region) error

	ListPools() ([]Pool, error)
	GetPool(id string) (Pool, error)
	PutPool(Pool) error
	// PoolAllocations returns the PTUs allocated in each pool (pool id -> PTUs), summed over deployments.
	PoolAllocations() (map[string]int, error)

	ListQuotaLimits(subscriptionID string) ([]QuotaLimit, error)
	PutQuotaLimit(QuotaLimit) error

	// ListAccounts lists a subscription's accounts; resourceGroup "" means all groups.
	// Resource groups match case-insensitively, as in ARM.
	ListAccounts(subscriptionID, resourceGroup string) ([]Account, error)
	GetAccount(subscriptionID, resourceGroup, name string) (Account, error)
	// GetAccountBySubDomain finds an account by its custom subdomain (case-insensitive).
	GetAccountBySubDomain(subDomain string) (Account, error)
	// PutAccount creates or replaces an account.
	PutAccount(Account) error
	// DeleteAccount removes an account and all its deployments and their allocations.
	DeleteAccount(subscriptionID, resourceGroup, name string) error

	ListDeployments(f DeploymentFilter) ([]Deployment, error)
	// SumCapacity is the total capacity of the deployments f matches, summed
	// in the store: what quota checks need, without reading each deployment.
	SumCapacity(f DeploymentFilter) (int, error)
	GetDeployment(subscriptionID, resourceGroup, account, name string) (Deployment, error)
	// PutDeployment creates or replaces a deployment, replacing its allocations.
	PutDeployment(Deployment) error
	DeleteDeployment(subscriptionID, resourceGroup, account, name string) error

	PutQuotaRequest(QuotaRequest) error
	GetQuotaRequest(id string) (QuotaRequest, error)
	// ListQuotaRequests lists requests, newest first; subscriptionID "" means all.
	ListQuotaRequests(subscriptionID string) ([]QuotaRequest, error)

	// AddMetricPoints merges each point into the stored point with the same
	// resource, metric, dimensions, grain and time (MetricPoint.Merge),
	// creating it when absent. Resource and dimension values match
	// case-insensitively; the casing first written is kept.
	AddMetricPoints([]MetricPoint) error
	// QueryMetrics returns the points f selects, ordered by metric,
	// dimensions and time; times are in UTC.
	QueryMetrics(f MetricFilter) ([]MetricPoint, error)
	// DeleteMetricsBefore deletes every point (of any grain) whose interval
	// starts before t and returns how many it deleted.
	DeleteMetricsBefore(t time.Time) (int, error)

	// AddCapacityChange appends an entry to a deployment's capacity history.
	AddCapacityChange(CapacityChange) error
	// ListCapacityChanges returns the entries f selects, oldest first;
	// entries with the same time come in the order they were added.
	ListCapacityChanges(f CapacityChangeFilter) ([]CapacityChange, error)

	// PutReservation creates or replaces a reservation.
	PutReservation(Reservation) error
	GetReservation(id string) (Reservation, error)
	// ListReservations lists reservations by Start, then ID; subscriptionID
	// "" means all.
	ListReservations(subscriptionID string) ([]Reservation, error)

	// AddTokenUsage adds each row's counts to the stored row with the same
	// subscription, resource group, account, deployment, region, model,
	// deployment type and hour, creating it when absent. Names match
	// case-insensitively; the casing first written is kept.
	AddTokenUsage([]TokenUsage) error
	// ListTokenUsage returns the rows f selects, ordered by hour, then
	// resource group, account, deployment, deployment type and model.
	ListTokenUsage(f TokenUsageFilter) ([]TokenUsage, error)

	// ListRAIPolicies lists an account's content filter policies by name.
	ListRAIPolicies(subscriptionID, resourceGroup, account string) ([]RAIPolicy, error)
	GetRAIPolicy(subscriptionID, resourceGroup, account, name string) (RAIPolicy, error)
	// PutRAIPolicy creates or replaces a policy; the account must exist.
	PutRAIPolicy(RAIPolicy) error
	DeleteRAIPolicy(subscriptionID, resourceGroup, account, name string) error
	// ListRAIBlocklists lists an account's blocklists by name, with their items.
	ListRAIBlocklists(subscriptionID, resourceGroup, account string) ([]RAIBlocklist, error)
	GetRAIBlocklist(subscriptionID, resourceGroup, account, name string) (RAIBlocklist, error)
	// PutRAIBlocklist creates or replaces a blocklist with its items; the account must exist.
	PutRAIBlocklist(RAIBlocklist) error
	DeleteRAIBlocklist(subscriptionID, resourceGroup, account, name string) error

	// ListPrincipals lists principals by name.
	ListPrincipals() ([]Principal, error)
	// GetPrincipal finds a principal by id.
	GetPrincipal(id string) (Principal, error)
	// GetPrincipalByName finds a principal by name (case-insensitive).
	GetPrincipalByName(name string) (Principal, error)
	// GetPrincipalByTokenHash finds the principal whose token hashes to hash.
	GetPrincipalByTokenHash(hash string) (Principal, error)
	// PutPrincipal creates or replaces a principal; names and token hashes are unique.
	PutPrincipal(Principal) error
	// DeletePrincipal removes a principal and its role assignments.
	DeletePrincipal(id string) error

	// ListRoleAssignments lists every role assignment by scope, then id;
	// principalID "" means every principal's.
	ListRoleAssignments(principalID string) ([]RoleAssignment, error)
	GetRoleAssignment(id string) (RoleAssignment, error)
	// PutRoleAssignment creates or replaces an assignment; its principal must exist.
	PutRoleAssignment(RoleAssignment) error
	DeleteRoleAssignment(id string) error

	// AddActivityEvent appends an event to the activity log.
	AddActivityEvent(ActivityEvent) error
	// ListActivityEvents returns the events f selects, newest first.
	ListActivityEvents(f ActivityFilter) ([]ActivityEvent, error)
	// DeleteActivityEventsBefore deletes the events older than t and
	// returns how many it deleted.
	DeleteActivityEventsBefore(t time.Time) (int, error)
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
