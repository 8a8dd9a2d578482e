package tabular

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// OpenAll opens paths, tables with the same columns, as one table read
// one file after another: a dataset split into parts profiles as a whole.
func OpenAll(paths []string, format Format) (Reader, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrEmpty)
	}
	r := &concatReader{paths: paths, format: format}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// concatReader reads several tables with the same columns as one.
type concatReader struct {
	paths  []string
	format Format
	i      int
	cur    Reader
	cols   []string
	// split holds the readers Parts opened for the other files.
	split   []Reader
	started bool
}

// fileKeyShift puts each file's row keys in a range of its own, so rows
// at the same offset of two files are sampled independently.
const fileKeyShift = 44

func (c *concatReader) open() error {
	r, err := Open(c.paths[c.i], c.format)
	if err != nil {
		return err
	}
	if c.cols == nil {
		c.cols = r.Columns()
	} else if !slices.Equal(c.cols, r.Columns()) {
		r.Close()
		return fmt.Errorf("%s has the columns %v, but %s has %v; only files of one table go together", c.paths[c.i], r.Columns(), c.paths[0], c.cols)
	}
	c.cur = r
	return nil
}

func (c *concatReader) Columns() []string { return c.cols }

func (c *concatReader) Next(b *Batch) error {
	c.started = true
	for {
		err := c.cur.Next(b)
		shiftKeys(b.Keys, c.i)
		if !errors.Is(err, io.EOF) || c.i == len(c.paths)-1 {
			return err
		}
		if err := c.cur.Close(); err != nil {
			return err
		}
		c.cur = nil
		c.i++
		if err := c.open(); err != nil {
			return err
		}
	}
}

func (c *concatReader) Close() error {
	var errs []error
	for _, r := range c.split {
		errs = append(errs, r.Close())
	}
	c.split = nil
	if c.cur != nil {
		errs = append(errs, c.cur.Close())
	}
	return errors.Join(errs...)
}

func shiftKeys(keys []int64, file int) {
	for i := range keys {
		keys[i] += int64(file) << fileKeyShift
	}
}

// Parts is every file's parts in order, when each file can be split.
func (c *concatReader) Parts(partSize int64) ([]Part, error) {
	if c.started || c.i != 0 {
		return nil, nil
	}
	var parts []Part
	for i, path := range c.paths {
		r := c.cur
		if i > 0 {
			var err error
			if r, err = Open(path, c.format); err != nil {
				return nil, err
			}
			c.split = append(c.split, r)
			if !slices.Equal(c.cols, r.Columns()) {
				return nil, fmt.Errorf("%s has the columns %v, but %s has %v; only files of one table go together", path, r.Columns(), c.paths[0], c.cols)
			}
		}
		s, ok := r.(Splitter)
		if !ok {
			return nil, nil
		}
		ps, err := s.Parts(partSize)
		if err != nil || ps == nil {
			return nil, err
		}
		for _, p := range ps {
			sp := shiftedPart{p, i}
			if _, ok := p.(Visitable); ok {
				parts = append(parts, shiftedVisitable{sp})
			} else {
				parts = append(parts, sp)
			}
		}
	}
	return parts, nil
}

type shiftedPart struct {
	Part
	file int
}

func (p shiftedPart) Next(b *Batch) error {
	err := p.Part.Next(b)
	shiftKeys(b.Keys, p.file)
	return err
}

// shiftedVisitable is a shiftedPart whose part can be visited.
type shiftedVisitable struct{ shiftedPart }

func (p shiftedVisitable) Visit(v Visitor) error {
	return p.Part.(Visitable).Visit(shiftedVisitor{v, int64(p.file) << fileKeyShift})
}

type shiftedVisitor struct {
	Visitor
	by int64
}

func (v shiftedVisitor) Row(key int64) { v.Visitor.Row(key + v.by) }
