// Package dockerengine runs jobrun's neutral containers on the Docker Engine:
// it turns a jobrun.Container into a dockerjob.Spec, whose policy (the
// option allow list, the host-folder mount rules, the exact GPU request)
// stays in dockerjob, and implements jobrun.Engine with a dockerjob.Client.
package dockerengine

import (
	"context"
	"fmt"
	"io"

	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/jobrun"
)

// Engine is a jobrun.Engine on one Docker Engine. The methods whose
// signatures need no translation (Start, Stop, Remove, Gone, networks,
// images by reference, DatasetVolume, ...) are the client's own.
type Engine struct {
	*dockerjob.Client
}

var _ jobrun.Engine = (*Engine)(nil)

// New wraps c.
func New(c *dockerjob.Client) *Engine {
	return &Engine{Client: c}
}

// Check runs, ahead of Create, the checks Create would fail c on: its
// variables, its options string against the allow list, and its mounts (the
// job's and those in its options) against its host roots. Nothing is made.
func (e *Engine) Check(ctx context.Context, c jobrun.Container) error {
	return Check(c)
}

// IsControlSocket reports whether a host path is, or holds, the Docker
// socket.
func (e *Engine) IsControlSocket(hostPath string) bool {
	return dockerjob.IsDockerSocket(hostPath)
}

// Create translates c (see Spec) and creates it.
func (e *Engine) Create(ctx context.Context, c jobrun.Container) (string, error) {
	spec, err := Spec(c)
	if err != nil {
		return "", err
	}
	return e.Client.Create(ctx, spec)
}

// Run translates c (see Spec) and runs it to its end.
func (e *Engine) Run(ctx context.Context, c jobrun.Container, stdout, stderr io.Writer) (int, error) {
	spec, err := Spec(c)
	if err != nil {
		return -1, err
	}
	return e.Client.Run(ctx, spec, stdout, stderr)
}

// Exec runs x in the running container id.
func (e *Engine) Exec(ctx context.Context, id string, x jobrun.Exec) (int, error) {
	return e.Client.Exec(ctx, id, dockerjob.ExecSpec{
		Cmd:        x.Cmd,
		Env:        x.Env,
		WorkingDir: x.WorkDir,
		Stdin:      x.Stdin,
		Stdout:     x.Stdout,
		Stderr:     x.Stderr,
	})
}

// EnsureImage pulls ref unless the engine has it.
func (e *Engine) EnsureImage(ctx context.Context, ref string, auth jobrun.Auth) error {
	return e.Client.EnsureImage(ctx, ref, dockerjob.Auth(auth))
}

// PortBindings returns the host bindings of the container's published
// ports.
func (e *Engine) PortBindings(ctx context.Context, id string) ([]jobrun.PortBinding, error) {
	bs, err := e.Client.PortBindings(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]jobrun.PortBinding, 0, len(bs))
	for _, b := range bs {
		out = append(out, jobrun.PortBinding(b))
	}
	return out, nil
}

// Check is Engine.Check without an engine: everything it judges is in c
// and on the host's file system.
func Check(c jobrun.Container) error {
	if err := dockerjob.CheckEnv(c.Env); err != nil {
		return err
	}
	opts, err := parseOptions(c.Options)
	if err != nil {
		return err
	}
	roots := hostRoots(c.HostRoots)
	if err := dockerjob.CheckUserMounts(mounts(c.UserMounts), roots); err != nil {
		return err
	}
	if err := dockerjob.CheckUserMounts(opts.Mounts, roots); err != nil {
		return fmt.Errorf("container options: %w", err)
	}
	return nil
}

// Spec is the dockerjob.Spec of c: its options string parsed against
// dockerjob's allow list, everything else as it is. dockerjob.Compose then
// judges it as it judges any spec.
func Spec(c jobrun.Container) (dockerjob.Spec, error) {
	opts, err := parseOptions(c.Options)
	if err != nil {
		return dockerjob.Spec{}, err
	}
	return dockerjob.Spec{
		Name:           c.Name,
		Image:          c.Image,
		Entrypoint:     c.Entrypoint,
		Cmd:            c.Cmd,
		Env:            c.Env,
		WorkingDir:     c.WorkDir,
		Mounts:         mounts(c.Mounts),
		UserMounts:     mounts(c.UserMounts),
		HostRoots:      hostRoots(c.HostRoots),
		FirstContainer: c.FirstContainer,
		Labels:         c.Labels,
		Network:        c.Network,
		GPUs:           c.GPUs,
		Options:        opts,
		Aliases:        c.Aliases,
		Ports:          c.Ports,
	}, nil
}

func parseOptions(s string) (dockerjob.Options, error) {
	opts, err := dockerjob.ParseOptions(s)
	if err != nil {
		return dockerjob.Options{}, fmt.Errorf("container options: %w", err)
	}
	return opts, nil
}

func mounts(ms []jobrun.Mount) []dockerjob.Mount {
	if ms == nil {
		return nil
	}
	out := make([]dockerjob.Mount, len(ms))
	for i, m := range ms {
		out[i] = dockerjob.Mount(m)
	}
	return out
}

func hostRoots(rs []jobrun.HostRoot) []dockerjob.HostRoot {
	if rs == nil {
		return nil
	}
	out := make([]dockerjob.HostRoot, len(rs))
	for i, r := range rs {
		out[i] = dockerjob.HostRoot(r)
	}
	return out
}
