package ghhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// ExitError carries a step's own exit code, which the hook process exits
// with so the runner reports the step's failure as the script's.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("step exited with code %d", e.Code) }

// Hook runs one hook invocation.
type Hook struct {
	Host *jobrun.Host
	// Engine runs the job's containers.
	Engine jobrun.Engine
	Config hostconfig.Config
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the runner's environment (a per-runner default GPU ask).
	Getenv func(string) string
	// Owner is the process whose life bounds the job: the runner's worker,
	// which starts the hook and ends with the job. nil: the parent process.
	Owner func() (lease.Owner, error)
	// StartMonitor starts the telemetry monitor of job; nil: none.
	StartMonitor func(job string) error
}

// Labels put on everything the hook creates, so an operator (and the
// tests) can find what a job left.
const (
	labelJob = "mlci.job"
)

// Run reads the runner's input from stdin and performs the command.
func (h *Hook) Run(ctx context.Context, stdin io.Reader) error {
	in, err := ReadInput(stdin)
	if err != nil {
		return err
	}
	return h.Do(ctx, in)
}

// Do performs a command already read with ReadInput.
func (h *Hook) Do(ctx context.Context, in Input) error {
	var st State
	if err := decode("state", in.State, &st); err != nil {
		return err
	}
	switch in.Command {
	case PrepareJob:
		var args PrepareJobArgs
		if err := decode("args", in.Args, &args); err != nil {
			return err
		}
		resp, err := h.prepare(ctx, args)
		if err != nil {
			return err
		}
		if err := writeResponse(in.ResponseFile, resp); err != nil {
			// The runner fails the job without learning the state, so no
			// cleanup_job would come for it: undo the job here.
			h.cleanup(context.WithoutCancel(ctx), resp.State)
			return err
		}
		return nil
	case RunScriptStep:
		var args ScriptStepArgs
		if err := decode("args", in.Args, &args); err != nil {
			return err
		}
		return h.runScript(ctx, st, args)
	case RunContainerStep:
		var args ContainerInfo
		if err := decode("args", in.Args, &args); err != nil {
			return err
		}
		return h.runContainer(ctx, st, args)
	default: // CleanupJob
		h.cleanup(ctx, st)
		return nil
	}
}

func (h *Hook) getenv(k string) string {
	if h.Getenv != nil {
		return h.Getenv(k)
	}
	return os.Getenv(k)
}

func (h *Hook) logf(format string, args ...any) {
	if h.Stderr != nil {
		fmt.Fprintf(h.Stderr, "mlci-runner: "+format+"\n", args...)
	}
}

// ask reads the GPU request: the job container's env first, then the
// runner's own environment (the default of a runner pool).
func (h *Hook) ask(env map[string]string) (jobrun.Ask, error) {
	get := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return h.getenv(k)
	}
	return jobrun.ParseAsk(get(jobrun.EnvGPUs), get(jobrun.EnvGPUMemory), get(jobrun.EnvGPUModel))
}

func (h *Hook) owner() (lease.Owner, error) {
	if h.Owner != nil {
		return h.Owner()
	}
	return lease.ProcessOwner(os.Getppid())
}

func newJobKey() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "github:" + hex.EncodeToString(b[:])
}

