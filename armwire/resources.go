// Package armwire holds the JSON shapes of ptu's ARM control plane: the
// Microsoft.CognitiveServices resources as REST api-version 2024-10-01 and
// armcognitiveservices v1.7.0 read them (plus spilloverDeploymentName, in the
// REST API since 2024-10-01 and absent from that SDK), the Microsoft.Resources
// subscriptions and locations, ARM's list and error envelopes, ptu's
// extensions (quota requests, capacity pools, pricing, reservations, billing
// reports), and how the older api-versions differ (shapes.go). The server
// (package arm), the client library and the portal share them; like oai, it
// imports nothing of ptu.
package armwire

import "strings"

// Resource types of the ids the server hands out.
const (
	TypeAccount      = "Microsoft.CognitiveServices/accounts"
	TypeDeployment   = "Microsoft.CognitiveServices/accounts/deployments"
	TypeSKUCapacity  = "Microsoft.CognitiveServices/locations/models/skuCapacities"
	TypeQuotaRequest = "Microsoft.CognitiveServices/quotaRequests"
	TypeCapacityPool = "Microsoft.CognitiveServices/capacityPools"
	TypeReservation  = "Microsoft.CognitiveServices/reservations"
	// ProviderPrefix is the path of the resource provider below a scope.
	ProviderPrefix = "/providers/Microsoft.CognitiveServices"
	// EndpointName is the key of the inference endpoint in properties.endpoints.
	EndpointName = "OpenAI Language Model Instance API"
)

// List is ARM's list envelope. ptu returns whole lists, so there is no nextLink.
type List[T any] struct {
	Value []T `json:"value"`
}

// ListOf is the list of v; a nil v is an empty list, never null.
func ListOf[T any](v []T) List[T] {
	if v == nil {
		v = []T{}
	}
	return List[T]{Value: v}
}

// SKU is a resource's SKU; Capacity counts PTUs for provisioned deployments
// and thousands of tokens per minute for Standard ones.
type SKU struct {
	Name     string `json:"name"`
	Capacity *int   `json:"capacity,omitempty"`
}

