package arm

import (
	"context"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
)

// What the handlers need of the control plane, grouped by the routes that
// use it. *control.Service provides all of them; tests and other
// implementations may provide a group alone.

// Subscriptions answers the Microsoft.Resources routes and the clock the
// activity log's filters are read against.
type Subscriptions interface {
	ListSubscriptions(ctx context.Context) ([]ptu.Subscription, error)
	GetSubscription(ctx context.Context, id string) (ptu.Subscription, error)
	ListLocations(ctx context.Context, sub string) ([]ptu.Region, error)
	Now() time.Time
}

// Accounts answers the account routes.
type Accounts interface {
	GetAccount(ctx context.Context, sub, rg, name string) (ptu.Account, error)
	ListAccounts(ctx context.Context, sub, rg string) ([]ptu.Account, error)
	PutAccount(ctx context.Context, sub, rg, name string, in control.AccountInput) (ptu.Account, bool, error)
	DeleteAccount(ctx context.Context, sub, rg, name string) (bool, error)
	RegenerateKey(ctx context.Context, sub, rg, name, keyName string) (ptu.Account, error)
	AccountModels(ctx context.Context, sub, rg, acct string) ([]control.ModelOffer, error)
	// Endpoint is the account's inference endpoint.
	Endpoint(a ptu.Account) string
}

// Deployments answers the deployment routes.
type Deployments interface {
	GetDeployment(ctx context.Context, sub, rg, acct, name string) (ptu.Deployment, error)
	ListDeployments(ctx context.Context, sub, rg, acct string) ([]ptu.Deployment, error)
	PutDeployment(ctx context.Context, sub, rg, acct, name string, in control.DeploymentInput) (ptu.Deployment, bool, error)
	DeleteDeployment(ctx context.Context, sub, rg, acct, name string) (bool, error)
	DeploymentSKUs(ctx context.Context, sub, rg, acct, name string) ([]control.SKUOption, error)
}

// Quota answers the usages and quota request routes.
type Quota interface {
	Usages(ctx context.Context, sub, location string) ([]control.Usage, error)
	CreateQuotaRequest(ctx context.Context, sub string, in control.QuotaRequestInput) (ptu.QuotaRequest, error)
	GetQuotaRequest(ctx context.Context, id string) (ptu.QuotaRequest, error)
	ListQuotaRequests(ctx context.Context, sub string) ([]ptu.QuotaRequest, error)
	DecideQuotaRequest(ctx context.Context, id string, approve bool, note string) (ptu.QuotaRequest, error)
}

// Capacity answers the model, model capacity and capacity pool routes.
type Capacity interface {
	Catalog() *catalog.Catalog
	Models(ctx context.Context, sub, location string) ([]control.ModelOffer, error)
	ModelCapacities(ctx context.Context, sub, location string, model ptu.ModelRef) ([]control.ModelCapacity, error)
	ListPools(ctx context.Context) ([]control.PoolStatus, error)
	SetPoolRating(ctx context.Context, id string, ptus int) (control.PoolStatus, error)
}

// Authenticator finds the principal a token belongs to.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*control.Caller, error)
}

// Access answers the principal and role assignment routes.
type Access interface {
	CreatePrincipal(ctx context.Context, name string, ttl time.Duration) (ptu.Principal, string, error)
	GetPrincipal(ctx context.Context, ref string) (ptu.Principal, error)
	ListPrincipals(ctx context.Context) ([]ptu.Principal, error)
	DeletePrincipal(ctx context.Context, ref string) (bool, error)
	GetRoleAssignment(ctx context.Context, id string) (ptu.RoleAssignment, error)
	ListRoleAssignments(ctx context.Context, principalID string) ([]ptu.RoleAssignment, error)
	PutRoleAssignment(ctx context.Context, id string, in control.RoleAssignmentInput) (ptu.RoleAssignment, bool, error)
	DeleteRoleAssignment(ctx context.Context, id string) (ptu.RoleAssignment, bool, error)
}

// RAI answers the content filter (raiPolicies) and blocklist routes.
type RAI interface {
	GetRAIPolicy(ctx context.Context, sub, rg, acct, name string) (ptu.RAIPolicy, error)
	ListRAIPolicies(ctx context.Context, sub, rg, acct string) ([]ptu.RAIPolicy, error)
	PutRAIPolicy(ctx context.Context, sub, rg, acct, name string, in control.RAIPolicyInput) (ptu.RAIPolicy, bool, error)
	DeleteRAIPolicy(ctx context.Context, sub, rg, acct, name string) (bool, error)
	GetRAIBlocklist(ctx context.Context, sub, rg, acct, name string) (ptu.RAIBlocklist, error)
	ListRAIBlocklists(ctx context.Context, sub, rg, acct string) ([]ptu.RAIBlocklist, error)
	PutRAIBlocklist(ctx context.Context, sub, rg, acct, name, description string) (ptu.RAIBlocklist, bool, error)
	DeleteRAIBlocklist(ctx context.Context, sub, rg, acct, name string) (bool, error)
	PutRAIBlocklistItems(ctx context.Context, sub, rg, acct, list string, items []ptu.RAIBlocklistItem) (ptu.RAIBlocklist, []bool, error)
	DeleteRAIBlocklistItems(ctx context.Context, sub, rg, acct, list string, names []string) (int, error)
}

// Activity records control-plane writes and answers the activity log route.
type Activity interface {
	RecordActivity(ctx context.Context, e ptu.ActivityEvent) error
	ListActivity(ctx context.Context, f ptu.ActivityFilter) ([]ptu.ActivityEvent, error)
}

// Services are the parts of the control plane the API serves, one small
// interface each, so a test can give a fake for the part it exercises.
// ServicesOf fills them all from the control plane.
type Services struct {
	Subscriptions Subscriptions
	Accounts      Accounts
	Deployments   Deployments
	Quota         Quota
	Capacity      Capacity
	Auth          Authenticator
	Access        Access
	RAI           RAI
	Activity      Activity
}

// ServicesOf is every part served by the one control plane c.
func ServicesOf(c *control.Service) Services {
	return Services{Subscriptions: c, Accounts: c, Deployments: c, Quota: c, Capacity: c, Auth: c,
		Access: c, RAI: c, Activity: c}
}

// Billing answers the pricing, reservation and billing report routes.
type Billing interface {
	Prices(f billing.PriceFilter) []billing.Price
	Quote(in billing.QuoteInput) (billing.Quote, error)
	PurchaseReservation(ctx context.Context, sub string, in billing.ReservationInput) (billing.Reservation, error)
	ListReservations(ctx context.Context, sub string) ([]billing.Reservation, error)
	GetReservation(ctx context.Context, sub, id string) (billing.Reservation, error)
	UpdateReservation(ctx context.Context, sub, id string, in billing.ReservationUpdate) (billing.Reservation, error)
	CancelReservation(ctx context.Context, sub, id string) (billing.Reservation, error)
	Usage(ctx context.Context, q billing.UsageQuery) (*billing.UsageReport, error)
	Reservations(ctx context.Context, q billing.ReservationQuery) (*billing.ReservationReport, error)
}

var _ Billing = (*billing.Service)(nil)
