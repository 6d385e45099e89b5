package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newRole is `ptu role`, with az role's assignment and definition commands.
const assignmentTable = "Principal:principalName, Role:roleDefinitionName, Scope:scope"

func newRole() *cobra.Command {
	g := &cli{}
	assignment := group("assignment", "Grant, list and revoke roles of principals at scopes",
		`  ptu role assignment create --assignee ci-deployer --role "Cognitive Services Contributor" --scope /subscriptions/{sub}/resourceGroups/demo
  ptu role assignment list --assignee ci-deployer -o table`,
		// az's role assignment list table (transform_assignment_list): principal, role, scope.
		withTable(newRoleAssignmentCreate(g), assignmentTable), withTable(newRoleAssignmentList(g), assignmentTable), newRoleAssignmentDelete(g))
	definition := group("definition", "List the built-in roles and what they allow",
		`  ptu role definition list --query "[].roleName" -o tsv
  ptu role definition list --name Reader`,
		newRoleDefinitionList(g))
	cmd := group("role", "Manage role assignments, as az role does",
		`  ptu role assignment create --assignee app --role "Cognitive Services OpenAI User" \
    --scope /subscriptions/{sub}/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/demo-aoai
  ptu role assignment list --scope /subscriptions/{sub} -o table
  ptu role definition list -o table`,
		assignment, definition)
	cmd.Long = `Assign Azure's built-in roles (Owner, Contributor, Reader, Cognitive Services
Contributor, Cognitive Services OpenAI User, Cognitive Services Usages Reader,
Reservation Purchaser) to principals at "/", a subscription, a resource group or an
account. A role applies at its scope and everything below it. See
docs/access-control.md.`
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

// scopeFlags are az role's --scope and --resource-group.
type scopeFlags struct {
	scope, group string
}

func (s *scopeFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&s.scope, "scope", "", what+`: "/", /subscriptions/{id}, …/resourceGroups/{name}, or a resource id`)
	cmd.Flags().StringVarP(&s.group, "resource-group", "g", "", "use the resource group's scope in the current subscription")
}

// resolve returns the scope: --scope, else the resource group's, else
// (when def) the subscription's, else "".
func (s *scopeFlags) resolve(ctx context.Context, c *client.Client, def bool) (string, error) {
	if s.scope != "" && s.group != "" {
		return "", errors.New("usage error: --scope and --resource-group are mutually exclusive")
	}
	if s.scope != "" {
		return s.scope, nil
	}
	if s.group == "" && !def {
		return "", nil
	}
	sub, err := c.SubscriptionID(ctx)
	if err != nil {
		return "", err
	}
	if s.group != "" {
		return "/subscriptions/" + sub + "/resourceGroups/" + s.group, nil
	}
	return "/subscriptions/" + sub, nil
}

// principalID resolves --assignee (a principal's id or name) to its id.
func principalID(ctx context.Context, c *client.Client, assignee string) (string, error) {
	p, err := c.GetPrincipal(ctx, assignee)
	if err != nil {
		return "", err
	}
	return p.Properties.PrincipalID, nil
}

// assignmentView is a role assignment as az role assignment prints it:
// properties flattened, with the principal's and the role's names.
type assignmentView struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Type               string `json:"type"`
	PrincipalID        string `json:"principalId"`
	PrincipalName      string `json:"principalName,omitempty"`
	PrincipalType      string `json:"principalType"`
	RoleDefinitionID   string `json:"roleDefinitionId"`
	RoleDefinitionName string `json:"roleDefinitionName,omitempty"`
	Scope              string `json:"scope"`
	CreatedBy          string `json:"createdBy,omitempty"`
	CreatedOn          string `json:"createdOn,omitempty"`
}

// names looks up principal and role names for assignment views; a caller
// that may not list principals gets views without principal names.
type names struct {
	principals map[string]string
	roles      map[string]string
}

func lookupNames(ctx context.Context, c *client.Client) names {
	n := names{principals: map[string]string{}, roles: map[string]string{}}
	if ps, err := c.ListPrincipals(ctx); err == nil {
		for _, p := range ps {
			n.principals[strings.ToLower(p.Properties.PrincipalID)] = p.Properties.DisplayName
		}
	}
	if ds, err := c.ListRoleDefinitions(ctx, "/", ""); err == nil {
		for _, d := range ds {
			n.roles[strings.ToLower(d.Name)] = d.Properties.RoleName
		}
	}
	return n
}

