package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// GPUUse is the telemetry summary mlci-runner writes beside the hardware
// file (MLCI_TELEMETRY_FILE) while the job runs.
type GPUUse struct {
	DurationS       float64 `json:"duration_s"`
	PeakMemory      uint64  `json:"peak_memory"`
	MeanUtilization float64 `json:"mean_utilization"`
	EnergyWh        float64 `json:"energy_wh"`
	GPUs            []struct {
		UUID string `json:"uuid"`
	} `json:"gpus"`
}

// ParseGPUUse reads a telemetry summary; ok is false for anything else.
func ParseGPUUse(data []byte) (GPUUse, bool) {
	var u GPUUse
	if err := json.Unmarshal(data, &u); err != nil || len(u.GPUs) == 0 {
		return GPUUse{}, false
	}
	return u, true
}

// fingerprint is the hardware file mlci-runner writes: the report reads it
// without importing the runner, which links NVML.
type fingerprint struct {
	Driver string `json:"driver"`
	CUDA   string `json:"cuda"`
	GPUs   []struct {
		Name string   `json:"name"`
		UUID string   `json:"uuid"`
		MIG  []string `json:"mig"`
	} `json:"gpus"`
	Digest string `json:"digest"`
}

// describeHardware turns a runner fingerprint into one readable line, such
// as "2 × NVIDIA H100 80GB HBM3, driver 550.54.15, CUDA 12.4 (sha256:afa4…)".
// Other text (a hand-written fingerprint) is shown as it is, on one line.
func describeHardware(text string) string {
	var fp fingerprint
	if err := json.Unmarshal([]byte(text), &fp); err != nil || fp.Digest == "" {
		return strings.Join(strings.Fields(strings.ReplaceAll(text, "\n", "; ")), " ")
	}
	var parts []string
	counts := map[string]int{}
	var names []string
	mig := 0
	for _, g := range fp.GPUs {
		if counts[g.Name] == 0 {
			names = append(names, g.Name)
		}
		counts[g.Name]++
		mig += len(g.MIG)
	}
	slices.Sort(names)
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%d × %s", counts[n], n))
	}
	if len(parts) == 0 {
		parts = append(parts, "no GPU")
	}
	if mig > 0 {
		parts = append(parts, fmt.Sprintf("%d MIG devices", mig))
	}
	if fp.Driver != "" {
		parts = append(parts, "driver "+fp.Driver)
	}
	if fp.CUDA != "" {
		parts = append(parts, "CUDA "+fp.CUDA)
	}
	d := fp.Digest
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		d = d[:i+13] + "…"
	}
	return strings.Join(parts, ", ") + " (`" + d + "`)"
}

func (u GPUUse) String() string {
	dur := time.Duration(u.DurationS * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%d GPU(s) for %s: peak memory %.1f GiB, mean utilization %.0f %%, energy %.2f Wh",
		len(u.GPUs), dur, float64(u.PeakMemory)/(1<<30), u.MeanUtilization, u.EnergyWh)
}
