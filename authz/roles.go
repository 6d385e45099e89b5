// Package authz holds Azure's built-in role definitions that ptu knows, the
// matching of actions against their permissions (with wildcards), and the
// matching of scopes. It knows nothing of HTTP or storage: arm maps requests
// to actions and scopes, control keeps principals and assignments.
package authz

import (
	"strings"
)

// Role definition ids of the built-in roles (the same GUIDs as in Azure).
const (
	OwnerID                         = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ContributorID                   = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ReaderID                        = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	CognitiveServicesContributorID  = "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68"
	CognitiveServicesOpenAIUserID   = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
	CognitiveServicesUsagesReaderID = "bba48692-92b0-4667-a9ad-c31c7b334ac2"
	ReservationPurchaserID          = "f7b75c60-3036-4b75-91c3-6b41c27c1689"
)

// Role is a role definition: what it allows on the control plane (Actions
// less NotActions) and on the data plane (DataActions less NotDataActions).
type Role struct {
	ID             string
	Name           string
	Description    string
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// BuiltIn lists the built-in roles, in the order Azure's role list shows
// them (privileged administrator roles first).
var BuiltIn = []Role{
	{
		ID: OwnerID, Name: "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Actions:     []string{"*"},
	},
	{
		ID: ContributorID, Name: "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Actions:     []string{"*"},
		NotActions: []string{
			"Microsoft.Authorization/*/Delete",
			"Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write",
			"Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action",
		},
	},
	{
		ID: ReaderID, Name: "Reader",
		Description: "View all resources, but does not allow you to make any changes.",
		Actions:     []string{"*/read"},
	},
	{
		ID: CognitiveServicesContributorID, Name: "Cognitive Services Contributor",
		Description: "Lets you create, read, update, delete and manage keys of Cognitive Services.",
		Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.CognitiveServices/*",
			"Microsoft.Features/features/read",
			"Microsoft.Features/providers/features/read",
			"Microsoft.Features/providers/features/register/action",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/diagnosticSettings/*",
			"Microsoft.Insights/logDefinitions/read",
			"Microsoft.Insights/metricdefinitions/read",
			"Microsoft.Insights/metrics/read",
			"Microsoft.ResourceHealth/availabilityStatuses/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/operationresults/read",
			"Microsoft.Resources/subscriptions/read",
			"Microsoft.Resources/subscriptions/resourcegroups/read",
			"Microsoft.Support/*",
		},
	},
	{
		ID: CognitiveServicesOpenAIUserID, Name: "Cognitive Services OpenAI User",
		Description: "Ability to view files, models, deployments. Readers can't make any changes They can inference and create images",
		Actions: []string{
			"Microsoft.CognitiveServices/*/read",
			"Microsoft.Authorization/roleAssignments/read",
			"Microsoft.Authorization/roleDefinitions/read",
		},
		DataActions: []string{
			"Microsoft.CognitiveServices/accounts/OpenAI/*/read",
			"Microsoft.CognitiveServices/accounts/OpenAI/engines/completions/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/engines/search/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/engines/generate/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/search/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/extensions/chat/completions/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/images/generations/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/audio/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/deployments/realtime/action",
			"Microsoft.CognitiveServices/accounts/OpenAI/assistants/*",
		},
		NotDataActions: []string{
			"Microsoft.CognitiveServices/accounts/OpenAI/stored-completions/read",
		},
	},
	{
		ID: CognitiveServicesUsagesReaderID, Name: "Cognitive Services Usages Reader",
		Description: "Minimal permission to view Cognitive Services usages.",
		Actions:     []string{"Microsoft.CognitiveServices/locations/usages/read"},
	},
	{
		ID: ReservationPurchaserID, Name: "Reservation Purchaser",
		Description: "Lets you purchase reservations",
		Actions: []string{
			"Microsoft.Authorization/roleAssignments/read",
			"Microsoft.Capacity/catalogs/read",
			"Microsoft.Capacity/register/action",
			"Microsoft.Compute/register/action",
			"Microsoft.Consumption/register/action",
			"Microsoft.Consumption/reservationRecommendationDetails/read",
			"Microsoft.Consumption/reservationRecommendations/read",
			"Microsoft.Resources/subscriptions/read",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.SQL/register/action",
			"Microsoft.Support/supporttickets/write",
			// Azure checks a purchase outside RBAC and makes the purchaser
			// an owner of the new reservation order; ptu keeps reservations
			// under the subscription and grants both here instead.
			ActionReservationPurchase,
			ActionReservationRead,
		},
	},
}

