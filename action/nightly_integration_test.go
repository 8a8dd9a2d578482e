//go:build integration

package action

import (
	"fmt"
	"math/rand/v2"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// TestNightlyDriftWithAct runs the README's nightly workflow (testdata/act/
// nightly.yml) with nektos/act on a schedule event, three nights against
// the fake GitHub API and a git remote served over HTTP, as a fresh
// checkout each night sees it: night 1 drifts, opens the model's drift
// issue, retrains and opens one refit pull request; night 2 drifts again
// and updates both, creating nothing; night 3's data is like the training
// data, and the issue is closed.
func TestNightlyDriftWithAct(t *testing.T) {
	act, image, dockerHost, _, _ := actRig(t)
	mlci := filepath.Join(t.TempDir(), "mlci")
	if out, err := exec.Command("go", "build", "-o", mlci, "../cmd/mlci").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	release := releaseOfThisTree(t)

	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS("../testdata/quickstart")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(ws, "mlci-report.md"))
	os.MkdirAll(filepath.Join(ws, "mlci-action"), 0o755)
	if err := os.CopyFS(filepath.Join(ws, "mlci-action", "setup"), os.DirFS("../setup")); err != nil {
		t.Fatal(err)
	}
	workflow, err := os.ReadFile("../testdata/act/nightly.yml")
	if err != nil {
		t.Fatal(err)
	}
	const name = "\nname: nightly\n"
	if !strings.Contains(string(workflow), name) {
		t.Fatalf("nightly.yml lacks %q, which the test makes unique to the run", name)
	}
	text := strings.Replace(string(workflow), name, "\nname: nightly-"+dockertest.RunID()+"\n", 1)
	os.MkdirAll(filepath.Join(ws, ".github", "workflows"), 0o755)
	os.WriteFile(filepath.Join(ws, ".github", "workflows", "nightly.yml"), []byte(text), 0o644)
	cfg, err := os.ReadFile(filepath.Join(ws, "mlci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, "models:\n  - name: churn\n    artifact: model/churn.bin\n    profile: {data: [data/train.csv], target: churned, exclude: [id]}\n    stages: [{name: production}]\n"...)
	os.WriteFile(filepath.Join(ws, "mlci.yaml"), cfg, 0o644)
	os.MkdirAll(filepath.Join(ws, "model"), 0o755)
	os.WriteFile(filepath.Join(ws, "model", "churn.bin"), []byte("weights v1"), 0o644)
	writeChurn(t, filepath.Join(ws, "data", "train.csv"), 1, 0, 0.3)
	gitInit(t, ws)

	// The remote, over HTTP as a forge serves it, so the job container
	// (on the host's network) fetches the registry's tags and pushes the
	// refit branch to it.
	remoteRoot := t.TempDir()
	gitRun(t, remoteRoot, "clone", "-q", "--bare", ws, "repo.git")
	gitRun(t, filepath.Join(remoteRoot, "repo.git"), "config", "http.receivepack", "true")
	remote := httptest.NewServer(&cgi.Handler{
		Path: "/usr/lib/git-core/git-http-backend",
		Env:  []string{"GIT_PROJECT_ROOT=" + remoteRoot, "GIT_HTTP_EXPORT_ALL=1"},
	})
	t.Cleanup(remote.Close)
	if _, err := os.Stat("/usr/lib/git-core/git-http-backend"); err != nil {
		t.Skipf("git http-backend: %v", err)
	}
	gitRun(t, ws, "remote", "add", "origin", remote.URL+"/repo.git")
	for _, args := range [][]string{{"model", "register", "churn", "--baseline", "baseline/metrics.json"}, {"promote", "churn", "--to", "production"}} {
		cmd := exec.Command(mlci, append([]string{"-C", ws}, args...)...)
		cmd.Env = append(gitEnv(), "HOME="+t.TempDir(), "PATH="+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mlci %v: %v\n%s", args, err, out)
		}
	}

	api := githubfake.New(t)
	const token = "ghs_nightly_app_token"
	api.AddToken(token, "mlci-app[bot]", true, true)
	api.AddRepo("o", "r")
	event := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(event, []byte(`{"schedule": "0 3 * * *", "repository": {"default_branch": "main"}}`), 0o644)
	night := func(n int, shift, proShare float64, accuracy string) string {
		t.Helper()
		writeChurn(t, filepath.Join(ws, "night.csv"), uint64(n+1), shift, proShare)
		cmd := exec.Command(act, "schedule", "-e", event,
			"-P", "ubuntu-latest="+image, "--pull=false", "--rm", "--container-daemon-socket", "-",
			"--env", "GITHUB_API_URL="+api.URL(), "--env", "GITHUB_REPOSITORY=o/r",
			"--env", "MLCI_DOWNLOAD_URL="+release.URL+"/download", "--env", "MLCI_API_URL="+release.URL+"/api",
			"--env", "NIGHT_ACCURACY="+accuracy,
			"-s", "MLCI_APP_TOKEN="+token)
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_HOST="+dockerHost)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("night %d: act: %v\n%s", n, err, out)
		}
		return string(out)
	}
	issue := func() (int, bool, string) {
		is := api.Issues("o", "r")
		if len(is) == 0 {
			return 0, false, ""
		}
		return len(is), is[0].State == "open", is[0].Body
	}

	out := night(1, 0.8, 0.6, "0.97")
	if n, open, body := issue(); n != 1 || !open || !strings.Contains(body, "| age |") {
		t.Fatalf("after night 1: %d issues, open %v, body:\n%s\n%s", n, open, body, out)
	}
	prs := api.PullRequests("o", "r")
	if len(prs) != 1 {
		t.Fatalf("after night 1: %d pull requests\n%s", len(prs), out)
	}
	branch := gitOut(t, filepath.Join(remoteRoot, "repo.git"), "rev-parse", "refs/heads/mlci/refit/churn")
	if got := gitOut(t, filepath.Join(remoteRoot, "repo.git"), "show", "refs/heads/mlci/refit/churn:metrics.json"); !strings.Contains(got, "0.97") {
		t.Errorf("the refit branch's metrics.json is %s", got)
	}

	out = night(2, 0.8, 0.6, "0.98")
	if n, open, _ := issue(); n != 1 || !open || len(api.PullRequests("o", "r")) != 1 {
		t.Fatalf("after night 2: %d issues (open %v) and %d pull requests, want 1 and 1\n%s", n, open, len(api.PullRequests("o", "r")), out)
	}
	if again := gitOut(t, filepath.Join(remoteRoot, "repo.git"), "rev-parse", "refs/heads/mlci/refit/churn"); again == branch {
		t.Errorf("night 2 did not update the refit branch\n%s", out)
	}

	out = night(3, 0, 0.3, "0.99")
	if n, open, _ := issue(); n != 1 || open {
		t.Fatalf("after night 3: %d issues, open %v; want the one issue closed\n%s", n, open, out)
	}
	if strings.Contains(out, "refit") && strings.Contains(out, "mlci refit churn") && strings.Contains(out, "created") {
		t.Errorf("night 3 refitted without drift:\n%s", out)
	}
}

// writeChurn writes 3,000 rows of a churn-like table: age (normal, mean
// shifted by shift standard deviations), plan ("pro" taking proShare) and
// churned, the target.
func writeChurn(t *testing.T, file string, seed uint64, shift, proShare float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	b.WriteString("id,age,plan,churned\n")
	for i := range 3000 {
		plan := "basic"
		switch u := rng.Float64(); {
		case u < proShare:
			plan = "pro"
		case u < proShare+0.2:
			plan = "team"
		}
		fmt.Fprintf(&b, "%d,%.2f,%s,%d\n", i, 40+10*(rng.NormFloat64()+shift), plan, rng.IntN(2))
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitEnv() []string {
	return []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null"}
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	gitOut(t, dir, args...)
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
