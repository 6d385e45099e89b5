package arm_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the response half of arm/testdata/*.golden")

// A golden file holds one exchange: the request (request line, header lines,
// a blank line, the body), the separator line, and the expected response
// (status line, selected headers, a blank line, the JSON body indented).
// Files run in name order against one server, so each sees the state the
// ones before it left. Lines starting with '#' before the request are
// comments. The admin token is sent unless the request has an
// Authorization header ("Authorization: -" sends none). Random values are
// normalized: keys become "<key>", the request id "<request-id>", and the
// id of the n-th quota request created "{quotaRequestN}". A request path may
// use "{quotaRequest}" for the latest one.
const separator = "-- response --"

// shownHeaders are the response headers golden files record.
var shownHeaders = []string{"Content-Type", "Allow", "WWW-Authenticate", "X-Ms-Client-Request-Id"}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.golden")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	slices.Sort(files)
	e := newEnv(t)
	vars := map[string]string{}
	for i, file := range files {
		// Each exchange happens a minute after the one before.
		e.clock.Set(fixedNow.Add(time.Duration(i) * time.Minute))
		name := strings.TrimSuffix(filepath.Base(file), ".golden")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		reqText, want, ok := strings.Cut(string(data), "\n"+separator+"\n")
		if !ok {
			t.Fatalf("%s: no %q line", file, separator)
		}
		got := runGolden(t, e, name, reqText, vars)
		if *update {
			if err := os.WriteFile(file, []byte(reqText+"\n"+separator+"\n"+got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: response differs (run go test ./arm -run TestGolden -update to accept)\n--- got\n%s\n--- want\n%s", file, got, want)
		}
	}
}

var keyRE = regexp.MustCompile(`"(key1|key2)":"[^"]*"`)

func runGolden(t *testing.T, e *env, name, reqText string, vars map[string]string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(reqText))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		t.Fatalf("%s: no request line", name)
	}
	method, target, ok := strings.Cut(lines[0], " ")
	if !ok {
		t.Fatalf("%s: bad request line %q", name, lines[0])
	}
	if n := len(vars); n > 0 {
		target = strings.ReplaceAll(target, "{quotaRequest}", vars[fmt.Sprintf("quotaRequest%d", n)])
	}
	var hdr []string
	i := 1
	for ; i < len(lines) && lines[i] != ""; i++ {
		k, v, ok := strings.Cut(lines[i], ":")
		if !ok {
			t.Fatalf("%s: bad header line %q", name, lines[i])
		}
		v = strings.TrimSpace(v)
		if v == "-" {
			v = ""
		}
		hdr = append(hdr, strings.TrimSpace(k), v)
	}
	body := ""
	if i < len(lines) {
		body = strings.TrimSpace(strings.Join(lines[i+1:], "\n"))
	}

	rec := e.do(method, target, body, hdr...)

	var out strings.Builder
	fmt.Fprintf(&out, "%d %s\n", rec.Code, http.StatusText(rec.Code))
	for _, h := range shownHeaders {
		if v := rec.Header().Get(h); v != "" {
			fmt.Fprintf(&out, "%s: %s\n", h, v)
		}
	}
	out.WriteString("\n")
	raw := rec.Body.Bytes()
	if len(raw) == 0 {
		return out.String()
	}
	var probe struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.Type == "Microsoft.CognitiveServices/quotaRequests" &&
		!slices.Contains(slices.Collect(maps.Values(vars)), probe.Name) {
		vars[fmt.Sprintf("quotaRequest%d", len(vars)+1)] = probe.Name
	}
	s := keyRE.ReplaceAllString(string(raw), `"$1":"<key>"`)
	if id := rec.Header().Get("x-ms-request-id"); id != "" {
		s = strings.ReplaceAll(s, id, "<request-id>")
	}
	for k, v := range vars {
		s = strings.ReplaceAll(s, v, "{"+k+"}")
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, []byte(s), "", "  "); err != nil {
		t.Errorf("%s: response body is not JSON: %v\n%s", name, err, raw)
		out.WriteString(s)
		return out.String()
	}
	out.Write(ind.Bytes())
	out.WriteString("\n")
	return out.String()
}
