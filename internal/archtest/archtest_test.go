package archtest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ptu-dev/ptu"

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
	Deps       []string
}

// list runs `go list -json` over the module's packages.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// short names a package by its path inside the module ("" for the root).
func short(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

// forbidden lists, for a package, the packages of the module it must not
// depend on, directly or not.
var forbidden = map[string][]string{
	// The domain: every other package may use it, it uses none.
	"": {"*"},
	// Leaf libraries know nothing of the service around them.
	"leaky":  {"*"},
	"tokens": {"*"},
	"oai":    {"*"},
	// Call records reach metrics and billing as values of the domain; they
	// never see the data plane that made them.
	"metrics": {"gateway", "server", "arm"},
	"billing": {"gateway", "server", "arm"},
	// The two planes meet only in server.
	"gateway": {"arm", "server", "portal", "sqlstore", "sqlite", "postgres", "redis", "inmem", "billing", "metrics"},
	"arm":     {"gateway", "server", "sqlstore", "sqlite", "postgres", "redis", "inmem"},
	"control": {"gateway", "arm", "server", "sqlstore", "sqlite", "postgres"},
	// The SDK is what users import: none of the server is in it.
	"client": {"server", "gateway", "arm", "control", "sqlstore", "sqlite", "postgres", "redis", "billing", "metrics"},
	// Stores implement the domain's interfaces and nothing above them.
	"sqlstore": {"control", "gateway", "arm", "server", "metrics", "billing"},
	"sqlite":   {"control", "gateway", "arm", "server", "metrics", "billing"},
	"postgres": {"control", "gateway", "arm", "server", "metrics", "billing"},
	// Backends are reached through the backend package's interface.
	"backend/sim":      {"gateway", "server", "control", "arm"},
	"backend/upstream": {"gateway", "server", "control", "arm"},
	"inmem":            {"gateway", "server", "control"},
	"redis":            {"gateway", "server", "control"},
}

func TestImportRules(t *testing.T) {
	for _, p := range list(t) {
		rules, ok := forbidden[short(p.ImportPath)]
		if !ok {
			continue
		}
		for _, dep := range depsOf(t, p.ImportPath) {
			if !strings.HasPrefix(dep, module) {
				continue
			}
			d := short(dep)
			if slices.Contains(rules, "*") || slices.Contains(rules, d) {
				t.Errorf("%s depends on %s; docs/architecture.md says it must not", p.ImportPath, dep)
			}
		}
	}
}

// depsOf is every package path p depends on, directly or not.
func depsOf(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Deps "\n"}}`, path).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", path, err)
	}
	return strings.Fields(string(out))
}

// maxMethods is the most methods an interface of the tree may have,
// counting those it embeds from the same package.
const maxMethods = 15

func TestInterfacesAreSmall(t *testing.T) {
	for _, p := range list(t) {
		fset := token.NewFileSet()
		ifaces := map[string]*ast.InterfaceType{}
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if ts, ok := n.(*ast.TypeSpec); ok {
					if it, ok := ts.Type.(*ast.InterfaceType); ok {
						ifaces[ts.Name.Name] = it
					}
				}
				return true
			})
		}
		for name, it := range ifaces {
			if n := methods(it, ifaces, 0); n > maxMethods {
				t.Errorf("%s.%s has %d methods; keep interfaces at %d or fewer (split it by what its users need)", p.ImportPath, name, n, maxMethods)
			}
		}
	}
}

// methods counts it's methods, following embedded interfaces of the same
// package.
func methods(it *ast.InterfaceType, in map[string]*ast.InterfaceType, depth int) int {
	n := 0
	for _, f := range it.Methods.List {
		if len(f.Names) > 0 {
			n += len(f.Names)
			continue
		}
		if id, ok := f.Type.(*ast.Ident); ok && depth < 8 {
			if e, ok := in[id.Name]; ok {
				n += methods(e, in, depth+1)
			}
		}
	}
	return n
}
