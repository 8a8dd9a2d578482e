package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is a file written in pieces that replaces path atomically on
// Commit, for content too large to hold in memory first. Until then it is
// a locked temporary file, like Write's.
type File struct {
	*os.File
	path, tmp string
	perm      os.FileMode
}

// Create starts writing what will replace path on Commit.
func Create(path string, perm os.FileMode) (*File, error) {
	Clean(path)
	f, err := createLocked(filepath.Dir(path), "."+filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{File: f, path: path, tmp: f.Name(), perm: perm}, nil
}

// Commit syncs what was written and renames it over path; after an error
// the temporary file is gone and path is unchanged.
func (f *File) Commit() (err error) {
	defer func() {
		if err != nil {
			f.Abort()
			err = fmt.Errorf("write %s: %w", f.path, err)
		}
	}()
	if err = f.Chmod(f.perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = renameAndClose(f.File, f.tmp, f.path); err != nil {
		return err
	}
	SyncDir(filepath.Dir(f.path))
	return nil
}

// Abort removes the temporary file, leaving path as it was.
func (f *File) Abort() {
	os.Remove(f.tmp)
	f.Close()
}
