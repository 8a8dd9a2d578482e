package cli

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/ciprovider"
)

// gitSecret is what actions/checkout leaves in .git/config: the job's token.
const gitSecret = "c2VjcmV0LXRva2Vu"

// hostileProject is the quick-start project with a .git/config holding a
// token, as a checkout leaves it, and a file outside the repository that
// holds it too.
func hostileProject(t *testing.T) (dir, outside string) {
	t.Helper()
	dir = quickstart(t)
	writeFile(t, filepath.Join(dir, ".git", "config"),
		"[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic "+gitSecret+"\n")
	outside = filepath.Join(filepath.Dir(dir), "outside.csv")
	writeFile(t, outside, "secret\n"+gitSecret+"\n")
	return dir, outside
}

func replaceInConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	cfg, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), old) {
		t.Fatalf("mlci.yaml has no %q", old)
	}
	writeFile(t, filepath.Join(dir, "mlci.yaml"), strings.Replace(string(cfg), old, new, 1))
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Files that mlci.yaml names are the pull request author's to choose; what
// mlci reads from them goes into the report, the comment and the step
// summary. None may lead outside the repository or into .git/.
func TestInputFilesStayInRepository(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, outside string)
		args  []string
		want  string
	}{
		{"metrics file linked to .git/config", func(t *testing.T, dir, _ string) {
			symlink(t, ".git/config", filepath.Join(dir, "leak.csv"))
			replaceInConfig(t, dir, "- metrics.json", "- leak.csv")
		}, []string{"metrics", "show"}, "leak.csv leads into .git/"},
		{"metrics file in .git", func(t *testing.T, dir, _ string) {
			writeFile(t, filepath.Join(dir, ".git", "leak.csv"), "x\n"+gitSecret+"\n")
			replaceInConfig(t, dir, "- metrics.json", "- .git/leak.csv")
		}, []string{"metrics", "show"}, ".git/leak.csv leads into .git/"},
		{"params file linked to .git/config", func(t *testing.T, dir, _ string) {
			symlink(t, ".git/config", filepath.Join(dir, "params.yaml"))
		}, []string{"params", "diff", "--baseline", "baseline/params.yaml"}, "params.yaml leads into .git/"},
		{"params file linked to .git/config, for the run record", func(t *testing.T, dir, _ string) {
			symlink(t, ".git/config", filepath.Join(dir, "params.csv"))
			replaceInConfig(t, dir, "- params.yaml", "- params.csv")
		}, []string{"run", "record", "--subject", "metrics.json"}, "params file params.csv leads into .git/"},
		{"per-example scores linked to .git/config", func(t *testing.T, dir, _ string) {
			symlink(t, "../.git/config", filepath.Join(dir, "eval", "per_example.csv"))
		}, []string{"gate", "--baseline", "baseline/metrics.json"}, "eval/per_example.csv leads into .git/"},
		{"absolute path", func(t *testing.T, dir, outside string) {
			replaceInConfig(t, dir, "- metrics.json", "- "+outside)
		}, []string{"metrics", "show"}, "is an absolute path"},
		{"path with ..", func(t *testing.T, dir, _ string) {
			replaceInConfig(t, dir, "- metrics.json", "- ../outside.csv")
		}, []string{"metrics", "show"}, `../outside.csv has ".."`},
		{"link out of the repository", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "leak.csv"))
			replaceInConfig(t, dir, "- metrics.json", "- leak.csv")
		}, []string{"metrics", "show"}, "leak.csv leads outside the repository"},
		{"link to a directory that leads out", func(t *testing.T, dir, outside string) {
			symlink(t, filepath.Dir(outside), filepath.Join(dir, "up"))
			replaceInConfig(t, dir, "- metrics.json", "- up/outside.csv")
		}, []string{"metrics", "show"}, "up/outside.csv leads outside the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := hostileProject(t)
			tt.setup(t, dir, outside)
			r := run(t, nil, append([]string{"-C", dir}, tt.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d stderr %q; want exit 2 and one line containing %q", r.code, r.stderr, tt.want)
			}
			if strings.Contains(r.stdout+r.stderr, gitSecret) {
				t.Errorf("the secret was printed:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// A link inside the repository to another file inside it is fine.
func TestInputFileLinkInsideRepository(t *testing.T) {
	dir := quickstart(t)
	if err := os.Rename(filepath.Join(dir, "metrics.json"), filepath.Join(dir, "eval", "metrics.json")); err != nil {
		t.Fatal(err)
	}
	symlink(t, "eval/metrics.json", filepath.Join(dir, "metrics.json"))
	if r := run(t, nil, "-C", dir, "metrics", "show"); r.code != ExitOK || !strings.Contains(r.stdout, "eval.val.accuracy") {
		t.Errorf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// At a base commit, a metrics file that is a symbolic link is refused: git
// gives the link's text, and following it would read the work tree.
func TestBaseInputFileLinkRefused(t *testing.T) {
	dir, _ := hostileProject(t)
	if err := os.RemoveAll(filepath.Join(dir, ".git")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, ".git", "leak.json"), `{"secret": "`+gitSecret+`"}`)
	metrics, _ := os.ReadFile(filepath.Join(dir, "metrics.json"))
	symlink(t, ".git/leak.json", filepath.Join(dir, "metrics.json"))
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	git(t, dir, "checkout", "-q", "-b", "feature")
	if err := os.Remove(filepath.Join(dir, "metrics.json")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "metrics.json"), string(metrics))
	git(t, dir, "commit", "-q", "-am", "head")
	r := run(t, nil, "-C", dir, "metrics", "diff", "--base", "main")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "metrics.json is a symbolic link at") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exit %d stderr %q; want exit 2 and one line saying the base file is a link", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, gitSecret) {
		t.Errorf("the secret was printed:\n%s%s", r.stdout, r.stderr)
	}
}

// The runner names an input INPUT_ plus its upper-cased name with dashes
// kept; these are the names of action.yml's inputs as a step receives them.
func TestActionArgs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"defaults", map[string]string{}, []string{"-C", ".", "ci"}},
		{"working directory and command", map[string]string{"INPUT_WORKING-DIRECTORY": "ml", "INPUT_COMMAND": "data check"}, []string{"-C", "ml", "data", "check"}},
		{"config", map[string]string{"INPUT_CONFIG": "ci/mlci.yaml", "INPUT_COMMAND": "gate --base main"}, []string{"-C", ".", "--config", "ci/mlci.yaml", "gate", "--base", "main"}},
		{"command split on any white space", map[string]string{"INPUT_COMMAND": " data\thash\n--algo sha256 "}, []string{"-C", ".", "data", "hash", "--algo", "sha256"}},
		{"underscore name is not the input", map[string]string{"INPUT_WORKING_DIRECTORY": "ml"}, []string{"-C", ".", "ci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"GITHUB_ACTIONS": "true"}
			maps.Copy(env, tt.env)
			ci := ciprovider.Detect(func(k string) string { return env[k] }, ciprovider.Options{Stdout: io.Discard})
			if got := actionArgs(ci); !slices.Equal(got, tt.want) {
				t.Errorf("actionArgs = %q, want %q", got, tt.want)
			}
		})
	}
}

