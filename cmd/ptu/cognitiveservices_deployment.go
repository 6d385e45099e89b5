package main

import (
	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

func newDeployment(g *cli) *cobra.Command {
	return group("deployment", "Manage an account's model deployments",
		`  ptu cognitiveservices account deployment list -n demo-aoai -g demo -o table`,
		newDeploymentCreate(g), newDeploymentList(g), newDeploymentShow(g), newDeploymentDelete(g))
}

func newDeploymentCreate(g *cli) *cobra.Command {
	var name, rg, dep string
	var in client.DeploymentCreate
	var yes bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update a deployment (provisioned deployments reserve PTUs)",
		Long: `Create or update a deployment. A provisioned deployment (--sku-name
GlobalProvisionedManaged, DataZoneProvisionedManaged or ProvisionedManaged)
reserves --sku-capacity PTUs: it must fit the subscription's quota for that type
in the account's region (else InsufficientQuota) and the fleet's capacity (else
InsufficientResourcesAvailable, which names the regions where it would fit).
As with az, the SKU is sent only when --sku-name is given.

Before a provisioned deployment is created its price is shown (per hour and per
month, and what a reservation would cost) and, on a terminal, confirmed; --yes
skips both. When standard input is not a terminal the price is printed on
standard error and the deployment is created, as az creates it without asking.`,
		Example: `  # the Azure guide's command, with "az" replaced by "ptu"
  ptu cognitiveservices account deployment create \
    --name <myResourceName> \
    --resource-group <myResourceGroupName> \
    --deployment-name MyModel \
    --model-name GPT-4 \
    --model-version 0613 \
    --model-format OpenAI \
    --sku-capacity 100 \
    --sku-name ProvisionedManaged

  # a Global deployment with a Standard spillover
  ptu cognitiveservices account deployment create -n demo-aoai -g demo --deployment-name gpt-4o \
    --model-name gpt-4o --model-version 2024-08-06 --model-format OpenAI \
    --sku GlobalProvisionedManaged --capacity 15 --spillover-deployment-name gpt-4o-std`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			// --sku-capacity 0 is sent as given, and refused by the service
			// (InvalidCapacity) as Azure refuses it, rather than dropped and
			// replaced by the type's default size.
			f := cmd.Flags()
			in.CapacitySet = f.Changed("sku-capacity") || f.Changed("capacity")
			if err := confirmPrice(cmd, c, rg, name, dep, in, yes); err != nil {
				return nil, err
			}
			return c.CreateDeployment(cmd.Context(), rg, name, dep, in)
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	f := cmd.Flags()
	f.StringVar(&dep, "deployment-name", "", "deployment name")
	f.StringVar(&in.Model.Name, "model-name", "", "model name, e.g. gpt-4o")
	f.StringVar(&in.Model.Version, "model-version", "", "model version, e.g. 2024-08-06")
	f.StringVar(&in.Model.Format, "model-format", "", "model format, e.g. OpenAI")
	f.StringVar(&in.Model.Source, "model-source", "", "model source (accepted; ptu ignores it)")
	f.StringVar(&in.SKUName, "sku-name", "", "deployment type: GlobalProvisionedManaged, DataZoneProvisionedManaged, ProvisionedManaged, GlobalStandard, DataZoneStandard, Standard")
	f.StringVar(&in.SKUName, "sku", "", "alias of --sku-name")
	f.IntVar(&in.Capacity, "sku-capacity", 0, "PTUs (units of 1,000 tokens per minute for Standard types)")
	f.IntVar(&in.Capacity, "capacity", 0, "alias of --sku-capacity")
	f.StringVar(&in.ScaleType, "scale-settings-scale-type", "", "deprecated scale settings type: Standard or Manual")
	f.StringVar(&in.ScaleType, "scale-type", "", "alias of --scale-settings-scale-type")
	f.IntVar(&in.ScaleCapacity, "scale-settings-capacity", 0, "deprecated scale settings capacity, used when --sku-capacity is not given")
	f.IntVar(&in.ScaleCapacity, "scale-capacity", 0, "alias of --scale-settings-capacity")
	f.StringVar(&in.SpilloverDeploymentName, "spillover-deployment-name", "", "the Standard deployment of the account that takes calls when this one is at capacity")
	f.StringVar(&in.SpilloverDeploymentName, "spillover-name", "", "alias of --spillover-deployment-name")
	f.BoolVarP(&yes, "yes", "y", false, "create without showing and confirming the price")
	for _, req := range []string{"deployment-name", "model-name", "model-version", "model-format"} {
		_ = cmd.MarkFlagRequired(req)
	}
	return withTable(cmd, deploymentTable)
}

func newDeploymentList(g *cli) *cobra.Command {
	var name, rg string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List an account's deployments",
		Example: `  ptu cognitiveservices account deployment list -n demo-aoai -g demo
  ptu cognitiveservices account deployment list -n demo-aoai -g demo \
    --query "[].{name:name, sku:sku.name, ptu:sku.capacity}" -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListDeployments(cmd.Context(), rg, name)
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	return withTable(cmd, deploymentTable)
}

func newDeploymentShow(g *cli) *cobra.Command {
	var name, rg, dep string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a deployment",
		Example: `  ptu cognitiveservices account deployment show -n demo-aoai -g demo --deployment-name gpt-4o`,
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.GetDeployment(cmd.Context(), rg, name, dep)
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	cmd.Flags().StringVar(&dep, "deployment-name", "", "deployment name")
	_ = cmd.MarkFlagRequired("deployment-name")
	return withTable(cmd, deploymentTable)
}

func newDeploymentDelete(g *cli) *cobra.Command {
	var name, rg, dep string
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a deployment, releasing its PTUs",
		Example: `  ptu cognitiveservices account deployment delete -n demo-aoai -g demo --deployment-name gpt-4o`,
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			_, err := c.DeleteDeployment(cmd.Context(), rg, name, dep)
			return nil, err
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	cmd.Flags().StringVar(&dep, "deployment-name", "", "deployment name")
	_ = cmd.MarkFlagRequired("deployment-name")
	return cmd
}
