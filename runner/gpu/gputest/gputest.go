// Package gputest fakes an NVIDIA host for tests that must run without a GPU:
// a go-nvml mock server whose every call used by runner/gpu answers sanely,
// with helpers to inject the faults the allocator and job runner react to.
//
// The go-nvml mock panics on any method it does not implement, and it hands
// out random UUIDs; this package fills those gaps with fixed, deterministic
// values so tests can compare whole inventories and golden files:
//
//	srv := gputest.NewServer(t, 8)          // DGX A100-like, 8 GPUs
//	srv.SetECCErrors(3, 2)                  // GPU 3 turns unhealthy
//	host, err := gpu.Open(srv)              // *Server is an nvml.Interface
//
// Defaults for GPU i of n: UUID(i), BusID(i), NUMA node 0 for the first half
// and 1 for the second, 0% utilization, 35C (slowdown at 90C), 60 W drawn out
// of the model's usual limit, an energy counter, no ECC errors, no retired
// pages or remapped rows, no processes, MIG disabled and no NVLink (so
// runner/gpu groups GPUs by NUMA node unless WithNVLink is given).
//
// All state lives behind one mutex and the mock's function fields are set
// once, in NewServer, so the fault helpers may be called while other
// goroutines (a telemetry recorder, say) are using the server.
package gputest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// Versions the server reports unless WithVersions says otherwise; they match
// the go-nvml dgxa100 and dgxh100 mocks.
const (
	DriverVersion     = "550.54.15"
	NVMLVersion       = "12.550.54.15"
	CUDADriverVersion = 12040
)

// Defaults for every GPU; the Set helpers change them per GPU.
const (
	DefaultTemperatureC  = 35
	SlowdownTemperatureC = 90
	DefaultPowerMW       = 60_000
	// EnergyStartMJ is the energy counter before the first read. Each read
	// of the counter then adds the current power times one second, as if
	// reads were a second apart, so telemetry tests see energy that grows
	// without depending on the wall clock.
	EnergyStartMJ = 1_000_000
	// MaxMIGDevices is what GetMaxMigDeviceCount reports, as on A100/H100.
	MaxMIGDevices = 7
)

// UUID is the fixed UUID of GPU i.
func UUID(i int) string { return fmt.Sprintf("GPU-00000000-0000-0000-0000-%012d", i) }

// MIGUUID is the fixed UUID of MIG device j on GPU i.
func MIGUUID(i, j int) string { return fmt.Sprintf("MIG-00000000-0000-0000-%04d-%012d", i, j) }

// BusID is the PCI bus id of GPU i: 0000:07:00.0, 0000:17:00.0, ...
func BusID(i int) string { return fmt.Sprintf("0000:%02x:00.0", 0x07+0x10*i) }

// switchBusID is the PCI bus id of the NVSwitch that joins NVLink group g;
// it ends in c so it never collides with a GPU's.
func switchBusID(g int) string { return fmt.Sprintf("0000:%02x:00.0", 0x0c+0x10*g) }

// nvlinkLinks is how many NVLinks each GPU reports when WithNVLink is given.
const nvlinkLinks = 4

// Option configures NewServer.
type Option func(*options)

type options struct {
	model   gpus.Config
	driver  string
	nvmlVer string
	cuda    int
	nvlink  [][]int
}

// WithModel makes every GPU the given go-nvml mock model, for example
// gpus.H100_SXM5_80GB; the default is gpus.A100_SXM4_40GB. A "Mock " prefix
// in the model name is dropped so names look like a real host's.
func WithModel(cfg gpus.Config) Option { return func(o *options) { o.model = cfg } }

// WithVersions sets the driver, NVML and CUDA driver (e.g. 12040) versions.
func WithVersions(driver, nvmlVersion string, cuda int) Option {
	return func(o *options) { o.driver, o.nvmlVer, o.cuda = driver, nvmlVersion, cuda }
}

// WithNVLink connects the GPUs of each group through an NVSwitch of their
// own, as NVLink islands. GPUs in no group report NVLink support with every
// link down.
func WithNVLink(groups ...[]int) Option { return func(o *options) { o.nvlink = groups } }

// Server is a fake NVML host. It embeds the go-nvml mock server, so it is an
// nvml.Interface to pass to gpu.Open.
type Server struct {
	*server.Server

	t    testing.TB
	mu   sync.Mutex
	gpus []*gpuState
}

