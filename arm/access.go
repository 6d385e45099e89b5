package arm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/authz"
	"github.com/ptu-dev/ptu/control"
)

// access says how a route decides whether a caller may call it.
type access int

const (
	// accessAction: the caller must hold the endpoint's action at the
	// request's path (an assignment at the path or any scope above it).
	accessAction access = iota
	// accessRoot: the caller must hold the action at "/" (operator
	// decisions such as approving quota requests).
	accessRoot
	// accessAny: any authenticated caller (public price lists; the
	// subscription list, which shows each caller its own).
	accessAny
	// accessReach: any caller with an assignment at, above or below the
	// subscription (reading the subscription itself, as Azure lets anyone
	// with access to something in it).
	accessReach
)

// rule changes what the endpoint of method and pattern requires. An empty
// action keeps the derived one.
func (h *handler) rule(method, pattern, action string, a access) {
	ep := h.endpointOf(method, pattern)
	if action != "" {
		ep.action = action
	}
	ep.access = a
}

// authorize decides whether caller may call ep on the request's resource.
func authorize(r *http.Request, caller *control.Caller, ep *endpoint, p params) error {
	resource := requestScope(r)
	switch ep.access {
	case accessAny:
		return nil
	case accessReach:
		scope := "/subscriptions/" + p["sub"]
		if caller.Reaches(scope) {
			return nil
		}
		return denied(caller, ep.action, scope)
	case accessRoot:
		resource = "/"
	}
	if caller.Can(ep.action, resource) {
		return nil
	}
	return denied(caller, ep.action, resource)
}

// requestScope is the resource a request addresses: its path, unescaped.
func requestScope(r *http.Request) string {
	segs, _ := splitPath(r.URL)
	return "/" + strings.Join(segs, "/")
}

// denied is Azure's AuthorizationFailed error.
func denied(caller *control.Caller, action, scope string) error {
	return ptu.Errorf(ptu.CodeAuthorizationFailed,
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' "+
			"or the scope is invalid. If access was recently granted, please refresh your credentials.",
		caller.ID, caller.ID, action, scope)
}

type callerKey struct{}

func withCaller(ctx context.Context, c *control.Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerOf returns the authenticated caller of a request.
func callerOf(r *http.Request) *control.Caller {
	c, _ := r.Context().Value(callerKey{}).(*control.Caller)
	if c == nil {
		return &control.Caller{}
	}
	return c
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost:
		return true
	}
	return false
}

// statusWriter remembers the status and error code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string // the error code, for errors
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// recordActivity writes the activity log event of a control-plane write.
func (h *handler) recordActivity(r *http.Request, caller *control.Caller, ep *endpoint, corr string, w *statusWriter) {
	status := w.status
	if status == 0 {
		status = http.StatusInternalServerError // a panic, answered after this runs
	}
	scope := requestScope(r)
	segs := authz.Segments(scope)
	e := ptu.ActivityEvent{
		CallerID: caller.ID, Caller: caller.Name, Operation: ep.action, Scope: scope,
		Method: r.Method, URI: r.URL.RequestURI(), HTTPStatus: status, Status: ptu.ActivitySucceeded,
		CorrelationID: corr, ClientRequest: r.Header.Get("x-ms-client-request-id"),
	}
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		e.SubscriptionID = segs[1]
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			e.ResourceGroup = segs[3]
		}
	}
	if status >= 400 {
		e.Status, e.ErrorCode = ptu.ActivityFailed, w.code
	}
	if err := h.activity.RecordActivity(context.WithoutCancel(r.Context()), e); err != nil {
		h.log.Error("activity log write failed", slog.String("operation", e.Operation), slog.String("scope", e.Scope), slog.Any("err", err))
	}
}

// --- role assignments and role definitions (Microsoft.Authorization) ---

const (
	pAuthz           = "/providers/Microsoft.Authorization"
	typeAssignment   = "Microsoft.Authorization/roleAssignments"
	typeRoleDef      = "Microsoft.Authorization/roleDefinitions"
	typePrincipal    = "Microsoft.Authorization/principals"
	principalTypeSP  = "ServicePrincipal"
	builtInRoleType  = "BuiltInRole"
	actionPrincipals = "Microsoft.Authorization/principals/write"
)

