// Package glexec implements GitLab Runner's custom executor stages (config,
// prepare, run, cleanup) so that each job runs in its own container with
// exactly the GPUs it asked for, and leaves nothing behind.
package glexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// BuildError is a job script's own failure, reported to GitLab with the
// script's exit code (BUILD_EXIT_CODE_FILE) so allow_failure:exit_codes
// works; every other error is a system failure.
type BuildError struct{ Code int }

func (e *BuildError) Error() string { return fmt.Sprintf("job script exited with code %d", e.Code) }

// cleanupTimeout bounds Cleanup, which does not stop when its context ends.
const cleanupTimeout = 2 * time.Minute

// Paths inside the job container.
const (
	BuildsDir = "/builds"
	CacheDir  = "/cache"
)

// Executor runs one stage of one job; GitLab Runner starts a new process per
// stage, so everything a later stage needs is derived from the job's
// identity in JOB_RESPONSE_FILE.
type Executor struct {
	Host *jobrun.Host
	// Engine runs the job's containers.
	Engine  jobrun.Engine
	Config  hostconfig.Config
	Version string
	// Getenv reads the stage's environment: JOB_RESPONSE_FILE, which says
	// who the job is, and the CUSTOM_ENV_* job variables, which say only
	// what the job asks for (image, GPUs, services), as the job may set them.
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// Owner is the process whose life bounds the job: gitlab-runner, the
	// parent of every stage. nil: the parent process.
	Owner func() (lease.Owner, error)
	// StartMonitor starts the telemetry monitor of job; nil: none.
	StartMonitor func(job string) error
}

