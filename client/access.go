package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/armwire"
)

// Access control: principals (ptu's identities with bearer tokens), role
// assignments and role definitions (Microsoft.Authorization), and the
// activity log of control-plane writes (Azure Monitor). See
// docs/access-control.md.

// AuthorizationAPIVersion is the api-version of the Microsoft.Authorization
// calls (az role sends it too).
const AuthorizationAPIVersion = "2022-04-01"

// ActivityLogAPIVersion is the api-version of the activity log.
const ActivityLogAPIVersion = "2015-04-01"

const authzPath = "/providers/Microsoft.Authorization"

// IsPrincipalToken reports whether token is a principal's (they start with
// "ptu_"), rather than the admin token. Data-plane calls send a principal's
// token as a bearer token when no account key is set.
func IsPrincipalToken(token string) bool { return strings.HasPrefix(token, "ptu_") }

// Principal is an identity that calls with a bearer token.
type Principal = armwire.Principal

// PrincipalProperties describes a principal. Token is set only in the
// answer to CreatePrincipal: the server does not keep it.
type PrincipalProperties = armwire.PrincipalProperties

// RoleAssignment grants a principal a role at a scope.
type RoleAssignment = armwire.RoleAssignment

// RoleAssignmentProperties are a role assignment's properties.
type RoleAssignmentProperties = armwire.RoleAssignmentProperties

// RoleDefinition is a built-in role.
type RoleDefinition = armwire.RoleDefinition

// RoleDefinitionProperties are a role's name and permissions.
type RoleDefinitionProperties = armwire.RoleDefinitionProperties

// Permission lists what a role allows and excludes.
type Permission = armwire.Permission

func (s *settings) authz() { s.armVersion = AuthorizationAPIVersion }

// scopePath is a scope as a path prefix ("" for the root "/").
func scopePath(scope string) string {
	return strings.TrimRight("/"+strings.Trim(scope, "/"), "/")
}

