package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

// TestRefit: a retrain's changes go to mlci/refit/NAME and one pull
// request; the next run updates both; a run with nothing changed opens
// nothing; the user's checkout is left as it was.
func TestRefit(t *testing.T) {
	dir, remote := registryProject(t)
	api := githubfake.New(t)
	api.AddToken("tok", "github-actions[bot]", true, false)
	api.AddRepo("o", "r")
	env := githubEnv(t, api, "tok")
	writeFile(t, env["GITHUB_EVENT_PATH"], `{"repository": {"default_branch": "main"}}`)
	env["GITHUB_EVENT_NAME"] = "schedule"
	mlci := func(args ...string) result {
		t.Helper()
		return run(t, env, append([]string{"-C", dir}, args...)...)
	}
	branchFiles := func() string {
		t.Helper()
		out, err := exec.Command("git", "-C", remote, "show", "--name-only", "--format=%s", "mlci/refit/digits").Output()
		if err != nil {
			t.Fatalf("the refit branch on the remote: %v", err)
		}
		return string(out)
	}

	if r := mlci("refit", "digits"); r.code != ExitOK || !strings.Contains(r.stdout, "nothing changed") || len(api.PullRequests("o", "r")) != 0 {
		t.Fatalf("refit with nothing changed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The retrain: new metrics, and a source change that is not the refit's.
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.99}}}`)
	writeFile(t, filepath.Join(dir, "notes.txt"), "scratch")
	drift := filepath.Join(dir, "drift.md")
	writeFile(t, drift, "### Drift\n\n| column | psi |\n| --- | --- |\n| age | 0.31 |\n")
	// The forge refuses the first request: the branch is pushed, no
	// request exists, and the re-run makes exactly one.
	api.FailNext("POST", "/repos/o/r/pulls", 403, nil, 1)
	if r := mlci("refit", "digits", "--body-file", "drift.md"); r.code != ExitService || !strings.Contains(r.stderr, "re-run to retry") || len(api.PullRequests("o", "r")) != 0 {
		t.Fatalf("refit with the forge failing: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := mlci("refit", "digits", "--body-file", "drift.md")
	if r.code != ExitOK || !strings.Contains(r.stdout, "refit digits: created") {
		t.Fatalf("first refit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "GITHUB_TOKEN") {
		t.Errorf("no warning that a pull request by github-actions[bot] starts no workflows:\n%s", r.stderr)
	}
	files := branchFiles()
	if !strings.HasPrefix(files, "mlci refit: digits") || !strings.Contains(files, "metrics.json") || strings.Contains(files, "notes.txt") || strings.Contains(files, "drift.md") {
		t.Errorf("the refit commit holds:\n%s", files)
	}
	prs := api.PullRequests("o", "r")
	if len(prs) != 1 || prs[0].Head != "mlci/refit/digits" || prs[0].Base != "main" || !strings.Contains(prs[0].Body, "| age | 0.31 |") || !strings.Contains(prs[0].Body, "`metrics.json`") {
		t.Fatalf("pull requests = %+v", prs)
	}

	// The next night: another change updates the same branch and request.
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.995}}}`)
	if r := mlci("refit", "digits"); r.code != ExitOK || !strings.Contains(r.stdout, "refit digits: updated") {
		t.Fatalf("second refit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if prs := api.PullRequests("o", "r"); len(prs) != 1 {
		t.Errorf("%d pull requests after the second run, want 1", len(prs))
	}
	if out, _ := exec.Command("git", "-C", dir, "status", "--porcelain").Output(); !strings.Contains(string(out), " M metrics.json") {
		t.Errorf("the checkout changed:\n%s", out)
	}
}
