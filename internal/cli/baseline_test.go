package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

// regressed is the quick start's metrics with the validation loss far above
// the loss gate's max_rise: 0.05.
const regressed = `{"eval": {"val": {"accuracy": 0.9714, "loss": 0.9, "macro_f1": 0.9713}}, "train": {"accuracy": 0.8429, "loss": 0.494, "macro_f1": 0.8509}}`

// A base commit without the metrics file is no baseline: the relative
// gates say so and fail, unless the rule says missing_base: warn or pass.
func TestGateWithoutBaseline(t *testing.T) {
	dir := quickstart(t)
	metricsJSON, _ := os.ReadFile(filepath.Join(dir, "metrics.json"))
	os.Remove(filepath.Join(dir, "metrics.json"))
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "no metrics yet")
	git(t, dir, "checkout", "-q", "-b", "feature")
	writeFile(t, filepath.Join(dir, "metrics.json"), string(metricsJSON))
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first metrics")

	r := run(t, nil, "-C", dir, "gate")
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want 1: %s\n%s", r.code, r.stderr, r.stdout)
	}
	want := "FAIL loss (mlci.yaml line 31): no baseline value: metrics.json is not at the baseline, merge base with main ("
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "set missing_base: warn or pass on the rule") {
		t.Errorf("gate output lacks %q:\n%s", want, r.stdout)
	}
	rep := run(t, nil, "-C", dir, "report")
	if !strings.Contains(rep.stdout, "- **loss** (`mlci.yaml` line 31): no baseline value: metrics.json is not at the baseline") {
		t.Errorf("the report does not say why loss failed:\n%s", rep.stdout)
	}

	cfg, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	s := strings.Replace(string(cfg), "max_rise: 0.05\n", "max_rise: 0.05\n    missing_base: warn\n", 1)
	s = strings.Replace(s, "max_drop: 1%\n", "max_drop: 1%\n    missing_base: pass\n", 1)
	writeFile(t, filepath.Join(dir, "mlci.yaml"), s)
	r = run(t, nil, "-C", dir, "gate")
	if r.code != ExitOK || !strings.Contains(r.stdout, "WARN loss (mlci.yaml line 32): no baseline value") || !strings.Contains(r.stdout, "gates: 2 passed, 0 failed, 2 warned") {
		t.Errorf("with missing_base: exit %d %s\n%s", r.code, r.stderr, r.stdout)
	}
}

// pushEnvs are a push to the default branch on each forge.
func pushEnvs(t *testing.T) map[string]map[string]string {
	event := filepath.Join(t.TempDir(), "event.json")
	writeFile(t, event, `{"repository": {"default_branch": "main"}}`)
	return map[string]map[string]string{
		"github": {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": event},
		"gitlab": {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"},
	}
}

// A regression pushed to main is compared with the commit before it, not
// with HEAD itself (the merge base of main and main).
func TestCIOnPushComparesWithParent(t *testing.T) {
	for name, env := range pushEnvs(t) {
		t.Run(name, func(t *testing.T) {
			dir := quickstart(t)
			git(t, dir, "init", "-q", "-b", "main")
			git(t, dir, "add", ".")
			git(t, dir, "commit", "-q", "-m", "quickstart")
			writeFile(t, filepath.Join(dir, "metrics.json"), regressed)
			git(t, dir, "commit", "-q", "-am", "regression")

			r := run(t, env, "-C", dir, "ci", "--forge", "local")
			if r.code != ExitFailed || !strings.Contains(r.stdout, "FAIL loss (mlci.yaml line 31): rose by 0.5098") {
				t.Fatalf("exit %d, want 1 with the loss gate failed: %s\n%s", r.code, r.stderr, r.stdout)
			}
			md, _ := os.ReadFile(filepath.Join(dir, "mlci-report.md"))
			if !strings.Contains(string(md), "Baseline: first parent of HEAD (") {
				t.Errorf("the report does not say what it compared with:\n%s", md)
			}
			j := run(t, env, "-C", dir, "--json", "ci", "--forge", "local")
			var doc ciResult
			if err := json.Unmarshal([]byte(withoutCommands(j.stdout)), &doc); err != nil {
				t.Fatalf("%v\n%s", err, j.stdout)
			}
			if doc.Pass || doc.Baseline == nil || doc.Baseline.Kind != "parent" || len(doc.Baseline.Rev) != 40 {
				t.Errorf("ci --json: pass %v, baseline %+v", doc.Pass, doc.Baseline)
			}
		})
	}
}

// A push is compared with the version in the model's on: merge stage when
// there is one: a regression that landed in an earlier push that nobody
// released is still caught by the next push.
func TestCIOnPushComparesWithStageHolder(t *testing.T) {
	dir, remote := registryProject(t)
	api := githubfake.New(t)
	api.AddToken("tok", "github-actions", true, false)
	api.AddRepo("o", "r")
	env := githubEnv(t, api, "tok")
	writeFile(t, env["GITHUB_EVENT_PATH"], `{"repository": {"default_branch": "main"}, "after": "x"}`)
	env["GITHUB_EVENT_NAME"] = "push"
	env["GITHUB_REF"] = "refs/heads/main"

	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v2")
	git(t, dir, "commit", "-q", "-am", "model v2")
	r := run(t, env, "-C", dir, "ci")
	if r.code != ExitOK || !strings.Contains(r.stdout, "released digits v0.0.1 to dev") {
		t.Fatalf("first push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	writeFile(t, filepath.Join(dir, "metrics.json"), regressed)
	git(t, dir, "commit", "-q", "-am", "regression, never released")
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v3")
	git(t, dir, "commit", "-q", "-am", "model v3")
	r = run(t, env, "-C", dir, "--json", "ci")
	var doc ciResult
	if err := json.Unmarshal([]byte(withoutCommands(r.stdout)), &doc); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	if r.code != ExitFailed || doc.Pass || len(doc.Released) != 0 {
		t.Errorf("push after an unreleased regression: exit %d, pass %v, released %+v", r.code, doc.Pass, doc.Released)
	}
	if doc.Baseline == nil || doc.Baseline.Kind != "stage" || !strings.HasPrefix(doc.Baseline.Name, "digits#dev v0.0.1 (") {
		t.Errorf("baseline = %+v, want the version in dev", doc.Baseline)
	}
	if tags := remoteTags(t, remote); strings.Contains(tags, "v0.0.2") {
		t.Errorf("the regression was released:\n%s", tags)
	}
}

// withoutCommands drops the GitHub workflow commands (::add-mask::,
// ::error ...::) that share stdout with --json output in Actions.
func withoutCommands(stdout string) string {
	var keep []string
	for _, line := range strings.SplitAfter(stdout, "\n") {
		if !strings.HasPrefix(line, "::") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// The first commit pushed has nothing to compare with: the relative gates
// say so rather than pass.
func TestCIOnPushOfFirstCommit(t *testing.T) {
	dir := quickstart(t)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "quickstart")
	r := run(t, pushEnvs(t)["gitlab"], "-C", dir, "--json", "ci", "--forge", "local")
	var doc ciResult
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	if r.code != ExitFailed || doc.Baseline == nil || doc.Baseline.Kind != "none" || doc.Baseline.Rev != "" {
		t.Fatalf("exit %d, baseline %+v; want 1 and none", r.code, doc.Baseline)
	}
	for _, v := range doc.Gates.Verdicts {
		if v.Rule == "loss" && !strings.HasPrefix(v.Reason, "no baseline value: metrics.json is not at the baseline, none: HEAD is the first commit;") {
			t.Errorf("loss: %s", v.Reason)
		}
	}
}
