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

// TestManifestDirMustBeAFolder: mlci.lock.d committed as a link would have
// manifests read from, and stale .tsv files removed in, another folder.
func TestManifestDirMustBeAFolder(t *testing.T) {
	v := makeVersion("a", "b")
	dir, outside := t.TempDir(), t.TempDir()
	if err := Save(dir, lockOf(v), map[string][]byte{"images": v.manifest}); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(outside, "victim.tsv")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, ManifestDir, "images.tsv"), filepath.Join(outside, "images.tsv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ManifestDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, ManifestDir)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(context.Background(), dir, nil); err == nil {
		t.Error("Load read manifests through a linked mlci.lock.d")
	}
	if err := Save(dir, lockOf(v), map[string][]byte{"images": v.manifest}); err == nil {
		t.Error("Save wrote through a linked mlci.lock.d")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("a file in the folder mlci.lock.d points to was removed: %v", err)
	}
}