type process struct {
	info nvml.ProcessInfo
	mig  int // MIG slot it runs in, -1 for the whole GPU
}

type gpuState struct {
	index      int
	uuid       string
	name       string
	busID      string
	numa       int
	memTotal   uint64
	memUsed    uint64
	util       nvml.Utilization
	tempC      uint32
	powerMW    uint32
	limitMW    uint32
	energyMJ   uint64
	ecc        uint64
	retired    bool
	remapped   [2]int
	remapPend  bool
	remapFail  bool
	lost       bool
	procs      []process
	migEnabled bool
	migs       []*mock.Device
	nvlinkPeer string // NVSwitch bus id, "" for links down; nvlink says whether links exist
	nvlink     bool
}

// NewServer returns a fake host with n GPUs (n may be 0: a driver with no
// GPUs). It fails the test if the options are inconsistent.
func NewServer(t testing.TB, n int, opts ...Option) *Server {
	t.Helper()
	o := options{model: gpus.A100_SXM4_40GB, driver: DriverVersion, nvmlVer: NVMLVersion, cuda: CUDADriverVersion}
	for _, opt := range opts {
		opt(&o)
	}
	if n < 0 {
		t.Fatalf("gputest.NewServer: %d GPUs: want 0 or more", n)
	}
	srv, err := server.New(
		server.WithGPUs(gpus.Multiple(n, o.model)...),
		server.WithDriverVersion(o.driver),
		server.WithNVMLVersion(o.nvmlVer),
		server.WithCUDADriverVersion(o.cuda),
	)
	if err != nil {
		t.Fatalf("gputest.NewServer: %v", err)
	}
	s := &Server{Server: srv, t: t}
	for i, d := range srv.Devices {
		dev := d.(*server.Device)
		st := &gpuState{
			index:    i,
			uuid:     UUID(i),
			name:     strings.TrimPrefix(o.model.Name, "Mock "),
			busID:    BusID(i),
			numa:     0,
			memTotal: dev.MemoryInfo.Total,
			tempC:    DefaultTemperatureC,
			powerMW:  DefaultPowerMW,
			limitMW:  powerLimitMW(o.model.Name),
			energyMJ: EnergyStartMJ,
			nvlink:   len(o.nvlink) > 0,
		}
		if i >= (n+1)/2 {
			st.numa = 1
		}
		// The mock's own handle lookups read these fields.
		dev.UUID, dev.PciBusID = st.uuid, st.busID
		s.gpus = append(s.gpus, st)
		s.fillDevice(dev, st)
	}
	for g, members := range o.nvlink {
		for _, i := range members {
			if i < 0 || i >= n {
				t.Fatalf("gputest.WithNVLink: GPU %d is not one of the %d GPUs", i, n)
			}
			s.gpus[i].nvlinkPeer = switchBusID(g)
		}
	}
	srv.DeviceGetHandleByUUIDFunc = s.handleByUUID
	return s
}

func powerLimitMW(name string) uint32 {
	switch {
	case strings.Contains(name, "H100"), strings.Contains(name, "H200"):
		return 700_000
	case strings.Contains(name, "B200"):
		return 1_000_000
	case strings.Contains(name, "A30"):
		return 165_000
	case strings.Contains(name, "PCIE"):
		return 250_000
	}
	return 400_000
}

// handleByUUID also finds MIG devices, as the real NVML does, and answers
// NOT_FOUND rather than the mock's INVALID_ARGUMENT for unknown UUIDs.
func (s *Server) handleByUUID(uuid string) (nvml.Device, nvml.Return) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range s.gpus {
		if st.uuid == uuid {
			return s.Devices[i], nvml.SUCCESS
		}
		for j, m := range st.migs {
			if MIGUUID(i, j) == uuid {
				if st.lost {
					return nil, nvml.ERROR_GPU_IS_LOST
				}
				return m, nvml.SUCCESS
			}
		}
	}
	return nil, nvml.ERROR_NOT_FOUND
}

// read runs f under the lock unless the GPU is lost.
func (s *Server) read(st *gpuState, f func() nvml.Return) nvml.Return {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.lost {
		return nvml.ERROR_GPU_IS_LOST
	}
	return f()
}

// identity runs f under the lock even for a lost GPU: the driver keeps what
// it learnt at start-up, so a lost GPU can still be named.
func (s *Server) identity(f func()) nvml.Return {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	return nvml.SUCCESS
}

