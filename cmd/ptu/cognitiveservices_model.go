package main

import (
	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

func newModel(g *cli) *cobra.Command {
	var location string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the models offered in a region, with their deployment types and sizes",
		Example: `  ptu cognitiveservices model list -l eastus
  ptu cognitiveservices model list -l eastus \
    --query "[].{name:model.name, version:model.version, default:model.isDefaultVersion}" -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListModels(cmd.Context(), location)
		}),
	}
	list.Flags().StringVarP(&location, "location", "l", "", "region, e.g. eastus")
	_ = list.MarkFlagRequired("location")
	return group("model", "Show the models a region offers", `  ptu cognitiveservices model list -l eastus`, withTable(list, modelTable))
}

func newModelCapacity(g *cli) *cobra.Command {
	var q client.ModelCapacityQuery
	list := &cobra.Command{
		Use:   "list",
		Short: "List the largest deployment of a model you could create now, per region and deployment type",
		Long: `List, per region and provisioned deployment type, the largest deployment of a model
the subscription could create now: the smaller of its free quota and the free PTUs
of the capacity pools. Without --location every region is listed.`,
		Example: `  ptu cognitiveservices model-capacity list --model-format OpenAI --model-name gpt-4o --model-version 2024-08-06
  ptu cognitiveservices model-capacity list --model-format OpenAI --model-name gpt-4 --model-version 0613 -l southcentralus \
    --query "[].{location:location, sku:name, available:properties.availableCapacity}" -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListModelCapacities(cmd.Context(), q)
		}),
	}
	f := list.Flags()
	f.StringVar(&q.Format, "model-format", "", "model format, e.g. OpenAI")
	f.StringVar(&q.Name, "model-name", "", "model name, e.g. gpt-4o")
	f.StringVar(&q.Version, "model-version", "", "model version, e.g. 2024-08-06")
	f.StringVarP(&q.Location, "location", "l", "", "region (default: every region)")
	for _, req := range []string{"model-format", "model-name", "model-version"} {
		_ = list.MarkFlagRequired(req)
	}
	return group("model-capacity", "Show where a model can be deployed now, and how large",
		`  ptu cognitiveservices model-capacity list --model-format OpenAI --model-name gpt-4o --model-version 2024-08-06`, withTable(list, capacityTable))
}
