package datahash

import (
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/digest"
)

// treeBuilder computes a dataset's root from entries handed to it one at
// a time in tree order, holding only the directories open on the current
// path: a stack of their children so far. It writes the same bytes as
// treeHasher, so the root and tree objects do not depend on which of the
// two built them; it is what lets a walk of millions of files hash them
// without keeping their list.
type treeBuilder struct {
	alg digest.Algorithm
	// open[0] is the root; open[i] the directory named names[i-1] in
	// open[i-1].
	open    [][]byte
	names   []string
	scratch []byte
	n       int
	single  *Sum // a dataset that is one file (Path "")
	emit    func(Sum, []byte) error
}

func newTreeBuilder(alg digest.Algorithm, emit func(Sum, []byte) error) *treeBuilder {
	return &treeBuilder{alg: alg, emit: emit, open: [][]byte{[]byte(treeHeader)}}
}

// add takes the next entry in tree order.
func (b *treeBuilder) add(e *Entry) error {
	b.n++
	if e.Path == "" {
		if b.n != 1 {
			return fmt.Errorf("dataset entry with an empty path among others")
		}
		s := e.Sum
		b.single = &s
		return nil
	}
	// Keep the open directories that prefix e.Path, close the rest.
	rest := e.Path
	depth := 0
	for depth < len(b.names) {
		name, after, isDir := strings.Cut(rest, "/")
		if !isDir || name != b.names[depth] {
			break
		}
		rest = after
		depth++
	}
	if err := b.closeTo(depth); err != nil {
		return err
	}
	for {
		name, after, isDir := strings.Cut(rest, "/")
		if !isDir {
			b.open[len(b.open)-1] = appendTreeChild(b.open[len(b.open)-1], e.Type, name, e.Sum)
			return nil
		}
		b.names = append(b.names, name)
		if len(b.open) < cap(b.open) {
			// Reuse the buffer a closed directory at this depth left.
			b.open = b.open[:len(b.open)+1]
			b.open[len(b.open)-1] = append(b.open[len(b.open)-1][:0], treeHeader...)
		} else {
			b.open = append(b.open, []byte(treeHeader))
		}
		rest = after
	}
}

// closeTo closes open directories until depth remain below the root,
// adding each to its parent.
func (b *treeBuilder) closeTo(depth int) error {
	for len(b.names) > depth {
		top := len(b.open) - 1
		sum, err := b.sum(b.open[top])
		if err != nil {
			return err
		}
		name := b.names[len(b.names)-1]
		b.names = b.names[:len(b.names)-1]
		b.open = b.open[:top]
		b.open[top-1] = appendTreeChild(b.open[top-1], Dir, name, sum)
	}
	return nil
}

func (b *treeBuilder) sum(obj []byte) (Sum, error) {
	h := b.alg.New()
	h.Write(obj)
	var out Sum
	b.scratch = h.Sum(b.scratch[:0])
	copy(out[:], b.scratch)
	if b.emit != nil {
		if err := b.emit(out, obj); err != nil {
			return Sum{}, err
		}
	}
	return out, nil
}

// root closes every directory and returns the dataset's digest; a
// single-file dataset's is the file's.
func (b *treeBuilder) root() (digest.Digest, error) {
	if b.single != nil {
		return digest.New(b.alg, b.single[:]), nil
	}
	if err := b.closeTo(0); err != nil {
		return "", err
	}
	sum, err := b.sum(b.open[0])
	if err != nil {
		return "", err
	}
	return digest.New(b.alg, sum[:]), nil
}
