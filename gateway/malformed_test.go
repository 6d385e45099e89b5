package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/server"
)

// dpCase is one data-plane request that must be refused.
type dpCase struct {
	name, url, body string
	hdr             []string
}

// fieldMutations replaces each top-level field of a valid body with values of
// the wrong type and out of range.
var fieldMutations = map[string][]string{
	"messages":              {`"hi"`, `1`, `{}`, `[]`, `null`, `[1]`, `["x"]`, `[{"content":"x"}]`, `[{"role":1,"content":"x"}]`, `[{"role":"robot","content":"x"}]`, `[{"role":"user","content":1}]`, `[{"role":"user","content":{}}]`, `[{"role":"user","content":true}]`, `[{"role":"USER","content":"x"}]`, `[{"role":"user","content":[1]}]`},
	"max_tokens":            {`"5"`, `true`, `{}`, `[]`, `0`, `-1`, `1.5`, `1e30`, `16385`, `9223372036854775808`, `-9223372036854775809`, `1e400`},
	"max_completion_tokens": {`"5"`, `0`, `-5`, `16385`, `2.5`},
	"n":                     {`"1"`, `true`, `0`, `-1`, `129`, `1.5`, `1e10`},
	"temperature":           {`"0.5"`, `true`, `[]`, `-0.1`, `2.01`, `1e308`, `-1e308`},
	"top_p":                 {`"1"`, `false`, `-0.1`, `1.01`, `{}`},
	"presence_penalty":      {`"0"`, `-2.1`, `2.1`, `[]`},
	"frequency_penalty":     {`"0"`, `-2.5`, `3`, `{}`},
	"stop":                  {`1`, `true`, `{}`, `[1]`, `["a","b","c","d","e"]`},
	"seed":                  {`"1"`, `1.5`, `true`, `1e30`, `{}`},
	"stream":                {`"true"`, `1`, `{}`, `[]`},
	"stream_options":        {`"x"`, `1`, `[]`, `{"include_usage":"yes"}`},
	"user":                  {`1`, `{}`, `[]`, `true`},
}

var promptMutations = []string{`1`, `true`, `{}`, `[{}]`, `[true]`, `[[1,"a"]]`, `[["a"]]`, `null`, `[]`, `[null]`, `[1.5]`, `[[1e30]]`}

