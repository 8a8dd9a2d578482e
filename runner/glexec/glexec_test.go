package glexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/syncbuf"
	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// fakeDocker is an in-memory job engine that records every call.
type fakeDocker struct {
	mu       sync.Mutex
	calls    []string
	portsErr error             // what WaitPorts answers
	byName   map[string]string // container name -> id
	specs    map[string]jobrun.Container
	nextID   int

	created []jobrun.Container
	started []string
	pulled  []string
	auths   []jobrun.Auth
	execs   []execCall
	stops   []stopCall
	removed []string
	ctxErrs []error // of each Remove's context
	// inspected are the names Labels was asked about, apart from calls:
	// reading labels changes nothing.
	inspected []string

	networks     map[string]map[string]string // name -> labels
	removedNets  []string
	ensureNetErr error
	removeNetErr error

	// Injected failures and behaviour.
	ensureErr, createErr, startErr, removeErr, stopErr, execErr error
	execCode                                                    int
	execOut                                                     string
	// execBlock makes Exec wait for its context to end, as a long script
	// does; execStarted is closed once it waits.
	execBlock   bool
	execStarted chan struct{}
}

type execCall struct {
	container string
	cmd       []string
	stdin     string
}

type stopCall struct {
	container string
	grace     time.Duration
	ctxErr    error // the stop context's state when Stop was called
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{byName: map[string]string{}, specs: map[string]jobrun.Container{}, networks: map[string]map[string]string{}, execStarted: make(chan struct{})}
}

func (d *fakeDocker) record(call string) {
	d.calls = append(d.calls, call)
}

// resolve finds a container by id or name; "" when there is none.
func (d *fakeDocker) resolve(ref string) string {
	if id, ok := d.byName[ref]; ok {
		return id
	}
	if _, ok := d.specs[ref]; ok {
		return ref
	}
	return ""
}

func (d *fakeDocker) exists(ref string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.resolve(ref) != ""
}

func (d *fakeDocker) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.specs)
}

func (d *fakeDocker) EnsureImage(ctx context.Context, ref string, auth jobrun.Auth) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("EnsureImage " + ref)
	d.pulled = append(d.pulled, ref)
	d.auths = append(d.auths, auth)
	return d.ensureErr
}

func (d *fakeDocker) Create(ctx context.Context, spec jobrun.Container) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("Create " + spec.Name)
	d.created = append(d.created, spec)
	if d.createErr != nil {
		return "", d.createErr
	}
	if _, taken := d.byName[spec.Name]; taken {
		return "", fmt.Errorf("create job container: the name %s is taken", spec.Name)
	}
	if _, ok := d.networks[spec.Network]; spec.Network != "" && !ok {
		return "", fmt.Errorf("create job container: network %s not found", spec.Network)
	}
	d.nextID++
	id := fmt.Sprintf("%064d", d.nextID)
	d.byName[spec.Name] = id
	d.specs[id] = spec
	return id, nil
}

func (d *fakeDocker) WaitPorts(ctx context.Context, id, network string, timeout time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("WaitPorts " + id + " " + network)
	return d.portsErr
}

func (d *fakeDocker) WaitHealthy(ctx context.Context, id string, timeout time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("WaitHealthy " + id)
	return nil
}

func (d *fakeDocker) Start(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("Start " + id)
	d.started = append(d.started, id)
	if d.startErr != nil {
		return d.startErr
	}
	if d.resolve(id) == "" {
		return fmt.Errorf("start container %s: no such container", id)
	}
	return nil
}

func (d *fakeDocker) Exec(ctx context.Context, id string, e jobrun.Exec) (int, error) {
	var stdin []byte
	if e.Stdin != nil {
		var err error
		if stdin, err = io.ReadAll(e.Stdin); err != nil {
			return -1, err
		}
	}
	d.mu.Lock()
	d.record("Exec " + id)
	d.execs = append(d.execs, execCall{container: id, cmd: e.Cmd, stdin: string(stdin)})
	found := d.resolve(id) != ""
	block, code, out, execErr := d.execBlock, d.execCode, d.execOut, d.execErr
	d.mu.Unlock()
	if !found {
		return -1, fmt.Errorf("exec %q in container %s: no such container", e.Cmd[0], id)
	}
	if execErr != nil {
		return -1, execErr
	}
	if block {
		close(d.execStarted)
		<-ctx.Done()
		return -1, ctx.Err()
	}
	if e.Stdout != nil {
		io.WriteString(e.Stdout, out)
	}
	return code, nil
}

