package gpu

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Inventory is what NVML reports about the host.
type Inventory struct {
	Driver string   `json:"driver"`
	CUDA   string   `json:"cuda"` // highest CUDA version the driver supports, "12.4"
	NVML   string   `json:"nvml"`
	GPUs   []Device `json:"gpus"`
}

// Device is one physical GPU. Pointer fields are nil when NVML cannot report
// them on this GPU (not supported, or the GPU was lost before they were read).
type Device struct {
	Index    int    `json:"index"` // NVML index, -1 unknown
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	PCIBusID string `json:"pci_bus_id"`

	MemoryTotal       uint64   `json:"memory_total"` // bytes
	MemoryUsed        uint64   `json:"memory_used"`  // bytes
	Utilization       *uint32  `json:"utilization"`  // percent
	MemoryUtilization *uint32  `json:"memory_utilization"`
	TemperatureC      *uint32  `json:"temperature_c"`
	PowerW            *float64 `json:"power_w"`
	PowerLimitW       *float64 `json:"power_limit_w"`

	ECCUncorrected      *uint64       `json:"ecc_uncorrected"` // volatile: since the driver loaded
	RetiredPagesPending bool          `json:"retired_pages_pending"`
	RemappedRows        *RemappedRows `json:"remapped_rows"`

	MIG        bool        `json:"mig"`
	MIGDevices []MIGDevice `json:"mig_devices"`
	Processes  []Process   `json:"processes"` // compute processes, host PIDs

	NUMANode int `json:"numa_node"` // -1 unknown
	// Island groups GPUs worth allocating together: "nvlink:<smallest bus
	// id>" for an NVLink-connected set, else "numa:<node>", "" unknown.
	Island string `json:"island"`

	Health Health `json:"health"`
}

// RemappedRows is the row-remapping state of Ampere and later GPUs.
type RemappedRows struct {
	Correctable   int  `json:"correctable"`
	Uncorrectable int  `json:"uncorrectable"`
	Pending       bool `json:"pending"` // a reset will apply remappings
	Failure       bool `json:"failure"` // a remapping failed: the GPU needs service
}

// MIGDevice is one MIG device of a GPU in MIG mode.
type MIGDevice struct {
	Index           int    `json:"index"` // MIG slot on its GPU
	UUID            string `json:"uuid"`
	MemoryTotal     uint64 `json:"memory_total"`
	GPUInstance     int    `json:"gpu_instance"`
	ComputeInstance int    `json:"compute_instance"`
}

// Process is a compute process using a GPU.
type Process struct {
	PID        uint32 `json:"pid"`
	UsedMemory uint64 `json:"used_memory"` // bytes
}

// Health says whether a GPU may be given to a job, and if not, why.
// Processes running on a GPU do not make it unhealthy: the allocator treats
// such a GPU as busy instead.
type Health struct {
	Healthy bool     `json:"healthy"`
	Reasons []string `json:"reasons"`
}

// reader reads one device, remembering the first sign that the GPU is gone
// so the remaining calls are skipped: a lost GPU answers every call with the
// same error, and each costs a driver round trip.
type reader struct {
	gone    nvml.Return // ERROR_GPU_IS_LOST or ERROR_RESET_REQUIRED, else SUCCESS
	reasons []string
}

// ok reports whether ret is SUCCESS. Unsupported readings are simply
// unknown; other errors on optional readings are treated the same, since a
// flaky sensor is no reason to refuse a GPU.
func (r *reader) ok(ret nvml.Return) bool {
	if ret == nvml.ERROR_GPU_IS_LOST || ret == nvml.ERROR_RESET_REQUIRED {
		if r.gone == nvml.SUCCESS {
			r.gone = ret
		}
	}
	return ret == nvml.SUCCESS
}

// must is ok for readings a healthy GPU always has: failing one is a fault.
func (r *reader) must(what string, ret nvml.Return) bool {
	if r.ok(ret) {
		return true
	}
	if r.gone == nvml.SUCCESS {
		r.reasons = append(r.reasons, fmt.Sprintf("NVML cannot read its %s (%v): check it with nvidia-smi", what, ret))
	}
	return false
}

