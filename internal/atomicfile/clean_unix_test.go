//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// A write killed mid-way leaves its temporary file; the next write of the
// same file removes it, but never the temporary file of a writer that is
// still running, which holds it locked.
func TestWriteRemovesAbandonedTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mlci.lock")
	touch := func(name string) string {
		t.Helper()
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte("torn"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	touch(".mlci.lock.tmp-111")         // its writer was killed
	live := touch(".mlci.lock.tmp-222") // its writer is still at work
	touch(".other.tmp-333")             // another file's: left for its own writer
	touch("notes.txt")
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	if err := Write(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{".mlci.lock.tmp-222", ".other.tmp-333", "mlci.lock", "notes.txt"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Write: %v, want %v", got, want)
	}

	f.Close() // the live writer dies too
	CleanDir(dir)
	want = []string{"mlci.lock", "notes.txt"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("after CleanDir: %v, want %v", got, want)
	}
}

// Clean racing Write's creation of its temporary file must not lose the
// write: many rounds of both at once.
func TestCleanDuringWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 300 {
			Clean(p)
		}
	}()
	for i := range 300 {
		if err := Write(p, []byte{byte(i)}, 0o644); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	<-done
	if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
		t.Errorf("left %v", got)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
