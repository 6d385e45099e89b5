package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ptu-dev/ptu/client"
)

// newPricing is `ptu pricing`: list prices and the price of a deployment
// before it is created (ptu's extension; Azure shows them on its pricing page
// and in the portal's "confirm pricing" dialog).
func newPricing() *cobra.Command {
	g := &cli{}
	var in client.QuoteRequest
	show := &cobra.Command{
		Use:   "show",
		Short: "Show list prices, or the price of a deployment of a given size",
		Long: `Without --sku-capacity: the list prices of the catalog, per model version and
deployment type (per PTU-hour for provisioned types, per million tokens for
Standard ones), and the reservation terms.

With --model-name, --sku-name and --sku-capacity: what that deployment costs per
hour and per month (730 hours) on the hourly list price, and what a 1-month or
1-year reservation of the same size costs and saves. The size is checked as
"deployment create" checks it. --output json prints the quote as the API returns
it (money in micro-dollars); table and tsv print one row per way of paying.`,
		Example: `  ptu pricing show -o table
  ptu pricing show --model-name gpt-4o -o table
  ptu pricing show --model-name gpt-4 --model-version 0613 --sku-name ProvisionedManaged --sku-capacity 100 -o table`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			if in.Capacity == 0 {
				list, err := c.ListPrices(cmd.Context(), client.PriceFilter{ModelName: in.Model.Name, ModelVersion: in.Model.Version, SKUName: in.SKUName})
				if err != nil {
					return nil, err
				}
				// The table shows the prices in dollars; the micro-dollar fields are for scripts.
				withTable(cmd, "Model:model, Version:version, SkuName:skuName, PerPTUHour:perPTUHour, "+
					"InputPer1M:inputPer1M, CachedInputPer1M:cachedInputPer1M, OutputPer1M:outputPer1M")
				return priceRows(list), nil
			}
			if in.Model.Name == "" || in.SKUName == "" {
				return nil, errors.New("a price for a size needs --model-name and --sku-name with --sku-capacity")
			}
			q, err := c.QuotePrice(cmd.Context(), in)
			if err != nil {
				return nil, err
			}
			if g.out.format == "table" || g.out.format == "tsv" {
				return quoteRows(q), nil
			}
			return q, nil
		}),
	}
	f := show.Flags()
	f.StringVar(&in.Model.Name, "model-name", "", "model name, e.g. gpt-4o")
	f.StringVar(&in.Model.Version, "model-version", "", "model version (default: the model's default version)")
	f.StringVar(&in.Model.Format, "model-format", "", "model format, e.g. OpenAI")
	f.StringVar(&in.SKUName, "sku-name", "", "deployment type, e.g. GlobalProvisionedManaged")
	f.StringVar(&in.SKUName, "sku", "", "alias of --sku-name")
	f.IntVar(&in.Capacity, "sku-capacity", 0, "the deployment's size (PTUs for provisioned types)")
	f.IntVar(&in.Capacity, "capacity", 0, "alias of --sku-capacity")

	cmd := group("pricing", "Show list prices and what a deployment would cost",
		`  ptu pricing show --model-name gpt-4o --sku-name GlobalProvisionedManaged --sku-capacity 15 -o table`, show)
	g.conn = addConnectionFlags(cmd)
	g.out = addOutputFlags(cmd)
	return cmd
}

// usd formats micro-dollars as dollars to the cent, rounded half up: "$1,234.56".
func usd(micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	cents := (micros + 5_000) / 10_000
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), cents%100)
}

// priceRow is one list price as `pricing show` prints it.
type priceRow struct {
	Model                  string `json:"model"`
	Version                string `json:"version"`
	SKUName                string `json:"skuName"`
	PerPTUHour             string `json:"perPTUHour,omitempty"`
	PricePerPTUHourMicros  int64  `json:"pricePerPTUHourMicros,omitempty"`
	InputPer1M             string `json:"inputPer1M,omitempty"`
	CachedInputPer1M       string `json:"cachedInputPer1M,omitempty"`
	OutputPer1M            string `json:"outputPer1M,omitempty"`
	InputPer1MMicros       int64  `json:"inputPer1MMicros,omitempty"`
	CachedInputPer1MMicros int64  `json:"cachedInputPer1MMicros,omitempty"`
	OutputPer1MMicros      int64  `json:"outputPer1MMicros,omitempty"`
}

func priceRows(l *client.PriceList) []priceRow {
	out := []priceRow{}
	for _, p := range l.Value {
		r := priceRow{Model: p.Model.Name, Version: p.Model.Version, SKUName: p.SKUName, PricePerPTUHourMicros: p.PricePerPTUHourMicros,
			InputPer1MMicros: p.InputPer1MMicros, CachedInputPer1MMicros: p.CachedInputPer1MMicros, OutputPer1MMicros: p.OutputPer1MMicros}
		if p.PricePerPTUHourMicros > 0 {
			r.PerPTUHour = usd(p.PricePerPTUHourMicros)
		} else {
			r.InputPer1M, r.CachedInputPer1M, r.OutputPer1M = usd(p.InputPer1MMicros), usd(p.CachedInputPer1MMicros), usd(p.OutputPer1MMicros)
		}
		out = append(out, r)
	}
	return out
}

