package gpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/mlci/mlci/runner/gpu/gputest"
)

func TestOpenInitErrors(t *testing.T) {
	tests := []struct {
		name     string
		ret      nvml.Return
		noDriver bool
		msg      string
	}{
		{"library not found", nvml.ERROR_LIBRARY_NOT_FOUND, true,
			"no NVIDIA driver on this host (NVML: library not found): jobs that ask for no GPUs still run"},
		{"driver not loaded", nvml.ERROR_DRIVER_NOT_LOADED, true,
			"no NVIDIA driver on this host (NVML: driver not loaded): jobs that ask for no GPUs still run"},
		{"no permission", nvml.ERROR_NO_PERMISSION, false,
			"initialise NVML: ERROR_NO_PERMISSION: check the driver with nvidia-smi and that the runner user may open /dev/nvidia*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := &mock.Interface{InitFunc: func() nvml.Return { return tt.ret }}
			h, err := Open(lib)
			if err == nil || h != nil {
				t.Fatalf("Open = %v, %v; want an error", h, err)
			}
			if got := errors.Is(err, ErrNoDriver); got != tt.noDriver {
				t.Errorf("errors.Is(err, ErrNoDriver) = %v, want %v", got, tt.noDriver)
			}
			if !errors.Is(err, tt.ret) {
				t.Errorf("errors.Is(err, %v) = false, want true", tt.ret)
			}
			if err.Error() != tt.msg {
				t.Errorf("message\n got %q\nwant %q", err, tt.msg)
			}
		})
	}
}

func TestInventoryDGX(t *testing.T) {
	tests := []struct {
		name   string
		model  gpus.Config
		gpu    string
		memory uint64
		limit  float64
	}{
		{"dgxa100", gpus.A100_SXM4_40GB, "NVIDIA A100-SXM4-40GB", 40 << 30, 400},
		{"dgxh100", gpus.H100_SXM5_80GB, "NVIDIA H100 80GB HBM3", 80 << 30, 700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, gputest.NewServer(t, 8, gputest.WithModel(tt.model)))
			inv, err := h.Inventory(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if inv.Driver != "550.54.15" || inv.CUDA != "12.4" || inv.NVML != "12.550.54.15" {
				t.Errorf("versions = %q %q %q", inv.Driver, inv.CUDA, inv.NVML)
			}
			if len(inv.GPUs) != 8 {
				t.Fatalf("%d GPUs, want 8", len(inv.GPUs))
			}
			for i, d := range inv.GPUs {
				numa := i / 4
				if d.Index != i || d.UUID != gputest.UUID(i) || d.Name != tt.gpu || d.PCIBusID != gputest.BusID(i) ||
					d.MemoryTotal != tt.memory || d.NUMANode != numa || d.Island != fmt.Sprintf("numa:%d", numa) ||
					d.PowerLimitW == nil || *d.PowerLimitW != tt.limit || d.ECCUncorrected == nil || d.RemappedRows == nil ||
					d.Utilization == nil || d.TemperatureC == nil || d.MIG || len(d.Processes) != 0 || !d.Health.Healthy {
					t.Errorf("GPU %d = %+v", i, d)
				}
			}
			out, err := json.MarshalIndent(inv, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "inventory_"+tt.name+".json", append(out, '\n'))
		})
	}
}

