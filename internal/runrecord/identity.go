package runrecord

import (
	"encoding/binary"
	"hash"
	"sort"

	"github.com/mlci/mlci/internal/digest"
)

// Materials are everything that decides what a run computes. Two runs with
// the same Materials are the same experiment.
type Materials struct {
	Commit     string
	Repository string
	// Data maps a dataset name to its root digest.
	Data map[string]digest.Digest
	// Image is the container image digest, "" if unknown.
	Image digest.Digest
	// Hardware is the fingerprint text from the file named by
	// MLCI_HARDWARE_FILE, or "unknown"; see HardwareFromEnv.
	Hardware string
	// Params is the digest of the params files.
	Params digest.Digest
}

// identityDomain starts the encoding so a run identity can never equal a
// BLAKE3 digest of some other mlci structure with the same bytes after it.
const identityDomain = "mlci run identity v1"

// Identity is the BLAKE3 digest of a canonical encoding of m. The encoding is
// a sequence of strings, each written as its length in bytes (uint64, big
// endian) followed by its bytes, so no two materials encode alike:
//
//	"mlci run identity v1"
//	"repository" Repository
//	"commit" Commit
//	"data" N, then N pairs NAME DIGEST in byte order of NAME
//	"image" Image
//	"hardware" Hardware ("unknown" when empty)
//	"params" Params
//
// N is written as a uint64 alone. Map order never matters, and a nil and an
// empty Data encode the same.
func Identity(m Materials) digest.Digest {
	h := digest.BLAKE3.New()
	hw := m.Hardware
	if hw == "" {
		hw = unknownHardwareText
	}
	writeStrings(h, identityDomain, "repository", m.Repository, "commit", m.Commit, "data")
	writeUint(h, uint64(len(m.Data)))
	for _, n := range sortedKeys(m.Data) {
		writeStrings(h, n, string(m.Data[n]))
	}
	writeStrings(h, "image", string(m.Image), "hardware", hw, "params", string(m.Params))
	return digest.New(digest.BLAKE3, h.Sum(nil))
}

func writeStrings(h hash.Hash, ss ...string) {
	for _, s := range ss {
		writeUint(h, uint64(len(s)))
		h.Write([]byte(s))
	}
}

func writeUint(h hash.Hash, n uint64) {
	h.Write(binary.BigEndian.AppendUint64(nil, n))
}

func sortedKeys(m map[string]digest.Digest) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
