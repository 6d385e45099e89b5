package arm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/metrics"
)

// malformed is one request that must be refused.
type malformed struct {
	name, method, path, body string
	hdr                      []string
}

// armBase is a valid request whose mutations make the table.
type armBase struct {
	name, method, path, body string
	required                 []string // top-level or dotted fields without which it is refused
	intFields                []string // dotted paths of integer fields
}

const pCS = "/providers/Microsoft.CognitiveServices"

// armBases are valid requests on an environment holding account acct1 with
// deployment gpt-4o-ptu (15 PTU).
func armBases() []armBase {
	acct := acctPath("rg1", "acct1", "")
	return []armBase{
		{name: "account", method: "PUT", path: acctPath("rg1", "acct2", ""),
			body:     `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"properties":{"customSubDomainName":"acct2-sd","disableLocalAuth":false,"publicNetworkAccess":"Enabled"},"tags":{"team":"a"}}`,
			required: []string{"location"}},
		{name: "deployment", method: "PUT", path: acct + "/deployments/new-dep",
			body:      `{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"versionUpgradeOption":"NoAutoUpgrade"}}`,
			required:  []string{"properties", "properties.model", "sku"},
			intFields: []string{"sku.capacity"}},
		{name: "deployment patch", method: "PATCH", path: acct + "/deployments/gpt-4o-ptu",
			body:      `{"sku":{"name":"GlobalProvisionedManaged","capacity":30}}`,
			intFields: []string{"sku.capacity"}},
		{name: "quota request", method: "POST", path: subPath(pCS + "/quotaRequests"),
			body:      `{"location":"eastus","skuName":"GlobalProvisionedManaged","limit":900,"reason":"launch"}`,
			required:  []string{"location", "skuName", "limit"},
			intFields: []string{"limit"}},
		{name: "calculate capacity", method: "POST", path: subPath(pCS + "/calculateModelCapacity"),
			body:     `{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},"skuName":"GlobalProvisionedManaged","workloads":[{"requestPerMinute":100,"requestParameters":{"avgPromptTokens":1000,"avgGeneratedTokens":200,"cacheRate":0.2}}]}`,
			required: []string{"model", "workloads"}},
		{name: "pool patch", method: "PATCH", path: pCS + "/capacityPools/eastus/gpt-4o/2024-08-06",
			body:      `{"properties":{"ptu":500}}`,
			required:  []string{"properties", "properties.ptu"},
			intFields: []string{"properties.ptu"}},
		{name: "rai policy", method: "PUT", path: acct + "/raiPolicies/policy1",
			body: `{"properties":{"basePolicyName":"Microsoft.DefaultV2","mode":"Blocking","contentFilters":[{"name":"Hate","severityThreshold":"High","blocking":true,"enabled":true,"source":"Prompt"}]}}`},
		{name: "regenerate key", method: "POST", path: acct + "/regenerateKey",
			body: `{"keyName":"Key2"}`, required: []string{"keyName"}},
	}
}

// wrongTypes are JSON values of every type but the one a field holds.
func wrongTypes(v any) []string {
	switch v.(type) {
	case string:
		return []string{`123`, `true`, `{}`, `[]`}
	case json.Number:
		return []string{`"15"`, `true`, `{}`, `[]`}
	case bool:
		return []string{`"true"`, `1`, `{}`, `[]`}
	case map[string]any:
		return []string{`"x"`, `1`, `true`, `[]`}
	case []any:
		return []string{`"x"`, `1`, `{}`}
	}
	return nil
}

// paths lists the dotted paths of every value in v (array items as [i]).
func paths(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			*out = append(*out, p)
			paths(p, x[k], out)
		}
	case []any:
		for i, it := range x {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			*out = append(*out, p)
			paths(p, it, out)
		}
	}
}

