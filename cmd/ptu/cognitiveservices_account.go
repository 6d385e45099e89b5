package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

func newAccount(g *cli) *cobra.Command {
	return group("account", "Manage accounts (Azure OpenAI resources)",
		`  ptu cognitiveservices account create -n demo-aoai -g demo -l eastus --kind OpenAI --sku S0 --yes
  ptu cognitiveservices account list -o table`,
		newAccountCreate(g), newAccountList(g), newAccountShow(g), newAccountDelete(g), newAccountListModels(g),
		newAccountKeys(g), newDeployment(g))
}

func newAccountCreate(g *cli) *cobra.Command {
	var name, rg, location, kind, sku, domain string
	var tags []string
	var yes, identity bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an account in a region",
		Long: `Create an account (an Azure OpenAI resource) in a region. Its inference endpoint
is properties.endpoint; its keys come from "account keys list".

--yes and --assign-identity are accepted as az takes them; ptu asks for no terms
confirmation and has no managed identities.`,
		Example: `  ptu cognitiveservices account create -n demo-aoai -g demo -l eastus --kind OpenAI --sku S0 --yes
  ptu cognitiveservices account create -n my-resource -g my-group -l southcentralus --kind OpenAI --sku S0 \
    --custom-domain my-resource --tags team=search --yes`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			t, err := parseTags(tags)
			if err != nil {
				return nil, err
			}
			return c.CreateAccount(cmd.Context(), rg, name, client.AccountCreate{
				Location: location, Kind: kind, SKU: sku, CustomSubDomainName: domain, Tags: t})
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	f := cmd.Flags()
	f.StringVarP(&location, "location", "l", "", "region, e.g. eastus")
	f.StringVar(&kind, "kind", "", "the API name of the account: OpenAI or AIServices")
	f.StringVar(&sku, "sku", "", "SKU of the account: S0")
	f.StringVar(&sku, "sku-name", "", "alias of --sku")
	f.StringVar(&domain, "custom-domain", "", "subdomain that names the inference endpoint (default: the lowercased account name)")
	f.StringSliceVar(&tags, "tags", nil, "space- or comma-separated tags key[=value]")
	f.BoolVar(&yes, "yes", false, "do not prompt for terms confirmation")
	f.BoolVar(&identity, "assign-identity", false, "accepted for az compatibility; ptu has no managed identities")
	for _, req := range []string{"location", "kind"} {
		_ = cmd.MarkFlagRequired(req)
	}
	cmd.MarkFlagsOneRequired("sku", "sku-name")
	return withTable(cmd, accountTable)
}

// parseTags reads az's key[=value] tags.
func parseTags(in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, t := range in {
		for _, kv := range strings.Fields(t) {
			k, v, _ := strings.Cut(kv, "=")
			if k == "" {
				return nil, fmt.Errorf("argument --tags: %q has no key", kv)
			}
			out[k] = v
		}
	}
	return out, nil
}

func newAccountList(g *cli) *cobra.Command {
	var rg string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the accounts of a resource group or of the subscription",
		Example: `  ptu cognitiveservices account list
  ptu cognitiveservices account list -g demo -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListAccounts(cmd.Context(), rg)
		}),
	}
	cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group name (default: the whole subscription)")
	return withTable(cmd, accountTable)
}

func newAccountShow(g *cli) *cobra.Command {
	var name, rg string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show an account, with its inference endpoint",
		Example: `  ptu cognitiveservices account show -n demo-aoai -g demo
  ptu cognitiveservices account show -n demo-aoai -g demo --query properties.endpoint -o tsv`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.GetAccount(cmd.Context(), rg, name)
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	return withTable(cmd, accountTable)
}

func newAccountDelete(g *cli) *cobra.Command {
	var name, rg string
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete an account and its deployments",
		Example: `  ptu cognitiveservices account delete -n demo-aoai -g demo`,
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			_, err := c.DeleteAccount(cmd.Context(), rg, name)
			return nil, err
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	return cmd
}

func newAccountListModels(g *cli) *cobra.Command {
	var name, rg string
	cmd := &cobra.Command{
		Use:   "list-models",
		Short: "List the models an account can deploy",
		Example: `  ptu cognitiveservices account list-models -n demo-aoai -g demo
  ptu cognitiveservices account list-models -n demo-aoai -g demo --query "[].{name:name, version:version}" -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListAccountModels(cmd.Context(), rg, name)
		}),
	}
	accountFlags(cmd, &name, &rg, true)
	return withTable(cmd, accountModelTab)
}

func newAccountKeys(g *cli) *cobra.Command {
	var name, rg, keyName string
	list := &cobra.Command{
		Use:   "list",
		Short: "List an account's two keys",
		Example: `  ptu cognitiveservices account keys list -n demo-aoai -g demo
  ptu cognitiveservices account keys list -n demo-aoai -g demo --query key1 -o tsv`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListKeys(cmd.Context(), rg, name)
		}),
	}
	accountFlags(list, &name, &rg, true)

	var rname, rrg string
	regen := &cobra.Command{
		Use:     "regenerate",
		Short:   "Replace one of an account's keys",
		Example: `  ptu cognitiveservices account keys regenerate -n demo-aoai -g demo --key-name key1`,
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			switch strings.ToLower(keyName) {
			case "key1", "key2":
			default:
				return nil, fmt.Errorf("argument --key-name: invalid choice %q (choose from key1, key2)", keyName)
			}
			return c.RegenerateKey(cmd.Context(), rrg, rname, keyName)
		}),
	}
	accountFlags(regen, &rname, &rrg, true)
	regen.Flags().StringVar(&keyName, "key-name", "", "key to regenerate: key1 or key2")
	_ = regen.MarkFlagRequired("key-name")

	return group("keys", "Manage an account's keys",
		`  ptu cognitiveservices account keys list -n demo-aoai -g demo`, list, regen)
}