func (r *reader) alive() bool { return r.gone == nvml.SUCCESS }

// goneReason explains a lost GPU or one that needs a reset.
func goneReason(ret nvml.Return) string {
	if ret == nvml.ERROR_RESET_REQUIRED {
		return "GPU needs a reset (NVML: reset required): reset it with nvidia-smi -r or reboot"
	}
	return "GPU is lost (NVML: GPU is lost): it fell off the bus; reset or reboot the host and check dmesg for Xid errors"
}

// unreadable is a GPU NVML gave no handle for.
func unreadable(index int, uuid string, ret nvml.Return) Device {
	reason := goneReason(ret)
	if ret != nvml.ERROR_GPU_IS_LOST && ret != nvml.ERROR_RESET_REQUIRED {
		reason = fmt.Sprintf("NVML cannot open it (%v): check it with nvidia-smi", ret)
	}
	return Device{Index: index, UUID: uuid, NUMANode: -1, Health: Health{Reasons: []string{reason}}}
}

// readDevice reads everything but the island, which needs all GPUs.
func readDevice(index int, d nvml.Device) Device {
	dev := Device{Index: index, NUMANode: -1}
	r := &reader{}
	var slowdownC *uint32
	steps := []func(){
		func() {
			if v, ret := d.GetUUID(); r.must("UUID", ret) {
				dev.UUID = v
			}
		},
		func() {
			if v, ret := d.GetName(); r.must("name", ret) {
				dev.Name = v
			}
		},
		func() {
			if p, ret := d.GetPciInfo(); r.must("PCI info", ret) {
				dev.PCIBusID = busID(p.BusId)
			}
		},
		func() {
			if m, ret := d.GetMemoryInfo(); r.must("memory", ret) {
				dev.MemoryTotal, dev.MemoryUsed = m.Total, m.Used
			}
		},
		func() {
			if u, ret := d.GetUtilizationRates(); r.ok(ret) {
				dev.Utilization, dev.MemoryUtilization = &u.Gpu, &u.Memory
			}
		},
		func() {
			if t, ret := d.GetTemperature(nvml.TEMPERATURE_GPU); r.ok(ret) {
				dev.TemperatureC = &t
			}
		},
		func() {
			// Only health needs the threshold, so it is not part of Device.
			if t, ret := d.GetTemperatureThreshold(nvml.TEMPERATURE_THRESHOLD_SLOWDOWN); r.ok(ret) && t > 0 {
				slowdownC = &t
			}
		},
		func() {
			if p, ret := d.GetPowerUsage(); r.ok(ret) {
				dev.PowerW = ptr(float64(p) / 1000)
			}
		},
		func() {
			if p, ret := d.GetEnforcedPowerLimit(); r.ok(ret) {
				dev.PowerLimitW = ptr(float64(p) / 1000)
			}
		},
		func() {
			if n, ret := d.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC); r.ok(ret) {
				dev.ECCUncorrected = &n
			}
		},
		func() {
			if s, ret := d.GetRetiredPagesPendingStatus(); r.ok(ret) {
				dev.RetiredPagesPending = s == nvml.FEATURE_ENABLED
			}
		},
		func() {
			if c, u, p, f, ret := d.GetRemappedRows(); r.ok(ret) {
				dev.RemappedRows = &RemappedRows{Correctable: c, Uncorrectable: u, Pending: p, Failure: f}
			}
		},
		func() { readMIG(r, d, &dev) },
		func() {
			if procs, ret := processes(d); r.ok(ret) {
				dev.Processes = procs
			}
		},
		func() {
			if n, ret := d.GetNumaNodeId(); r.ok(ret) && n >= 0 {
				dev.NUMANode = n
			}
		},
	}
	for _, step := range steps {
		if !r.alive() {
			break
		}
		step()
	}
	dev.Health = health(&dev, r, slowdownC)
	return dev
}

