package jobrun

import (
	"context"
	"io"
	"time"

	"github.com/mlci/mlci/runner/dockerjob"
)

// Engine is what the GitHub hook (ghhook) and the GitLab executor (glexec)
// need of a container engine to run a job's containers; *dockerjob.Client
// implements it on the Docker Engine. The job's containers are still
// described by dockerjob.Spec, which another engine would have to read.
type Engine interface {
	// Images.
	EnsureImage(ctx context.Context, ref string, auth dockerjob.Auth) error
	BuildImage(ctx context.Context, dockerfile string, log io.Writer) (string, error)
	ImagePathEnv(ctx context.Context, ref string) (string, error)

	// Containers.
	Create(ctx context.Context, spec dockerjob.Spec) (string, error)
	Start(ctx context.Context, id string) error
	WaitHealthy(ctx context.Context, id string, timeout time.Duration) error
	WaitPorts(ctx context.Context, id, network string, timeout time.Duration) error
	Exec(ctx context.Context, id string, e dockerjob.ExecSpec) (int, error)
	Run(ctx context.Context, spec dockerjob.Spec, stdout, stderr io.Writer) (int, error)
	Stop(ctx context.Context, id string, grace time.Duration) error
	Remove(ctx context.Context, id string) error
	IsAlpine(ctx context.Context, id string) (bool, error)
	PortBindings(ctx context.Context, id string) ([]dockerjob.PortBinding, error)
	PathEnv(ctx context.Context, id string) (string, error)
	// Labels returns the labels of the container called name; ok is false
	// when there is none.
	Labels(ctx context.Context, name string) (labels map[string]string, ok bool, err error)

	// Networks. EnsureNetwork creates the bridge network name (labelled)
	// unless it exists; RemoveNetwork removes it, and one that is gone is
	// removed. RemoveLabelled removes the containers and networks labelled
	// key=value.
	EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error)
	RemoveNetwork(ctx context.Context, name string) error
	RemoveLabelled(ctx context.Context, key, value string) error
}
