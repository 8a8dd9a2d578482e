package lockfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/remote"
)

// A dataset with more files than a manifest should carry in git is locked
// by its root digest alone (Dataset.Trees); its file list is the tree
// objects below that root (see datahash.TreeObjects), kept in the
// project's local object store, .mlci/objects/, and in data remotes. The
// root digest in mlci.lock names the root tree, and every tree object is
// checked against its digest when read, so an object from anywhere can be
// trusted once it hashes right.

// StoreDir is the folder, relative to the lock's directory, of the local
// object store: remote.OpenLocal(StoreDir) keeps its objects in
// .mlci/objects/. .mlci/ is git-ignored by the .gitignore mlci writes in it.
const StoreDir = ".mlci"

// MaxTreeSize is the largest tree object read: one directory of ten
// million files with long names.
const MaxTreeSize = 1 << 30

// ErrNoTrees means a tree object of a tree-locked dataset is not in the
// local object store.
var ErrNoTrees = errors.New("tree object not in " + StoreDir + "/objects")

// OpenStore opens the local object store of the project whose lock is in
// dir, creating it, with the .gitignore that keeps .mlci/ out of git, if
// need be.
func OpenStore(dir string) (*remote.Local, error) {
	root := filepath.Join(dir, StoreDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("local object store: %w", err)
	}
	ignore := filepath.Join(root, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(ignore, []byte("# mlci's local cache; never commit it.\n*\n"), 0o644); err != nil {
			return nil, fmt.Errorf("local object store: %w", err)
		}
	}
	return remote.OpenLocal(root)
}

// WriteTrees stores the tree objects of a dataset, entries in tree order,
// in store. Objects already there are not written again.
func WriteTrees(ctx context.Context, store remote.Store, alg digest.Algorithm, entries []datahash.Entry) error {
	return datahash.TreeObjects(alg, entries, func(d digest.Digest, obj []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Put reads obj before it returns, so the reused buffer is safe.
		if err := store.Put(ctx, d, int64(len(obj)), bytes.NewReader(obj)); err != nil {
			return fmt.Errorf("write tree object %s: %w", d.Short(), err)
		}
		return nil
	})
}

// StoreLoader reads tree objects from store for datahash.Expand and
// DiffTrees, which verify them. A missing object wraps ErrNoTrees.
func StoreLoader(store remote.Store) datahash.LoadFunc {
	return func(ctx context.Context, d digest.Digest) ([]byte, error) {
		rc, err := store.Get(ctx, d)
		if errors.Is(err, remote.ErrNotFound) {
			return nil, ErrNoTrees
		}
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		obj, err := io.ReadAll(io.LimitReader(rc, MaxTreeSize+1))
		if err != nil {
			return nil, err
		}
		if len(obj) > MaxTreeSize {
			return nil, fmt.Errorf("larger than %d bytes", MaxTreeSize)
		}
		return obj, nil
	}
}

// TreesError turns a failure to read dataset name's tree objects into one
// line that says how to get them.
func TreesError(name string, err error) error {
	if errors.Is(err, ErrNoTrees) {
		return fmt.Errorf("dataset %q: %w; its file list is not in git: run mlci data pull %s to fetch it, or mlci data lock %s where its files are", name, err, name, name)
	}
	return fmt.Errorf("dataset %q: %w; run mlci data pull %s, or mlci data lock %s where its files are, to replace it", name, err, name, name)
}

// ExpandTrees lists a tree-locked dataset from the local object store in
// dir, verifying that the trees hold as many files as ds records. Sizes
// are -1: tree objects do not record them.
func ExpandTrees(ctx context.Context, dir, name string, ds *Dataset) ([]datahash.Entry, error) {
	store, err := OpenStore(dir)
	if err != nil {
		return nil, err
	}
	entries := make([]datahash.Entry, 0, min(ds.Files, 1<<20))
	err = datahash.Expand(ctx, ds.Digest.Algorithm(), ds.Digest, StoreLoader(store), func(e datahash.Entry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, TreesError(name, err)
	}
	if int64(len(entries)) != ds.Files {
		return nil, fmt.Errorf("dataset %q: its trees give %d files; %s records %d: run mlci data lock %s", name, len(entries), FileName, ds.Files, name)
	}
	return entries, nil
}

// TreeSink takes a dataset's tree objects as hashing completes them
// (datahash.Options.Trees) before it is known whether the dataset is
// tree-locked: it holds them in memory up to a bound, which covers any
// dataset small enough for a manifest, and past it writes them to the
// local object store as they come, so memory stays bounded. Flush writes
// what it holds; a sink never flushed writes nothing for a small dataset.
type TreeSink struct {
	ctx     context.Context
	dir     string
	limit   int
	held    []heldTree
	heldLen int
	store   remote.Store
}

type heldTree struct {
	d   digest.Digest
	obj []byte
}

// NewTreeSink returns a sink for the project whose lock is in dir,
// holding up to limit bytes of objects in memory.
func NewTreeSink(ctx context.Context, dir string, limit int) *TreeSink {
	return &TreeSink{ctx: ctx, dir: dir, limit: limit}
}

// Put takes one tree object; obj may be reused once it returns.
func (s *TreeSink) Put(d digest.Digest, obj []byte) error {
	if s.store == nil && s.heldLen+len(obj) <= s.limit {
		s.held = append(s.held, heldTree{d, bytes.Clone(obj)})
		s.heldLen += len(obj)
		return nil
	}
	if err := s.Flush(); err != nil {
		return err
	}
	return s.put(d, obj)
}

// Flush writes every object held to the store, and makes later Puts
// write at once.
func (s *TreeSink) Flush() error {
	if s.store == nil {
		store, err := OpenStore(s.dir)
		if err != nil {
			return err
		}
		s.store = store
	}
	for _, t := range s.held {
		if err := s.put(t.d, t.obj); err != nil {
			return err
		}
	}
	s.held, s.heldLen = nil, 0
	return nil
}

func (s *TreeSink) put(d digest.Digest, obj []byte) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	// Put reads obj before it returns, so a reused buffer is safe.
	if err := s.store.Put(s.ctx, d, int64(len(obj)), bytes.NewReader(obj)); err != nil {
		return fmt.Errorf("write tree object %s: %w", d.Short(), err)
	}
	return nil
}
