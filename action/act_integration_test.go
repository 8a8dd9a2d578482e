//go:build integration

package action

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// actVersion is the workflow runner the end-to-end test drives.
const actVersion = "github.com/nektos/act@v0.2.89"

// TestWorkflowWithAct runs a real workflow (testdata/act) with nektos/act: a
// pull_request event from a file, checkout, then the action's image against
// the fake GitHub API. It checks what a user would: one sticky comment,
// updated in place on the next run, and a failing gate failing the job.
//
// act names its job container and volumes after the workflow and job
// (act-<workflow>-<job>-<hash>, and -env), and mounts one volume named
// act-toolcache in every run on the engine; it removes the job container
// and its volumes only after a job that passed, unless --rm. So the
// workflow's name holds the run's ID, act runs with --rm, and it talks to
// the engine through a dockertest.Proxy that labels what act makes and
// renames act-toolcache to one of the test's own, which the test's scope
// removes.
func TestWorkflowWithAct(t *testing.T) {
	bin := t.TempDir()
	install := exec.Command("go", "install", actVersion)
	install.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install %s: %v\n%s", actVersion, err, out)
	}
	act := filepath.Join(bin, "act")
	labels := newScope(t)
	image := buildImage(t, labels)
	base := image + "-base" // built by buildImage, used as the runner image
	toolcache := "act-toolcache-" + labels[dockertest.LabelScope]
	dockerHost := dockertest.Proxy(t, labels, map[string]string{"act-toolcache": toolcache})

	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS("../testdata/quickstart")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(ws, "mlci-report.md"))
	workflow, err := os.ReadFile("../testdata/act/ml-checks.yml")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(ws, ".github", "workflows"), 0o755)
	// The workflow's name makes act's container and volume names.
	const name = "\nname: ml-checks\n"
	if !strings.Contains(string(workflow), name) {
		t.Fatalf("ml-checks.yml lacks %q, which the test makes unique to the run", name)
	}
	text := strings.Replace(string(workflow), name, "\nname: ml-checks-"+dockertest.RunID()+"\n", 1)
	os.WriteFile(filepath.Join(ws, ".github", "workflows", "ml-checks.yml"), []byte(strings.ReplaceAll(text, "MLCI_IMAGE", image)), 0o644)
	gitInit(t, ws)
	event := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(event, []byte(`{"pull_request": {"number": 5, "head": {"sha": "headsha"}, "base": {"ref": "main"}}}`), 0o644)

	api := githubfake.New(t)
	const token = "ghs_act_end_to_end_token"
	api.AddToken(token, "github-actions", true, false)
	api.AddRepo("o", "r")
	api.AddPullRequest("o", "r", 5, "headsha", "open")

	runAct := func() (string, error) {
		// --container-daemon-socket -: the job needs no engine, and the
		// proxy's socket is the test's.
		cmd := exec.Command(act, "pull_request", "-e", event,
			"-P", "ubuntu-latest="+base, "--pull=false", "--rm", "--container-daemon-socket", "-",
			"--env", "GITHUB_API_URL="+api.URL(), "--env", "GITHUB_REPOSITORY=o/r",
			"-s", "GITHUB_TOKEN="+token)
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_HOST="+dockerHost)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := runAct()
	if err != nil {
		t.Fatalf("act: %v\n%s", err, out)
	}
	comments := api.Comments("o", "r", 5)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "mlci: checks passed") {
		t.Fatalf("after the first workflow run: %d comments\n%s", len(comments), out)
	}
	// The next push changes a metric: the same comment is edited.
	os.WriteFile(filepath.Join(ws, "metrics.json"), []byte(`{"eval": {"val": {"accuracy": 0.9714, "loss": 0.3, "macro_f1": 0.9713}}}`), 0o644)
	if out, err := runAct(); err != nil {
		t.Fatalf("second act run: %v\n%s", err, out)
	}
	comments = api.Comments("o", "r", 5)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "| 0.3 |") {
		t.Fatalf("after the second run: %d comments, body:\n%s", len(comments), comments[0].Body)
	}
	// A failing gate fails the job.
	os.WriteFile(filepath.Join(ws, "metrics.json"), []byte(`{"eval": {"val": {"accuracy": 0.5, "loss": 0.3, "macro_f1": 0.97}}}`), 0o644)
	out, err = runAct()
	if err == nil || !strings.Contains(out, "Job failed") {
		t.Fatalf("a failing gate did not fail the job: %v\n%s", err, out)
	}
	if comments = api.Comments("o", "r", 5); len(comments) != 1 || !strings.Contains(comments[0].Body, "checks failed") {
		t.Errorf("after the failing run: %d comments", len(comments))
	}
	// Even after a failed job, act (--rm) left only the tool cache, which
	// the scope removes.
	left := dockertest.Leftovers(t, engineAPI(t), dockertest.LabelScope, labels[dockertest.LabelScope])
	var vols []string
	for _, v := range left.Volumes {
		vols = append(vols, v.Name)
	}
	if len(left.Containers) != 0 || len(left.Networks) != 0 || !slices.Equal(vols, []string{toolcache}) {
		t.Errorf("after the failing run act left %d containers, %d networks and volumes %v; want only %s", len(left.Containers), len(left.Networks), vols, toolcache)
	}
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "ws"}} {
		git := exec.Command("git", args...)
		git.Dir = dir
		git.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}
