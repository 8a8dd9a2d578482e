package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/project"
)

// A job on an mlci-runner host gets its hardware and GPU telemetry in the
// report even without a run record.
func TestRunInfoFromRunner(t *testing.T) {
	dir := t.TempDir()
	hw := filepath.Join(dir, "hardware.json")
	tel := filepath.Join(dir, "telemetry.json")
	if err := os.WriteFile(hw, []byte(`{"digest":"sha256:0123456789abcdef","driver":"550","gpus":[{"name":"NVIDIA L4","uuid":"GPU-1"}]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tel, []byte(`{"duration_s":10,"peak_memory":1073741824,"mean_utilization":50,"energy_wh":0.5,"gpus":[{"uuid":"GPU-1"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &project.Project{Root: t.TempDir()}
	tests := []struct {
		name      string
		env       map[string]string
		wantRun   bool
		wantUse   bool
		wantHWHas string
	}{
		{name: "not on a runner", env: map[string]string{}},
		{name: "hardware and telemetry", env: map[string]string{"MLCI_HARDWARE_FILE": hw, "MLCI_TELEMETRY_FILE": tel}, wantRun: true, wantUse: true, wantHWHas: "NVIDIA L4"},
		{name: "hardware only", env: map[string]string{"MLCI_HARDWARE_FILE": hw}, wantRun: true, wantHWHas: "NVIDIA L4"},
		{name: "telemetry file missing", env: map[string]string{"MLCI_HARDWARE_FILE": hw, "MLCI_TELEMETRY_FILE": filepath.Join(dir, "none.json")}, wantRun: true, wantHWHas: "NVIDIA L4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, note := runInfo(context.Background(), p, func(k string) string { return tc.env[k] })
			if note != "" {
				t.Errorf("note = %q without a run record", note)
			}
			if (r != nil) != tc.wantRun {
				t.Fatalf("run = %+v; want one: %v", r, tc.wantRun)
			}
			if r == nil {
				return
			}
			if (r.GPUUse != nil) != tc.wantUse {
				t.Errorf("GPU use = %+v; want one: %v", r.GPUUse, tc.wantUse)
			}
			if tc.wantUse && r.GPUUse.EnergyWh != 0.5 {
				t.Errorf("energy = %v", r.GPUUse.EnergyWh)
			}
			if !strings.Contains(r.Hardware, tc.wantHWHas) {
				t.Errorf("hardware %q lacks %q", r.Hardware, tc.wantHWHas)
			}
		})
	}
}
