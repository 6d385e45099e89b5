package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newCalc is `ptu calc`: the capacity calculator of the Azure portal, asked
// of the server (calculateModelCapacity) so that its catalog decides.
func newCalc() *cobra.Command {
	var (
		in        client.CapacityCalculation
		single    client.CapacityWorkload
		cacheRate string
		workloads []string
		format    string
		query     string
		skuName   string
	)
	var conn *connection
	cmd := &cobra.Command{
		Use:   "calc --model NAME [--version V] (--rpm N --prompt-tokens N --completion-tokens N | --workload RPM:PROMPT:COMPLETION[:CACHE]...)",
		Short: "Estimate the PTUs a workload needs, per deployment type, with list prices",
		Long: `Estimate the PTUs a workload needs, as the Azure portal's capacity calculator does:

  normalized TPM = RPM × prompt tokens × (1 − cache rate) + output weight × RPM × completion tokens
  PTUs           = normalized TPM ÷ the model's input TPM per PTU

then round up to each provisioned deployment type's step (at least its minimum)
and price the result at the hourly list price (a month is 730 hours). Give one
workload with --rpm, --prompt-tokens, --completion-tokens and --cache-rate, or
several with --workload (repeatable); workloads are summed, so size for the
calls of your busiest minute. The model's numbers come from the server's catalog.

Confirm the estimate with your own traffic shape: deploy it and run
'ptu bench load' for ten minutes or more (docs/sizing.md).`,
		Example: `  ptu calc --model gpt-4o --rpm 1000 --prompt-tokens 200 --completion-tokens 20
  ptu calc --model gpt-4o --version 2024-11-20 --rpm 1000 --prompt-tokens 200 --completion-tokens 20 --cache-rate 0.5 --sku-name DataZoneProvisionedManaged
  ptu calc --model gpt-4.1 --workload 45:1000:200 --workload 7:7000:150 --workload 24:7000:1:25%
  ptu calc --model gpt-4o --rpm 60 --prompt-tokens 500 --completion-tokens 500 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := &output{format: format, query: query,
				table: "SkuName:skuName, PTUs:deployableValue, Minimum:minimum, Step:step, PerPTUHour:listPricePerPTUHour, PerHour:listPricePerHour, PerMonth:listPricePerMonth"}
			if format != "text" {
				if err := out.check(); err != nil {
					return fmt.Errorf("%w (or text, the default)", err)
				}
			} else if query != "" {
				return errors.New("argument --query: give an --output other than text (json, table or tsv)")
			}
			f := cmd.Flags()
			singleSet := f.Changed("rpm") || f.Changed("prompt-tokens") || f.Changed("completion-tokens") || f.Changed("cache-rate")
			switch {
			case singleSet && len(workloads) > 0:
				return errors.New("give one workload with --rpm/--prompt-tokens/--completion-tokens, or several with --workload, not both")
			case singleSet:
				if !f.Changed("rpm") || !f.Changed("prompt-tokens") || !f.Changed("completion-tokens") {
					return errors.New("--rpm, --prompt-tokens and --completion-tokens go together")
				}
				if cacheRate != "" {
					r, err := parseRate(cacheRate)
					if err != nil {
						return fmt.Errorf("--cache-rate: %w", err)
					}
					single.CacheRate = r
				}
				in.Workloads = []client.CapacityWorkload{single}
			case len(workloads) > 0:
				for _, w := range workloads {
					cw, err := parseWorkload(w)
					if err != nil {
						return fmt.Errorf("--workload %q: %w", w, err)
					}
					in.Workloads = append(in.Workloads, cw)
				}
			default:
				return errors.New("no workload: give --rpm, --prompt-tokens and --completion-tokens, or --workload RPM:PROMPT:COMPLETION[:CACHE]")
			}
			in.SKUName = skuName
			c, err := conn.client()
			if err != nil {
				return err
			}
			res, err := c.CalculateModelCapacity(cmd.Context(), in)
			if err != nil {
				return conn.fail(err)
			}
			switch {
			case format == "text":
				return printSizing(cmd.OutOrStdout(), in, res, skuName != "")
			case (format == "table" || format == "tsv") && query == "":
				// A row per deployment type, as the text's table.
				var rows []client.CapacityDeploymentType
				for _, d := range res.Estimate.DeploymentTypes {
					if skuName == "" || strings.EqualFold(d.SKUName, res.SKUName) {
						rows = append(rows, d)
					}
				}
				return out.print(cmd.OutOrStdout(), rows)
			}
			return out.print(cmd.OutOrStdout(), res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Model.Name, "model", "", "model name, e.g. gpt-4o")
	f.StringVar(&in.Model.Version, "version", "", "model version (default: the model's default version)")
	f.StringVar(&in.Model.Format, "model-format", "OpenAI", "model format")
	f.Float64Var(&single.RequestsPerMinute, "rpm", 0, "peak calls per minute")
	f.Float64Var(&single.AvgPromptTokens, "prompt-tokens", 0, "average prompt tokens per call")
	f.Float64Var(&single.AvgGeneratedTokens, "completion-tokens", 0, "average generated tokens per call")
	f.StringVar(&cacheRate, "cache-rate", "", "share of prompt tokens served from the prompt cache: 0.5 or 50%")
	f.StringArrayVar(&workloads, "workload", nil, "a workload as RPM:PROMPT:COMPLETION[:CACHE] (repeatable; summed)")
	f.StringVar(&skuName, "sku-name", "", "show only this deployment type (GlobalProvisionedManaged, DataZoneProvisionedManaged, ProvisionedManaged)")
	f.StringVar(&skuName, "sku", "", "alias of --sku-name")
	f.StringVarP(&format, "output", "o", "text", "output format: text, or json (the service's answer), table or tsv (a row per deployment type), none")
	f.StringVar(&query, "query", "", "JMESPath query string, applied to the json answer (see https://jmespath.org)")
	_ = cmd.MarkFlagRequired("model")
	conn = addConnectionFlags(cmd)
	return cmd
}

// parseRate reads a share as 0.5 or 50%.
func parseRate(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if pct {
		v /= 100
	}
	if math.IsNaN(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("%s is not between 0 and 1 (or 0%% and 100%%)", s)
	}
	return v, nil
}

// parseWorkload reads RPM:PROMPT:COMPLETION[:CACHE].
func parseWorkload(s string) (client.CapacityWorkload, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return client.CapacityWorkload{}, errors.New("want RPM:PROMPT:COMPLETION or RPM:PROMPT:COMPLETION:CACHE, e.g. 1000:200:20:0.5")
	}
	var v [3]float64
	for i, name := range []string{"RPM", "PROMPT", "COMPLETION"} {
		f, err := strconv.ParseFloat(parts[i], 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return client.CapacityWorkload{}, fmt.Errorf("%s %q is not a number of at least 0", name, parts[i])
		}
		v[i] = f
	}
	w := client.CapacityWorkload{RequestsPerMinute: v[0], AvgPromptTokens: v[1], AvgGeneratedTokens: v[2]}
	if len(parts) == 4 {
		r, err := parseRate(parts[3])
		if err != nil {
			return client.CapacityWorkload{}, fmt.Errorf("CACHE: %w", err)
		}
		w.CacheRate = r
	}
	return w, nil
}

// printSizing writes the calculator's answer for people.
func printSizing(w io.Writer, in client.CapacityCalculation, res *client.CapacityResult, onlyChosen bool) error {
	e := res.Estimate
	fmt.Fprintf(w, "Model: %s %s (%s input TPM per PTU; 1 output token counts as %s input tokens)\n",
		res.Model.Name, res.Model.Version, thousands(e.InputTokensPerMinutePerPTU, 0), thousands(e.OutputWeight, -1))
	for i, t := range e.Workloads {
		wl := in.Workloads[i]
		cache := ""
		if wl.CacheRate > 0 {
			cache = fmt.Sprintf(", %s%% cached", thousands(wl.CacheRate*100, -1))
		}
		fmt.Fprintf(w, "Workload %d: %s calls/min × (%s prompt + %s completion tokens%s) = %s normalized TPM = %s PTU\n",
			i+1, thousands(wl.RequestsPerMinute, -1), thousands(wl.AvgPromptTokens, -1), thousands(wl.AvgGeneratedTokens, -1), cache,
			thousands(t.NormalizedTokensPerMinute, 0), thousands(t.PTU, 2))
	}
	fmt.Fprintf(w, "Normalized TPM: %s = %s input − %s cached + %s × %s output\n",
		thousands(e.NormalizedTokensPerMinute, 0), thousands(e.InputTokensPerMinute, 0), thousands(e.CachedTokensPerMinute, 0),
		thousands(e.OutputWeight, -1), thousands(e.OutputTokensPerMinute, 0))
	fmt.Fprintf(w, "Raw PTUs: %s\n\n", thousands(e.PTU, 2))

	rows := [][]string{{"Deployment type", "PTUs", "Minimum", "Step", "$/PTU-hour", "$/hour", fmt.Sprintf("$/month (%d h)", e.HoursPerMonth)}}
	for _, d := range e.DeploymentTypes {
		if onlyChosen && !strings.EqualFold(d.SKUName, res.SKUName) {
			continue
		}
		rows = append(rows, []string{d.SKUName, strconv.Itoa(d.DeployableValue), strconv.Itoa(d.Minimum), strconv.Itoa(d.Step),
			thousands(d.ListPricePerPTUHour, 2), thousands(d.ListPricePerHour, 2), thousands(d.ListPricePerMonth, 2)})
	}
	writeColumns(w, rows)
	_, err := fmt.Fprintf(w, "\nList prices in %s. Sizes round the raw PTUs up to each type's step, at least its minimum.\n", e.Currency)
	return err
}

// thousands formats v with thousands separators and the given decimals
// (-1: as few as needed, up to 2).
func thousands(v float64, decimals int) string {
	var s string
	if decimals < 0 {
		s = strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	} else {
		s = strconv.FormatFloat(v, 'f', decimals, 64)
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}

// writeColumns prints rows as a table: the first column left-aligned, the
// others (numbers) right-aligned, two spaces apart.
func writeColumns(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
