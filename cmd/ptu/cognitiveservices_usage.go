package main

import (
	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

func newUsage(g *cli) *cobra.Command {
	var location string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the subscription's PTU quota in a region: used and limit per deployment type",
		Example: `  ptu cognitiveservices usage list -l eastus
  ptu cognitiveservices usage list -l eastus \
    --query "[].{quota:name.value, used:currentValue, limit:limit}" -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListUsages(cmd.Context(), location)
		}),
	}
	list.Flags().StringVarP(&location, "location", "l", "", "region, e.g. eastus")
	_ = list.MarkFlagRequired("location")
	return group("usage", "Show quota usage", `  ptu cognitiveservices usage list -l eastus -o table`, withTable(list, usageTable))
}
