// Package architecture_test keeps the import direction and the conventions
// that ARCHITECTURE.md describes: a rule written only in prose is broken by
// the first change that finds it inconvenient.
package architecture_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/mlci/mlci"

// pkg is one of our packages as its non-test files import it.
type pkg struct {
	imports map[string]bool // our packages, module-relative
	others  map[string]bool // everything else
}

// loadPackages reads the import lists of every package in the module with
// the parser, not `go list`, so the test needs no toolchain beyond itself
// and sees files of every build tag.
func loadPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string]*pkg{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		if pkgs[dir] == nil {
			pkgs[dir] = &pkg{imports: map[string]bool{}, others: map[string]bool{}}
		}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if rel, ok := strings.CutPrefix(ip, module+"/"); ok {
				pkgs[dir].imports[rel] = true
			} else {
				pkgs[dir].others[ip] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 30 {
		t.Fatalf("found %d packages; the walk must start at the module root", len(pkgs))
	}
	return pkgs
}

// under reports whether p is pattern or below it ("runner/..." style
// patterns without the dots).
func under(p, pattern string) bool {
	return p == pattern || strings.HasPrefix(p, pattern+"/")
}

func TestImportDirection(t *testing.T) {
	pkgs := loadPackages(t)
	rules := []struct {
		name string
		// from and to are package prefixes; allowed lists the importers
		// that may still do it.
		from, to string
		allowed  []string
		// exact limits from to that one package, not those below it.
		exact bool
	}{
		{name: "only cmd/mlci imports the command tree", from: "", to: "internal/cli", allowed: []string{"cmd/mlci"}},
		{name: "only cmd/mlci-runner imports the runner's command tree", from: "", to: "runner/runnercli", allowed: []string{"cmd/mlci-runner"}},
		{name: "mlci's packages never import the runner", from: "internal", to: "runner"},
		{name: "the runner never imports the CLI", from: "runner", to: "internal/cli"},
		{name: "github and gitlab do not know each other", from: "internal/forge/github", to: "internal/forge/gitlab"},
		{name: "gitlab and github do not know each other", from: "internal/forge/gitlab", to: "internal/forge/github"},
		{name: "the job life does not know the Docker engine", from: "runner/jobrun", to: "runner/dockerjob"},
		{name: "the GitHub hook does not know the GitLab executor", from: "runner/ghhook", to: "runner/glexec"},
		{name: "the GitLab executor does not know the GitHub hook", from: "runner/glexec", to: "runner/ghhook"},
		{name: "the GitHub hook speaks only jobrun.Engine", from: "runner/ghhook", to: "runner/dockerjob"},
		{name: "the GitLab executor speaks only jobrun.Engine", from: "runner/glexec", to: "runner/dockerjob"},
		{name: "the GitHub hook reaches GPUs only through jobrun", from: "runner/ghhook", to: "runner/gpu"},
		{name: "the GitLab executor reaches GPUs only through jobrun", from: "runner/glexec", to: "runner/gpu"},
		{name: "the Docker client imports no runner package", from: "runner/dockerjob", to: "runner", exact: true},
		{name: "the Docker client imports nothing of mlci's", from: "runner/dockerjob", to: "internal", exact: true},
		{name: "only ciprovider and runner registration hold the GitHub API layer", from: "", to: "internal/forge/github", allowed: []string{"internal/ciprovider", "runner/register"}},
		{name: "only ciprovider and runner registration hold the GitLab API layer", from: "", to: "internal/forge/gitlab", allowed: []string{"internal/ciprovider", "runner/register"}},
		{name: "the pipeline does not know which CI runs it", from: "internal/pipeline", to: "internal/ciprovider"},
		{name: "the promotion policy does not know which CI runs it", from: "internal/promote", to: "internal/ciprovider"},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, name := range sortedKeys(pkgs) {
				if r.from != "" && !under(name, r.from) || r.exact && name != r.from {
					continue
				}
				if under(name, r.to) || slices.Contains(r.allowed, name) {
					continue
				}
				for _, im := range sortedKeys(pkgs[name].imports) {
					if under(im, r.to) {
						t.Errorf("%s imports %s", name, im)
					}
				}
			}
		})
	}
}

