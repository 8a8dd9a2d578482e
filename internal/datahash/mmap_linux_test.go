package datahash

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A mapped file truncated under the hasher faults past its new end; the
// hash fails as changed instead of the fault ending the process.
func TestMappedFileTruncated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	data := randomBytes(4*blockSize, 3)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mapped, err := unix.Mmap(int(f.Fd()), 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mapped)
	r := &blockReader{buf: make([]byte, blockSize)}
	copy(r.buf, data)
	if got, err := hashLarge(f, mapped, p, int64(len(data)), r, nil); err != nil || got != blake3Sum(data) {
		t.Fatalf("before truncation: %x, %v; want %x", got, err, blake3Sum(data))
	}
	if err := os.Truncate(p, blockSize); err != nil {
		t.Fatal(err)
	}
	_, err = hashLarge(f, mapped, p, int64(len(data)), r, nil)
	if err == nil || !strings.Contains(err.Error(), ErrChanged.Error()) {
		t.Fatalf("err = %v, want %v", err, ErrChanged)
	}
}
