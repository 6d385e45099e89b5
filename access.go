package ptu

import "time"

// Principal is an identity that calls ptu with a bearer token an
// administrator issued. Only the token's SHA-256 is kept; the token itself is
// shown once, when the principal is created.
type Principal struct {
	ID        string // object id (a GUID), what role assignments name
	Name      string // unique, case-insensitive
	TokenHash string // hex SHA-256 of the token
	Expires   time.Time
	Created   time.Time
}

// RoleAssignment grants a principal a role definition at a scope: "/", a
// subscription, a resource group or a resource, and everything below it.
type RoleAssignment struct {
	ID               string // the assignment's name, a GUID
	PrincipalID      string
	RoleDefinitionID string // the role definition's GUID
	Scope            string // e.g. /subscriptions/{sub}/resourceGroups/{rg}
	CreatedBy        string // principal id of the caller that made it
	Created          time.Time
}

// Activity log event statuses.
const (
	ActivitySucceeded = "Succeeded"
	ActivityFailed    = "Failed"
)

// ActivityEvent records one control-plane write: who did what, where, when
// and how it ended.
type ActivityEvent struct {
	ID             string // event data id, a GUID
	Time           time.Time
	CallerID       string // principal id
	Caller         string // principal name ("admin" for the admin token)
	Operation      string // the action, e.g. Microsoft.CognitiveServices/accounts/deployments/write
	Scope          string // the resource id the request addressed
	SubscriptionID string // "" for writes above subscriptions (principals, capacity pools)
	ResourceGroup  string
	Method         string
	URI            string // path and query, with nothing secret in it
	Status         string // ActivitySucceeded | ActivityFailed
	HTTPStatus     int
	ErrorCode      string // the error code of a failed write
	CorrelationID  string
	ClientRequest  string // x-ms-client-request-id
}

// ActivityFilter selects activity events; empty fields match everything.
// Times bound Time inclusively.
type ActivityFilter struct {
	SubscriptionID string
	ResourceGroup  string // case-insensitive
	From, To       time.Time
	Limit          int // 0: no limit
}

// Principals are the principals of a transaction (Tx).
type Principals interface {
	// List lists principals by name.
	List() ([]Principal, error)
	// Get finds a principal by id.
	Get(id string) (Principal, error)
	// GetByName finds a principal by name (case-insensitive).
	GetByName(name string) (Principal, error)
	// GetByTokenHash finds the principal whose token hashes to hash.
	GetByTokenHash(hash string) (Principal, error)
	// Put creates or replaces a principal; names and token hashes are unique.
	Put(Principal) error
	// Delete removes a principal and its role assignments.
	Delete(id string) error
}

// RoleAssignments are the role assignments of a transaction (Tx).
type RoleAssignments interface {
	// List lists role assignments by scope, then id; principalID "" means
	// every principal's.
	List(principalID string) ([]RoleAssignment, error)
	Get(id string) (RoleAssignment, error)
	// Put creates or replaces an assignment; its principal must exist.
	Put(RoleAssignment) error
	Delete(id string) error
}
