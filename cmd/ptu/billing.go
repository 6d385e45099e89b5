package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newBilling is `ptu billing`: chargeback reports (ptu's extension; Azure has
// Cost Management for them).
func newBilling() *cobra.Command {
	g := &cli{}
	cmd := group("billing", "Report usage and charges per deployment, account, resource group or subscription",
		`  ptu billing usage list --from 2026-03-01 --to 2026-04-01 --group-by Account -o table
  ptu billing usage list --from 2026-03-01 --granularity Hourly -o csv > march.csv
  ptu billing reservation list --from 2026-03-01 --granularity None -o table
  ptu billing charge list --from 2026-01-01 -o csv`,
		newBillingUsage(g), newBillingReservation(g), newBillingCharge(g))
	cmd.Long = `Reports over a range of whole hours (UTC): --from (default: the start of the
current month) and --to (default: now), each a date (2026-03-01) or an RFC 3339
time. Money is exact: micro-dollars in JSON, dollars with six decimals in CSV.
Output: JSON (the report's lines), --output table|tsv, or --output csv.`
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

// reportRange holds the flags every report takes.
type reportRange struct {
	from, to, granularity string
}

func (r *reportRange) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&r.from, "from", "", "start of the range: a date (2026-03-01) or an RFC 3339 time; default the start of this month")
	f.StringVar(&r.to, "to", "", "end of the range (exclusive); default now")
	f.StringVar(&r.granularity, "granularity", "Daily", "a line per Hourly, Daily or Monthly period, or None for the whole range")
}

func (r *reportRange) times() (from, to time.Time, err error) {
	parse := func(flag, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339, time.DateOnly} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("argument --%s: %q is neither a date (2026-03-01) nor an RFC 3339 time (2026-03-01T00:00:00Z)", flag, s)
	}
	if from, err = parse("from", r.from); err != nil {
		return
	}
	to, err = parse("to", r.to)
	return
}

// runReport runs a report command: csv is written by the command's own
// writer, every other format by the shared output.
func (g *cli) runReport(fn func(cmd *cobra.Command, c *client.Client) (v any, csv func(io.Writer) error, err error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		isCSV := g.out.format == "csv"
		if isCSV && g.out.query != "" {
			return errors.New("--query does not apply to --output csv")
		}
		if !isCSV {
			if err := g.out.check(); err != nil {
				return fmt.Errorf("%w (or csv)", err)
			}
		}
		c, err := g.conn.client()
		if err != nil {
			return err
		}
		v, writeCSV, err := fn(cmd, c)
		if err != nil {
			return g.conn.fail(err)
		}
		if isCSV {
			return writeCSV(cmd.OutOrStdout())
		}
		return g.out.print(cmd.OutOrStdout(), v)
	}
}

func newBillingUsage(g *cli) *cobra.Command {
	var r reportRange
	var q client.UsageQuery
	list := &cobra.Command{
		Use:   "list",
		Short: "List usage and charges per period and deployment (or account, resource group, subscription)",
		Long: `List the subscription's usage per period and group. For provisioned deployments:
PTU-minutes deployed, the part reservations covered and the part billed at the
hourly list price, and their cost (the covered part at its share of the
reservations' amortized price). For Standard deployments: calls, tokens and
their cost. Costs are computed per deployment and hour; every other line and
total is a sum of those.`,
		Example: `  ptu billing usage list --from 2026-03-01 --to 2026-04-01 -o table \
    --query "[].{day:period, deployment:deployment, ptuMinutes:ptuMinutes, reserved:reservedPTUMinutes, totalMicros:totalCostMicros}"
  ptu billing usage list --from 2026-03-01 --granularity Hourly --deployment-name gpt-4o -o csv
  ptu billing usage list --group-by ResourceGroup --granularity None -o csv`,
		Args: cobra.NoArgs,
		RunE: g.runReport(func(cmd *cobra.Command, c *client.Client) (any, func(io.Writer) error, error) {
			var err error
			if q.From, q.To, err = r.times(); err != nil {
				return nil, nil, err
			}
			q.Granularity = r.granularity
			rep, err := c.BillingUsage(cmd.Context(), q)
			if err != nil {
				return nil, nil, err
			}
			return rep.Value, func(w io.Writer) error { return writeUsageCSV(w, rep) }, nil
		}),
	}
	r.flags(list)
	f := list.Flags()
	f.StringVar(&q.GroupBy, "group-by", "Deployment", "Deployment, Account, ResourceGroup or Subscription")
	f.StringVarP(&q.ResourceGroup, "resource-group", "g", "", "only this resource group")
	f.StringVarP(&q.Account, "name", "n", "", "only this account")
	f.StringVar(&q.Deployment, "deployment-name", "", "only deployments of this name")
	return group("usage", "Usage and charges", `  ptu billing usage list --from 2026-03-01 -o table`, list)
}

