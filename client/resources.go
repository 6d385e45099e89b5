package client

import "strings"

// The control plane's resource shapes (Microsoft.CognitiveServices REST
// api-version 2024-10-01, as ptu serves them; see docs/arm-api.md). Field
// tags follow the server's, so re-encoding a value gives back what was sent.

// Subscription is a subscription the server holds.
type Subscription struct {
	ID                  string `json:"id"`
	SubscriptionID      string `json:"subscriptionId"`
	TenantID            string `json:"tenantId,omitempty"`
	DisplayName         string `json:"displayName"`
	State               string `json:"state"`
	AuthorizationSource string `json:"authorizationSource"`
}

// Location is a region.
type Location struct {
	ID                  string           `json:"id"`
	Name                string           `json:"name"`
	Type                string           `json:"type"`
	DisplayName         string           `json:"displayName"`
	RegionalDisplayName string           `json:"regionalDisplayName"`
	Metadata            LocationMetadata `json:"metadata"`
}

// LocationMetadata describes a region; DataZone is ptu's (the zone
// DataZoneProvisionedManaged deployments draw from).
type LocationMetadata struct {
	RegionType     string `json:"regionType"`
	RegionCategory string `json:"regionCategory"`
	GeographyGroup string `json:"geographyGroup,omitempty"`
	DataZone       string `json:"dataZone,omitempty"`
}

// SKU is a resource's SKU; Capacity counts PTUs for provisioned deployments.
type SKU struct {
	Name     string `json:"name"`
	Capacity *int   `json:"capacity,omitempty"`
}

// SystemData holds a resource's creation and change times (RFC 3339).
type SystemData struct {
	CreatedAt      string `json:"createdAt,omitempty"`
	LastModifiedAt string `json:"lastModifiedAt,omitempty"`
}

// Account is an Azure OpenAI resource.
type Account struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Kind       string            `json:"kind"`
	SKU        SKU               `json:"sku"`
	Tags       map[string]string `json:"tags,omitempty"`
	Etag       string            `json:"etag"`
	Properties AccountProperties `json:"properties"`
	SystemData *SystemData       `json:"systemData,omitempty"`
}

// AccountProperties are an account's properties; Endpoint is its inference endpoint.
type AccountProperties struct {
	Endpoint            string            `json:"endpoint"`
	Endpoints           map[string]string `json:"endpoints"`
	CustomSubDomainName string            `json:"customSubDomainName"`
	ProvisioningState   string            `json:"provisioningState"`
	DisableLocalAuth    bool              `json:"disableLocalAuth"`
	PublicNetworkAccess string            `json:"publicNetworkAccess"`
	DateCreated         string            `json:"dateCreated,omitempty"`
	InternalID          string            `json:"internalId"`
}

// ResourceGroup is the resource group named in the account's id.
func (a Account) ResourceGroup() string { return ResourceGroupOf(a.ID) }

// ResourceGroupOf returns the resource group an ARM resource id names, or "".
func ResourceGroupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// AccountCreate is what creating an account takes. Empty fields take the
// server's defaults (kind OpenAI, SKU S0, subdomain = lowercased name).
type AccountCreate struct {
	Location            string // a region name or display name; required
	Kind                string
	SKU                 string
	CustomSubDomainName string
	Tags                map[string]string
	DisableLocalAuth    bool
	PublicNetworkAccess string // Enabled | Disabled
}

type accountBody struct {
	Location   string            `json:"location"`
	Kind       string            `json:"kind,omitempty"`
	SKU        *SKU              `json:"sku,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		CustomSubDomainName string `json:"customSubDomainName,omitempty"`
		DisableLocalAuth    bool   `json:"disableLocalAuth,omitempty"`
		PublicNetworkAccess string `json:"publicNetworkAccess,omitempty"`
	} `json:"properties"`
}

// Keys are an account's two keys.
type Keys struct {
	Key1 string `json:"key1"`
	Key2 string `json:"key2"`
}

// ModelRef names a model version.
type ModelRef struct {
	Format  string `json:"format"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source,omitempty"` // az's --model-source; ptu ignores it
}

// Deployment is a model deployment of an account.
type Deployment struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Type       string               `json:"type"`
	SKU        SKU                  `json:"sku"`
	Etag       string               `json:"etag"`
	Properties DeploymentProperties `json:"properties"`
	SystemData *SystemData          `json:"systemData,omitempty"`
}

// DeploymentProperties are a deployment's properties.
type DeploymentProperties struct {
	Model                   ModelRef          `json:"model"`
	ProvisioningState       string            `json:"provisioningState"`
	RaiPolicyName           string            `json:"raiPolicyName,omitempty"`
	VersionUpgradeOption    string            `json:"versionUpgradeOption,omitempty"`
	SpilloverDeploymentName string            `json:"spilloverDeploymentName,omitempty"`
	CurrentCapacity         int               `json:"currentCapacity"`
	Capabilities            map[string]string `json:"capabilities,omitempty"`
}

// Capacity is the deployment's size (PTUs for provisioned types).
func (d Deployment) Capacity() int {
	if d.SKU.Capacity != nil {
		return *d.SKU.Capacity
	}
	return d.Properties.CurrentCapacity
}

// ResourceGroup is the resource group named in the deployment's id.
func (d Deployment) ResourceGroup() string { return ResourceGroupOf(d.ID) }

