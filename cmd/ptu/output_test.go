package main

import (
	"bytes"
	"testing"
)

// TestOutputFormats pins the az behaviours the golden files do not all show.
func TestOutputFormats(t *testing.T) {
	type item struct {
		ID      string         `json:"id"`
		Name    string         `json:"name"`
		Enabled bool           `json:"enabled"`
		Count   float64        `json:"count"`
		Tags    []string       `json:"tags"`
		Props   map[string]int `json:"props"`
		Note    *string        `json:"note"`
	}
	note := "café"
	v := []item{
		{ID: "/subscriptions/s/resourceGroups/rg-1/providers/P/accounts/a", Name: "a", Enabled: true, Count: 1.5, Tags: []string{"x", "y"}, Props: map[string]int{"k": 1}},
		{ID: "/subscriptions/s/providers/P/x", Name: "bb", Count: 20, Note: &note},
	}
	for _, tc := range []struct {
		format, query, want string
	}{
		// Sorted scalar columns, id/type/etag and nested values left out, None
		// dropped, headers padded by two, Python's True/False.
		{"table", "", "Count    Enabled    Name    ResourceGroup    Note\n" +
			"-------  ---------  ------  ---------------  ------\n" +
			"1.5      True       a       rg-1\n" +
			"20       False      bb                       café\n"},
		// A query keeps its own key order.
		{"table", "[].{z:name, a:count}", "Z    A\n---  ---\na    1.5\nbb   20\n"},
		// Scalars become a Result column.
		{"table", "[].name", "Result\n--------\na\nbb\n"},
		// TSV: sorted keys, "" for an object, a list's length, None for null;
		// rows keep only their own keys, as az's do.
		{"tsv", "", "1.5\tTrue\t/subscriptions/s/resourceGroups/rg-1/providers/P/accounts/a\ta\tNone\t\trg-1\t2\n" +
			"20\tFalse\t/subscriptions/s/providers/P/x\tbb\tcafé\tNone\tNone\n"},
		{"tsv", "[].[name, count]", "a\t1.5\nbb\t20\n"},
		// A multiselect hash keeps the query's order in tsv (az's OrderedDict).
		{"tsv", "[].{z:name, a:count}", "a\t1.5\nbb\t20\n"},
		// Every key of a multiselect hash is a table column, "id" and "type"
		// too, a null an empty cell and an object its JSON.
		{"table", "[].{id:name, type:note, props:props}", "Id    Type    Props\n----  ------  -------\na             {\"k\":1}\nbb    café\n"},
		{"json", "[1].{name:name, note:note}", "{\n  \"name\": \"bb\",\n  \"note\": \"café\"\n}\n"},
		{"json", "[5]", ""},
		{"none", "", ""},
	} {
		o := &output{format: tc.format, query: tc.query}
		if err := o.check(); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := o.print(&b, v); err != nil {
			t.Fatalf("%s %q: %v", tc.format, tc.query, err)
		}
		if b.String() != tc.want {
			t.Errorf("%s %q:\n%s\nwant:\n%s", tc.format, tc.query, b.String(), tc.want)
		}
	}
}
