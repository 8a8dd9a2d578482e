package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mlci/mlci/internal/regfile"
)

// TestLockAndManifestMustBeRegularFiles: a branch can replace mlci.lock or
// a manifest with a FIFO (which would hang the job with no writer) or a
// link to a device; both are refused before a byte is read.
func TestLockAndManifestMustBeRegularFiles(t *testing.T) {
	v := makeVersion("a", "b")
	for _, tt := range []struct {
		name, file string
	}{
		{"lock", FileName},
		{"manifest", "mlci.lock.d/images.tsv"},
	} {
		for _, kind := range []string{"fifo", "device", "folder"} {
			t.Run(tt.name+" "+kind, func(t *testing.T) {
				dir := t.TempDir()
				if err := Save(dir, lockOf(v), map[string][]byte{"images": v.manifest}); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, filepath.FromSlash(tt.file))
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				var err error
				switch kind {
				case "fifo":
					err = syscall.Mkfifo(p, 0o644)
				case "device":
					err = os.Symlink("/dev/zero", p)
				case "folder":
					err = os.Mkdir(p, 0o755)
				}
				if err != nil {
					t.Fatal(err)
				}
				var nr *regfile.NotRegularError
				_, manifests, err := Load(context.Background(), dir, nil)
				if err == nil {
					_, err = manifests.Get("images")
				}
				if !errors.As(err, &nr) {
					t.Errorf("Load with %s as %s: %v, want it refused as not a regular file", tt.file, kind, err)
				}
			})
		}
	}
}
