package datahash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/digest"

	"github.com/mlci/mlci/internal/treeorder"
)

// A tree object is exactly the bytes a directory's digest is computed over
// (see Root): "mlci tree 1\n", then per child its type, a space, its name,
// a NUL and its 32-byte raw digest, children in tree order. Its digest is
// therefore the directory's digest, so a dataset's root digest names its
// root tree, and every object can be checked against the name it was
// fetched by before anything in it is believed.

// ErrBadTree means a tree object is not well formed or does not hash to
// the digest it was loaded by.
var ErrBadTree = errors.New("bad tree object")

// TreeObjects computes the tree object of every directory of a dataset
// from its entries, in tree order, and passes each with its digest to emit:
// children before parents, the root (whose digest is Root's) last. obj is
// reused once emit returns, so emit copies it if it keeps it. Directories
// with the same contents have the same object, which emit then sees more
// than once. A single-file dataset (one entry with Path "") has no tree,
// and emit is not called.
func TreeObjects(alg digest.Algorithm, entries []Entry, emit func(d digest.Digest, obj []byte) error) error {
	if len(entries) == 1 && entries[0].Path == "" {
		return nil
	}
	t := treeHasher{alg: alg, emit: func(sum Sum, obj []byte) error {
		return emit(digest.New(alg, sum[:]), obj)
	}}
	_, err := t.sum(entries, 0, 0)
	return err
}

// TreeChild is one child of a directory as a tree object records it.
type TreeChild struct {
	Name string
	Type Type
	Sum  Sum
}

// EncodeTree renders a tree object; children must be in tree order, as
// ParseTree returns them.
func EncodeTree(children []TreeChild) []byte {
	n := len(treeHeader)
	for _, c := range children {
		n += len(c.Name) + 3 + len(c.Sum)
	}
	b := make([]byte, 0, n)
	b = append(b, treeHeader...)
	for _, c := range children {
		b = appendTreeChild(b, c.Type, c.Name, c.Sum)
	}
	return b
}

// ParseTree decodes a tree object strictly: a tree object comes from a
// store that anyone may write to, so anything a walk of a real directory
// could not have produced is refused rather than interpreted.
func ParseTree(obj []byte) ([]TreeChild, error) {
	if !bytes.HasPrefix(obj, []byte(treeHeader)) {
		return nil, fmt.Errorf("%w: no %q header", ErrBadTree, strings.TrimSpace(treeHeader))
	}
	rest := obj[len(treeHeader):]
	var children []TreeChild
	for len(rest) > 0 {
		var c TreeChild
		switch c.Type = Type(rest[0]); c.Type {
		case File, Symlink, Dir:
		default:
			return nil, fmt.Errorf("%w: unknown child type %q", ErrBadTree, rest[0])
		}
		if len(rest) < 2 || rest[1] != ' ' {
			return nil, fmt.Errorf("%w: no space after the child type", ErrBadTree)
		}
		rest = rest[2:]
		nul := bytes.IndexByte(rest, 0)
		if nul < 0 {
			return nil, fmt.Errorf("%w: child name has no NUL after it", ErrBadTree)
		}
		c.Name = string(rest[:nul])
		if c.Name == "" || c.Name == "." || c.Name == ".." || strings.IndexByte(c.Name, '/') >= 0 {
			return nil, fmt.Errorf("%w: child name %q is not a file name", ErrBadTree, c.Name)
		}
		if n := len(children); n > 0 && treeorder.Compare(children[n-1].Name, c.Name) >= 0 {
			return nil, fmt.Errorf("%w: child %q is out of order or repeated", ErrBadTree, c.Name)
		}
		rest = rest[nul+1:]
		if len(rest) < len(c.Sum) {
			return nil, fmt.Errorf("%w: child %q: digest cut short", ErrBadTree, c.Name)
		}
		copy(c.Sum[:], rest)
		rest = rest[len(c.Sum):]
		children = append(children, c)
	}
	return children, nil
}

// LoadFunc returns the tree object stored under d. Callers verify what it
// returns, so it may read from anywhere.
type LoadFunc func(ctx context.Context, d digest.Digest) ([]byte, error)

// treeReader loads, verifies and parses tree objects.
type treeReader struct {
	alg  digest.Algorithm
	load LoadFunc
}

func (r treeReader) tree(ctx context.Context, d digest.Digest) ([]TreeChild, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.Algorithm() != r.alg {
		return nil, fmt.Errorf("tree %s: %w: not a %s digest", d, ErrBadTree, r.alg)
	}
	obj, err := r.load(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", d, err)
	}
	h := r.alg.New()
	h.Write(obj)
	if got := digest.New(r.alg, h.Sum(nil)); got != d {
		return nil, fmt.Errorf("tree %s: %w: its content hashes to %s", d, ErrBadTree, got)
	}
	children, err := ParseTree(obj)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", d, err)
	}
	return children, nil
}

