package jobrun

import (
	"fmt"
	"strconv"
	"strings"
)

// Ask is what a job asks of the host's GPUs.
type Ask struct {
	Count     int
	MinMemory uint64 // bytes per GPU, 0 = any
	Model     string // case-insensitive part of the product name, "" = any
}

// The variables a job sets to ask for GPUs. GitHub jobs set them in
// container.env (or the runner service's environment sets a default for a
// pool of runners registered under a label such as gpu:2); GitLab jobs set
// them as CI variables and the custom executor sees them CUSTOM_ENV_-prefixed
// (GPU_COUNT is GitLab's conventional name).
const (
	EnvGPUs       = "MLCI_GPUS"
	EnvGPUMemory  = "MLCI_GPU_MEMORY"
	EnvGPUModel   = "MLCI_GPU_MODEL"
	EnvDatasets   = "MLCI_DATASETS"
	GitLabCount   = "GPU_COUNT"
	GitLabMemory  = "GPU_MEMORY"
	GitLabModel   = "GPU_MODEL"
	maxGPUsPerJob = 64
)

// ParseAsk reads the three job variables. count may be "", "0", "2" or
// "gpu:2" (the label form); memory is a size such as "80g", "80GiB" or
// "40960m" (binary units: GPU memory is sold in GiB).
func ParseAsk(count, memory, model string) (Ask, error) {
	var a Ask
	c := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(count), "gpu:"))
	if c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > maxGPUsPerJob {
			return Ask{}, fmt.Errorf("GPU count %q: want a whole number from 0 to %d (e.g. %s=2)", count, maxGPUsPerJob, EnvGPUs)
		}
		a.Count = n
	}
	if m := strings.TrimSpace(memory); m != "" {
		b, err := ParseSize(m)
		if err != nil {
			return Ask{}, fmt.Errorf("GPU memory %q: %w", memory, err)
		}
		a.MinMemory = b
	}
	a.Model = strings.TrimSpace(model)
	if a.Count == 0 && (a.MinMemory != 0 || a.Model != "") {
		return Ask{}, fmt.Errorf("GPU memory or model given but no GPU count: set %s (GitLab: %s) too", EnvGPUs, GitLabCount)
	}
	return a, nil
}

// ParseSize reads "80g", "80G", "80GiB", "80gb", "512m", "1t" or a plain
// byte count. All units are binary.
func ParseSize(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := uint64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(t), 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("not a size: write e.g. 80g or 40960m")
	}
	if n > (1<<63)/mult {
		return 0, fmt.Errorf("size too large")
	}
	return n * mult, nil
}

func (a Ask) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d GPU", a.Count)
	if a.Count != 1 {
		b.WriteString("s")
	}
	if a.MinMemory > 0 {
		fmt.Fprintf(&b, " with >= %d GiB", a.MinMemory>>30)
	}
	if a.Model != "" {
		fmt.Fprintf(&b, " of model %q", a.Model)
	}
	return b.String()
}
