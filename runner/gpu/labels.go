package gpu

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Labels are the runner labels a host advertises so workflows can ask for
// hardware: "gpu", "gpu-<model>" per model, "gpu-mem-<N>g" for the smallest
// GPU's memory, "gpus-<count>" and "cuda-<major>". They are sorted and
// deduplicated, and nil for a host without GPUs. Every listed GPU counts,
// healthy or not: labels describe the hardware, the allocator its state.
func Labels(inv Inventory) []string {
	if len(inv.GPUs) == 0 {
		return nil
	}
	labels := []string{"gpu", fmt.Sprintf("gpus-%d", len(inv.GPUs))}
	smallest := -1
	for i, d := range inv.GPUs {
		if m := modelToken(d.Name); m != "" {
			labels = append(labels, "gpu-"+m)
		}
		if d.MemoryTotal > 0 && (smallest < 0 || memGB(d) < memGB(inv.GPUs[smallest])) {
			smallest = i
		}
	}
	if smallest >= 0 {
		labels = append(labels, fmt.Sprintf("gpu-mem-%dg", memGB(inv.GPUs[smallest])))
	}
	if major, _, _ := strings.Cut(inv.CUDA, "."); major != "" {
		labels = append(labels, "cuda-"+major)
	}
	slices.Sort(labels)
	return slices.Compact(labels)
}

var nameGB = regexp.MustCompile(`(?i)(?:^|[\s-])(\d+)\s?GB\b`)

// memGB prefers the marketed size in the name ("80GB"): NVML reports a
// little less than it, and rounding the bytes would give 79 on some boards.
func memGB(d Device) uint64 {
	if m := nameGB.FindStringSubmatch(d.Name); m != nil {
		if n, err := strconv.ParseUint(m[1], 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return uint64(math.Round(float64(d.MemoryTotal) / (1 << 30)))
}

// modelToken turns a product name into a label token: "NVIDIA H100 80GB
// HBM3" -> "h100", "NVIDIA GeForce RTX 4090" -> "rtx4090".
func modelToken(name string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == ' ' || r == '-' || r == '_' })
	words = slices.DeleteFunc(words, func(w string) bool {
		switch w {
		case "nvidia", "tesla", "geforce", "quadro":
			return true
		}
		return false
	})
	if len(words) == 0 {
		return ""
	}
	tok := words[0]
	// Family words name nothing alone: "RTX A6000", "GTX 1080", "TITAN V".
	if (tok == "rtx" || tok == "gtx" || tok == "titan") && len(words) > 1 {
		tok += words[1]
	}
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, tok)
}