func (d *fakeDocker) Stop(ctx context.Context, id string, grace time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("Stop " + id)
	d.stops = append(d.stops, stopCall{container: id, grace: grace, ctxErr: ctx.Err()})
	return d.stopErr
}

func (d *fakeDocker) Remove(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("Remove " + id)
	d.removed = append(d.removed, id)
	d.ctxErrs = append(d.ctxErrs, ctx.Err())
	if d.removeErr != nil {
		return d.removeErr
	}
	if cid := d.resolve(id); cid != "" {
		name := d.specs[cid].Name
		delete(d.specs, cid)
		delete(d.byName, name)
	}
	return nil
}

func (d *fakeDocker) Labels(ctx context.Context, name string) (map[string]string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inspected = append(d.inspected, name)
	id, ok := d.byName[name]
	if !ok {
		return nil, false, nil
	}
	return maps.Clone(d.specs[id].Labels), true, nil
}

func (d *fakeDocker) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("EnsureNetwork " + name)
	if d.ensureNetErr != nil {
		return "", d.ensureNetErr
	}
	if _, ok := d.networks[name]; !ok {
		d.networks[name] = maps.Clone(labels)
	}
	return "net-" + name, nil
}

// RemoveNetwork fails, as the engine does, while a container is on the
// network.
func (d *fakeDocker) RemoveNetwork(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("RemoveNetwork " + name)
	d.removedNets = append(d.removedNets, name)
	if d.removeNetErr != nil {
		return d.removeNetErr
	}
	for _, spec := range d.specs {
		if spec.Network == name {
			return fmt.Errorf("remove network %s: container %s is attached", name, spec.Name)
		}
	}
	delete(d.networks, name)
	return nil
}

func (d *fakeDocker) networkCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.networks)
}

type fixture struct {
	exec     *Executor
	docker   *fakeDocker
	host     *jobrun.Host
	store    *lease.Store // the host's leases, for what Host does not ask of them
	job      gitlabJob    // what JOB_RESPONSE_FILE holds
	env      map[string]string
	stdout   *syncbuf.Buffer
	stderr   *syncbuf.Buffer
	monitors []string
}

const (
	testJob       = "gitlab:gitlab.example.com:1234"
	testContainer = "mlci-gitlab-gitlab-example-com-1234"
	testVolume    = "mlci-cache-gitlab-example-com-77"
	testImage     = "python:3.12"
)

// newFixture is an executor on a host with gpus mocked GPUs (0: no NVML)
// and a fake Docker, with the environment GitLab gives a job asking for
// two GPUs: job 1234 of project 77 in JOB_RESPONSE_FILE and, as GitLab
// Runner passes them, its variables as CUSTOM_ENV_.
func newFixture(t *testing.T, gpus int) *fixture {
	t.Helper()
	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.GPUWait = 0
	cfg.StopGrace = hostconfig.Duration(3 * time.Second)
	store, err := lease.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		store:  store,
		docker: newFakeDocker(),
		stdout: &syncbuf.Buffer{},
		stderr: &syncbuf.Buffer{},
		job:    newTestJob(1234, 77, "gitlab.example.com"),
		// The job's variables join these as CUSTOM_ENV_ (setJobEnv).
		env: map[string]string{
			"CUSTOM_ENV_CI_JOB_IMAGE": testImage,
			"CUSTOM_ENV_GPU_COUNT":    "2",
		},
	}
	setJobEnv(t, f.env, f.job)
	f.host = &jobrun.Host{Config: cfg, Leases: store, Log: f.stderr}
	if gpus > 0 {
		srv := gputest.NewServer(t, gpus)
		gh, err := gpu.Open(srv)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gh.Close() })
		f.host.GPUs = gh
		f.host.Kill = func(pid int) error { srv.KillProcess(uint32(pid)); return nil }
	}
	// As in mlci-runner: a lease whose container is gone has ended.
	f.host.Engine = f.docker
	f.host.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	f.exec = &Executor{
		Host:    f.host,
		Engine:  f.docker,
		Config:  cfg,
		Version: "v1.2.3",
		Getenv:  func(k string) string { return f.env[k] },
		Stdout:  f.stdout,
		Stderr:  f.stderr,
		Owner:   func() (lease.Owner, error) { return lease.Self(), nil },
		StartMonitor: func(job string) error {
			f.monitors = append(f.monitors, job)
			return nil
		},
	}
	return f
}

// setJob changes the job GitLab sent and what the stage sees of it.
func (f *fixture) setJob(t *testing.T, change func(*gitlabJob)) {
	t.Helper()
	f.job.Predefined = slices.Clone(f.job.Predefined)
	change(&f.job)
	setJobEnv(t, f.env, f.job)
}