func (h *Hook) prepare(ctx context.Context, args PrepareJobArgs) (resp PrepareResponse, err error) {
	if args.Container == nil {
		// Steps would run on the host and see every GPU.
		return resp, errors.New("this runner runs jobs only in a container: add `container:` to the job (set ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER=true on the runner to refuse such jobs early)")
	}
	c := *args.Container
	mounts := append(append([]Mount{}, c.SystemMountVolumes...), c.UserMountVolumes...)
	fork, repo, err := forkJob(mounts)
	if err != nil {
		return resp, err
	}
	if fork && !h.Config.ForkAllowed(repo) {
		return resp, fmt.Errorf("refusing a pull request from a fork of public repository %s: fork code would run on this GPU host (allow it with allow_fork_jobs or allow_fork_repos in the runner config)", repo)
	}
	ask, err := h.ask(c.EnvironmentVariables)
	if err != nil {
		return resp, err
	}
	userMounts, roots := h.mounts(c.SystemMountVolumes, c.UserMountVolumes)
	// The engine checks again when the container is made; checking here
	// refuses the job before it holds GPUs or services.
	if err := h.Engine.Check(ctx, jobrun.Container{
		Env: c.EnvironmentVariables, Options: c.CreateOptions, UserMounts: userMounts, HostRoots: roots,
	}); err != nil {
		return resp, err
	}
	owner, err := h.owner()
	if err != nil {
		return resp, fmt.Errorf("finding the runner's worker process: %w", err)
	}
	st := State{Job: newJobKey()}
	// The runner matches services by index; an empty list, not null.
	resp.Context.Services = []ContainerContext{}
	alloc, err := h.Host.Allocate(ctx, st.Job, ask, owner)
	if err != nil {
		return resp, err
	}
	st.GPUs = alloc.GPUs
	st.Env = alloc.Env
	defer func() {
		if err != nil {
			h.cleanup(context.WithoutCancel(ctx), st)
		}
	}()
	labels := map[string]string{labelJob: st.Job}
	network := "bridge"
	if len(args.Services) > 0 {
		// A network of its own only when services need names to meet by;
		// creating and removing one costs more than the rest of a job's
		// start on a busy engine.
		st.Network = "mlci_" + strings.TrimPrefix(st.Job, "github:")
		network = st.Network
		if _, err := h.Engine.EnsureNetwork(ctx, st.Network, labels); err != nil {
			return resp, err
		}
	}
	for i, alias := range serviceAliases(args.Services) {
		id, err := h.startService(ctx, st, args.Services[i], alias, labels, roots)
		if err != nil {
			return resp, err
		}
		// By index, as the runner matches the response's services.
		st.Services = append(st.Services, id)
		ports, err := h.Engine.PortBindings(ctx, id)
		if err != nil {
			return resp, err
		}
		resp.Context.Services = append(resp.Context.Services, ContainerContext{ID: id, Network: st.Network, Ports: contextPorts(ports)})
	}
	if err := h.Engine.EnsureImage(ctx, c.Image, auth(c.Registry)); err != nil {
		return resp, err
	}
	datasets, datasetEnv, err := h.Host.Datasets(ctx, c.EnvironmentVariables[jobrun.EnvDatasets], c.Image)
	if err != nil {
		return resp, err
	}
	own := []jobrun.Mount{{Source: alloc.Dir, Target: jobrun.ContainerDir, ReadOnly: true}}
	for _, d := range datasets {
		own = append(own, jobrun.Mount{Source: d.Volume, Target: d.Target, ReadOnly: true, Volume: true})
	}
	st.Env = merge(alloc.Env, datasetEnv)
	spec := jobrun.Container{
		Image:      c.Image,
		Entrypoint: []string{"tail"},
		Cmd:        []string{"-f", "/dev/null"},
		Env:        withRunnerEnv(merge(c.EnvironmentVariables, st.Env), c.EnvironmentVariables),
		WorkDir:    c.WorkingDirectory,
		Ports:      c.PortMappings,
		Mounts:     own,
		UserMounts: userMounts,
		HostRoots:  roots,
		// The job's first container, unless services started before it:
		// then they run the job's images and could race its mounts.
		FirstContainer: len(args.Services) == 0,
		Labels:         labels,
		Network:        st.Network,
		GPUs:           alloc.GPUs,
		Options:        c.CreateOptions,
	}
	if c.EntryPoint != "" {
		spec.Entrypoint, spec.Cmd = []string{c.EntryPoint}, c.EntryPointArgs
	}
	st.Container, err = h.Engine.Create(ctx, spec)
	if err != nil {
		return resp, err
	}
	if len(alloc.GPUs) > 0 {
		// The lease ends when its container is gone (see jobrun.Host).
		if err := h.Host.Leases.SetContainer(st.Job, st.Container); err != nil {
			return resp, err
		}
	}
	if err := h.Engine.Start(ctx, st.Container); err != nil {
		return resp, err
	}
	if h.StartMonitor != nil && len(alloc.GPUs) > 0 {
		if err := h.StartMonitor(st.Job); err != nil {
			h.logf("telemetry will be missing: %v", err)
		}
	}
	alpine, err := h.Engine.IsAlpine(ctx, st.Container)
	if err != nil {
		return resp, err
	}
	ports, err := h.Engine.PortBindings(ctx, st.Container)
	if err != nil {
		return resp, err
	}
	st.Mounts = c.SystemMountVolumes
	resp.State = st
	resp.Context.Container = &ContainerContext{ID: st.Container, Network: network, Ports: contextPorts(ports)}
	resp.IsAlpine = alpine
	return resp, nil
}

