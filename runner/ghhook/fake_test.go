package ghhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-connections/nat"

	"github.com/mlci/mlci/internal/syncbuf"
	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/dockerjob/dockerengine"
	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// fakeDocker is an in-memory Docker Engine: it records every call, keeps
// the containers and networks that exist, and fails where a test says so.
// It judges containers with dockerengine's translation and dockerjob's
// Compose, as the real engine does before it creates anything, and records
// them as the dockerjob.Spec the real engine would get.
type fakeDocker struct {
	mu sync.Mutex

	calls      []string
	healthErr  error // what WaitHealthy answers
	images     []string
	auths      []jobrun.Auth
	specs      []dockerjob.Spec // every Create, in order
	runs       []dockerjob.Spec // every Run, in order
	execs      []jobrun.Exec
	execIDs    []string
	removed    []string
	containers map[string]dockerjob.Spec // created and not removed
	started    map[string]bool
	networks   map[string]map[string]string
	nextID     int
	nextPort   int // the next host port the engine picks for "-p 80"

	// Knobs.
	alpine    bool
	path      string // what PathEnv answers
	execCode  int
	execOut   string
	runCode   int
	runOut    string
	createErr func(spec dockerjob.Spec) error
	startErr  func(id string) error
	removeErr error
	// volume answers DatasetVolume; nil: no dataset support.
	volume func(ctx context.Context, digest, srcDir, image string) (string, error)
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{
		containers: map[string]dockerjob.Spec{},
		started:    map[string]bool{},
		networks:   map[string]map[string]string{},
		path:       "/usr/local/bin:/usr/bin:/bin",
		nextPort:   32768,
	}
}

func (f *fakeDocker) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeDocker) EnsureImage(ctx context.Context, ref string, auth jobrun.Auth) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureImage %s", ref)
	f.images = append(f.images, ref)
	f.auths = append(f.auths, auth)
	return nil
}

func (f *fakeDocker) Check(ctx context.Context, c jobrun.Container) error {
	return dockerengine.Check(c)
}

func (f *fakeDocker) IsControlSocket(hostPath string) bool {
	return dockerjob.IsDockerSocket(hostPath)
}

func (f *fakeDocker) Create(ctx context.Context, c jobrun.Container) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Create %s", c.Image)
	spec, err := dockerengine.Spec(c)
	if err != nil {
		return "", err
	}
	f.specs = append(f.specs, spec)
	// Compose is what the real client runs first; a spec it refuses would
	// never reach the engine.
	if _, err := dockerjob.Compose(spec); err != nil {
		return "", err
	}
	if f.createErr != nil {
		if err := f.createErr(spec); err != nil {
			return "", err
		}
	}
	f.nextID++
	id := fmt.Sprintf("ctr%02d", f.nextID)
	f.containers[id] = spec
	return id, nil
}

func (f *fakeDocker) WaitHealthy(ctx context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("WaitHealthy %s", id)
	return f.healthErr
}

func (f *fakeDocker) Start(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Start %s", id)
	if f.startErr != nil {
		if err := f.startErr(id); err != nil {
			return err
		}
	}
	if _, ok := f.containers[id]; !ok {
		return fmt.Errorf("no such container %s", id)
	}
	f.started[id] = true
	return nil
}

func (f *fakeDocker) Exec(ctx context.Context, id string, e jobrun.Exec) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Exec %s %s", id, strings.Join(e.Cmd, " "))
	f.execs = append(f.execs, e)
	f.execIDs = append(f.execIDs, id)
	if !f.started[id] {
		return -1, fmt.Errorf("container %s is not running", id)
	}
	if e.Stdout != nil && f.execOut != "" {
		_, _ = io.WriteString(e.Stdout, f.execOut)
	}
	return f.execCode, nil
}

func (f *fakeDocker) Run(ctx context.Context, c jobrun.Container, stdout, stderr io.Writer) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Run %s", c.Image)
	spec, err := dockerengine.Spec(c)
	if err != nil {
		return -1, err
	}
	f.runs = append(f.runs, spec)
	if _, err := dockerjob.Compose(spec); err != nil {
		return -1, err
	}
	if stdout != nil && f.runOut != "" {
		_, _ = io.WriteString(stdout, f.runOut)
	}
	return f.runCode, nil
}

