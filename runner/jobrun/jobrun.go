// Package jobrun is the life of one CI job on a GPU host, shared by the
// GitHub container hooks and the GitLab custom executor: lease the GPUs the
// job asks for, write its hardware fingerprint, watch its GPUs while it runs,
// and afterwards make sure nothing it left behind reaches the next job.
package jobrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/lease"
)

// GPUs is what jobrun needs of NVML; *gpu.Host implements it.
type GPUs interface {
	Inventory(ctx context.Context) (gpu.Inventory, error)
	Processes(ctx context.Context, uuid string) ([]gpu.Process, error)
	Device(ctx context.Context, uuid string) (gpu.Device, error)
	gpu.Sampler
}

// Paths inside a job container. The job folder is mounted read-only there,
// so a job can read its hardware and telemetry files but never change them.
const (
	ContainerDir       = "/mlci"
	HardwareFileName   = "hardware.json"
	TelemetryFileName  = "telemetry.json"
	EnvHardwareFile    = "MLCI_HARDWARE_FILE"
	EnvTelemetryFile   = "MLCI_TELEMETRY_FILE"
	monitorPIDFileName = "monitor.pid"
)

// ErrNoGPUs is returned when a job asks for GPUs on a host without NVML.
var ErrNoGPUs = errors.New("no NVIDIA driver on this host")

// GPULeases hands out exclusive leases on the host's GPUs, one holder per
// GPU or MIG UUID, as gitlab-runner's executor providers acquire and
// release what a job runs on. *lease.Store implements it on disk, shared by
// every runner process on the host.
type GPULeases interface {
	// Acquire leases what req asks for, waiting up to req.Wait; a job that
	// already holds a lease gets it again.
	Acquire(ctx context.Context, req lease.Request) (lease.Lease, error)
	// Release ends job's lease; ok is false when it held none.
	Release(job string) (l lease.Lease, ok bool, err error)
	// Get returns job's lease; ok is false when it holds none.
	Get(job string) (l lease.Lease, ok bool, err error)
	// List returns every lease held, that is who holds which GPUs.
	List() ([]lease.Lease, error)
	// SetContainer records the container whose end ends job's lease.
	SetContainer(job, container string) error
	// Reclaim ends the leases whose owner died or for which ended says
	// yes, and returns them for cleaning.
	Reclaim(ctx context.Context, ended func(context.Context, lease.Lease) bool) ([]lease.Lease, error)
	// Quarantine keeps a GPU out of every lease until an operator frees it.
	Quarantine(id, reason string) error
}

// HostEngine is what Host needs of the job engine outside a job's own
// commands: to tell that a reclaimed lease's container is gone and remove
// it, and to give datasets a read-only volume. Every Engine is one.
type HostEngine interface {
	// Gone reports whether a container no longer exists; an engine that
	// cannot answer says no, since a lease must not be reclaimed from a job
	// that may still run.
	Gone(ctx context.Context, id string) bool
	// Remove removes a container; one that is gone is removed.
	Remove(ctx context.Context, id string) error
	// DatasetVolume returns the read-only cache volume holding srcDir,
	// whose content digest is digest, filling it with image's help when
	// new.
	DatasetVolume(ctx context.Context, digest, srcDir, image string) (string, error)
}

// Host manages the jobs of one runner host.
type Host struct {
	Config hostconfig.Config
	Leases GPULeases
	// GPUs is nil where NVML is absent: jobs that ask for none still run.
	GPUs GPUs
	// Engine is the job engine: a lease whose container it says is gone
	// counts as ended, and a reclaimed job's container is removed. nil:
	// containers never count as gone, and jobs cannot ask for datasets.
	Engine HostEngine
	// Log receives the lines a job's log should show (waiting, cleaning).
	Log io.Writer
	// Kill sends SIGKILL to a host process; nil means syscall.Kill.
	Kill func(pid int) error
	// Sleep waits between cleanup checks; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Allocation is what a job was given.
type Allocation struct {
	Job  string
	GPUs []string // leased GPU or MIG UUIDs, in lease order
	// Dir is the job folder on the host, mounted read-only at ContainerDir.
	Dir string
	// Env goes into the job container: where the hardware and telemetry
	// files are, and which GPUs were leased.
	Env map[string]string
	// Fingerprint describes the leased hardware.
	Fingerprint gpu.Fingerprint
}

// JobDir returns the host folder of a job: readable names, and a digest
// suffix so two keys that clean to the same name stay apart.
func (h *Host) JobDir(job string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, job)
	if len(clean) > 64 {
		clean = clean[:64]
	}
	sum := sha256.Sum256([]byte(job))
	return filepath.Join(h.Config.StateDir, "jobs", clean+"-"+hex.EncodeToString(sum[:4]))
}

func (h *Host) logf(format string, args ...any) {
	if h.Log != nil {
		fmt.Fprintf(h.Log, "mlci-runner: "+format+"\n", args...)
	}
}

