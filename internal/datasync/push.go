package datasync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/remote"
)

// ErrChangedSinceLock means a file's content no longer matches the digest
// mlci.lock records for it, so it cannot be pushed under that digest.
var ErrChangedSinceLock = errors.New("changed since mlci data lock")

// Push sends to store every object of s it lacks, reading files from the
// working tree under root (the project root). A file whose content no
// longer matches the lock is refused by the store's own verification, and
// the error names the file and says to lock again.
func Push(ctx context.Context, root string, store remote.Store, s *Set, opts remote.TransferOptions) (remote.Stats, error) {
	blobs := s.Blobs()
	for i, o := range blobs {
		if o.Size < 0 {
			blobs[i].Size = s.localSize(root, o.Digest)
		}
	}
	objects := append(blobs, s.treeObjects()...)
	st, err := remote.Push(ctx, store, objects, func(d digest.Digest) (io.ReadCloser, error) {
		if obj, ok := s.tree(d); ok {
			return io.NopCloser(bytes.NewReader(obj)), nil
		}
		return s.open(root, d)
	}, opts)
	if err == nil {
		return st, nil
	}
	if d, ok := objectError(err); ok && (errors.Is(err, remote.ErrDigestMismatch) || errors.Is(err, fs.ErrNotExist)) {
		if paths := s.Paths(d); len(paths) > 0 {
			return st, exitcode.With(exitcode.Usage, fmt.Errorf("dataset %s: %s %w (its content no longer matches %s in mlci.lock); run mlci data lock %s, commit, and push again",
				s.Name, paths[0], ErrChangedSinceLock, d.Short(), s.Name))
		}
	}
	return st, err
}

// open reads the content d from the first path that holds it: a file's
// bytes, or a link's target, which is what the digest of a link covers.
func (s *Set) open(root string, d digest.Digest) (io.ReadCloser, error) {
	idx := s.byDigest[d]
	if len(idx) == 0 {
		return nil, fmt.Errorf("object %s is not in dataset %s", d.Short(), s.Name)
	}
	e := s.Entries[idx[0]]
	full := filepath.Join(root, filepath.FromSlash(s.path(e)))
	if e.Type == datahash.Symlink {
		target, err := os.Readlink(full)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader([]byte(target))), nil
	}
	// A file locked through a followed link is read through it, as it was
	// hashed; the store verifies what it reads either way. Opened without
	// blocking, so a FIFO put where the file was cannot hang the push.
	f, err := os.OpenFile(full, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is no longer a regular file: %w", s.path(e), fs.ErrNotExist)
		}
		return nil, err
	}
	return f, nil
}

// localSize is the size of the content d in the working tree, for entries
// listed from tree objects, which do not record sizes; -1 when it cannot be
// read, which open then reports.
func (s *Set) localSize(root string, d digest.Digest) int64 {
	idx := s.byDigest[d]
	if len(idx) == 0 {
		return -1
	}
	e := s.Entries[idx[0]]
	full := filepath.Join(root, filepath.FromSlash(s.path(e)))
	if e.Type == datahash.Symlink {
		target, err := os.Readlink(full)
		if err != nil {
			return -1
		}
		return int64(len(target))
	}
	fi, err := os.Stat(full)
	if err != nil {
		return -1
	}
	return fi.Size()
}
