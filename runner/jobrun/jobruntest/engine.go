// Package jobruntest is an in-memory jobrun.Engine for tests: containers,
// networks and images are records, and a command run in a container is a
// function the test gives. It judges nothing, so it is no stand-in for an
// engine's policy, only for its bookkeeping.
package jobruntest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mlci/mlci/runner/jobrun"
)

// Container is a container the engine holds.
type Container struct {
	ID string
	jobrun.Container
	Running bool
}

// ExecCall is one Exec the engine ran.
type ExecCall struct {
	Container string // the id
	jobrun.Exec
}

// Engine is an in-memory jobrun.Engine. The zero value is not ready: use
// New.
type Engine struct {
	// ExecFunc answers each Exec in a running container; nil: exit 0.
	ExecFunc func(ctx context.Context, c Container, e jobrun.Exec) (int, error)
	// RunFunc answers each Run; nil: exit 0.
	RunFunc func(ctx context.Context, c jobrun.Container, stdout, stderr io.Writer) (int, error)

	mu         sync.Mutex
	nextID     int
	containers map[string]*Container
	networks   map[string]map[string]string
	images     map[string]jobrun.Auth
	execs      []ExecCall
}

var _ jobrun.Engine = (*Engine)(nil)

// New returns an empty engine.
func New() *Engine {
	return &Engine{
		containers: map[string]*Container{},
		networks:   map[string]map[string]string{},
		images:     map[string]jobrun.Auth{},
	}
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Containers returns what the engine holds, by id.
func (e *Engine) Containers() []Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Container, 0, len(e.containers))
	for _, id := range slices.Sorted(maps.Keys(e.containers)) {
		out = append(out, *e.containers[id])
	}
	return out
}

// Networks returns the names of the networks the engine holds.
func (e *Engine) Networks() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(maps.Keys(e.networks))
}

// Images returns the images pulled, with the credentials they were pulled
// with.
func (e *Engine) Images() map[string]jobrun.Auth {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.images)
}

// Execs returns every Exec, in order.
func (e *Engine) Execs() []ExecCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.execs)
}

// find resolves an id or a name; nil when there is none.
func (e *Engine) find(ref string) *Container {
	if c, ok := e.containers[ref]; ok {
		return c
	}
	for _, c := range e.containers {
		if c.Name != "" && c.Name == ref {
			return c
		}
	}
	return nil
}

