// Package datasync moves locked datasets to and from a remote store: the
// objects a lock names (file contents and tree objects), pushing them from
// the working tree, proving they are all in a remote, and placing them back
// on a fresh clone without trusting the paths the lock gives.
package datasync

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
)

// Set is what one locked dataset is made of in a remote.
type Set struct {
	Name    string
	Dataset *lockfile.Dataset
	Alg     digest.Algorithm
	// Entries are the dataset's files and links from its manifest, in
	// tree order.
	Entries []datahash.Entry
	// byDigest maps each content digest to the indexes of the entries
	// that hold it, first occurrence first.
	byDigest map[digest.Digest][]int
	order    []digest.Digest
	// trees are the tree objects by digest, computed on first use.
	trees     map[digest.Digest][]byte
	treeOrder []digest.Digest
	treePaths map[digest.Digest][]string
}

// Sets reads the named datasets (every locked one when names is empty)
// out of a loaded lock. A name the lock does not hold is a usage error
// that lists those it does.
func Sets(l *lockfile.Lock, manifests *lockfile.Manifests, names []string) ([]*Set, error) {
	if len(names) == 0 {
		names = l.Names()
		if len(names) == 0 {
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("%s locks no dataset: run mlci data lock first", lockfile.FileName))
		}
	}
	var sets []*Set
	for _, n := range names {
		ds, ok := l.Datasets[n]
		if !ok {
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("dataset %q is not in %s; locked: %s", n, lockfile.FileName, strings.Join(l.Names(), ", ")))
		}
		entries, err := manifests.Get(n)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		if entries == nil {
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("dataset %s: its manifest %s is missing; restore it from git, or run mlci data lock %s where the data is", n, ds.Manifest, n))
		}
		sets = append(sets, NewSet(n, ds, entries))
	}
	return sets, nil
}

// NewSet is the set of dataset name, locked as ds with entries.
func NewSet(name string, ds *lockfile.Dataset, entries []datahash.Entry) *Set {
	s := &Set{Name: name, Dataset: ds, Alg: ds.Digest.Algorithm(), Entries: entries, byDigest: map[digest.Digest][]int{}}
	for i, e := range entries {
		d := s.digestOf(e)
		if _, ok := s.byDigest[d]; !ok {
			s.order = append(s.order, d)
		}
		s.byDigest[d] = append(s.byDigest[d], i)
	}
	return s
}

func (s *Set) digestOf(e datahash.Entry) digest.Digest { return digest.New(s.Alg, e.Sum[:]) }

// Blobs are the distinct contents of the dataset's files and links (a
// link's content is its target, which its digest covers), in tree order of
// their first path.
func (s *Set) Blobs() []remote.Object {
	out := make([]remote.Object, len(s.order))
	for i, d := range s.order {
		out[i] = remote.Object{Digest: d, Size: s.Entries[s.byDigest[d][0]].Size}
	}
	return out
}

// Paths are the dataset paths that hold the content d, relative to the
// project root.
func (s *Set) Paths(d digest.Digest) []string {
	var out []string
	for _, i := range s.byDigest[d] {
		out = append(out, s.path(s.Entries[i]))
	}
	return out
}

// path is where an entry lives, relative to the project root.
func (s *Set) path(e datahash.Entry) string {
	if e.Path == "" {
		return s.Dataset.Path
	}
	return s.Dataset.Path + "/" + e.Path
}

// Missing is one object a remote lacks.
type Missing struct {
	Dataset string        `json:"dataset"`
	Digest  digest.Digest `json:"digest"`
	Kind    string        `json:"kind"`  // "file", "symlink" or "tree"
	Paths   []string      `json:"paths"` // where the object belongs, from the project root
}

// objectError finds the object a transfer failed on.
func objectError(err error) (digest.Digest, bool) {
	var oe *remote.ObjectError
	if errors.As(err, &oe) {
		return oe.Digest, true
	}
	return "", false
}

// firstPaths joins up to n paths for a message, saying how many more.
func firstPaths(paths []string, n int) string {
	if len(paths) <= n {
		return strings.Join(paths, ", ")
	}
	return strings.Join(slices.Clip(paths[:n]), ", ") + fmt.Sprintf(" and %d more", len(paths)-n)
}
