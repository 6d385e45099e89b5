package arm

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/control"
)

// How ptu's resources become their wire form (package armwire holds the
// shapes) and how request bodies become control's inputs.

// byType is the createdByType of a caller named by ("" when unknown). Every
// caller is a service principal (the admin token or a principal's).
func byType(by string) string {
	if by == "" {
		return ""
	}
	return "Application"
}

// systemDataBy is systemData with who created and who last changed the resource.
func systemDataBy(created, modified time.Time, createdBy, modifiedBy string) *armwire.SystemData {
	sd := systemData(created, modified)
	if sd == nil {
		return nil
	}
	sd.CreatedBy, sd.CreatedByType = createdBy, byType(createdBy)
	sd.LastModifiedBy, sd.LastModifiedByType = modifiedBy, byType(modifiedBy)
	return sd
}

func systemData(created, modified time.Time) *armwire.SystemData {
	if created.IsZero() && modified.IsZero() {
		return nil
	}
	return &armwire.SystemData{CreatedAt: armTime(created), LastModifiedAt: armTime(modified)}
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

// subscriptionWire is a subscription in the tenant the server answers as
// (its own tenant when none is configured).
func (h *handler) subscriptionWire(s ptu.Subscription) armwire.Subscription {
	if h.opt.TenantID != "" {
		s.TenantID = h.opt.TenantID
	}
	state := s.State
	if state == "" {
		state = "Enabled"
	}
	return armwire.Subscription{
		ID:                  "/subscriptions/" + s.ID,
		SubscriptionID:      s.ID,
		TenantID:            s.TenantID,
		DisplayName:         s.DisplayName,
		State:               state,
		AuthorizationSource: "RoleBased",
	}
}

func tenantWire(id string) armwire.Tenant {
	return armwire.Tenant{ID: "/tenants/" + id, TenantID: id, TenantCategory: "Home", DisplayName: "ptu",
		DefaultDomain: "ptu.local", Domains: []string{"ptu.local"}, TenantType: "AAD"}
}

// geographyGroups names data zones as ARM's location metadata names geographies.
var geographyGroups = map[string]string{"us": "US", "eu": "Europe"}

func locationWire(sub string, r ptu.Region) armwire.Location {
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
	return armwire.Location{
		ID:                  "/subscriptions/" + sub + "/locations/" + r.Name,
		Name:                r.Name,
		Type:                "Region",
		DisplayName:         display,
		RegionalDisplayName: regional,
		Metadata: armwire.LocationMetadata{
			RegionType:     "Physical",
			RegionCategory: "Recommended",
			GeographyGroup: group,
			DataZone:       r.DataZone,
		},
	}
}

// --- accounts ---

func (h *handler) accountWire(a ptu.Account) armwire.Account {
	ep := h.accounts.Endpoint(a)
	state := h.provisioningState(a.State, a.CreatedAt, stateAccountCreating)
	out := armwire.Account{
		ID:       a.ID(),
		Name:     a.Name,
		Type:     armwire.TypeAccount,
		Location: a.Location,
		Kind:     a.Kind,
		SKU:      armwire.SKU{Name: a.SKU},
		Tags:     a.Tags,
		Properties: armwire.AccountProperties{
			Endpoint:            ep,
			Endpoints:           map[string]string{armwire.EndpointName: ep},
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

// apply sets the fields the body carries on in, leaving the others.
func applyAccount(b *armwire.AccountBody, in *control.AccountInput) {
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

func modelRefWire(m ptu.ModelRef) armwire.ModelRef {
	return armwire.ModelRef{Format: m.Format, Name: m.Name, Version: m.Version}
}

// Rate limits of a Standard deployment of capacity c (units of 1,000 TPM), as
// Azure reports them (MicrosoftDocs/azure-ai-docs, articles/ai-services/openai/
// how-to/working-with-models.md: capacity 60 shows request 60 per 10 s and
// token 60,000 per 60 s) and the data plane enforces them (gateway/standard.go:
// 6 requests per minute per 1,000 TPM, in 10-second windows).
func standardRateLimits(c int) ([]armwire.ThrottlingRule, *armwire.CallRateLimit) {
	requests := float64(max(1, c*control.StandardRequestsPer1K/6))
	rules := []armwire.ThrottlingRule{
		{Key: "request", RenewalPeriod: 10, Count: requests},
		{Key: "token", RenewalPeriod: 60, Count: float64(c * 1000)},
	}
	return rules, &armwire.CallRateLimit{Count: requests, RenewalPeriod: 10, Rules: rules}
}

func (h *handler) deploymentWire(d ptu.Deployment, sh shape) armwire.Deployment {
	state := h.provisioningState(d.State, d.CreatedAt, stateDeploymentAccepted)
	capacity := d.Capacity
	var caps map[string]string
	if m, ok := h.capacity.Catalog().Lookup(d.Model.Name, d.Model.Version); ok {
		caps = capabilities(m)
	}
	out := armwire.Deployment{
		ID:   d.ID(),
		Name: d.Name,
		Type: armwire.TypeDeployment,
		SKU:  &armwire.SKU{Name: d.SKUName, Capacity: &capacity},
		Properties: armwire.DeploymentProperties{
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

// input is the deployment the body asks for. A body with no sku (what the
// api-versions before 2023-05-01 send) sizes it by scaleSettings: scaleType
// Manual is ProvisionedManaged, Standard is Standard (shapes.go).
func bodyInput(b *armwire.DeploymentBody) (control.DeploymentInput, error) {
	var in control.DeploymentInput
	if b.SKU != nil {
		in.SKUName = deref(b.SKU.Name)
		in.Capacity = b.SKU.Capacity
	}
	if p := b.Properties; p != nil {
		if m := p.Model; m != nil {
			in.Model = ptu.ModelRef{Format: m.Format, Name: m.Name, Version: m.Version}
		}
		in.RAIPolicyName = deref(p.RaiPolicyName)
		in.VersionUpgradeOption = deref(p.VersionUpgradeOption)
		in.SpilloverDeploymentName = p.SpilloverDeploymentName
		if ss := p.ScaleSettings; ss != nil {
			if in.SKUName == "" && ss.ScaleType != nil {
				sku, ok := armwire.SKUOfScale(*ss.ScaleType)
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

func capacityWire(c control.Capacity) armwire.CapacityRange {
	return armwire.CapacityRange{Minimum: c.Minimum, Maximum: c.Maximum, Step: c.Step, Default: c.Default}
}

// --- usages ---

func usageWire(u control.Usage) armwire.Usage {
	return armwire.Usage{
		Name:         armwire.UsageName{Value: u.Name, LocalizedValue: u.LocalizedName},
		Unit:         u.Unit,
		CurrentValue: u.CurrentValue,
		Limit:        u.Limit,
	}
}

// --- models and model capacities ---

func accountModelWire(o control.ModelOffer) armwire.AccountModel {
	m := o.Model
	out := armwire.AccountModel{
		Format:           m.Format,
		Name:             m.Name,
		Version:          m.Version,
		IsDefaultVersion: m.IsDefaultVersion,
		LifecycleStatus:  m.LifecycleStatus,
		MaxCapacity:      o.MaxCapacity,
		Capabilities:     capabilities(m),
		SKUs:             []armwire.ModelSKU{},
	}
	for _, k := range o.SKUs {
		out.SKUs = append(out.SKUs, armwire.ModelSKU{Name: k.Name, UsageName: k.UsageName, Capacity: capacityWire(k.Capacity)})
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

func modelCapacityWire(sub string, c control.ModelCapacity) armwire.ModelCapacity {
	return armwire.ModelCapacity{
		ID: fmt.Sprintf("/subscriptions/%s%s/locations/%s/models/%s.%s.%s/skuCapacities/%s",
			sub, armwire.ProviderPrefix, c.Location, c.Model.Format, c.Model.Name, c.Model.Version, c.SKUName),
		Name:     c.SKUName,
		Type:     armwire.TypeSKUCapacity,
		Location: c.Location,
		Properties: armwire.ModelCapacityProperties{
			Model:             modelRefWire(c.Model),
			SKUName:           c.SKUName,
			AvailableCapacity: c.AvailableCapacity,
		},
	}
}

// --- quota requests (ptu's extension) ---

func quotaRequestWire(q ptu.QuotaRequest) armwire.QuotaRequest {
	return armwire.QuotaRequest{
		ID:   "/subscriptions/" + q.SubscriptionID + armwire.ProviderPrefix + "/quotaRequests/" + q.ID,
		Name: q.ID,
		Type: armwire.TypeQuotaRequest,
		Properties: armwire.QuotaRequestProperties{
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

// --- capacity pools (ptu's extension, admin) ---

func (h *handler) poolWire(p control.PoolStatus) armwire.CapacityPool {
	format := "OpenAI"
	if m, ok := h.capacity.Catalog().Lookup(p.Model, p.Version); ok {
		format = m.Format
	}
	return armwire.CapacityPool{
		ID:       armwire.ProviderPrefix + "/capacityPools/" + p.ID,
		Name:     p.ID,
		Type:     armwire.TypeCapacityPool,
		Location: p.Region,
		Properties: armwire.CapacityPoolProperties{
			Model:     armwire.ModelRef{Format: format, Name: p.Model, Version: p.Version},
			PTU:       p.RatedPTU,
			Allocated: p.Allocated,
			Free:      p.Free,
			Backend:   p.Backend,
		},
	}
}