func (f *fixture) leases(t *testing.T) []lease.Lease {
	t.Helper()
	ls, err := f.host.Leases.List()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// checkNothingLeft fails unless the host holds no lease, no job folder and
// no container.
func (f *fixture) checkNothingLeft(t *testing.T) {
	t.Helper()
	if ls := f.leases(t); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
	if _, err := os.Stat(f.host.JobDir(testJob)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job folder left: %v", err)
	}
	if n := f.docker.count(); n != 0 {
		t.Errorf("%d containers left", n)
	}
	if n := f.docker.networkCount(); n != 0 {
		t.Errorf("%d networks left", n)
	}
}

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script0", "script.")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// gitlabConfigExecOutput mirrors gitlab-runner's api.ConfigExecOutput, the
// struct config_exec's stdout is decoded into.
type gitlabConfigExecOutput struct {
	Driver *struct {
		Name    *string `json:"name,omitempty"`
		Version *string `json:"version,omitempty"`
	} `json:"driver,omitempty"`
	Hostname          *string            `json:"hostname,omitempty"`
	BuildsDir         *string            `json:"builds_dir,omitempty"`
	CacheDir          *string            `json:"cache_dir,omitempty"`
	BuildsDirIsShared *bool              `json:"builds_dir_is_shared,omitempty"`
	JobEnv            *map[string]string `json:"job_env,omitempty"`
	Shell             *string            `json:"shell,omitempty"`
}

func TestWriteConfig(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Executor{Version: "v1.2.3"}).WriteConfig(&buf); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields()
	var got gitlabConfigExecOutput
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("config output is not gitlab-runner's ConfigExecOutput: %v\n%s", err, buf.String())
	}
	if got.Driver == nil || got.Driver.Name == nil || *got.Driver.Name != "mlci-runner" || got.Driver.Version == nil || *got.Driver.Version != "v1.2.3" {
		t.Errorf("driver = %s, want mlci-runner v1.2.3", buf.String())
	}
	str := func(p *string) string {
		if p == nil {
			return "<unset>"
		}
		return *p
	}
	if str(got.BuildsDir) != "/builds" || str(got.CacheDir) != "/cache" || str(got.Shell) != "bash" {
		t.Errorf("builds_dir %s, cache_dir %s, shell %s; want /builds, /cache, bash", str(got.BuildsDir), str(got.CacheDir), str(got.Shell))
	}
	if got.BuildsDirIsShared == nil || *got.BuildsDirIsShared {
		t.Errorf("builds_dir_is_shared = %v, want false: each job has its own container", got.BuildsDirIsShared)
	}
	if got.JobEnv == nil {
		t.Fatal("no job_env")
	}
	want := map[string]string{
		"MLCI_HARDWARE_FILE":  "/mlci/hardware.json",
		"MLCI_TELEMETRY_FILE": "/mlci/telemetry.json",
	}
	if d := cmp.Diff(want, *got.JobEnv); d != "" {
		t.Errorf("job_env (-want +got):\n%s", d)
	}
	// The whole output also round-trips through the executor's own type.
	var own ConfigOutput
	if err := json.Unmarshal(buf.Bytes(), &own); err != nil {
		t.Fatal(err)
	}
	if own.BuildsDir != BuildsDir || own.CacheDir != CacheDir || own.JobEnv[jobrun.EnvHardwareFile] != jobrun.ContainerDir+"/"+jobrun.HardwareFileName {
		t.Errorf("ConfigOutput = %+v", own)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Errorf("want one JSON line, got %q", buf.String())
	}
}