func decodeNumbers(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// at returns the value at path and a function replacing it (with a raw JSON
// value) or deleting it (with "").
func at(root any, path string) (any, func(raw string)) {
	parts := splitPath(path)
	cur := root
	for _, p := range parts[:len(parts)-1] {
		cur = step(cur, p)
	}
	last := parts[len(parts)-1]
	switch c := cur.(type) {
	case map[string]any:
		return c[last], func(raw string) {
			if raw == "" {
				delete(c, last)
			} else {
				c[last] = json.RawMessage(raw)
			}
		}
	case []any:
		var i int
		fmt.Sscanf(last, "%d", &i)
		return c[i], func(raw string) { c[i] = json.RawMessage(raw) }
	}
	panic("bad path " + path)
}

func splitPath(path string) []string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		for {
			i := strings.IndexByte(p, '[')
			if i < 0 {
				parts = append(parts, p)
				break
			}
			if i > 0 {
				parts = append(parts, p[:i])
			}
			j := strings.IndexByte(p, ']')
			parts = append(parts, p[i+1:j])
			p = p[j+1:]
			if p == "" {
				break
			}
		}
	}
	return parts
}

func step(v any, p string) any {
	switch c := v.(type) {
	case map[string]any:
		return c[p]
	case []any:
		var i int
		fmt.Sscanf(p, "%d", &i)
		return c[i]
	}
	return nil
}

