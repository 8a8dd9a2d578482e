package tabular

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// parquetReader reads a flat Parquet file row group by row group and,
// within one, every column's pages side by side, so only the current page
// of each column is in memory. Nested or repeated columns are refused:
// drift compares one value per row and column.
type parquetReader struct {
	path    string
	f       *os.File
	pf      *parquet.File
	columns []string
	scale   []float64 // divisor of a DECIMAL stored as an integer, else 1
	rg      int       // next row group
	left    int64     // rows left in the current row group
	cols    []pqColumn
	vals    []parquet.Value
}

type pqColumn struct {
	pages  parquet.Pages
	values parquet.ValueReader
}

func openParquet(path string) (*parquetReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	r, err := newParquetReader(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.f = f
	return r, nil
}

func newParquetReader(path string, f *os.File) (*parquetReader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty", path, ErrEmpty)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(1<<16))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", path, err)
	}
	r := &parquetReader{path: path, pf: pf}
	for _, field := range pf.Schema().Fields() {
		name := field.Name()
		if !field.Leaf() {
			return nil, fmt.Errorf("%s: column %q is nested; drift reads flat tables, one value per row and column", path, name)
		}
		if field.Repeated() {
			return nil, fmt.Errorf("%s: column %q is repeated (a list); drift reads flat tables, one value per row and column", path, name)
		}
		scale := 1.0
		if lt := field.Type().LogicalType(); lt != nil {
			dec, ok := lt.Value.(*format.DecimalType)
			switch k := field.Type().Kind(); {
			case !ok:
			case k == parquet.Int32 || k == parquet.Int64:
				scale = math.Pow10(int(dec.Scale))
			default:
				return nil, fmt.Errorf("%s: column %q is a DECIMAL stored as bytes, which drift does not read; store it as a double", path, name)
			}
		}
		r.columns = append(r.columns, name)
		r.scale = append(r.scale, scale)
	}
	if err := checkNames(path, r.columns); err != nil {
		return nil, err
	}
	r.cols = make([]pqColumn, len(r.columns))
	return r, nil
}

func (r *parquetReader) Columns() []string { return r.columns }

func (r *parquetReader) Close() error {
	r.closePages()
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

func (r *parquetReader) closePages() {
	for i := range r.cols {
		c := &r.cols[i]
		if c.pages != nil {
			c.pages.Close()
		}
		*c = pqColumn{}
	}
}

func (r *parquetReader) Next(b *Batch) error {
	b.reset(len(r.columns))
	for r.left == 0 {
		groups := r.pf.RowGroups()
		if r.rg >= len(groups) {
			r.closePages()
			return io.EOF
		}
		r.closePages()
		g := groups[r.rg]
		r.rg++
		r.left = g.NumRows()
		for i, chunk := range g.ColumnChunks() {
			r.cols[i].pages = chunk.Pages()
		}
	}
	n := int(min(r.left, BatchRows))
	if cap(r.vals) < n {
		r.vals = make([]parquet.Value, n)
	}
	for i := range r.cols {
		vals := r.vals[:n]
		if err := r.readValues(i, vals); err != nil {
			return err
		}
		col := &b.Columns[i]
		for _, v := range vals {
			k, x, text := r.convert(b, v, r.scale[i])
			col.add(k, x, text)
		}
	}
	r.left -= int64(n)
	b.Len = n
	return nil
}

// readValues fills vals with column i's next values, across pages.
func (r *parquetReader) readValues(i int, vals []parquet.Value) error {
	c := &r.cols[i]
	for len(vals) > 0 {
		if c.values == nil {
			// The page is not handed back to parquet-go's pool
			// (parquet.Release): values read from it, byte arrays
			// included, are converted only once the batch is full.
			p, err := c.pages.ReadPage()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("%s: column %q ends before its row group does", r.path, r.columns[i])
				}
				return fmt.Errorf("%s: column %q: %w", r.path, r.columns[i], err)
			}
			c.values = p.Values()
		}
		n, err := c.values.ReadValues(vals)
		vals = vals[n:]
		if errors.Is(err, io.EOF) {
			c.values = nil
		} else if err != nil {
			return fmt.Errorf("%s: column %q: %w", r.path, r.columns[i], err)
		}
	}
	return nil
}

func (r *parquetReader) convert(b *Batch, v parquet.Value, scale float64) (Kind, float64, []byte) {
	if v.IsNull() {
		return Missing, 0, nil
	}
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			return Bool, 1, nil
		}
		return Bool, 0, nil
	case parquet.Int32:
		return Number, float64(v.Int32()) / scale, nil
	case parquet.Int64:
		return Number, float64(v.Int64()) / scale, nil
	case parquet.Float:
		return Number, float64(v.Float()), nil
	case parquet.Double:
		return Number, v.Double(), nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return Text, 0, b.text(v.ByteArray())
	}
	// INT96, a legacy timestamp, has no portable meaning as a number.
	return Text, 0, b.text([]byte(v.String()))
}
