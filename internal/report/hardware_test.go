package report

import (
	"strings"
	"testing"
)

func TestDescribeHardware(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{
			name: "runner fingerprint",
			text: `{"cuda":"12.4","digest":"sha256:afa46278faa235dc6afcbe02918c70b6fe6b227c3fe99fff5318ac65b17536b9","driver":"550.54.15",
"gpus":[{"memory_total":1,"mig":[],"name":"NVIDIA H100 80GB HBM3","uuid":"GPU-1"},{"memory_total":1,"mig":[],"name":"NVIDIA H100 80GB HBM3","uuid":"GPU-2"}]}`,
			want: "2 × NVIDIA H100 80GB HBM3, driver 550.54.15, CUDA 12.4 (`sha256:afa46278faa2…`)",
		},
		{
			name: "mixed models and MIG",
			text: `{"cuda":"12.4","digest":"sha256:0123456789abcdef0123","driver":"550",
"gpus":[{"name":"NVIDIA L4","uuid":"GPU-3","mig":[]},{"name":"NVIDIA A100-SXM4-40GB","uuid":"GPU-1","mig":["MIG-a","MIG-b"]}]}`,
			want: "1 × NVIDIA A100-SXM4-40GB, 1 × NVIDIA L4, 2 MIG devices, driver 550, CUDA 12.4 (`sha256:0123456789ab…`)",
		},
		{
			name: "job without GPUs",
			text: `{"cuda":"12.4","digest":"sha256:0123456789abcdef0123","driver":"550","gpus":[]}`,
			want: "no GPU, driver 550, CUDA 12.4 (`sha256:0123456789ab…`)",
		},
		{name: "hand-written text", text: "2x A100\ndriver 550", want: "2x A100; driver 550"},
		{name: "JSON that is not a fingerprint", text: `{"gpu":"x"}`, want: `{"gpu":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeHardware(tc.text); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRunSectionShowsGPUUse(t *testing.T) {
	use, ok := ParseGPUUse([]byte(`{"duration_s":90,"peak_memory":3221225472,"mean_utilization":42.5,"energy_wh":1.25,"gpus":[{"uuid":"GPU-1"},{"uuid":"GPU-2"}]}`))
	if !ok {
		t.Fatal("ParseGPUUse refused a runner summary")
	}
	if _, ok := ParseGPUUse([]byte(`{"gpus":[]}`)); ok {
		t.Error("a summary without GPUs was accepted")
	}
	var b strings.Builder
	renderRun(&b, &Run{Hardware: `{"digest":"sha256:0123456789abcdef0123","driver":"550","gpus":[{"name":"NVIDIA L4","uuid":"GPU-1"}]}`, GPUUse: &use})
	got := b.String()
	for _, want := range []string{
		"| hardware | 1 × NVIDIA L4, driver 550 (`sha256:0123456789ab…`) |",
		"| GPU use | 2 GPU(s) for 1m30s: peak memory 3.0 GiB, mean utilization 42 %, energy 1.25 Wh |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("run section lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "identity") {
		t.Errorf("run section shows an identity without a run record:\n%s", got)
	}
}
