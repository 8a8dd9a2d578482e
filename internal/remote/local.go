package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mlci/mlci/internal/digest"
)

// Local keeps objects in a directory, at objects/<alg>/<hh>/<hex>: the two
// leading hex digits keep any one directory to a few thousand entries at
// millions of objects.
type Local struct {
	root string
	// mu guards unsynced: the objects put by putUnsynced since the last
	// flush, which a file system without syncfs syncs one by one.
	mu       sync.Mutex
	unsynced []string
}

// staleTemp is how old a temporary file must be before a Put removes it as
// the leftover of a killed writer; a live writer touches its file far more
// often than that.
const staleTemp = 10 * time.Minute

// tempMark separates an object's name from the random part of its temporary
// files, which therefore never have an object's name.
const tempMark = ".tmp-"

// OpenLocal opens (creating it if need be) the store in directory root.
func OpenLocal(root string) (*Local, error) {
	if err := os.MkdirAll(filepath.Join(root, "objects"), 0o755); err != nil {
		return nil, fmt.Errorf("open local remote: %w", err)
	}
	return &Local{root: root}, nil
}

func (l *Local) String() string { return localPrefix + l.root }

func (l *Local) path(d digest.Digest) (string, error) {
	if err := checkDigest(d); err != nil {
		return "", err
	}
	h := d.Hex()
	return filepath.Join(l.root, "objects", string(d.Algorithm()), h[:2], h), nil
}

// Has stats each object; temporary files have other names, so a write in
// progress or one a crash left behind is never found.
func (l *Local) Has(ctx context.Context, digests []digest.Digest) ([]bool, error) {
	present := make([]bool, len(digests))
	for i, d := range digests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := l.path(d)
		if err != nil {
			return nil, err
		}
		switch _, err := os.Stat(p); {
		case err == nil:
			present[i] = true
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%s: %w", l, err)
		}
	}
	return present, nil
}

// Put writes to a temporary file beside the object, syncs it and renames it
// into place, so the object appears whole or not at all. Writers racing on
// one object each rename their own copy of the same bytes; the last wins.
func (l *Local) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	return l.put(ctx, d, size, r, true)
}

// putUnsynced is Put without the sync of the object's folder after the
// rename, which flush does for all objects at once. The content itself is
// still synced before the rename: Has trusts an object by its name, so a
// name must never survive a crash that its content did not. A rename a
// crash loses only leaves the object missing, and the next push sends it.
func (l *Local) putUnsynced(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	return l.put(ctx, d, size, r, false)
}

// flush makes the renames of putUnsynced durable: one sync of the store's
// file system.
func (l *Local) flush() error {
	l.mu.Lock()
	written := l.unsynced
	l.unsynced = nil
	l.mu.Unlock()
	return SyncFS(l.root, written)
}

func (l *Local) put(ctx context.Context, d digest.Digest, size int64, r io.Reader, syncDirNow bool) error {
	p, err := l.path(d)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		// Already there: mark it used now. mlci data gc removes only
		// unreferenced objects older than its cutoff, and a data lock still
		// hashing may be about to reference this one again. A store that
		// cannot be touched (read-only) still holds the object.
		now := time.Now()
		_ = os.Chtimes(p, now, now)
		return nil
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s: %w", l, err)
	}
	f, err := os.CreateTemp(dir, d.Hex()+tempMark+"*")
	if err != nil {
		return fmt.Errorf("%s: %w", l, err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, &ctxReader{ctx: ctx, r: newVerifier(d, size, r)}); err != nil {
		return fmt.Errorf("%s: put %s: %w", l, d.Short(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: put %s: %w", l, d.Short(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: put %s: %w", l, d.Short(), err)
	}
	// Objects are never written again, so read-only guards them against
	// tools that write in place.
	if err := os.Chmod(tmp, 0o444); err != nil {
		return fmt.Errorf("%s: put %s: %w", l, d.Short(), err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("%s: put %s: %w", l, d.Short(), err)
	}
	committed = true
	// The rename is durable only once the directory is synced.
	if !syncDirNow {
		l.mu.Lock()
		l.unsynced = append(l.unsynced, p)
		l.mu.Unlock()
	} else if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s: put %s: %w", l, d.Short(), err)
	}
	removeStale(dir, d.Hex())
	return nil
}

// removeStale removes the temporary files of object hex that a killed
// writer left behind. Failing to is harmless: they are never read.
func removeStale(dir, hex string) {
	matches, _ := filepath.Glob(filepath.Join(dir, hex+tempMark+"*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(m)
		}
	}
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Get opens the object file.
func (l *Local) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	p, err := l.path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %s: %w", l, d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l, err)
	}
	return f, nil
}

// ctxReader stops a copy when ctx is cancelled, between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
