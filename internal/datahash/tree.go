// Package datahash computes the content address of a dataset: a Merkle root
// over its files that ignores mtime, ownership, walk order and OS.
package datahash

import (
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/treeorder"
)

// Type says what a dataset entry is. Directories are not entries: they are
// implied by the paths below them, as in git, so an empty directory does not
// change a digest.
type Type byte

const (
	// File is a regular file; its digest is over its bytes only.
	File Type = 'f'
	// Symlink is a link recorded as a link; its digest is over its target.
	Symlink Type = 'l'
	// Dir is a directory. It appears only in tree objects (see
	// TreeObjects), never as an Entry.
	Dir Type = 'd'
)

// Sum is a raw digest; both supported algorithms give 32 bytes.
type Sum [32]byte

// Entry is one file or link of a dataset.
type Entry struct {
	// Path is slash-separated and relative to the dataset root; "" when the
	// dataset is a single file.
	Path string
	Type Type
	Size int64
	Sum  Sum
}

// treeHeader separates tree digests from file digests, so no file can be
// crafted to look like a directory.
const treeHeader = "mlci tree 1\n"

// Less orders paths as a tree walk visits them: '/' sorts before every other
// byte, so a directory's entries are contiguous and siblings are in byte
// order of their names.
func Less(a, b string) bool { return treeorder.Compare(a, b) < 0 }

// Sort puts entries in tree order.
func Sort(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int { return treeorder.Compare(a.Path, b.Path) })
}

// Root computes the dataset digest from entries in tree order. A dataset
// that is a single file has that file's digest, so it matches b3sum or
// sha256sum. A directory's digest is over its sorted children, each written
// as type, space, name, NUL and the child's raw digest.
func Root(alg digest.Algorithm, entries []Entry) digest.Digest {
	if len(entries) == 1 && entries[0].Path == "" {
		return digest.New(alg, entries[0].Sum[:])
	}
	t := treeHasher{alg: alg}
	// Without an emit function sum cannot fail.
	sum, _ := t.sum(entries, 0, 0)
	return digest.New(alg, sum[:])
}

// treeHasher keeps one buffer per directory depth, reused by siblings, so
// a tree costs a few allocations rather than one growing buffer per
// directory. Root and TreeObjects share it, so a tree object is by
// construction the bytes a directory's digest is computed over.
type treeHasher struct {
	alg     digest.Algorithm
	bufs    [][]byte
	scratch []byte
	// emit, when set, receives each directory's digest and tree object
	// after its children's.
	emit func(Sum, []byte) error
}

// sum hashes the directory at depth whose children are entries, each with
// the common prefix of length prefix stripped.
func (t *treeHasher) sum(entries []Entry, prefix, depth int) (Sum, error) {
	if depth == len(t.bufs) {
		t.bufs = append(t.bufs, nil)
	}
	children := append(t.bufs[depth][:0], treeHeader...)
	for i := 0; i < len(entries); {
		rest := entries[i].Path[prefix:]
		name, _, isDir := strings.Cut(rest, "/")
		var typ Type
		var sum Sum
		if isDir {
			j := i + 1
			sub := entries[i].Path[:prefix+len(name)+1]
			for j < len(entries) && strings.HasPrefix(entries[j].Path, sub) {
				j++
			}
			var err error
			if sum, err = t.sum(entries[i:j], len(sub), depth+1); err != nil {
				return Sum{}, err
			}
			typ = Dir
			i = j
		} else {
			typ, sum = entries[i].Type, entries[i].Sum
			i++
		}
		children = appendTreeChild(children, typ, name, sum)
	}
	t.bufs[depth] = children
	h := t.alg.New()
	h.Write(children)
	var out Sum
	t.scratch = h.Sum(t.scratch[:0])
	copy(out[:], t.scratch)
	if t.emit != nil {
		if err := t.emit(out, children); err != nil {
			return Sum{}, err
		}
	}
	return out, nil
}

// appendTreeChild writes one child of a tree object: type, space, name,
// NUL and the child's raw digest.
func appendTreeChild(b []byte, typ Type, name string, sum Sum) []byte {
	b = append(b, byte(typ), ' ')
	b = append(b, name...)
	b = append(b, 0)
	return append(b, sum[:]...)
}

// Change is one entry that differs between two versions of a dataset.
type Change struct {
	Path    string `json:"path"`
	Type    string `json:"type"`
	OldSize int64  `json:"old_size"`
	NewSize int64  `json:"new_size"`
}

// Changes lists what differs, each list in tree order.
type Changes struct {
	Added    []Change `json:"added"`
	Removed  []Change `json:"removed"`
	Modified []Change `json:"modified"`
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Added)+len(c.Removed)+len(c.Modified) == 0
}

// Diff compares two entry lists, both in tree order, by merging them.
func Diff(old, cur []Entry) Changes {
	var c Changes
	mergeTreeOrder(old, cur, func(e Entry) string { return e.Path },
		func(o Entry) error {
			c.Removed = append(c.Removed, Change{Path: o.Path, Type: o.Type.String(), OldSize: o.Size})
			return nil
		},
		func(n Entry) error {
			c.Added = append(c.Added, Change{Path: n.Path, Type: n.Type.String(), NewSize: n.Size})
			return nil
		},
		func(o, n Entry) error {
			if o.Type != n.Type || o.Sum != n.Sum {
				c.Modified = append(c.Modified, Change{Path: n.Path, Type: n.Type.String(), OldSize: o.Size, NewSize: n.Size})
			}
			return nil
		})
	return c
}

// mergeTreeOrder walks two lists in tree order of key, as a merge does:
// onlyOld for a key only old has, onlyCur for one only cur has, both for
// one both have; it stops at the first error.
func mergeTreeOrder[T any](old, cur []T, key func(T) string, onlyOld, onlyCur func(T) error, both func(o, n T) error) error {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		var err error
		switch {
		case j == len(cur) || i < len(old) && treeorder.Compare(key(old[i]), key(cur[j])) < 0:
			err = onlyOld(old[i])
			i++
		case i == len(old) || treeorder.Compare(key(old[i]), key(cur[j])) > 0:
			err = onlyCur(cur[j])
			j++
		default:
			err = both(old[i], cur[j])
			i++
			j++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t Type) String() string {
	switch t {
	case File:
		return "file"
	case Symlink:
		return "symlink"
	case Dir:
		return "dir"
	}
	return "unknown"
}