func newBillingReservation(g *cli) *cobra.Command {
	var r reportRange
	list := &cobra.Command{
		Use:   "list",
		Short: "List reservation utilization: reserved PTU-minutes, the part used, and the amortized cost",
		Example: `  ptu billing reservation list --from 2026-03-01 --granularity None -o table \
    --query "[].{reservation:displayName, reserved:reservedPTUMinutes, used:usedPTUMinutes, percent:utilizationPercent}"`,
		Args: cobra.NoArgs,
		RunE: g.runReport(func(cmd *cobra.Command, c *client.Client) (any, func(io.Writer) error, error) {
			from, to, err := r.times()
			if err != nil {
				return nil, nil, err
			}
			rep, err := c.ReservationReport(cmd.Context(), client.ReservationReportQuery{From: from, To: to, Granularity: r.granularity})
			if err != nil {
				return nil, nil, err
			}
			return rep.Value, func(w io.Writer) error { return writeReservationCSV(w, rep) }, nil
		}),
	}
	r.flags(list)
	return group("reservation", "Reservation utilization", `  ptu billing reservation list --granularity None -o table`, list)
}

func newBillingCharge(g *cli) *cobra.Command {
	var r reportRange
	list := &cobra.Command{
		Use:   "list",
		Short: "List reservation payments and refunds",
		Long: `List what was paid for reservations in the range: purchases, monthly payments and
renewals at the start of what they cover, and refunds (negative) at cancellations.`,
		Example: `  ptu billing charge list --from 2026-01-01 -o table --query "[].{time:time, kind:kind, reservation:displayName, micros:amountMicros}"`,
		Args:    cobra.NoArgs,
		RunE: g.runReport(func(cmd *cobra.Command, c *client.Client) (any, func(io.Writer) error, error) {
			from, to, err := r.times()
			if err != nil {
				return nil, nil, err
			}
			rep, err := c.ReservationReport(cmd.Context(), client.ReservationReportQuery{From: from, To: to, Granularity: "None"})
			if err != nil {
				return nil, nil, err
			}
			return rep.Charges, func(w io.Writer) error { return writeChargesCSV(w, rep) }, nil
		}),
	}
	r.flags(list)
	list.Flags().Lookup("granularity").Hidden = true
	return group("charge", "Reservation payments and refunds", `  ptu billing charge list --from 2026-01-01 -o csv`, list)
}

// dollars formats micro-dollars exactly, with six decimals: "1234.500000".
func dollars(micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	return fmt.Sprintf("%s%d.%06d", sign, micros/1_000_000, micros%1_000_000)
}

// ptuHours formats PTU-minutes as PTU-hours rounded half up to six decimals.
func ptuHours(minutes int64) string {
	return dollars((minutes*1_000_000 + 30) / 60)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func writeCSVRows(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func writeUsageCSV(w io.Writer, rep *client.UsageReport) error {
	rows := [][]string{{"period", "subscription_id", "resource_group", "account", "deployment", "location", "sku_name",
		"model", "model_version", "ptu_minutes", "ptu_hours", "reserved_ptu_minutes", "payg_ptu_minutes",
		"price_per_ptu_hour_usd", "payg_cost_usd", "reserved_cost_usd", "calls", "prompt_tokens", "cached_tokens",
		"completion_tokens", "token_cost_usd", "total_cost_usd", "currency"}}
	for _, l := range rep.Value {
		model, version, price := "", "", ""
		if l.Model != nil {
			model, version = l.Model.Name, l.Model.Version
		}
		if l.PricePerPTUHourMicros > 0 {
			price = dollars(l.PricePerPTUHourMicros)
		}
		rows = append(rows, []string{l.Period, l.SubscriptionID, l.ResourceGroup, l.Account, l.Deployment, l.Location, l.SKUName,
			model, version, itoa64(l.PTUMinutes), ptuHours(l.PTUMinutes), itoa64(l.ReservedPTUMinutes), itoa64(l.PayAsYouGoPTUMinutes),
			price, dollars(l.PayAsYouGoCostMicros), dollars(l.ReservedCostMicros), itoa64(l.Calls), itoa64(l.PromptTokens),
			itoa64(l.CachedTokens), itoa64(l.CompletionTokens), dollars(l.TokenCostMicros), dollars(l.TotalCostMicros), rep.Currency})
	}
	return writeCSVRows(w, rows)
}

func writeReservationCSV(w io.Writer, rep *client.ReservationReport) error {
	rows := [][]string{{"period", "reservation_id", "display_name", "resource_group", "location", "sku_name", "term", "quantity",
		"reserved_ptu_minutes", "used_ptu_minutes", "unused_ptu_minutes", "utilization_percent",
		"amortized_cost_usd", "used_cost_usd", "unused_cost_usd", "currency"}}
	for _, l := range rep.Value {
		rows = append(rows, []string{l.Period, l.ReservationID, l.DisplayName, l.ResourceGroup, l.Location, l.SKUName, l.Term,
			strconv.Itoa(l.Quantity), itoa64(l.ReservedPTUMinutes), itoa64(l.UsedPTUMinutes), itoa64(l.UnusedPTUMinutes),
			strconv.FormatFloat(l.UtilizationPercent, 'f', 2, 64), dollars(l.AmortizedCostMicros), dollars(l.UsedCostMicros),
			dollars(l.UnusedCostMicros), rep.Currency})
	}
	return writeCSVRows(w, rows)
}

func writeChargesCSV(w io.Writer, rep *client.ReservationReport) error {
	rows := [][]string{{"time", "reservation_id", "display_name", "kind", "amount_usd", "period_start", "period_end", "currency"}}
	for _, c := range rep.Charges {
		rows = append(rows, []string{c.Time, c.ReservationID, c.DisplayName, c.Kind, dollars(c.AmountMicros), c.PeriodStart, c.PeriodEnd, rep.Currency})
	}
	return writeCSVRows(w, rows)
}