func TestPrepare(t *testing.T) {
	f := newFixture(t, 8)
	if err := f.exec.Prepare(t.Context()); err != nil {
		t.Fatalf("Prepare: %v\n%s", err, f.stderr)
	}
	ls := f.leases(t)
	if len(ls) != 1 || ls[0].Job != testJob || len(ls[0].IDs) != 2 {
		t.Fatalf("leases = %+v, want one of 2 GPUs for %s", ls, testJob)
	}
	l := ls[0]
	if len(f.docker.created) != 1 {
		t.Fatalf("created %d containers, want 1", len(f.docker.created))
	}
	want := jobrun.Container{
		Name:       testContainer,
		Image:      testImage,
		Entrypoint: []string{"tail"},
		Cmd:        []string{"-f", "/dev/null"},
		Env: map[string]string{
			"MLCI_HARDWARE_FILE":  "/mlci/hardware.json",
			"MLCI_TELEMETRY_FILE": "/mlci/telemetry.json",
			"MLCI_GPU_COUNT":      "2",
		},
		Mounts: []jobrun.Mount{
			{Source: f.host.JobDir(testJob), Target: "/mlci", ReadOnly: true},
			{Source: testVolume, Target: "/cache", Volume: true},
		},
		Labels: map[string]string{"mlci.job": testJob, "mlci.owner": formatOwner(lease.Self())},
		GPUs:   l.IDs,
	}
	if d := cmp.Diff(want, f.docker.created[0]); d != "" {
		t.Errorf("container spec (-want +got):\n%s", d)
	}
	for _, id := range l.IDs {
		if !strings.HasPrefix(id, "GPU-") {
			t.Errorf("leased %q, want GPU UUIDs", id)
		}
	}
	id := f.docker.byName[testContainer]
	if l.Container != id {
		t.Errorf("lease records container %q, want %q", l.Container, id)
	}
	if !slices.Equal(f.docker.started, []string{id}) {
		t.Errorf("started %v, want [%s]", f.docker.started, id)
	}
	if !slices.Equal(f.docker.pulled, []string{testImage}) || f.docker.auths[0] != (jobrun.Auth{}) {
		t.Errorf("EnsureImage %v with %+v; want %s without credentials", f.docker.pulled, f.docker.auths, testImage)
	}
	// The old container is looked at and removed before anything else,
	// then the image is ensured before the container is created.
	if f.docker.calls[0] != "Remove "+testContainer || !slices.Equal(f.docker.inspected, []string{testContainer}) {
		t.Errorf("first call %q after inspecting %v, want the stale container inspected and removed", f.docker.calls[0], f.docker.inspected)
	}
	data, err := os.ReadFile(filepath.Join(f.host.JobDir(testJob), jobrun.HardwareFileName))
	if err != nil {
		t.Fatalf("hardware file: %v", err)
	}
	for _, g := range l.IDs {
		if !bytes.Contains(data, []byte(g)) {
			t.Errorf("hardware file lacks leased GPU %s:\n%s", g, data)
		}
	}
	if !slices.Equal(f.monitors, []string{testJob}) {
		t.Errorf("monitors started for %v, want [%s]", f.monitors, testJob)
	}
}

func TestPrepareNoGPU(t *testing.T) {
	f := newFixture(t, 0)
	delete(f.env, "CUSTOM_ENV_GPU_COUNT")
	delete(f.env, "CUSTOM_ENV_CI_JOB_IMAGE")
	f.setJob(t, func(j *gitlabJob) { j.ProjectID = 0 })
	f.exec.Config.DefaultImage = "debian:12"
	if err := f.exec.Prepare(t.Context()); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	s := f.docker.created[0]
	if s.Image != "debian:12" {
		t.Errorf("image %q, want the default image", s.Image)
	}
	if len(s.GPUs) != 0 || s.Env["MLCI_GPU_COUNT"] != "0" {
		t.Errorf("GPUs %v env %v, want none", s.GPUs, s.Env)
	}
	if len(s.Mounts) != 1 || s.Mounts[0].Target != "/mlci" {
		t.Errorf("mounts %+v, want only /mlci without a project id", s.Mounts)
	}
	if len(f.leases(t)) != 0 || len(f.monitors) != 0 {
		t.Errorf("leases %v monitors %v for a job without GPUs", f.leases(t), f.monitors)
	}
	if len(f.docker.created) != 1 || f.docker.networkCount() != 0 {
		t.Errorf("created %d containers and %d networks, want only the job container without services", len(f.docker.created), f.docker.networkCount())
	}
	f.exec.Cleanup(t.Context())
	f.checkNothingLeft(t)
}

// GitLab retries a failed prepare, and a prepare may also run again for a
// job whose container already exists.
func TestPrepareTwice(t *testing.T) {
	f := newFixture(t, 8)
	ctx := t.Context()
	if err := f.exec.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	first := f.docker.byName[testContainer]
	if err := f.exec.Prepare(ctx); err != nil {
		t.Fatalf("second Prepare: %v\n%s", err, f.stderr)
	}
	second := f.docker.byName[testContainer]
	if first == second || f.docker.exists(first) || f.docker.count() != 1 {
		t.Errorf("containers %v: want the first (%s) replaced by one new one", f.docker.byName, first)
	}
	ls := f.leases(t)
	if len(ls) != 1 || ls[0].Job != testJob || len(ls[0].IDs) != 2 || ls[0].Container != second {
		t.Errorf("leases = %+v, want one lease of 2 GPUs on container %s", ls, second)
	}
	if got := f.docker.created[1].GPUs; !slices.Equal(got, ls[0].IDs) {
		t.Errorf("new container has GPUs %v, lease %v", got, ls[0].IDs)
	}
	if _, err := os.Stat(filepath.Join(f.host.JobDir(testJob), jobrun.HardwareFileName)); err != nil {
		t.Errorf("hardware file after second prepare: %v", err)
	}
	f.exec.Cleanup(ctx)
	f.checkNothingLeft(t)
}

