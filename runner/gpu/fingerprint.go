package gpu

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mlci/mlci/internal/atomicfile"
)

// Fingerprint identifies the hardware a job ran on, so results can be tied
// to it and reruns on different hardware noticed. It holds only what does
// not change from run to run on the same machine.
type Fingerprint struct {
	Driver string           `json:"driver"`
	CUDA   string           `json:"cuda"`
	GPUs   []FingerprintGPU `json:"gpus"`
	// Digest is "sha256:<hex>" of Text without the digest itself.
	Digest string `json:"digest"`
}

// FingerprintGPU is one GPU in a Fingerprint.
type FingerprintGPU struct {
	Name        string   `json:"name"`
	UUID        string   `json:"uuid"`
	MemoryTotal uint64   `json:"memory_total"`
	MIG         []string `json:"mig"` // MIG device UUIDs, sorted
}

// NewFingerprint fingerprints the GPUs of inv whose GPU or MIG UUID is in
// uuids; nil means every GPU, an empty non-nil slice none (a CPU-only job).
// Listing a GPU takes all its MIG devices; listing MIG devices takes their
// GPU with just those. UUIDs not in inv are ignored.
func NewFingerprint(inv Inventory, uuids []string) Fingerprint {
	want := make(map[string]bool, len(uuids))
	for _, u := range uuids {
		want[u] = true
	}
	f := Fingerprint{Driver: inv.Driver, CUDA: inv.CUDA, GPUs: []FingerprintGPU{}}
	for _, d := range inv.GPUs {
		if d.UUID == "" {
			continue // a GPU that could not be named cannot run a job
		}
		whole := uuids == nil || want[d.UUID]
		g := FingerprintGPU{Name: d.Name, UUID: d.UUID, MemoryTotal: d.MemoryTotal, MIG: []string{}}
		for _, m := range d.MIGDevices {
			if whole || want[m.UUID] {
				g.MIG = append(g.MIG, m.UUID)
			}
		}
		if !whole && len(g.MIG) == 0 {
			continue
		}
		slices.Sort(g.MIG)
		f.GPUs = append(f.GPUs, g)
	}
	slices.SortFunc(f.GPUs, func(a, b FingerprintGPU) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UUID, b.UUID))
	})
	sum := sha256.Sum256(f.canonical(false))
	f.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return f
}

// Text is the canonical JSON written to the hardware file: sorted keys, two
// space indent, newline-terminated, digest included.
func (f Fingerprint) Text() []byte { return f.canonical(true) }

// canonical builds the text from maps, which encoding/json writes with
// sorted keys, so the text does not depend on struct field order.
func (f Fingerprint) canonical(withDigest bool) []byte {
	gpus := make([]map[string]any, 0, len(f.GPUs))
	for _, g := range f.GPUs {
		mig := g.MIG
		if mig == nil {
			mig = []string{}
		}
		gpus = append(gpus, map[string]any{
			"name": g.Name, "uuid": g.UUID, "memory_total": g.MemoryTotal, "mig": mig,
		})
	}
	doc := map[string]any{"driver": f.Driver, "cuda": f.CUDA, "gpus": gpus}
	if withDigest {
		doc["digest"] = f.Digest
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		// Strings, numbers and slices of them always encode.
		panic(fmt.Sprintf("gpu: encode fingerprint: %v", err))
	}
	return buf.Bytes()
}

// WriteHardwareFile writes f.Text() to path atomically, mode 0644, so a
// reader never sees half a fingerprint.
func WriteHardwareFile(path string, f Fingerprint) error {
	if err := atomicfile.Write(path, f.Text(), 0o644); err != nil {
		return fmt.Errorf("write hardware fingerprint: %w", err)
	}
	return nil
}