// `mlci action` runs what the inputs say, and the flag inputs reach the
// command that has the flag, all under the runner's names.
func TestActionCommand(t *testing.T) {
	dir := quickstart(t)
	failing := quickstart(t)
	writeFile(t, filepath.Join(failing, "metrics.json"), `{"eval": {"val": {"accuracy": 0.5, "loss": 0.39, "macro_f1": 0.97}}}`)
	tests := []struct {
		name     string
		env      map[string]string
		wantCode int
		wantOut  string // in stdout, or in stderr when the run fails
	}{
		{"data check in the working directory", map[string]string{"INPUT_WORKING-DIRECTORY": dir, "INPUT_COMMAND": "data check"}, ExitOK, "ok  digits"},
		{"config input", map[string]string{"INPUT_WORKING-DIRECTORY": dir, "INPUT_CONFIG": "mlci.yaml", "INPUT_COMMAND": "--json data check -q"}, ExitOK, `"ok": true`},
		{"failing gate fails", map[string]string{"INPUT_WORKING-DIRECTORY": failing, "INPUT_COMMAND": "ci --forge local --baseline baseline/metrics.json", "INPUT_COMMENT-MODE": "off"}, 1, "FAIL"},
		{"fail-on-gate false", map[string]string{"INPUT_WORKING-DIRECTORY": failing, "INPUT_COMMAND": "ci --forge local --baseline baseline/metrics.json", "INPUT_COMMENT-MODE": "off", "INPUT_FAIL-ON-GATE": "false"}, ExitOK, "FAIL"},
		{"bad fail-on-gate is a usage error", map[string]string{"INPUT_WORKING-DIRECTORY": dir, "INPUT_COMMAND": "ci", "INPUT_FAIL-ON-GATE": "maybe"}, ExitUsage, "maybe"},
		{"unknown command", map[string]string{"INPUT_WORKING-DIRECTORY": dir, "INPUT_COMMAND": "nope"}, ExitUsage, "nope"},
		{"no recursion", map[string]string{"INPUT_COMMAND": "action"}, ExitUsage, `cannot be "action"`},
		{"outside Actions", map[string]string{"GITHUB_ACTIONS": "", "INPUT_COMMAND": "version"}, ExitUsage, "runs as a GitHub Actions step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"GITHUB_ACTIONS": "true", "HOME": t.TempDir()}
			maps.Copy(env, tt.env)
			r := run(t, env, "action")
			out := r.stdout
			if r.code != ExitOK {
				out += r.stderr
			}
			if r.code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, output %q%q; want exit %d containing %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantOut)
			}
		})
	}
}