// DeploymentCreate is what creating (or replacing) a deployment takes, as
// `az cognitiveservices account deployment create` sends it: the SKU goes
// only when SKUName is set.
type DeploymentCreate struct {
	Model                   ModelRef
	SKUName                 string // GlobalProvisionedManaged, DataZoneProvisionedManaged, ProvisionedManaged, Standard, ...
	Capacity                int    // PTUs; 0: the type's default, unless CapacitySet
	CapacitySet             bool   // send Capacity even when it is 0 (the service then refuses it with InvalidCapacity)
	RaiPolicyName           string
	VersionUpgradeOption    string
	SpilloverDeploymentName string
	// ScaleType and ScaleCapacity are the deprecated scaleSettings; the
	// capacity is used when Capacity is 0.
	ScaleType     string
	ScaleCapacity int
}

type deploymentBody struct {
	SKU        *SKU                     `json:"sku,omitempty"`
	Properties deploymentPropertiesBody `json:"properties"`
}

type deploymentPropertiesBody struct {
	Model                   *ModelRef          `json:"model,omitempty"`
	RaiPolicyName           string             `json:"raiPolicyName,omitempty"`
	VersionUpgradeOption    string             `json:"versionUpgradeOption,omitempty"`
	SpilloverDeploymentName *string            `json:"spilloverDeploymentName,omitempty"`
	ScaleSettings           *scaleSettingsBody `json:"scaleSettings,omitempty"`
}

type scaleSettingsBody struct {
	ScaleType string `json:"scaleType,omitempty"`
	Capacity  *int   `json:"capacity,omitempty"`
}

// DeploymentUpdate changes a deployment's SKU or capacity (PATCH); empty
// fields keep their values.
type DeploymentUpdate struct {
	SKUName  string
	Capacity int
}

// CapacityRange is the sizes a deployment type allows.
type CapacityRange struct {
	Minimum int `json:"minimum"`
	Maximum int `json:"maximum"`
	Step    int `json:"step"`
	Default int `json:"default"`
}

// DeploymentSKU is one SKU a deployment can move to, with its sizes.
type DeploymentSKU struct {
	ResourceType string        `json:"resourceType"`
	SKU          SKU           `json:"sku"`
	Capacity     CapacityRange `json:"capacity"`
}

// Usage is a quota's use in one region: CurrentValue of Limit PTUs.
type Usage struct {
	Name         UsageName `json:"name"`
	Unit         string    `json:"unit"`
	CurrentValue int       `json:"currentValue"`
	Limit        int       `json:"limit"`
}

// UsageName names a quota (OpenAI.GlobalProvisionedManaged, ...).
type UsageName struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

// LocationModel is a model offered in a region.
type LocationModel struct {
	Kind    string       `json:"kind"`
	SKUName string       `json:"skuName"`
	Model   AccountModel `json:"model"`
}

// AccountModel is a model version with the deployment types it supports.
type AccountModel struct {
	Format           string            `json:"format"`
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	IsDefaultVersion bool              `json:"isDefaultVersion"`
	LifecycleStatus  string            `json:"lifecycleStatus,omitempty"`
	MaxCapacity      int               `json:"maxCapacity"`
	Capabilities     map[string]string `json:"capabilities"`
	SKUs             []ModelSKU        `json:"skus"`
}

// ModelSKU is a deployment type a model supports, its quota and sizes.
type ModelSKU struct {
	Name      string        `json:"name"`
	UsageName string        `json:"usageName"`
	Capacity  CapacityRange `json:"capacity"`
}

// ModelCapacity is the largest deployment of a model and type the
// subscription could create now in one region (free quota and free pool PTUs).
type ModelCapacity struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Location   string                  `json:"location"`
	Properties ModelCapacityProperties `json:"properties"`
}

// ModelCapacityProperties are a model capacity's properties.
type ModelCapacityProperties struct {
	Model                     ModelRef `json:"model"`
	SKUName                   string   `json:"skuName"`
	AvailableCapacity         int      `json:"availableCapacity"`
	AvailableFinetuneCapacity int      `json:"availableFinetuneCapacity"`
}

// ModelCapacityQuery selects model capacities; Location "" means every region.
type ModelCapacityQuery struct {
	Format, Name, Version string
	Location              string
}

// QuotaRequest is a request for a higher PTU limit (ptu's extension).
type QuotaRequest struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Properties QuotaRequestProperties `json:"properties"`
}

// QuotaRequestProperties are a quota request's properties; State is
// Pending, Approved or Rejected.
type QuotaRequestProperties struct {
	SubscriptionID string `json:"subscriptionId"`
	Location       string `json:"location"`
	SKUName        string `json:"skuName"`
	UsageName      string `json:"usageName"`
	Limit          int    `json:"limit"`
	Reason         string `json:"reason"`
	State          string `json:"state"`
	ReviewNote     string `json:"reviewNote,omitempty"`
	CreatedAt      string `json:"createdAt"`
	DecidedAt      string `json:"decidedAt,omitempty"`
}

// QuotaRequestCreate is what filing a quota request takes.
type QuotaRequestCreate struct {
	Location string `json:"location"`
	SKUName  string `json:"skuName"`
	Limit    int    `json:"limit"` // the new PTU limit asked for
	Reason   string `json:"reason"`
}
