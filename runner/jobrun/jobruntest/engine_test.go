package jobruntest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/syncbuf"
	"github.com/mlci/mlci/runner/ghhook"
	"github.com/mlci/mlci/runner/glexec"
	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/jobrun/jobruntest"
	"github.com/mlci/mlci/runner/lease"
)

// newHost is a host with two mocked GPUs whose job engine is eng, wired as
// mlci-runner wires its own: one engine value for the host and the job.
func newHost(t *testing.T, eng jobrun.Engine) (*jobrun.Host, *lease.Store) {
	t.Helper()
	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.GPUWait = 0
	store, err := lease.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gpu.Open(gputest.NewServer(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &jobrun.Host{
		Config: cfg, Leases: store, GPUs: g, Engine: eng, Log: &syncbuf.Buffer{},
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}, store
}

func self() (lease.Owner, error) { return lease.Self(), nil }

// The GitHub hook runs a whole job (prepare, a step, cleanup) on an engine
// that is not Docker.
func TestGitHubHookOnAnotherEngine(t *testing.T) {
	eng := jobruntest.New()
	host, store := newHost(t, eng)
	eng.ExecFunc = func(ctx context.Context, c jobruntest.Container, e jobrun.Exec) (int, error) {
		_, _ = io.WriteString(e.Stdout, "GPUs "+strings.Join(c.GPUs, ","))
		return 3, nil
	}
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	hook := &ghhook.Hook{
		Host: host, Engine: eng, Config: host.Config, Stdout: stdout, Stderr: stderr,
		Getenv: func(string) string { return "" }, Owner: self,
	}
	work := t.TempDir()
	rf := filepath.Join(work, "response.json")
	run := func(in map[string]any) error {
		t.Helper()
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		return hook.Run(t.Context(), bytes.NewReader(b))
	}

	err := run(map[string]any{
		"command": "prepare_job", "responseFile": rf, "state": map[string]any{},
		"args": map[string]any{
			"container": map[string]any{
				"image": "ghcr.io/acme/train:1", "workingDirectory": "/__w/repo",
				"environmentVariables": map[string]string{"MLCI_GPUS": "1"},
				"systemMountVolumes": []map[string]any{
					{"sourceVolumePath": work, "targetVolumePath": "/__w", "readOnly": false},
				},
			},
			"services": []any{},
		},
	})
	if err != nil {
		t.Fatalf("prepare_job: %v\n%s", err, stderr)
	}
	raw, err := os.ReadFile(rf)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		State   json.RawMessage `json:"state"`
		Context struct {
			Container struct {
				ID string `json:"id"`
			} `json:"container"`
		} `json:"context"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("response %s: %v", raw, err)
	}
	ctrs := eng.Containers()
	if len(ctrs) != 1 || !ctrs[0].Running || ctrs[0].ID != resp.Context.Container.ID {
		t.Fatalf("engine holds %+v, want the running job container %s", ctrs, resp.Context.Container.ID)
	}
	job := ctrs[0]
	ls, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || !slices.Equal(ls[0].IDs, job.GPUs) || len(job.GPUs) != 1 || ls[0].Container != job.ID {
		t.Fatalf("leases %+v, job container GPUs %v: want the one leased GPU, its lease ending with the container", ls, job.GPUs)
	}
	if job.Image != "ghcr.io/acme/train:1" || job.WorkDir != "/__w/repo" || job.Env["MLCI_GPU_COUNT"] != "1" ||
		!slices.Contains(job.Mounts, jobrun.Mount{Source: host.JobDir(ls[0].Job), Target: jobrun.ContainerDir, ReadOnly: true}) ||
		!slices.Contains(job.UserMounts, jobrun.Mount{Source: work, Target: "/__w"}) {
		t.Errorf("job container %+v", job.Container)
	}

	err = run(map[string]any{
		"command": "run_script_step", "state": resp.State,
		"args": map[string]any{"entryPoint": "bash", "entryPointArgs": []string{"-e", "step.sh"}, "workingDirectory": "/__w/repo"},
	})
	var ee *ghhook.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("run_script_step = %v, want the step's exit code 3", err)
	}
	execs := eng.Execs()
	if len(execs) != 1 || execs[0].Container != job.ID || execs[0].WorkDir != "/__w/repo" || !slices.Equal(execs[0].Cmd, []string{"bash", "-e", "step.sh"}) {
		t.Errorf("execs %+v", execs)
	}
	if got := stdout.String(); got != "GPUs "+job.GPUs[0] {
		t.Errorf("step output %q", got)
	}

	if err := run(map[string]any{"command": "cleanup_job", "state": resp.State, "args": map[string]any{}}); err != nil {
		t.Fatalf("cleanup_job: %v", err)
	}
	if c, n := eng.Containers(), eng.Networks(); len(c) != 0 || len(n) != 0 {
		t.Errorf("left containers %+v, networks %v", c, n)
	}
	if ls, _ := store.List(); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
}

// The GitLab executor runs a whole job (prepare, a stage, cleanup), with a
// service, on an engine that is not Docker.
func TestGitLabExecutorOnAnotherEngine(t *testing.T) {
	eng := jobruntest.New()
	host, store := newHost(t, eng)
	var script string
	eng.ExecFunc = func(ctx context.Context, c jobruntest.Container, e jobrun.Exec) (int, error) {
		b, err := io.ReadAll(e.Stdin)
		script = string(b)
		return 0, err
	}
	dir := t.TempDir()
	jobFile := filepath.Join(dir, "job.json")
	const response = `{"id": 42, "job_info": {"project_id": 7}, "git_info": {"repo_url": "https://gitlab.example.com/group/proj.git"},
		"variables": [{"key": "CI_PROJECT_VISIBILITY", "value": "private"}]}`
	if err := os.WriteFile(jobFile, []byte(response), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		glexec.EnvJobResponseFile:    jobFile,
		"CUSTOM_ENV_CI_JOB_IMAGE":    "python:3.12",
		"CUSTOM_ENV_GPU_COUNT":       "2",
		"CUSTOM_ENV_CI_JOB_SERVICES": `[{"name": "redis:7", "alias": "cache"}]`,
	}
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	ex := &glexec.Executor{
		Host: host, Engine: eng, Config: host.Config, Version: "test",
		Getenv: func(k string) string { return env[k] }, Stdout: stdout, Stderr: stderr, Owner: self,
	}

	if err := ex.Prepare(t.Context()); err != nil {
		t.Fatalf("prepare: %v\n%s", err, stderr)
	}
	ctrs := eng.Containers()
	if len(ctrs) != 2 || len(eng.Networks()) != 1 {
		t.Fatalf("engine holds %+v on networks %v, want a service and the job container on the job's network", ctrs, eng.Networks())
	}
	svc, job := ctrs[0], ctrs[1]
	if svc.Image != "redis:7" || !slices.Contains(svc.Aliases, "cache") || len(svc.GPUs) != 0 || svc.Network != job.Network {
		t.Errorf("service %+v", svc.Container)
	}
	ls, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	if !job.Running || len(ls) != 1 || len(job.GPUs) != 2 || !slices.Equal(ls[0].IDs, job.GPUs) || ls[0].Container != job.ID {
		t.Fatalf("job container %+v, leases %+v: want it running on the two leased GPUs", job, ls)
	}

	scriptFile := filepath.Join(dir, "script")
	if err := os.WriteFile(scriptFile, []byte("echo build\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ex.Run(t.Context(), scriptFile, "build_script"); err != nil {
		t.Fatalf("run: %v", err)
	}
	if execs := eng.Execs(); len(execs) != 1 || execs[0].Container != job.ID || script != "echo build\n" {
		t.Errorf("execs %+v with script %q", execs, script)
	}

	ex.Cleanup(t.Context())
	if c, n := eng.Containers(), eng.Networks(); len(c) != 0 || len(n) != 0 {
		t.Errorf("left containers %+v, networks %v\n%s", c, n, stderr)
	}
	if ls, _ := store.List(); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
}