func (f *fakeDocker) Remove(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Remove %s", id)
	f.removed = append(f.removed, id)
	if f.removeErr != nil {
		return f.removeErr
	}
	delete(f.containers, id)
	delete(f.started, id)
	return nil
}

func (f *fakeDocker) IsAlpine(ctx context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("IsAlpine %s", id)
	return f.alpine, nil
}

// PortBindings answers what the engine publishes for the container's spec:
// each port on IPv4 and IPv6, a port without a host port on one the engine
// picks.
func (f *fakeDocker) PortBindings(ctx context.Context, id string) ([]jobrun.PortBinding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("PortBindings %s", id)
	spec, ok := f.containers[id]
	if !ok {
		return nil, fmt.Errorf("no such container %s", id)
	}
	_, bindings, err := nat.ParsePortSpecs(spec.Ports)
	if err != nil {
		return nil, err
	}
	out := []jobrun.PortBinding{}
	for port, bs := range bindings {
		for _, b := range bs {
			hp := b.HostPort
			if hp == "" {
				hp = strconv.Itoa(f.nextPort)
				f.nextPort++
			}
			ips := []string{"0.0.0.0", "::"}
			if b.HostIP != "" {
				ips = []string{b.HostIP}
			}
			for _, ip := range ips {
				out = append(out, jobrun.PortBinding{Port: string(port), HostIP: ip, HostPort: hp})
			}
		}
	}
	return out, nil
}

func (f *fakeDocker) PathEnv(ctx context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("PathEnv %s", id)
	return f.path, nil
}

func (f *fakeDocker) BuildImage(ctx context.Context, dockerfile string, log io.Writer) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("BuildImage %s", dockerfile)
	return "built-" + filepath.Base(filepath.Dir(dockerfile)) + ":latest", nil
}

func (f *fakeDocker) ImagePathEnv(ctx context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ImagePathEnv %s", ref)
	return f.path, nil
}

func (f *fakeDocker) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureNetwork %s", name)
	f.networks[name] = labels
	return "net-" + name, nil
}

func (f *fakeDocker) RemoveNetwork(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("RemoveNetwork %s", name)
	return f.removeNetwork(name)
}

// removeNetwork refuses, as the engine does, while a container is attached.
func (f *fakeDocker) removeNetwork(name string) error {
	for id, spec := range f.containers {
		if spec.Network == name {
			return fmt.Errorf("network %s has active endpoints (%s)", name, id)
		}
	}
	delete(f.networks, name)
	return nil
}

func (f *fakeDocker) RemoveLabelled(ctx context.Context, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("RemoveLabelled %s=%s", key, value)
	if f.removeErr != nil {
		return f.removeErr
	}
	for id, spec := range f.containers {
		if v, ok := spec.Labels[key]; ok && v == value {
			f.removed = append(f.removed, id)
			delete(f.containers, id)
			delete(f.started, id)
		}
	}
	var errs []error
	for name, labels := range f.networks {
		if v, ok := labels[key]; ok && v == value {
			errs = append(errs, f.removeNetwork(name))
		}
	}
	return errors.Join(errs...)
}

// Gone says a container is gone once the fake holds it no more.
func (f *fakeDocker) Gone(ctx context.Context, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.containers[id]
	return !ok
}

func (f *fakeDocker) DatasetVolume(ctx context.Context, digest, srcDir, image string) (string, error) {
	if f.volume == nil {
		return "", errors.New("fakeDocker: no dataset volumes")
	}
	return f.volume(ctx, digest, srcDir, image)
}

// errNotHook answers the Engine methods only the GitLab executor uses, so
// the hook starting to use one fails its tests until the fake learns it.
var errNotHook = errors.New("fakeDocker: the hook does not use this engine method")

func (f *fakeDocker) WaitPorts(ctx context.Context, id, network string, timeout time.Duration) error {
	return errNotHook
}

func (f *fakeDocker) Stop(ctx context.Context, id string, grace time.Duration) error {
	return errNotHook
}

func (f *fakeDocker) Labels(ctx context.Context, name string) (map[string]string, bool, error) {
	return nil, false, errNotHook
}

// live reports what the fake engine still holds.
func (f *fakeDocker) live() (containers, networks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.containers), len(f.networks)
}

