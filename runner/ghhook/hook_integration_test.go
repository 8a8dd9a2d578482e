//go:build integration

package ghhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/dockerjob/dockerengine"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
	"github.com/mlci/mlci/runner/jobrun"
)

// busyboxApplets are linked to busybox in the test image.
var busyboxApplets = []string{"sh", "tail", "cat", "env", "echo", "ls", "sleep", "mkdir", "printenv", "true", "false"}

// engine is a real Docker Engine with a FROM-scratch busybox image.
type engine struct {
	api   client.APIClient // for what the hook does not do: build, inspect, list
	dj    *dockerjob.Client
	image string
}

// testCtx bounds a test so a hung engine fails it instead of hanging.
func testCtx(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func newEngine(ctx context.Context, tb testing.TB) *engine {
	tb.Helper()
	dj, err := dockerjob.New(ctx)
	if err != nil {
		tb.Fatalf("connect to the Docker Engine: %v", err)
	}
	tb.Cleanup(func() { dj.Close() })
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { api.Close() })
	e := &engine{api: api, dj: dj}
	e.image = dockertest.BusyboxImage(tb, api, busyboxApplets...)
	return e
}

// recDocker is the real client, remembering the jobs it created things
// for so a test can remove whatever a failure left, and letting a test look
// at a container just before it starts. It labels what it creates with
// dockertest.Labels, so dockertest.Main finds what a failure left.
type recDocker struct {
	*dockerengine.Engine
	mu      sync.Mutex
	jobs    []string
	specs   []jobrun.Container
	onStart func(id string)
}

func (r *recDocker) note(labels map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := labels[labelJob]; j != "" && !slices.Contains(r.jobs, j) {
		r.jobs = append(r.jobs, j)
	}
}

func (r *recDocker) Create(ctx context.Context, spec jobrun.Container) (string, error) {
	r.note(spec.Labels)
	r.mu.Lock()
	r.specs = append(r.specs, spec)
	r.mu.Unlock()
	spec.Labels = dockertest.WithLabels(spec.Labels)
	return r.Engine.Create(ctx, spec)
}

func (r *recDocker) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	r.note(labels)
	return r.Engine.EnsureNetwork(ctx, name, dockertest.WithLabels(labels))
}

func (r *recDocker) Start(ctx context.Context, id string) error {
	if r.onStart != nil {
		r.onStart(id)
	}
	return r.Engine.Start(ctx, id)
}

func (r *recDocker) jobKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.jobs)
}

// left lists the containers and networks labelled for job.
func (e *engine) left(tb testing.TB, job string) ([]container.Summary, []network.Summary) {
	tb.Helper()
	l := dockertest.Leftovers(tb, e.api, labelJob, job)
	return l.Containers, l.Networks
}

// removeLeftovers removes what the jobs r saw left, even after a failure.
func (e *engine) removeLeftovers(tb testing.TB, r *recDocker) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, job := range r.jobKeys() {
		ctrs, nets := e.left(tb, job)
		for _, c := range ctrs {
			if err := e.dj.Remove(ctx, c.ID); err != nil {
				tb.Errorf("remove leftover container: %v", err)
			}
		}
		for _, n := range nets {
			if err := e.dj.RemoveNetwork(ctx, n.Name); err != nil {
				tb.Errorf("remove leftover network: %v", err)
			}
		}
	}
}

// newJob is a hook fixture on the real engine; what its jobs leave is
// removed when the test ends.
func (e *engine) newJob(tb testing.TB, gpus int) (*fixture, *recDocker) {
	tb.Helper()
	r := &recDocker{Engine: dockerengine.New(e.dj)}
	fx := newHostFixture(tb, gpus, r)
	tb.Cleanup(func() { e.removeLeftovers(tb, r) })
	return fx, r
}

// forEngine changes the recorded prepare_job input to what this engine
// can run: the local image, no pulls, no services from registries, no
// named volume or host port left behind.
func (e *engine) forEngine(m map[string]any) {
	c := jobContainer(m)
	c["image"] = e.image
	c["createOptions"] = ""
	c["registry"] = nil
	c["userMountVolumes"] = []any{}
	c["portMappings"] = []any{}
	noServices(m)
}

// withService adds a service of the test image, which makes the job get a
// network of its own.
func (e *engine) withService(m map[string]any) {
	m["args"].(map[string]any)["services"] = []any{map[string]any{
		"contextName": "cache", "image": e.image, "entrypoint": "sleep", "entryPointArgs": []any{"600"},
		"environmentVariables": map[string]any{}, "userMountVolumes": []any{}, "portMappings": []any{},
	}}
}