// mutate returns the base body with the value at path replaced by raw (or
// removed when raw is "").
func mutate(t *testing.T, body, path, raw string) string {
	root := decodeNumbers(t, body)
	_, set := at(root, path)
	set(raw)
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// armMalformed generates the table: every field of every base request with
// a value of each wrong JSON type, without each required field, integers out
// of range, the body cut short, trailing data, duplicated keys, other media
// types, bad api-versions and names that break the naming rules.
func armMalformed(t *testing.T) []malformed {
	var out []malformed
	add := func(name, method, path, body string, hdr ...string) {
		out = append(out, malformed{name: name, method: method, path: path, body: body, hdr: hdr})
	}
	for _, b := range armBases() {
		var ps []string
		paths("", decodeNumbers(t, b.body), &ps)
		for _, p := range ps {
			v, _ := at(decodeNumbers(t, b.body), p)
			for _, raw := range wrongTypes(v) {
				add(fmt.Sprintf("%s: %s as %s", b.name, p, raw), b.method, q(b.path), mutate(t, b.body, p, raw))
			}
		}
		for _, p := range b.required {
			add(fmt.Sprintf("%s: without %s", b.name, p), b.method, q(b.path), mutate(t, b.body, p, ""))
			add(fmt.Sprintf("%s: %s null", b.name, p), b.method, q(b.path), mutate(t, b.body, p, "null"))
		}
		for _, p := range b.intFields {
			for _, raw := range []string{"1e30", "9223372036854775808", "-9223372036854775809", "1.5", "-1", "1e400", "2147483648000"} {
				add(fmt.Sprintf("%s: %s = %s", b.name, p, raw), b.method, q(b.path), mutate(t, b.body, p, raw))
			}
		}
		for _, n := range []int{0, 1, len(b.body) / 4, len(b.body) / 2, len(b.body) * 3 / 4, len(b.body) - 2, len(b.body) - 1} {
			add(fmt.Sprintf("%s: cut at %d", b.name, n), b.method, q(b.path), b.body[:n])
		}
		for _, tail := range []string{" x", " {}", "]", "}", ",", " null", "\x00"} {
			add(fmt.Sprintf("%s: trailing %q", b.name, tail), b.method, q(b.path), b.body+tail)
		}
		for _, bad := range []string{"[" + b.body + "]", `"` + strings.ReplaceAll(b.body, `"`, `\"`) + `"`, "null", "42", "true", "{'a':1}", "\xff\xfe", "{\"a\":\"\\ud800\"", `{"a":1e}`, `{"a":01}`, `{"a":.5}`, `{"a":+1}`, `{"a":NaN}`, `{"a":Infinity}`, `{a:1}`, "\ufeff" + b.body} {
			add(fmt.Sprintf("%s: body %.20q", b.name, bad), b.method, q(b.path), bad)
		}
		// A duplicated key whose last value has the wrong type.
		first := strings.Index(b.body[1:], `"`) + 1
		end := strings.Index(b.body[first+1:], `"`) + first + 1
		key := b.body[first : end+1]
		add(b.name+": duplicated key", b.method, q(b.path), "{"+key+":{},"+b.body[1:len(b.body)-1]+","+key+":[1,2]}")
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x", "application/json-seq-not", "bogus"} {
			add(fmt.Sprintf("%s: content type %s", b.name, ct), b.method, q(b.path), b.body, "Content-Type", ct)
		}
		for _, v := range []string{"", "2024-13-01", "latest", "2099-01-01", "2024-10-01x", "1", "2024-10-01&api-version=2023-05-01", "%00"} {
			path := b.path + "?api-version=" + v
			if v == "" {
				path = b.path
			}
			add(fmt.Sprintf("%s: api-version %q", b.name, v), b.method, path, b.body)
		}
		for _, auth := range []string{"", "Bearer", "Bearer " + adminToken + "x", "bearer  ", "Basic " + adminToken, adminToken, "Bearer " + strings.ToUpper(adminToken)} {
			add(fmt.Sprintf("%s: Authorization %q", b.name, auth), b.method, q(b.path), b.body, "Authorization", auth)
		}
		add(b.name+": oversize", b.method, q(b.path), `{"tags":{"x":"`+strings.Repeat("a", 1<<20)+`"}}`)
	}
	good := armBases()
	for _, name := range []string{"a", "-acct", "acct_x", "acct.x", "ac%20ct", "ac%2Fct", "%C3%A9t%C3%A9", strings.Repeat("a", 65), "acct%00", "..", "acct*"} {
		add("account name "+name, "PUT", q(acctPath("rg1", name, "")), good[0].body)
	}
	for _, name := range []string{"-dep", "d", ".dep", "dep%20x", "d%C3%A9p", strings.Repeat("d", 65), "dep%2F1", "dep*", "dep%00"} {
		add("deployment name "+name, "PUT", q(acctPath("rg1", "acct1", "/deployments/"+name)), good[1].body)
	}
	for _, rg := range []string{"rg.", "r%20g", strings.Repeat("r", 91), "rg%2A", "r%C3%A9g", "rg%00"} {
		add("resource group "+rg, "PUT", q(acctPath(rg, "acct3", "")), good[0].body)
	}
	for _, sub := range []string{"not-a-guid", "00000000-0000-0000-0000-00000000dead", "%00", "00000000-0000-0000-0000-0000000000011"} {
		add("subscription "+sub, "PUT", q("/subscriptions/"+sub+"/resourceGroups/rg1"+pCS+"/accounts/acct4"), good[0].body)
	}
	for _, p := range []string{pCS + "/capacityPools/eastus/gpt-4o/1999-01-01", pCS + "/capacityPools/moon/gpt-4o/2024-08-06", pCS + "/capacityPools/eastus/gpt-9/x"} {
		add("pool "+p, "PATCH", q(p), good[5].body)
	}
	for _, p := range []string{"/subscriptions//resourceGroups/rg1", "/subscriptions/" + subID + "/resourceGroups/rg1/providers/Microsoft.Unknown/accounts/x",
		acctPath("rg1", "acct1", "/deployments"), acctPath("rg1", "acct1", "/deployments/gpt-4o-ptu/extra")} {
		add("path "+p, "PUT", q(p), good[1].body)
	}
	return out
}

// knownCodes are the Azure error codes the ARM API answers with.
var knownCodes = map[string]bool{}

