// Package ptu holds the domain types of the provisioned-throughput service and
// the small interfaces its parts are built around (Store). Implementations live
// in packages named after what they wrap (sqlite, ...); rules live in control.
package ptu

import (
	"fmt"
	"strings"
	"time"
)

// Deployment types (ARM sku.name).
const (
	GlobalProvisionedManaged   = "GlobalProvisionedManaged"
	DataZoneProvisionedManaged = "DataZoneProvisionedManaged"
	ProvisionedManaged         = "ProvisionedManaged"
	GlobalStandard             = "GlobalStandard"
	DataZoneStandard           = "DataZoneStandard"
	Standard                   = "Standard"
)

// ProvisionedSKUs lists the provisioned deployment types in the order usages are reported.
var ProvisionedSKUs = []string{ProvisionedManaged, GlobalProvisionedManaged, DataZoneProvisionedManaged}

// StandardSKUs lists the pay-per-token deployment types.
var StandardSKUs = []string{Standard, GlobalStandard, DataZoneStandard}

// IsProvisioned reports whether sku is one of the provisioned (PTU) deployment types.
func IsProvisioned(sku string) bool {
	for _, s := range ProvisionedSKUs {
		if s == sku {
			return true
		}
	}
	return false
}

// CanonicalSKU returns the canonical spelling of a deployment type matched
// case-insensitively, or "" when sku is not a known deployment type.
func CanonicalSKU(sku string) string {
	for _, s := range append(append([]string{}, ProvisionedSKUs...), StandardSKUs...) {
		if strings.EqualFold(s, sku) {
			return s
		}
	}
	return ""
}

// QuotaUsageName is the usage (quota) name Azure reports for a provisioned deployment type.
func QuotaUsageName(sku string) string { return "OpenAI." + sku }

// Provisioning states.
const (
	StateSucceeded = "Succeeded"
	StateCreating  = "Creating"
	StateUpdating  = "Updating"
	StateDeleting  = "Deleting"
	StateFailed    = "Failed"
)

// Region is a place capacity lives in. DataZone groups regions (e.g. "us", "eu")
// for DataZone deployment types.
type Region struct {
	Name        string // eastus
	DisplayName string // East US
	DataZone    string // us
}

// Subscription holds resource groups, accounts and quota.
type Subscription struct {
	ID          string
	DisplayName string
	TenantID    string
	State       string // Enabled
}

// Account is an "Azure OpenAI resource".
type Account struct {
	SubscriptionID   string
	ResourceGroup    string
	Name             string
	Location         string
	Kind             string // OpenAI, AIServices
	SKU              string // S0
	CustomSubDomain  string // unique across the service; names the inference endpoint
	Tags             map[string]string
	Key1, Key2       string
	DisableLocalAuth bool
	PublicNetwork    string // Enabled | Disabled
	State            string // provisioning state
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// CreatedBy and ModifiedBy name the callers (principals, or "admin") of
	// the creation and of the last change (ARM's systemData).
	CreatedBy, ModifiedBy string
}

// ID is the ARM resource id of the account.
func (a Account) ID() string {
	return AccountID(a.SubscriptionID, a.ResourceGroup, a.Name)
}

// AccountID formats an account's ARM resource id. It concatenates rather
// than formats: it is called for every inference call.
func AccountID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.CognitiveServices/accounts/" + name
}

// ModelRef names a model of the catalog.
type ModelRef struct {
	Format  string // OpenAI
	Name    string
	Version string
}

func (m ModelRef) String() string {
	return fmt.Sprintf("Format:%s,Name:%s,Version:%s", m.Format, m.Name, m.Version)
}

// Allocation is the number of PTUs a deployment holds in one capacity pool.
type Allocation struct {
	PoolID string
	PTU    int
}

// Deployment is a model deployment of an account.
type Deployment struct {
	SubscriptionID string
	ResourceGroup  string
	AccountName    string
	Name           string
	Region         string // the account's location, copied so quota sums need no join
	Model          ModelRef
	SKUName        string
	Capacity       int
	RAIPolicyName  string
	// VersionUpgradeOption: OnceNewDefaultVersionAvailable | OnceCurrentVersionExpired | NoAutoUpgrade
	VersionUpgradeOption    string
	SpilloverDeploymentName string
	State                   string
	Allocations             []Allocation // provisioned types only
	CreatedAt               time.Time
	UpdatedAt               time.Time
	CreatedBy, ModifiedBy   string // the callers of the creation and of the last change
}

// ID is the ARM resource id of the deployment.
func (d Deployment) ID() string {
	return AccountID(d.SubscriptionID, d.ResourceGroup, d.AccountName) + "/deployments/" + d.Name
}

// Pool is operator capacity for one model version in one region, rated in PTUs.
type Pool struct {
	ID       string // region/model/version, unique
	Region   string
	Model    string
	Version  string
	RatedPTU int
	Backend  string // "sim" or the name of an upstream backend group
}

// QuotaLimit is a subscription's PTU limit in one region for one provisioned deployment type.
type QuotaLimit struct {
	SubscriptionID string
	Region         string
	SKUName        string
	Limit          int
}

// Quota request states.
const (
	QuotaRequestPending  = "Pending"
	QuotaRequestApproved = "Approved"
	QuotaRequestRejected = "Rejected"
)

// QuotaRequest asks an administrator to raise a quota limit.
type QuotaRequest struct {
	ID             string
	SubscriptionID string
	Region         string
	SKUName        string
	RequestedLimit int
	Reason         string
	State          string
	ReviewNote     string
	CreatedAt      time.Time
	DecidedAt      time.Time // zero while pending
}
