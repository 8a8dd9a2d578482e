//go:build integration

package runnercli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/client"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// TestGitHubShim drives a whole job the way the official runner does: it
// runs deploy/github/mlci-runner-hook.sh with the runner's own shell flags,
// writes each command's JSON to its stdin, reads the response file, passes
// the state back, and reads the hook's exit code. The job asks for no GPU,
// so it runs on this machine's engine without the NVIDIA runtime.
func TestGitHubShim(t *testing.T) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	image := dockertest.BusyboxImage(t, api, "sh", "tail", "cat", "echo", "env", "ls")

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "mlci-runner")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/mlci-runner")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building mlci-runner: %v\n%s", err, out)
	}
	shim, err := filepath.Abs("../../deploy/github/mlci-runner-hook.sh")
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "_work")
	for _, d := range []string{"_temp/_github_workflow", "_temp/_runner_hook_responses", "repo"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "_temp", "step.sh"), []byte("echo \"hello from $GREETING\"\ncat \"$MLCI_HARDWARE_FILE\" > /__w/repo/hw.json\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"MLCI_RUNNER="+bin,
		"MLCI_RUNNER_STATE_DIR="+filepath.Join(dir, "state"),
		"MLCI_RUNNER_CONFIG="+filepath.Join(dir, "config.yaml"))
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &githubRunner{t: t, shim: shim, env: env, work: work}
	hook := func(input map[string]any) (code int, stdout, stderr string, response []byte) {
		t.Helper()
		res := r.call(input)
		return res.code, res.stdout, res.stderr, res.response
	}

	code, _, stderr, resp := hook(map[string]any{
		"command": "prepare_job", "state": map[string]any{},
		"args": map[string]any{"container": map[string]any{
			"image": image, "workingDirectory": "/__w/repo",
			"environmentVariables": map[string]string{"GREETING": "the job"},
			"systemMountVolumes": []map[string]any{
				{"sourceVolumePath": "/var/run/docker.sock", "targetVolumePath": "/var/run/docker.sock", "readOnly": false},
				{"sourceVolumePath": work, "targetVolumePath": "/__w", "readOnly": false},
				{"sourceVolumePath": filepath.Join(work, "_temp", "_github_workflow"), "targetVolumePath": "/github/workflow", "readOnly": false},
			},
		}, "services": []any{}},
	})
	if code != 0 {
		t.Fatalf("prepare_job: exit %d\n%s", code, stderr)
	}
	var prepared struct {
		State    json.RawMessage `json:"state"`
		IsAlpine *bool           `json:"isAlpine"`
		Context  struct {
			Container struct {
				ID string `json:"id"`
			} `json:"container"`
			Services []any `json:"services"`
		} `json:"context"`
	}
	if err := json.Unmarshal(resp, &prepared); err != nil {
		t.Fatalf("prepare_job response %q: %v", resp, err)
	}
	id := prepared.Context.Container.ID
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	if prepared.IsAlpine == nil || *prepared.IsAlpine || id == "" || prepared.Context.Services == nil {
		t.Errorf("prepare_job response %s; want isAlpine false, a container id and a services list", resp)
	}
	if !strings.Contains(stderr, "not mounting /var/run/docker.sock") {
		t.Errorf("prepare_job did not say why the Docker socket was dropped:\n%s", stderr)
	}
	var state any
	if err := json.Unmarshal(prepared.State, &state); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr, _ := hook(map[string]any{
		"command": "run_script_step", "state": state,
		"args": map[string]any{"entryPoint": "sh", "entryPointArgs": []string{"-e", "/__w/_temp/step.sh"},
			"environmentVariables": map[string]string{}, "workingDirectory": "/__w/repo"},
	})
	if code != 3 || stdout != "hello from the job\n" {
		t.Errorf("run_script_step: exit %d, stdout %q, stderr %q; want the step's exit 3 and its output", code, stdout, stderr)
	}
	hw, err := os.ReadFile(filepath.Join(work, "repo", "hw.json"))
	if err != nil || !strings.Contains(string(hw), `"digest": "sha256:`) {
		t.Errorf("the job could not read its hardware file: %q %v", hw, err)
	}

	if code, _, stderr, _ := hook(map[string]any{"command": "cleanup_job", "state": state, "args": map[string]any{}}); code != 0 {
		t.Errorf("cleanup_job: exit %d\n%s", code, stderr)
	}
	if err := exec.Command("docker", "inspect", id).Run(); err == nil {
		t.Errorf("container %s still exists after cleanup_job", id)
	}
	if code, _, stderr, _ := hook(map[string]any{"command": "run_job"}); code != 2 || !strings.Contains(stderr, `unknown hook command "run_job"`) {
		t.Errorf("unknown command: exit %d, stderr %q; want 2 and the reason", code, stderr)
	}
}
