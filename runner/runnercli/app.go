package runnercli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/dockerjob/dockerengine"
	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// host assembles the job manager: config, leases, NVML when withGPUs and
// present, and the Docker Engine when withDocker (for telling a reclaimed
// job's container is gone and removing it, and for dataset volumes). done releases what it opened. Steps that only run a
// command in the job's container leave NVML closed: initialising it on a
// host with many GPUs costs more than the step's own work.
func (g *globals) host(ctx context.Context, withDocker, withGPUs bool) (*jobrun.Host, func(), error) {
	cfg, err := g.config()
	if err != nil {
		return nil, nil, err
	}
	store, err := g.store()
	if err != nil {
		return nil, nil, err
	}
	h := &jobrun.Host{Config: cfg, Leases: store, Log: g.io.Stderr}
	var closers []func()
	if withGPUs {
		gh, err := g.openGPUs()
		switch {
		case err == nil:
			h.GPUs = gh
			closers = append(closers, func() { _ = gh.Close() })
		case errors.Is(err, gpu.ErrNoDriver):
			// Jobs that ask for no GPU still run; Allocate refuses the others.
		default:
			return nil, nil, checkFailed(err)
		}
	}
	done := func() {
		for _, c := range closers {
			c()
		}
	}
	if withDocker {
		d, err := g.docker(ctx)
		if err != nil {
			done()
			return nil, nil, err
		}
		h.Engine = d
	}
	return h, done, nil
}

// The Docker Engine is the job engine of both the hook and the executor,
// and the on-disk lease store their GPU lease provider.
var (
	_ jobrun.Engine    = (*dockerengine.Engine)(nil)
	_ jobrun.GPULeases = (*lease.Store)(nil)
)

// docker opens the engine for a job command, once per process: every
// connection costs a ping and an info round trip, which a hook pays on each
// step. The one value serves as the job's engine and as the host's.
func (g *globals) docker(ctx context.Context) (*dockerengine.Engine, error) {
	if g.dockerEngine != nil {
		return g.dockerEngine, nil
	}
	d, err := dockerjob.New(ctx)
	if err != nil {
		return nil, serviceError(err)
	}
	g.dockerEngine = dockerengine.New(d)
	return g.dockerEngine, nil
}

// closeDocker closes the engine connection, if one was opened.
func (g *globals) closeDocker() {
	if g.dockerEngine != nil {
		_ = g.dockerEngine.Close()
		g.dockerEngine = nil
	}
}

// monitorStarter starts `mlci-runner monitor --job JOB` detached, with the
// same config, so telemetry outlives the hook or executor process.
func (g *globals) monitorStarter(h *jobrun.Host) func(job string) error {
	return func(job string) error {
		exe, err := g.executable()
		if err != nil {
			return err
		}
		args := []string{"monitor", "--job", job}
		if g.configPath != "" {
			args = append(args, "--config", g.configPath)
		}
		cmd := exec.Command(exe, args...)
		cmd.Env = append(cmd.Environ(), "MLCI_RUNNER_STATE_DIR="+h.Config.StateDir)
		return jobrun.StartMonitor(h.JobDir(job), cmd)
	}
}

// fail turns a job-path error into an exit code: Docker trouble is a
// service failure, anything else a refused job.
func jobErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitcode.Error
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, dockerjob.ErrEngine) {
		return serviceError(err)
	}
	return checkFailed(fmt.Errorf("%w", err))
}
