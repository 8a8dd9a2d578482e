//go:build integration

package runnercli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/client"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// githubRunner plays the official runner's side of the container hooks: it
// runs deploy/github/mlci-runner-hook.sh with the runner's shell flags,
// writes the command's JSON to its stdin and reads the response file.
type githubRunner struct {
	t    *testing.T
	shim string
	env  []string
	work string
}

type hookResult struct {
	code           int
	stdout, stderr string
	response       []byte
}

func (r *githubRunner) call(input map[string]any) hookResult {
	r.t.Helper()
	resp := filepath.Join(r.work, "_temp", "_runner_hook_responses", dockertest.RandomHex(r.t, 8)+".json")
	if err := os.MkdirAll(filepath.Dir(resp), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(resp, nil, 0o644); err != nil {
		r.t.Fatal(err)
	}
	input["responseFile"] = resp
	data, err := json.Marshal(input)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", r.shim)
	cmd.Env = r.env
	cmd.Stdin = bytes.NewReader(data)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	var res hookResult
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		r.t.Fatal(err)
	}
	res.stdout, res.stderr = o.String(), e.String()
	res.response, _ = os.ReadFile(resp)
	return res
}

// TestGitHubShimEscapes tries, as a job would, every way found to reach the
// host through a mount: links planted in the workspace by an earlier job,
// host folders outside the workspace, the runner's own folders and
// mlci-runner's volumes, through container.options, container.volumes,
// services and container steps. Each must be refused before a container
// exists; where one was made anyway, the test reports what docker inspect
// shows it got.
func TestGitHubShimEscapes(t *testing.T) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	image := dockertest.BusyboxImage(t, api, "sh", "tail", "ls", "cat")

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "mlci-runner")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/mlci-runner").CombinedOutput(); err != nil {
		t.Fatalf("building mlci-runner: %v\n%s", err, out)
	}
	shim, err := filepath.Abs("../../deploy/github/mlci-runner-hook.sh")
	if err != nil {
		t.Fatal(err)
	}
	// The runner's folder as the official runner lays it out: credentials
	// beside _work and externals.
	runnerDir := filepath.Join(dir, "runner")
	work := filepath.Join(runnerDir, "_work")
	ext := filepath.Join(runnerDir, "externals")
	shared := filepath.Join(dir, "shared")
	state := filepath.Join(dir, "state")
	for _, d := range []string{filepath.Join(work, "_temp", "_github_workflow"), filepath.Join(work, "repo", "data"), ext, shared} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(runnerDir, ".credentials"), `{"scheme":"OAuth"}`)
	writeFile(t, filepath.Join(shared, "weights.bin"), "w")
	// What an earlier job on this runner left in the workspace.
	for name, target := range map[string]string{"x.sock": "/var/run/docker.sock", "root": "/", "dev": "/dev", "repo/up": ".."} {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "config.yaml"), "allow_mounts: ['"+shared+":ro']\n")
	r := &githubRunner{t: t, shim: shim, work: work, env: append(os.Environ(),
		"MLCI_RUNNER="+bin,
		"MLCI_RUNNER_STATE_DIR="+state,
		"MLCI_RUNNER_CONFIG="+filepath.Join(dir, "config.yaml"))}

	systemMounts := []map[string]any{
		{"sourceVolumePath": "/var/run/docker.sock", "targetVolumePath": "/var/run/docker.sock", "readOnly": false},
		{"sourceVolumePath": work, "targetVolumePath": "/__w", "readOnly": false},
		{"sourceVolumePath": ext, "targetVolumePath": "/__e", "readOnly": true},
		{"sourceVolumePath": filepath.Join(work, "_temp", "_github_workflow"), "targetVolumePath": "/github/workflow", "readOnly": false},
	}
	container := func(options string, volumes ...map[string]any) map[string]any {
		return map[string]any{
			"image": image, "workingDirectory": "/__w/repo", "createOptions": options,
			"environmentVariables": map[string]string{},
			"systemMountVolumes":   systemMounts,
			"userMountVolumes":     volumes,
		}
	}
	vol := func(src, dst string) map[string]any {
		return map[string]any{"sourceVolumePath": src, "targetVolumePath": dst, "readOnly": false}
	}
	prepare := func(c map[string]any, services ...map[string]any) hookResult {
		if services == nil {
			services = []map[string]any{}
		}
		return r.call(map[string]any{"command": "prepare_job", "state": map[string]any{},
			"args": map[string]any{"container": c, "services": services}})
	}
	// inspectJob reports the mounts of the containers a prepare made and
	// removes them, for a prepare that should have been refused.
	inspectJob := func(res hookResult) string {
		var p struct {
			State   any `json:"state"`
			Context struct {
				Container struct{ ID string }   `json:"container"`
				Services  []struct{ ID string } `json:"services"`
			} `json:"context"`
		}
		_ = json.Unmarshal(res.response, &p)
		var got []string
		ids := []string{p.Context.Container.ID}
		for _, s := range p.Context.Services {
			ids = append(ids, s.ID)
		}
		for _, id := range ids {
			if id == "" {
				continue
			}
			ctr, err := api.ContainerInspect(context.Background(), id)
			if err != nil {
				continue
			}
			for _, m := range ctr.Mounts {
				got = append(got, m.Source+":"+m.Destination)
			}
		}
		r.call(map[string]any{"command": "cleanup_job", "state": p.State, "args": map[string]any{}})
		return strings.Join(got, " ")
	}

	datasetVolume := "mlci-data-blake3-" + dockertest.RandomHex(t, 16)
	service := func(volumes ...map[string]any) map[string]any {
		return map[string]any{"image": image, "entryPoint": "tail", "entryPointArgs": []string{"-f", "/dev/null"},
			"contextName": "svc", "environmentVariables": map[string]string{}, "userMountVolumes": volumes}
	}
	refused := []struct {
		name     string
		c        map[string]any
		services []map[string]any
		want     string
	}{
		{"socket link in options", container("-v " + work + "/x.sock:/x"), nil, "symbolic link"},
		{"socket link in --mount", container("--mount type=bind,src=" + work + "/x.sock,dst=/x"), nil, "symbolic link"},
		{"socket link in container.volumes", container("", vol(work+"/x.sock", "/x")), nil, "symbolic link"},
		{"socket link in a service", container(""), []map[string]any{service(vol(work+"/x.sock", "/x"))}, "symbolic link"},
		{"link to the host root", container("-v " + work + "/root:/h"), nil, "symbolic link"},
		{"through a link to the host root", container("-v " + work + "/root/etc:/h"), nil, "symbolic link"},
		{"link to /dev", container("-v " + work + "/dev:/h"), nil, "symbolic link"},
		{"link up out of the workspace", container("-v " + work + "/repo/up/../.credentials:/c"), nil, "is refused"},
		{"host etc", container("-v /etc:/h"), nil, "allow_mounts"},
		{"host var lib", container("-v /var/lib:/h"), nil, "allow_mounts"},
		{"runner state dir", container("-v " + state + ":/h"), nil, "allow_mounts"},
		{"runner folder with its credentials", container("-v " + runnerDir + ":/h"), nil, "allow_mounts"},
		{"credentials by dotdot", container("", vol(work+"/../.credentials", "/c")), nil, "allow_mounts"},
		{"externals written", container("-v " + ext + ":/e"), nil, "read-only"},
		{"allow_mounts read-only folder written", container("-v " + shared + ":/s"), nil, "read-only"},
		{"dataset volume", container("-v " + datasetVolume + ":/d"), nil, "belong to mlci-runner"},
		{"dataset volume in container.volumes", container("", vol(datasetVolume, "/d")), nil, "belong to mlci-runner"},
		{"cache volume by --mount", container("--mount type=volume,src=mlci-cache-gitlab-42,dst=/cache"), nil, "belong to mlci-runner"},
		{"dataset volume in a service", container(""), []map[string]any{service(vol(datasetVolume, "/d"))}, "belong to mlci-runner"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			res := prepare(tt.c, tt.services...)
			if res.code == 0 {
				t.Fatalf("prepare_job accepted the job; its containers got %s", inspectJob(res))
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("prepare_job exit %d, stderr %q; want the reason (%q)", res.code, res.stderr, tt.want)
			}
		})
	}

	// What a job may mount: a folder of its workspace, and an allowed host
	// folder read-only. The engine gets the real paths.
	ro := vol(shared, "/shared")
	ro["readOnly"] = true // container.volumes: [shared:/shared:ro]
	res := prepare(container("-v "+work+"/repo/data:/data", ro))
	if res.code != 0 {
		t.Fatalf("prepare_job of an allowed job: exit %d\n%s", res.code, res.stderr)
	}
	var p struct {
		State   any `json:"state"`
		Context struct {
			Container struct{ ID string } `json:"container"`
		} `json:"context"`
	}
	if err := json.Unmarshal(res.response, &p); err != nil {
		t.Fatal(err)
	}
	defer r.call(map[string]any{"command": "cleanup_job", "state": p.State, "args": map[string]any{}})
	ctr, err := api.ContainerInspect(context.Background(), p.Context.Container.ID)
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[string]string{}
	for _, m := range ctr.Mounts {
		mode := "ro"
		if m.RW {
			mode = "rw"
		}
		mounts[m.Destination] = m.Source + ":" + mode
		if strings.HasSuffix(m.Source, "docker.sock") {
			t.Errorf("the job container got the Docker socket at %s", m.Destination)
		}
	}
	// The job container of a job without services is its first: nothing of
	// the job runs to swap a folder, so the sub-folder is mounted by its
	// resolved path (container steps and jobs with services get links;
	// see TestEngine/SwappedFolder).
	for dst, want := range map[string]string{"/data": work + "/repo/data:rw", "/shared": shared + ":ro", "/__w": work + ":rw", "/__e": ext + ":ro"} {
		if mounts[dst] != want {
			t.Errorf("docker inspect: %s from %q, want %q", dst, mounts[dst], want)
		}
	}
	writeFile(t, filepath.Join(work, "repo", "data", "rows.csv"), "a,b\n")
	step := r.call(map[string]any{"command": "run_script_step", "state": p.State, "args": map[string]any{
		"entryPoint": "cat", "entryPointArgs": []string{"/data/rows.csv", "/shared/weights.bin"},
		"environmentVariables": map[string]string{}, "workingDirectory": "/__w/repo"}})
	if step.code != 0 || step.stdout != "a,b\nw" {
		t.Errorf("reading the mounts in a step: exit %d, stdout %q, stderr %q", step.code, step.stdout, step.stderr)
	}

	// A container step of the same job tries the same link.
	step = r.call(map[string]any{"command": "run_container_step", "state": p.State, "args": map[string]any{
		"image": image, "entryPoint": "ls", "entryPointArgs": []string{"-la", "/x"},
		"createOptions": "-v " + work + "/x.sock:/x", "workingDirectory": "/__w/repo",
		"environmentVariables": map[string]string{}, "systemMountVolumes": systemMounts,
	}})
	if step.code == 0 || !strings.Contains(step.stderr, "symbolic link") {
		t.Errorf("run_container_step with the socket link: exit %d, stdout %q, stderr %q; want it refused", step.code, step.stdout, step.stderr)
	}
}
