package arm_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestBadInput sends requests that must be refused and checks the exact
// status and code of each, and that nothing changed: the account's
// deployments, the usages in its region and the pools read the same after
// every refusal as before it.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	acct := acctPath("rg1", "acct1", "")
	e.must(http.StatusCreated, "PUT", q(acct), `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`)
	dep := acct + "/deployments/gpt-4o-ptu"
	good := `{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`
	e.must(http.StatusCreated, "PUT", q(dep), good)

	withCapacity := func(c string) string {
		return `{"sku":{"name":"GlobalProvisionedManaged","capacity":` + c + `},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`
	}
	withModel := func(name, version, sku string) string {
		return `{"sku":{"name":"` + sku + `","capacity":15},"properties":{"model":{"format":"OpenAI","name":"` + name + `","version":"` + version + `"}}}`
	}
	newDep := acct + "/deployments/new-dep"

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		hdr        []string
		wantStatus int
		wantCode   string
		wantTarget string
		wantInMsg  string
	}{
		{name: "malformed JSON", method: "PUT", path: q(newDep), body: `{"sku":{"name":`,
			wantStatus: 400, wantCode: "InvalidRequestContent"},
		{name: "syntax error", method: "PUT", path: q(newDep), body: `{"sku" {}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantInMsg: "offset"},
		{name: "capacity as string", method: "PUT", path: q(newDep), body: withCapacity(`"15"`),
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "sku.capacity", wantInMsg: "'sku.capacity' must be an integer, not string"},
		{name: "capacity as fraction", method: "PUT", path: q(newDep), body: withCapacity(`15.5`),
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "sku.capacity"},
		{name: "capacity beyond int", method: "PUT", path: q(newDep), body: withCapacity(`1e30`),
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "sku.capacity"},
		{name: "model as string", method: "PUT", path: q(newDep), body: `{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":"gpt-4o"}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "properties.model"},
		{name: "scaleSettings capacity as bool", method: "PUT", path: q(newDep), body: `{"sku":{"name":"GlobalProvisionedManaged"},"properties":{"model":{"name":"gpt-4o"},"scaleSettings":{"capacity":true}}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "properties.scaleSettings.capacity"},
		{name: "body is an array", method: "PUT", path: q(newDep), body: `[1,2]`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantInMsg: "must be an object"},
		{name: "trailing data", method: "PUT", path: q(newDep), body: withCapacity("15") + ` {}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantInMsg: "unexpected data"},
		{name: "empty body", method: "PUT", path: q(newDep), body: "",
			wantStatus: 400, wantCode: "InvalidRequestContent", wantInMsg: "empty"},
		{name: "body too large", method: "PUT", path: q(newDep), body: `{"tags":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`,
			wantStatus: 413, wantCode: "RequestEntityTooLarge", wantInMsg: "larger than"},
		{name: "duplicated capacity", method: "PUT", path: q(dep), body: `{"sku":{"name":"GlobalProvisionedManaged","capacity":15,"capacity":25},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "sku.capacity", wantInMsg: "more than once"},
		{name: "case-variant capacity", method: "PUT", path: q(dep), body: `{"sku":{"name":"GlobalProvisionedManaged","capacity":15,"CAPACITY":25},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "sku.CAPACITY", wantInMsg: "more than once"},
		{name: "case-variant tag names", method: "PUT", path: q(dep), body: `{"tags":{"env":"a","ENV":"b"},"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "tags.ENV"},
		{name: "zero capacity", method: "PUT", path: q(newDep), body: withCapacity("0"),
			wantStatus: 400, wantCode: "InvalidCapacity"},
		{name: "negative capacity", method: "PUT", path: q(newDep), body: withCapacity("-15"),
			wantStatus: 400, wantCode: "InvalidCapacity"},
		{name: "capacity off step", method: "PUT", path: q(newDep), body: withCapacity("17"),
			wantStatus: 400, wantCode: "InvalidCapacity"},
		{name: "huge capacity", method: "PUT", path: q(newDep), body: withCapacity("100000"),
			wantStatus: 400, wantCode: "InvalidCapacity"},
		{name: "resize to zero", method: "PUT", path: q(dep), body: withCapacity("0"),
			wantStatus: 400, wantCode: "InvalidCapacity"},
		{name: "over quota", method: "PUT", path: q(newDep), body: withCapacity("600"),
			wantStatus: 400, wantCode: "InsufficientQuota"},
		{name: "over capacity", method: "PUT", path: q(newDep),
			body:       `{"sku":{"name":"ProvisionedManaged","capacity":100},"properties":{"model":{"name":"gpt-4o-mini","version":"2024-07-18"}}}`,
			wantStatus: 409, wantCode: "InsufficientResourcesAvailable"},
		{name: "unknown model", method: "PUT", path: q(newDep), body: withModel("gpt-9", "2030-01-01", "GlobalProvisionedManaged"),
			wantStatus: 400, wantCode: "DeploymentModelNotSupported"},
		{name: "unknown version", method: "PUT", path: q(newDep), body: withModel("gpt-4o", "1999-01-01", "GlobalProvisionedManaged"),
			wantStatus: 400, wantCode: "DeploymentModelNotSupported"},
		{name: "unknown sku", method: "PUT", path: q(newDep), body: withModel("gpt-4o", "2024-08-06", "SuperProvisioned"),
			wantStatus: 400, wantCode: "InvalidSkuName"},
		{name: "sku the model lacks", method: "PUT", path: q(newDep), body: withModel("gpt-4o-mini", "2024-07-18", "DataZoneProvisionedManaged"),
			wantStatus: 400, wantCode: "InvalidSkuName"},
		{name: "bad deployment name", method: "PUT", path: q(acct + "/deployments/-bad"), body: good,
			wantStatus: 400, wantCode: "InvalidResourceName"},
		{name: "bad account name", method: "PUT", path: q(acctPath("rg1", "a", "")), body: `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`,
			wantStatus: 400, wantCode: "InvalidResourceName"},
		{name: "bad resource group", method: "PUT", path: q(acctPath("rg.", "acct2", "")), body: `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`,
			wantStatus: 400, wantCode: "InvalidResourceName"},
		{name: "unknown location", method: "PUT", path: q(acctPath("rg1", "acct2", "")), body: `{"location":"moon","kind":"OpenAI","sku":{"name":"S0"}}`,
			wantStatus: 400, wantCode: "LocationNotAvailableForResourceType"},
		{name: "tags of wrong type", method: "PUT", path: q(acctPath("rg1", "acct2", "")), body: `{"location":"eastus","tags":{"a":1}}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "tags"},
		{name: "location moves", method: "PUT", path: q(acct), body: `{"location":"westus","kind":"OpenAI","sku":{"name":"S0"}}`,
			wantStatus: 409, wantCode: "Conflict"},
		{name: "unknown subscription", method: "PUT", path: q("/subscriptions/00000000-0000-0000-0000-00000000dead/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/acct9"),
			body: `{"location":"eastus"}`, wantStatus: 404, wantCode: "SubscriptionNotFound"},
		{name: "deployment in missing account", method: "PUT", path: q(acctPath("rg1", "nope", "/deployments/d1")), body: good,
			wantStatus: 404, wantCode: "ResourceNotFound"},
		{name: "patch of missing deployment", method: "PATCH", path: q(acct + "/deployments/nope"), body: `{"sku":{"name":"GlobalProvisionedManaged","capacity":20}}`,
			wantStatus: 404, wantCode: "DeploymentNotFound"},
		{name: "regenerate unknown key", method: "POST", path: q(acct + "/regenerateKey"), body: `{"keyName":"Key3"}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "keyName"},
		{name: "regenerate without keyName", method: "POST", path: q(acct + "/regenerateKey"), body: `{}`,
			wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "keyName"},
		{name: "unknown api-version", method: "PUT", path: dep + "?api-version=2099-01-01", body: withCapacity("20"),
			wantStatus: 400, wantCode: "InvalidApiVersionParameter"},
		{name: "stable version as preview out of range", method: "PUT", path: dep + "?api-version=2022-12-01-preview", body: withCapacity("20"),
			wantStatus: 400, wantCode: "InvalidApiVersionParameter"},
		{name: "missing api-version", method: "PUT", path: dep, body: withCapacity("20"),
			wantStatus: 400, wantCode: "MissingApiVersionParameter"},
		{name: "missing auth", method: "PUT", path: q(dep), body: withCapacity("20"), hdr: []string{"Authorization", ""},
			wantStatus: 401, wantCode: "AuthenticationFailed"},
		{name: "basic auth", method: "PUT", path: q(dep), body: withCapacity("20"), hdr: []string{"Authorization", "Basic dXNlcjpwYXNz"},
			wantStatus: 401, wantCode: "AuthenticationFailed"},
		{name: "wrong token", method: "DELETE", path: q(dep), hdr: []string{"Authorization", "Bearer " + adminToken + "x"},
			wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "quota request for standard type", method: "POST", path: q(subPath("/providers/Microsoft.CognitiveServices/quotaRequests")),
			body: `{"location":"eastus","skuName":"GlobalStandard","limit":900,"reason":"x"}`, wantStatus: 400, wantCode: "InvalidSkuName"},
		{name: "quota request without limit", method: "POST", path: q(subPath("/providers/Microsoft.CognitiveServices/quotaRequests")),
			body: `{"location":"eastus","skuName":"GlobalProvisionedManaged","reason":"x"}`, wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "limit"},
		{name: "quota request with string limit", method: "POST", path: q(subPath("/providers/Microsoft.CognitiveServices/quotaRequests")),
			body: `{"location":"eastus","skuName":"GlobalProvisionedManaged","limit":"900","reason":"x"}`, wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "limit"},
		{name: "pool patch without ptu", method: "PATCH", path: q("/providers/Microsoft.CognitiveServices/capacityPools/eastus/gpt-4o/2024-08-06"),
			body: `{"properties":{}}`, wantStatus: 400, wantCode: "InvalidRequestContent", wantTarget: "properties.ptu"},
		{name: "pool patch negative", method: "PATCH", path: q("/providers/Microsoft.CognitiveServices/capacityPools/eastus/gpt-4o/2024-08-06"),
			body: `{"properties":{"ptu":-1}}`, wantStatus: 400, wantCode: "InvalidRequestContent"},
		{name: "unknown pool", method: "PATCH", path: q("/providers/Microsoft.CognitiveServices/capacityPools/eastus/gpt-9/1"),
			body: `{"properties":{"ptu":10}}`, wantStatus: 404, wantCode: "ResourceNotFound"},
		{name: "unknown route", method: "GET", path: q(subPath("/providers/Microsoft.CognitiveServices/unknown")),
			wantStatus: 404, wantCode: "NotFound"},
		{name: "wrong method", method: "POST", path: q(dep), body: good,
			wantStatus: 405, wantCode: "MethodNotAllowed"},
	}

	snapshot := func() []byte {
		var b bytes.Buffer
		b.Write(e.must(http.StatusOK, "GET", q(acct+"/deployments"), ""))
		b.Write(e.must(http.StatusOK, "GET", q(subPath("/providers/Microsoft.CognitiveServices/locations/eastus/usages")), ""))
		b.Write(e.must(http.StatusOK, "GET", q("/providers/Microsoft.CognitiveServices/capacityPools"), ""))
		b.Write(e.must(http.StatusOK, "GET", q(subPath("/providers/Microsoft.CognitiveServices/accounts")), ""))
		b.Write(e.must(http.StatusOK, "GET", q(subPath("/providers/Microsoft.CognitiveServices/quotaRequests")), ""))
		return b.Bytes()
	}
	before := snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(tt.method, tt.path, tt.body, tt.hdr...)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tt.wantStatus, rec.Body.String())
			}
			got := decodeError(t, rec.Body.Bytes())
			if got.Error.Code != tt.wantCode {
				t.Errorf("code %q, want %q (%s)", got.Error.Code, tt.wantCode, got.Error.Message)
			}
			if tt.wantTarget != "" && got.Error.Target != tt.wantTarget {
				t.Errorf("target %q, want %q (%s)", got.Error.Target, tt.wantTarget, got.Error.Message)
			}
			if !strings.Contains(got.Error.Message, tt.wantInMsg) {
				t.Errorf("message %q does not contain %q", got.Error.Message, tt.wantInMsg)
			}
			if got.Error.Message == "" {
				t.Error("empty message")
			}
			if after := snapshot(); !bytes.Equal(before, after) {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
