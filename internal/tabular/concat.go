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
}

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
	for {
		err := c.cur.Next(b)
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
	if c.cur == nil {
		return nil
	}
	return c.cur.Close()
}
