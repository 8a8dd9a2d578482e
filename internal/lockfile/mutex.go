package lockfile

import (
	"os"
	"path/filepath"
)

// MutexFile is the file that writers of mlci.lock lock while they read,
// merge and write it, relative to the lock's directory. It is in .mlci/,
// which is git-ignored, so it is never committed.
const MutexFile = ".mlci/lock"

// createMutex makes the mutex file, and .mlci/.gitignore if no run has.
func createMutex(dir string) (*os.File, error) {
	p := filepath.Join(dir, filepath.FromSlash(MutexFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	ignore := filepath.Join(filepath.Dir(p), ".gitignore")
	if _, err := os.Lstat(ignore); os.IsNotExist(err) {
		os.WriteFile(ignore, []byte("# mlci's local cache; never commit it.\n*\n"), 0o644)
	}
	return os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
}
