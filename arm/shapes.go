package arm

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ptu-dev/ptu"
)

// Where the Microsoft.CognitiveServices api-versions differ in shape, and how
// ptu answers each. Everything that depends on a request's api-version lives
// here; the wire structs in wire.go carry the union of the fields.
//
// Sources: Azure/azure-rest-api-specs,
// specification/cognitiveservices/resource-manager/readme.md (the list of
// versions) and Microsoft.CognitiveServices/{stable,preview}/<version>/
// cognitiveservices.json with its examples (PutDeployment.json,
// GetDeployment.json); the Python SDK azure-mgmt-cognitiveservices 13.4.0b1
// (api-version 2022-12-01: Deployment has no sku, DeploymentProperties has
// scaleSettings {scaleType, capacity, activeCapacity} and callRateLimit);
// armcognitiveservices v1.7.0 (2024-10-01: Deployment.SKU,
// DeploymentProperties.RateLimits []ThrottlingRule, CallRateLimit).
//
//	2016-02-01-preview, 2017-04-18, 2021-04-30  accounts only: deployments are
//	                                            not a resource type yet
//	2021-10-01, 2022-03-01, 2022-10-01,         a deployment's size is
//	2022-12-01                                  properties.scaleSettings
//	                                            {scaleType, capacity}; no sku
//	2023-05-01 and later, 2023-10-01-preview    sku {name, capacity}; rateLimits,
//	and later previews                          versionUpgradeOption;
//	                                            scaleSettings still read
//
// scaleType Manual is a provisioned deployment (ProvisionedManaged, regional)
// and Standard a Standard one; a deployment of another type reads back as
// Manual (provisioned types) or Standard (pay-per-token types) in the old
// versions, which cannot name it.

// cognitiveStable are the stable Microsoft.CognitiveServices versions
// (readme.md's tags). Preview versions are accepted when dated within
// previewFrom..previewTo, plus the ones in cognitivePreviewOld.
var cognitiveStable = []string{
	"2017-04-18", "2021-04-30", "2021-10-01", "2022-03-01", "2022-10-01", "2022-12-01",
	"2023-05-01", "2024-10-01", "2025-06-01", "2025-09-01", "2025-12-01", "2026-03-01",
}

// cognitivePreviewOld are the previews dated before previewFrom.
var cognitivePreviewOld = []string{"2016-02-01-preview"}

// shape is what a request's api-version changes in the wire format.
type shape struct {
	version string
}

// firstDeploymentVersion is the first version with the deployments
// resource type; firstSKUVersion the first where a deployment has a sku.
const (
	firstDeploymentVersion = "2021-10-01"
	firstSKUVersion        = "2023-05-01"
)

// shapeOf is the shape of r's api-version (already checked by the router).
func shapeOf(r *http.Request) shape {
	return shape{version: apiVersion(r.URL.Query())}
}

// apiVersion is the api-version parameter, whose name ARM matches in any case.
func apiVersion(q url.Values) string {
	if v, ok := q["api-version"]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range q {
		if strings.EqualFold(k, "api-version") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// date is the version's date part, which orders versions ("2023-10-01-preview" → "2023-10-01").
func (s shape) date() string { return strings.TrimSuffix(s.version, "-preview") }

// deploymentSKU: deployments carry sku; before, only scaleSettings.
func (s shape) deploymentSKU() bool { return s.version == "" || s.date() >= firstSKUVersion }

// hasDeployments: the version knows the accounts/deployments resource type.
func (s shape) hasDeployments() bool { return s.version == "" || s.date() >= firstDeploymentVersion }

// checkDeployments refuses deployment routes in versions without them, as
// ARM does for a resource type a version does not register.
func (s shape) checkDeployments() error {
	if s.hasDeployments() {
		return nil
	}
	return &ptu.Error{Code: ptu.CodeNoRegisteredProvider, Target: "api-version",
		Message: "No registered resource provider found for API version '" + s.version +
			"' and type 'accounts/deployments'. The supported api-versions are '" + firstDeploymentVersion + "' and later."}
}

// Scale types of properties.scaleSettings.
const (
	scaleManual   = "Manual"
	scaleStandard = "Standard"
)

// skuOfScale maps a scaleSettings.scaleType to the deployment type it means.
func skuOfScale(scaleType string) (string, bool) {
	switch {
	case strings.EqualFold(scaleType, scaleManual):
		return ptu.ProvisionedManaged, true
	case strings.EqualFold(scaleType, scaleStandard):
		return ptu.Standard, true
	}
	return "", false
}

// scaleOfSKU is the scaleType a deployment type reads back as.
func scaleOfSKU(sku string) string {
	if ptu.IsProvisioned(sku) {
		return scaleManual
	}
	return scaleStandard
}

// shapeDeployment fits a deployment's wire form to the version: the old
// versions carry scaleSettings and none of the fields added with sku.
func (s shape) shapeDeployment(d *deploymentJSON) {
	if s.deploymentSKU() {
		return
	}
	p := &d.Properties
	capacity := p.CurrentCapacity
	p.ScaleSettings = &scaleSettingsJSON{ScaleType: scaleOfSKU(d.SKU.Name), Capacity: &capacity, ActiveCapacity: &capacity}
	d.SKU = nil
	p.VersionUpgradeOption = ""
	p.SpilloverDeploymentName = ""
	p.CurrentCapacity = 0
	p.RateLimits = nil
}
