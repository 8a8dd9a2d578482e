// Package atomicfile writes files so readers see the old content or the new,
// never a torn mix, even if the process is killed mid-write.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix marks the temporary files Write creates: "." + base + tempInfix
// + random digits, in the target's directory.
const tempInfix = ".tmp-"

// Write writes data to a temporary file in the same directory, syncs it and
// renames it over path. Rename within one directory is atomic on POSIX
// filesystems; the sync makes the new content durable before it is visible.
//
// The temporary file stays locked (flock) until it is renamed, so a later
// Write or Clean can tell one a killed process left behind, which it
// removes, from one a live writer is filling, which it leaves alone.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	Clean(path)
	f, err := createLocked(dir, "."+filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
			f.Close()
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = renameAndClose(f, tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	SyncDir(dir)
	return nil
}

// SyncDir makes renames and removals in dir durable. Some file systems
// cannot sync a directory; what was renamed is in place already, so that is
// not worth an error.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// IsTemp reports whether a file name is one of Write's temporary files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempInfix)
}

// Clean removes the temporary files that writes of path left behind when
// their process died. Errors are ignored: a file left is only clutter.
func Clean(path string) {
	prefix := "." + filepath.Base(path) + tempInfix
	cleanDir(filepath.Dir(path), func(name string) bool { return strings.HasPrefix(name, prefix) })
}

// CleanDir removes every abandoned temporary file in dir, whatever file it
// was to become.
func CleanDir(dir string) { cleanDir(dir, IsTemp) }

func cleanDir(dir string, match func(string) bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && match(e.Name()) {
			removeAbandoned(filepath.Join(dir, e.Name()))
		}
	}
}
