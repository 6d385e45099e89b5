package arm

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
)

// The Microsoft.CognitiveServices api-versions ptu accepts, and the request's
// shape. How the versions differ on the wire (deployments with
// properties.scaleSettings before 2023-05-01, sku after) is armwire.Shape;
// the sources are cited in armwire/shapes.go.

// cognitiveStable are the stable Microsoft.CognitiveServices versions
// (Azure/azure-rest-api-specs, specification/cognitiveservices/
// resource-manager/readme.md's tags). Preview versions are accepted when
// dated within previewFrom..previewTo, plus the ones in cognitivePreviewOld.
var cognitiveStable = []string{
	"2017-04-18", "2021-04-30", "2021-10-01", "2022-03-01", "2022-10-01", "2022-12-01",
	"2023-05-01", "2024-10-01", "2025-06-01", "2025-09-01", "2025-12-01", "2026-03-01",
}

// cognitivePreviewOld are the previews dated before previewFrom.
var cognitivePreviewOld = []string{"2016-02-01-preview"}

// shape is what a request's api-version changes in the wire format.
type shape struct {
	armwire.Shape
}

// shapeOf is the shape of r's api-version (already checked by the router).
func shapeOf(r *http.Request) shape {
	return shape{armwire.Shape{Version: apiVersion(r.URL.Query())}}
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

// checkDeployments refuses deployment routes in versions without them, as
// ARM does for a resource type a version does not register.
func (s shape) checkDeployments() error {
	if s.HasDeployments() {
		return nil
	}
	return &ptu.Error{Code: ptu.CodeNoRegisteredProvider, Target: "api-version",
		Message: "No registered resource provider found for API version '" + s.Version +
			"' and type 'accounts/deployments'. The supported api-versions are '" + armwire.FirstDeploymentVersion + "' and later."}
}

// shapeDeployment fits a deployment's wire form to the version.
func (s shape) shapeDeployment(d *armwire.Deployment) {
	s.FitDeployment(d, ptu.IsProvisioned(d.SKUName()))
}
