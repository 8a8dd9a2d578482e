//go:build integration

package glexec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/mlci/mlci/internal/syncbuf"
	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/dockerjob/dockerengine"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// These tests run whole jobs through the custom executor's stages on the
// real Docker Engine, with an image built here FROM scratch around the
// host's static busybox, since nothing can be pulled.

// busyboxApplets are linked to busybox in the test image.
var busyboxApplets = []string{"sh", "tail", "cat", "env", "echo", "ls", "sleep", "mkdir", "printenv", "test", "httpd", "wget", "seq"}

type engine struct {
	api   *client.Client
	image string
	run   string // dockertest.RunID: job hosts hold it, so their labels do
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestEngine(t *testing.T) {
	ctx := testCtx(t, 5*time.Minute)
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	if _, err := api.Ping(ctx); err != nil {
		t.Fatalf("the Docker Engine does not answer: %v", err)
	}
	e := &engine{api: api, run: dockertest.RunID()}
	e.image = dockertest.BusyboxImage(t, api, busyboxApplets...)
	t.Run("Executor", e.testExecutor)
	t.Run("CLI", e.testCLI)
	t.Run("Services", e.testServices)
	t.Run("Identity", e.testIdentity)
}

// job is one GitLab job's identity: a server host unique to this run, so
// its container, label and cache volume are too.
type job struct {
	host, id, project string
	response          string // its JOB_RESPONSE_FILE
}

func (e *engine) newJob(t *testing.T, id string) job {
	return e.newJobOn(t, "it-"+e.run+"-"+id+".test", id)
}

// newJobOn is job id of project 9<id> on the GitLab at host.
func (e *engine) newJobOn(t *testing.T, host, id string) job {
	t.Helper()
	j := job{host: host, id: id, project: "9" + id}
	n, err := strconv.ParseInt(j.id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.ParseInt(j.project, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	j.response = writeJobResponse(t, t.TempDir(), newTestJob(n, p, host))
	t.Cleanup(func() { e.removeJob(t, j) })
	return j
}

func (j job) key() string       { return "gitlab:" + j.host + ":" + j.id }
func (j job) container() string { return containerName(j.key()) }
func (j job) volume() string    { return "mlci-cache-" + safe(j.host) + "-" + j.project }

func (j job) env(image string) map[string]string {
	return map[string]string{
		"JOB_RESPONSE_FILE":          j.response,
		"CUSTOM_ENV_CI_JOB_ID":       j.id,
		"CUSTOM_ENV_CI_SERVER_HOST":  j.host,
		"CUSTOM_ENV_CI_JOB_IMAGE":    image,
		"CUSTOM_ENV_CI_PROJECT_ID":   j.project,
		"CUSTOM_ENV_CI_PROJECT_PATH": "group/proj",
	}
}

// removeJob removes whatever the job left on the engine, its cache volume
// included, even when the test failed half way.
func (e *engine) removeJob(t *testing.T, j job) {
	dockertest.RemoveLeftovers(t, e.api, "mlci.job", j.key())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.api.VolumeRemove(ctx, j.volume(), true); err != nil && !strings.Contains(err.Error(), "No such volume") && !strings.Contains(err.Error(), "no such volume") {
		t.Errorf("remove cache volume %s: %v", j.volume(), err)
	}
}

func (e *engine) jobContainers(t *testing.T, j job) []container.Summary {
	t.Helper()
	return dockertest.Leftovers(t, e.api, "mlci.job", j.key()).Containers
}

func writeStageScript(t *testing.T, dir, body string) string {
	t.Helper()
	d, err := os.MkdirTemp(dir, "script")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d, "script.")
	if err := os.WriteFile(p, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// newRealHost is a GPU-less host on the real engine, its state in a temp
// folder, logging to stderr.
func newRealHost(ctx context.Context, t *testing.T) (*dockerengine.Engine, hostconfig.Config, *jobrun.Host, *syncbuf.Buffer, *syncbuf.Buffer) {
	t.Helper()
	c, err := dockerjob.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dj := dockerengine.New(c)
	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.GPUWait = 0
	cfg.StopGrace = hostconfig.Duration(2 * time.Second)
	store, err := lease.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	host := &jobrun.Host{Config: cfg, Leases: store, Log: stderr, Engine: dj}
	return dj, cfg, host, stdout, stderr
}

// testExecutor runs a job's stages through the Executor in this process,
// as the stage processes would, on a host without GPUs.
func (e *engine) testExecutor(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	dj, cfg, host, stdout, stderr := newRealHost(ctx, t)
	j := e.newJob(t, "101")
	e.labelCache(t, j)
	env := j.env(e.image)
	ex := &Executor{
		Host: host, Engine: dj, Config: cfg, Version: "test",
		Getenv: func(k string) string { return env[k] },
		Stdout: stdout, Stderr: stderr,
		Owner: func() (lease.Owner, error) { return lease.Self(), nil },
	}
	if err := ex.Prepare(ctx); err != nil {
		t.Fatalf("prepare: %v\n%s", err, stderr.String())
	}
	info, err := e.api.ContainerInspect(ctx, j.container())
	if err != nil {
		t.Fatalf("job container: %v", err)
	}
	if !info.State.Running || info.Config.Labels["mlci.job"] != j.key() {
		t.Errorf("container running %v labels %v, want running with mlci.job=%s", info.State.Running, info.Config.Labels, j.key())
	}
	var cacheMounted bool
	for _, m := range info.Mounts {
		if m.Destination == CacheDir && m.Name == j.volume() {
			cacheMounted = true
		}
	}
	if !cacheMounted {
		t.Errorf("mounts %+v lack the project cache volume %s at %s", info.Mounts, j.volume(), CacheDir)
	}

	dir := t.TempDir()
	stages := []struct {
		stage, script string
		want          []string // in stdout
	}{
		{"prepare_script", "echo prepare-ok\n", []string{"prepare-ok"}},
		{"get_sources", "set -e\nmkdir -p /builds/p && echo src > /builds/p/f\necho sources-ok\n", []string{"sources-ok"}},
		{"build_script", `set -e
env
echo "hw=$(cat /mlci/hardware.json)"
test "$MLCI_HARDWARE_FILE" = /mlci/hardware.json
test -f "$MLCI_HARDWARE_FILE"
echo "src=$(cat /builds/p/f)"
if (echo x > /mlci/x) 2>/dev/null; then echo "wrote to /mlci"; exit 3; fi
echo cache > /cache/c
echo build-ok
`, []string{"MLCI_HARDWARE_FILE=/mlci/hardware.json", "MLCI_GPU_COUNT=0", `"digest": "sha256:`, "src=src", "build-ok"}},
		{"after_script", "echo after-ok; cat /cache/c\n", []string{"after-ok", "cache"}},
	}
	for _, s := range stages {
		stdout.Reset()
		if err := ex.Run(ctx, writeStageScript(t, dir, s.script), s.stage); err != nil {
			t.Fatalf("stage %s: %v\nstdout:\n%s\nstderr:\n%s", s.stage, err, stdout.String(), stderr.String())
		}
		for _, w := range s.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("stage %s: stdout lacks %q:\n%s", s.stage, w, stdout.String())
			}
		}
	}
	err = ex.Run(ctx, writeStageScript(t, dir, "echo failing\nexit 42\n"), "build_script")
	var be *BuildError
	if !errors.As(err, &be) || be.Code != 42 {
		t.Errorf("exit 42: Run = %v, want BuildError{42}", err)
	}

	ex.Cleanup(ctx)
	if ok, err := dj.Exists(ctx, j.container()); err != nil || ok {
		t.Errorf("container left after cleanup: %v %v", ok, err)
	}
	if _, err := os.Stat(host.JobDir(j.key())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job folder left after cleanup: %v", err)
	}
	// A stage after cleanup finds no container: a system failure.
	err = ex.Run(ctx, writeStageScript(t, dir, "true\n"), "build_script")
	if err == nil || errors.As(err, &be) {
		t.Errorf("Run after cleanup = %v, want a system failure", err)
	}
}

// cli runs mlci-runner's gitlab stages as separate processes with the
// environment GitLab Runner gives them.
type cli struct {
	bin, dir, state string
	codeFile        string
	env             []string
}

func (c *cli) cmd(ctx context.Context, extra map[string]string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"gitlab"}, args...)...)
	cmd.Env = append([]string{}, c.env...)
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// stage runs one stage and returns its exit code and output.
func (c *cli) stage(ctx context.Context, t *testing.T, jobEnv map[string]string, args ...string) (int, string) {
	t.Helper()
	out, err := c.cmd(ctx, jobEnv, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatalf("mlci-runner gitlab %s: %v\n%s", strings.Join(args, " "), err, out)
		return -1, ""
	}
}

