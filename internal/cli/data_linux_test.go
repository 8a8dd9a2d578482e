package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file that cannot be read is an input error naming it, not an
// interruption. The read must fail for root too: a link, followed, to
// /proc/self/mem reads as a regular file whose first page is unmapped, so
// read(2) gives EIO whoever asks.
func TestUnreadableFileIsNamed(t *testing.T) {
	dir := t.TempDir()
	for d := range 200 {
		for f := range 10 {
			writeFile(t, filepath.Join(dir, "data", fmt.Sprintf("d%03d", d), fmt.Sprint(f)), fmt.Sprint(d, f))
		}
	}
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "data:\n  - path: data\n    follow_symlinks: true\n")
	if r := run(t, nil, "-C", dir, "-q", "data", "lock"); r.code != ExitOK {
		t.Fatalf("lock: exit %d: %s", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "data", "a-unreadable")
	if err := os.Symlink("/proc/self/mem", bad); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r := run(t, nil, "-C", dir, "data", "check", "--no-cache")
		last := lastLine(r.stderr)
		if r.code != ExitUsage || !strings.Contains(last, bad) || !strings.Contains(last, "input/output error") {
			t.Fatalf("exit %d, last stderr line %q; want %d naming %s and the read error", r.code, last, ExitUsage, bad)
		}
	}
}
