package dockerjob

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// ExecSpec is one command run inside a running job container, such as a
// workflow step.
type ExecSpec struct {
	Cmd        []string
	Env        map[string]string
	WorkingDir string
	User       string
	Stdin      io.Reader // nil: no stdin
	Stdout     io.Writer // nil: discarded
	Stderr     io.Writer // nil: discarded
}

// Exec runs e in the running container id and returns the command's exit
// code. Step environment is not checked with CheckEnv: GPUs are fixed when
// the container is created, so NVIDIA_* variables set here cannot widen the
// lease.
//
// If ctx ends first Exec returns the context's error at once. The engine has
// no way to kill a single exec, so the process keeps running until the
// container is stopped; a Stdin that blocks keeps its copier goroutine alive
// until it returns.
func (c *Client) Exec(ctx context.Context, id string, e ExecSpec) (int, error) {
	if len(e.Cmd) == 0 {
		return -1, fmt.Errorf("exec in container %s: empty command: give ExecSpec.Cmd", shortID(id))
	}
	created, err := c.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User:         e.User,
		AttachStdin:  e.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
		Env:          envList(e.Env),
		WorkingDir:   e.WorkingDir,
		Cmd:          e.Cmd,
	})
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, fmt.Errorf("exec %q in container %s: %w", e.Cmd[0], shortID(id), err)
	}
	att, err := c.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, fmt.Errorf("attach to exec %q in container %s: %w", e.Cmd[0], shortID(id), err)
	}
	defer att.Close()

	if e.Stdin != nil {
		go func() {
			// Errors here surface as the command seeing a short stdin.
			_, _ = io.Copy(att.Conn, e.Stdin)
			_ = att.CloseWrite()
		}()
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(orDiscard(e.Stdout), orDiscard(e.Stderr), att.Reader)
		copied <- err
	}()
	select {
	case err := <-copied:
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			return -1, fmt.Errorf("read output of %q in container %s: %w", e.Cmd[0], shortID(id), err)
		}
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	return c.execExitCode(ctx, created.ID, e.Cmd[0], id)
}

// execExitCode waits for the engine to record the exit code: the output
// stream can close a moment before the exec is marked as finished.
func (c *Client) execExitCode(ctx context.Context, execID, name, id string) (int, error) {
	delay := 10 * time.Millisecond
	for {
		ins, err := c.api.ContainerExecInspect(ctx, execID)
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			return -1, fmt.Errorf("read exit code of %q in container %s: %w", name, shortID(id), err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
