package arm

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
)

// The JSON shapes of the Microsoft.CognitiveServices 2024-10-01 API, as
// armcognitiveservices v1.7.0 reads them, plus spilloverDeploymentName (in
// the REST API since 2024-10-01, absent from that SDK).

const (
	typeAccount      = "Microsoft.CognitiveServices/accounts"
	typeDeployment   = "Microsoft.CognitiveServices/accounts/deployments"
	typeSKUCapacity  = "Microsoft.CognitiveServices/locations/models/skuCapacities"
	typeQuotaRequest = "Microsoft.CognitiveServices/quotaRequests"
	typeCapacityPool = "Microsoft.CognitiveServices/capacityPools"
	providerPrefix   = "/providers/Microsoft.CognitiveServices"
	// endpointName is the key of the inference endpoint in properties.endpoints.
	endpointName = "OpenAI Language Model Instance API"
)

// list is ARM's list envelope. ptu returns whole lists, so there is no nextLink.
type list[T any] struct {
	Value []T `json:"value"`
}

func listOf[T any](v []T) list[T] {
	if v == nil {
		v = []T{}
	}
	return list[T]{Value: v}
}

type skuJSON struct {
	Name     string `json:"name"`
	Capacity *int   `json:"capacity,omitempty"`
}

// systemDataJSON is ARM's SystemData. Every caller is a service principal
// (the admin token or a principal's), so the types are Application.
type systemDataJSON struct {
	CreatedBy          string `json:"createdBy,omitempty"`
	CreatedByType      string `json:"createdByType,omitempty"`
	CreatedAt          string `json:"createdAt,omitempty"`
	LastModifiedBy     string `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     string `json:"lastModifiedAt,omitempty"`
}

// byType is the createdByType of a caller named by ("" when unknown).
func byType(by string) string {
	if by == "" {
		return ""
	}
	return "Application"
}

// systemDataBy is systemData with who created and who last changed the resource.
func systemDataBy(created, modified time.Time, createdBy, modifiedBy string) *systemDataJSON {
	sd := systemData(created, modified)
	if sd == nil {
		return nil
	}
	sd.CreatedBy, sd.CreatedByType = createdBy, byType(createdBy)
	sd.LastModifiedBy, sd.LastModifiedByType = modifiedBy, byType(modifiedBy)
	return sd
}

func systemData(created, modified time.Time) *systemDataJSON {
	if created.IsZero() && modified.IsZero() {
		return nil
	}
	return &systemDataJSON{CreatedAt: armTime(created), LastModifiedAt: armTime(modified)}
}

// armTime formats t as ARM does (RFC 3339, UTC); the zero time is "".
func armTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// contentETag derives a quoted entity tag from a resource's representation
// (marshaled with an empty etag), so it changes exactly when what a client
// sees does.
func contentETag(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// The wire structs hold only strings, numbers, bools and maps of strings.
		panic("arm: etag of unencodable value: " + err.Error())
	}
	return `"` + hashUUID(string(b)) + `"`
}

// hashUUID formats the first 16 bytes of sha256(s) as a UUID.
func hashUUID(s string) string {
	b := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// --- subscriptions and locations (Microsoft.Resources shapes) ---

type subscriptionJSON struct {
	ID                  string `json:"id"`
	SubscriptionID      string `json:"subscriptionId"`
	TenantID            string `json:"tenantId,omitempty"`
	DisplayName         string `json:"displayName"`
	State               string `json:"state"`
	AuthorizationSource string `json:"authorizationSource"`
}

// subscriptionWire is a subscription in the tenant the server answers as
// (its own tenant when none is configured).
func (h *handler) subscriptionWire(s ptu.Subscription) subscriptionJSON {
	if h.opt.TenantID != "" {
		s.TenantID = h.opt.TenantID
	}
	state := s.State
	if state == "" {
		state = "Enabled"
	}
	return subscriptionJSON{
		ID:                  "/subscriptions/" + s.ID,
		SubscriptionID:      s.ID,
		TenantID:            s.TenantID,
		DisplayName:         s.DisplayName,
		State:               state,
		AuthorizationSource: "RoleBased",
	}
}

// tenantJSON is Microsoft.Resources' TenantIdDescription (2022-12-01).
type tenantJSON struct {
	ID             string   `json:"id"`
	TenantID       string   `json:"tenantId"`
	TenantCategory string   `json:"tenantCategory"`
	DisplayName    string   `json:"displayName"`
	DefaultDomain  string   `json:"defaultDomain"`
	Domains        []string `json:"domains"`
	TenantType     string   `json:"tenantType"`
}

func tenantWire(id string) tenantJSON {
	return tenantJSON{ID: "/tenants/" + id, TenantID: id, TenantCategory: "Home", DisplayName: "ptu",
		DefaultDomain: "ptu.local", Domains: []string{"ptu.local"}, TenantType: "AAD"}
}

type locationJSON struct {
	ID                  string               `json:"id"`
	Name                string               `json:"name"`
	Type                string               `json:"type"`
	DisplayName         string               `json:"displayName"`
	RegionalDisplayName string               `json:"regionalDisplayName"`
	Metadata            locationMetadataJSON `json:"metadata"`
}

type locationMetadataJSON struct {
	RegionType     string `json:"regionType"`
	RegionCategory string `json:"regionCategory"`
	GeographyGroup string `json:"geographyGroup,omitempty"`
	// DataZone is ptu's: the data zone DataZone* deployment types draw from.
	DataZone string `json:"dataZone,omitempty"`
}

// geographyGroups names data zones as ARM's location metadata names geographies.
var geographyGroups = map[string]string{"us": "US", "eu": "Europe"}

func locationWire(sub string, r ptu.Region) locationJSON {
	display := r.DisplayName
	if display == "" {
		display = r.Name
	}
	group := geographyGroups[r.DataZone]
	if group == "" {
		group = strings.ToUpper(r.DataZone)
	}
	regional := display
	if group != "" {
		regional = "(" + group + ") " + display
	}
	return locationJSON{
		ID:                  "/subscriptions/" + sub + "/locations/" + r.Name,
		Name:                r.Name,
		Type:                "Region",
		DisplayName:         display,
		RegionalDisplayName: regional,
		Metadata: locationMetadataJSON{
			RegionType:     "Physical",
			RegionCategory: "Recommended",
			GeographyGroup: group,
			DataZone:       r.DataZone,
		},
	}
}

// --- accounts ---

type accountJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Kind       string            `json:"kind"`
	SKU        skuJSON           `json:"sku"`
	Tags       map[string]string `json:"tags,omitempty"`
	Etag       string            `json:"etag"`
	Properties accountPropsJSON  `json:"properties"`
	SystemData *systemDataJSON   `json:"systemData,omitempty"`
}

type accountPropsJSON struct {
	Endpoint            string            `json:"endpoint"`
	Endpoints           map[string]string `json:"endpoints"`
	CustomSubDomainName string            `json:"customSubDomainName"`
	ProvisioningState   string            `json:"provisioningState"`
	DisableLocalAuth    bool              `json:"disableLocalAuth"`
	PublicNetworkAccess string            `json:"publicNetworkAccess"`
	DateCreated         string            `json:"dateCreated,omitempty"`
	InternalID          string            `json:"internalId"`
}

func (h *handler) accountWire(a ptu.Account) accountJSON {
	ep := h.svc.Endpoint(a)
	state := h.provisioningState(a.State, a.CreatedAt, stateAccountCreating)
	out := accountJSON{
		ID:       a.ID(),
		Name:     a.Name,
		Type:     typeAccount,
		Location: a.Location,
		Kind:     a.Kind,
		SKU:      skuJSON{Name: a.SKU},
		Tags:     a.Tags,
		Properties: accountPropsJSON{
			Endpoint:            ep,
			Endpoints:           map[string]string{endpointName: ep},
			CustomSubDomainName: a.CustomSubDomain,
			ProvisioningState:   state,
			DisableLocalAuth:    a.DisableLocalAuth,
			PublicNetworkAccess: a.PublicNetwork,
			DateCreated:         armTime(a.CreatedAt),
			InternalID:          strings.ReplaceAll(hashUUID(strings.ToLower(a.ID())), "-", ""),
		},
		SystemData: systemDataBy(a.CreatedAt, a.UpdatedAt, a.CreatedBy, a.ModifiedBy),
	}
	out.Etag = contentETag(out)
	return out
}

type keysJSON struct {
	Key1 string `json:"key1"`
	Key2 string `json:"key2"`
}

// accountBody is what PUT and PATCH of an account read.
type accountBody struct {
	Location   *string           `json:"location"`
	Kind       *string           `json:"kind"`
	SKU        *skuBody          `json:"sku"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		CustomSubDomainName *string `json:"customSubDomainName"`
		DisableLocalAuth    *bool   `json:"disableLocalAuth"`
		PublicNetworkAccess *string `json:"publicNetworkAccess"`
	} `json:"properties"`
}