func (e *engine) testCLI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	c := &cli{bin: filepath.Join(dir, "mlci-runner"), dir: dir, state: filepath.Join(dir, "state"), codeFile: filepath.Join(dir, "build_exit_code")}
	gobuild := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "github.com/mlci/mlci/cmd/mlci-runner")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("build mlci-runner: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("state_dir: "+c.state+"\ngpu_wait: 0s\nstop_grace: 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jobResponse := filepath.Join(dir, "job_response.json")
	if err := os.WriteFile(jobResponse, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CUSTOM_ENV_") && !strings.HasPrefix(kv, "MLCI_") {
			c.env = append(c.env, kv)
		}
	}
	c.env = append(c.env,
		"BUILD_FAILURE_EXIT_CODE=1",
		"SYSTEM_FAILURE_EXIT_CODE=2",
		"BUILD_EXIT_CODE_FILE="+c.codeFile,
		"JOB_RESPONSE_FILE="+jobResponse,
		"TMPDIR="+dir,
		"MLCI_RUNNER_STATE_DIR="+c.state,
		"MLCI_RUNNER_CONFIG="+cfgPath,
	)

	// config_exec prints JSON GitLab can read.
	code, out := c.stage(ctx, t, nil, "config")
	var cfgOut ConfigOutput
	if code != 0 || json.Unmarshal([]byte(out), &cfgOut) != nil || cfgOut.BuildsDir != BuildsDir {
		t.Errorf("config: exit %d, output %q", code, out)
	}

	j := e.newJob(t, "201")
	e.labelCache(t, j)
	env := j.env(e.image)
	if code, out := c.stage(ctx, t, env, "prepare"); code != 0 {
		t.Fatalf("prepare: exit %d\n%s", code, out)
	}
	run := func(script, stage string) (int, string) {
		t.Helper()
		return c.stage(ctx, t, env, "run", writeStageScript(t, dir, script), stage)
	}
	if code, out := run("echo hello-from-job\n", "build_script"); code != 0 || !strings.Contains(out, "hello-from-job") {
		t.Errorf("run: exit %d, output %q; want 0 and the script's output", code, out)
	}

	// A failing script is a build failure, with its own code in the file.
	if code, out := run("echo failing\nexit 42\n", "build_script"); code != 1 {
		t.Errorf("run of exit 42: exit %d, want BUILD_FAILURE_EXIT_CODE 1\n%s", code, out)
	}
	if data, err := os.ReadFile(c.codeFile); err != nil || strings.TrimSpace(string(data)) != "42" {
		t.Errorf("BUILD_EXIT_CODE_FILE = %q, %v; want 42", data, err)
	}

	// SIGTERM (GitLab's cancel) while the script sleeps stops the container
	// with stop_grace, and the stage fails.
	e.testSIGTERM(ctx, t, c, j, env)

	// cleanup always exits 0 and leaves no container.
	if code, out := c.stage(ctx, t, env, "cleanup"); code != 0 {
		t.Errorf("cleanup: exit %d\n%s", code, out)
	}
	if cs := e.jobContainers(t, j); len(cs) != 0 {
		t.Errorf("cleanup left %d containers with mlci.job=%s", len(cs), j.key())
	}
	if code, out := c.stage(ctx, t, env, "cleanup"); code != 0 {
		t.Errorf("second cleanup: exit %d\n%s", code, out)
	}

	// Our failures are system failures (2), which GitLab may retry.
	if code, out := run("echo never\n", "build_script"); code != 2 || strings.Contains(out, "never") {
		t.Errorf("run without a container: exit %d, want SYSTEM_FAILURE_EXIT_CODE 2\n%s", code, out)
	}
	missing := e.newJob(t, "202")
	menv := missing.env("mlci-glexec-missing-" + e.run + ":none")
	if code, out := c.stage(ctx, t, menv, "prepare"); code != 2 {
		t.Errorf("prepare with a missing image: exit %d, want 2\n%s", code, out)
	}
	if cs := e.jobContainers(t, missing); len(cs) != 0 {
		t.Errorf("failed prepare left %d containers", len(cs))
	}
	// Without its own JOB_RESPONSE_FILE the job is c.env's, which has no id.
	noID := j.env(e.image)
	delete(noID, "JOB_RESPONSE_FILE")
	if code, out := c.stage(ctx, t, noID, "prepare"); code != 2 || !strings.Contains(out, "JOB_RESPONSE_FILE") || !strings.Contains(out, "no job id") {
		t.Errorf("prepare without a job id: exit %d, want 2 naming the file\n%s", code, out)
	}
	if code, out := c.stage(ctx, t, noID, "cleanup"); code != 0 {
		t.Errorf("cleanup without a job id: exit %d, want 0\n%s", code, out)
	}
	store, err := lease.Open(c.state)
	if err != nil {
		t.Fatal(err)
	}
	if ls, err := store.List(); err != nil || len(ls) != 0 {
		t.Errorf("leases left: %+v %v", ls, err)
	}
}