// The actions of ptu's reservation routes (reservations live under a
// subscription here; Azure keeps them in Microsoft.Capacity).
const (
	ActionReservationPurchase = "Microsoft.Capacity/reservationOrders/write"
	ActionReservationRead     = "Microsoft.Capacity/reservationOrders/read"
)

// Data actions of the inference API.
const (
	DataChatCompletions = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
	DataCompletions     = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action"
	DataModelsRead      = "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
)

// Lookup finds a built-in role by its GUID, by a role definition resource
// id ending in it (/subscriptions/{sub}/providers/Microsoft.Authorization/
// roleDefinitions/{guid}), or by its name; all case-insensitively.
func Lookup(ref string) (Role, bool) {
	ref = strings.TrimSpace(ref)
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	for i := range BuiltIn {
		if r := &BuiltIn[i]; r.ID == ref || strings.EqualFold(r.ID, ref) || strings.EqualFold(r.Name, ref) {
			return *r, true
		}
	}
	return Role{}, false
}

// Allows reports whether the role grants the control-plane action.
func (r Role) Allows(action string) bool {
	return matchAny(r.Actions, action) && !matchAny(r.NotActions, action)
}

// AllowsData reports whether the role grants the data action.
func (r Role) AllowsData(action string) bool {
	return matchAny(r.DataActions, action) && !matchAny(r.NotDataActions, action)
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if Match(p, action) {
			return true
		}
	}
	return false
}

// Match reports whether action matches pattern, as Azure matches
// permissions: case-insensitively, each * standing for any run of
// characters, slashes included ("*/read" matches every read,
// "Microsoft.CognitiveServices/*" everything of the provider).
func Match(pattern, action string) bool {
	p, a := pattern, action
	// Greedy glob with backtracking to the last star: linear in practice.
	pi, ai, star, mark := 0, 0, -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case pi < len(p) && lower(p[pi]) == lower(a[ai]):
			pi++
			ai++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// lower folds ASCII letters; action names and scopes are ASCII.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ScopeContains reports whether resource lies at or below scope: scope's
// segments are a prefix of resource's, compared case-insensitively. "/"
// contains everything.
func ScopeContains(scope, resource string) bool {
	// Walk both segment by segment without allocating: the gateway asks
	// this on every call made with a token.
	si, ri := 0, 0
	for {
		var s, r string
		s, si = nextSegment(scope, si)
		if s == "" {
			return true
		}
		r, ri = nextSegment(resource, ri)
		if len(s) != len(r) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if lower(s[i]) != lower(r[i]) {
				return false
			}
		}
	}
}

// nextSegment returns the next non-empty segment of path from i, and where
// the one after it starts; "" at the end.
func nextSegment(path string, i int) (string, int) {
	for i < len(path) && path[i] == '/' {
		i++
	}
	j := i
	for j < len(path) && path[j] != '/' {
		j++
	}
	return path[i:j], j
}

// Segments splits a scope into its non-empty path segments.
func Segments(scope string) []string {
	var out []string
	for s := range strings.SplitSeq(scope, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// CleanScope returns scope with one leading slash, no trailing slash and no
// empty segments; "" and "/" are the root scope "/".
func CleanScope(scope string) string {
	return "/" + strings.Join(Segments(scope), "/")
}

// Assignment is what a decision needs of a role assignment.
type Assignment struct {
	RoleDefinitionID string
	Scope            string
}

// Allowed reports whether any of the assignments whose scope contains
// resource grants the control-plane action (data false) or the data action
// (data true).
func Allowed(as []Assignment, action, resource string, data bool) bool {
	for _, a := range as {
		if !ScopeContains(a.Scope, resource) {
			continue
		}
		r := roleOf(a.RoleDefinitionID)
		if r == nil {
			continue
		}
		if data && r.AllowsData(action) || !data && r.Allows(action) {
			return true
		}
	}
	return false
}

// roleOf finds a built-in role by GUID without copying it.
func roleOf(id string) *Role {
	for i := range BuiltIn {
		if BuiltIn[i].ID == id || strings.EqualFold(BuiltIn[i].ID, id) {
			return &BuiltIn[i]
		}
	}
	return nil
}
