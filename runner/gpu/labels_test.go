package gpu

import (
	"slices"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/mlci/mlci/runner/gpu/gputest"
)

func TestModelToken(t *testing.T) {
	tests := []struct{ name, want string }{
		{"NVIDIA H100 80GB HBM3", "h100"},
		{"NVIDIA A100-SXM4-40GB", "a100"},
		{"NVIDIA A100 80GB PCIe", "a100"},
		{"NVIDIA H200", "h200"},
		{"NVIDIA H200 141GB HBM3e", "h200"},
		{"NVIDIA B200", "b200"},
		{"Tesla V100-SXM2-16GB", "v100"},
		{"Tesla T4", "t4"},
		{"NVIDIA GeForce RTX 4090", "rtx4090"},
		{"NVIDIA L4", "l4"},
		{"NVIDIA L40S", "l40s"},
		{"NVIDIA RTX A6000", "rtxa6000"},
		{"Quadro RTX 8000", "rtx8000"},
		{"NVIDIA GeForce GTX 1080 Ti", "gtx1080"},
		{"NVIDIA TITAN V", "titanv"},
		{"NVIDIA GH200 480GB", "gh200"},
		{"NVIDIA", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := modelToken(tt.name); got != tt.want {
				t.Errorf("modelToken(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name string
		inv  Inventory
		want []string
	}{
		{"no GPUs", Inventory{CUDA: "12.4"}, nil},
		{"DGX H100", Inventory{CUDA: "12.4", GPUs: slices.Repeat([]Device{{Name: "NVIDIA H100 80GB HBM3", MemoryTotal: 81559 << 20}}, 8)},
			[]string{"cuda-12", "gpu", "gpu-h100", "gpu-mem-80g", "gpus-8"}},
		{"size from bytes", Inventory{CUDA: "12.8", GPUs: []Device{{Name: "NVIDIA H200", MemoryTotal: 143771 << 20}}},
			[]string{"cuda-12", "gpu", "gpu-h200", "gpu-mem-140g", "gpus-1"}},
		{"mixed: smallest memory wins", Inventory{CUDA: "11.8", GPUs: []Device{
			{Name: "NVIDIA A100-SXM4-80GB", MemoryTotal: 80 * gib},
			{Name: "NVIDIA L4", MemoryTotal: 23034 << 20},
			{Name: "NVIDIA A100-SXM4-80GB", MemoryTotal: 80 * gib},
		}}, []string{"cuda-11", "gpu", "gpu-a100", "gpu-l4", "gpu-mem-22g", "gpus-3"}},
		{"consumer", Inventory{CUDA: "13.0", GPUs: []Device{{Name: "NVIDIA GeForce RTX 4090", MemoryTotal: 24564 << 20}}},
			[]string{"cuda-13", "gpu", "gpu-mem-24g", "gpu-rtx4090", "gpus-1"}},
		{"unknown CUDA and unreadable GPU", Inventory{GPUs: []Device{{Name: "Tesla V100-SXM2-16GB", MemoryTotal: 16 * gib}, {}}},
			[]string{"gpu", "gpu-mem-16g", "gpu-v100", "gpus-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Labels(tt.inv); !slices.Equal(got, tt.want) {
				t.Errorf("Labels = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLabelsFromMockHosts(t *testing.T) {
	tests := []struct {
		name  string
		model gpus.Config
		want  []string
	}{
		{"dgxa100", gpus.A100_SXM4_40GB, []string{"cuda-12", "gpu", "gpu-a100", "gpu-mem-40g", "gpus-8"}},
		{"dgxh100", gpus.H100_SXM5_80GB, []string{"cuda-12", "gpu", "gpu-h100", "gpu-mem-80g", "gpus-8"}},
		{"dgxb200", gpus.B200_SXM5_180GB, []string{"cuda-12", "gpu", "gpu-b200", "gpu-mem-180g", "gpus-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Labels(inventory(t, gputest.NewServer(t, 8, gputest.WithModel(tt.model))))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Labels = %q, want %q", got, tt.want)
			}
		})
	}
}