// Allocate leases what ask wants for job (waiting up to Config.GPUWait),
// and writes the job folder with its hardware fingerprint. A job that asks
// for no GPU gets a folder and a fingerprint without GPUs, and needs no
// NVML. owner is the long-lived process whose death ends the job (the
// runner's worker), since the hook or executor process itself exits.
func (h *Host) Allocate(ctx context.Context, job string, ask Ask, owner lease.Owner) (Allocation, error) {
	a := Allocation{Job: job, Dir: h.JobDir(job)}
	var inv gpu.Inventory
	if ask.Count > 0 {
		if h.GPUs == nil {
			return Allocation{}, fmt.Errorf("job asks for %s: %w; run it on a GPU runner or drop %s", ask, ErrNoGPUs, EnvGPUs)
		}
		h.Sweep(ctx)
		l, err := h.Leases.Acquire(ctx, lease.Request{
			Job:       job,
			Count:     ask.Count,
			MinMemory: ask.MinMemory,
			Model:     ask.Model,
			Owner:     owner,
			Wait:      time.Duration(h.Config.GPUWait),
			Candidates: func(ctx context.Context) ([]lease.Candidate, error) {
				// The last look at the GPUs also makes the fingerprint.
				var err error
				if inv, err = h.GPUs.Inventory(ctx); err != nil {
					return nil, err
				}
				return candidates(inv), nil
			},
			Ended:    h.Ended,
			Progress: func(msg string) { h.logf("waiting for GPUs: %s", msg) },
		})
		if err != nil {
			return Allocation{}, err
		}
		a.GPUs = l.IDs
		if len(inv.GPUs) == 0 {
			// The job already held its lease: Acquire did not look.
			if inv, err = h.GPUs.Inventory(ctx); err != nil {
				h.release(ctx, job)
				return Allocation{}, err
			}
		}
		a.Fingerprint = gpu.NewFingerprint(inv, a.GPUs)
	} else {
		if h.GPUs != nil {
			// The driver still belongs in the fingerprint: it decides what
			// CUDA code the image could have run.
			if full, err := h.GPUs.Inventory(ctx); err == nil {
				inv = gpu.Inventory{Driver: full.Driver, CUDA: full.CUDA, NVML: full.NVML}
			}
		}
		a.Fingerprint = gpu.NewFingerprint(inv, nil)
	}
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		h.release(ctx, job)
		return Allocation{}, fmt.Errorf("job folder: %w", err)
	}
	// The folder is bind-mounted for a job that may run as any user.
	if err := os.Chmod(a.Dir, 0o755); err != nil {
		h.release(ctx, job)
		return Allocation{}, fmt.Errorf("job folder: %w", err)
	}
	if err := gpu.WriteHardwareFile(filepath.Join(a.Dir, HardwareFileName), a.Fingerprint); err != nil {
		h.release(ctx, job)
		return Allocation{}, fmt.Errorf("hardware file: %w", err)
	}
	a.Env = map[string]string{
		EnvHardwareFile:  ContainerDir + "/" + HardwareFileName,
		EnvTelemetryFile: ContainerDir + "/" + TelemetryFileName,
		"MLCI_GPU_COUNT": fmt.Sprint(len(a.GPUs)),
	}
	if len(a.GPUs) > 0 {
		h.logf("leased %s: %s", ask, strings.Join(a.GPUs, ","))
	}
	return a, nil
}

// candidates turns the live inventory into what the allocator chooses from.
// A GPU in MIG mode is offered only as its MIG devices: CUDA sees those, not
// the whole GPU.
func candidates(inv gpu.Inventory) []lease.Candidate {
	var out []lease.Candidate
	for _, d := range inv.GPUs {
		reason := strings.Join(d.Health.Reasons, "; ")
		if d.MIG {
			for _, m := range d.MIGDevices {
				out = append(out, lease.Candidate{
					ID: m.UUID, Parent: d.UUID, Index: d.Index, Model: d.Name,
					MemoryTotal: m.MemoryTotal, Island: d.Island,
					Healthy: d.Health.Healthy, Reason: reason,
				})
			}
			continue
		}
		c := lease.Candidate{
			ID: d.UUID, Index: d.Index, Model: d.Name, MemoryTotal: d.MemoryTotal,
			Island: d.Island, Healthy: d.Health.Healthy, Reason: reason,
		}
		if len(d.Processes) > 0 {
			// Only a leased GPU may run anything; the lease store skips
			// leased GPUs itself, so processes here belong to no job.
			c.Busy = true
			c.Reason = fmt.Sprintf("%d compute process(es) that no job owns (pid %d)", len(d.Processes), d.Processes[0].PID)
		}
		out = append(out, c)
	}
	return out
}

// Ended reports whether lease l's job is over because its container is
// gone, as lease.Acquire and Reclaim decide it.
func (h *Host) Ended(ctx context.Context, l lease.Lease) bool {
	return l.Container != "" && h.Engine != nil && h.Engine.Gone(ctx, l.Container)
}

func (h *Host) kill(pid int) error {
	if h.Kill != nil {
		return h.Kill(pid)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

func (h *Host) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
