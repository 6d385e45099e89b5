package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmespath/go-jmespath"
	"github.com/spf13/cobra"
)

// output prints a command's result the way az does: JSON by default (keys
// sorted, two-space indent), or a table or TSV, after an optional JMESPath
// --query.
type output struct {
	format string
	query  string
	// table is the command's table transformer: the fields of a JMESPath
	// multiselect hash that pick -o table's columns when no --query chose
	// them, for each item of a list or the one object, as az's
	// table_transformer does (e.g. az vm list-usage's
	// "[].{Name:localName, CurrentValue:currentValue, Limit:limit}").
	table string
}

var outputFormats = []string{"json", "jsonc", "table", "tsv", "none"}

func addOutputFlags(cmd *cobra.Command) *output {
	o := &output{}
	f := cmd.PersistentFlags()
	f.StringVarP(&o.format, "output", "o", "json", "output format: "+strings.Join(outputFormats, ", "))
	f.StringVar(&o.query, "query", "", "JMESPath query string, applied to the result before it is printed (see https://jmespath.org)")
	return o
}

// check validates the flags before any request is made.
func (o *output) check() error {
	ok := false
	for _, f := range outputFormats {
		ok = ok || o.format == f
	}
	if !ok {
		return fmt.Errorf("argument --output/-o: invalid choice %q (choose from %s)", o.format, strings.Join(outputFormats, ", "))
	}
	if o.query != "" {
		if _, err := jmespath.Compile(o.query); err != nil {
			return fmt.Errorf("argument --query: invalid JMESPath query %q: %v", o.query, err)
		}
	}
	return nil
}

// print writes v; a nil v (a delete) prints nothing, as az does.
func (o *output) print(w io.Writer, v any) error {
	if v == nil || o.format == "none" {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	addResourceGroup(doc)
	query := o.query
	if query == "" && o.format == "table" && o.table != "" {
		query = "{" + o.table + "}"
		if _, list := doc.([]any); list {
			query = "[]." + query
		}
	}
	rank := keyRanks(raw, query)
	named := hashKeys(query)
	if query != "" {
		if doc, err = jmespath.Search(query, doc); err != nil {
			return fmt.Errorf("argument --query: %v", err)
		}
		if doc == nil {
			return nil
		}
	}
	switch o.format {
	case "table":
		// az sorts the columns unless a query chose them.
		_, err = io.WriteString(w, renderTable(doc, query == "", rank, named))
	case "tsv":
		_, err = io.WriteString(w, renderTSV(doc, named))
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err = enc.Encode(doc); err == nil {
			_, err = w.Write(buf.Bytes())
		}
	}
	return err
}

// addResourceGroup adds resourceGroup, parsed from the id, to every object
// that has an ARM id naming one, as az does to everything it prints.
func addResourceGroup(v any) {
	switch x := v.(type) {
	case []any:
		for _, it := range x {
			addResourceGroup(it)
		}
	case map[string]any:
		has := false
		for k := range x {
			has = has || strings.EqualFold(k, "resourceGroup")
		}
		if id, ok := x["id"].(string); ok && !has {
			if rg := resourceGroupOf(id); rg != "" {
				x["resourceGroup"] = rg
			}
		}
		for _, it := range x {
			addResourceGroup(it)
		}
	}
}

func resourceGroupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

var hashKeyRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*|"[^"]*")\s*:`)

// hashKeys are the keys a query's multiselect hashes name, in the order
// written. az's JMESPath builds those objects as OrderedDicts, so its tsv
// keeps their order and its table keeps every one of them as a column.
func hashKeys(query string) map[string]int {
	named := map[string]int{}
	for _, m := range hashKeyRE.FindAllStringSubmatch(query, -1) {
		k := strings.Trim(m[1], `"`)
		if _, ok := named[k]; !ok {
			named[k] = len(named)
		}
	}
	return named
}

