//go:build !unix

package atomicfile

import "os"

// Without flock, a temporary file of a live writer cannot be told from an
// abandoned one, so none is removed.

func createLocked(dir, pattern string) (*os.File, error) { return os.CreateTemp(dir, pattern) }

// renameAndClose closes first: Windows cannot rename an open file.
func renameAndClose(f *os.File, tmp, path string) error {
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func removeAbandoned(string) {}
