package client

import "github.com/ptu-dev/ptu/armwire"

// The control plane's resource shapes (Microsoft.CognitiveServices REST
// api-version 2024-10-01, as ptu serves them; see docs/arm-api.md). They are
// the server's own (package armwire), so re-encoding a value gives back what
// was sent.
type (
	// Subscription is a subscription the server holds.
	Subscription = armwire.Subscription
	// Location is a region.
	Location = armwire.Location
	// LocationMetadata describes a region; DataZone is ptu's (the zone
	// DataZoneProvisionedManaged deployments draw from).
	LocationMetadata = armwire.LocationMetadata
	// SKU is a resource's SKU; Capacity counts PTUs for provisioned deployments.
	SKU = armwire.SKU
	// SystemData holds who created and changed a resource, and when (RFC 3339).
	SystemData = armwire.SystemData
	// Account is an Azure OpenAI resource.
	Account = armwire.Account
	// AccountProperties are an account's properties; Endpoint is its inference endpoint.
	AccountProperties = armwire.AccountProperties
	// Keys are an account's two keys.
	Keys = armwire.Keys
	// ModelRef names a model version.
	ModelRef = armwire.ModelRef
	// Deployment is a model deployment of an account.
	Deployment = armwire.Deployment
	// DeploymentProperties are a deployment's properties.
	DeploymentProperties = armwire.DeploymentProperties
	// CapacityRange is the sizes a deployment type allows.
	CapacityRange = armwire.CapacityRange
	// DeploymentSKU is one SKU a deployment can move to, with its sizes.
	DeploymentSKU = armwire.DeploymentSKU
	// Usage is a quota's use in one region: CurrentValue of Limit PTUs.
	Usage = armwire.Usage
	// UsageName names a quota (OpenAI.GlobalProvisionedManaged, ...).
	UsageName = armwire.UsageName
	// LocationModel is a model offered in a region.
	LocationModel = armwire.LocationModel
	// AccountModel is a model version with the deployment types it supports.
	AccountModel = armwire.AccountModel
	// ModelSKU is a deployment type a model supports, its quota and sizes.
	ModelSKU = armwire.ModelSKU
	// ModelCapacity is the largest deployment of a model and type the
	// subscription could create now in one region (free quota and free pool PTUs).
	ModelCapacity = armwire.ModelCapacity
	// ModelCapacityProperties are a model capacity's properties.
	ModelCapacityProperties = armwire.ModelCapacityProperties
	// QuotaRequest is a request for a higher PTU limit (ptu's extension).
	QuotaRequest = armwire.QuotaRequest
	// QuotaRequestProperties are a quota request's properties; State is
	// Pending, Approved or Rejected.
	QuotaRequestProperties = armwire.QuotaRequestProperties
)

// ResourceGroupOf returns the resource group an ARM resource id names, or "".
func ResourceGroupOf(id string) string { return armwire.ResourceGroupOf(id) }

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

// body is the account's PUT body: location and properties always, the
// other fields when set.
func (in AccountCreate) body() armwire.AccountBody {
	b := armwire.AccountBody{Location: &in.Location, Kind: nonEmpty(in.Kind), Tags: in.Tags,
		Properties: &armwire.AccountPropertiesBody{CustomSubDomainName: nonEmpty(in.CustomSubDomainName),
			PublicNetworkAccess: nonEmpty(in.PublicNetworkAccess)}}
	if in.SKU != "" {
		b.SKU = &armwire.SKUBody{Name: &in.SKU}
	}
	if in.DisableLocalAuth {
		b.Properties.DisableLocalAuth = &in.DisableLocalAuth
	}
	return b
}

// nonEmpty is &s, or nil for "" (a field left out of a body).
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

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

// body is the deployment's PUT body.
func (in DeploymentCreate) body() armwire.DeploymentBody {
	model := in.Model
	b := armwire.DeploymentBody{Properties: &armwire.DeploymentPropertiesBody{
		Model:                   &model,
		RaiPolicyName:           nonEmpty(in.RaiPolicyName),
		VersionUpgradeOption:    nonEmpty(in.VersionUpgradeOption),
		SpilloverDeploymentName: nonEmpty(in.SpilloverDeploymentName),
	}}
	if in.SKUName != "" {
		b.SKU = &armwire.SKUBody{Name: &in.SKUName}
		if in.Capacity != 0 || in.CapacitySet {
			b.SKU.Capacity = &in.Capacity
		}
	}
	if in.ScaleType != "" || in.ScaleCapacity != 0 {
		b.Properties.ScaleSettings = &armwire.ScaleSettingsBody{ScaleType: nonEmpty(in.ScaleType)}
		if in.ScaleCapacity != 0 {
			b.Properties.ScaleSettings.Capacity = &in.ScaleCapacity
		}
	}
	return b
}

// DeploymentUpdate changes a deployment's SKU or capacity (PATCH); empty
// fields keep their values.
type DeploymentUpdate struct {
	SKUName  string
	Capacity int
}

// body is the deployment's PATCH body: a sku with the fields set.
func (in DeploymentUpdate) body() armwire.DeploymentBody {
	sku := &armwire.SKUBody{Name: nonEmpty(in.SKUName)}
	if in.Capacity != 0 {
		sku.Capacity = &in.Capacity
	}
	return armwire.DeploymentBody{SKU: sku}
}

// ModelCapacityQuery selects model capacities; Location "" means every region.
type ModelCapacityQuery struct {
	Format, Name, Version string
	Location              string
}

// QuotaRequestCreate is what filing a quota request takes.
type QuotaRequestCreate struct {
	Location string
	SKUName  string
	Limit    int // the new PTU limit asked for
	Reason   string
}

// body is the request's POST body; every field is sent.
func (in QuotaRequestCreate) body() armwire.QuotaRequestBody {
	return armwire.QuotaRequestBody{Location: &in.Location, SKUName: &in.SKUName, Limit: &in.Limit, Reason: &in.Reason}
}
