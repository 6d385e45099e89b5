package portal

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// The parts of the ARM answers the pages show.

type subscription struct {
	SubscriptionID string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
}

type location struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Metadata    struct {
		DataZone string `json:"dataZone"`
	} `json:"metadata"`
}

type usage struct {
	Name struct {
		Value          string `json:"value"`
		LocalizedValue string `json:"localizedValue"`
	} `json:"name"`
	CurrentValue float64 `json:"currentValue"`
	Limit        float64 `json:"limit"`
}

// SKU is the deployment type of a usage row (OpenAI.<type>).
func (u usage) SKU() string { return strings.TrimPrefix(u.Name.Value, "OpenAI.") }

// Percent is used ÷ limit, for the bar.
func (u usage) Percent() float64 {
	if u.Limit <= 0 {
		return 0
	}
	return math.Min(100, 100*u.CurrentValue/u.Limit)
}

type account struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Location   string `json:"location"`
	Kind       string `json:"kind"`
	Properties struct {
		Endpoint string `json:"endpoint"`
	} `json:"properties"`
}

// ResourceGroup is the account's resource group, from its id.
func (a account) ResourceGroup() string {
	parts := strings.Split(a.ID, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

type modelRef struct {
	Format  string `json:"format"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

type sku struct {
	Name     string `json:"name"`
	Capacity int    `json:"capacity"`
}

type deployment struct {
	Name       string `json:"name"`
	SKU        sku    `json:"sku"`
	Properties struct {
		Model                   modelRef `json:"model"`
		ProvisioningState       string   `json:"provisioningState"`
		RAIPolicyName           string   `json:"raiPolicyName"`
		VersionUpgradeOption    string   `json:"versionUpgradeOption"`
		SpilloverDeploymentName string   `json:"spilloverDeploymentName"`
	} `json:"properties"`
}

type skuCapacity struct {
	Minimum int `json:"minimum"`
	Maximum int `json:"maximum"`
	Step    int `json:"step"`
	Default int `json:"default"`
}

type accountModel struct {
	Format           string `json:"format"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	IsDefaultVersion bool   `json:"isDefaultVersion"`
	LifecycleStatus  string `json:"lifecycleStatus"`
	SKUs             []struct {
		Name     string      `json:"name"`
		Capacity skuCapacity `json:"capacity"`
	} `json:"skus"`
}

type modelCapacity struct {
	Location   string `json:"location"`
	Name       string `json:"name"`
	Properties struct {
		SKUName           string `json:"skuName"`
		AvailableCapacity int    `json:"availableCapacity"`
	} `json:"properties"`
}

type quote struct {
	Model                  modelRef `json:"model"`
	SKUName                string   `json:"skuName"`
	PricePerPTUHourMicros  int64    `json:"pricePerPTUHourMicros"`
	Capacity               int      `json:"capacity"`
	Currency               string   `json:"currency"`
	HoursPerMonth          int      `json:"hoursPerMonth"`
	HourlyMicros           int64    `json:"hourlyMicros"`
	MonthlyMicros          int64    `json:"monthlyMicros"`
	InputPer1MMicros       int64    `json:"inputPer1MMicros"`
	CachedInputPer1MMicros int64    `json:"cachedInputPer1MMicros"`
	OutputPer1MMicros      int64    `json:"outputPer1MMicros"`
	Reservations           []struct {
		Term                 string  `json:"term"`
		TermMicros           int64   `json:"termMicros"`
		MonthlyPaymentMicros int64   `json:"monthlyPaymentMicros"`
		SavingsPercent       float64 `json:"savingsPercent"`
	} `json:"reservations"`
}

type quotaRequest struct {
	Name       string `json:"name"`
	Properties struct {
		Location   string  `json:"location"`
		SKUName    string  `json:"skuName"`
		Limit      float64 `json:"limit"`
		Reason     string  `json:"reason"`
		State      string  `json:"state"`
		ReviewNote string  `json:"reviewNote"`
		CreatedAt  string  `json:"createdAt"`
	} `json:"properties"`
}

type reservation struct {
	Name       string `json:"name"`
	Properties struct {
		DisplayName      string `json:"displayName"`
		AppliedScopeType string `json:"appliedScopeType"`
		ResourceGroup    string `json:"resourceGroup"`
		Location         string `json:"location"`
		SKUName          string `json:"skuName"`
		Quantity         int    `json:"quantity"`
		Term             string `json:"term"`
		BillingPlan      string `json:"billingPlan"`
		AutoRenew        bool   `json:"autoRenew"`
		State            string `json:"state"`
		PurchaseDateTime string `json:"purchaseDateTime"`
		ExpiryDateTime   string `json:"expiryDateTime"`
		PaymentMicros    int64  `json:"paymentMicros"`
		RefundMicros     *int64 `json:"refundMicros"`
	} `json:"properties"`
}

type usageLine struct {
	Period               string    `json:"period"`
	ResourceGroup        string    `json:"resourceGroup"`
	Account              string    `json:"account"`
	Deployment           string    `json:"deployment"`
	Location             string    `json:"location"`
	SKUName              string    `json:"skuName"`
	Model                *modelRef `json:"model"`
	PTUMinutes           int64     `json:"ptuMinutes"`
	ReservedPTUMinutes   int64     `json:"reservedPTUMinutes"`
	PayAsYouGoPTUMinutes int64     `json:"payAsYouGoPTUMinutes"`
	PayAsYouGoCostMicros int64     `json:"payAsYouGoCostMicros"`
	ReservedCostMicros   int64     `json:"reservedCostMicros"`
	TokenCostMicros      int64     `json:"tokenCostMicros"`
	TotalCostMicros      int64     `json:"totalCostMicros"`
}

type usageReport struct {
	From        string      `json:"from"`
	To          string      `json:"to"`
	Granularity string      `json:"granularity"`
	GroupBy     string      `json:"groupBy"`
	Value       []usageLine `json:"value"`
	Total       usageLine   `json:"total"`
}

type calcResult struct {
	Model             modelRef `json:"model"`
	SKUName           string   `json:"skuName"`
	EstimatedCapacity struct {
		Value           int64 `json:"value"`
		DeployableValue int   `json:"deployableValue"`
	} `json:"estimatedCapacity"`
	Estimate struct {
		InputTokensPerMinute      float64 `json:"inputTokensPerMinute"`
		CachedTokensPerMinute     float64 `json:"cachedTokensPerMinute"`
		OutputTokensPerMinute     float64 `json:"outputTokensPerMinute"`
		NormalizedTokensPerMinute float64 `json:"normalizedTokensPerMinute"`
		PTU                       float64 `json:"ptu"`
		InputTPMPerPTU            float64 `json:"inputTokensPerMinutePerPTU"`
		OutputWeight              float64 `json:"outputWeight"`
		DeploymentTypes           []struct {
			SKUName           string  `json:"skuName"`
			Minimum           int     `json:"minimum"`
			Step              int     `json:"step"`
			DeployableValue   int     `json:"deployableValue"`
			ListPricePerHour  float64 `json:"listPricePerHour"`
			ListPricePerMonth float64 `json:"listPricePerMonth"`
		} `json:"deploymentTypes"`
	} `json:"estimate"`
}

type metricsAnswer struct {
	Timespan string `json:"timespan"`
	Interval string `json:"interval"`
	Value    []struct {
		Name struct {
			Value          string `json:"value"`
			LocalizedValue string `json:"localizedValue"`
		} `json:"name"`
		Unit       string `json:"unit"`
		Timeseries []struct {
			Metadatavalues []struct {
				Value string `json:"value"`
			} `json:"metadatavalues"`
			Data []struct {
				TimeStamp string   `json:"timeStamp"`
				Average   *float64 `json:"average"`
				Maximum   *float64 `json:"maximum"`
				Total     *float64 `json:"total"`
			} `json:"data"`
		} `json:"timeseries"`
	} `json:"value"`
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
	"num":   numText,
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