// ConfigOutput is config_exec's JSON (gitlab-runner's ConfigExecOutput).
type ConfigOutput struct {
	Driver struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"driver"`
	Hostname          string            `json:"hostname,omitempty"`
	BuildsDir         string            `json:"builds_dir"`
	CacheDir          string            `json:"cache_dir"`
	BuildsDirIsShared bool              `json:"builds_dir_is_shared"`
	JobEnv            map[string]string `json:"job_env"`
	Shell             string            `json:"shell"`
}

func (e *Executor) getenv(k string) string {
	if e.Getenv != nil {
		return e.Getenv(k)
	}
	return os.Getenv(k)
}

func (e *Executor) job(k string) string { return e.getenv("CUSTOM_ENV_" + k) }

func (e *Executor) logf(format string, args ...any) {
	if e.Stderr != nil {
		fmt.Fprintf(e.Stderr, "mlci-runner: "+format+"\n", args...)
	}
}

// containerName is derived from the job key so run and cleanup, separate
// processes, find the container without shared state.
func containerName(job string) string {
	return "mlci-" + safe(job)
}

// networkName is the job's own network, made only when it has services;
// derived from the job key like the container's name.
func networkName(job string) string {
	return containerName(job) + "-net"
}

// serviceName is the container of the job's i-th service (in the order of
// CI_JOB_SERVICES), so cleanup and a retried prepare find it without state.
func serviceName(job string, i int) string {
	return containerName(job) + "-svc-" + strconv.Itoa(i)
}

// WriteConfig prints config_exec's output.
func (e *Executor) WriteConfig(w io.Writer) error {
	var out ConfigOutput
	out.Driver.Name = "mlci-runner"
	out.Driver.Version = e.Version
	out.Hostname, _ = os.Hostname()
	out.BuildsDir = BuildsDir
	out.CacheDir = CacheDir
	out.JobEnv = map[string]string{
		jobrun.EnvHardwareFile:  jobrun.ContainerDir + "/" + jobrun.HardwareFileName,
		jobrun.EnvTelemetryFile: jobrun.ContainerDir + "/" + jobrun.TelemetryFileName,
	}
	out.Shell = "bash"
	return json.NewEncoder(w).Encode(out)
}

// Prepare checks the job against the host's policy, leases its GPUs and
// starts its container. GitLab retries a failed prepare, so it starts from a
// clean slate each time.
func (e *Executor) Prepare(ctx context.Context) (err error) {
	id, err := e.identity()
	if err != nil {
		return err
	}
	job := id.Key
	if v := e.job("CI_JOB_ID"); v != "" && v != strconv.FormatInt(id.ID, 10) {
		e.logf("the job sets CI_JOB_ID=%s; it is job %d, as GitLab sent it", v, id.ID)
	}
	if err := e.checkFork(id); err != nil {
		return err
	}
	ask, err := e.ask()
	if err != nil {
		return err
	}
	services, err := e.services()
	if err != nil {
		return err
	}
	image := e.job("CI_JOB_IMAGE")
	if image == "" {
		image = e.Config.DefaultImage
	}
	if image == "" {
		return errors.New("the job names no image and the runner config has no default_image: add `image:` to the job")
	}
	owner, err := e.owner()
	if err != nil {
		return fmt.Errorf("finding gitlab-runner's process: %w", err)
	}
	name := containerName(job)
	// What a previous attempt of this prepare left goes first, unless a
	// live job of another gitlab-runner holds it.
	if err := e.checkHolder(ctx, job, len(services), owner); err != nil {
		return err
	}
	if err := e.removeJob(ctx, job, len(services)); err != nil {
		return err
	}
	alloc, err := e.Host.Allocate(ctx, job, ask, owner)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			e.Cleanup(context.WithoutCancel(ctx))
		}
	}()
	if err := e.Engine.EnsureImage(ctx, image, e.registryAuth(image)); err != nil {
		return err
	}
	mounts := []jobrun.Mount{{Source: alloc.Dir, Target: jobrun.ContainerDir, ReadOnly: true}}
	datasets, datasetEnv, err := e.Host.Datasets(ctx, e.job(jobrun.EnvDatasets), image)
	if err != nil {
		return err
	}
	for _, d := range datasets {
		mounts = append(mounts, jobrun.Mount{Source: d.Volume, Target: d.Target, ReadOnly: true, Volume: true})
	}
	if id.ProjectID > 0 {
		// One cache volume per project: a shared one would let any project
		// read another's cache.
		mounts = append(mounts, jobrun.Mount{Source: cacheVolume(id), Target: CacheDir, Volume: true})
	}
	labels := map[string]string{"mlci.job": job, LabelOwner: formatOwner(owner)}
	var network string
	if len(services) > 0 {
		network = networkName(job)
		if _, err := e.Engine.EnsureNetwork(ctx, network, map[string]string{"mlci.job": job}); err != nil {
			return err
		}
		for i, svc := range services {
			if err := e.startService(ctx, job, i, svc, network, labels); err != nil {
				return err
			}
		}
	}
	cid, err := e.Engine.Create(ctx, jobrun.Container{
		Name:       name,
		Image:      image,
		Entrypoint: []string{"tail"},
		Cmd:        []string{"-f", "/dev/null"},
		Env:        merge(alloc.Env, datasetEnv),
		Mounts:     mounts,
		Labels:     labels,
		GPUs:       alloc.GPUs,
		Network:    network,
	})
	if err != nil {
		return err
	}
	if len(alloc.GPUs) > 0 {
		if err := e.Host.Leases.SetContainer(job, cid); err != nil {
			return err
		}
	}
	if err := e.Engine.Start(ctx, cid); err != nil {
		return err
	}
	if e.StartMonitor != nil && len(alloc.GPUs) > 0 {
		if err := e.StartMonitor(job); err != nil {
			e.logf("telemetry will be missing: %v", err)
		}
	}
	return nil
}

// cacheVolume is the project's cache volume, named by the GitLab host and
// project id GitLab sent.
func cacheVolume(id identity) string {
	return "mlci-cache-" + safe(id.Host) + "-" + strconv.FormatInt(id.ProjectID, 10)
}

// removeJob removes the job's container, its n services and, when it has
// services, its network: containers first, as they hold the network.
func (e *Executor) removeJob(ctx context.Context, job string, n int) error {
	var errs []error
	if err := e.Engine.Remove(ctx, containerName(job)); err != nil {
		errs = append(errs, err)
	}
	for i := range n {
		if err := e.Engine.Remove(ctx, serviceName(job, i)); err != nil {
			errs = append(errs, err)
		}
	}
	if n > 0 {
		if err := e.Engine.RemoveNetwork(ctx, networkName(job)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// registryAuth uses the job's own registry token for images from the
// GitLab instance's registry, and nothing for other registries.
func (e *Executor) registryAuth(image string) jobrun.Auth {
	reg := e.job("CI_REGISTRY")
	if reg == "" || !strings.HasPrefix(image, reg+"/") {
		return jobrun.Auth{}
	}
	return jobrun.Auth{Username: e.job("CI_REGISTRY_USER"), Password: e.job("CI_REGISTRY_PASSWORD"), ServerAddress: reg}
}

func (e *Executor) ask() (jobrun.Ask, error) {
	pick := func(gitlab, mlci string) string {
		if v := e.job(gitlab); v != "" {
			return v
		}
		return e.job(mlci)
	}
	return jobrun.ParseAsk(pick(jobrun.GitLabCount, jobrun.EnvGPUs), pick(jobrun.GitLabMemory, jobrun.EnvGPUMemory), pick(jobrun.GitLabModel, jobrun.EnvGPUModel))
}

func (e *Executor) owner() (lease.Owner, error) {
	if e.Owner != nil {
		return e.Owner()
	}
	return lease.ProcessOwner(os.Getppid())
}

// Run runs one stage's script inside the job container, feeding it on
// stdin to bash (or sh where the image has no bash). When GitLab cancels the
// job or a timeout fires, the runner sends SIGTERM (ctx ends): the container
// is stopped with the configured grace so the script can clean up.
func (e *Executor) Run(ctx context.Context, script, stage string) error {
	id, err := e.identity()
	if err != nil {
		return err
	}
	job := id.Key
	f, err := os.Open(script)
	if err != nil {
		return fmt.Errorf("stage %s: %w", stage, err)
	}
	defer f.Close()
	name := containerName(job)
	code, err := e.Engine.Exec(ctx, name, jobrun.Exec{
		Cmd:    []string{"sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"},
		Stdin:  f,
		Stdout: e.Stdout,
		Stderr: e.Stderr,
	})
	if ctx.Err() != nil {
		grace := time.Duration(e.Config.StopGrace)
		e.logf("stage %s cancelled: stopping the job container (grace %s)", stage, grace)
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace+10*time.Second)
		defer cancel()
		if err := e.Engine.Stop(stopCtx, name, grace); err != nil {
			e.logf("stopping %s: %v", name, err)
		}
		return fmt.Errorf("stage %s cancelled: %w", stage, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", stage, err)
	}
	if code != 0 {
		return &BuildError{Code: code}
	}
	return nil
}

// Cleanup removes the job's container, services and network and releases
// its GPUs. It never fails: GitLab ignores its result, and a GPU that could
// not be cleaned is quarantined rather than handed on. GitLab also runs it
// after a refused prepare, so it leaves alone what a live job of another
// gitlab-runner holds (see checkHolder).
//
// It goes on when ctx ends (GitLab's SIGTERM at cleanup_exec_timeout): a
// cleanup cut short would leave the container running on GPUs whose lease
// it released, and quarantine them only because their processes could not
// be listed. cleanupTimeout, and GitLab's SIGKILL, still bound it.
func (e *Executor) Cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	id, err := e.identity()
	if err != nil {
		e.logf("%v", err)
		return
	}
	job := id.Key
	// CI_JOB_SERVICES is the same in every stage: a value Prepare refused
	// started no service.
	services, err := e.services()
	if err != nil {
		e.logf("%v", err)
	}
	owner, err := e.owner()
	if err != nil {
		// Nothing can then be told ours; what a live runner holds stays.
		e.logf("finding gitlab-runner's process: %v", err)
	}
	if err := e.checkHolder(ctx, job, len(services), owner); err != nil {
		e.logf("cleanup: %v", err)
		return
	}
	if err := e.removeJob(ctx, job, len(services)); err != nil {
		e.logf("removing the job's containers: %v", err)
	}
	out, err := e.Host.Release(ctx, job)
	if err != nil {
		e.logf("releasing job %s: %v", job, err)
	}
	jobrun.LogOutcome(e.Stderr, out)
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