type skuBody struct {
	Name     *string `json:"name"`
	Capacity *int    `json:"capacity"`
}

// apply sets the fields the body carries on in, leaving the others.
func (b *accountBody) apply(in *control.AccountInput) {
	if b.Location != nil {
		in.Location = *b.Location
	}
	if b.Kind != nil {
		in.Kind = *b.Kind
	}
	if b.SKU != nil && b.SKU.Name != nil {
		in.SKU = *b.SKU.Name
	}
	if b.Tags != nil {
		in.Tags = b.Tags
	}
	if p := b.Properties; p != nil {
		if p.CustomSubDomainName != nil {
			in.CustomSubDomain = *p.CustomSubDomainName
		}
		if p.DisableLocalAuth != nil {
			in.DisableLocalAuth = *p.DisableLocalAuth
		}
		if p.PublicNetworkAccess != nil {
			in.PublicNetworkAccess = *p.PublicNetworkAccess
		}
	}
}

// --- deployments ---

type modelRefJSON struct {
	Format  string `json:"format"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

func modelRefWire(m ptu.ModelRef) modelRefJSON {
	return modelRefJSON{Format: m.Format, Name: m.Name, Version: m.Version}
}

type deploymentJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	SKU        *skuJSON            `json:"sku,omitempty"` // nil in the api-versions before 2023-05-01
	Etag       string              `json:"etag"`
	Properties deploymentPropsJSON `json:"properties"`
	SystemData *systemDataJSON     `json:"systemData,omitempty"`
}

type deploymentPropsJSON struct {
	Model                   modelRefJSON      `json:"model"`
	ProvisioningState       string            `json:"provisioningState"`
	RaiPolicyName           string            `json:"raiPolicyName,omitempty"`
	VersionUpgradeOption    string            `json:"versionUpgradeOption,omitempty"`
	SpilloverDeploymentName string            `json:"spilloverDeploymentName,omitempty"`
	CurrentCapacity         int               `json:"currentCapacity,omitempty"`
	Capabilities            map[string]string `json:"capabilities,omitempty"`
	// ScaleSettings is the size in the api-versions before 2023-05-01.
	ScaleSettings *scaleSettingsJSON `json:"scaleSettings,omitempty"`
	// RateLimits and CallRateLimit are the request and token limits the data
	// plane enforces on a Standard deployment; provisioned ones are admitted
	// by utilization and carry none.
	RateLimits    []throttlingRuleJSON `json:"rateLimits,omitempty"`
	CallRateLimit *callRateLimitJSON   `json:"callRateLimit,omitempty"`
}

// scaleSettingsJSON is DeploymentScaleSettings.
type scaleSettingsJSON struct {
	ScaleType      string `json:"scaleType"`
	Capacity       *int   `json:"capacity,omitempty"`
	ActiveCapacity *int   `json:"activeCapacity,omitempty"`
}

// throttlingRuleJSON is ThrottlingRule: count calls or tokens per renewalPeriod seconds.
type throttlingRuleJSON struct {
	Key           string  `json:"key"`
	RenewalPeriod float64 `json:"renewalPeriod"`
	Count         float64 `json:"count"`
}

// callRateLimitJSON is CallRateLimit: the request limit and every rule.
type callRateLimitJSON struct {
	Count         float64              `json:"count"`
	RenewalPeriod float64              `json:"renewalPeriod"`
	Rules         []throttlingRuleJSON `json:"rules"`
}

// Rate limits of a Standard deployment of capacity c (units of 1,000 TPM), as
// Azure reports them (MicrosoftDocs/azure-ai-docs, articles/ai-services/openai/
// how-to/working-with-models.md: capacity 60 shows request 60 per 10 s and
// token 60,000 per 60 s) and the data plane enforces them (gateway/standard.go:
// 6 requests per minute per 1,000 TPM, in 10-second windows).
func standardRateLimits(c int) ([]throttlingRuleJSON, *callRateLimitJSON) {
	requests := float64(max(1, c*control.StandardRequestsPer1K/6))
	rules := []throttlingRuleJSON{
		{Key: "request", RenewalPeriod: 10, Count: requests},
		{Key: "token", RenewalPeriod: 60, Count: float64(c * 1000)},
	}
	return rules, &callRateLimitJSON{Count: requests, RenewalPeriod: 10, Rules: rules}
}

func (h *handler) deploymentWire(d ptu.Deployment, sh shape) deploymentJSON {
	state := h.provisioningState(d.State, d.CreatedAt, stateDeploymentAccepted)
	capacity := d.Capacity
	var caps map[string]string
	if m, ok := h.svc.Catalog().Lookup(d.Model.Name, d.Model.Version); ok {
		caps = capabilities(m)
	}
	out := deploymentJSON{
		ID:   d.ID(),
		Name: d.Name,
		Type: typeDeployment,
		SKU:  &skuJSON{Name: d.SKUName, Capacity: &capacity},
		Properties: deploymentPropsJSON{
			Model:                   modelRefWire(d.Model),
			ProvisioningState:       state,
			RaiPolicyName:           d.RAIPolicyName,
			VersionUpgradeOption:    d.VersionUpgradeOption,
			SpilloverDeploymentName: d.SpilloverDeploymentName,
			CurrentCapacity:         d.Capacity,
			Capabilities:            caps,
		},
		SystemData: systemDataBy(d.CreatedAt, d.UpdatedAt, d.CreatedBy, d.ModifiedBy),
	}
	if !ptu.IsProvisioned(d.SKUName) {
		out.Properties.RateLimits, out.Properties.CallRateLimit = standardRateLimits(d.Capacity)
	}
	sh.shapeDeployment(&out)
	out.Etag = contentETag(out)
	return out
}

// capabilities are the model's ARM capabilities; ARM writes every value as a string.
func capabilities(m *catalog.Model) map[string]string {
	caps := map[string]string{"chatCompletion": "true"}
	if m.ContextWindow > 0 {
		caps["maxContextToken"] = strconv.Itoa(m.ContextWindow)
	}
	if m.MaxOutputTokens > 0 {
		caps["maxOutputToken"] = strconv.Itoa(m.MaxOutputTokens)
	}
	return caps
}

// deploymentBody is what PUT and PATCH of a deployment read. PATCH
// (armcognitiveservices PatchResourceTagsAndSKU) sends only sku and tags.
type deploymentBody struct {
	SKU        *skuBody `json:"sku"`
	Properties *struct {
		Model *struct {
			Format  *string `json:"format"`
			Name    *string `json:"name"`
			Version *string `json:"version"`
		} `json:"model"`
		RaiPolicyName           *string `json:"raiPolicyName"`
		VersionUpgradeOption    *string `json:"versionUpgradeOption"`
		SpilloverDeploymentName *string `json:"spilloverDeploymentName"`
		// ScaleSettings is deprecated; its capacity is used when sku.capacity is absent.
		ScaleSettings *struct {
			ScaleType *string `json:"scaleType"`
			Capacity  *int    `json:"capacity"`
		} `json:"scaleSettings"`
	} `json:"properties"`
	Tags map[string]string `json:"tags"`
}

// input is the deployment the body asks for. A body with no sku (what the
// api-versions before 2023-05-01 send) sizes it by scaleSettings: scaleType
// Manual is ProvisionedManaged, Standard is Standard (shapes.go).
func (b *deploymentBody) input() (control.DeploymentInput, error) {
	var in control.DeploymentInput
	if b.SKU != nil {
		in.SKUName = deref(b.SKU.Name)
		in.Capacity = b.SKU.Capacity
	}
	if p := b.Properties; p != nil {
		if m := p.Model; m != nil {
			in.Model = ptu.ModelRef{Format: deref(m.Format), Name: deref(m.Name), Version: deref(m.Version)}
		}
		in.RAIPolicyName = deref(p.RaiPolicyName)
		in.VersionUpgradeOption = deref(p.VersionUpgradeOption)
		in.SpilloverDeploymentName = p.SpilloverDeploymentName
		if ss := p.ScaleSettings; ss != nil {
			if in.SKUName == "" && ss.ScaleType != nil {
				sku, ok := skuOfScale(*ss.ScaleType)
				if !ok {
					return in, &ptu.Error{Code: ptu.CodeInvalidResourceProperties, Target: "properties.scaleSettings.scaleType",
						Message: fmt.Sprintf("The scale type '%s' is not supported: use 'Manual' (a provisioned deployment, ProvisionedManaged) or 'Standard'.", *ss.ScaleType)}
				}
				in.SKUName = sku
			}
			if in.Capacity == nil {
				in.Capacity = ss.Capacity
			}
		}
	}
	return in, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

type capacityJSON struct {
	Minimum int `json:"minimum"`
	Maximum int `json:"maximum"`
	Step    int `json:"step"`
	Default int `json:"default"`
}

func capacityWire(c control.Capacity) capacityJSON {
	return capacityJSON{Minimum: c.Minimum, Maximum: c.Maximum, Step: c.Step, Default: c.Default}
}

type skuResourceJSON struct {
	ResourceType string       `json:"resourceType"`
	SKU          skuJSON      `json:"sku"`
	Capacity     capacityJSON `json:"capacity"`
}

// accountSKUJSON is AccountSku: a SKU an existing account can change to.
type accountSKUJSON struct {
	ResourceType string             `json:"resourceType"`
	SKU          accountSKUNameJSON `json:"sku"`
}

type accountSKUNameJSON struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// --- usages ---

type usageJSON struct {
	Name         usageNameJSON `json:"name"`
	Unit         string        `json:"unit"`
	CurrentValue int           `json:"currentValue"`
	Limit        int           `json:"limit"`
}

type usageNameJSON struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

func usageWire(u control.Usage) usageJSON {
	return usageJSON{
		Name:         usageNameJSON{Value: u.Name, LocalizedValue: u.LocalizedName},
		Unit:         u.Unit,
		CurrentValue: u.CurrentValue,
		Limit:        u.Limit,
	}
}

// --- models and model capacities ---

type modelJSON struct {
	Kind    string           `json:"kind"`
	SKUName string           `json:"skuName"`
	Model   accountModelJSON `json:"model"`
}

type accountModelJSON struct {
	Format           string            `json:"format"`
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	IsDefaultVersion bool              `json:"isDefaultVersion"`
	LifecycleStatus  string            `json:"lifecycleStatus,omitempty"`
	MaxCapacity      int               `json:"maxCapacity"`
	Capabilities     map[string]string `json:"capabilities"`
	SKUs             []modelSKUJSON    `json:"skus"`
}

type modelSKUJSON struct {
	Name      string       `json:"name"`
	UsageName string       `json:"usageName"`
	Capacity  capacityJSON `json:"capacity"`
}

func accountModelWire(o control.ModelOffer) accountModelJSON {
	m := o.Model
	out := accountModelJSON{
		Format:           m.Format,
		Name:             m.Name,
		Version:          m.Version,
		IsDefaultVersion: m.IsDefaultVersion,
		LifecycleStatus:  m.LifecycleStatus,
		MaxCapacity:      o.MaxCapacity,
		Capabilities:     capabilities(m),
		SKUs:             []modelSKUJSON{},
	}
	for _, k := range o.SKUs {
		out.SKUs = append(out.SKUs, modelSKUJSON{Name: k.Name, UsageName: k.UsageName, Capacity: capacityWire(k.Capacity)})
	}
	return out
}

// modelKind is the account kind that serves a model format, as ARM's model list reports it.
func modelKind(format string) string {
	if strings.EqualFold(format, "OpenAI") {
		return "OpenAI"
	}
	return "AIServices"
}

type modelCapacityJSON struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Location   string                 `json:"location"`
	Properties modelCapacityPropsJSON `json:"properties"`
}

type modelCapacityPropsJSON struct {
	Model                     modelRefJSON `json:"model"`
	SKUName                   string       `json:"skuName"`
	AvailableCapacity         int          `json:"availableCapacity"`
	AvailableFinetuneCapacity int          `json:"availableFinetuneCapacity"`
}

func modelCapacityWire(sub string, c control.ModelCapacity) modelCapacityJSON {
	return modelCapacityJSON{
		ID: fmt.Sprintf("/subscriptions/%s%s/locations/%s/models/%s.%s.%s/skuCapacities/%s",
			sub, providerPrefix, c.Location, c.Model.Format, c.Model.Name, c.Model.Version, c.SKUName),
		Name:     c.SKUName,
		Type:     typeSKUCapacity,
		Location: c.Location,
		Properties: modelCapacityPropsJSON{
			Model:             modelRefWire(c.Model),
			SKUName:           c.SKUName,
			AvailableCapacity: c.AvailableCapacity,
		},
	}
}

// --- quota requests (ptu's extension) ---

type quotaRequestJSON struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Type       string                `json:"type"`
	Properties quotaRequestPropsJSON `json:"properties"`
}

type quotaRequestPropsJSON struct {
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

func quotaRequestWire(q ptu.QuotaRequest) quotaRequestJSON {
	return quotaRequestJSON{
		ID:   "/subscriptions/" + q.SubscriptionID + providerPrefix + "/quotaRequests/" + q.ID,
		Name: q.ID,
		Type: typeQuotaRequest,
		Properties: quotaRequestPropsJSON{
			SubscriptionID: q.SubscriptionID,
			Location:       q.Region,
			SKUName:        q.SKUName,
			UsageName:      ptu.QuotaUsageName(q.SKUName),
			Limit:          q.RequestedLimit,
			Reason:         q.Reason,
			State:          q.State,
			ReviewNote:     q.ReviewNote,
			CreatedAt:      armTime(q.CreatedAt),
			DecidedAt:      armTime(q.DecidedAt),
		},
	}
}

type quotaRequestBody struct {
	Location *string `json:"location"`
	SKUName  *string `json:"skuName"`
	Limit    *int    `json:"limit"`
	Reason   *string `json:"reason"`
}

type decisionBody struct {
	Note *string `json:"note"`
}

// --- capacity pools (ptu's extension, admin) ---

type poolJSON struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Type       string        `json:"type"`
	Location   string        `json:"location"`
	Properties poolPropsJSON `json:"properties"`
}

type poolPropsJSON struct {
	Model     modelRefJSON `json:"model"`
	PTU       int          `json:"ptu"`
	Allocated int          `json:"allocated"`
	Free      int          `json:"free"`
	Backend   string       `json:"backend"`
}

func (h *handler) poolWire(p control.PoolStatus) poolJSON {
	format := "OpenAI"
	if m, ok := h.svc.Catalog().Lookup(p.Model, p.Version); ok {
		format = m.Format
	}
	return poolJSON{
		ID:       providerPrefix + "/capacityPools/" + p.ID,
		Name:     p.ID,
		Type:     typeCapacityPool,
		Location: p.Region,
		Properties: poolPropsJSON{
			Model:     modelRefJSON{Format: format, Name: p.Model, Version: p.Version},
			PTU:       p.RatedPTU,
			Allocated: p.Allocated,
			Free:      p.Free,
			Backend:   p.Backend,
		},
	}
}

type poolBody struct {
	Properties *struct {
		PTU *int `json:"ptu"`
	} `json:"properties"`
}
