package dockerjob

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// Labels and environment variables this package owns.
const (
	// LabelRunner marks every container, network, volume and helper this
	// package creates, so operators and cleanup can find them.
	LabelRunner = "mlci.runner"
	// LabelDigest records the full data root digest on a dataset volume.
	LabelDigest = "mlci.digest"
	// EnvGPUs lists the leased GPU UUIDs for job scripts; device indices
	// are useless because GPUs are renumbered from 0 inside the container.
	EnvGPUs = "MLCI_GPUS"
	// EnvVisibleDevices is read by the NVIDIA Container Toolkit.
	EnvVisibleDevices = "NVIDIA_VISIBLE_DEVICES"
)

// Mount is a bind mount or a named volume in a job container.
type Mount struct {
	// Source is a host path when Volume is false, else a volume name
	// (empty for an anonymous volume).
	Source   string
	Target   string
	ReadOnly bool
	Volume   bool
}

// Spec describes one job container. Fields set by the runner win over the
// same setting in Options; Options fill in what the runner left empty.
type Spec struct {
	Name       string
	Image      string
	Entrypoint []string
	Cmd        []string
	Env        map[string]string
	WorkingDir string
	User       string
	// Mounts are mlci-runner's own (the job folder, dataset volumes,
	// caches): taken as they are.
	Mounts []Mount
	// UserMounts come from the job or the runner's request for it
	// (container.volumes, the runner's workspace mounts): like
	// Options.Mounts they must lie under HostRoots and may not name
	// mlci-runner's volumes.
	UserMounts []Mount
	// HostRoots are the host folders the job's bind mounts may come from;
	// none means no host path at all.
	HostRoots []HostRoot
	// FirstContainer says no process of the job runs yet (the job
	// container of a job without services): nothing of the job can swap a
	// folder between the check and the engine's mount, so sub-folders are
	// mounted directly and placing links (a copy into the container, about
	// 90 ms) is saved.
	FirstContainer bool
	Labels         map[string]string
	Network        string
	// GPUs holds GPU or MIG UUIDs from the job's lease; empty means no GPU.
	GPUs []string
	// Options holds the user's parsed container.options / createOptions.
	Options Options
	// Aliases are extra names on Network (a service's name, e.g. redis).
	Aliases []string
	// Ports publishes container ports: "8080", "80:8080" or
	// "127.0.0.1:80:8080/tcp", as docker run -p takes them.
	Ports []string
}

// Request is what Compose makes of a Spec: the engine's create request,
// and the links to place in the container before it starts.
type Request struct {
	Config  *container.Config
	Host    *container.HostConfig
	Network *network.NetworkingConfig
	Links   []Link
}

