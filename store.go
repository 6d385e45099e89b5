package ptu

import "context"

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
	GetDeployment(subscriptionID, resourceGroup, account, name string) (Deployment, error)
	// PutDeployment creates or replaces a deployment, replacing its allocations.
	PutDeployment(Deployment) error
	DeleteDeployment(subscriptionID, resourceGroup, account, name string) error

	PutQuotaRequest(QuotaRequest) error
	GetQuotaRequest(id string) (QuotaRequest, error)
	// ListQuotaRequests lists requests, newest first; subscriptionID "" means all.
	ListQuotaRequests(subscriptionID string) ([]QuotaRequest, error)
}

// DeploymentFilter selects deployments; empty fields match everything.
// Account requires SubscriptionID and ResourceGroup.
type DeploymentFilter struct {
	SubscriptionID string
	ResourceGroup  string
	Account        string
	Region         string
	SKUName        string
}