func (e *engine) testSIGTERM(ctx context.Context, t *testing.T, c *cli, j job, env map[string]string) {
	t.Helper()
	script := writeStageScript(t, c.dir, "echo started\nsleep 300\necho not-stopped\n")
	cmd := c.cmd(ctx, env, "run", script, "build_script")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	var started bool
	for lines.Scan() {
		if lines.Text() == "started" {
			started = true
			break
		}
	}
	if !started {
		t.Fatalf("the script never started: %v\n%s", lines.Err(), stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || ee.ExitCode() == -1 {
		t.Errorf("run after SIGTERM: %v, want a non-zero exit of its own\n%s", err, stderr.String())
	}
	if strings.Contains(string(rest), "not-stopped") {
		t.Errorf("the script ran on after SIGTERM: %q", rest)
	}
	if !strings.Contains(stderr.String(), "cancelled") {
		t.Errorf("stderr does not say the stage was cancelled:\n%s", stderr.String())
	}
	info, err := e.api.ContainerInspect(ctx, j.container())
	if err != nil {
		t.Fatalf("inspect the job container: %v", err)
	}
	if info.State.Running {
		t.Errorf("the job container still runs after SIGTERM to the stage")
	}
}

// testServices runs a job with a service of the busybox image serving HTTP,
// which the job's script reaches by its aliases on the job's network.
func (e *engine) testServices(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	dj, cfg, host, stdout, stderr := newRealHost(ctx, t)
	j := e.newJob(t, "301")
	e.labelCache(t, j)
	env := j.env(e.image)
	services, err := json.Marshal([]map[string]any{{
		"name":       e.image,
		"alias":      "web,www",
		"entrypoint": []string{"sh", "-c"},
		"command":    []string{`mkdir -p /www && echo "svc-$GREETING-${SECRET:-unset}" > /www/index.html && exec httpd -f -p 8080 -h /www`},
		"variables":  map[string]string{"GREETING": "hello"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	env["CUSTOM_ENV_CI_JOB_SERVICES"] = string(services)
	env["CUSTOM_ENV_SECRET"] = "job-secret"
	ex := &Executor{
		Host: host, Engine: dj, Config: cfg, Version: "test",
		Getenv: func(k string) string { return env[k] },
		Stdout: stdout, Stderr: stderr,
		Owner: func() (lease.Owner, error) { return lease.Self(), nil },
	}
	// Twice, as GitLab retries prepare: the second replaces the first.
	for range 2 {
		if err := ex.Prepare(ctx); err != nil {
			t.Fatalf("prepare: %v\n%s", err, stderr.String())
		}
	}
	if cs := e.jobContainers(t, j); len(cs) != 2 {
		t.Errorf("%d containers with mlci.job=%s after prepare, want the job's and its service", len(cs), j.key())
	}
	// The service may still be starting: the script waits for it.
	script := `set -e
get() {
  for i in $(seq 1 100); do
    if out=$(wget -qO- "http://$1:8080/" 2>/dev/null); then echo "$1=$out"; return 0; fi
    sleep 0.1
  done
  echo "$1 unreachable"; return 1
}
get web
get www
get mlci-dockertest
`
	stdout.Reset()
	if err := ex.Run(ctx, writeStageScript(t, t.TempDir(), script), "build_script"); err != nil {
		t.Fatalf("build_script: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"web=svc-hello-unset", "www=svc-hello-unset", "mlci-dockertest=svc-hello-unset"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}

	ex.Cleanup(ctx)
	if l := dockertest.Leftovers(t, e.api, "mlci.job", j.key()); !l.Empty() {
		t.Errorf("after cleanup %d containers, %d networks and %d volumes with mlci.job=%s remain", len(l.Containers), len(l.Networks), len(l.Volumes), j.key())
	}
	if _, err := os.Stat(host.JobDir(j.key())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job folder left after cleanup: %v", err)
	}
}
