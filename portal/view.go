package portal

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// usage is a quota row of the quota page.
type usage struct{ client.Usage }

// SKU is the deployment type of a usage row (OpenAI.<type>).
func (u usage) SKU() string { return strings.TrimPrefix(u.Name.Value, "OpenAI.") }

// Percent is used ÷ limit, for the bar.
func (u usage) Percent() float64 {
	if u.Limit <= 0 {
		return 0
	}
	return math.Min(100, 100*float64(u.CurrentValue)/float64(u.Limit))
}

// provisioned are the provisioned deployment types, in the portal's order.
var provisioned = []string{"GlobalProvisionedManaged", "DataZoneProvisionedManaged", "ProvisionedManaged"}

// standard are the pay-per-token types the wizard offers after them (a
// provisioned deployment's spillover target is one).
var standard = []string{"GlobalStandard", "DataZoneStandard", "Standard"}

func isProvisioned(s string) bool {
	for _, p := range provisioned {
		if strings.EqualFold(p, s) {
			return true
		}
	}
	return false
}

var skuLabels = map[string]string{
	"GlobalProvisionedManaged":   "Global Provisioned Managed",
	"DataZoneProvisionedManaged": "Data Zone Provisioned Managed",
	"ProvisionedManaged":         "Regional Provisioned Managed",
	"GlobalStandard":             "Global Standard (pay per token)",
	"DataZoneStandard":           "Data Zone Standard (pay per token)",
	"Standard":                   "Regional Standard (pay per token)",
}

var funcs = template.FuncMap{
	"usd":  func(micros int64) string { return usd(float64(micros) / 1e6) },
	"usdf": usd,
	"skuLabel": func(s string) string {
		if l, ok := skuLabels[s]; ok {
			return l
		}
		return s
	},
	"num":   numAny,
	"hours": func(minutes int64) string { return fmt.Sprintf("%.2f", float64(minutes)/60) },
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"when": func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"eq2":         strings.EqualFold,
	"provisioned": isProvisioned,
	"capacity":    capacityText,
	"list":        func(s ...string) []string { return s },
}

// numAny is numText of an integer or a float.
func numAny(v any) (string, error) {
	switch n := v.(type) {
	case int:
		return numText(float64(n)), nil
	case int64:
		return numText(float64(n)), nil
	case float64:
		return numText(n), nil
	}
	return "", fmt.Errorf("num: %T is not a number", v)
}

// numText is a number for people: thousands grouped, at most two decimals
// (177,400 tokens, not 1.774e+05).
func numText(f float64) string {
	if f == math.Trunc(f) {
		return group(fmt.Sprintf("%.0f", f))
	}
	return group(fmt.Sprintf("%.2f", f))
}

func usd(d float64) string {
	neg := d < 0
	s := fmt.Sprintf("%.2f", math.Abs(d))
	s = group(s)
	if neg {
		return "-$" + s
	}
	return "$" + s
}

// group puts thousands separators in the integer part of a number.
func group(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return group(s[:i]) + s[i:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
