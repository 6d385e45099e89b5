package main

import (
	"errors"
	"fmt"
	"strings"

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
			return g.conn.fail(err)
		}
		o := *g.out
		o.table = cmd.Annotations[tableAnnotation]
		return o.print(cmd.OutOrStdout(), v)
	}
}

// tableAnnotation holds a command's table transformer (see output.table).
const tableAnnotation = "ptu/table"

// withTable gives cmd a table transformer: the fields of the JMESPath
// multiselect hash that picks its -o table columns when no --query does.
func withTable(cmd *cobra.Command, expr string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[tableAnnotation] = expr
	return cmd
}

// group is a command that only holds subcommands. A word that is none of
// them is reported as az reports it, with the nearest subcommands, before
// its flags are looked at: "deployment lst -n x" is a typo of "list", not
// an unknown flag -n.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: unknownSubcommand,
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE:               func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(subs...)
	return cmd
}

// unknownSubcommand refuses any argument of a group with az's message:
// "'lst' is not in the 'az cognitiveservices account deployment' command
// group", then the most similar choices.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only on the root
	}
	msg := fmt.Sprintf("'%s' is not in the '%s' command group. See '%s --help'.", args[0], cmd.CommandPath(), cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\nThe most similar choice to '" + args[0] + "' is: " + strings.Join(s, ", ")
	}
	return errors.New(msg)
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

// Table columns of the az-shaped commands. az's cognitiveservices module
// defines no table transformer, so its tables show whatever scalars the
// resource has at the top (a deployment's name and resource group, a usage's
// numbers without its name); these pick what the portal's lists show, the
// way az's other modules do (vm list-usage, vm list).
const (
	accountTable    = "Name:name, ResourceGroup:resourceGroup, Location:location, Kind:kind, Sku:sku.name, Endpoint:properties.endpoint, State:properties.provisioningState"
	deploymentTable = "Name:name, Model:properties.model.name, Version:properties.model.version, Sku:sku.name, Capacity:sku.capacity, State:properties.provisioningState, ResourceGroup:resourceGroup"
	usageTable      = "Name:name.value, CurrentValue:currentValue, Limit:limit, Unit:unit"
	modelTable      = "Name:model.name, Version:model.version, Format:model.format, Default:model.isDefaultVersion, Lifecycle:model.lifecycleStatus, Skus:join(', ', model.skus[].name || `[]`)"
	accountModelTab = "Name:name, Version:version, Format:format, Default:isDefaultVersion, Lifecycle:lifecycleStatus, MaxCapacity:maxCapacity"
	capacityTable   = "Location:location, Sku:name, Model:properties.model.name, Version:properties.model.version, Available:properties.availableCapacity"
	quotaTable      = "Name:name, Location:properties.location, Sku:properties.skuName, Limit:properties.limit, State:properties.state, Reason:properties.reason, Note:properties.reviewNote"
)