func (s *Server) fillDevice(d *server.Device, st *gpuState) {
	d.GetUUIDFunc = func() (v string, r nvml.Return) { r = s.identity(func() { v = st.uuid }); return }
	d.GetNameFunc = func() (v string, r nvml.Return) { r = s.identity(func() { v = st.name }); return }
	d.GetIndexFunc = func() (v int, r nvml.Return) { r = s.identity(func() { v = st.index }); return }
	d.GetPciInfoFunc = func() (v nvml.PciInfo, r nvml.Return) {
		r = s.identity(func() { v = pciInfo(st.busID, d.Config.PciDeviceId) })
		return
	}
	d.GetMemoryInfoFunc = func() (v nvml.Memory, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			used := st.memUsed
			for _, p := range st.procs {
				used += p.info.UsedGpuMemory
			}
			used = min(used, st.memTotal)
			v = nvml.Memory{Total: st.memTotal, Used: used, Free: st.memTotal - used}
			return nvml.SUCCESS
		})
		return
	}
	d.GetUtilizationRatesFunc = func() (v nvml.Utilization, r nvml.Return) {
		r = s.read(st, func() nvml.Return { v = st.util; return nvml.SUCCESS })
		return
	}
	d.GetTemperatureFunc = func(nvml.TemperatureSensors) (v uint32, r nvml.Return) {
		r = s.read(st, func() nvml.Return { v = st.tempC; return nvml.SUCCESS })
		return
	}
	d.GetTemperatureThresholdFunc = func(th nvml.TemperatureThresholds) (v uint32, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			if th != nvml.TEMPERATURE_THRESHOLD_SLOWDOWN {
				return nvml.ERROR_NOT_SUPPORTED
			}
			v = SlowdownTemperatureC
			return nvml.SUCCESS
		})
		return
	}
	d.GetPowerUsageFunc = func() (v uint32, r nvml.Return) {
		r = s.read(st, func() nvml.Return { v = st.powerMW; return nvml.SUCCESS })
		return
	}
	d.GetEnforcedPowerLimitFunc = func() (v uint32, r nvml.Return) {
		r = s.read(st, func() nvml.Return { v = st.limitMW; return nvml.SUCCESS })
		return
	}
	d.GetTotalEnergyConsumptionFunc = func() (v uint64, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			v = st.energyMJ
			st.energyMJ += uint64(st.powerMW) // mW for one second is mJ
			return nvml.SUCCESS
		})
		return
	}
	d.GetTotalEccErrorsFunc = func(t nvml.MemoryErrorType, c nvml.EccCounterType) (v uint64, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			if t == nvml.MEMORY_ERROR_TYPE_UNCORRECTED {
				v = st.ecc
			}
			return nvml.SUCCESS
		})
		return
	}
	d.GetRetiredPagesPendingStatusFunc = func() (v nvml.EnableState, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			v = nvml.FEATURE_DISABLED
			if st.retired {
				v = nvml.FEATURE_ENABLED
			}
			return nvml.SUCCESS
		})
		return
	}
	d.GetRemappedRowsFunc = func() (corr, unc int, pend, fail bool, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			corr, unc, pend, fail = st.remapped[0], st.remapped[1], st.remapPend, st.remapFail
			return nvml.SUCCESS
		})
		return
	}
	d.GetComputeRunningProcessesFunc = func() (v []nvml.ProcessInfo, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			for _, p := range st.procs {
				v = append(v, p.info)
			}
			return nvml.SUCCESS
		})
		return
	}
	d.GetNumaNodeIdFunc = func() (v int, r nvml.Return) {
		r = s.read(st, func() nvml.Return { v = st.numa; return nvml.SUCCESS })
		return
	}
	d.GetNvLinkStateFunc = func(link int) (v nvml.EnableState, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			switch {
			case !st.nvlink:
				return nvml.ERROR_NOT_SUPPORTED
			case link < 0 || link >= nvlinkLinks:
				return nvml.ERROR_INVALID_ARGUMENT
			case st.nvlinkPeer != "":
				v = nvml.FEATURE_ENABLED
			default:
				v = nvml.FEATURE_DISABLED
			}
			return nvml.SUCCESS
		})
		return
	}
	d.GetNvLinkRemotePciInfoFunc = func(link int) (v nvml.PciInfo, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			if !st.nvlink || link < 0 || link >= nvlinkLinks || st.nvlinkPeer == "" {
				return nvml.ERROR_INVALID_ARGUMENT
			}
			v = pciInfo(st.nvlinkPeer, 0)
			return nvml.SUCCESS
		})
		return
	}
	d.GetMigModeFunc = func() (cur, pend int, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			cur = nvml.DEVICE_MIG_DISABLE
			if st.migEnabled {
				cur = nvml.DEVICE_MIG_ENABLE
			}
			pend = cur
			return nvml.SUCCESS
		})
		return
	}
	d.GetMaxMigDeviceCountFunc = func() (v int, r nvml.Return) {
		r = s.read(st, func() nvml.Return { v = MaxMIGDevices; return nvml.SUCCESS })
		return
	}
	d.GetMigDeviceHandleByIndexFunc = func(j int) (v nvml.Device, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			if !st.migEnabled {
				return nvml.ERROR_INVALID_ARGUMENT
			}
			if j < 0 || j >= len(st.migs) {
				return nvml.ERROR_NOT_FOUND
			}
			v = st.migs[j]
			return nvml.SUCCESS
		})
		return
	}
	d.IsMigDeviceHandleFunc = func() (bool, nvml.Return) { return false, nvml.SUCCESS }
}