// Commands and their flags stay in the two command trees; the packages
// below them take options structs, so every front end can call them.
func TestOnlyCommandTreesUseCobra(t *testing.T) {
	pkgs := loadPackages(t)
	for _, name := range sortedKeys(pkgs) {
		if name == "internal/cli" || name == "runner/runnercli" {
			continue
		}
		for _, im := range sortedKeys(pkgs[name].others) {
			if under(im, "github.com/spf13/cobra") || under(im, "github.com/spf13/pflag") {
				t.Errorf("%s imports %s; flags belong to internal/cli or runner/runnercli", name, im)
			}
		}
	}
}

// Which CI runs mlci is ciprovider's question alone (and each forge's
// client reads its own connection variables): a CI variable read anywhere
// else is a switch a new CI system would have to find.
func TestOnlyCIProviderReadsCIVariables(t *testing.T) {
	allowed := []string{"internal/ciprovider", "internal/forge/github", "internal/forge/gitlab"}
	fset := token.NewFileSet()
	err := filepath.WalkDir("internal", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || slices.Contains(allowed, filepath.ToSlash(p)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, prefix := range []string{"GITHUB_", "GITLAB_", "CI_", "INPUT_"} {
				if strings.HasPrefix(v, prefix) {
					t.Errorf("%s: reads the CI variable %s; ask ciprovider instead", fset.Position(lit.Pos()), v)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Test doubles and test helpers must never reach a binary.
func TestFakesStayInTests(t *testing.T) {
	pkgs := loadPackages(t)
	testOnly := []string{
		"internal/forge/githubfake", "internal/forge/gitlabfake", "internal/forge/fakefault",
		"internal/forge/sticky/stickytest", "internal/syncbuf", "internal/rollout/analysis/promtest", "internal/forge/tracker/trackertest", "internal/remote/remotetest",
		"runner/dockerjob/dockertest", "runner/gpu/gputest", "runner/jobrun/jobruntest",
	}
	for _, name := range sortedKeys(pkgs) {
		if slices.Contains(testOnly, name) {
			continue
		}
		for _, im := range sortedKeys(pkgs[name].imports) {
			if slices.Contains(testOnly, im) {
				t.Errorf("%s imports the test helper %s outside its tests", name, im)
			}
		}
	}
}

// Leaves are imported everywhere; an import of ours in one would make a
// cycle waiting to happen.
func TestLeavesImportNothingOfOurs(t *testing.T) {
	pkgs := loadPackages(t)
	for _, leaf := range []string{
		"internal/digest", "internal/decimal", "internal/scheme", "internal/treeorder", "internal/atomicfile", "internal/regfile", "internal/forge/redact",
		"internal/suggest", "internal/exitcode", "internal/syncbuf", "internal/buildinfo",
	} {
		p, ok := pkgs[leaf]
		if !ok {
			t.Errorf("%s: no such package; update the list", leaf)
			continue
		}
		if len(p.imports) > 0 {
			t.Errorf("%s imports %v", leaf, sortedKeys(p.imports))
		}
	}
}

// TestContextFirst holds the convention that a context.Context parameter
// comes first (after a *testing.T or testing.TB in test helpers), so
// cancellation is never an afterthought in a signature.
func TestContextFirst(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var ft *ast.FuncType
			name := "func literal"
			switch x := n.(type) {
			case *ast.FuncDecl:
				ft, name = x.Type, x.Name.Name
			case *ast.FuncLit:
				ft = x.Type
			}
			if ft == nil || ft.Params == nil {
				return true
			}
			if at := contextAt(ft.Params.List); at > 0 && !(at == 1 && isTesting(ft.Params.List[0].Type)) {
				t.Errorf("%s: %s takes a context.Context as parameter %d; put it first", fset.Position(ft.Pos()), name, at+1)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// contextAt is the index of the first context.Context parameter, -1 when
// there is none.
func contextAt(fields []*ast.Field) int {
	i := 0
	for _, f := range fields {
		n := max(len(f.Names), 1)
		if se, ok := f.Type.(*ast.SelectorExpr); ok && se.Sel.Name == "Context" {
			if id, ok := se.X.(*ast.Ident); ok && id.Name == "context" {
				return i
			}
		}
		i += n
	}
	return -1
}

func isTesting(e ast.Expr) bool {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	se, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := se.X.(*ast.Ident)
	return ok && id.Name == "testing" && slices.Contains([]string{"T", "B", "F", "TB"}, se.Sel.Name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