func TestPrepareRefused(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string // "" deletes
		job     func(*gitlabJob)
		cfg     func(*hostconfig.Config)
		wantErr string
	}{
		{name: "no job response", env: map[string]string{"JOB_RESPONSE_FILE": ""}, wantErr: "JOB_RESPONSE_FILE is not set"},
		{name: "no image", env: map[string]string{"CUSTOM_ENV_CI_JOB_IMAGE": ""}, wantErr: "add `image:` to the job"},
		{name: "bad GPU count", env: map[string]string{"CUSTOM_ENV_GPU_COUNT": "abc"}, wantErr: `GPU count "abc"`},
		{name: "bad GPU memory", env: map[string]string{"CUSTOM_ENV_GPU_MEMORY": "lots"}, wantErr: `GPU memory "lots"`},
		{name: "too many GPUs", env: map[string]string{"CUSTOM_ENV_GPU_COUNT": "9"}, wantErr: "9"},
		{name: "fork of public project", job: func(j *gitlabJob) {
			j.set("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "500")
			j.set("CI_MERGE_REQUEST_PROJECT_ID", "77")
			j.set("CI_PROJECT_VISIBILITY", "public")
		}, wantErr: "refusing a merge request from a fork of public project group/proj"},
		{name: "fork of public project, other project allowed", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
		}, cfg: func(c *hostconfig.Config) { c.AllowForkRepos = []string{"group/other"} }, wantErr: "allow_fork_repos"},
		{name: "fork, visibility not GitLab's", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "")
		}, wantErr: "refusing a merge request from a fork"},
		{name: "merge request with one project id", job: func(j *gitlabJob) {
			j.set("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "500")
			j.set("CI_PROJECT_VISIBILITY", "public")
		}, wantErr: "refusing a merge request from a fork"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 8)
			if tt.job != nil {
				f.setJob(t, tt.job)
			}
			for k, v := range tt.env {
				if v == "" {
					delete(f.env, k)
				} else {
					f.env[k] = v
				}
			}
			if tt.cfg != nil {
				tt.cfg(&f.exec.Config)
			}
			err := f.exec.Prepare(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Prepare = %v, want an error containing %q", err, tt.wantErr)
			}
			var be *BuildError
			if errors.As(err, &be) {
				t.Errorf("Prepare error is a BuildError; want a system failure")
			}
			if len(f.docker.created) != 0 || len(f.docker.started) != 0 {
				t.Errorf("docker calls %v for a refused job", f.docker.calls)
			}
			f.checkNothingLeft(t)
		})
	}
}

func TestPrepareForkAllowed(t *testing.T) {
	fork := map[string]string{
		"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "500",
		"CI_MERGE_REQUEST_PROJECT_ID":        "77",
		"CI_MERGE_REQUEST_PROJECT_PATH":      "Group/Proj",
	}
	tests := []struct {
		name       string
		visibility string
		cfg        func(*hostconfig.Config)
		vars       map[string]string // predefined, as GitLab sends them
	}{
		{name: "private project", visibility: "private", vars: fork},
		{name: "internal project", visibility: "internal", vars: fork},
		{name: "public project listed", visibility: "public", vars: fork,
			cfg: func(c *hostconfig.Config) { c.AllowForkRepos = []string{"group/proj"} }},
		{name: "public project, all forks allowed", visibility: "public", vars: fork,
			cfg: func(c *hostconfig.Config) { c.AllowForkJobs = true }},
		{name: "public project, same-project merge request", visibility: "public", vars: map[string]string{
			"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "77",
			"CI_MERGE_REQUEST_PROJECT_ID":        "77",
		}},
		{name: "public project, branch pipeline", visibility: "public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 8)
			f.setJob(t, func(j *gitlabJob) {
				for k, v := range tt.vars {
					j.set(k, v)
				}
				j.set("CI_PROJECT_VISIBILITY", tt.visibility)
			})
			if tt.cfg != nil {
				tt.cfg(&f.exec.Config)
			}
			if err := f.exec.Prepare(t.Context()); err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if f.docker.count() != 1 || len(f.leases(t)) != 1 {
				t.Errorf("containers %d leases %v, want the job started", f.docker.count(), f.leases(t))
			}
		})
	}
}