func (s *Server) newMIGDevice(parent nvml.Device, st *gpuState, j int) *mock.Device {
	m := &mock.Device{}
	uuid := MIGUUID(st.index, j)
	mem := st.memTotal / 8 // a 1g slice
	m.GetUUIDFunc = func() (string, nvml.Return) { return uuid, s.read(st, func() nvml.Return { return nvml.SUCCESS }) }
	m.GetMemoryInfoFunc = func() (v nvml.Memory, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			var used uint64
			for _, p := range st.procs {
				if p.mig == j {
					used += p.info.UsedGpuMemory
				}
			}
			used = min(used, mem)
			v = nvml.Memory{Total: mem, Used: used, Free: mem - used}
			return nvml.SUCCESS
		})
		return
	}
	m.GetGpuInstanceIdFunc = func() (int, nvml.Return) { return j, s.read(st, func() nvml.Return { return nvml.SUCCESS }) }
	m.GetComputeInstanceIdFunc = func() (int, nvml.Return) { return 0, s.read(st, func() nvml.Return { return nvml.SUCCESS }) }
	m.GetComputeRunningProcessesFunc = func() (v []nvml.ProcessInfo, r nvml.Return) {
		r = s.read(st, func() nvml.Return {
			for _, p := range st.procs {
				if p.mig == j {
					v = append(v, p.info)
				}
			}
			return nvml.SUCCESS
		})
		return
	}
	m.IsMigDeviceHandleFunc = func() (bool, nvml.Return) { return true, nvml.SUCCESS }
	m.GetDeviceHandleFromMigDeviceHandleFunc = func() (nvml.Device, nvml.Return) { return parent, nvml.SUCCESS }
	return m
}

func pciInfo(busID string, deviceID uint32) nvml.PciInfo {
	p := nvml.PciInfo{PciDeviceId: deviceID}
	var domain, bus, dev, fn uint32
	fmt.Sscanf(busID, "%x:%x:%x.%x", &domain, &bus, &dev, &fn)
	p.Domain, p.Bus, p.Device = domain, bus, dev
	for i := 0; i < len(busID) && i < len(p.BusId)-1; i++ {
		p.BusId[i] = int8(busID[i])
	}
	return p
}

// gpu returns GPU i's state, failing the test for an index out of range.
func (s *Server) gpu(i int) *gpuState {
	s.t.Helper()
	if i < 0 || i >= len(s.gpus) {
		s.t.Fatalf("gputest: GPU %d is not one of the %d GPUs", i, len(s.gpus))
	}
	return s.gpus[i]
}

