package datasync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
)

// computeTrees fills s's tree objects from its entries, once: a directory's
// tree object hashes to its digest, so the root tree's digest is the
// dataset's, and a remote holding every tree can list the dataset without
// its manifest.
func (s *Set) computeTrees() {
	if s.trees != nil {
		return
	}
	s.trees = map[digest.Digest][]byte{}
	s.treePaths = map[digest.Digest][]string{}
	dirs := dirsPostOrder(s.Entries)
	i := 0
	// emit never fails, so neither does TreeObjects.
	_ = datahash.TreeObjects(s.Alg, s.Entries, func(d digest.Digest, obj []byte) error {
		if _, ok := s.trees[d]; !ok {
			s.trees[d] = append([]byte(nil), obj...)
			s.treeOrder = append(s.treeOrder, d)
		}
		if i < len(dirs) {
			s.treePaths[d] = append(s.treePaths[d], s.path(datahash.Entry{Path: dirs[i]}))
		}
		i++
		return nil
	})
}

// dirsPostOrder lists the directories of entries (tree order) in the order
// TreeObjects emits their objects: each after its subdirectories, the
// root ("") last.
func dirsPostOrder(entries []datahash.Entry) []string {
	var out, open []string
	for _, e := range entries {
		dir := path.Dir(e.Path)
		if dir == "." {
			dir = ""
		}
		// Close the open directories this entry is not in.
		for len(open) > 0 {
			top := open[len(open)-1]
			if top == "" || dir == top || strings.HasPrefix(dir, top+"/") {
				break
			}
			out = append(out, top)
			open = open[:len(open)-1]
		}
		// Open the directories between the innermost open one and dir.
		base := ""
		if len(open) > 0 {
			base = open[len(open)-1]
		} else {
			open = append(open, "")
		}
		for dir != base {
			rest := strings.TrimPrefix(strings.TrimPrefix(dir, base), "/")
			name, _, _ := strings.Cut(rest, "/")
			if base == "" {
				base = name
			} else {
				base += "/" + name
			}
			open = append(open, base)
		}
	}
	for i := len(open) - 1; i >= 0; i-- {
		out = append(out, open[i])
	}
	return out
}

// treePath names where the tree object d belongs, for messages.
func (s *Set) treePath(d digest.Digest) string {
	s.computeTrees()
	if p := s.treePaths[d]; len(p) > 0 {
		return firstPaths(p, 3)
	}
	return d.Short()
}

// treeObjects are the dataset's distinct tree objects, children before
// parents and the root last, the order a push starts them in.
func (s *Set) treeObjects() []remote.Object {
	s.computeTrees()
	out := make([]remote.Object, len(s.treeOrder))
	for i, d := range s.treeOrder {
		out[i] = remote.Object{Digest: d, Size: int64(len(s.trees[d]))}
	}
	return out
}

// tree returns the tree object d of the dataset, if it is one.
func (s *Set) tree(d digest.Digest) ([]byte, bool) {
	s.computeTrees()
	obj, ok := s.trees[d]
	return obj, ok
}

// FetchTrees makes the tree objects of a tree-locked dataset available
// in the project's local object store (lockfile.OpenStore(dir)), copying
// those it lacks from store, so that the lock's Manifests.Get can list the
// dataset on a clone that never locked it. Each object is verified against
// its digest before it is kept. A tree the remote lacks fails wrapping
// remote.ErrNotFound, naming the dataset.
func FetchTrees(ctx context.Context, dir string, store remote.Store, name string, ds *lockfile.Dataset) error {
	local, err := lockfile.OpenStore(dir)
	if err != nil {
		return err
	}
	fromLocal, fromRemote := lockfile.StoreLoader(local), lockfile.StoreLoader(store)
	load := func(ctx context.Context, d digest.Digest) ([]byte, error) {
		obj, err := fromLocal(ctx, d)
		if !errors.Is(err, lockfile.ErrNoTrees) {
			return obj, err // Expand verifies what the local store gives
		}
		obj, err = fromRemote(ctx, d)
		if errors.Is(err, lockfile.ErrNoTrees) {
			return nil, fmt.Errorf("not in %s: %w", store, remote.ErrNotFound) // Expand names the tree
		}
		if err != nil {
			return nil, err
		}
		// Put refuses content that does not hash to d.
		if err := local.Put(ctx, d, int64(len(obj)), bytes.NewReader(obj)); err != nil {
			return nil, fmt.Errorf("tree object %s from %s: %w", d.Short(), store, err)
		}
		return obj, nil
	}
	err = datahash.Expand(ctx, ds.Digest.Algorithm(), ds.Digest, load, func(datahash.Entry) error { return nil })
	if err != nil {
		return fmt.Errorf("dataset %s: %w; run mlci data push %s where its files are", name, err, name)
	}
	return nil
}
