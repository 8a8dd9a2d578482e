package register

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// UnregisterTimeout bounds the clean-up call Ephemeral makes after the job,
// which runs even when ctx was cancelled.
const UnregisterTimeout = 30 * time.Second

// Runner starts the official runner for one job and returns its exit code.
// The caller decides how (CommandRunner below, a container, a VM); tests
// use a fake.
type Runner interface {
	Run(ctx context.Context) (int, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context) (int, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context) (int, error) { return f(ctx) }

// Ephemeral registers a runner, runs one job and always unregisters: after
// success, after the runner fails, after ctx is cancelled (SIGTERM) and
// even if run panics. The clean-up gets a fresh context, bounded by
// UnregisterTimeout, because the job's ctx is often the cancelled one.
//
// It returns run's exit code, or -1 when run never returned one, with the
// run and unregister errors joined.
func Ephemeral(ctx context.Context,
	register func(context.Context) (unregister func(context.Context) error, err error),
	run func(context.Context) (int, error),
) (code int, err error) {
	unregister, err := register(ctx)
	if unregister == nil {
		if err == nil {
			err = errors.New("ephemeral: register returned no way to unregister")
		}
		return -1, err
	}
	code = -1
	defer func() {
		uctx, cancel := detached(ctx)
		defer cancel()
		if uerr := unregister(uctx); uerr != nil {
			err = errors.Join(err, fmt.Errorf("ephemeral: unregister (remove the runner by hand if it lingers): %w", uerr))
		}
	}()
	if err != nil {
		// A register that fails half-way may still hand back a clean-up.
		return -1, err
	}
	return run(ctx)
}

// CommandRunner runs the official runner as a child process. On ctx
// cancellation it sends SIGTERM, which the Actions runner and gitlab-runner
// both take as "finish or abandon the job and exit", and kills it after
// WaitDelay.
type CommandRunner struct {
	Path      string
	Args      []string
	Dir       string
	Env       []string // nil means this process's environment
	Stdout    io.Writer
	Stderr    io.Writer
	WaitDelay time.Duration // 0 means 30s
}

// Run starts the command and waits for it. A non-zero exit is a code, not
// an error; the error says the command could not start or ctx ended.
func (c CommandRunner) Run(ctx context.Context) (int, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.Dir, c.Env, c.Stdout, c.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = c.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 30 * time.Second
	}
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case ctx.Err() != nil:
		return exitCode(cmd), fmt.Errorf("runner %s stopped: %w", c.Path, ctx.Err())
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	}
	return -1, fmt.Errorf("runner %s: %w; check the runner is installed", c.Path, err)
}

func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}
