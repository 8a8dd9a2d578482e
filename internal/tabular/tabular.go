// Package tabular reads tables (CSV, TSV, JSON Lines, Parquet) in one
// streaming pass, a batch of rows at a time, in memory that depends on the
// number of columns and never on the number of rows.
package tabular

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Format is a file format a Reader understands.
type Format int

const (
	// Auto picks the format from the file name's extension.
	Auto Format = iota
	CSV
	TSV
	JSONLines
	Parquet
)

var formatNames = [...]string{Auto: "auto", CSV: "csv", TSV: "tsv", JSONLines: "jsonl", Parquet: "parquet"}

func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// ParseFormat reads a format name as a user gives it on the command line
// or in a config file; "" is Auto.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "csv":
		return CSV, nil
	case "tsv", "tab":
		return TSV, nil
	case "jsonl", "ndjson", "jsonlines", "json-lines":
		return JSONLines, nil
	case "parquet", "pq":
		return Parquet, nil
	}
	return Auto, fmt.Errorf("unknown table format %q: want csv, tsv, jsonl or parquet", s)
}

// FormatOf picks the format from path's extension. A trailing .gz or
// other compression suffix is not understood: compressed input must be
// decompressed first, and saying so beats reading gibberish.
func FormatOf(path string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		return CSV, nil
	case ".tsv", ".tab":
		return TSV, nil
	case ".jsonl", ".ndjson":
		return JSONLines, nil
	case ".parquet", ".pq":
		return Parquet, nil
	default:
		return Auto, fmt.Errorf("%s: cannot tell the table format from the extension %q: name it .csv, .tsv, .jsonl, .ndjson or .parquet, or give the format", path, ext)
	}
}

// Kind says what one cell holds.
type Kind uint8

const (
	// Missing is an empty cell, a null, or one of the markers pandas reads
	// as NaN by default (NA, N/A, null, NaN, ...).
	Missing Kind = iota
	// Number is a cell that reads as a float64 (Column.Nums); its text is
	// not kept, so "1.0" and "1" are the same number.
	Number
	// Text is any other value (Column.Texts).
	Text
	// Bool is a native boolean (JSON true/false, Parquet BOOLEAN); Nums
	// holds 1 or 0. Text formats have no booleans: "true" in a CSV is Text,
	// and the caller decides what it means.
	Bool
)

func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Number:
		return "number"
	case Text:
		return "text"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Column holds one column's cells of a Batch, cell i in Kinds[i], Nums[i]
// and Texts[i]; only the field the kind names is meaningful.
type Column struct {
	Kinds []Kind
	Nums  []float64
	// Texts point into the batch's own memory: they are valid until the
	// batch is passed to Next again, so a caller may fill one batch while
	// it works on another.
	Texts [][]byte
}

// Batch is up to BatchRows rows of a table, column by column.
type Batch struct {
	Len     int
	Columns []Column
	// Keys, when the reader sets them, hold one number per row that is
	// the same every time the file is read, however it is cut into parts
	// (the byte offset of a text row): sampling keyed on them picks the
	// same rows whichever order or goroutine reads them. Readers that
	// leave Keys empty are read in one piece, and the row index serves.
	Keys  []int64
	arena []byte
}

// BatchRows is the most rows one call to Next returns: enough to amortize
// the per-call work, few enough that a batch of a wide table stays small.
const BatchRows = 4096

// reset empties b for n columns, keeping its memory.
func (b *Batch) reset(n int) {
	b.Len = 0
	b.arena = b.arena[:0]
	b.Keys = b.Keys[:0]
	if cap(b.Columns) < n {
		b.Columns = make([]Column, n)
	}
	b.Columns = b.Columns[:n]
	for i := range b.Columns {
		c := &b.Columns[i]
		c.Kinds, c.Nums, c.Texts = c.Kinds[:0], c.Nums[:0], c.Texts[:0]
	}
}

// text copies s into the batch's arena, so the cell outlives the reader's
// own buffers until the next batch.
func (b *Batch) text(s []byte) []byte {
	start := len(b.arena)
	b.arena = append(b.arena, s...)
	return b.arena[start:len(b.arena):len(b.arena)]
}

func (c *Column) add(k Kind, num float64, text []byte) {
	c.Kinds = append(c.Kinds, k)
	c.Nums = append(c.Nums, num)
	c.Texts = append(c.Texts, text)
}

// Reader streams a table. Next fills batch with the next rows and returns
// io.EOF, with batch.Len == 0, after the last.
type Reader interface {
	Columns() []string
	Next(batch *Batch) error
	Close() error
}

// Part is a piece of a table that can be read on its own, concurrently
// with the table's other parts.
type Part interface {
	// Next fills batch with the part's next rows, setting batch.Keys,
	// and returns io.EOF, with batch.Len == 0, after the last.
	Next(batch *Batch) error
}

// Splitter is a Reader whose rows, none read yet, can also be read as
// parts in parallel. Parts may fail on input that only the sequential
// Next reads right (a quoted field over several lines, for one) or
// describes exactly (the line of a ragged row); a caller then reads the
// table with Next, which is still at its first row.
type Splitter interface {
	Reader
	// Parts cuts the table into parts of about partSize bytes, in table
	// order, or returns none when it cannot be cut.
	Parts(partSize int64) ([]Part, error)
}

// Visitor takes a table's cells one at a time, row by row: the way to
// read a part when the cells are summarized at once, without the copy
// into a Batch and the second pass over it.
type Visitor interface {
	// Row starts a row; key is as in Batch.Keys.
	Row(key int64)
	// Cell is the row's cell of column col, as in Column; text is valid
	// only until Cell returns.
	Cell(col int, kind Kind, num float64, text []byte)
}

// Visitable is a Part that can hand its cells to a Visitor.
type Visitable interface {
	Part
	// Visit reads the whole part into v. It fails as Next does, and v
	// may have seen some rows of a part that fails.
	Visit(v Visitor) error
}

// ErrSplit is returned by a Part for input the sequential reader must
// read instead; it is never seen outside a caller that reads parts.
var ErrSplit = errors.New("the table cannot be read in parts")

// ErrEmpty is returned by Open for a file with no header or no columns;
// a header without rows is a valid table of zero rows.
var ErrEmpty = errors.New("empty table")

// Open opens path for reading in format, or in the format its extension
// names when format is Auto.
func Open(path string, format Format) (Reader, error) {
	if format == Auto {
		var err error
		if format, err = FormatOf(path); err != nil {
			return nil, err
		}
	}
	switch format {
	case CSV:
		return openCSV(path, ',')
	case TSV:
		return openCSV(path, '\t')
	case JSONLines:
		return openJSONLines(path)
	case Parquet:
		return openParquet(path)
	}
	return nil, fmt.Errorf("%s: unknown table format %v", path, format)
}

// checkNames refuses a header that names a column twice: every later
// step keys columns by name.
func checkNames(path string, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("%s: %w: no columns", path, ErrEmpty)
	}
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if j, ok := seen[n]; ok {
			return fmt.Errorf("%s: columns %d and %d are both named %q; column names must be unique", path, j+1, i+1, n)
		}
		seen[n] = i
	}
	return nil
}