func readMIG(r *reader, d nvml.Device, dev *Device) {
	cur, _, ret := d.GetMigMode()
	if !r.ok(ret) || cur != nvml.DEVICE_MIG_ENABLE {
		return
	}
	dev.MIG = true
	n, ret := d.GetMaxMigDeviceCount()
	if !r.ok(ret) {
		return
	}
	for j := range n {
		m, ret := d.GetMigDeviceHandleByIndex(j)
		if !r.ok(ret) {
			if !r.alive() {
				return
			}
			continue // an empty slot answers ERROR_NOT_FOUND
		}
		md := MIGDevice{Index: j, GPUInstance: -1, ComputeInstance: -1}
		if u, ret := m.GetUUID(); r.ok(ret) {
			md.UUID = u
		} else {
			continue
		}
		if mem, ret := m.GetMemoryInfo(); r.ok(ret) {
			md.MemoryTotal = mem.Total
		}
		if id, ret := m.GetGpuInstanceId(); r.ok(ret) {
			md.GPUInstance = id
		}
		if id, ret := m.GetComputeInstanceId(); r.ok(ret) {
			md.ComputeInstance = id
		}
		if !r.alive() {
			return
		}
		dev.MIGDevices = append(dev.MIGDevices, md)
	}
}

// migHandles lists the MIG device handles of a GPU in MIG mode.
func migHandles(d nvml.Device) []nvml.Device {
	cur, _, ret := d.GetMigMode()
	if ret != nvml.SUCCESS || cur != nvml.DEVICE_MIG_ENABLE {
		return nil
	}
	n, ret := d.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return nil
	}
	var out []nvml.Device
	for j := range n {
		if m, ret := d.GetMigDeviceHandleByIndex(j); ret == nvml.SUCCESS {
			out = append(out, m)
		}
	}
	return out
}

// processes lists compute processes sorted by PID; an unsupported query
// means none can be seen, which is not an error.
func processes(d nvml.Device) ([]Process, nvml.Return) {
	infos, ret := d.GetComputeRunningProcesses()
	if ret == nvml.ERROR_NOT_SUPPORTED || ret == nvml.ERROR_FUNCTION_NOT_FOUND {
		return nil, nvml.SUCCESS
	}
	if ret != nvml.SUCCESS {
		return nil, ret
	}
	var out []Process
	for _, p := range infos {
		out = append(out, Process{PID: p.Pid, UsedMemory: p.UsedGpuMemory})
	}
	slices.SortFunc(out, func(a, b Process) int { return cmp.Compare(a.PID, b.PID) })
	return out, nvml.SUCCESS
}

func health(dev *Device, r *reader, slowdownC *uint32) Health {
	reasons := slices.Clone(r.reasons)
	if !r.alive() {
		reasons = append([]string{goneReason(r.gone)}, reasons...)
	}
	if dev.ECCUncorrected != nil && *dev.ECCUncorrected > 0 {
		reasons = append(reasons, fmt.Sprintf("%d volatile uncorrected ECC errors: drain the GPU and reset it", *dev.ECCUncorrected))
	}
	if dev.RetiredPagesPending {
		reasons = append(reasons, "retired pages pending: reset the GPU or reboot to retire them")
	}
	if rr := dev.RemappedRows; rr != nil {
		if rr.Failure {
			reasons = append(reasons, "row remapping failed: the GPU needs service")
		}
		if rr.Pending {
			reasons = append(reasons, "row remapping pending: reset the GPU to apply it")
		}
	}
	if dev.TemperatureC != nil && slowdownC != nil && *dev.TemperatureC >= *slowdownC {
		reasons = append(reasons, fmt.Sprintf("temperature %dC at or above slowdown threshold %dC: check cooling", *dev.TemperatureC, *slowdownC))
	}
	return Health{Healthy: len(reasons) == 0, Reasons: reasons}
}

// busID decodes NVML's NUL-terminated C string.
func busID(b [32]int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

func ptr[T any](v T) *T { return &v }
