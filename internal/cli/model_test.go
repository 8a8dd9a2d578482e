package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

// registryRepo makes a project with a model, committed, with a bare
// remote as origin, as a CI checkout has.
func registryProject(t *testing.T) (dir, remote string) {
	dir = quickstart(t)
	cfg, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"models:\n  - name: digits\n    artifact: model/knn.bin\n")
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v1")
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "model v1")
	remote = filepath.Join(t.TempDir(), "remote.git")
	git(t, filepath.Dir(remote), "clone", "-q", "--bare", dir, remote)
	git(t, dir, "remote", "add", "origin", remote)
	return dir, remote
}

func remoteTags(t *testing.T, remote string) string {
	out, err := exec.Command("git", "-C", remote, "tag", "-l").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestModelLifecycle(t *testing.T) {
	dir, remote := registryProject(t)
	env := map[string]string{"GITHUB_ACTOR": "alice"}
	mlci := func(args ...string) result {
		return run(t, env, append([]string{"-C", dir}, args...)...)
	}
	baseline := []string{"--baseline", "baseline/metrics.json"}
	if r := mlci(append([]string{"model", "register", "digits"}, baseline...)...); r.code != ExitOK || !strings.Contains(r.stdout, "registered digits v0.0.1") {
		t.Fatalf("register: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := mlci("promote", "digits", "--to", "staging"); r.code != ExitFailed || !strings.Contains(r.stderr, "must hold dev first") {
		t.Fatalf("skipping dev: exit %d %s", r.code, r.stderr)
	}
	for _, stage := range []string{"dev", "staging"} {
		if r := mlci("promote", "digits", "--to", stage); r.code != ExitOK {
			t.Fatalf("promote %s: exit %d %s", stage, r.code, r.stderr)
		}
	}
	// A second version goes through too, then staging is rolled back.
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v2")
	git(t, dir, "commit", "-q", "-am", "model v2")
	if r := mlci(append([]string{"model", "register", "digits", "--bump", "minor"}, baseline...)...); r.code != ExitOK || !strings.Contains(r.stdout, "v0.1.0") {
		t.Fatalf("register v0.1.0: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	for _, stage := range []string{"dev", "staging"} {
		if r := mlci("promote", "digits", "--to", stage); r.code != ExitOK {
			t.Fatalf("promote v0.1.0 to %s: exit %d %s", stage, r.code, r.stderr)
		}
	}
	if r := mlci("rollback", "digits", "--stage", "staging"); r.code != ExitOK || !strings.Contains(r.stdout, "rolled back digits v0.0.1 to staging") {
		t.Fatalf("rollback: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	tags := remoteTags(t, remote)
	for _, want := range []string{"digits@v0.0.1", "digits@v0.1.0", "digits#dev#1", "digits#staging#2", "digits#dev#3", "digits#staging#4", "digits#staging#5"} {
		if !strings.Contains(tags, want+"\n") {
			t.Errorf("remote lacks tag %s; has:\n%s", want, tags)
		}
	}
	show := mlci("--json", "model", "show", "digits")
	var rows []struct {
		Model, Latest, Digest string
		Stages                map[string]struct{ Version string }
	}
	if err := json.Unmarshal([]byte(show.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, show.stdout)
	}
	if len(rows) != 1 || rows[0].Latest != "v0.1.0" || rows[0].Stages["staging"].Version != "v0.0.1" || rows[0].Stages["dev"].Version != "v0.1.0" || !strings.HasPrefix(rows[0].Digest, "sha256:") {
		t.Errorf("show = %+v", rows)
	}
	// The metrics recorded for the version in staging are a baseline.
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.99, "loss": 0.3902, "macro_f1": 0.9713}}, "train": {"accuracy": 0.8429, "loss": 0.494, "macro_f1": 0.8509}}`)
	diff := mlci("metrics", "diff", "--baseline", "digits#staging")
	if diff.code != ExitOK || !strings.Contains(diff.stdout, "digits#staging (v0.0.1 in staging)") || !strings.Contains(diff.stdout, "0.9714") || !strings.Contains(diff.stdout, "0.99") {
		t.Errorf("metrics diff --baseline digits#staging: exit %d\n%s%s", diff.code, diff.stdout, diff.stderr)
	}
	if bad := mlci("gate", "--baseline", "digits#production"); bad.code != ExitUsage || !strings.Contains(bad.stderr, "no version of digits is in production") {
		t.Errorf("empty stage: exit %d %s", bad.code, bad.stderr)
	}
	hist := mlci("model", "history", "digits")
	if strings.Count(hist.stdout, "assignment") != 5 || strings.Count(hist.stdout, "registration") != 2 {
		t.Errorf("history:\n%s", hist.stdout)
	}
}

func TestModelBadInput(t *testing.T) {
	dir, _ := registryProject(t)
	tests := []struct {
		name    string
		setup   func()
		args    []string
		code    int
		wantErr string
	}{
		{"unknown model", nil, []string{"model", "register", "digit"}, ExitUsage, `no model "digit" in mlci.yaml; did you mean "digits"?`},
		{"unknown stage", nil, []string{"promote", "digits", "--to", "prod"}, ExitUsage, "has no stage \"prod\" (stages: dev, staging, production)"},
		{"nothing registered", nil, []string{"promote", "digits", "--to", "dev"}, ExitUsage, "no versions of digits are registered"},
		{"bad version", nil, []string{"model", "register", "digits", "--version", "1.0"}, ExitUsage, "not semver"},
		{"dirty tree", func() { writeFile(t, filepath.Join(dir, "model", "knn.bin"), "uncommitted") }, []string{"model", "register", "digits"}, ExitUsage, "uncommitted changes (model/knn.bin)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			r := run(t, nil, append([]string{"-C", dir}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d stderr %q; want %d containing %q", r.code, r.stderr, tt.code, tt.wantErr)
			}
		})
	}
}

func TestCIReleasesOnMerge(t *testing.T) {
	dir, remote := registryProject(t)
	api := githubfake.New(t)
	api.AddToken("tok", "github-actions", true, false)
	api.AddRepo("o", "r")
	env := githubEnv(t, api, "tok")
	writeFile(t, env["GITHUB_EVENT_PATH"], `{"repository": {"default_branch": "main"}, "after": "x"}`)
	env["GITHUB_EVENT_NAME"] = "push"
	env["GITHUB_REF"] = "refs/heads/main"
	args := []string{"-C", dir, "ci", "--baseline", "baseline/metrics.json"}
	r := run(t, env, args...)
	if r.code != ExitOK || !strings.Contains(r.stdout, "released digits v0.0.1 to dev (digits#dev#1, sha256:") {
		t.Fatalf("merge run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if tags := remoteTags(t, remote); !strings.Contains(tags, "digits@v0.0.1\n") || !strings.Contains(tags, "digits#dev#1\n") {
		t.Errorf("remote tags:\n%s", tags)
	}
	deps := api.Deployments("o", "r")
	if len(deps) != 1 || deps[0].Environment != "dev" {
		t.Fatalf("deployments = %+v", deps)
	}
	if st := api.DeploymentStatuses("o", "r", deps[0].ID); len(st) == 0 || st[len(st)-1].State != "success" {
		t.Errorf("deployment statuses = %+v", st)
	}
	outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	for _, want := range []string{"model", "digits", "version", "v0.0.1", "stage", "dev", "artifact-path", "model/knn.bin"} {
		if !strings.Contains(string(outputs), want) {
			t.Errorf("outputs lack %q", want)
		}
	}
	// Re-running the job registers and promotes nothing new.
	again := run(t, env, args...)
	if again.code != ExitOK || strings.Count(remoteTags(t, remote), "\n") != 2 {
		t.Errorf("re-run: exit %d, tags:\n%s", again.code, remoteTags(t, remote))
	}
	// A pull request run releases nothing.
	pr := githubEnv(t, api, "tok")
	api.AddPullRequest("o", "r", 7, "headsha", "open")
	if r := run(t, pr, args...); r.code != ExitOK || strings.Contains(r.stdout, "released") {
		t.Errorf("PR run: exit %d\n%s", r.code, r.stdout)
	}
}

func TestModelArtifactStore(t *testing.T) {
	dir, _ := registryProject(t)
	cfg, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"artifact_store: oci-layout:store\n")
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("store/\n"), 0o644)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "store")
	mlci := func(args ...string) result { return run(t, nil, append([]string{"-C", dir}, args...)...) }
	if r := mlci("model", "register", "digits", "--baseline", "baseline/metrics.json"); r.code != ExitOK {
		t.Fatalf("register: %d %s", r.code, r.stderr)
	}
	if r := mlci("promote", "digits", "--to", "dev"); r.code != ExitOK {
		t.Fatalf("promote: %d %s", r.code, r.stderr)
	}
	out := t.TempDir()
	r := mlci("model", "pull", "digits#dev", "-o", out)
	if r.code != ExitOK || !strings.Contains(r.stdout, "pulled digits#dev (sha256:") {
		t.Fatalf("pull: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "knn.bin")); string(got) != "weights v1" {
		t.Errorf("pulled artifact = %q", got)
	}
	if r := mlci("model", "pull", "digits@v0.0.1", "-o", t.TempDir()); r.code != ExitOK {
		t.Errorf("pull by version: %d %s", r.code, r.stderr)
	}
	if r := mlci("model", "pull", "digits#production", "-o", t.TempDir()); r.code != ExitUsage || !strings.Contains(r.stderr, "no version of digits is in production") {
		t.Errorf("pull of an empty stage: %d %s", r.code, r.stderr)
	}
	show := mlci("--json", "model", "history", "digits")
	if !strings.Contains(show.stdout, `"oci_manifest": "sha256:`) {
		t.Errorf("the registration record lacks the manifest:\n%s", show.stdout)
	}
}

// snakeKeys reports the keys of v's JSON objects that are not snake_case;
// the values of keys in maps are user names (stages, metrics, datasets),
// so their keys are not checked.
func snakeKeys(v any, path string, bad *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			for _, c := range k {
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
					*bad = append(*bad, path+"."+k)
					break
				}
			}
			if k == "stages" || k == "metrics" || k == "data_roots" {
				if m, ok := val.(map[string]any); ok {
					for name, sub := range m {
						snakeKeys(sub, path+"."+k+"["+name+"]", bad)
					}
					continue
				}
			}
			snakeKeys(val, path+"."+k, bad)
		}
	case []any:
		for i, e := range x {
			snakeKeys(e, fmt.Sprintf("%s[%d]", path, i), bad)
		}
	}
}

