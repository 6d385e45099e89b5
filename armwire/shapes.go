package armwire

import "strings"

// Where the Microsoft.CognitiveServices api-versions differ in shape, and how
// ptu answers each. The structs in resources.go carry the union of the
// fields; Shape fits them to one version.
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

// FirstDeploymentVersion is the first version with the deployments resource
// type; FirstSKUVersion the first where a deployment has a sku.
const (
	FirstDeploymentVersion = "2021-10-01"
	FirstSKUVersion        = "2023-05-01"
)

// Shape is what an api-version changes in the wire format. The zero Shape
// is the newest.
type Shape struct {
	Version string
}

// date is the version's date part, which orders versions ("2023-10-01-preview" → "2023-10-01").
func (s Shape) date() string { return strings.TrimSuffix(s.Version, "-preview") }

// DeploymentSKU reports whether deployments carry sku; before, only scaleSettings.
func (s Shape) DeploymentSKU() bool { return s.Version == "" || s.date() >= FirstSKUVersion }

// HasDeployments reports whether the version knows the accounts/deployments resource type.
func (s Shape) HasDeployments() bool { return s.Version == "" || s.date() >= FirstDeploymentVersion }

// Scale types of properties.scaleSettings.
const (
	ScaleManual   = "Manual"
	ScaleStandard = "Standard"
)

// SKUOfScale maps a scaleSettings.scaleType to the deployment type (sku
// name) it means.
func SKUOfScale(scaleType string) (string, bool) {
	switch {
	case strings.EqualFold(scaleType, ScaleManual):
		return "ProvisionedManaged", true
	case strings.EqualFold(scaleType, ScaleStandard):
		return "Standard", true
	}
	return "", false
}

// ScaleOf is the scaleType a deployment type reads back as.
func ScaleOf(provisioned bool) string {
	if provisioned {
		return ScaleManual
	}
	return ScaleStandard
}

// FitDeployment fits a deployment's wire form to the version: the old
// versions carry scaleSettings (Manual for a provisioned type) and none of
// the fields added with sku.
func (s Shape) FitDeployment(d *Deployment, provisioned bool) {
	if s.DeploymentSKU() {
		return
	}
	p := &d.Properties
	capacity := p.CurrentCapacity
	p.ScaleSettings = &ScaleSettings{ScaleType: ScaleOf(provisioned), Capacity: &capacity, ActiveCapacity: &capacity}
	d.SKU = nil
	p.VersionUpgradeOption = ""
	p.SpilloverDeploymentName = ""
	p.CurrentCapacity = 0
	p.RateLimits = nil
}