// SystemData is ARM's SystemData: who created and last changed a resource,
// and when (RFC 3339). Every caller is a service principal (the admin token
// or a principal's), so the types are Application.
type SystemData struct {
	CreatedBy          string `json:"createdBy,omitempty"`
	CreatedByType      string `json:"createdByType,omitempty"`
	CreatedAt          string `json:"createdAt,omitempty"`
	LastModifiedBy     string `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     string `json:"lastModifiedAt,omitempty"`
}

// --- subscriptions, tenants and locations (Microsoft.Resources shapes) ---

// Subscription is a subscription the server holds.
type Subscription struct {
	ID                  string `json:"id"`
	SubscriptionID      string `json:"subscriptionId"`
	TenantID            string `json:"tenantId,omitempty"`
	DisplayName         string `json:"displayName"`
	State               string `json:"state"`
	AuthorizationSource string `json:"authorizationSource"`
}

// Tenant is Microsoft.Resources' TenantIdDescription (2022-12-01).
type Tenant struct {
	ID             string   `json:"id"`
	TenantID       string   `json:"tenantId"`
	TenantCategory string   `json:"tenantCategory"`
	DisplayName    string   `json:"displayName"`
	DefaultDomain  string   `json:"defaultDomain"`
	Domains        []string `json:"domains"`
	TenantType     string   `json:"tenantType"`
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

// LocationMetadata describes a region; DataZone is ptu's (the data zone
// DataZone* deployment types draw from).
type LocationMetadata struct {
	RegionType     string `json:"regionType"`
	RegionCategory string `json:"regionCategory"`
	GeographyGroup string `json:"geographyGroup,omitempty"`
	DataZone       string `json:"dataZone,omitempty"`
}

// --- accounts ---

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

// AccountBody is the body of PUT and PATCH of an account; absent fields are nil.
type AccountBody struct {
	Location   *string                `json:"location,omitempty"`
	Kind       *string                `json:"kind,omitempty"`
	SKU        *SKUBody               `json:"sku,omitempty"`
	Tags       map[string]string      `json:"tags,omitempty"`
	Properties *AccountPropertiesBody `json:"properties,omitempty"`
}

// AccountPropertiesBody are the properties an account's PUT or PATCH sets.
type AccountPropertiesBody struct {
	CustomSubDomainName *string `json:"customSubDomainName,omitempty"`
	DisableLocalAuth    *bool   `json:"disableLocalAuth,omitempty"`
	PublicNetworkAccess *string `json:"publicNetworkAccess,omitempty"`
}

// SKUBody is a SKU in a request body.
type SKUBody struct {
	Name     *string `json:"name,omitempty"`
	Capacity *int    `json:"capacity,omitempty"`
}

// RegenerateKeyBody names the key regenerateKey replaces (Key1 or Key2, any case).
type RegenerateKeyBody struct {
	KeyName *string `json:"keyName,omitempty"`
}

// Keys are an account's two keys.
type Keys struct {
	Key1 string `json:"key1"`
	Key2 string `json:"key2"`
}

// --- deployments ---

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
	SKU        *SKU                 `json:"sku,omitempty"` // nil in the api-versions before 2023-05-01
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
	CurrentCapacity         int               `json:"currentCapacity,omitempty"`
	Capabilities            map[string]string `json:"capabilities,omitempty"`
	// ScaleSettings is the size in the api-versions before 2023-05-01.
	ScaleSettings *ScaleSettings `json:"scaleSettings,omitempty"`
	// RateLimits and CallRateLimit are the request and token limits the data
	// plane enforces on a Standard deployment; provisioned ones are admitted
	// by utilization and carry none.
	RateLimits    []ThrottlingRule `json:"rateLimits,omitempty"`
	CallRateLimit *CallRateLimit   `json:"callRateLimit,omitempty"`
}

// SKUName is the deployment's type ("" when the shape has no sku).
func (d Deployment) SKUName() string {
	if d.SKU == nil {
		return ""
	}
	return d.SKU.Name
}

// Capacity is the deployment's size (PTUs for provisioned types).
func (d Deployment) Capacity() int {
	if d.SKU != nil && d.SKU.Capacity != nil {
		return *d.SKU.Capacity
	}
	return d.Properties.CurrentCapacity
}

// ResourceGroup is the resource group named in the deployment's id.
func (d Deployment) ResourceGroup() string { return ResourceGroupOf(d.ID) }

// ScaleSettings is DeploymentScaleSettings.
type ScaleSettings struct {
	ScaleType      string `json:"scaleType"`
	Capacity       *int   `json:"capacity,omitempty"`
	ActiveCapacity *int   `json:"activeCapacity,omitempty"`
}

// ThrottlingRule is ThrottlingRule: count calls or tokens per renewalPeriod seconds.
type ThrottlingRule struct {
	Key           string  `json:"key"`
	RenewalPeriod float64 `json:"renewalPeriod"`
	Count         float64 `json:"count"`
}

// CallRateLimit is CallRateLimit: the request limit and every rule.
type CallRateLimit struct {
	Count         float64          `json:"count"`
	RenewalPeriod float64          `json:"renewalPeriod"`
	Rules         []ThrottlingRule `json:"rules"`
}

// DeploymentBody is the body of PUT and PATCH of a deployment; absent fields
// are nil. PATCH (armcognitiveservices PatchResourceTagsAndSKU) sends only
// sku and tags.
type DeploymentBody struct {
	SKU        *SKUBody                  `json:"sku,omitempty"`
	Properties *DeploymentPropertiesBody `json:"properties,omitempty"`
	Tags       map[string]string         `json:"tags,omitempty"`
}

// DeploymentPropertiesBody are the properties a deployment's PUT sets.
type DeploymentPropertiesBody struct {
	Model                   *ModelRef `json:"model,omitempty"`
	RaiPolicyName           *string   `json:"raiPolicyName,omitempty"`
	VersionUpgradeOption    *string   `json:"versionUpgradeOption,omitempty"`
	SpilloverDeploymentName *string   `json:"spilloverDeploymentName,omitempty"`
	// ScaleSettings is deprecated; its capacity is used when sku.capacity is absent.
	ScaleSettings *ScaleSettingsBody `json:"scaleSettings,omitempty"`
}

// ScaleSettingsBody is scaleSettings in a request body.
type ScaleSettingsBody struct {
	ScaleType *string `json:"scaleType,omitempty"`
	Capacity  *int    `json:"capacity,omitempty"`
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

// AccountSKU is AccountSku: a SKU an existing account can change to.
type AccountSKU struct {
	ResourceType string         `json:"resourceType"`
	SKU          AccountSKUName `json:"sku"`
}

// AccountSKUName names an account SKU.
type AccountSKUName struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// --- usages ---

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

// --- models and model capacities ---

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

// --- quota requests (ptu's extension) ---

// QuotaRequest is a request for a higher PTU limit.
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

// QuotaRequestBody is the body of filing a quota request.
type QuotaRequestBody struct {
	Location *string `json:"location,omitempty"`
	SKUName  *string `json:"skuName,omitempty"`
	Limit    *int    `json:"limit,omitempty"` // the new PTU limit asked for
	Reason   *string `json:"reason,omitempty"`
}

// DecisionBody is the body of approving or rejecting a quota request.
type DecisionBody struct {
	Note *string `json:"note,omitempty"`
}

// --- capacity pools (ptu's extension, admin) ---

// CapacityPool is a pool of PTUs of one model in one region.
type CapacityPool struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Location   string                 `json:"location"`
	Properties CapacityPoolProperties `json:"properties"`
}

// CapacityPoolProperties are a pool's size, its allocation and its backend.
type CapacityPoolProperties struct {
	Model     ModelRef `json:"model"`
	PTU       int      `json:"ptu"`
	Allocated int      `json:"allocated"`
	Free      int      `json:"free"`
	Backend   string   `json:"backend"`
}

// CapacityPoolBody is the body of resizing a pool.
type CapacityPoolBody struct {
	Properties *CapacityPoolPropertiesBody `json:"properties,omitempty"`
}

// CapacityPoolPropertiesBody is the size a pool's PATCH sets.
type CapacityPoolPropertiesBody struct {
	PTU *int `json:"ptu,omitempty"`
}