func init() {
	for _, c := range []string{ptu.CodeInvalidRequestContent, ptu.CodeInvalidResourceName, ptu.CodeInvalidResourceProperties,
		ptu.CodeMissingAPIVersion, ptu.CodeInvalidAPIVersion, ptu.CodeInvalidCapacity, ptu.CodeInsufficientQuota,
		ptu.CodeInsufficientCapacity, ptu.CodeDeploymentModelNotSupported, ptu.CodeInvalidSKU, ptu.CodeLocationNotAvailable,
		ptu.CodeBadRequest, ptu.CodeSubscriptionNotFound, ptu.CodeResourceNotFound, ptu.CodeDeploymentNotFound,
		ptu.CodeCustomDomainInUse, ptu.CodeConflict, ptu.CodeAuthenticationFailed, ptu.CodeInvalidAuthenticationToken,
		ptu.CodeAuthorizationFailed, ptu.CodeNotFound, ptu.CodeMethodNotAllowed, ptu.CodeRequestEntityTooLarge, ptu.CodeUnsupportedMediaType} {
		knownCodes[c] = true
	}
}

// TestMalformedRequests sends hundreds of generated malformed requests across
// the ARM routes. Each must get a 4xx with an Azure error code and a message,
// and leave accounts, deployments, usages, pools and quota requests as they
// were. The bases themselves are checked to succeed on a fresh environment,
// so every case is a valid request broken in one way.
func TestMalformedRequests(t *testing.T) {
	for _, b := range armBases() {
		e := newEnv(t)
		setUp(e)
		if rec := e.do(b.method, q(b.path), b.body); rec.Code >= 300 {
			t.Fatalf("base %s is not valid: %d %s", b.name, rec.Code, rec.Body.String())
		}
	}

	e := newEnv(t)
	setUp(e)
	snapshot := func() []byte {
		var b bytes.Buffer
		b.Write(e.must(http.StatusOK, "GET", q(acctPath("rg1", "acct1", "/deployments")), ""))
		b.Write(e.must(http.StatusOK, "GET", q(subPath(pCS+"/locations/eastus/usages")), ""))
		b.Write(e.must(http.StatusOK, "GET", q(pCS+"/capacityPools"), ""))
		b.Write(e.must(http.StatusOK, "GET", q(subPath(pCS+"/accounts")), ""))
		b.Write(e.must(http.StatusOK, "GET", q(subPath(pCS+"/quotaRequests")), ""))
		b.Write(e.must(http.StatusOK, "GET", q(acctPath("rg1", "acct1", "/raiPolicies")), ""))
		b.Write(e.must(http.StatusOK, "POST", q(acctPath("rg1", "acct1", "/listKeys")), ""))
		return b.Bytes()
	}
	before := snapshot()
	cases := armMalformed(t)
	if len(cases) < 400 {
		t.Fatalf("only %d cases", len(cases))
	}
	t.Logf("%d malformed requests", len(cases))
	for _, c := range cases {
		rec := e.do(c.method, c.path, c.body, c.hdr...)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s: status %d, want 4xx\n%.300s", c.name, rec.Code, rec.Body.String())
			continue
		}
		var got armError
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Error.Message == "" || !knownCodes[got.Error.Code] {
			t.Errorf("%s: %d body is not an Azure error with a known code: %.300s", c.name, rec.Code, rec.Body.String())
			continue
		}
		if want := ptu.ErrorStatus(&ptu.Error{Code: got.Error.Code}); want != rec.Code {
			t.Errorf("%s: status %d for code %s, which is %d", c.name, rec.Code, got.Error.Code, want)
		}
		if strings.Contains(rec.Body.String(), adminToken) {
			t.Errorf("%s: the admin token is in the error body", c.name)
		}
		if after := snapshot(); !bytes.Equal(before, after) {
			t.Fatalf("%s: state changed:\nbefore %s\nafter  %s", c.name, before, after)
		}
	}
}