// keyRanks orders object keys when a query is active (az then keeps the
// order of the data rather than sorting): keys a query's multiselect hash
// names come first in the order written, then the keys of the document in
// the order they first appear, then resourceGroup (az appends it).
func keyRanks(doc []byte, query string) map[string]int {
	rank := hashKeys(query)
	dec := json.NewDecoder(bytes.NewReader(doc))
	// A stack of containers; for objects, whether the next token is a key.
	type frame struct{ object, wantKey bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].wantKey = true // this container was a value
				}
				stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:top]
			}
			continue
		}
		if top >= 0 && stack[top].object {
			if stack[top].wantKey {
				if k, ok := tok.(string); ok {
					if _, seen := rank[k]; !seen {
						rank[k] = len(rank)
					}
				}
			}
			stack[top].wantKey = !stack[top].wantKey
		}
	}
	if _, ok := rank["resourceGroup"]; !ok {
		rank["resourceGroup"] = len(rank)
	}
	return rank
}

// orderKeys sorts keys by rank (unknown keys last, by name), or by name.
func orderKeys(keys []string, sorted bool, rank map[string]int) {
	sort.SliceStable(keys, func(i, j int) bool {
		if !sorted {
			ri, iok := rank[keys[i]]
			rj, jok := rank[keys[j]]
			switch {
			case iok && jok && ri != rj:
				return ri < rj
			case iok != jok:
				return iok
			}
		}
		return keys[i] < keys[j]
	})
}

// tableSkip are the keys az leaves out of tables.
var tableSkip = map[string]bool{"id": true, "type": true, "etag": true}

// renderTable prints v as az's table output: one row per item, a column
// per scalar field (objects and lists are left out), headers with their
// first letter upper-cased, tabulate's "simple" layout. A key the query's
// multiselect hash names is always a column, even "type" or "id" or a null
// (az drops those there too, silently; a user who asked for a column by name
// wants to see it), and an object or a list in it is printed as JSON.
func renderTable(v any, sorted bool, rank, named map[string]int) string {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var cols []string
	seen := map[string]bool{}
	var rows []map[string]string
	for _, it := range items {
		row := map[string]string{}
		if m, ok := it.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k, val := range m {
				if _, ok := named[k]; ok {
					keys = append(keys, k)
					continue
				}
				if tableSkip[k] || val == nil {
					continue
				}
				switch val.(type) {
				case map[string]any, []any:
					continue
				}
				keys = append(keys, k)
			}
			orderKeys(keys, sorted, rank)
			for _, k := range keys {
				h := capitalize(k)
				row[h] = scalar(m[k])
				if m[k] == nil {
					row[h] = ""
				}
				if !seen[h] {
					seen[h] = true
					cols = append(cols, h)
				}
			}
		} else {
			row["Result"] = scalar(it)
			if !seen["Result"] {
				seen["Result"] = true
				cols = append(cols, "Result")
			}
		}
		rows = append(rows, row)
	}
	if len(cols) == 0 {
		return "\n"
	}
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c) + 2 // tabulate's minimum padding of headers
		for _, r := range rows {
			width[i] = max(width[i], utf8.RuneCountInString(r[c]))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range cells {
			if i > 0 {
				l.WriteString("  ")
			}
			l.WriteString(c)
			l.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteString("\n")
	}
	line(cols)
	dashes := make([]string, len(cols))
	for i := range cols {
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(dashes)
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = r[c]
		}
		line(cells)
	}
	return b.String()
}

// renderTSV prints v as az's tsv output: a line per item, the values of an
// object's keys in sorted order, "" for a nested object, a list's length.
// The keys a query's multiselect hash named keep the query's order (az's
// OrderedDict), so `--query "[].{b:b, a:a}" -o tsv` prints b, then a.
func renderTSV(v any, named map[string]int) string {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var b strings.Builder
	for _, it := range items {
		var vals []any
		switch x := it.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			orderKeys(keys, false, named)
			for _, k := range keys {
				vals = append(vals, x[k])
			}
		case []any:
			vals = x
		default:
			vals = []any{x}
		}
		for i, val := range vals {
			if i > 0 {
				b.WriteString("\t")
			}
			switch x := val.(type) {
			case map[string]any:
			case []any:
				b.WriteString(strconv.Itoa(len(x)))
			default:
				b.WriteString(scalar(x))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// scalar formats a JSON scalar as Python's str() does for az.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[n:]
}
