package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzOutput: any --query and any result document is refused by check with
// a message naming the flag, or printed in every format without a panic,
// and the JSON output is valid JSON.
func FuzzOutput(f *testing.F) {
	doc := `{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a","name":"a","properties":{"endpoint":"https://x","n":1.5,"list":[1,"two",null,{"k":true}]},"tags":{}}`
	for _, q := range []string{"", "name", "properties.list[?k]", "[].{n:name,e:properties.endpoint}", "length(@)", "sort_by(@, &name)",
		"properties.list[0:2]", "@.tags.*", "`1`", "a || b", "!name", "[", "@@", "properties.list[-1]", "max_by(@, &n)", "join(',', @)"} {
		f.Add(q, doc)
		f.Add(q, "["+doc+","+doc+"]")
	}
	f.Add("name", `"text"`)
	f.Add("", `[[1,2],[3]]`)
	f.Fuzz(func(t *testing.T, query, raw string) {
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return
		}
		for _, format := range outputFormats {
			o := &output{format: format, query: query}
			if err := o.check(); err != nil {
				if !strings.Contains(err.Error(), "--query") {
					t.Fatalf("check(%q): %v", query, err)
				}
				return
			}
			var buf bytes.Buffer
			err := o.print(&buf, v)
			if err != nil {
				if !strings.Contains(err.Error(), "--query") {
					t.Fatalf("print %s %q: %v", format, query, err)
				}
				continue
			}
			if format == "json" && buf.Len() > 0 && !json.Valid(buf.Bytes()) {
				t.Fatalf("json output of %q is not JSON: %s", query, buf.Bytes())
			}
		}
	})
}