func TestRegistryAuth(t *testing.T) {
	creds := jobrun.Auth{Username: "gitlab-ci-token", Password: "secret", ServerAddress: "registry.example.com:5050"}
	tests := []struct {
		image string
		want  jobrun.Auth
	}{
		{image: "registry.example.com:5050/group/proj/ci:1", want: creds},
		{image: "registry.example.com:5050/group/proj@sha256:0123", want: creds},
		{image: "python:3.12"},
		{image: "docker.io/library/alpine:3"},
		{image: "registry.example.com:5050.evil.example/group/proj:1"},
		{image: "registry.example.com/group/proj:1"},
		{image: "evil.example/registry.example.com:5050/x"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			f := newFixture(t, 0)
			delete(f.env, "CUSTOM_ENV_GPU_COUNT")
			f.env["CUSTOM_ENV_CI_JOB_IMAGE"] = tt.image
			f.env["CUSTOM_ENV_CI_REGISTRY"] = "registry.example.com:5050"
			f.env["CUSTOM_ENV_CI_REGISTRY_USER"] = "gitlab-ci-token"
			f.env["CUSTOM_ENV_CI_REGISTRY_PASSWORD"] = "secret"
			if err := f.exec.Prepare(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(f.docker.auths) != 1 || f.docker.auths[0] != tt.want {
				t.Errorf("auth sent %+v, want %+v", f.docker.auths, tt.want)
			}
		})
	}
	t.Run("no registry", func(t *testing.T) {
		f := newFixture(t, 0)
		delete(f.env, "CUSTOM_ENV_GPU_COUNT")
		f.env["CUSTOM_ENV_CI_JOB_IMAGE"] = "registry.example.com:5050/group/proj:1"
		f.env["CUSTOM_ENV_CI_REGISTRY_PASSWORD"] = "secret"
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		if f.docker.auths[0] != (jobrun.Auth{}) {
			t.Errorf("auth sent %+v without CI_REGISTRY", f.docker.auths[0])
		}
	})
}

// A failure after the GPUs are leased must not keep them leased: GitLab
// may not call cleanup after a failed prepare, and retries it.
func TestPrepareFailureLeavesNoLease(t *testing.T) {
	boom := errors.New("engine said no")
	tests := []struct {
		name   string
		inject func(d *fakeDocker)
	}{
		{name: "image", inject: func(d *fakeDocker) { d.ensureErr = boom }},
		{name: "create", inject: func(d *fakeDocker) { d.createErr = boom }},
		{name: "start", inject: func(d *fakeDocker) { d.startErr = boom }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 8)
			tt.inject(f.docker)
			err := f.exec.Prepare(t.Context())
			if !errors.Is(err, boom) {
				t.Fatalf("Prepare = %v, want %v", err, boom)
			}
			f.checkNothingLeft(t)
			// All 8 GPUs are free again: another job can take them.
			f.docker.ensureErr, f.docker.createErr, f.docker.startErr = nil, nil, nil
			f.env["CUSTOM_ENV_GPU_COUNT"] = "8"
			if err := f.exec.Prepare(t.Context()); err != nil {
				t.Fatalf("retried Prepare: %v", err)
			}
		})
	}
	t.Run("remove", func(t *testing.T) {
		f := newFixture(t, 8)
		f.docker.removeErr = boom
		if err := f.exec.Prepare(t.Context()); !errors.Is(err, boom) {
			t.Fatalf("Prepare = %v, want %v", err, boom)
		}
		if ls := f.leases(t); len(ls) != 0 {
			t.Errorf("leases left: %+v", ls)
		}
	})
}

func TestRun(t *testing.T) {
	const script = "#!/usr/bin/env bash\necho hello from the job\nexit 3\n"
	for _, tt := range []struct {
		code int
		want error
	}{{code: 0}, {code: 3, want: &BuildError{Code: 3}}, {code: 42, want: &BuildError{Code: 42}}} {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			f := newFixture(t, 8)
			if err := f.exec.Prepare(t.Context()); err != nil {
				t.Fatal(err)
			}
			f.docker.execCode = tt.code
			f.docker.execOut = "job output\n"
			path := writeScript(t, script)
			err := f.exec.Run(t.Context(), path, "build_script")
			var be *BuildError
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Run = %v, want nil", err)
			case tt.want != nil && (!errors.As(err, &be) || be.Code != tt.code):
				t.Fatalf("Run = %#v, want BuildError{%d}", err, tt.code)
			}
			if be != nil && !strings.Contains(be.Error(), fmt.Sprint(tt.code)) {
				t.Errorf("BuildError message %q lacks the code", be.Error())
			}
			if len(f.docker.execs) != 1 {
				t.Fatalf("execs = %+v, want 1", f.docker.execs)
			}
			e := f.docker.execs[0]
			if e.container != testContainer {
				t.Errorf("exec in %q, want %q", e.container, testContainer)
			}
			if e.stdin != script {
				t.Errorf("stdin = %q, want the script file", e.stdin)
			}
			if len(e.cmd) == 0 || e.cmd[0] != "sh" {
				t.Errorf("cmd = %q, want a shell reading stdin", e.cmd)
			}
			if f.stdout.String() != "job output\n" {
				t.Errorf("stdout = %q, want the job's output", f.stdout)
			}
			if len(f.docker.stops) != 0 {
				t.Errorf("stopped %+v after a normal run", f.docker.stops)
			}
		})
	}
}