// Compose turns spec into the Engine's create request. It is pure: it talks
// to no engine, so what a job would get can be checked in unit tests.
//
// The GPU request is exact: DeviceIDs with the leased UUIDs, never Count,
// because the NVIDIA hook maps Count N to the first N GPUs on the host,
// whoever holds them.
func Compose(spec Spec) (Request, error) {
	if spec.Image == "" {
		return Request{}, errors.New("compose job container: no image given: set Spec.Image")
	}
	if err := checkGPUs(spec.GPUs); err != nil {
		return Request{}, err
	}
	opts := spec.Options
	if err := CheckEnv(opts.Env); err != nil {
		return Request{}, fmt.Errorf("container options: %w", err)
	}
	if err := CheckEnv(spec.Env); err != nil {
		return Request{}, err
	}

	env := make(map[string]string, len(opts.Env)+len(spec.Env)+2)
	maps.Copy(env, opts.Env)
	maps.Copy(env, spec.Env)
	if len(spec.GPUs) > 0 {
		ids := strings.Join(spec.GPUs, ",")
		env[EnvVisibleDevices] = ids
		env[EnvGPUs] = ids
	} else {
		// CUDA base images set NVIDIA_VISIBLE_DEVICES=all in their own
		// env; on a host whose default runtime is nvidia that would hand
		// a GPU-less job every GPU. "void" makes the toolkit act like runc.
		env[EnvVisibleDevices] = "void"
	}

	labels := make(map[string]string, len(opts.Labels)+len(spec.Labels)+1)
	maps.Copy(labels, opts.Labels)
	maps.Copy(labels, spec.Labels)
	labels[LabelRunner] = "1"

	user, links, err := placeMounts(slices.Concat(spec.UserMounts, opts.Mounts), spec.HostRoots, spec.Mounts, opts.Tmpfs, spec.FirstContainer)
	if err != nil {
		return Request{}, err
	}
	mounts, err := composeMounts(slices.Concat(spec.Mounts, user), opts.Tmpfs)
	if err != nil {
		return Request{}, err
	}

	cfg := &container.Config{
		Image:      spec.Image,
		Hostname:   opts.Hostname,
		Env:        envList(env),
		Cmd:        spec.Cmd,
		WorkingDir: firstNonEmpty(spec.WorkingDir, opts.WorkingDir),
		User:       firstNonEmpty(spec.User, opts.User),
		Labels:     labels,
		// Stop sends exactly this, whatever STOPSIGNAL the image sets, so
		// the grace period means the same thing for every job.
		StopSignal:  "SIGTERM",
		Healthcheck: opts.Health,
	}
	switch {
	case len(spec.Entrypoint) > 0:
		cfg.Entrypoint = spec.Entrypoint
	case opts.Entrypoint != "":
		cfg.Entrypoint = []string{opts.Entrypoint}
	}

	useInit := true
	host := &container.HostConfig{
		Mounts:      mounts,
		Privileged:  false,
		SecurityOpt: []string{"no-new-privileges"},
		// tini as PID 1 reaps the zombies CI scripts leave behind and
		// forwards SIGTERM, which a shell as PID 1 would ignore.
		Init:    &useInit,
		ShmSize: opts.ShmSize,
		Resources: container.Resources{
			Memory:   opts.Memory,
			NanoCPUs: opts.NanoCPUs,
			Ulimits:  opts.Ulimits,
		},
	}
	if len(opts.Tmpfs) > 0 {
		host.Tmpfs = maps.Clone(opts.Tmpfs)
	}
	if len(spec.GPUs) > 0 {
		host.Resources.DeviceRequests = []container.DeviceRequest{{
			Driver:       "",
			DeviceIDs:    slices.Clone(spec.GPUs),
			Capabilities: [][]string{{"gpu"}},
		}}
	}

	if len(spec.Ports) > 0 {
		exposed, bindings, err := nat.ParsePortSpecs(spec.Ports)
		if err != nil {
			return Request{}, fmt.Errorf("port mappings %v: %w", spec.Ports, err)
		}
		cfg.ExposedPorts, host.PortBindings = exposed, bindings
	}

	var netCfg *network.NetworkingConfig
	if spec.Network != "" {
		host.NetworkMode = container.NetworkMode(spec.Network)
		netCfg = &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{spec.Network: {Aliases: slices.Clone(spec.Aliases)}},
		}
	}
	return Request{Config: cfg, Host: host, Network: netCfg, Links: links}, nil
}

// checkGPUs accepts only UUIDs: indices are renumbered inside containers and
// differ between hosts, and a comma would smuggle extra devices into the list.
func checkGPUs(ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !strings.HasPrefix(id, "GPU-") && !strings.HasPrefix(id, "MIG-") {
			return fmt.Errorf("GPU id %q is not a GPU-… or MIG-… UUID: pass the UUIDs from the lease, not indices", id)
		}
		if strings.ContainsAny(id, ", \t\r\n") {
			return fmt.Errorf("GPU id %q contains a comma or space: pass one UUID per element", id)
		}
		if seen[id] {
			return fmt.Errorf("GPU id %q is listed twice: the lease should hold each GPU once", id)
		}
		seen[id] = true
	}
	return nil
}

func composeMounts(ms []Mount, tmpfs map[string]string) ([]mount.Mount, error) {
	targets := make(map[string]bool, len(ms)+len(tmpfs))
	for t := range tmpfs {
		targets[path.Clean(t)] = true
	}
	out := make([]mount.Mount, 0, len(ms))
	for _, m := range ms {
		if err := CheckMount(m); err != nil {
			return nil, err
		}
		target := path.Clean(m.Target)
		if targets[target] {
			return nil, fmt.Errorf("two mounts target %s: keep one", target)
		}
		targets[target] = true
		mm := mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: target, ReadOnly: m.ReadOnly}
		if m.Volume {
			mm.Type = mount.TypeVolume
		}
		out = append(out, mm)
	}
	return out, nil
}