func (f *fakeDocker) callCount(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// fixture is a Hook on a host with a lease store in a temp dir and, when
// gpus > 0, that many mocked GPUs.
type fixture struct {
	hook   *Hook
	host   *jobrun.Host
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	work   string // the runner's _work folder
	ext    string // the runner's externals folder
	env    map[string]string
}

func newHostFixture(t testing.TB, gpus int, d jobrun.Engine) *fixture {
	t.Helper()
	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.GPUWait = 0
	store, err := lease.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	host := &jobrun.Host{Config: cfg, Leases: store}
	if gpus > 0 {
		g, err := gpu.Open(gputest.NewServer(t, gpus))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		host.GPUs = g
	}
	host.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	fx := &fixture{host: host, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, env: map[string]string{}}
	host.Log = fx.stderr
	fx.hook = &Hook{
		Host:   host,
		Engine: d,
		Config: cfg,
		Stdout: fx.stdout,
		Stderr: fx.stderr,
		Getenv: func(k string) string { return fx.env[k] },
		Owner:  func() (lease.Owner, error) { return lease.Self(), nil },
	}
	root := t.TempDir()
	fx.work = filepath.Join(root, "_work")
	fx.ext = filepath.Join(root, "externals")
	for _, d := range []string{
		fx.ext,
		filepath.Join(fx.work, "repo", "repo"),
		filepath.Join(fx.work, "_temp", "_github_home"),
		filepath.Join(fx.work, "_temp", "_github_workflow"),
		filepath.Join(fx.work, "_temp", "_runner_hook_responses"),
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

// responseFile creates the empty file the runner makes before each call.
func (fx *fixture) responseFile(t testing.TB) string {
	t.Helper()
	f, err := os.CreateTemp(filepath.Join(fx.work, "_temp", "_runner_hook_responses"), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

// input reads a recorded runner input from testdata and fills in this
// fixture's folders, the response file and the state from an earlier
// response ("<state>" stands for a JSON value, quotes included).
func (fx *fixture) input(t testing.TB, name, responseFile string, state json.RawMessage) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if state == nil {
		state = json.RawMessage("{}")
	}
	s := strings.NewReplacer(
		`"<state>"`, string(state),
		"<work>", fx.work,
		"<externals>", fx.ext,
		"<responseFile>", responseFile,
	).Replace(string(data))
	if !json.Valid([]byte(s)) {
		t.Fatalf("templated %s is not JSON:\n%s", name, s)
	}
	return []byte(s)
}

// edit decodes a recorded input, lets fn change it and encodes it again.
func edit(t testing.TB, in []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(in, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jobContainer returns the job container part of a prepare_job input.
func jobContainer(m map[string]any) map[string]any {
	return m["args"].(map[string]any)["container"].(map[string]any)
}

func setEnv(m map[string]any, k, v string) {
	c := jobContainer(m)
	env, _ := c["environmentVariables"].(map[string]any)
	if env == nil {
		env = map[string]any{}
		c["environmentVariables"] = env
	}
	env[k] = v
}

func noServices(m map[string]any) {
	m["args"].(map[string]any)["services"] = []any{}
}

// prepare runs prepare_job with the recorded input as changed by fns and
// returns the raw response and its state.
func (fx *fixture) prepare(t testing.TB, ctx context.Context, fns ...func(map[string]any)) (raw []byte, state json.RawMessage, err error) {
	t.Helper()
	rf := fx.responseFile(t)
	in := fx.input(t, "prepare_job.json", rf, nil)
	for _, fn := range fns {
		in = edit(t, in, fn)
	}
	if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
		return nil, nil, err
	}
	raw, rerr := os.ReadFile(rf)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var resp struct {
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("prepare_job response is not JSON: %v\n%s", err, raw)
	}
	return raw, resp.State, nil
}

func (fx *fixture) leases(t testing.TB) []lease.Lease {
	t.Helper()
	ls, err := fx.host.Leases.List()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// jobDirs lists the job folders left under the state dir.
func (fx *fixture) jobDirs(t testing.TB) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(fx.host.Config.StateDir, "jobs"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func decodeState(t testing.TB, raw json.RawMessage) State {
	t.Helper()
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("state: %v\n%s", err, raw)
	}
	return st
}
