package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newQuota is `ptu quota`: requests for a higher PTU limit (ptu's extension
// of the ARM API; Azure takes them through a form).
func newQuota() *cobra.Command {
	g := &cli{}
	cmd := group("quota", "Request more PTU quota, and approve or reject requests (operators)",
		`  ptu quota request create -l eastus --sku-name GlobalProvisionedManaged --limit 800 --reason "launch in March"
  ptu quota request list -o table
  ptu quota request approve -n 449cee9c-0d53-4d3f-a7b5-0e1f0c7b1a2e --note "approved for Q1"`,
		newQuotaRequest(g))
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

func newQuotaRequest(g *cli) *cobra.Command {
	var in client.QuotaRequestCreate
	create := &cobra.Command{
		Use:   "create",
		Short: "Ask for a higher PTU limit of one deployment type in one region",
		Example: `  ptu quota request create -l eastus --sku-name GlobalProvisionedManaged --limit 800 --reason "launch in March"
  ptu quota request create -l southcentralus --sku ProvisionedManaged --limit 1000 --reason "gpt-4 migration" --query name -o tsv`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.CreateQuotaRequest(cmd.Context(), in)
		}),
	}
	f := create.Flags()
	f.StringVarP(&in.Location, "location", "l", "", "region, e.g. eastus")
	f.StringVar(&in.SKUName, "sku-name", "", "provisioned deployment type: GlobalProvisionedManaged, DataZoneProvisionedManaged or ProvisionedManaged")
	f.StringVar(&in.SKUName, "sku", "", "alias of --sku-name")
	f.IntVar(&in.Limit, "limit", 0, "the PTU limit asked for (more than the current one)")
	f.StringVar(&in.Reason, "reason", "", "why the quota is needed")
	for _, req := range []string{"location", "limit", "reason"} {
		_ = create.MarkFlagRequired(req)
	}
	create.MarkFlagsOneRequired("sku-name", "sku")

	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the subscription's quota requests, newest first",
		Example: `  ptu quota request list -o table
  ptu quota request list --all --query "[?properties.state=='Pending'].name" -o tsv`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			if all {
				return c.ListAllQuotaRequests(cmd.Context())
			}
			return c.ListQuotaRequests(cmd.Context())
		}),
	}
	list.Flags().BoolVar(&all, "all", false, "every subscription's requests (operators)")

	var showID string
	show := &cobra.Command{
		Use:     "show [ID]",
		Short:   "Show a quota request",
		Example: `  ptu quota request show -n 449cee9c-0d53-4d3f-a7b5-0e1f0c7b1a2e`,
		Args:    cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			id, err := requestID(showID, args)
			if err != nil {
				return nil, err
			}
			return c.GetQuotaRequest(cmd.Context(), id)
		}),
	}
	show.Flags().StringVarP(&showID, "name", "n", "", "the request's name (its id)")

	return group("request", "Manage quota increase requests",
		`  ptu quota request create -l eastus --sku-name GlobalProvisionedManaged --limit 800 --reason "launch in March"`,
		withTable(create, quotaTable), withTable(list, quotaTable), withTable(show, quotaTable),
		withTable(newQuotaDecision(g, true), quotaTable), withTable(newQuotaDecision(g, false), quotaTable))
}

func newQuotaDecision(g *cli, approve bool) *cobra.Command {
	var id, note string
	verb, short := "approve", "Approve a pending request; the limit is raised at once (operators)"
	if !approve {
		verb, short = "reject", "Reject a pending request (operators)"
	}
	cmd := &cobra.Command{
		Use:   verb + " [ID]",
		Short: short,
		Example: "  ptu quota request " + verb + ` -n 449cee9c-0d53-4d3f-a7b5-0e1f0c7b1a2e --note "reviewed by capacity planning"
  ptu quota request ` + verb + ` 449cee9c-0d53-4d3f-a7b5-0e1f0c7b1a2e`,
		Args: cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			rid, err := requestID(id, args)
			if err != nil {
				return nil, err
			}
			if approve {
				return c.ApproveQuotaRequest(cmd.Context(), rid, note)
			}
			return c.RejectQuotaRequest(cmd.Context(), rid, note)
		}),
	}
	cmd.Flags().StringVarP(&id, "name", "n", "", "the request's name (its id)")
	cmd.Flags().StringVar(&note, "note", "", "a note for the requester")
	return cmd
}

// requestID takes the id from --name or the one argument.
func requestID(flag string, args []string) (string, error) {
	switch {
	case flag != "" && len(args) == 1 && args[0] != flag:
		return "", errors.New("give the request id once, as --name or as the argument")
	case flag != "":
		return flag, nil
	case len(args) == 1:
		return args[0], nil
	}
	return "", errors.New("the request id is required (--name/-n or the argument)")
}