// CheckMount refuses mounts that would let a job escape its GPU lease or the
// host: the Docker socket (a job could start a container with every GPU),
// the host's /dev, /proc and /sys, and the directories that hold the socket.
// The GitHub runner always sends /var/run/docker.sock among its system
// mounts; callers must drop it rather than pass it here.
func CheckMount(m Mount) error {
	if !path.IsAbs(m.Target) {
		return fmt.Errorf("mount target %q is not an absolute path: use a path like /data", m.Target)
	}
	target := path.Clean(m.Target)
	switch {
	case m.Volume && m.Source != "" && !validVolumeName(m.Source):
		return fmt.Errorf("volume name %q is invalid: use letters, digits, '_', '.', '-', or an absolute host path for a bind mount", m.Source)
	case !m.Volume && !path.IsAbs(m.Source):
		return fmt.Errorf("bind mount source %q is not an absolute host path: use /host/path:%s", m.Source, target)
	case !m.Volume:
		// The host side first: it is the more important reason.
		if err := checkHostPath(path.Clean(m.Source)); err != nil {
			return err
		}
	}
	if target == "/" || underAny(target, "/proc", "/sys") {
		return fmt.Errorf("mount target %s is refused: it would hide or replace the container's /, /proc or /sys", target)
	}
	return nil
}

func checkHostPath(src string) error {
	switch {
	case strings.HasSuffix(src, "docker.sock"):
		return fmt.Errorf("mounting the Docker socket %s is refused: it would let the job start containers with every GPU on the host", src)
	case src == "/" || src == "/var" || underAny(src, "/run", "/var/run"):
		return fmt.Errorf("mounting host path %s is refused: it contains the Docker socket, which would let the job start containers with every GPU on the host", src)
	case underAny(src, "/dev"):
		return fmt.Errorf("mounting host path %s is refused: host devices would bypass the GPU lease; GPUs come from the job's lease", src)
	case underAny(src, "/proc", "/sys"):
		return fmt.Errorf("mounting host path %s is refused: it exposes the host kernel and devices to the job", src)
	case underAny(src, "/var/lib/docker"):
		return fmt.Errorf("mounting host path %s is refused: it holds other jobs' containers and volumes", src)
	}
	return nil
}

// underAny reports whether clean path p is one of dirs or inside one.
func underAny(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func validVolumeName(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_.-", r)) {
			return false
		}
	}
	return true
}

// CheckEnv refuses user-set variables that would select devices outside the
// job's lease, and names that Docker cannot pass on.
func CheckEnv(env map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if err := checkEnvKey(k); err != nil {
			return err
		}
	}
	return nil
}

func checkEnvKey(k string) error {
	if k == "" || strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("environment variable name %q is invalid: use NAME=value with a name that has no '='", k)
	}
	if deviceSelecting(k) {
		return fmt.Errorf("environment variable %s is refused: it selects GPUs or driver capabilities outside the job's lease; ask for GPUs with the gpu:N label / GPU_COUNT and read the granted UUIDs from %s", k, EnvGPUs)
	}
	return nil
}

// deviceSelecting reports whether k is an NVIDIA Container Toolkit variable
// that adds devices or driver capabilities to a container. With the toolkit
// option accept-nvidia-visible-devices-envvar-when-unprivileged (on by
// default) a user-set value would grant GPUs outside the lease. Case is
// ignored so near-misses are refused too rather than argued about.
func deviceSelecting(k string) bool {
	up := strings.ToUpper(k)
	if strings.HasPrefix(up, "NVIDIA_VISIBLE_DEVICE") {
		return true
	}
	switch up {
	case "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_MIG_CONFIG_DEVICES", "NVIDIA_MIG_MONITOR_DEVICES",
		"NVIDIA_GDS", "NVIDIA_MOFED", "NVIDIA_NVSWITCH", "NVIDIA_GDRCOPY", "NVIDIA_IMEX_CHANNELS":
		return true
	}
	return false
}

// envList renders env sorted by name, so the same spec always yields the
// same create request.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
