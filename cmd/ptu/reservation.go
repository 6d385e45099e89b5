package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newReservation is `ptu reservation`: term discounts on deployed PTUs
// (Azure sells them in the portal's Reservations blade; ptu's extension).
func newReservation() *cobra.Command {
	g := &cli{}
	cmd := group("reservation", "Buy, list, change and cancel PTU reservations",
		`  ptu reservation purchase -l eastus --sku ProvisionedManaged --quantity 100 --term P1Y --billing-plan Monthly --renew
  ptu reservation list --query "[].{name:name, sku:properties.skuName, ptu:properties.quantity, state:properties.state}" -o table`,
		newReservationPurchase(g), newReservationList(g), newReservationShow(g), newReservationUpdate(g), newReservationCancel(g))
	cmd.Long = `A reservation is a discount on the hourly price of deployed PTUs for a term of one
month (P1M) or one year (P1Y), paid monthly or upfront. It reserves no capacity.
It applies, from the minute it is bought, to every deployment of its deployment
type in its region and scope (the subscription, or one resource group), whatever
the model; matching deployments share it, and PTUs beyond it are billed hourly.
Create the deployments first, then reserve what is deployed: a purchase larger
than the deployed PTUs that no reservation covers yet is refused unless --force.
The rules are in docs/billing.md.`
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

func newReservationPurchase(g *cli) *cobra.Command {
	var in client.ReservationPurchase
	cmd := &cobra.Command{
		Use:   "purchase",
		Short: "Buy a reservation for deployed PTUs of one type in one region",
		Long: `Buy a reservation. It applies at once to the deployments of --sku in region -l,
in the whole subscription, or in resource group -g only. It is refused when it is
larger than the PTUs deployed there that active reservations do not cover yet;
--force buys it anyway (the extra PTUs are paid for and unused).
Prices: P1M $260 per PTU for the month; P1Y $2,652 per PTU for the year, or $221
a month with --billing-plan Monthly.`,
		Example: `  ptu reservation purchase -l eastus --sku ProvisionedManaged --quantity 100 --term P1Y
  ptu reservation purchase -g demo -l eastus --sku GlobalProvisionedManaged --quantity 15 --term P1M \
    --billing-plan Upfront --renew --display-name "demo gpt-4o"`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.PurchaseReservation(cmd.Context(), in)
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&in.Location, "location", "l", "", "region of the deployments it discounts, e.g. eastus")
	f.StringVar(&in.SKUName, "sku", "", "provisioned deployment type: GlobalProvisionedManaged, DataZoneProvisionedManaged or ProvisionedManaged")
	f.StringVar(&in.SKUName, "sku-name", "", "alias of --sku")
	f.IntVar(&in.Quantity, "quantity", 0, "PTUs to reserve")
	f.StringVar(&in.Term, "term", "", "P1M (one month) or P1Y (one year)")
	f.StringVar(&in.BillingPlan, "billing-plan", "Monthly", "Monthly or Upfront")
	f.BoolVar(&in.AutoRenew, "renew", false, "renew at the end of each term")
	f.StringVarP(&in.ResourceGroup, "resource-group", "g", "", "scope the reservation to this resource group (default: the whole subscription)")
	f.StringVar(&in.DisplayName, "display-name", "", "a name for the reservation")
	f.BoolVar(&in.Force, "force", false, "buy it even when it is larger than the deployed PTUs it can discount")
	for _, req := range []string{"location", "quantity", "term"} {
		_ = cmd.MarkFlagRequired(req)
	}
	cmd.MarkFlagsOneRequired("sku", "sku-name")
	return cmd
}

func newReservationList(g *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the subscription's reservations, oldest first",
		Example: `  ptu reservation list -o table --query "[].{name:name, display:properties.displayName, sku:properties.skuName, \
    location:properties.location, ptu:properties.quantity, term:properties.term, state:properties.state, ends:properties.termEndDateTime}"`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			return c.ListReservations(cmd.Context())
		}),
	}
}

func newReservationShow(g *cli) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:     "show [ID]",
		Short:   "Show a reservation",
		Example: `  ptu reservation show -n 2b47e855-e188-45b0-9802-13ef98240abe`,
		Args:    cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			rid, err := reservationID(id, args)
			if err != nil {
				return nil, err
			}
			return c.GetReservation(cmd.Context(), rid)
		}),
	}
	cmd.Flags().StringVarP(&id, "name", "n", "", "the reservation's name (its id)")
	return cmd
}

func newReservationUpdate(g *cli) *cobra.Command {
	var id, display string
	var renew bool
	cmd := &cobra.Command{
		Use:   "update [ID]",
		Short: "Rename a reservation, or turn its renewal on or off",
		Long: `Change an active reservation. --renew=false ends it at the end of its current
term; --renew renews it there again.`,
		Example: `  ptu reservation update -n 2b47e855-e188-45b0-9802-13ef98240abe --renew=false
  ptu reservation update -n 2b47e855-e188-45b0-9802-13ef98240abe --display-name "search team"`,
		Args: cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			rid, err := reservationID(id, args)
			if err != nil {
				return nil, err
			}
			var in client.ReservationUpdate
			if cmd.Flags().Changed("renew") {
				in.AutoRenew = &renew
			}
			if cmd.Flags().Changed("display-name") {
				in.DisplayName = &display
			}
			if in.AutoRenew == nil && in.DisplayName == nil {
				return nil, errors.New("nothing to change: give --renew or --display-name")
			}
			return c.UpdateReservation(cmd.Context(), rid, in)
		}),
	}
	cmd.Flags().StringVarP(&id, "name", "n", "", "the reservation's name (its id)")
	cmd.Flags().BoolVar(&renew, "renew", false, "renew at the end of each term")
	cmd.Flags().StringVar(&display, "display-name", "", "a new name")
	return cmd
}

func newReservationCancel(g *cli) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "cancel [ID]",
		Short: "Cancel a reservation now; the unused part of its last payment is refunded",
		Example: `  ptu reservation cancel -n 2b47e855-e188-45b0-9802-13ef98240abe \
    --query "{state:properties.state, refund:properties.refundMicros}" -o table`,
		Args: cobra.MaximumNArgs(1),
		RunE: g.run(func(cmd *cobra.Command, args []string, c *client.Client) (any, error) {
			rid, err := reservationID(id, args)
			if err != nil {
				return nil, err
			}
			return c.CancelReservation(cmd.Context(), rid)
		}),
	}
	cmd.Flags().StringVarP(&id, "name", "n", "", "the reservation's name (its id)")
	return cmd
}

// reservationID takes the id from --name or the one argument.
func reservationID(flag string, args []string) (string, error) {
	switch {
	case flag != "" && len(args) == 1 && args[0] != flag:
		return "", errors.New("give the reservation id once, as --name or as the argument")
	case flag != "":
		return flag, nil
	case len(args) == 1:
		return args[0], nil
	}
	return "", errors.New("the reservation id is required (--name/-n or the argument)")
}
