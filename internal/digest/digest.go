// Package digest names content hashes the way OCI does ("algorithm:hex"), so
// lock files stay readable when the default algorithm changes.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/zeebo/blake3"
)

// Algorithm is a supported hash function.
type Algorithm string

const (
	// BLAKE3 is the default: the fastest cryptographic hash measured on our
	// runners (about 2.5 GB/s per core against 1.4 for SHA-256 with SHA-NI).
	BLAKE3 Algorithm = "blake3"
	// SHA256 is for interoperability with OCI and in-toto, which name it.
	SHA256 Algorithm = "sha256"
)

// Default is the algorithm used when nothing else is configured.
const Default = BLAKE3

// ErrUnknownAlgorithm is returned for an algorithm mlci cannot compute.
var ErrUnknownAlgorithm = errors.New("unknown hash algorithm")

// Algorithms lists the supported algorithms, default first.
func Algorithms() []Algorithm { return []Algorithm{BLAKE3, SHA256} }

// ParseAlgorithm accepts an algorithm name; "" means the default.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(s) {
	case "":
		return Default, nil
	case BLAKE3, SHA256:
		return Algorithm(s), nil
	}
	return "", fmt.Errorf("%w %q: choose blake3 or sha256", ErrUnknownAlgorithm, s)
}

// New returns a fresh hasher. It panics on an unknown algorithm, which only
// a value that did not come through ParseAlgorithm can be.
func (a Algorithm) New() hash.Hash {
	switch a {
	case BLAKE3:
		return blake3.New()
	case SHA256:
		return sha256.New()
	}
	panic("digest: unknown algorithm " + string(a))
}

// Size is the length of the algorithm's digest in bytes.
func (a Algorithm) Size() int { return 32 }

// Digest is "algorithm:lowercase-hex".
type Digest string

// New makes a Digest from raw sum bytes.
func New(a Algorithm, sum []byte) Digest {
	return Digest(string(a) + ":" + hex.EncodeToString(sum))
}

// Parse checks that s is a well-formed digest of a supported algorithm.
func Parse(s string) (Digest, error) {
	alg, hx, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("digest %q: want algorithm:hex, e.g. blake3:af13…", s)
	}
	a, err := ParseAlgorithm(alg)
	if err != nil || alg == "" {
		return "", fmt.Errorf("digest %q: %w", s, ErrUnknownAlgorithm)
	}
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != a.Size() || strings.ToLower(hx) != hx {
		return "", fmt.Errorf("digest %q: want %d lowercase hex characters after %q", s, 2*a.Size(), alg+":")
	}
	return Digest(s), nil
}

// Algorithm returns the part before the colon.
func (d Digest) Algorithm() Algorithm {
	a, _, _ := strings.Cut(string(d), ":")
	return Algorithm(a)
}

// Hex returns the part after the colon.
func (d Digest) Hex() string {
	_, h, _ := strings.Cut(string(d), ":")
	return h
}

// Short is the algorithm and the first 12 hex digits, for humans.
func (d Digest) Short() string {
	h := d.Hex()
	if len(h) > 12 {
		h = h[:12]
	}
	return string(d.Algorithm()) + ":" + h
}

func (d Digest) String() string { return string(d) }