func TestRunSystemFailures(t *testing.T) {
	t.Run("no container", func(t *testing.T) {
		f := newFixture(t, 8)
		err := f.exec.Run(t.Context(), writeScript(t, "true\n"), "build_script")
		var be *BuildError
		if err == nil || errors.As(err, &be) || !strings.Contains(err.Error(), "build_script") {
			t.Errorf("Run without container = %v, want a system failure naming the stage", err)
		}
	})
	t.Run("exec error", func(t *testing.T) {
		f := newFixture(t, 8)
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("engine gone")
		f.docker.execErr = boom
		err := f.exec.Run(t.Context(), writeScript(t, "true\n"), "get_sources")
		var be *BuildError
		if !errors.Is(err, boom) || errors.As(err, &be) {
			t.Errorf("Run = %v, want %v as a system failure", err, boom)
		}
	})
	t.Run("missing script", func(t *testing.T) {
		f := newFixture(t, 8)
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		err := f.exec.Run(t.Context(), filepath.Join(t.TempDir(), "nope"), "build_script")
		if !errors.Is(err, os.ErrNotExist) || len(f.docker.execs) != 0 {
			t.Errorf("Run = %v, execs %v; want a not-exist error and no exec", err, f.docker.execs)
		}
	})
	t.Run("no job response", func(t *testing.T) {
		f := newFixture(t, 8)
		delete(f.env, "JOB_RESPONSE_FILE")
		err := f.exec.Run(t.Context(), writeScript(t, "true\n"), "build_script")
		if err == nil || !strings.Contains(err.Error(), "JOB_RESPONSE_FILE") {
			t.Errorf("Run = %v", err)
		}
	})
}

