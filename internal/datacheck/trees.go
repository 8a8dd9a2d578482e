package datacheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
)

// memTrees holds the tree objects of a dataset known by its entries (a
// fresh walk, or a manifest), so that it can be compared with a
// tree-locked one by DiffTrees without writing anything.
type memTrees map[digest.Digest][]byte

func treesOf(alg digest.Algorithm, entries []datahash.Entry) (memTrees, error) {
	m := memTrees{}
	err := datahash.TreeObjects(alg, entries, func(d digest.Digest, obj []byte) error {
		if _, ok := m[d]; !ok {
			m[d] = bytes.Clone(obj)
		}
		return nil
	})
	return m, err
}

// keepMissing is a datahash.Options.Trees that keeps the objects store
// lacks: a dataset changed in a few folders gives a few objects to keep,
// whatever its size.
func (m memTrees) keepMissing(ctx context.Context, store remote.Store) func(digest.Digest, []byte) error {
	return func(d digest.Digest, obj []byte) error {
		if _, ok := m[d]; ok {
			return nil
		}
		has, err := store.Has(ctx, []digest.Digest{d})
		if err != nil {
			return err
		}
		if !has[0] {
			m[d] = bytes.Clone(obj)
		}
		return nil
	}
}

// fileSize gives the size of a file of the dataset at root by its path,
// for the few files a tree comparison names; -1 if it cannot be read.
func fileSize(root string, follow bool) func(string) int64 {
	return func(p string) int64 {
		full := filepath.Join(root, filepath.FromSlash(p))
		stat := os.Lstat
		if follow {
			stat = os.Stat
		}
		fi, err := stat(full)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
}

// loader reads from m, then from the local object store in dir: the
// objects are content-addressed, so which side a digest is found on does
// not matter.
func (m memTrees) loader(dir string) (datahash.LoadFunc, error) {
	store, err := lockfile.OpenStore(dir)
	if err != nil {
		return nil, err
	}
	fromStore := lockfile.StoreLoader(store)
	return func(ctx context.Context, d digest.Digest) ([]byte, error) {
		if obj, ok := m[d]; ok {
			return obj, nil
		}
		return fromStore(ctx, d)
	}, nil
}

// treeChanges names what changed between a tree-locked dataset, whose
// trees are in the local object store in dir, and its state now, whose
// root is root and whose tree objects are in m or the store (cur holds its
// entries only when it is a single file), reading only the trees along the
// paths that differ. New sizes come from size; old ones are not in tree
// objects and stay -1.
func treeChanges(ctx context.Context, dir string, locked *lockfile.Dataset, root digest.Digest, m memTrees, cur []datahash.Entry, size func(string) int64) (datahash.Changes, error) {
	alg := locked.Digest.Algorithm()
	load, err := m.loader(dir)
	if err != nil {
		return datahash.Changes{}, err
	}
	c, err := diffRoots(ctx, alg, locked.Digest, root, load, nil, singleFile(cur))
	if err != nil {
		return datahash.Changes{}, err
	}
	for i := range c.Added {
		c.Added[i].NewSize = size(c.Added[i].Path)
	}
	for i := range c.Modified {
		c.Modified[i].NewSize = size(c.Modified[i].Path)
	}
	return c, nil
}

// treesMissing is the message of a changed tree-locked dataset whose
// locked trees are not here to name the changed files with.
func treesMissing(name string) string {
	return fmt.Sprintf("its file list is in tree objects that are not in %s/objects, so the changed files cannot be named; run mlci data pull %s to fetch them", lockfile.StoreDir, name)
}

// singleFile returns entries when they are a single-file dataset, whose
// root is the file's digest rather than a tree; nil otherwise.
func singleFile(entries []datahash.Entry) []datahash.Entry {
	if len(entries) == 1 && entries[0].Path == "" {
		return entries
	}
	return nil
}

// diffRoots compares two versions of a dataset by their roots, descending
// only into differing trees. A side that is a single file (oldFile or
// newFile set) has no tree to descend into: the other side is then listed
// whole, as every one of its files changed anyway.
func diffRoots(ctx context.Context, alg digest.Algorithm, oldRoot, newRoot digest.Digest, load datahash.LoadFunc, oldFile, newFile []datahash.Entry) (datahash.Changes, error) {
	if oldFile == nil && newFile == nil {
		return datahash.DiffTrees(ctx, alg, oldRoot, newRoot, load)
	}
	list := func(file []datahash.Entry, root digest.Digest) ([]datahash.Entry, error) {
		if file != nil {
			return file, nil
		}
		var entries []datahash.Entry
		err := datahash.Expand(ctx, alg, root, load, func(e datahash.Entry) error {
			entries = append(entries, e)
			return nil
		})
		return entries, err
	}
	old, err := list(oldFile, oldRoot)
	if err != nil {
		return datahash.Changes{}, err
	}
	cur, err := list(newFile, newRoot)
	if err != nil {
		return datahash.Changes{}, err
	}
	return datahash.Diff(old, cur), nil
}