// CreatePrincipal makes a principal; expiresIn is "90d", a Go duration such
// as "720h", or "" for a token that never expires. The returned principal's
// Properties.Token is the only copy of its token.
func (c *Client) CreatePrincipal(ctx context.Context, name, expiresIn string, opts ...Option) (*Principal, error) {
	s := c.s.with(opts)
	s.authz()
	var out Principal
	body := armwire.PrincipalBody{Name: name, ExpiresIn: expiresIn}
	if err := c.armDo(ctx, &s, http.MethodPost, authzPath+"/principals", nil, body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListPrincipals lists the principals by name.
func (c *Client) ListPrincipals(ctx context.Context, opts ...Option) ([]Principal, error) {
	s := c.s.with(opts)
	s.authz()
	var out list[Principal]
	err := c.armDo(ctx, &s, http.MethodGet, authzPath+"/principals", nil, nil, &out, true)
	return out.Value, err
}

// GetPrincipal returns a principal by id or name.
func (c *Client) GetPrincipal(ctx context.Context, ref string, opts ...Option) (*Principal, error) {
	s := c.s.with(opts)
	s.authz()
	var out Principal
	if err := c.armDo(ctx, &s, http.MethodGet, authzPath+"/principals/"+seg(ref), nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletePrincipal deletes a principal (by id or name) and its role
// assignments; it reports whether the principal existed.
func (c *Client) DeletePrincipal(ctx context.Context, ref string, opts ...Option) (bool, error) {
	s := c.s.with(opts)
	s.authz()
	status, err := c.armStatus(ctx, &s, http.MethodDelete, authzPath+"/principals/"+seg(ref), nil, nil, nil, true)
	return status == http.StatusOK, err
}

// CreateRoleAssignment assigns a role (a built-in role's GUID, name or
// role definition id) to a principal (its id) at scope ("/", a
// subscription, resource group or resource id). name is the assignment's
// GUID; "" makes one.
func (c *Client) CreateRoleAssignment(ctx context.Context, scope, name, roleDefinitionID, principalID string, opts ...Option) (*RoleAssignment, error) {
	s := c.s.with(opts)
	s.authz()
	if name == "" {
		name = newGUID()
	}
	body := armwire.RoleAssignmentBody{Properties: armwire.RoleAssignmentBodyProperties{RoleDefinitionID: roleDefinitionID, PrincipalID: principalID}}
	var out RoleAssignment
	if err := c.armDo(ctx, &s, http.MethodPut, scopePath(scope)+authzPath+"/roleAssignments/"+seg(name), nil, body, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRoleAssignments lists the assignments at, above and below scope;
// filter is an OData $filter (atScope(), principalId eq '{id}') or "".
func (c *Client) ListRoleAssignments(ctx context.Context, scope, filter string, opts ...Option) ([]RoleAssignment, error) {
	s := c.s.with(opts)
	s.authz()
	var q url.Values
	if filter != "" {
		q = url.Values{"$filter": {filter}}
	}
	var out list[RoleAssignment]
	err := c.armDo(ctx, &s, http.MethodGet, scopePath(scope)+authzPath+"/roleAssignments", q, nil, &out, true)
	return out.Value, err
}

// DeleteRoleAssignment deletes an assignment by its full id
// ({scope}/providers/Microsoft.Authorization/roleAssignments/{name}); it
// reports whether it existed.
func (c *Client) DeleteRoleAssignment(ctx context.Context, id string, opts ...Option) (bool, error) {
	s := c.s.with(opts)
	s.authz()
	if !strings.Contains(strings.ToLower(id), "/providers/microsoft.authorization/roleassignments/") {
		return false, errors.New("client: a role assignment id is {scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
	}
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := range parts {
		parts[i] = seg(parts[i])
	}
	status, err := c.armStatus(ctx, &s, http.MethodDelete, "/"+strings.Join(parts, "/"), nil, nil, nil, true)
	return status == http.StatusOK, err
}

// ListRoleDefinitions lists the built-in roles as read at scope; name ""
// lists them all.
func (c *Client) ListRoleDefinitions(ctx context.Context, scope, name string, opts ...Option) ([]RoleDefinition, error) {
	s := c.s.with(opts)
	s.authz()
	var q url.Values
	if name != "" {
		q = url.Values{"$filter": {"roleName eq '" + strings.ReplaceAll(name, "'", "''") + "'"}}
	}
	var out list[RoleDefinition]
	err := c.armDo(ctx, &s, http.MethodGet, scopePath(scope)+authzPath+"/roleDefinitions", q, nil, &out, true)
	return out.Value, err
}

// ActivityEvent is one activity log event (Azure Monitor's EventData).
type ActivityEvent = armwire.ActivityEvent

// ActivityLogQuery selects activity events: those of the subscription
// between Start and End (End zero: now), optionally of one resource group,
// resource (and what is below it), correlation id, caller or status.
type ActivityLogQuery struct {
	Start, End    time.Time
	ResourceGroup string
	ResourceID    string
	CorrelationID string
	Caller        string
	Status        string
}

func (q ActivityLogQuery) filter() string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	parts := []string{"eventTimestamp ge " + quote(q.Start.UTC().Format(time.RFC3339))}
	if !q.End.IsZero() {
		parts = append(parts, "eventTimestamp le "+quote(q.End.UTC().Format(time.RFC3339)))
	}
	for _, f := range []struct{ name, v string }{
		{"resourceGroupName", q.ResourceGroup}, {"resourceUri", q.ResourceID},
		{"correlationId", q.CorrelationID}, {"caller", q.Caller}, {"status", q.Status},
	} {
		if f.v != "" {
			parts = append(parts, f.name+" eq "+quote(f.v))
		}
	}
	return strings.Join(parts, " and ")
}

// ListActivityLog returns the subscription's activity events q selects, newest first.
func (c *Client) ListActivityLog(ctx context.Context, q ActivityLogQuery, opts ...Option) ([]ActivityEvent, error) {
	if q.Start.IsZero() {
		return nil, errors.New("client: an activity log query needs a start time")
	}
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	s.armVersion = ActivityLogAPIVersion
	var out list[ActivityEvent]
	err = c.armDo(ctx, &s, http.MethodGet, sp+"/providers/Microsoft.Insights/eventtypes/management/values",
		url.Values{"$filter": {q.filter()}}, nil, &out, true)
	return out.Value, err
}

// newGUID returns a random (version 4) UUID, the name of a new role assignment.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