// GitLab sends SIGTERM on cancel or timeout (ctx ends): the container gets
// the configured grace to stop, and the stage fails as a system failure.
func TestRunCancelled(t *testing.T) {
	f := newFixture(t, 8)
	if err := f.exec.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.docker.execBlock = true
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.exec.Run(ctx, writeScript(t, "sleep 1000\n"), "build_script") }()
	select {
	case <-f.docker.execStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("exec never started")
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	var be *BuildError
	if !errors.Is(err, context.Canceled) || errors.As(err, &be) {
		t.Errorf("Run = %v, want a cancelled system failure", err)
	}
	f.docker.mu.Lock()
	stops := slices.Clone(f.docker.stops)
	f.docker.mu.Unlock()
	want := []stopCall{{container: testContainer, grace: 3 * time.Second}}
	if d := cmp.Diff(want, stops, cmp.AllowUnexported(stopCall{})); d != "" {
		t.Errorf("stops (-want +got); the stop context must still be live:\n%s", d)
	}
	if !strings.Contains(f.stderr.String(), "cancelled") {
		t.Errorf("stderr %q does not say the stage was cancelled", f.stderr)
	}
	// A failing stop is logged, not fatal.
	f.docker.stopErr = errors.New("stop failed")
	f.docker.execStarted = make(chan struct{})
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := f.exec.Run(ctx2, writeScript(t, "true\n"), "after_script"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if !strings.Contains(f.stderr.String(), "stop failed") {
		t.Errorf("stderr %q does not report the failed stop", f.stderr)
	}
}

func TestCleanup(t *testing.T) {
	f := newFixture(t, 8)
	ctx := t.Context()
	if err := f.exec.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	leased := f.leases(t)[0].IDs
	f.exec.Cleanup(ctx)
	f.checkNothingLeft(t)
	if !slices.Contains(f.docker.removed, testContainer) {
		t.Errorf("removed %v, want %s", f.docker.removed, testContainer)
	}
	if !strings.Contains(f.stderr.String(), "released "+strings.Join(leased, ",")) {
		t.Errorf("stderr %q does not report the released GPUs", f.stderr)
	}
	// Cleanup again (GitLab may) is harmless.
	f.exec.Cleanup(ctx)
	f.checkNothingLeft(t)
}

func TestCleanupNeverFails(t *testing.T) {
	t.Run("docker fails", func(t *testing.T) {
		f := newFixture(t, 8)
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		f.docker.removeErr = errors.New("engine on fire")
		f.exec.Cleanup(t.Context())
		if ls := f.leases(t); len(ls) != 0 {
			t.Errorf("leases left when Docker fails: %+v", ls)
		}
		if !strings.Contains(f.stderr.String(), "engine on fire") {
			t.Errorf("stderr %q does not report Docker's error", f.stderr)
		}
	})
	t.Run("no job response", func(t *testing.T) {
		f := newFixture(t, 8)
		delete(f.env, "JOB_RESPONSE_FILE")
		f.exec.Cleanup(t.Context())
		if len(f.docker.calls) != 0 {
			t.Errorf("docker calls %v without a job", f.docker.calls)
		}
	})
	t.Run("never prepared", func(t *testing.T) {
		f := newFixture(t, 8)
		f.exec.Cleanup(t.Context())
		f.checkNothingLeft(t)
	})
	t.Run("cancelled context", func(t *testing.T) {
		f := newFixture(t, 8)
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		f.exec.Cleanup(ctx)
		if ls := f.leases(t); len(ls) != 0 {
			t.Errorf("leases left after a cancelled cleanup: %+v", ls)
		}
		// The GPUs were cleaned, not quarantined for want of time.
		if q, err := f.store.Quarantined(); err != nil || len(q) != 0 {
			t.Errorf("quarantined %v, %v after a cancelled cleanup", q, err)
		}
		if f.docker.ctxErrs[len(f.docker.ctxErrs)-1] != nil {
			t.Error("the container was removed with a cancelled context")
		}
		f.checkNothingLeft(t)
	})
}

func TestContainerNameAndKey(t *testing.T) {
	tests := []struct {
		host     string
		id       int64
		job, key string
	}{
		{"gitlab.example.com", 1234, "gitlab:gitlab.example.com:1234", "mlci-gitlab-gitlab-example-com-1234"},
		{"10.0.0.7", 7, "gitlab:10.0.0.7:7", "mlci-gitlab-10-0-0-7-7"},
	}
	for _, tt := range tests {
		id, err := parseIdentity(newTestJob(tt.id, 1, tt.host).JSON())
		if err != nil || id.Key != tt.job {
			t.Errorf("key = %q, %v; want %q", id.Key, err, tt.job)
		}
		if n := containerName(id.Key); n != tt.key {
			t.Errorf("containerName(%q) = %q, want %q", id.Key, n, tt.key)
		}
	}
	// Jobs of two GitLab instances with the same id stay apart.
	if containerName("gitlab:a.example:1") == containerName("gitlab:b.example:1") {
		t.Error("two instances' jobs share a container name")
	}
}

// errNotExecutor answers the Engine methods only the GitHub hook uses, so
// the executor starting to use one fails its tests until the fake learns it.
var errNotExecutor = errors.New("fakeDocker: the executor does not use this engine method")

func (d *fakeDocker) BuildImage(ctx context.Context, dockerfile string, log io.Writer) (string, error) {
	return "", errNotExecutor
}

func (d *fakeDocker) ImagePathEnv(ctx context.Context, ref string) (string, error) {
	return "", errNotExecutor
}

func (d *fakeDocker) Run(ctx context.Context, spec jobrun.Container, stdout, stderr io.Writer) (int, error) {
	return -1, errNotExecutor
}

func (d *fakeDocker) IsAlpine(ctx context.Context, id string) (bool, error) {
	return false, errNotExecutor
}

func (d *fakeDocker) PortBindings(ctx context.Context, id string) ([]jobrun.PortBinding, error) {
	return nil, errNotExecutor
}

func (d *fakeDocker) PathEnv(ctx context.Context, id string) (string, error) {
	return "", errNotExecutor
}

func (d *fakeDocker) Check(ctx context.Context, c jobrun.Container) error {
	return errNotExecutor
}

func (d *fakeDocker) IsControlSocket(hostPath string) bool {
	return false
}

// Gone says a container is gone once the fake holds it no more, as
// mlci-runner's engine does: a lease whose container is gone has ended.
func (d *fakeDocker) Gone(ctx context.Context, id string) bool {
	return !d.exists(id)
}

func (d *fakeDocker) DatasetVolume(ctx context.Context, digest, srcDir, image string) (string, error) {
	return "", errNotExecutor
}

func (d *fakeDocker) RemoveLabelled(ctx context.Context, key, value string) error {
	return errNotExecutor
}