func (n names) view(a client.RoleAssignment) assignmentView {
	p := a.Properties
	role := p.RoleDefinitionID
	if i := strings.LastIndex(role, "/"); i >= 0 {
		role = role[i+1:]
	}
	return assignmentView{ID: a.ID, Name: a.Name, Type: a.Type, PrincipalID: p.PrincipalID,
		PrincipalName: n.principals[strings.ToLower(p.PrincipalID)], PrincipalType: p.PrincipalType,
		RoleDefinitionID: p.RoleDefinitionID, RoleDefinitionName: n.roles[strings.ToLower(role)],
		Scope: p.Scope, CreatedBy: p.CreatedBy, CreatedOn: p.CreatedOn}
}

func newRoleAssignmentCreate(g *cli) *cobra.Command {
	var assignee, role, name string
	var sf scopeFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Assign a role to a principal at a scope",
		Example: `  ptu role assignment create --assignee auditor --role Reader --scope /subscriptions/{sub}
  ptu role assignment create --assignee app --role "Cognitive Services OpenAI User" -g demo`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			ctx := cmd.Context()
			scope, err := sf.resolve(ctx, c, true)
			if err != nil {
				return nil, err
			}
			pid, err := principalID(ctx, c, assignee)
			if err != nil {
				return nil, err
			}
			a, err := c.CreateRoleAssignment(ctx, scope, name, role, pid)
			if err != nil {
				return nil, err
			}
			return lookupNames(ctx, c).view(*a), nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&assignee, "assignee", "", "the principal: its name or id")
	f.StringVar(&assignee, "assignee-object-id", "", "alias of --assignee")
	f.StringVar(&role, "role", "", "role name (Reader) or role definition id")
	f.StringVar(&name, "name", "", "the assignment's GUID (default: a new one)")
	sf.add(cmd, "scope of the assignment (default: the subscription)")
	cmd.MarkFlagsOneRequired("assignee", "assignee-object-id")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// matching lists the assignments at and below scope (everything when
