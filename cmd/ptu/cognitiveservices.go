package main

import (
	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// cli is what every az-shaped command shares: where the server is and how
// to print.
type cli struct {
	conn *connection
	out  *output
}

// run wraps a command body: resolve the connection, call, print the result.
func (g *cli) run(fn func(cmd *cobra.Command, args []string, c *client.Client) (any, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := g.out.check(); err != nil {
			return err
		}
		c, err := g.conn.client()
		if err != nil {
			return err
		}
		v, err := fn(cmd, args, c)
		if err != nil {
			return cliError(err)
		}
		return g.out.print(cmd.OutOrStdout(), v)
	}
}

// group is a command that only holds subcommands.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(subs...)
	return cmd
}

// newCognitiveServices is `ptu cognitiveservices`, which takes the az
// cognitiveservices commands with their flags.
func newCognitiveServices() *cobra.Command {
	g := &cli{}
	cmd := group("cognitiveservices", "Manage accounts, deployments, quota and models, as `az cognitiveservices` does",
		`  ptu cognitiveservices account create -n demo-aoai -g demo -l eastus --kind OpenAI --sku S0 --yes
  ptu cognitiveservices account deployment create -n demo-aoai -g demo --deployment-name gpt-4o \
    --model-name gpt-4o --model-version 2024-08-06 --model-format OpenAI \
    --sku-capacity 15 --sku-name GlobalProvisionedManaged
  ptu cognitiveservices usage list -l eastus -o table`,
		newAccount(g), newUsage(g), newModel(g), newModelCapacity(g))
	cmd.Long = `Manage accounts, deployments, quota and models of a ptu server with the commands and
flags of az cognitiveservices: replace "az" by "ptu" in a command from the Azure
documentation. Output is JSON (az's default), or --output table|tsv, filtered by
a JMESPath --query.`
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

// accountFlags adds az's --name/-n and --resource-group/-g.
func accountFlags(cmd *cobra.Command, name, rg *string, required bool) {
	cmd.Flags().StringVarP(name, "name", "n", "", "account name")
	cmd.Flags().StringVarP(rg, "resource-group", "g", "", "resource group name")
	if required {
		_ = cmd.MarkFlagRequired("name")
		_ = cmd.MarkFlagRequired("resource-group")
	}
}
