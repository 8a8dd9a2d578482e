package runrecord

import (
	"crypto/sha256"
	"time"

	"github.com/mlci/mlci/internal/digest"
)

// dg makes a well-formed digest from a seed so tests read as names.
func dg(a digest.Algorithm, seed string) digest.Digest {
	h := a.New()
	h.Write([]byte(seed))
	return digest.New(a, h.Sum(nil))
}

func sha(seed string) digest.Digest {
	s := sha256.Sum256([]byte(seed))
	return digest.New(digest.SHA256, s[:])
}

func fixedMaterials() Materials {
	return Materials{
		Commit:     "0123456789abcdef0123456789abcdef01234567",
		Repository: "https://github.com/example/model",
		Data: map[string]digest.Digest{
			"train": dg(digest.BLAKE3, "train"),
			"eval":  dg(digest.BLAKE3, "eval"),
		},
		Image:    sha("image"),
		Hardware: "gpu=NVIDIA H200 driver=560.35 cuda=12.6",
		Params:   dg(digest.BLAKE3, "params"),
	}
}

func fixedStatement() Statement {
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return New(
		map[string]digest.Digest{
			"model.safetensors": sha("model"),
			"metrics.json":      dg(digest.BLAKE3, "metrics"),
		},
		fixedMaterials(),
		"https://mlci.dev/runner/gpu-1",
		"run-42",
		started,
		started.Add(90*time.Minute),
	)
}
