package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newPrincipal is `ptu principal`: the identities that call ptu with their
// own bearer tokens (ptu's extension; Azure's are Entra ID service
// principals). Creating and deleting them needs Owner at "/" (the admin).
// principalTable are a principal's -o table columns.
const principalTable = "Name:properties.displayName, Id:name, Type:properties.principalType, Created:properties.createdOn, Expires:properties.expiresOn"

func newPrincipal() *cobra.Command {
	g := &cli{}
	cmd := group("principal", "Create, list and delete principals: identities with bearer tokens",
		`  ptu principal create --name ci-deployer --expires-in 90d --query properties.token -o tsv > ci-token
  ptu principal list -o table --query "[].{id:name, name:properties.displayName, expires:properties.expiresOn}"
  ptu principal delete --name ci-deployer`,
		withTable(newPrincipalCreate(g), principalTable), withTable(newPrincipalList(g), principalTable),
		withTable(newPrincipalShow(g), principalTable), newPrincipalDelete(g))
	cmd.Long = `A principal is an identity with a bearer token. It may do what the roles assigned to
it allow (ptu role assignment create), on the control plane (ARM) and, with a data
role such as Cognitive Services OpenAI User, on the inference API. Its token is shown
once, when it is created; the server keeps only its SHA-256. See docs/access-control.md.`
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

func newPrincipalCreate(g *cli) *cobra.Command {
	var name, expires string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a principal and print its token (shown only this once)",
		Example: `  ptu principal create --name ci-deployer --expires-in 90d
  ptu principal create --name app --query properties.token -o tsv > app-token`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			p, err := c.CreatePrincipal(cmd.Context(), name, expires)
			if err != nil {
				return nil, err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Keep properties.token now: it is not stored and cannot be shown again.")
			return p, nil
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&name, "name", "n", "", "the principal's name (unique)")
	f.StringVar(&expires, "expires-in", "", "token lifetime: days (90d) or a duration (720h); default: no expiry")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newPrincipalList(g *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List principals by name",
		Example: `  ptu principal list -o table --query "[].{id:name, name:properties.displayName, expires:properties.expiresOn}"`,
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListPrincipals(cmd.Context())
		}),
	}
}

// principalRef reads --name, --id or the one argument.
func principalRef(name, id string, args []string) (string, error) {
	refs := 0
	ref := ""
	for _, v := range append([]string{name, id}, args...) {
		if v != "" {
			refs++
			ref = v
		}
	}
	if refs != 1 {
		return "", errors.New("name the principal once: --name NAME, --id ID, or as the argument")
	}
	return ref, nil
}

func newPrincipalShow(g *cli) *cobra.Command {
	var name, id string
	cmd := &cobra.Command{
		Use:     "show [NAME|ID]",
		Short:   "Show a principal",
		Example: `  ptu principal show --name ci-deployer`,
		Args:    cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			ref, err := principalRef(name, id, args)
			if err != nil {
				return nil, err
			}
			return c.GetPrincipal(cmd.Context(), ref)
		}),
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "the principal's name")
	cmd.Flags().StringVar(&id, "id", "", "the principal's id")
	return cmd
}

func newPrincipalDelete(g *cli) *cobra.Command {
	var name, id string
	cmd := &cobra.Command{
		Use:   "delete [NAME|ID]",
		Short: "Delete a principal and its role assignments; its token stops working at once",
		Example: `  ptu principal delete --name ci-deployer
  ptu principal delete --id 3f1c6a0e-8d0b-4a57-9a43-2c1f5e7d9b21`,
		Args: cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			ref, err := principalRef(name, id, args)
			if err != nil {
				return nil, err
			}
			existed, err := c.DeletePrincipal(cmd.Context(), ref)
			if err == nil && !existed {
				fmt.Fprintf(cmd.ErrOrStderr(), "No principal %s.\n", ref)
			}
			return nil, err
		}),
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "the principal's name")
	cmd.Flags().StringVar(&id, "id", "", "the principal's id")
	return cmd
}