// assignmentScopes are the scopes role assignments and definitions are
// served at: the root, a subscription, a resource group, an account and a
// deployment.
var assignmentScopes = []string{"", pSub, pSub + "/resourceGroups/{rg}", pAccount, pDeploy}

func (h *handler) registerAccess() {
	for _, s := range assignmentScopes {
		h.handle(http.MethodGet, s+pAuthz+"/roleAssignments", authorizationVersions, h.listRoleAssignments)
		h.handle(http.MethodPut, s+pAuthz+"/roleAssignments/{ra}", authorizationVersions, h.putRoleAssignment)
		h.handle(http.MethodGet, s+pAuthz+"/roleAssignments/{ra}", authorizationVersions, h.getRoleAssignment)
		h.handle(http.MethodDelete, s+pAuthz+"/roleAssignments/{ra}", authorizationVersions, h.deleteRoleAssignment)
		h.handle(http.MethodGet, s+pAuthz+"/roleDefinitions", authorizationVersions, h.listRoleDefinitions)
		h.handle(http.MethodGet, s+pAuthz+"/roleDefinitions/{rd}", authorizationVersions, h.getRoleDefinition)
	}
	// Principals (ptu's extension): identities with bearer tokens.
	h.handle(http.MethodPost, pAuthz+"/principals", authorizationVersions, h.createPrincipal)
	h.rule(http.MethodPost, pAuthz+"/principals", actionPrincipals, accessAction)
	h.handle(http.MethodGet, pAuthz+"/principals", authorizationVersions, h.listPrincipals)
	h.handle(http.MethodGet, pAuthz+"/principals/{principal}", authorizationVersions, h.getPrincipal)
	h.handle(http.MethodDelete, pAuthz+"/principals/{principal}", authorizationVersions, h.deletePrincipal)

	// The activity log (Microsoft.Insights).
	h.handle(http.MethodGet, pSub+"/providers/Microsoft.Insights/eventtypes/management/values", activityLogVersions, h.listActivity)
}

// scopeOf is the scope a Microsoft.Authorization request names: its path
// before /providers/Microsoft.Authorization.
func scopeOf(r *http.Request) string {
	segs, _ := splitPath(r.URL)
	for i := len(segs) - 2; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") && strings.EqualFold(segs[i+1], "Microsoft.Authorization") {
			return authz.CleanScope(strings.Join(segs[:i], "/"))
		}
	}
	return "/"
}

// scopePrefix is scope as the start of a resource id: "" for the root.
func scopePrefix(scope string) string {
	if scope == "/" {
		return ""
	}
	return scope
}

// roleDefinitionID is the id a role definition has when read at scope.
func roleDefinitionID(scope, guid string) string {
	prefix := ""
	if segs := authz.Segments(scope); len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		prefix = "/subscriptions/" + segs[1]
	}
	return prefix + pAuthz + "/roleDefinitions/" + guid
}

func roleAssignmentWire(a ptu.RoleAssignment) armwire.RoleAssignment {
	return armwire.RoleAssignment{
		ID:   scopePrefix(a.Scope) + pAuthz + "/roleAssignments/" + a.ID,
		Type: typeAssignment,
		Name: a.ID,
		Properties: armwire.RoleAssignmentProperties{
			RoleDefinitionID: roleDefinitionID(a.Scope, a.RoleDefinitionID),
			PrincipalID:      a.PrincipalID,
			PrincipalType:    principalTypeSP,
			Scope:            a.Scope,
			CreatedOn:        armTime(a.Created),
			UpdatedOn:        armTime(a.Created),
			CreatedBy:        a.CreatedBy,
			UpdatedBy:        a.CreatedBy,
		},
	}
}