// dpMalformed generates the data-plane table over deployment dep of the
// account at endpoint, whose key is key.
func dpMalformed(t *testing.T, endpoint, dep, key string) []dpCase {
	chat := chatURL(endpoint, dep)
	compl := strings.Replace(chat, "/chat/completions", "/completions", 1)
	v1chat := endpoint + "openai/v1/chat/completions"
	var out []dpCase
	add := func(name, url, body string, hdr ...string) {
		out = append(out, dpCase{name: name, url: url, body: body, hdr: append([]string{"api-key", key}, hdr...)})
	}
	base := map[string]json.RawMessage{
		"messages":   json.RawMessage(`[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]`),
		"max_tokens": json.RawMessage(`5`), "temperature": json.RawMessage(`0.5`), "top_p": json.RawMessage(`0.9`),
		"n": json.RawMessage(`1`), "stop": json.RawMessage(`["zz"]`), "seed": json.RawMessage(`7`),
		"presence_penalty": json.RawMessage(`0`), "frequency_penalty": json.RawMessage(`0`), "user": json.RawMessage(`"u1"`),
	}
	with := func(field, raw string) string {
		m := map[string]json.RawMessage{}
		for k, v := range base {
			m[k] = v
		}
		if raw == "" {
			delete(m, field)
		} else {
			m[field] = json.RawMessage(raw)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("%s=%s: %v", field, raw, err)
		}
		return string(b)
	}
	good := with("user", `"u1"`)
	fields := make([]string, 0, len(fieldMutations))
	for f := range fieldMutations {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		for _, raw := range fieldMutations[f] {
			add(fmt.Sprintf("chat %s=%s", f, raw), chat, with(f, raw))
		}
	}
	// The same fields on the completions route and on the v1 route (the
	// deployment named by "model").
	for _, f := range fields {
		if f == "messages" || f == "max_completion_tokens" || strings.HasSuffix(f, "_penalty") {
			continue
		}
		for _, raw := range fieldMutations[f] {
			add(fmt.Sprintf("completions %s=%s", f, raw), compl, `{"prompt":"hello",`+strconvQuote(f)+`:`+raw+`}`)
		}
	}
	for _, f := range fields {
		for _, raw := range fieldMutations[f][:min(3, len(fieldMutations[f]))] {
			b := with(f, raw)
			add(fmt.Sprintf("v1 %s=%s", f, raw), v1chat, `{"model":"`+dep+`",`+b[1:])
		}
	}
	add("chat without messages", chat, with("messages", ""))
	add("chat with stream_options, no stream", chat, with("stream_options", `{"include_usage":true}`))
	for _, raw := range promptMutations {
		add("completions prompt="+raw, compl, `{"prompt":`+raw+`,"max_tokens":5}`)
	}
	add("completions without prompt", compl, `{"max_tokens":5}`)
	for _, n := range []int{0, 1, len(good) / 3, len(good) / 2, len(good) - 1} {
		add(fmt.Sprintf("chat cut at %d", n), chat, good[:n])
	}
	for _, tail := range []string{" x", "{}", "]", ",", "\x00", " null"} {
		add(fmt.Sprintf("chat trailing %q", tail), chat, good+tail)
	}
	for _, bad := range []string{"null", "[]", `"text"`, "42", "{'messages':[]}", "\xff\xfe", `{"messages":NaN}`, `{messages:[]}`, `{"n":01}`} {
		add(fmt.Sprintf("chat body %q", bad), chat, bad)
	}
	add("chat duplicated key, last wrong", chat, good[:len(good)-1]+`,"n":"two"}`)
	// Context window and size limits.
	add("chat context too long", chat, `{"messages":[{"role":"user","content":"`+strings.Repeat(" river", 60000)+`"}],"max_tokens":16000}`)
	add("chat oversize", chat, `{"messages":[{"role":"user","content":"`+strings.Repeat("a", 300<<10)+`"}]}`)
	// api-version, deployment, key and route.
	for _, v := range []string{"", "2024-13-01", "latest", "2099-01-01", "2023-01-01-preview", "2026-01-01-preview", "2024-10-21x", "%00"} {
		u := strings.Replace(chat, "api-version="+apiVersion, "api-version="+v, 1)
		if v == "" {
			u = strings.Replace(chat, "?api-version="+apiVersion, "", 1)
		}
		add(fmt.Sprintf("api-version %q", v), u, good)
	}
	for _, d := range []string{"nope", "ptu%20x", "%C3%A9", strings.Repeat("d", 200)} {
		add("deployment "+d, strings.Replace(chat, "/deployments/"+dep+"/", "/deployments/"+d+"/", 1), good)
	}
	for _, k := range []string{"", "x", key + "x", strings.ToUpper(key), " " + key + " x"} {
		out = append(out, dpCase{name: fmt.Sprintf("api-key %q", k), url: chat, body: good, hdr: []string{"api-key", k}})
	}
	out = append(out, dpCase{name: "Bearer wrong key", url: chat, body: good, hdr: []string{"Authorization", "Bearer nope"}})
	for _, body := range []string{`{"messages":[{"role":"user","content":"x"}]}`, `{"model":"","messages":[]}`, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, `{"model":1}`, `[`, `{"model":"` + dep + `","messages":[]}`, `{"model":"` + dep + `","messages":[{"role":"user","content":"x"}],"n":0}`} {
		add("v1 "+body, v1chat, body)
	}
	add("unknown route", endpoint+"openai/deployments/"+dep+"/embeddings?api-version="+apiVersion, good)
	add("unknown account", strings.Replace(chat, "/accounts/", "/accounts/nope-", 1), good)
	return out
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestMalformedDataPlaneRequests sends the generated table to the data
// plane: every request gets a 4xx with an error body in Azure's or OpenAI's
// shape, admits nothing (the bucket stays empty while the clock stands
// still) and changes no deployment.
func TestMalformedDataPlaneRequests(t *testing.T) {
	clk := newClock()
	e := newEnv(t, server.Options{Now: clk.Now, MaxInferenceBody: 256 << 10})
	d := e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	key := e.key()
	state := func() string {
		ds, err := e.s.Control.ListDeployments(context.Background(), e.sub, testRG, e.acct.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ds)
		return string(b)
	}
	before := state()
	cases := dpMalformed(t, e.endpoint, "ptu", key)
	if len(cases) < 150 {
		t.Fatalf("only %d cases", len(cases))
	}
	t.Logf("%d malformed requests", len(cases))
	for _, c := range cases {
		r := do(t, "POST", c.url, strings.NewReader(c.body), c.hdr...)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s: status %d, want 4xx: %.300s", c.name, r.status, r.body)
			continue
		}
		var body struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Error["message"] == "" || body.Error["message"] == nil {
			t.Errorf("%s: %d, not an error body: %.300s", c.name, r.status, r.body)
			continue
		}
		if _, ok := body.Error["code"]; !ok {
			t.Errorf("%s: error without a code: %.300s", c.name, r.body)
		}
		if bytes.Contains(r.body, []byte(key)) {
			t.Errorf("%s: the key is in the error body", c.name)
		}
		if u := utilization(t, e.s.Limiter, e.bucket(d)); u != 0 {
			t.Fatalf("%s: the refused call left the bucket at %.2f%%", c.name, u)
		}
	}
	if after := state(); after != before {
		t.Fatalf("deployments changed:\n%s\n%s", before, after)
	}
	// The valid base is served, so the cases above are refused for what they break.
	if r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}],"max_tokens":5,"temperature":0.5,"top_p":0.9,"n":1,"stop":["zz"],"seed":7,"presence_penalty":0,"frequency_penalty":0,"user":"u1"}`), "api-key", key); r.status != 200 {
		t.Fatalf("valid base: %d %s", r.status, r.body)
	}
}