// EnsureImage records ref as pulled.
func (e *Engine) EnsureImage(ctx context.Context, ref string, auth jobrun.Auth) error {
	if ref == "" {
		return fmt.Errorf("jobruntest: no image given")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[ref] = auth
	return nil
}

// BuildImage names the image after the Dockerfile's folder.
func (e *Engine) BuildImage(ctx context.Context, dockerfile string, log io.Writer) (string, error) {
	tag := "jobruntest-" + filepath.Base(filepath.Dir(dockerfile)) + ":latest"
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[tag] = jobrun.Auth{}
	return tag, nil
}

// ImagePathEnv is the usual default PATH.
func (e *Engine) ImagePathEnv(ctx context.Context, ref string) (string, error) {
	return defaultPath, nil
}

// Check accepts everything but an options string, which this engine
// cannot read.
func (e *Engine) Check(ctx context.Context, c jobrun.Container) error {
	if c.Options != "" {
		return fmt.Errorf("jobruntest: container options %q are not supported", c.Options)
	}
	return nil
}

// IsControlSocket is false: nothing on the host controls this engine.
func (e *Engine) IsControlSocket(hostPath string) bool { return false }

// Create records c, refusing a taken name, an unknown network or image.
func (e *Engine) Create(ctx context.Context, c jobrun.Container) (string, error) {
	if err := e.Check(ctx, c); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.images[c.Image]; !ok {
		return "", fmt.Errorf("jobruntest: image %s was not pulled", c.Image)
	}
	if c.Name != "" && e.find(c.Name) != nil {
		return "", fmt.Errorf("jobruntest: the name %s is taken", c.Name)
	}
	if _, ok := e.networks[c.Network]; c.Network != "" && !ok {
		return "", fmt.Errorf("jobruntest: no network %s", c.Network)
	}
	e.nextID++
	id := fmt.Sprintf("ctr%04d", e.nextID)
	e.containers[id] = &Container{ID: id, Container: c}
	return id, nil
}

// Start marks a container running.
func (e *Engine) Start(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.find(id)
	if c == nil {
		return fmt.Errorf("jobruntest: no container %s", id)
	}
	c.Running = true
	return nil
}

// WaitHealthy answers at once: containers here have no health check.
func (e *Engine) WaitHealthy(ctx context.Context, id string, timeout time.Duration) error {
	return e.running(id)
}

// WaitPorts answers at once: ports here are open once a container runs.
func (e *Engine) WaitPorts(ctx context.Context, id, network string, timeout time.Duration) error {
	return e.running(id)
}

func (e *Engine) running(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(id); c == nil || !c.Running {
		return fmt.Errorf("jobruntest: container %s is not running", id)
	}
	return nil
}

// Exec records x and answers it with ExecFunc.
func (e *Engine) Exec(ctx context.Context, id string, x jobrun.Exec) (int, error) {
	e.mu.Lock()
	c := e.find(id)
	if c == nil || !c.Running {
		e.mu.Unlock()
		return -1, fmt.Errorf("jobruntest: container %s is not running", id)
	}
	e.execs = append(e.execs, ExecCall{Container: c.ID, Exec: x})
	snapshot, fn := *c, e.ExecFunc
	e.mu.Unlock()
	if fn == nil {
		return 0, nil
	}
	return fn(ctx, snapshot, x)
}

// Run answers c with RunFunc; it holds no container afterwards.
func (e *Engine) Run(ctx context.Context, c jobrun.Container, stdout, stderr io.Writer) (int, error) {
	if err := e.Check(ctx, c); err != nil {
		return -1, err
	}
	e.mu.Lock()
	fn := e.RunFunc
	e.mu.Unlock()
	if fn == nil {
		return 0, nil
	}
	return fn(ctx, c, stdout, stderr)
}

// Stop marks a container stopped; one that is gone is stopped.
func (e *Engine) Stop(ctx context.Context, id string, grace time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(id); c != nil {
		c.Running = false
	}
	return nil
}

// Remove forgets a container; one that is gone is removed.
func (e *Engine) Remove(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.find(id); c != nil {
		delete(e.containers, c.ID)
	}
	return nil
}

// Gone reports whether the engine holds no container id.
func (e *Engine) Gone(ctx context.Context, id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.find(id) == nil
}

// IsAlpine is false.
func (e *Engine) IsAlpine(ctx context.Context, id string) (bool, error) {
	return false, e.exists(id)
}

// PortBindings is none: nothing here is published on the host.
func (e *Engine) PortBindings(ctx context.Context, id string) ([]jobrun.PortBinding, error) {
	return []jobrun.PortBinding{}, e.exists(id)
}

// PathEnv is the usual default PATH.
func (e *Engine) PathEnv(ctx context.Context, id string) (string, error) {
	return defaultPath, e.exists(id)
}

func (e *Engine) exists(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.find(id) == nil {
		return fmt.Errorf("jobruntest: no container %s", id)
	}
	return nil
}

// Labels returns the labels of the container called name.
func (e *Engine) Labels(ctx context.Context, name string) (map[string]string, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.find(name)
	if c == nil {
		return nil, false, nil
	}
	return maps.Clone(c.Labels), true, nil
}

// EnsureNetwork records the network unless it exists.
func (e *Engine) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.networks[name]; !ok {
		e.networks[name] = maps.Clone(labels)
	}
	return "net-" + name, nil
}

// RemoveNetwork forgets a network no container is on.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.removeNetwork(name)
}

func (e *Engine) removeNetwork(name string) error {
	for _, c := range e.containers {
		if c.Network == name {
			return fmt.Errorf("jobruntest: network %s has container %s on it", name, c.ID)
		}
	}
	delete(e.networks, name)
	return nil
}

// RemoveLabelled forgets the containers, then the networks, labelled
// key=value.
func (e *Engine) RemoveLabelled(ctx context.Context, key, value string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, c := range e.containers {
		if v, ok := c.Labels[key]; ok && v == value {
			delete(e.containers, id)
		}
	}
	for name, labels := range e.networks {
		if v, ok := labels[key]; ok && v == value {
			if err := e.removeNetwork(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// DatasetVolume names a volume after the digest; nothing is copied.
func (e *Engine) DatasetVolume(ctx context.Context, digest, srcDir, image string) (string, error) {
	if len(digest) > 24 {
		digest = digest[:24]
	}
	return "jobruntest-data-" + digest, nil
}