func (h *handler) putRoleAssignment(r *http.Request, p params) (int, any, error) {
	var b armwire.RoleAssignmentBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if b.Properties.PrincipalID == "" {
		return 0, nil, invalidContent("properties.principalId", "The principalId is required.")
	}
	a, created, err := h.access.PutRoleAssignment(r.Context(), p["ra"], control.RoleAssignmentInput{
		Scope: scopeOf(r), RoleDefinitionID: b.Properties.RoleDefinitionID,
		PrincipalID: b.Properties.PrincipalID, CreatedBy: callerOf(r).ID,
	})
	if err != nil {
		return 0, nil, err
	}
	return createdOrOK(created), roleAssignmentWire(a), nil
}

// assignmentAt returns the assignment id names if it lives at the request's
// scope; Azure addresses an assignment only by its full id.
func (h *handler) assignmentAt(r *http.Request, id string) (ptu.RoleAssignment, error) {
	a, err := h.access.GetRoleAssignment(r.Context(), id)
	if err != nil {
		return a, err
	}
	if !strings.EqualFold(authz.CleanScope(a.Scope), scopeOf(r)) {
		return a, ptu.Errorf(ptu.CodeRoleAssignmentNotFound, "The role assignment '%s' is not found.", id)
	}
	return a, nil
}

