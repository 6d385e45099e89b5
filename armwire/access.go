package armwire

// Principals (ptu's extension), role assignments and role definitions
// (Microsoft.Authorization 2022-04-01, as armauthorization v2 and
// az role assignment read them).

// Principal is an identity that calls with a bearer token.
type Principal struct {
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	Name       string              `json:"name"`
	Properties PrincipalProperties `json:"properties"`
}

// PrincipalProperties describes a principal. Token is present only in the
// answer to the creation: the server does not keep it.
type PrincipalProperties struct {
	PrincipalID   string `json:"principalId"`
	DisplayName   string `json:"displayName"`
	PrincipalType string `json:"principalType"`
	CreatedOn     string `json:"createdOn,omitempty"`
	ExpiresOn     string `json:"expiresOn,omitempty"`
	Token         string `json:"token,omitempty"`
}

// PrincipalBody is the body of creating a principal.
type PrincipalBody struct {
	Name string `json:"name"`
	// ExpiresIn is the token's lifetime: a Go duration ("720h") or days
	// ("90d"); "" or "0" for a token that does not expire.
	ExpiresIn string `json:"expiresIn"`
}

// RoleAssignment grants a principal a role at a scope.
type RoleAssignment struct {
	ID         string                   `json:"id"`
	Type       string                   `json:"type"`
	Name       string                   `json:"name"`
	Properties RoleAssignmentProperties `json:"properties"`
}

// RoleAssignmentProperties are a role assignment's properties. The nil
// pointers are the properties Azure answers as null and ptu does not use.
type RoleAssignmentProperties struct {
	RoleDefinitionID                   string  `json:"roleDefinitionId"`
	PrincipalID                        string  `json:"principalId"`
	PrincipalType                      string  `json:"principalType,omitempty"`
	Scope                              string  `json:"scope,omitempty"`
	Condition                          *string `json:"condition"`
	ConditionVersion                   *string `json:"conditionVersion"`
	CreatedOn                          string  `json:"createdOn,omitempty"`
	UpdatedOn                          string  `json:"updatedOn,omitempty"`
	CreatedBy                          string  `json:"createdBy,omitempty"`
	UpdatedBy                          string  `json:"updatedBy,omitempty"`
	DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	Description                        *string `json:"description"`
}

// RoleAssignmentBody is the body of PUT of a role assignment.
type RoleAssignmentBody struct {
	Properties RoleAssignmentBodyProperties `json:"properties"`
}

// RoleAssignmentBodyProperties are the role and principal a PUT assigns.
type RoleAssignmentBodyProperties struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType,omitempty"`
	Description      string `json:"description,omitempty"`
}

// RoleDefinition is a built-in role.
type RoleDefinition struct {
	ID         string                   `json:"id"`
	Type       string                   `json:"type"`
	Name       string                   `json:"name"`
	Properties RoleDefinitionProperties `json:"properties"`
}

// RoleDefinitionProperties are a role's name and permissions.
type RoleDefinitionProperties struct {
	RoleName         string       `json:"roleName"`
	Type             string       `json:"type"`
	Description      string       `json:"description"`
	AssignableScopes []string     `json:"assignableScopes"`
	Permissions      []Permission `json:"permissions"`
}

// Permission lists what a role allows and excludes.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}