func (s *Server) set(i int, f func(*gpuState)) {
	s.t.Helper()
	st := s.gpu(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	f(st)
}

// Device is GPU i's mock device, for tests that need a reading this package
// does not model (replace its XxxFunc fields before the server is in use).
func (s *Server) Device(i int) *server.Device {
	s.t.Helper()
	s.gpu(i)
	return s.Devices[i].(*server.Device)
}

// SetECCErrors sets GPU i's volatile uncorrected ECC error count.
func (s *Server) SetECCErrors(i int, n uint64) {
	s.t.Helper()
	s.set(i, func(g *gpuState) { g.ecc = n })
}

// LoseGPU makes GPU i fall off the bus: every call but its identity (UUID,
// name, index, PCI info) returns ERROR_GPU_IS_LOST, as do its MIG devices.
func (s *Server) LoseGPU(i int) { s.t.Helper(); s.set(i, func(g *gpuState) { g.lost = true }) }

// AddProcess starts a compute process on the whole of GPU i; its memory adds
// to the GPU's memory used.
func (s *Server) AddProcess(i int, pid uint32, usedMemory uint64) {
	s.t.Helper()
	s.set(i, func(g *gpuState) {
		g.procs = append(g.procs, process{info: nvml.ProcessInfo{Pid: pid, UsedGpuMemory: usedMemory}, mig: -1})
	})
}

// KillProcess ends process pid wherever it runs, as the driver does when a
// process dies: it leaves the GPU's process list and frees its memory. It
// reports whether such a process was running.
func (s *Server) KillProcess(pid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, st := range s.gpus {
		kept := st.procs[:0]
		for _, p := range st.procs {
			if p.info.Pid == pid {
				found = true
				continue
			}
			kept = append(kept, p)
		}
		st.procs = kept
	}
	return found
}

// AddMIGProcess starts a compute process on MIG device j of GPU i (see
// EnableMIG). It shows on the MIG device and, as with the real driver, on
// the parent GPU.
func (s *Server) AddMIGProcess(i, j int, pid uint32, usedMemory uint64) {
	s.t.Helper()
	st := s.gpu(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	if j < 0 || j >= len(st.migs) {
		s.t.Fatalf("gputest.AddMIGProcess: GPU %d has no MIG device %d", i, j)
	}
	st.procs = append(st.procs, process{
		info: nvml.ProcessInfo{Pid: pid, UsedGpuMemory: usedMemory, GpuInstanceId: uint32(j)},
		mig:  j,
	})
}

// EnableMIG turns MIG on for GPU i with k MIG devices (0 < k <= 7), each a
// 1g slice with an eighth of the GPU's memory, GPU instance j and compute
// instance 0, at MIG slots 0..k-1; the other slots are empty.
func (s *Server) EnableMIG(i, k int) {
	s.t.Helper()
	if k <= 0 || k > MaxMIGDevices {
		s.t.Fatalf("gputest.EnableMIG: %d MIG devices: want 1 to %d", k, MaxMIGDevices)
	}
	st := s.gpu(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.migEnabled = true
	st.migs = nil
	for j := range k {
		st.migs = append(st.migs, s.newMIGDevice(s.Devices[i], st, j))
	}
}

// SetMemoryUsed sets GPU i's memory used, before what its processes use.
func (s *Server) SetMemoryUsed(i int, used uint64) {
	s.t.Helper()
	s.set(i, func(g *gpuState) { g.memUsed = used })
}

// SetUtilization sets GPU i's compute and memory utilization in percent.
func (s *Server) SetUtilization(i int, gpu, memory uint32) {
	s.t.Helper()
	s.set(i, func(g *gpuState) { g.util = nvml.Utilization{Gpu: gpu, Memory: memory} })
}

// SetTemperature sets GPU i's temperature; SlowdownTemperatureC or more
// makes it unhealthy.
func (s *Server) SetTemperature(i int, celsius uint32) {
	s.t.Helper()
	s.set(i, func(g *gpuState) { g.tempC = celsius })
}

// SetPower sets GPU i's power draw in milliwatts.
func (s *Server) SetPower(i int, milliwatts uint32) {
	s.t.Helper()
	s.set(i, func(g *gpuState) { g.powerMW = milliwatts })
}

// SetRetiredPagesPending marks GPU i as having pages waiting to be retired.
func (s *Server) SetRetiredPagesPending(i int) {
	s.t.Helper()
	s.set(i, func(g *gpuState) { g.retired = true })
}

// SetRemappedRows sets GPU i's row-remapping state.
func (s *Server) SetRemappedRows(i int, correctable, uncorrectable int, pending, failure bool) {
	s.t.Helper()
	s.set(i, func(g *gpuState) {
		g.remapped = [2]int{correctable, uncorrectable}
		g.remapPend, g.remapFail = pending, failure
	})
}
