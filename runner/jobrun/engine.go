package jobrun

import (
	"context"
	"io"
	"path"
	"strings"
	"time"
)

// Engine is what the GitHub hook (ghhook) and the GitLab executor (glexec)
// need of a container engine to run a job's containers. It speaks only the
// neutral types below, so an engine other than Docker (Kubernetes, say) can
// sit beside dockerengine.Engine without either front end changing. The
// engine owns its security policy: which options, mounts and variables a job
// may use, and how its mounts are made, is for Check and Create to decide.
type Engine interface {
	Images
	Containers
	Networks
	HostEngine
}

// Images are the engine's image store.
type Images interface {
	// EnsureImage pulls ref unless the engine already has it; auth may be
	// zero (anonymous).
	EnsureImage(ctx context.Context, ref string, auth Auth) error
	// BuildImage builds the Dockerfile (its folder is the context) of a
	// GitHub Dockerfile action and returns the image's tag; the build's
	// output goes to log.
	BuildImage(ctx context.Context, dockerfile string, log io.Writer) (string, error)
	// ImagePathEnv returns the PATH image ref sets, or the usual default.
	ImagePathEnv(ctx context.Context, ref string) (string, error)
}

// Containers run the job and its services.
type Containers interface {
	// Check refuses what Create would refuse of c under the host's policy
	// (its Env, Options, UserMounts against HostRoots) without creating
	// anything, so a job is refused before it holds GPUs or services.
	Check(ctx context.Context, c Container) error
	// IsControlSocket reports whether a host path is, or holds, the socket
	// that controls the engine: a job given it could start containers with
	// every GPU on the host. The GitHub runner mounts the Docker socket
	// into every job, so the hook drops such mounts.
	IsControlSocket(hostPath string) bool

	// Create makes the container c without starting it and returns its id.
	Create(ctx context.Context, c Container) (string, error)
	Start(ctx context.Context, id string) error
	// WaitHealthy waits for a container with a health check to be healthy.
	WaitHealthy(ctx context.Context, id string, timeout time.Duration) error
	// WaitPorts waits for a container's exposed ports to accept
	// connections on network.
	WaitPorts(ctx context.Context, id, network string, timeout time.Duration) error
	// Exec runs e in the running container id and returns its exit code.
	Exec(ctx context.Context, id string, e Exec) (int, error)
	// Run creates and starts c, streams its output, waits for it to exit
	// and removes it; it returns its exit code.
	Run(ctx context.Context, c Container, stdout, stderr io.Writer) (int, error)
	// Stop asks the container to stop and kills it after grace.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes a container by id or name; one that is gone is
	// removed.
	Remove(ctx context.Context, id string) error
	// IsAlpine reports whether the container's image is Alpine (musl),
	// which the GitHub runner needs to pick its node build.
	IsAlpine(ctx context.Context, id string) (bool, error)
	// PortBindings returns every host binding of the container's
	// published ports.
	PortBindings(ctx context.Context, id string) ([]PortBinding, error)
	// PathEnv returns the PATH the container's image sets.
	PathEnv(ctx context.Context, id string) (string, error)
	// Labels returns the labels of the container called name; ok is false
	// when there is none.
	Labels(ctx context.Context, name string) (labels map[string]string, ok bool, err error)
}

// Networks are where a job's containers meet its services by name.
type Networks interface {
	// EnsureNetwork creates the job's network name (labelled) unless it
	// exists.
	EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error)
	// RemoveNetwork removes it; one that is gone is removed.
	RemoveNetwork(ctx context.Context, name string) error
	// RemoveLabelled removes the containers and networks labelled
	// key=value.
	RemoveLabelled(ctx context.Context, key, value string) error
}

// Container describes one container of a job: the job container, a
// service, or a container step. Fields the runner sets win over the same
// setting in Options.
type Container struct {
	// Name is the container's name; "" lets the engine pick one.
	Name       string
	Image      string
	Entrypoint []string
	Cmd        []string
	Env        map[string]string
	WorkDir    string
	// Mounts are mlci-runner's own (the job folder, dataset volumes,
	// caches): taken as they are.
	Mounts []Mount
	// UserMounts come from the job or from the CI runner's request for it
	// (container.volumes, the runner's workspace): the engine refuses any
	// not under HostRoots and any that names mlci-runner's own volumes.
	UserMounts []Mount
	// HostRoots are the host folders UserMounts (and mounts in Options)
	// may come from; none means no host path at all.
	HostRoots []HostRoot
	// FirstContainer says no process of the job runs yet (the job
	// container of a job without services), so nothing of the job can
	// race the engine's mounts of folders below HostRoots.
	FirstContainer bool
	Labels         map[string]string
	// Network is the job's network ("" for the engine's default) and
	// Aliases the container's extra names on it.
	Network string
	Aliases []string
	// Ports publishes container ports: "8080", "80:8080" or
	// "127.0.0.1:80:8080/tcp", as docker run -p takes them.
	Ports []string
	// GPUs holds the GPU or MIG UUIDs of the job's lease; empty means none.
	GPUs []string
	// Options is the job's own container options string, unparsed
	// (GitHub's container.options): the engine parses it against its allow
	// list.
	Options string
}

// Mount is a host folder or a named volume in a container.
type Mount struct {
	// Source is a host path, or a volume name (empty for an anonymous
	// volume) when Volume is set.
	Source   string
	Target   string
	ReadOnly bool
	Volume   bool
}

// HostRoot is a host folder a job may bind-mount, itself or anything
// below it.
type HostRoot struct {
	Path string
	// ReadOnly roots may only be mounted read-only.
	ReadOnly bool
	// Shared roots can be written by other jobs on the host, so no
	// sub-folder of one is ever mounted in a way another job could race.
	Shared bool
}

// OuterRoots keeps the roots that lie inside no other one: the runner
// mounts its work folder and folders inside it, and the inner ones must be
// judged below the outer one, which the job can write to.
func OuterRoots(roots []HostRoot) []HostRoot {
	var out []HostRoot
	for i, r := range roots {
		inner := false
		for j, o := range roots {
			rp, op := path.Clean(r.Path), path.Clean(o.Path)
			if i != j && rp != op && (op == "/" || strings.HasPrefix(rp, op+"/")) {
				inner = true
				break
			}
		}
		if !inner {
			out = append(out, r)
		}
	}
	return out
}

// Exec is one command run in a running container, such as a step.
type Exec struct {
	Cmd     []string
	Env     map[string]string
	WorkDir string
	Stdin   io.Reader // nil: no stdin
	Stdout  io.Writer // nil: discarded
	Stderr  io.Writer // nil: discarded
}

// Auth holds registry credentials for pulling an image.
type Auth struct {
	Username, Password, ServerAddress string
}

// PortBinding is one host address a container port is published on.
type PortBinding struct {
	// Port is the container port with its protocol: "80/tcp".
	Port     string
	HostIP   string
	HostPort string
}
