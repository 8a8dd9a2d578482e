package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
)

// initialised is the quick-start project without its mlci.yaml, committed
// in a repository of its own, as a project is before mlci init.
func initialised(t *testing.T) string {
	t.Helper()
	dir := quickstart(t)
	if err := os.Remove(filepath.Join(dir, "mlci.yaml")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "project")
	return dir
}

// mlci init on the bundled example, then the commands it prints: they run
// and pass.
func TestInitQuickstartEndToEnd(t *testing.T) {
	dir := initialised(t)
	r := run(t, nil, "-C", dir, "init")
	if r.code != ExitOK {
		t.Fatalf("init: exit %d %s", r.code, r.stderr)
	}
	for _, want := range []string{"created  mlci.yaml", "created  .github/workflows/mlci.yml", "created  .gitignore", "next:\n  mlci -C " + dir + " data lock\n  mlci -C " + dir + " ci --forge local\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Data) != 1 || cfg.Data[0].Path != "data" || len(cfg.Gates) != 1 || cfg.Gates[0].Metric != "eval.val.accuracy" {
		t.Errorf("config %+v", cfg)
	}
	for _, args := range [][]string{{"data", "lock"}, {"ci", "--forge", "local"}} {
		if r := run(t, nil, append([]string{"-C", dir}, args...)...); r.code != ExitOK {
			t.Fatalf("%s: exit %d %s\n%s", args, r.code, r.stderr, r.stdout)
		}
	}
	// The report is ignored, as init said it would be.
	git(t, dir, "check-ignore", "mlci-report.md", "mlci-run.intoto.json")
}

func TestInitKeepsAndForces(t *testing.T) {
	dir := initialised(t)
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "data: [data]\n")
	writeFile(t, filepath.Join(dir, ".github/workflows/mlci.yml"), "mine\n")
	r := run(t, nil, "-C", dir, "init")
	if r.code != ExitOK || !strings.Contains(r.stdout, "kept     mlci.yaml (exists; --force replaces it)") || !strings.Contains(r.stdout, "kept     .github/workflows/mlci.yml") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml")); string(b) != "data: [data]\n" {
		t.Errorf("mlci.yaml changed without --force: %q", b)
	}
	r = run(t, nil, "-C", dir, "init", "--force")
	if r.code != ExitOK || !strings.Contains(r.stdout, "replaced mlci.yaml") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".github/workflows/mlci.yml")); !strings.Contains(string(b), "mlci/mlci@v1") {
		t.Errorf("workflow not replaced: %q", b)
	}
}

func TestInitOptions(t *testing.T) {
	tests := []struct {
		name    string
		setup   map[string]string // files to write first
		args    []string
		code    int
		stdout  []string
		written []string // files that must exist after
		absent  []string // files that must not
	}{
		{name: "bad forge", args: []string{"--forge", "bitbucket"}, code: ExitUsage, absent: []string{"mlci.yaml"}},
		{name: "dry run writes nothing", args: []string{"--dry-run"}, stdout: []string{"would be created mlci.yaml", "    data:\n"}, absent: []string{"mlci.yaml", ".gitignore", ".github"}},
		{name: "gitlab by its file", setup: map[string]string{".gitlab-ci.yml": "t:\n  script: x\n"}, stdout: []string{"updated  .gitlab-ci.yml"}, written: []string{"mlci.yaml"}, absent: []string{".github"}},
		{name: "gitlab with an include of its own", setup: map[string]string{".gitlab-ci.yml": "include: base.yml\n"}, args: []string{"--forge", "gitlab"}, stdout: []string{"edit by hand .gitlab-ci.yml", "    include:\n"}},
		{name: "the existing .mlci.yaml is the one replaced", setup: map[string]string{".mlci.yaml": "data: [x]\n"}, args: []string{"--force"}, stdout: []string{"replaced .mlci.yaml"}, absent: []string{"mlci.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initialised(t)
			for p, c := range tt.setup {
				writeFile(t, filepath.Join(dir, p), c)
			}
			r := run(t, nil, append([]string{"-C", dir, "init"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tt.code, r.stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, p := range tt.written {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Error(err)
				}
			}
			for _, p := range tt.absent {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s written", p)
				}
			}
		})
	}
}

func TestInitJSON(t *testing.T) {
	dir := initialised(t)
	r := run(t, nil, "-C", dir, "--json", "init", "--forge", "gitlab")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	var out struct {
		Forge    string `json:"forge"`
		Detected struct {
			Data []string `json:"data"`
		} `json:"detected"`
		Files []struct{ Path, Action string } `json:"files"`
		Next  []string                        `json:"next"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err, r.stdout)
	}
	if out.Forge != "gitlab" || len(out.Detected.Data) != 1 || len(out.Files) != 3 || out.Files[1].Path != ".gitlab-ci.yml" || out.Files[1].Action != "created" || len(out.Next) != 2 {
		t.Errorf("%+v", out)
	}
}