func (h *handler) getRoleAssignment(r *http.Request, p params) (int, any, error) {
	a, err := h.assignmentAt(r, p["ra"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, roleAssignmentWire(a), nil
}

// deleteRoleAssignment answers 200 with the deleted assignment, or 204 when
// there was none, as Azure does.
func (h *handler) deleteRoleAssignment(r *http.Request, p params) (int, any, error) {
	if _, err := h.assignmentAt(r, p["ra"]); ptu.ErrorCode(err) == ptu.CodeRoleAssignmentNotFound {
		return http.StatusNoContent, nil, nil
	} else if err != nil {
		return 0, nil, err
	}
	a, found, err := h.access.DeleteRoleAssignment(r.Context(), p["ra"])
	if err != nil {
		return 0, nil, err
	}
	if !found {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, roleAssignmentWire(a), nil
}

// listRoleAssignments lists the assignments that apply at the scope (at it
// or above) and those below it. $filter=atScope() keeps those that apply
// at the scope; principalId eq '{id}' and assignedTo('{id}') one principal's.
func (h *handler) listRoleAssignments(r *http.Request, _ params) (int, any, error) {
	scope := scopeOf(r)
	atScope, principal, err := parseAssignmentFilter(queryValue(r.URL.Query(), "$filter"))
	if err != nil {
		return 0, nil, err
	}
	all, err := h.access.ListRoleAssignments(r.Context(), "")
	if err != nil {
		return 0, nil, err
	}
	out := []armwire.RoleAssignment{}
	for _, a := range all {
		above := authz.ScopeContains(a.Scope, scope)
		below := authz.ScopeContains(scope, a.Scope)
		if !above && (atScope || !below) {
			continue
		}
		if principal != "" && !strings.EqualFold(a.PrincipalID, principal) {
			continue
		}
		out = append(out, roleAssignmentWire(a))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// parseAssignmentFilter reads the $filter forms of role assignment lists:
// atScope(), principalId eq '{id}', assignedTo('{id}'), joined by "and".
func parseAssignmentFilter(f string) (atScope bool, principal string, err error) {
	for _, c := range splitAnd(f) {
		lc := strings.ToLower(c)
		switch {
		case lc == "atscope()":
			atScope = true
		case strings.HasPrefix(lc, "principalid eq "):
			principal = unquote(c[len("principalid eq "):])
		case strings.HasPrefix(lc, "assignedto(") && strings.HasSuffix(lc, ")"):
			principal = unquote(c[len("assignedto(") : len(c)-1])
		default:
			return false, "", &ptu.Error{Code: ptu.CodeBadRequest, Target: "$filter",
				Message: fmt.Sprintf("The filter '%s' is not supported. Use atScope(), principalId eq '{id}' or assignedTo('{id}').", c)}
		}
	}
	return atScope, principal, nil
}

// splitAnd splits an OData filter on its "and"s; "" has no clauses.
func splitAnd(f string) []string {
	var out []string
	rest := strings.TrimSpace(f)
	for rest != "" {
		i := strings.Index(strings.ToLower(rest), " and ")
		if i < 0 {
			out = append(out, strings.TrimSpace(rest))
			break
		}
		out = append(out, strings.TrimSpace(rest[:i]))
		rest = strings.TrimSpace(rest[i+5:])
	}
	return out
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func roleDefinitionWire(scope string, role authz.Role) armwire.RoleDefinition {
	return armwire.RoleDefinition{
		ID: roleDefinitionID(scope, role.ID), Type: typeRoleDef, Name: role.ID,
		Properties: armwire.RoleDefinitionProperties{
			RoleName: role.Name, Type: builtInRoleType, Description: role.Description, AssignableScopes: []string{"/"},
			Permissions: []armwire.Permission{{
				Actions: nonNil(role.Actions), NotActions: nonNil(role.NotActions),
				DataActions: nonNil(role.DataActions), NotDataActions: nonNil(role.NotDataActions),
			}},
		},
	}
}

// listRoleDefinitions lists the built-in roles; $filter=roleName eq '{name}' picks one.
func (h *handler) listRoleDefinitions(r *http.Request, _ params) (int, any, error) {
	name := ""
	for _, c := range splitAnd(queryValue(r.URL.Query(), "$filter")) {
		lc := strings.ToLower(c)
		switch {
		case strings.HasPrefix(lc, "rolename eq "):
			name = unquote(c[len("rolename eq "):])
		case lc == "type eq 'builtinrole'":
		default:
			return 0, nil, &ptu.Error{Code: ptu.CodeBadRequest, Target: "$filter",
				Message: fmt.Sprintf("The filter '%s' is not supported. Use roleName eq '{name}'.", c)}
		}
	}
	scope := scopeOf(r)
	out := []armwire.RoleDefinition{}
	for _, role := range authz.BuiltIn {
		if name == "" || strings.EqualFold(role.Name, name) {
			out = append(out, roleDefinitionWire(scope, role))
		}
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) getRoleDefinition(r *http.Request, p params) (int, any, error) {
	role, ok := authz.Lookup(p["rd"])
	if !ok || !control.IsGUID(p["rd"]) {
		return 0, nil, ptu.Errorf(ptu.CodeRoleDefinitionDoesNotExist, "The role definition '%s' could not be found.", p["rd"])
	}
	return http.StatusOK, roleDefinitionWire(scopeOf(r), role), nil
}

// --- principals (ptu's extension) ---

func principalWire(p ptu.Principal) armwire.Principal {
	return armwire.Principal{
		ID: pAuthz + "/principals/" + p.ID, Type: typePrincipal, Name: p.ID,
		Properties: armwire.PrincipalProperties{PrincipalID: p.ID, DisplayName: p.Name, PrincipalType: principalTypeSP,
			CreatedOn: armTime(p.Created), ExpiresOn: armTime(p.Expires)},
	}
}

func (h *handler) createPrincipal(r *http.Request, _ params) (int, any, error) {
	var b armwire.PrincipalBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	ttl, err := control.ParseLifetime(b.ExpiresIn)
	if err != nil {
		return 0, nil, &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "expiresIn", Message: err.Error()}
	}
	p, token, err := h.access.CreatePrincipal(r.Context(), b.Name, ttl)
	if err != nil {
		return 0, nil, err
	}
	out := principalWire(p)
	out.Properties.Token = token
	return http.StatusCreated, out, nil
}

func (h *handler) listPrincipals(r *http.Request, _ params) (int, any, error) {
	ps, err := h.access.ListPrincipals(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.Principal, 0, len(ps))
	for _, p := range ps {
		out = append(out, principalWire(p))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) getPrincipal(r *http.Request, p params) (int, any, error) {
	pr, err := h.access.GetPrincipal(r.Context(), p["principal"])
	if ptu.ErrorCode(err) == ptu.CodePrincipalNotFound {
		err = &ptu.Error{Code: ptu.CodeResourceNotFound, Message: err.(*ptu.Error).Message}
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, principalWire(pr), nil
}

func (h *handler) deletePrincipal(r *http.Request, p params) (int, any, error) {
	existed, err := h.access.DeletePrincipal(r.Context(), p["principal"])
	if err != nil {
		return 0, nil, err
	}
	return deletedStatus(existed), nil, nil
}