// setUp creates account acct1 in eastus with a 15-PTU gpt-4o deployment.
func setUp(e *env) {
	e.must(http.StatusCreated, "PUT", q(acctPath("rg1", "acct1", "")), `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"}}`)
	e.must(http.StatusCreated, "PUT", q(acctPath("rg1", "acct1", "/deployments/gpt-4o-ptu")),
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`)
}

// FuzzARMRequest sends fuzzed bodies and query strings to the routes that
// read them: every answer is below 500, every refusal is an Azure error with
// a known code that leaves the state as it was, and the admin token never
// appears in an answer.
func FuzzARMRequest(f *testing.F) {
	e := newEnv(f)
	e.h = arm.New(arm.ServicesOf(e.svc), arm.Options{AdminToken: adminToken, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Billing: billing.New(e.store, e.svc.Catalog(), billing.Options{Now: e.clock.Now}),
		Metrics: metrics.NewReader(e.store, metrics.ReaderOptions{Now: e.clock.Now})})
	setUp(e)
	acct := acctPath("rg1", "acct1", "")
	routes := []struct{ method, path string }{}
	for _, b := range armBases() {
		routes = append(routes, struct{ method, path string }{b.method, b.path})
	}
	for _, p := range []string{acct + "/providers/Microsoft.Insights/metrics", acct + "/providers/Microsoft.Insights/metricDefinitions",
		pCS + "/pricing", pCS + "/pricing/quote", subPath(pCS + "/billing/usage"), subPath(pCS + "/billing/reservations"),
		subPath(pCS + "/locations/eastus/modelCapacities"), subPath(pCS + "/reservations")} {
		routes = append(routes, struct{ method, path string }{"GET", p})
	}
	routes = append(routes, struct{ method, path string }{"POST", subPath(pCS + "/reservations")},
		struct{ method, path string }{"PUT", acct + "/raiBlocklists/list1/raiBlocklistItems/item1"},
		struct{ method, path string }{"POST", acct + "/raiBlocklists/list1/addRaiBlocklistItems"})
	for i, b := range armBases() {
		f.Add(uint8(i), "", b.body)
	}
	for i := len(armBases()); i < len(routes); i++ {
		f.Add(uint8(i), "metricnames=AzureOpenAIRequests&timespan=PT1H&interval=PT5M&$filter=ModelDeploymentName eq '*'&modelName=gpt-4o&skuName=GlobalProvisionedManaged&capacity=15&from=2026-01-01&to=2026-01-02&granularity=Daily", "")
		f.Add(uint8(i), "capacity=1e99&from=x&interval=PT7M&top=-1", `{"properties":{"pattern":"a(","isRegex":true}}`)
	}
	snapshot := func() []byte {
		var b bytes.Buffer
		for _, p := range []string{acctPath("rg1", "acct1", "/deployments"), subPath(pCS + "/locations/eastus/usages"), pCS + "/capacityPools",
			subPath(pCS + "/accounts"), subPath(pCS + "/quotaRequests"), acctPath("rg1", "acct1", "/raiPolicies"), subPath(pCS + "/reservations")} {
			b.Write(e.must(http.StatusOK, "GET", q(p), ""))
		}
		return b.Bytes()
	}
	before := snapshot()
	f.Fuzz(func(t *testing.T, which uint8, query, body string) {
		e.t = t // the environment's helpers report to the running input
		rt := routes[int(which)%len(routes)]
		u, err := url.ParseRequestURI(rt.path + "?api-version=" + apiVersion + "&" + query)
		if err != nil {
			return
		}
		req := httptest.NewRequest(rt.method, "/", strings.NewReader(body))
		req.URL, req.RequestURI = u, u.RequestURI()
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s\n%s", rt.method, u, body, rec.Code, rec.Body.String(), e.logs.String())
		}
		if strings.Contains(rec.Body.String(), adminToken) {
			t.Fatalf("the admin token is in the answer: %s", rec.Body.String())
		}
		if rec.Code < 400 {
			before = snapshot() // a request that succeeded may change the state
			return
		}
		var got armError
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Error.Message == "" || !knownCodes[got.Error.Code] {
			t.Fatalf("%s %s %q: %d is not an Azure error with a known code: %s", rt.method, u, body, rec.Code, rec.Body.String())
		}
		if after := snapshot(); !bytes.Equal(before, after) {
			t.Fatalf("%s %s %q: refused with %d but the state changed", rt.method, u, body, rec.Code)
		}
	})
}
