package datahash

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeebo/blake3"
)

// treeSizes sit on both sides of the boundaries the block hasher handles
// apart: a chunk, a 16-chunk unit, a block, and a file of several blocks
// with a partial last one.
var treeSizes = []int{
	0, 1, 1023, 1024, 1025,
	unitSize - 1, unitSize, unitSize + 1,
	64<<10 - 1, 64 << 10, 64<<10 + 1,
	blockSize - 1, blockSize, blockSize + 1, blockSize + 7,
	3*blockSize + unitSize + 5,
	16<<20 + 3,
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func TestBlake3SumMatchesHasher(t *testing.T) {
	for _, n := range treeSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := randomBytes(n, uint64(n))
			want := blake3.Sum256(data)
			if got := blake3Sum(data); got != Sum(want) {
				t.Fatalf("blake3Sum = %x, zeebo/blake3 = %x", got, want)
			}
		})
	}
}

// Files of every size hash through the worker pool to what b3sum prints,
// with one worker and with several sharing one large file's blocks.
func TestLargeFilesMatchB3sum(t *testing.T) {
	b3sum, err := exec.LookPath("b3sum")
	if err != nil {
		t.Skip("b3sum not installed")
	}
	dir := t.TempDir()
	var paths []string
	for _, n := range treeSizes {
		p := filepath.Join(dir, fmt.Sprintf("f%09d", n))
		if err := os.WriteFile(p, randomBytes(n, uint64(n)+1), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(b3sum, append([]string{"--no-names"}, paths...)...).Output()
	if err != nil {
		t.Fatalf("b3sum: %v", err)
	}
	want := strings.Fields(string(out))
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			res := mustHash(t, dir, Options{Workers: workers})
			if len(res.Entries) != len(want) {
				t.Fatalf("%d entries, b3sum printed %d digests", len(res.Entries), len(want))
			}
			for i, e := range res.Entries {
				if got := hex.EncodeToString(e.Sum[:]); got != want[i] {
					t.Errorf("%s: %s, b3sum %s", e.Path, got, want[i])
				}
			}
			for i, p := range paths {
				one := mustHash(t, p, Options{Workers: workers})
				if got := strings.TrimPrefix(string(one.Root), "blake3:"); got != want[i] {
					t.Errorf("%s alone: %s, b3sum %s", p, got, want[i])
				}
			}
		})
	}
}

// A large file that shrinks while its blocks are read fails as changed.
func TestLargeFileShrinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big")
	data := randomBytes(4*blockSize, 9)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &blockReader{buf: make([]byte, blockSize)}
	copy(r.buf, data)
	_, err := hashLarge(bytes.NewReader(data[:3*blockSize]), p, int64(len(data)), r, nil)
	if err == nil || !strings.Contains(err.Error(), ErrChanged.Error()) {
		t.Fatalf("err = %v, want %v", err, ErrChanged)
	}
}

func BenchmarkBlock(b *testing.B) {
	data := randomBytes(blockSize, 1)
	b.Run("tree", func(b *testing.B) {
		b.SetBytes(blockSize)
		var tail [unitSize]byte
		for b.Loop() {
			subtree(data, 0, &tail)
		}
	})
	b.Run("zeebo", func(b *testing.B) {
		b.SetBytes(blockSize)
		h := blake3.New()
		for b.Loop() {
			h.Reset()
			h.Write(data)
		}
	})
}
