package client_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoServerPackage keeps the SDK a client: of this module it may
// import only the wire packages oai and armwire and the clock interface
// (internal/clock), which themselves import nothing of ptu.
func TestImportsNoServerPackage(t *testing.T) {
	const module = "github.com/ptu-dev/ptu"
	allowed := map[string]bool{module + "/oai": true, module + "/armwire": true, module + "/internal/clock": true}
	for _, dir := range []string{".", "../oai", "../armwire", "../internal/clock"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if (p == module || strings.HasPrefix(p, module+"/")) && (!allowed[p] || dir != ".") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