func TestModelJSONIsSnakeCase(t *testing.T) {
	dir, _ := registryProject(t)
	mlci := func(args ...string) result { return run(t, nil, append([]string{"-C", dir}, args...)...) }
	if r := mlci("model", "register", "digits", "--baseline", "baseline/metrics.json"); r.code != ExitOK {
		t.Fatalf("register: %d %s", r.code, r.stderr)
	}
	if r := mlci("promote", "digits", "--to", "dev"); r.code != ExitOK {
		t.Fatalf("promote: %d %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"model", "show"}, {"model", "show", "digits"}, {"model", "history", "digits"}} {
		r := mlci(append([]string{"--json"}, args...)...)
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, r.stdout)
		}
		var bad []string
		snakeKeys(v, "", &bad)
		if len(bad) > 0 {
			t.Errorf("%v: keys not in snake_case: %v\n%s", args, bad, r.stdout)
		}
	}
	var rows []struct {
		Stages map[string]struct {
			Version string `json:"version"`
			Tag     string `json:"tag"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(mlci("--json", "model", "show").stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Stages["dev"].Version != "v0.0.1" || rows[0].Stages["dev"].Tag != "digits#dev#1" {
		t.Errorf("show --json = %+v", rows)
	}
}

func TestModelOneVersionPerCommit(t *testing.T) {
	dir, remote := registryProject(t)
	mlci := func(args ...string) result { return run(t, nil, append([]string{"-C", dir}, args...)...) }
	if r := mlci("model", "register", "digits", "--baseline", "baseline/metrics.json"); r.code != ExitOK {
		t.Fatalf("register: %d %s", r.code, r.stderr)
	}
	r := mlci("model", "register", "digits", "--version", "v0.0.9", "--baseline", "baseline/metrics.json")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "digits is already registered at commit") || !strings.Contains(r.stderr, "with version v0.0.1") {
		t.Errorf("second version on HEAD: exit %d %s", r.code, r.stderr)
	}
	if tags := remoteTags(t, remote); strings.Contains(tags, "v0.0.9") {
		t.Errorf("remote tags: %s", tags)
	}
}

func TestModelDeprecated(t *testing.T) {
	dir, _ := registryProject(t)
	mlci := func(args ...string) result { return run(t, nil, append([]string{"-C", dir}, args...)...) }
	if r := mlci("model", "register", "digits", "--baseline", "baseline/metrics.json"); r.code != ExitOK {
		t.Fatalf("register: %d %s", r.code, r.stderr)
	}
	// GTO's deprecation, dated after the registration, pushed to origin.
	cmd := exec.Command("git", "tag", "-a", "digits@deprecated", "HEAD", "-m", "Deprecating artifact digits")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_COMMITTER_DATE="+time.Now().Add(time.Minute).Format(time.RFC3339))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	git(t, dir, "push", "-q", "origin", "refs/tags/digits@deprecated")

	if r := mlci("model", "show"); r.code != ExitOK || strings.Contains(r.stdout, "digits") {
		t.Errorf("show lists a deprecated model: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := mlci("model", "show", "--deprecated"); r.code != ExitOK || !strings.Contains(r.stdout, "digits (deprecated)") {
		t.Errorf("show --deprecated: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := mlci("model", "show", "digits"); r.code != ExitUsage || !strings.Contains(r.stderr, "digits is deprecated") {
		t.Errorf("show digits: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("promote", "digits", "--to", "dev"); r.code != ExitUsage || !strings.Contains(r.stderr, "digits is deprecated") {
		t.Errorf("promote of a deprecated model: exit %d %s", r.code, r.stderr)
	}
}

// TestModelRegisterFailedPush: a push the remote refuses leaves no tag,
// and the next register takes the same version.
func TestModelRegisterFailedPush(t *testing.T) {
	dir, remote := registryProject(t)
	mlci := func(args ...string) result { return run(t, nil, append([]string{"-C", dir}, args...)...) }
	hook := filepath.Join(remote, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho refused >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := mlci("model", "register", "digits", "--baseline", "baseline/metrics.json"); r.code == ExitOK {
		t.Fatalf("register through a refusing remote: exit 0\n%s", r.stdout)
	}
	out, err := exec.Command("git", "-C", dir, "tag", "-l").Output()
	if err != nil || len(out) > 0 {
		t.Fatalf("local tags after the failed push: %q %v", out, err)
	}
	os.Remove(hook)
	if r := mlci("model", "register", "digits", "--baseline", "baseline/metrics.json"); r.code != ExitOK || !strings.Contains(r.stdout, "registered digits v0.0.1") {
		t.Errorf("next register: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
}