// expand emits the entries below the tree d, each path prefixed by prefix.
func (r treeReader) expand(ctx context.Context, d digest.Digest, prefix string, emit func(Entry) error) error {
	children, err := r.tree(ctx, d)
	if err != nil {
		return err
	}
	for _, c := range children {
		p := prefix + c.Name
		if c.Type == Dir {
			if err := r.expand(ctx, digest.New(r.alg, c.Sum[:]), p+"/", emit); err != nil {
				return err
			}
			continue
		}
		if err := emit(Entry{Path: p, Type: c.Type, Size: -1, Sum: c.Sum}); err != nil {
			return err
		}
	}
	return nil
}

// Expand lists a dataset from its root tree, loading each tree object with
// load and refusing one that does not hash to its digest. Entries come in
// tree order with Size -1: tree objects do not record sizes, so that a
// digest depends on content alone.
func Expand(ctx context.Context, alg digest.Algorithm, root digest.Digest, load LoadFunc, emit func(Entry) error) error {
	return treeReader{alg: alg, load: load}.expand(ctx, root, "", emit)
}

// DiffTrees compares two datasets by their root trees. It descends only
// into directories whose digests differ, so a few changed files among
// millions cost a few tree objects per changed path; a directory added or
// removed whole is expanded to name its files. Sizes are -1 (and the
// absent side's 0, as Diff gives): tree objects do not record them.
func DiffTrees(ctx context.Context, alg digest.Algorithm, oldRoot, newRoot digest.Digest, load LoadFunc) (Changes, error) {
	var c Changes
	if oldRoot == newRoot {
		return c, nil
	}
	r := treeReader{alg: alg, load: load}
	err := r.diff(ctx, &c, oldRoot, newRoot, "")
	return c, err
}

func (r treeReader) diff(ctx context.Context, c *Changes, oldTree, newTree digest.Digest, prefix string) error {
	old, err := r.tree(ctx, oldTree)
	if err != nil {
		return err
	}
	cur, err := r.tree(ctx, newTree)
	if err != nil {
		return err
	}
	// whole records a child that one side lacks: a file, or every file
	// of a directory.
	whole := func(ch TreeChild, record func(path string, t Type)) error {
		p := prefix + ch.Name
		if ch.Type != Dir {
			record(p, ch.Type)
			return nil
		}
		return r.expand(ctx, digest.New(r.alg, ch.Sum[:]), p+"/", func(e Entry) error {
			record(e.Path, e.Type)
			return nil
		})
	}
	removed := func(ch TreeChild) error {
		return whole(ch, func(p string, t Type) {
			c.Removed = append(c.Removed, Change{Path: p, Type: t.String(), OldSize: -1})
		})
	}
	added := func(ch TreeChild) error {
		return whole(ch, func(p string, t Type) {
			c.Added = append(c.Added, Change{Path: p, Type: t.String(), NewSize: -1})
		})
	}
	return mergeTreeOrder(old, cur, func(ch TreeChild) string { return ch.Name }, removed, added,
		func(o, n TreeChild) error {
			switch {
			case o.Type == n.Type && o.Sum == n.Sum:
				return nil
			case o.Type == Dir && n.Type == Dir:
				return r.diff(ctx, c, digest.New(r.alg, o.Sum[:]), digest.New(r.alg, n.Sum[:]), prefix+o.Name+"/")
			case o.Type == Dir || n.Type == Dir:
				// A file became a directory or the reverse: its path
				// sorts before the paths below it either way.
				if err := removed(o); err != nil {
					return err
				}
				return added(n)
			}
			c.Modified = append(c.Modified, Change{Path: prefix + n.Name, Type: n.Type.String(), OldSize: -1, NewSize: -1})
			return nil
		})
}

// MarkTrees adds to live the digest of every tree object reachable from
// the tree root, root included, loading each with load and refusing one
// that does not hash to its digest. A tree already in live is not loaded
// again, so roots that share most of their subtrees (two locks of one
// dataset) cost only what differs. A tree that cannot be loaded or parsed
// stays in live, and is passed to unreadable with the reason: the walk
// goes on without its children when unreadable returns nil, and stops
// with its error otherwise.
func MarkTrees(ctx context.Context, alg digest.Algorithm, root digest.Digest, load LoadFunc, live map[digest.Digest]bool, unreadable func(d digest.Digest, err error) error) error {
	return treeReader{alg: alg, load: load}.mark(ctx, root, live, unreadable)
}

func (r treeReader) mark(ctx context.Context, d digest.Digest, live map[digest.Digest]bool, unreadable func(digest.Digest, error) error) error {
	if live[d] {
		return nil
	}
	live[d] = true
	children, err := r.tree(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return unreadable(d, err)
	}
	for _, c := range children {
		if c.Type != Dir {
			continue
		}
		if err := r.mark(ctx, digest.New(r.alg, c.Sum[:]), live, unreadable); err != nil {
			return err
		}
	}
	return nil
}
