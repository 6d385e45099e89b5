package arm

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
)

func TestDecodeBodyMessages(t *testing.T) {
	for _, tc := range []struct {
		body, target, inMsg string
	}{
		{`{"sku":{"capacity":"15"}}`, "sku.capacity", "'sku.capacity' must be an integer, not string"},
		{`{"sku":{"capacity":1.5}}`, "sku.capacity", "not number 1.5"},
		{`{"sku":"S0"}`, "sku", "'sku' must be an object, not string"},
		{`{"properties":{"model":{"name":7}}}`, "properties.model.name", "must be a string, not number"},
		{`{"tags":[]}`, "tags", "must be an object, not array"},
		{`"text"`, "", "must be an object, not string"},
		{`{"sku":}`, "", "offset 8"},
		{`{"sku":{}`, "", "ends unexpectedly"},
		{`{} x`, "", "unexpected data after the JSON object"},
		{` `, "", "empty"},
	} {
		req := httptest.NewRequest("PUT", "/", strings.NewReader(tc.body))
		var b armwire.DeploymentBody
		err := decodeBody(req, &b, false)
		e, ok := err.(*ptu.Error)
		if !ok || e.Code != ptu.CodeInvalidRequestContent {
			t.Errorf("%s: err = %v, want InvalidRequestContent", tc.body, err)
			continue
		}
		if e.Target != tc.target || !strings.Contains(e.Message, tc.inMsg) {
			t.Errorf("%s: target %q message %q, want target %q and %q", tc.body, e.Target, e.Message, tc.target, tc.inMsg)
		}
	}

	// Unknown fields are ignored, as in ARM; an optional body may be empty.
	req := httptest.NewRequest("PUT", "/", strings.NewReader(`{"identity":{"type":"SystemAssigned"},"sku":{"name":"S0","tier":"Standard"}}`))
	var b armwire.AccountBody
	if err := decodeBody(req, &b, false); err != nil || *b.SKU.Name != "S0" {
		t.Errorf("unknown fields: %v", err)
	}
	var d armwire.DecisionBody
	if err := decodeBody(httptest.NewRequest("POST", "/", nil), &d, true); err != nil {
		t.Errorf("optional empty body: %v", err)
	}
}

// FuzzDecodeBody: any body decodes or fails with InvalidRequestContent.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`,
		`{"sku":{"capacity":"15"}}`, `{"properties":{"scaleSettings":{"capacity":1e99}}}`, `[]`, `{`, `null`, `{} {}`, "",
		`{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"properties":{"customSubDomainName":"x"},"tags":{"a":"b"}}`,
		`{"location":"eastus","skuName":"GlobalProvisionedManaged","limit":900,"reason":"launch"}`,
		`{"properties":{"ptu":100}}`, `{"approved":true,"reason":"ok"}`,
		`{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"sku":{"name":"GlobalProvisionedManaged"},"workload":{"requestPerMinute":60,"tokensToGeneratePerMinute":5000,"promptTokens":1000,"completionTokens":300}}`,
		`{"properties":{"mode":"Blocking","contentFilters":[{"name":"Hate","severityThreshold":"Medium","blocking":true,"enabled":true,"source":"Prompt"}],"customBlocklists":[{"blocklistName":"b","blocking":true,"source":"Completion"}]}}`,
		`[{"name":"i1","properties":{"pattern":"bad.*word","isRegex":true}}]`, `["i1","i2"]`,
		`{"properties":{"deploymentType":"GlobalProvisionedManaged","location":"eastus","model":"gpt-4o","capacity":100,"term":"P1Y"}}`,
		`{"sku":{"capacity":9223372036854775808}}`, `{"sku":{"capacity":-0}}`, `{"a":1,"a":2}`, "{\"tags\":{\"\xff\":\"\u0000\"}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&armwire.DeploymentBody{}, &armwire.AccountBody{}, &armwire.QuotaRequestBody{}, &armwire.CapacityPoolBody{}, &armwire.DecisionBody{},
			&armwire.CapacityCalculationBody{}, &armwire.RAIPolicyBody{}, &[]armwire.RAIBlocklistItemBody{}, &armwire.RAIBlocklistItemBody{}, &[]string{}, &armwire.ReservationBody{}, &armwire.ReservationPatchBody{}} {
			for _, optional := range []bool{false, true} {
				err := decodeBody(httptest.NewRequest("PUT", "/", strings.NewReader(body)), v, optional)
				if err == nil {
					continue
				}
				if e, ok := err.(*ptu.Error); !ok || e.Code != ptu.CodeInvalidRequestContent || e.Message == "" || ptu.ErrorStatus(e) != 400 {
					t.Fatalf("%q: err = %#v", body, err)
				}
			}
		}
	})
}

// FuzzRoute: any path either matches a route or is NotFound /
// MethodNotAllowed; matching never panics and captures no empty name.
func FuzzRoute(f *testing.F) {
	h := &handler{}
	h.register()
	for _, s := range []string{
		"/subscriptions/x/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/deployments/d",
		"/SUBSCRIPTIONS", "/", "//", "/subscriptions/%zz", "/providers/microsoft.cognitiveservices/capacityPools/a/b/c",
	} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		r := &http.Request{Method: method, URL: u}
		fn, p, _, err := h.lookup(r)
		if err != nil {
			code := ptu.ErrorCode(err)
			if me, ok := err.(*methodError); ok {
				code = me.err.Code
			}
			if code != ptu.CodeNotFound && code != ptu.CodeMethodNotAllowed {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			return
		}
		if fn == nil {
			t.Fatalf("%s %s: matched without an endpoint", method, path)
		}
		for k, v := range p {
			if v == "" {
				t.Fatalf("%s %s: empty %s", method, path, k)
			}
		}
	})
}
