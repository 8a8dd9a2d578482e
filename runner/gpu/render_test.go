package gpu

import (
	"bytes"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/mlci/mlci/runner/gpu/gputest"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		srv    func(t *testing.T) *gputest.Server
	}{
		{"faults", "render_faults.golden", func(t *testing.T) *gputest.Server {
			s := gputest.NewServer(t, 8, gputest.WithModel(gpus.H100_SXM5_80GB), gputest.WithNVLink([]int{0, 1, 2, 3}))
			s.SetUtilization(0, 97, 40)
			s.SetPower(0, 612_345)
			s.SetMemoryUsed(0, 70<<30)
			s.SetECCErrors(1, 4)
			s.AddProcess(2, 31337, 12<<30)
			s.EnableMIG(3, 2)
			s.AddMIGProcess(3, 1, 4242, 3<<30)
			s.LoseGPU(5)
			s.SetTemperature(6, 95)
			s.SetRemappedRows(7, 0, 1, true, true)
			return s
		}},
		{"no GPUs", "render_empty.golden", func(t *testing.T) *gputest.Server { return gputest.NewServer(t, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, inventory(t, tt.srv(t))); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, buf.Bytes())
		})
	}
}