// quoteRow is one way of paying for a quoted deployment.
type quoteRow struct {
	Plan     string `json:"plan"`
	PerHour  string `json:"perHour"`
	PerMonth string `json:"perMonth"`
	Term     string `json:"term"`
	Savings  string `json:"savings"`
}

func quoteRows(q *client.Quote) []quoteRow {
	if q.PricePerPTUHourMicros == 0 {
		return []quoteRow{{Plan: fmt.Sprintf("Per token: %s input, %s cached input, %s output per 1M", usd(q.InputPer1MMicros),
			usd(q.CachedInputPer1MMicros), usd(q.OutputPer1MMicros))}}
	}
	rows := []quoteRow{{Plan: "Hourly (list price)", PerHour: usd(q.HourlyMicros), PerMonth: usd(q.MonthlyMicros), Term: "-", Savings: "-"}}
	for _, r := range q.Reservations {
		row := quoteRow{Plan: "Reservation " + r.Term, PerHour: "-", Term: usd(r.TermMicros),
			Savings: fmt.Sprintf("%s (%.1f%%)", usd(r.SavingsMicros), r.SavingsPercent)}
		row.PerMonth = usd(r.MonthlyPaymentMicros)
		rows = append(rows, row)
	}
	return rows
}

// describeQuote is the price shown before a provisioned deployment is
// created. existing is the deployment of that name when there is one: the
// create then updates it, and the notice says what changes.
func describeQuote(dep string, q *client.Quote, existing *client.Deployment) string {
	var b strings.Builder
	if existing != nil {
		fmt.Fprintf(&b, "Deployment '%s' exists: this updates it from %d PTUs of %s (%s %s) to the size and model below.\n",
			dep, existing.Capacity(), existing.SKU.Name, existing.Properties.Model.Name, existing.Properties.Model.Version)
	}
	fmt.Fprintf(&b, "Price of deployment '%s': %d PTUs of %s (%s %s) at the list price of %s per PTU-hour,\n",
		dep, q.Capacity, q.SKUName, q.Model.Name, q.Model.Version, usd(q.PricePerPTUHourMicros))
	fmt.Fprintf(&b, "billed by the minute from now until the deployment is deleted, whether it is used or not:\n")
	fmt.Fprintf(&b, "  %s per hour, %s per month (%d hours).\n", usd(q.HourlyMicros), usd(q.MonthlyMicros), q.HoursPerMonth)
	if len(q.Reservations) > 0 {
		fmt.Fprintf(&b, "A reservation bought once the deployment exists costs less for the same PTUs:\n")
		for _, r := range q.Reservations {
			switch r.Term {
			case "P1M":
				fmt.Fprintf(&b, "  1 month (P1M): %s, saving %.1f%%\n", usd(r.TermMicros), r.SavingsPercent)
			default:
				fmt.Fprintf(&b, "  1 year (P1Y): %s, or %s a month, saving %.1f%%\n", usd(r.TermMicros), usd(r.MonthlyPaymentMicros), r.SavingsPercent)
			}
		}
		fmt.Fprintf(&b, "  (see ptu reservation purchase --help)\n")
	}
	return b.String()
}

// stdinIsTerminal reports whether r is an interactive terminal, as az
// decides it: knack's prompting.verify_is_a_tty asks sys.stdin.isatty(),
// the isatty(3) terminal ioctl. A character device is not enough: /dev/null
// is one, and `ssh -n`, cron and CI give it as standard input. Tests replace it.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirmPrice shows the price of a provisioned deployment before it is
// created (the guide's "confirm pricing" step). On a terminal it asks, and a
// refusal cancels the create; with --yes it neither shows nor asks. When
// standard input is not a terminal it shows the price on standard error and
// goes on, so scripts written for az, whose command never asks, keep working.
// When the price cannot be had (an unknown model, a bad size, a server
// without billing) it says nothing: the create reports what is wrong.
func confirmPrice(cmd *cobra.Command, c *client.Client, rg, account, dep string, in client.DeploymentCreate, yes bool) error {
	capacity := in.Capacity
	if capacity == 0 {
		capacity = in.ScaleCapacity
	}
	if yes || capacity == 0 || !strings.HasSuffix(strings.ToLower(in.SKUName), "provisionedmanaged") {
		return nil
	}
	q, err := c.QuotePrice(cmd.Context(), client.QuoteRequest{Model: in.Model, SKUName: in.SKUName, Capacity: capacity})
	if err != nil {
		return nil
	}
	// An existing deployment of that name is updated, not created: say so
	// before the price, as the portal's dialog does.
	existing, err := c.GetDeployment(cmd.Context(), rg, account, dep)
	if err != nil {
		existing = nil
	}
	w := cmd.ErrOrStderr()
	fmt.Fprint(w, describeQuote(dep, q, existing))
	if !stdinIsTerminal(cmd.InOrStdin()) {
		fmt.Fprintf(w, "(standard input is not a terminal: %s it without asking; --yes skips this notice)\n", map[bool]string{false: "creating", true: "updating"}[existing != nil])
		return nil
	}
	verb := "Create"
	if existing != nil {
		verb = "Update"
	}
	fmt.Fprintf(w, "%s the deployment at this price? (y/N): ", verb)
	answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("the deployment was not created: the price was not confirmed (pass --yes to create it without asking)")
}