// scope is "") that name assignee and role when given.
func matching(ctx context.Context, c *client.Client, scope, assignee, role string, all bool) ([]client.RoleAssignment, error) {
	filter := ""
	if assignee != "" {
		pid, err := principalID(ctx, c, assignee)
		if err != nil {
			return nil, err
		}
		filter = "principalId eq '" + pid + "'"
	}
	list, err := c.ListRoleAssignments(ctx, scope, filter)
	if err != nil {
		return nil, err
	}
	roleID := ""
	if role != "" {
		ds, err := c.ListRoleDefinitions(ctx, "/", "")
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if strings.EqualFold(d.Properties.RoleName, role) || strings.EqualFold(d.Name, role) || strings.HasSuffix(strings.ToLower(role), "/"+strings.ToLower(d.Name)) {
				roleID = d.Name
			}
		}
		if roleID == "" {
			return nil, fmt.Errorf("role '%s' does not exist", role)
		}
	}
	var out []client.RoleAssignment
	for _, a := range list {
		if roleID != "" && !strings.HasSuffix(strings.ToLower(a.Properties.RoleDefinitionID), strings.ToLower(roleID)) {
			continue
		}
		// Without --all, az lists what is at the scope and below it, not above.
		if !all && scope != "" && !underScope(a.Properties.Scope, scope) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// underScope reports whether s is scope or below it, segment-wise and ignoring case.
func underScope(s, scope string) bool {
	a := strings.Split(strings.Trim(strings.ToLower(s), "/"), "/")
	b := strings.Split(strings.Trim(strings.ToLower(scope), "/"), "/")
	if b[0] == "" {
		return true
	}
	if len(a) < len(b) {
		return false
	}
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func newRoleAssignmentList(g *cli) *cobra.Command {
	var assignee, role string
	var all, inherited bool
	var sf scopeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List role assignments at a scope and below it",
		Example: `  ptu role assignment list --assignee app
  ptu role assignment list -g demo --include-inherited -o table --query "[].{who:principalName, role:roleDefinitionName, scope:scope}"`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			ctx := cmd.Context()
			scope, err := sf.resolve(ctx, c, !all)
			if err != nil {
				return nil, err
			}
			if all {
				scope = "/"
			}
			list, err := matching(ctx, c, scope, assignee, role, all || inherited)
			if err != nil {
				return nil, err
			}
			n := lookupNames(ctx, c)
			out := make([]assignmentView, 0, len(list))
			for _, a := range list {
				out = append(out, n.view(a))
			}
			return out, nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&assignee, "assignee", "", "only this principal's (name or id)")
	f.StringVar(&role, "role", "", "only this role's (name or id)")
	f.BoolVar(&all, "all", false, "every assignment the caller may see, at any scope")
	f.BoolVar(&inherited, "include-inherited", false, "include assignments at scopes above --scope")
	sf.add(cmd, "list at this scope and below (default: the subscription)")
	return cmd
}

func newRoleAssignmentDelete(g *cli) *cobra.Command {
	var ids []string
	var assignee, role string
	var sf scopeFlags
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Revoke role assignments, by id or by assignee, role and scope",
		Example: `  ptu role assignment delete --ids /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{name}
  ptu role assignment delete --assignee app --role "Cognitive Services OpenAI User" -g demo`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			ctx := cmd.Context()
			if len(ids) > 0 {
				if assignee != "" || role != "" || sf.scope != "" || sf.group != "" {
					return nil, errors.New("usage error: --ids or --assignee/--role/--scope, not both")
				}
			} else {
				if assignee == "" && role == "" {
					return nil, errors.New("usage error: give --ids, or --assignee and/or --role (with --scope)")
				}
				scope, err := sf.resolve(ctx, c, true)
				if err != nil {
					return nil, err
				}
				list, err := matching(ctx, c, scope, assignee, role, false)
				if err != nil {
					return nil, err
				}
				for _, a := range list {
					// The scope given is the assignment's own, as in az.
					if strings.EqualFold(strings.TrimRight(a.Properties.Scope, "/"), strings.TrimRight(scope, "/")) {
						ids = append(ids, a.ID)
					}
				}
				if len(ids) == 0 {
					return nil, errors.New("no matched assignments were found to delete")
				}
			}
			for _, id := range ids {
				existed, err := c.DeleteRoleAssignment(ctx, id)
				if err != nil {
					return nil, err
				}
				if !existed {
					fmt.Fprintf(cmd.ErrOrStderr(), "No role assignment %s.\n", id)
				}
			}
			return nil, nil
		}),
	}
	f := cmd.Flags()
	f.StringSliceVar(&ids, "ids", nil, "assignment ids ({scope}/providers/Microsoft.Authorization/roleAssignments/{name})")
	f.StringVar(&assignee, "assignee", "", "the principal (name or id)")
	f.StringVar(&role, "role", "", "the role (name or id)")
	sf.add(cmd, "the assignments' scope (default: the subscription)")
	return cmd
}

// definitionView is a role definition as az role definition list prints it.
type definitionView struct {
	ID               string              `json:"id"`
	Name             string              `json:"name"`
	Type             string              `json:"type"`
	RoleName         string              `json:"roleName"`
	RoleType         string              `json:"roleType"`
	Description      string              `json:"description"`
	AssignableScopes []string            `json:"assignableScopes"`
	Permissions      []client.Permission `json:"permissions"`
}

func newRoleDefinitionList(g *cli) *cobra.Command {
	var name string
	var sf scopeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in roles with their actions and data actions",
		Example: `  ptu role definition list --query "[].roleName" -o tsv
  ptu role definition list --name "Cognitive Services OpenAI User" --query "[0].permissions[0].dataActions"`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			scope, err := sf.resolve(cmd.Context(), c, true)
			if err != nil {
				return nil, err
			}
			ds, err := c.ListRoleDefinitions(cmd.Context(), scope, name)
			if err != nil {
				return nil, err
			}
			out := make([]definitionView, 0, len(ds))
			for _, d := range ds {
				p := d.Properties
				out = append(out, definitionView{ID: d.ID, Name: d.Name, Type: d.Type, RoleName: p.RoleName, RoleType: p.Type,
					Description: p.Description, AssignableScopes: p.AssignableScopes, Permissions: p.Permissions})
			}
			return out, nil
		}),
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "only the role of this name")
	sf.add(cmd, "read the definitions at this scope (default: the subscription)")
	return cmd
}