// startService starts one service, named alias on the job's network.
func (h *Hook) startService(ctx context.Context, st State, s ContainerInfo, alias string, labels map[string]string, roots []jobrun.HostRoot) (string, error) {
	mounts := make([]jobrun.Mount, 0, len(s.UserMountVolumes))
	for _, m := range s.UserMountVolumes {
		mounts = append(mounts, toMount(m))
	}
	// A service may mount from where its job may, nothing more.
	if err := h.Engine.Check(ctx, jobrun.Container{
		Env: s.EnvironmentVariables, Options: s.CreateOptions, UserMounts: mounts, HostRoots: roots,
	}); err != nil {
		return "", fmt.Errorf("service %s: %w", alias, err)
	}
	if err := h.Engine.EnsureImage(ctx, s.Image, auth(s.Registry)); err != nil {
		return "", err
	}
	spec := jobrun.Container{
		Image:      s.Image,
		Env:        withRunnerEnv(merge(s.EnvironmentVariables), s.EnvironmentVariables),
		UserMounts: mounts,
		HostRoots:  roots,
		Labels:     labels,
		Network:    st.Network,
		Ports:      s.PortMappings,
		Options:    s.CreateOptions,
	}
	if alias != "" {
		spec.Aliases = []string{alias}
	}
	if s.EntryPoint != "" {
		spec.Entrypoint, spec.Cmd = []string{s.EntryPoint}, s.EntryPointArgs
	}
	// Services get no GPU: the lease is the job's, and a service sharing it
	// would be invisible to the job's accounting.
	id, err := h.Engine.Create(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", alias, err)
	}
	if err := h.Engine.Start(ctx, id); err != nil {
		_ = h.Engine.Remove(ctx, id)
		return "", fmt.Errorf("service %s: %w", alias, err)
	}
	// As the runner does: steps start once services with a health check
	// (options: --health-cmd ...) report healthy.
	if err := h.Engine.WaitHealthy(ctx, id, time.Duration(h.Config.ServiceWait)); err != nil {
		_ = h.Engine.Remove(ctx, id)
		return "", fmt.Errorf("service %s: %w", alias, err)
	}
	return id, nil
}

// serviceAliases names each service on the job's network. The runner sends
// no contextName (its HookContainer has none, actions/runner#2783), so the
// name a workflow gave a service does not arrive; one that has none is
// named after its image as upstream's kubernetes hook names its service
// containers (generateContainerName: "redis" for ghcr.io/acme/redis:7),
// and where one name falls to several services they get "-0", "-1"… in
// input order, as there. A digest is cut off too, which upstream leaves
// in: a name with "@" cannot be looked up by DNS.
func serviceAliases(svcs []ContainerInfo) []string {
	out := make([]string, len(svcs))
	count := map[string]int{}
	for i, s := range svcs {
		if s.ContextName != "" {
			out[i] = s.ContextName
			continue
		}
		out[i] = imageName(s.Image)
		count[out[i]]++
	}
	seen := map[string]int{}
	for i, s := range svcs {
		if s.ContextName != "" || count[out[i]] < 2 {
			continue
		}
		n := out[i]
		out[i] = n + "-" + strconv.Itoa(seen[n])
		seen[n]++
	}
	return out
}

// imageName is an image reference without registry, path, tag or digest.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	ref = ref[strings.LastIndex(ref, "/")+1:]
	name, _, _ := strings.Cut(ref, ":")
	return name
}

// withRunnerEnv sets in env what the runner's own docker path
// (DockerCommandManager) and upstream's hook set in every container they
// create: GITHUB_ACTIONS=true always, a watermark the job cannot change,
// and CI=true unless the job's own variables (own) name CI, whatever its
// value.
func withRunnerEnv(env, own map[string]string) map[string]string {
	env["GITHUB_ACTIONS"] = "true"
	if _, ok := own["CI"]; !ok {
		env["CI"] = "true"
	}
	return env
}

// mounts turns the runner's mounts into the job's, and says which host
// folders the job's bind mounts may come from: the folders the runner
// itself mounts (its work, temp and externals folders) and the host
// config's allow_mounts. The runner's own mounts are checked like the
// job's (by the engine): they lie in folders earlier jobs could write to.
// The engine's control socket among the runner's mounts (the runner sends
// the Docker socket) would hand the job the whole host; it is dropped with
// a note.
func (h *Hook) mounts(system, user []Mount) ([]jobrun.Mount, []jobrun.HostRoot) {
	var out []jobrun.Mount
	var roots []jobrun.HostRoot
	for _, m := range system {
		if h.Engine.IsControlSocket(m.SourceVolumePath) {
			h.logf("not mounting %s into the job: it would give the job control of every container and GPU on this host", m.SourceVolumePath)
			continue
		}
		dm := toMount(m)
		out = append(out, dm)
		if !dm.Volume {
			roots = append(roots, jobrun.HostRoot{Path: dm.Source, ReadOnly: dm.ReadOnly})
		}
	}
	roots = jobrun.OuterRoots(roots)
	for _, a := range h.Config.Mounts() {
		roots = append(roots, jobrun.HostRoot{Path: a.Path, ReadOnly: a.ReadOnly, Shared: !a.ReadOnly})
	}
	for _, m := range user {
		out = append(out, toMount(m))
	}
	return out, roots
}

func toMount(m Mount) jobrun.Mount {
	return jobrun.Mount{
		Source:   m.SourceVolumePath,
		Target:   m.TargetVolumePath,
		ReadOnly: m.ReadOnly,
		Volume:   !strings.HasPrefix(m.SourceVolumePath, "/"),
	}
}