func TestInventoryFaults(t *testing.T) {
	const bad = 3
	tests := []struct {
		name    string
		inject  func(*gputest.Server)
		healthy bool
		reason  string // substring of the only reason
		check   func(t *testing.T, d Device)
	}{
		{name: "ECC errors", inject: func(s *gputest.Server) { s.SetECCErrors(bad, 2) },
			reason: "2 volatile uncorrected ECC errors"},
		{name: "lost GPU", inject: func(s *gputest.Server) { s.LoseGPU(bad) },
			reason: "GPU is lost",
			check: func(t *testing.T, d Device) {
				if d.UUID != gputest.UUID(bad) || d.Name == "" || d.MemoryTotal != 0 || d.Utilization != nil || d.NUMANode != -1 {
					t.Errorf("lost GPU: got %+v, want identity only", d)
				}
			}},
		{name: "lost GPU without identity", inject: func(s *gputest.Server) {
			s.LoseGPU(bad)
			s.Device(bad).GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
		},
			reason: "GPU is lost",
			check: func(t *testing.T, d Device) {
				if d.Index != bad || d.UUID != "" || d.Name != "" {
					t.Errorf("lost GPU: got %+v, want its index only", d)
				}
			}},
		{name: "GPU needs reset", inject: func(s *gputest.Server) {
			s.Device(bad).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
				return nvml.Utilization{}, nvml.ERROR_RESET_REQUIRED
			}
		}, reason: "GPU needs a reset"},
		{name: "name unreadable", inject: func(s *gputest.Server) {
			s.Device(bad).GetNameFunc = func() (string, nvml.Return) { return "", nvml.ERROR_UNKNOWN }
		}, reason: "NVML cannot read its name (ERROR_UNKNOWN)"},
		{name: "stray process", inject: func(s *gputest.Server) {
			s.SetMemoryUsed(bad, 1<<30)
			s.AddProcess(bad, 4242, 2<<30)
			s.AddProcess(bad, 17, 1<<30)
		},
			healthy: true,
			check: func(t *testing.T, d Device) {
				want := []Process{{PID: 17, UsedMemory: 1 << 30}, {PID: 4242, UsedMemory: 2 << 30}}
				if !slices.Equal(d.Processes, want) || d.MemoryUsed != 4<<30 {
					t.Errorf("processes = %v, memory used %d; want %v, %d", d.Processes, d.MemoryUsed, want, 4<<30)
				}
			}},
		{name: "MIG enabled", inject: func(s *gputest.Server) { s.EnableMIG(bad, 3) },
			healthy: true,
			check: func(t *testing.T, d Device) {
				var want []MIGDevice
				for j := range 3 {
					want = append(want, MIGDevice{Index: j, UUID: gputest.MIGUUID(bad, j), MemoryTotal: 5 << 30, GPUInstance: j})
				}
				if !d.MIG || !slices.Equal(d.MIGDevices, want) {
					t.Errorf("MIG = %v %+v, want %+v", d.MIG, d.MIGDevices, want)
				}
			}},
		{name: "retired pages pending", inject: func(s *gputest.Server) { s.SetRetiredPagesPending(bad) },
			reason: "retired pages pending"},
		{name: "remapped rows pending", inject: func(s *gputest.Server) { s.SetRemappedRows(bad, 1, 0, true, false) },
			reason: "row remapping pending"},
		{name: "row remapping failed", inject: func(s *gputest.Server) { s.SetRemappedRows(bad, 0, 3, false, true) },
			reason: "row remapping failed"},
		{name: "at slowdown temperature", inject: func(s *gputest.Server) { s.SetTemperature(bad, gputest.SlowdownTemperatureC) },
			reason: "temperature 90C at or above slowdown threshold 90C"},
		{name: "just below slowdown", inject: func(s *gputest.Server) { s.SetTemperature(bad, gputest.SlowdownTemperatureC-1) },
			healthy: true},
		{name: "busy", inject: func(s *gputest.Server) { s.SetUtilization(bad, 100, 80) }, healthy: true,
			check: func(t *testing.T, d Device) {
				if *d.Utilization != 100 || *d.MemoryUtilization != 80 {
					t.Errorf("utilization = %d/%d, want 100/80", *d.Utilization, *d.MemoryUtilization)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gputest.NewServer(t, 8)
			tt.inject(srv)
			h := open(t, srv)
			inv, err := h.Inventory(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.GPUs) != 8 {
				t.Fatalf("%d GPUs, want 8: a faulty GPU must still be listed", len(inv.GPUs))
			}
			for i, d := range inv.GPUs {
				if i != bad && !d.Health.Healthy {
					t.Errorf("GPU %d unhealthy: %v", i, d.Health.Reasons)
				}
			}
			d := inv.GPUs[bad]
			if d.Health.Healthy != tt.healthy {
				t.Errorf("healthy = %v, want %v (reasons %q)", d.Health.Healthy, tt.healthy, d.Health.Reasons)
			}
			if tt.reason != "" && (len(d.Health.Reasons) != 1 || !strings.Contains(d.Health.Reasons[0], tt.reason)) {
				t.Errorf("reasons = %q, want one containing %q", d.Health.Reasons, tt.reason)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// The bare go-nvml mock implements only identity, memory and MIG mode;
// everything optional must come back unknown, not fail or mark it unhealthy.
func TestInventoryUnsupportedReadings(t *testing.T) {
	srv := dgxa100.New()
	for _, d := range srv.Devices {
		unsupported(d.(*server.Device))
	}
	h := open(t, srv)
	inv, err := h.Inventory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.GPUs) != 8 {
		t.Fatalf("%d GPUs, want 8", len(inv.GPUs))
	}
	for i, d := range inv.GPUs {
		if !d.Health.Healthy || d.Utilization != nil || d.MemoryUtilization != nil || d.TemperatureC != nil ||
			d.PowerW != nil || d.PowerLimitW != nil || d.ECCUncorrected != nil || d.RemappedRows != nil ||
			d.Processes != nil || d.NUMANode != -1 || d.Island != "" || d.MemoryTotal != 40<<30 {
			t.Errorf("GPU %d = %+v", i, d)
		}
	}
}

func TestInventoryEmptyHostAndErrors(t *testing.T) {
	t.Run("no GPUs", func(t *testing.T) {
		inv, err := open(t, gputest.NewServer(t, 0)).Inventory(t.Context())
		if err != nil || len(inv.GPUs) != 0 || inv.CUDA != "12.4" {
			t.Errorf("Inventory = %+v, %v", inv, err)
		}
	})
	t.Run("count fails", func(t *testing.T) {
		srv := gputest.NewServer(t, 2)
		srv.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
		_, err := open(t, srv).Inventory(t.Context())
		if !errors.Is(err, nvml.ERROR_UNKNOWN) || !strings.Contains(err.Error(), "count GPUs") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("handle fails", func(t *testing.T) {
		srv := gputest.NewServer(t, 2)
		srv.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
			if i == 1 {
				return nil, nvml.ERROR_GPU_IS_LOST
			}
			return srv.Devices[i], nvml.SUCCESS
		}
		inv, err := open(t, srv).Inventory(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if d := inv.GPUs[1]; d.Index != 1 || d.Health.Healthy || !strings.Contains(d.Health.Reasons[0], "GPU is lost") {
			t.Errorf("GPU 1 = %+v", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := open(t, gputest.NewServer(t, 2)).Inventory(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		h, err := Open(gputest.NewServer(t, 2))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := h.Inventory(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("Inventory after Close: %v, want ErrClosed", err)
		}
	})
}

func TestIslands(t *testing.T) {
	tests := []struct {
		name   string
		nvlink [][]int
		want   []string
	}{
		{"NUMA only", nil, []string{"numa:0", "numa:0", "numa:0", "numa:0", "numa:1", "numa:1", "numa:1", "numa:1"}},
		{"one NVSwitch", [][]int{{0, 1, 2, 3, 4, 5, 6, 7}}, slices.Repeat([]string{"nvlink:0000:07:00.0"}, 8)},
		{"two islands", [][]int{{4, 5, 6, 7}, {0, 1, 2, 3}}, append(
			slices.Repeat([]string{"nvlink:0000:07:00.0"}, 4), slices.Repeat([]string{"nvlink:0000:47:00.0"}, 4)...)},
		{"pair and loners", [][]int{{6, 2}}, []string{"numa:0", "numa:0", "nvlink:0000:27:00.0", "numa:0",
			"numa:1", "numa:1", "nvlink:0000:27:00.0", "numa:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, gputest.NewServer(t, 8, gputest.WithNVLink(tt.nvlink...)))
			inv, err := h.Inventory(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range inv.GPUs {
				got = append(got, d.Island)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("islands\n got %q\nwant %q", got, tt.want)
			}
			d, err := h.Device(t.Context(), gputest.UUID(6))
			if err != nil || d.Island != tt.want[6] {
				t.Errorf("Device(6).Island = %q, %v; want %q", d.Island, err, tt.want[6])
			}
		})
	}
}

func TestNormBusID(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"eight digit domain", "00000000:07:00.0", "0000:07:00.0"},
		{"four digit domain", "0000:07:00.0", "0000:07:00.0"},
		{"upper case", "00000000:B7:00.0", "0000:b7:00.0"},
		{"wide non-zero domain", "00010000:07:00.0", "00010000:07:00.0"},
		{"no domain", "07:00.0", "07:00.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normBusID(tt.in); got != tt.want {
				t.Errorf("normBusID(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDevice(t *testing.T) {
	srv := gputest.NewServer(t, 4)
	srv.EnableMIG(2, 2)
	srv.SetECCErrors(1, 1)
	srv.LoseGPU(3)
	h := open(t, srv)
	tests := []struct {
		name    string
		uuid    string
		index   int
		healthy bool
		err     string
	}{
		{"GPU", gputest.UUID(0), 0, true, ""},
		{"unhealthy GPU", gputest.UUID(1), 1, false, ""},
		{"MIG device gives its GPU", gputest.MIGUUID(2, 1), 2, true, ""},
		{"lost GPU", gputest.UUID(3), 3, false, ""},
		{"unknown GPU", "GPU-nope", 0, false, `no GPU or MIG device "GPU-nope" on this host`},
		{"unknown MIG device", "MIG-nope", 0, false, `no GPU or MIG device "MIG-nope" on this host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := h.Device(t.Context(), tt.uuid)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Index != tt.index || d.UUID != gputest.UUID(tt.index) || d.Health.Healthy != tt.healthy {
				t.Errorf("Device = index %d uuid %s healthy %v, want %d %s %v",
					d.Index, d.UUID, d.Health.Healthy, tt.index, gputest.UUID(tt.index), tt.healthy)
			}
		})
	}
}

func TestProcesses(t *testing.T) {
	srv := gputest.NewServer(t, 2)
	srv.AddProcess(0, 300, 3<<30)
	srv.AddProcess(0, 100, 1<<30)
	srv.EnableMIG(1, 2)
	srv.AddMIGProcess(1, 1, 555, 2<<30)
	h := open(t, srv)
	tests := []struct {
		name string
		uuid string
		want []Process
		err  string
	}{
		{"GPU, sorted by PID", gputest.UUID(0), []Process{{100, 1 << 30}, {300, 3 << 30}}, ""},
		{"MIG device with a process", gputest.MIGUUID(1, 1), []Process{{555, 2 << 30}}, ""},
		{"idle MIG device", gputest.MIGUUID(1, 0), nil, ""},
		{"parent of MIG devices", gputest.UUID(1), []Process{{555, 2 << 30}}, ""},
		{"unknown", "GPU-nope", nil, "no GPU or MIG device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Processes(t.Context(), tt.uuid)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Processes = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
