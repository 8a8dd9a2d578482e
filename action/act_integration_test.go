//go:build integration

package action

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// actVersion is the workflow runner the end-to-end test drives.
const actVersion = "github.com/nektos/act@v0.2.89"

// TestWorkflowWithAct runs a real workflow (testdata/act) with nektos/act: a
// pull_request event from a file, checkout, setup-mlci, then the composite
// action, which installs the release (an archive of mlci built here, served
// with its checksums.txt as GitHub serves releases) and posts to the fake
// GitHub API. It checks what a user would: one sticky comment, updated in
// place on the next run, the next run taking mlci from the tool cache, and a
// failing gate failing the job. It logs the time from act's start to mlci's
// first line of output.
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
	act, image, dockerHost, labels, toolcache := actRig(t)
	release := releaseOfThisTree(t)

	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS("../testdata/quickstart")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(ws, "mlci-report.md"))
	// The action as a user's workflow gets it: action.yml and setup/.
	os.MkdirAll(filepath.Join(ws, "mlci-action"), 0o755)
	if err := os.CopyFS(filepath.Join(ws, "mlci-action", "setup"), os.DirFS("../setup")); err != nil {
		t.Fatal(err)
	}
	actionYML, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "mlci-action", "action.yml"), actionYML, 0o644)
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
	os.WriteFile(filepath.Join(ws, ".github", "workflows", "ml-checks.yml"), []byte(text), 0o644)
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
		// proxy's socket is the test's. The job container shares the
		// host's network (act's default), so it reaches the test's servers.
		cmd := exec.Command(act, "pull_request", "-e", event,
			"-P", "ubuntu-latest="+image, "--pull=false", "--rm", "--container-daemon-socket", "-",
			"--env", "GITHUB_API_URL="+api.URL(), "--env", "GITHUB_REPOSITORY=o/r",
			"--env", "MLCI_DOWNLOAD_URL="+release.URL+"/download", "--env", "MLCI_API_URL="+release.URL+"/api",
			"-s", "GITHUB_TOKEN="+token)
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_HOST="+dockerHost)
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Start()
		if err == nil {
			err = cmd.Wait()
		}
		if at, ok := out.firstLine(firstMlciLine); ok {
			t.Logf("act start to mlci's first line: %v (act run: %v)", at.Sub(start).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		}
		return out.String(), err
	}
	out, err := runAct()
	if err != nil {
		t.Fatalf("act: %v\n%s", err, out)
	}
	comments := api.Comments("o", "r", 5)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "mlci: checks passed") {
		t.Fatalf("after the first workflow run: %d comments\n%s", len(comments), out)
	}
	if !strings.Contains(out, "mlci v0.0.1 installed in /opt/hostedtoolcache/mlci/0.0.1/amd64") || !strings.Contains(out, "setup-mlci put mlci v0.0.1") {
		t.Errorf("the first run did not install v0.0.1 and put it on PATH:\n%s", out)
	}
	// The next push changes a metric: the same comment is edited, and mlci
	// comes from the tool cache.
	os.WriteFile(filepath.Join(ws, "metrics.json"), []byte(`{"eval": {"val": {"accuracy": 0.9714, "loss": 0.3, "macro_f1": 0.9713}}}`), 0o644)
	if out, err = runAct(); err != nil {
		t.Fatalf("second act run: %v\n%s", err, out)
	}
	comments = api.Comments("o", "r", 5)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "| 0.3 |") {
		t.Fatalf("after the second run: %d comments, body:\n%s", len(comments), comments[0].Body)
	}
	if !strings.Contains(out, "mlci v0.0.1 from the tool cache") || strings.Contains(out, "installed in") {
		t.Errorf("the second run did not take mlci from the tool cache:\n%s", out)
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

// actRig installs act and sets up what its runs need: the job image, and
// the engine proxy that labels what act makes (renaming act-toolcache to
// toolcache, the test's own) under the test's scope.
func actRig(t *testing.T) (act, image, dockerHost string, labels map[string]string, toolcache string) {
	t.Helper()
	bin := t.TempDir()
	install := exec.Command("go", "install", actVersion)
	install.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install %s: %v\n%s", actVersion, err, out)
	}
	labels = newScope(t)
	image = jobImage(t, labels)
	toolcache = "act-toolcache-" + labels[dockertest.LabelScope]
	dockerHost = dockertest.Proxy(t, labels, map[string]string{"act-toolcache": toolcache})
	return filepath.Join(bin, "act"), image, dockerHost, labels, toolcache
}

// firstMlciLine is the first line `mlci ci` prints in the action's step
// (act prefixes each with "[workflow/job]   | ").
const firstMlciLine = "| == data =="

// releaseOfThisTree serves a release v0.0.1 as GitHub does: mlci built here
// for linux/amd64 in a GoReleaser archive, checksums.txt beside it, and the
// releases API listing it.
func releaseOfThisTree(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -X main.version=v0.0.1", "-o", filepath.Join(dir, "mlci"), "../cmd/mlci")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	binary, err := os.ReadFile(filepath.Join(dir, "mlci"))
	if err != nil {
		t.Fatal(err)
	}
	const archive = "mlci_0.0.1_linux_amd64.tar.gz"
	data := tarGz(t, "mlci", string(binary))
	files := map[string][]byte{
		archive:         data,
		"checksums.txt": fmt.Appendf(nil, "%x  %s\n", sha256.Sum256(data), archive),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /download/v0.0.1/{file}", func(w http.ResponseWriter, r *http.Request) {
		if b, ok := files[r.PathValue("file")]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	})
	mux.HandleFunc("GET /api/repos/mlci/mlci/releases", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"tag_name": "v0.0.1"}]`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// lockedBuffer is act's output, written by its two streams, with the time
// each line that matters first arrived.
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first map[string]time.Time
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.first == nil {
		b.first = map[string]time.Time{}
	}
	if _, ok := b.first[firstMlciLine]; !ok && bytes.Contains(p, []byte(firstMlciLine)) {
		b.first[firstMlciLine] = time.Now()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) firstLine(s string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.first[s]
	return at, ok
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