func auth(r *Registry) jobrun.Auth {
	if r == nil {
		return jobrun.Auth{}
	}
	return jobrun.Auth{Username: r.Username, Password: r.Password, ServerAddress: r.ServerURL}
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

func (h *Hook) runScript(ctx context.Context, st State, args ScriptStepArgs) error {
	if st.Container == "" {
		return errors.New("run_script_step without a prepared job container: the runner's state is missing (was prepare_job run by mlci-runner?)")
	}
	if err := h.Engine.Check(ctx, jobrun.Container{Env: args.EnvironmentVariables}); err != nil {
		return err
	}
	env := merge(args.EnvironmentVariables, st.Env)
	if len(args.PrependPath) > 0 {
		path, err := h.Engine.PathEnv(ctx, st.Container)
		if err != nil {
			return err
		}
		env["PATH"] = strings.Join(append(append([]string{}, args.PrependPath...), path), ":")
	}
	code, err := h.Engine.Exec(ctx, st.Container, jobrun.Exec{
		Cmd:     append([]string{args.EntryPoint}, args.EntryPointArgs...),
		Env:     env,
		WorkDir: args.WorkingDirectory,
		Stdout:  h.Stdout,
		Stderr:  h.Stderr,
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func (h *Hook) runContainer(ctx context.Context, st State, c ContainerInfo) error {
	system := c.SystemMountVolumes
	if len(system) == 0 {
		system = st.Mounts
	}
	mounts, roots := h.mounts(system, c.UserMountVolumes)
	if err := h.Engine.Check(ctx, jobrun.Container{
		Env: c.EnvironmentVariables, Options: c.CreateOptions, UserMounts: mounts, HostRoots: roots,
	}); err != nil {
		return err
	}
	var own []jobrun.Mount
	if c.Image == "" && c.Dockerfile != "" {
		// A Dockerfile action: built here, its folder as the context, as
		// the runner's docker path does.
		tag, err := h.Engine.BuildImage(ctx, c.Dockerfile, h.Stderr)
		if err != nil {
			return err
		}
		c.Image = tag
	} else if err := h.Engine.EnsureImage(ctx, c.Image, auth(c.Registry)); err != nil {
		return err
	}
	env := withRunnerEnv(merge(c.EnvironmentVariables, st.Env), c.EnvironmentVariables)
	if len(c.PrependPath) > 0 {
		path, err := h.Engine.ImagePathEnv(ctx, c.Image)
		if err != nil {
			return err
		}
		env["PATH"] = strings.Join(append(append([]string{}, c.PrependPath...), path), ":")
	}
	if st.Job != "" {
		own = append(own, jobrun.Mount{Source: h.Host.JobDir(st.Job), Target: jobrun.ContainerDir, ReadOnly: true})
	}
	spec := jobrun.Container{
		Image:      c.Image,
		Cmd:        c.EntryPointArgs,
		Env:        env,
		WorkDir:    c.WorkingDirectory,
		Mounts:     own,
		UserMounts: mounts,
		HostRoots:  roots,
		Labels:     map[string]string{labelJob: st.Job},
		Network:    st.Network,
		Ports:      c.PortMappings,
		// A container step is part of the job: it uses the job's GPUs.
		GPUs:    st.GPUs,
		Options: c.CreateOptions,
	}
	if c.EntryPoint != "" {
		spec.Entrypoint = []string{c.EntryPoint}
	}
	code, err := h.Engine.Run(ctx, spec, h.Stdout, h.Stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// cleanup removes the job's containers and network and releases its GPUs.
// It reports problems but does not fail: the job's result is already
// decided, and a GPU that could not be cleaned is quarantined instead.
func (h *Hook) cleanup(ctx context.Context, st State) {
	ids := []string{}
	if st.Container != "" {
		ids = append(ids, st.Container)
	}
	ids = append(ids, st.Services...)
	for _, id := range ids {
		if err := h.Engine.Remove(ctx, id); err != nil {
			h.logf("removing container %s: %v", id, err)
		}
	}
	if st.Job != "" {
		// Whatever the state says: a state may lack what prepare_job made
		// (an older mlci-runner kept one of several unnamed services), and
		// everything made for the job carries its label.
		if err := h.Engine.RemoveLabelled(ctx, labelJob, st.Job); err != nil {
			h.logf("removing what is labelled %s=%s: %v", labelJob, st.Job, err)
		}
	}
	if st.Network != "" {
		if err := h.Engine.RemoveNetwork(ctx, st.Network); err != nil {
			h.logf("removing network %s: %v", st.Network, err)
		}
	}
	if st.Job == "" {
		return
	}
	out, err := h.Host.Release(ctx, st.Job)
	if err != nil {
		h.logf("releasing job %s: %v", st.Job, err)
	}
	jobrun.LogOutcome(h.Stderr, out)
}
