package gputest

import (
	"sync"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
)

func TestDefaults(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		model gpus.Config
		gpu   string
		numa  []int
	}{
		{"dgxa100", 8, gpus.A100_SXM4_40GB, "NVIDIA A100-SXM4-40GB", []int{0, 0, 0, 0, 1, 1, 1, 1}},
		{"dgxh100", 8, gpus.H100_SXM5_80GB, "NVIDIA H100 80GB HBM3", []int{0, 0, 0, 0, 1, 1, 1, 1}},
		{"odd count", 3, gpus.H200_SXM5_141GB, "NVIDIA H200 141GB HBM3e", []int{0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, tt.n, WithModel(tt.model))
			if n, ret := s.DeviceGetCount(); n != tt.n || ret != nvml.SUCCESS {
				t.Fatalf("DeviceGetCount = %d, %v", n, ret)
			}
			for i := range tt.n {
				d, ret := s.DeviceGetHandleByIndex(i)
				if ret != nvml.SUCCESS {
					t.Fatal(ret)
				}
				uuid, _ := d.GetUUID()
				name, _ := d.GetName()
				numa, _ := d.GetNumaNodeId()
				pci, _ := d.GetPciInfo()
				if uuid != UUID(i) || name != tt.gpu || numa != tt.numa[i] || pci.Bus != uint32(0x07+0x10*i) {
					t.Errorf("GPU %d: uuid %s name %s numa %d bus %x", i, uuid, name, numa, pci.Bus)
				}
				if byUUID, ret := s.DeviceGetHandleByUUID(uuid); ret != nvml.SUCCESS || byUUID != d {
					t.Errorf("DeviceGetHandleByUUID(%s) = %v", uuid, ret)
				}
				if _, ret := d.GetNvLinkState(0); ret != nvml.ERROR_NOT_SUPPORTED {
					t.Errorf("NVLink without WithNVLink: %v, want ERROR_NOT_SUPPORTED", ret)
				}
			}
			if _, ret := s.DeviceGetHandleByUUID("GPU-nope"); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("unknown UUID: %v, want ERROR_NOT_FOUND", ret)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(t, 2)
	d := s.Devices[0]
	s.EnableMIG(0, 2)
	s.AddMIGProcess(0, 1, 9, 1<<30)
	s.SetECCErrors(0, 3)

	if n, _ := d.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC); n != 3 {
		t.Errorf("ECC = %d, want 3", n)
	}
	if cur, _, _ := d.GetMigMode(); cur != nvml.DEVICE_MIG_ENABLE {
		t.Errorf("MIG mode = %d", cur)
	}
	m, ret := s.DeviceGetHandleByUUID(MIGUUID(0, 1))
	if ret != nvml.SUCCESS {
		t.Fatal(ret)
	}
	if procs, _ := m.GetComputeRunningProcesses(); len(procs) != 1 || procs[0].Pid != 9 {
		t.Errorf("MIG processes = %v", procs)
	}
	if _, ret := d.GetMigDeviceHandleByIndex(2); ret != nvml.ERROR_NOT_FOUND {
		t.Errorf("empty MIG slot: %v, want ERROR_NOT_FOUND", ret)
	}

	s.LoseGPU(0)
	if _, ret := d.GetMemoryInfo(); ret != nvml.ERROR_GPU_IS_LOST {
		t.Errorf("lost GPU memory: %v", ret)
	}
	if _, ret := m.GetUUID(); ret != nvml.ERROR_GPU_IS_LOST {
		t.Errorf("lost GPU's MIG device: %v", ret)
	}
	if uuid, ret := d.GetUUID(); ret != nvml.SUCCESS || uuid != UUID(0) {
		t.Errorf("lost GPU keeps its identity: %s, %v", uuid, ret)
	}
	if _, ret := s.Devices[1].GetMemoryInfo(); ret != nvml.SUCCESS {
		t.Errorf("other GPU: %v", ret)
	}
}

// Faults may be injected while other goroutines read; go test -race checks it.
func TestConcurrentUse(t *testing.T) {
	s := NewServer(t, 1)
	d := s.Devices[0]
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 200 {
			d.GetUtilizationRates()
			d.GetMemoryInfo()
			d.GetTotalEnergyConsumption()
		}
	})
	for i := range 200 {
		s.SetUtilization(0, uint32(i%100), 0)
		s.SetMemoryUsed(0, uint64(i))
	}
	wg.Wait()
}