// step runs run_script_step with the recorded input as changed by fn.
func (fx *fixture) step(ctx context.Context, tb testing.TB, state json.RawMessage, fn func(a map[string]any)) (string, error) {
	tb.Helper()
	before := len(fx.stdout.String())
	in := edit(tb, fx.input(tb, "run_script_step.json", "", state), func(m map[string]any) { fn(m["args"].(map[string]any)) })
	err := fx.hook.Run(ctx, bytes.NewReader(in))
	return fx.stdout.String()[before:], err
}

func TestHookIntegration(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	e := newEngine(ctx, t)
	t.Run("Job", func(t *testing.T) { e.testJob(testCtx(t, 2*time.Minute), t) })
	t.Run("GPUJob", func(t *testing.T) { e.testGPUJob(testCtx(t, 2*time.Minute), t) })
}

func (e *engine) testJob(ctx context.Context, t *testing.T) {
	fx, _ := e.newJob(t, 0)
	_, state, err := fx.prepare(t, ctx, e.forEngine, e.withService)
	if err != nil {
		t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
	}
	st := decodeState(t, state)
	t.Cleanup(func() {
		// Idempotent: a second cleanup after the test's own is harmless.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = fx.hook.Run(ctx, bytes.NewReader(fx.input(t, "cleanup_job.json", "", state)))
	})
	if st.Network == "" || len(st.Services) != 1 {
		t.Fatalf("state %+v: want a network and the cache service", st)
	}

	// The Docker socket the runner asks for is not mounted.
	info, err := e.api.ContainerInspect(ctx, st.Container)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, m := range info.Mounts {
		dests = append(dests, m.Destination)
		if strings.Contains(m.Source, "docker.sock") || m.Destination == "/var/run/docker.sock" {
			t.Errorf("docker.sock is mounted: %+v", m)
		}
		if m.Destination == "/mlci" && m.RW {
			t.Errorf("/mlci is writable: %+v", m)
		}
	}
	// /__w/_temp is in view through /__w; /github/home and
	// /github/workflow are links into _work mounted whole, so nothing a
	// job swaps in its workspace can redirect them on the host (the step
	// below checks they are there).
	for _, want := range []string{"/__w", "/__e", "/mlci"} {
		if !slices.Contains(dests, want) {
			t.Errorf("mounts %v lack %s", dests, want)
		}
	}

	// A real script in the mounted work folder.
	script := `env
echo "written by the step" > /__w/fromstep.txt
if echo x > /mlci/x 2>/dev/null; then echo MLCI_WRITABLE; else echo MLCI_READONLY; fi
test -d /__w/_temp && test -d /github/home && test -d /github/workflow && echo RUNNER_PATHS_OK
`
	if err := os.WriteFile(filepath.Join(fx.work, "_temp", "step.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := fx.step(ctx, t, state, func(map[string]any) {})
	if err != nil {
		t.Fatalf("run_script_step: %v\nstdout %s\nstderr %s", err, out, fx.stderr)
	}
	for _, want := range []string{"NODE_ENV=development", "MLCI_HARDWARE_FILE=/mlci/hardware.json", "MLCI_GPU_COUNT=0", "PATH=/foo/bar:/bin\n", "MLCI_READONLY", "RUNNER_PATHS_OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("step output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MLCI_WRITABLE") {
		t.Errorf("the step could write into /mlci:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(fx.work, "fromstep.txt")); err != nil || string(b) != "written by the step\n" {
		t.Errorf("file the step wrote: %q, %v", b, err)
	}

	// The hardware file is readable inside and is the host's.
	out, err = fx.step(ctx, t, state, func(a map[string]any) {
		a["entryPoint"], a["entryPointArgs"] = "cat", []any{"/mlci/hardware.json"}
		delete(a, "prependPath")
	})
	if err != nil {
		t.Fatalf("cat /mlci/hardware.json: %v\n%s", err, fx.stderr)
	}
	host, err := os.ReadFile(filepath.Join(fx.host.JobDir(st.Job), jobrun.HardwareFileName))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(host) || !json.Valid([]byte(out)) {
		t.Errorf("hardware file inside %q, on the host %q", out, host)
	}

	// A failing step's exit code comes back.
	_, err = fx.step(ctx, t, state, func(a map[string]any) { a["entryPoint"], a["entryPointArgs"] = "sh", []any{"-c", "exit 3"} })
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("step exiting 3 = %v, want ExitError{3}", err)
	}

	// A container step of the busybox image.
	before := len(fx.stdout.String())
	in := edit(t, fx.input(t, "run_container_step.json", fx.responseFile(t), state), func(m map[string]any) {
		a := m["args"].(map[string]any)
		a["image"], a["createOptions"], a["userMountVolumes"], a["portMappings"] = e.image, "", []any{}, []any{}
		a["entryPoint"] = "sh"
		a["entryPointArgs"] = []any{"-c", "echo container-step $NODE_ENV; cat /mlci/hardware.json >/dev/null && echo has-hardware; ls /__w/fromstep.txt; exit 4"}
	})
	err = fx.hook.Run(ctx, bytes.NewReader(in))
	if !errors.As(err, &ee) || ee.Code != 4 {
		t.Errorf("run_container_step = %v, want ExitError{4}\n%s", err, fx.stderr)
	}
	out = fx.stdout.String()[before:]
	for _, want := range []string{"container-step development", "has-hardware", "/__w/fromstep.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("container step output lacks %q:\n%s", want, out)
		}
	}

	// cleanup_job leaves nothing.
	if err := fx.hook.Run(ctx, bytes.NewReader(fx.input(t, "cleanup_job.json", fx.responseFile(t), state))); err != nil {
		t.Fatalf("cleanup_job: %v", err)
	}
	if ctrs, nets := e.left(t, st.Job); len(ctrs) != 0 || len(nets) != 0 {
		t.Errorf("after cleanup_job %d containers and %d networks of the job remain", len(ctrs), len(nets))
	}
	if _, err := os.Stat(fx.host.JobDir(st.Job)); !os.IsNotExist(err) {
		t.Errorf("job folder remains: %v", err)
	}
}

func (e *engine) testGPUJob(ctx context.Context, t *testing.T) {
	fx, r := e.newJob(t, 8)
	var (
		requests []container.DeviceRequest
		leased   []string
		seen     bool
	)
	r.onStart = func(id string) {
		// Just before Start, which fails without the nvidia runtime.
		info, err := e.api.ContainerInspect(ctx, id)
		if err != nil {
			t.Errorf("inspect %s: %v", id, err)
			return
		}
		seen = true
		// The service starts first; the job container's start is the last.
		requests, leased = info.HostConfig.DeviceRequests, nil
		for _, l := range fx.leases(t) {
			leased = append(leased, l.IDs...)
		}
	}
	_, _, err := fx.prepare(t, ctx, e.forEngine, e.withService, func(m map[string]any) { setEnv(m, "MLCI_GPUS", "2") })
	if err == nil {
		t.Fatal("prepare_job with GPUs succeeded on an engine without the nvidia runtime")
	}
	t.Logf("prepare_job failed as expected: %v", err)
	if !seen {
		t.Fatal("the job container was never created")
	}
	if len(leased) != 2 {
		t.Fatalf("leased %v while the container was created, want 2 GPUs", leased)
	}
	if len(requests) != 1 || requests[0].Count != 0 || !slices.Equal(requests[0].DeviceIDs, leased) ||
		len(requests[0].Capabilities) != 1 || !slices.Equal(requests[0].Capabilities[0], []string{"gpu"}) {
		t.Errorf("device requests %+v, want DeviceIDs %v and Count 0", requests, leased)
	}
	// Nothing is left: containers, network, lease, job folder.
	keys := r.jobKeys()
	if len(keys) != 1 {
		t.Fatalf("jobs %v", keys)
	}
	if ctrs, nets := e.left(t, keys[0]); len(ctrs) != 0 || len(nets) != 0 {
		t.Errorf("after the failed prepare %d containers and %d networks of the job remain", len(ctrs), len(nets))
	}
	if ls := fx.leases(t); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
	if dirs := fx.jobDirs(t); len(dirs) != 0 {
		t.Errorf("job folders left: %v", dirs)
	}
}

// BenchmarkHookInvocation compares a run_script_step through Hook.Run (read
// and decode the input, merge env, exec) with the same exec done directly,
// on one running job container: the difference is the hook's overhead.
func BenchmarkHookInvocation(b *testing.B) {
	ctx := testCtx(b, 10*time.Minute)
	e := newEngine(ctx, b)
	fx, _ := e.newJob(b, 0)
	_, state, err := fx.prepare(b, ctx, e.forEngine)
	if err != nil {
		b.Fatalf("prepare_job: %v", err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = fx.hook.Run(ctx, bytes.NewReader(fx.input(b, "cleanup_job.json", "", state)))
	})
	st := decodeState(b, state)
	in := edit(b, fx.input(b, "run_script_step.json", "", state), func(m map[string]any) {
		a := m["args"].(map[string]any)
		a["entryPoint"], a["entryPointArgs"] = "true", []any{}
		delete(a, "prependPath")
	})
	b.Run("hook", func(b *testing.B) {
		for b.Loop() {
			if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
				b.Fatal(err)
			}
		}
	})
	env := merge(map[string]string{"NODE_ENV": "development"}, st.Env)
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			code, err := e.dj.Exec(ctx, st.Container, dockerjob.ExecSpec{
				Cmd: []string{"true"}, Env: env, WorkingDir: "/__w/repo/repo", Stdout: fx.stdout, Stderr: fx.stderr,
			})
			if err != nil || code != 0 {
				b.Fatalf("exec = %d, %v", code, err)
			}
		}
	})
}
