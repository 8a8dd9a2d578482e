// Package gpu tells mlci-runner, through NVML, which NVIDIA GPUs a host has, whether
// each is fit for a job, what hardware a job ran on and what it did with it.
package gpu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNoDriver means the host has no usable NVIDIA driver. The runner still
// serves jobs that ask for no GPUs, so callers branch on it with errors.Is.
var ErrNoDriver = errors.New("no NVIDIA driver on this host")

// ErrClosed is returned by a Host used after Close.
var ErrClosed = errors.New("GPU host already closed: open it again with gpu.Open")

// Host is an initialised NVML session. Its methods are safe for concurrent
// use, as NVML itself is.
type Host struct {
	lib nvml.Interface

	mu     sync.RWMutex // guards closed against calls racing Close
	closed bool
}

// Open initialises NVML through lib: nvml.New() in production, a go-nvml
// mock server (see package gputest) in tests.
func Open(lib nvml.Interface) (*Host, error) {
	switch ret := lib.Init(); ret {
	case nvml.SUCCESS:
		return &Host{lib: lib}, nil
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED:
		return nil, noDriverError{ret}
	default:
		return nil, fmt.Errorf("initialise NVML: %w: check the driver with nvidia-smi and that the runner user may open /dev/nvidia*", ret)
	}
}

// noDriverError matches both ErrNoDriver and the NVML return code.
type noDriverError struct{ ret nvml.Return }

func (e noDriverError) Error() string {
	return fmt.Sprintf("%v (NVML: %s): jobs that ask for no GPUs still run", ErrNoDriver, nvmlReason(e.ret))
}

func (e noDriverError) Unwrap() []error { return []error{ErrNoDriver, e.ret} }

// nvmlReason turns ERROR_LIBRARY_NOT_FOUND into "library not found".
func nvmlReason(ret nvml.Return) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(ret.Error(), "ERROR_"), "_", " "))
}

// Close shuts NVML down. Closing twice is not an error.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	if ret := h.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("shut NVML down: %w", ret)
	}
	return nil
}

// use holds the host open for the duration of a call.
func (h *Host) use() (release func(), err error) {
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return nil, ErrClosed
	}
	return h.mu.RUnlock, nil
}

// Inventory reads every GPU afresh. A GPU that cannot be read (lost, or
// answering errors) is listed unhealthy rather than failing the inventory,
// so one bad GPU does not take the others out of service.
func (h *Host) Inventory(ctx context.Context) (Inventory, error) {
	release, err := h.use()
	if err != nil {
		return Inventory{}, err
	}
	defer release()

	inv, err := h.versions()
	if err != nil {
		return Inventory{}, err
	}
	n, ret := h.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("count GPUs: %w: check the driver with nvidia-smi", ret)
	}
	handles := make([]nvml.Device, n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return Inventory{}, fmt.Errorf("read GPU inventory: %w", err)
		}
		d, ret := h.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			inv.GPUs = append(inv.GPUs, unreadable(i, "", ret))
			continue
		}
		handles[i] = d
		inv.GPUs = append(inv.GPUs, readDevice(i, d))
	}
	islands := nvlinkIslands(handles)
	for i := range inv.GPUs {
		inv.GPUs[i].Island = islandOf(inv.GPUs[i], islands)
	}
	return inv, nil
}

func (h *Host) versions() (Inventory, error) {
	var inv Inventory
	var ret nvml.Return
	if inv.Driver, ret = h.lib.SystemGetDriverVersion(); ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("read the NVIDIA driver version: %w: check the driver with nvidia-smi", ret)
	}
	if inv.NVML, ret = h.lib.SystemGetNVMLVersion(); ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("read the NVML version: %w: check the driver with nvidia-smi", ret)
	}
	cuda, ret := h.lib.SystemGetCudaDriverVersion()
	if ret != nvml.SUCCESS {
		return Inventory{}, fmt.Errorf("read the CUDA driver version: %w: check the driver with nvidia-smi", ret)
	}
	inv.CUDA = cudaVersion(cuda)
	return inv, nil
}

// cudaVersion turns NVML's 12040 into "12.4".
func cudaVersion(v int) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// Device reads one GPU afresh: the GPU with that UUID, or the parent GPU of
// a MIG device UUID. The allocator calls it just before handing a GPU out.
func (h *Host) Device(ctx context.Context, uuid string) (Device, error) {
	release, err := h.use()
	if err != nil {
		return Device{}, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return Device{}, fmt.Errorf("read GPU %s: %w", uuid, err)
	}
	gpu, _, err := h.lookup(uuid)
	if errors.Is(err, nvml.ERROR_GPU_IS_LOST) {
		return unreadable(-1, uuid, nvml.ERROR_GPU_IS_LOST), nil
	}
	if err != nil {
		return Device{}, err
	}
	index, ret := gpu.GetIndex()
	if ret != nvml.SUCCESS {
		index = -1
	}
	dev := readDevice(index, gpu)
	if dev.UUID == "" {
		dev.UUID = uuid
	}
	dev.Island = islandOf(dev, nvlinkIslands(h.handles()))
	return dev, nil
}

// Processes lists the compute processes on a GPU or MIG device, with host
// PIDs, sorted by PID.
func (h *Host) Processes(ctx context.Context, uuid string) ([]Process, error) {
	release, err := h.use()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list processes on GPU %s: %w", uuid, err)
	}
	gpu, mig, err := h.lookup(uuid)
	if err != nil {
		return nil, err
	}
	d := gpu
	if mig != nil {
		d = mig
	}
	procs, ret := processes(d)
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("list processes on GPU %s: %w", uuid, ret)
	}
	return procs, nil
}

// lookup finds a GPU by GPU or MIG UUID. MIG devices are found by walking
// the MIG-enabled GPUs, which works with every driver and with mocks, where
// DeviceGetHandleByUUID may not know MIG UUIDs.
func (h *Host) lookup(uuid string) (gpu, mig nvml.Device, err error) {
	notFound := fmt.Errorf("no GPU or MIG device %q on this host: list them with `mlci-runner gpus`", uuid)
	if !strings.HasPrefix(uuid, "MIG-") {
		d, ret := h.lib.DeviceGetHandleByUUID(uuid)
		switch ret {
		case nvml.SUCCESS:
			return d, nil, nil
		case nvml.ERROR_NOT_FOUND, nvml.ERROR_INVALID_ARGUMENT:
			return nil, nil, notFound
		default:
			return nil, nil, fmt.Errorf("find GPU %s: %w", uuid, ret)
		}
	}
	for _, d := range h.handles() {
		if d == nil {
			continue
		}
		for _, m := range migHandles(d) {
			if u, ret := m.GetUUID(); ret == nvml.SUCCESS && u == uuid {
				return d, m, nil
			}
		}
	}
	return nil, nil, notFound
}

// handles returns every GPU handle NVML gives, nil where it gives none.
func (h *Host) handles() []nvml.Device {
	n, ret := h.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil
	}
	out := make([]nvml.Device, n)
	for i := range n {
		if d, ret := h.lib.DeviceGetHandleByIndex(i); ret == nvml.SUCCESS {
			out[i] = d
		}
	}
	return out
}
