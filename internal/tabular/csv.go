package tabular

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// csvReader reads delimited text with a header line as encoding/csv reads
// it with its default options (RFC 4180 quoting, "" for a quote inside a
// quoted field, \r\n taken as \n, empty lines skipped), but streaming and
// without a string per field: a line without a quote, nearly every line
// of a machine-written file, is split in place in the bufio buffer.
type csvReader struct {
	path    string
	f       *os.File
	br      *bufio.Reader
	comma   byte
	columns []string
	line    int   // lines read so far
	off     int64 // bytes read so far, from the file's start
	recOff  int64 // offset of the current record's first byte
	started bool  // Next has been called
	// A part reads the records that start before limit and refuses, with
	// ErrSplit, a quoted field over several lines: its cut might have
	// fallen inside one.
	part   bool
	limit  int64
	long   []byte   // a line longer than the bufio buffer
	rec    [][]byte // the current record's fields
	recBuf []byte   // unquoted field text of a record that had quotes
	ends   []int    // field ends in recBuf
}

// csvBufferSize is the bufio buffer: lines up to this long are split
// without a copy.
const csvBufferSize = 1 << 18

// maxRecord bounds one line or quoted record, so a file without line
// breaks, or with a quote never closed, cannot make the reader hold all
// of it.
const maxRecord = 64 << 20

// utf8BOM is what spreadsheet programs put before the header.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func openCSV(path string, comma byte) (*csvReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	r := newCSVReader(path, f, comma)
	r.f = f
	if err := r.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func newCSVReader(path string, rd io.Reader, comma byte) *csvReader {
	return &csvReader{path: path, br: bufio.NewReaderSize(rd, csvBufferSize), comma: comma}
}

func (r *csvReader) readHeader() error {
	if b, err := r.br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		r.br.Discard(len(utf8BOM))
		r.off += int64(len(utf8BOM))
	}
	rec, _, err := r.readRecord()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w: no header line", r.path, ErrEmpty)
	}
	if err != nil {
		return err
	}
	r.columns = make([]string, len(rec))
	for i, b := range rec {
		r.columns[i] = string(b)
	}
	return checkNames(r.path, r.columns)
}

func (r *csvReader) Columns() []string { return r.columns }

func (r *csvReader) Close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

func (r *csvReader) Next(b *Batch) error {
	b.reset(len(r.columns))
	if _, err := r.visit(batchFiller{b}, BatchRows); err != nil {
		return err
	}
	if b.Len == 0 {
		return io.EOF
	}
	return nil
}

// visit hands v up to limit records (all, when limit < 0) and returns how
// many; the end of the input is not an error.
func (r *csvReader) visit(v Visitor, limit int) (int, error) {
	r.started = true
	n := 0
	for ; n != limit; n++ {
		rec, start, err := r.readRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		if len(rec) != len(r.columns) {
			return n, fmt.Errorf("%s: line %d has %d fields, the header has %d", r.path, start, len(rec), len(r.columns))
		}
		v.Row(r.recOff)
		for i, field := range rec {
			k, num := classify(field)
			v.Cell(i, k, num, field)
		}
	}
	return n, nil
}

// batchFiller is a Visitor that appends the rows to a batch.
type batchFiller struct{ b *Batch }

func (f batchFiller) Row(key int64) {
	f.b.Keys = append(f.b.Keys, key)
	f.b.Len++
}

func (f batchFiller) Cell(col int, kind Kind, num float64, text []byte) {
	if kind == Text {
		text = f.b.text(text) // the reader's buffer is reused
	} else {
		text = nil
	}
	f.b.Columns[col].add(kind, num, text)
}

// readLine returns the next line with its \n (none at the end of the
// input), \r\n normalized to \n and a \r before the end of the input
// dropped, as encoding/csv does. The line is valid until the next call.
func (r *csvReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(r.long) > maxRecord {
				return nil, fmt.Errorf("%s: line %d is longer than %d MiB", r.path, r.line+1, maxRecord>>20)
			}
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	r.off += int64(len(line))
	if len(line) > 0 && errors.Is(err, io.EOF) {
		err = nil
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: read: %w", r.path, err)
	}
	if len(line) > 0 {
		r.line++
	}
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// readRecord returns the next record's fields, valid until the next call,
// and the line it starts on.
func (r *csvReader) readRecord() ([][]byte, int, error) {
	var line []byte
	var err error
	for {
		off := r.off
		line, err = r.readLine()
		if err != nil {
			return nil, 0, err
		}
		if len(line) == lengthNL(line) {
			if len(line) == 0 {
				return nil, 0, io.EOF
			}
			continue
		}
		if r.part && off >= r.limit {
			return nil, 0, io.EOF
		}
		r.recOff = off
		break
	}
	start := r.line
	if bytes.IndexByte(line, '"') < 0 {
		line = line[:len(line)-lengthNL(line)]
		r.rec = r.rec[:0]
		for {
			i := bytes.IndexByte(line, r.comma)
			if i < 0 {
				r.rec = append(r.rec, line)
				return r.rec, start, nil
			}
			r.rec = append(r.rec, line[:i])
			line = line[i+1:]
		}
	}
	rec, err := r.readQuoted(line, start)
	return rec, start, err
}

// readQuoted parses a record holding a quote, following encoding/csv's
// readRecord with LazyQuotes off; a quoted field may run over lines.
func (r *csvReader) readQuoted(line []byte, start int) ([][]byte, error) {
	r.recBuf, r.ends = r.recBuf[:0], r.ends[:0]
	quoteErr := func(what string) error {
		return fmt.Errorf("%s: line %d: %s (a field holding a quote must be quoted whole, its quotes doubled)", r.path, r.line, what)
	}
	var readErr error
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, r.comma)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if bytes.IndexByte(field, '"') >= 0 {
				return nil, quoteErr(`bare " in a field that is not quoted`)
			}
			r.recBuf = append(r.recBuf, field...)
			r.ends = append(r.ends, len(r.recBuf))
			if i >= 0 {
				line = line[i+1:]
				continue parseField
			}
			break parseField
		}
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				r.recBuf = append(r.recBuf, line[:i]...)
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"':
					r.recBuf = append(r.recBuf, '"')
					line = line[1:]
				case len(line) > 0 && line[0] == r.comma:
					line = line[1:]
					r.ends = append(r.ends, len(r.recBuf))
					continue parseField
				case lengthNL(line) == len(line):
					r.ends = append(r.ends, len(r.recBuf))
					break parseField
				default:
					return nil, quoteErr(`extraneous " in a quoted field`)
				}
			case len(line) > 0 && r.part:
				return nil, ErrSplit
			case len(line) > 0:
				// The field goes on over the next line; the line read so
				// far lives in the bufio buffer, so keep it first.
				r.recBuf = append(r.recBuf, line...)
				if len(r.recBuf) > maxRecord {
					return nil, fmt.Errorf("%s: the record from line %d is longer than %d MiB", r.path, start, maxRecord>>20)
				}
				if readErr != nil {
					break parseField
				}
				line, readErr = r.readLine()
				if readErr != nil && !errors.Is(readErr, io.EOF) {
					return nil, readErr
				}
				if errors.Is(readErr, io.EOF) {
					readErr = nil
				}
			default:
				return nil, fmt.Errorf("%s: line %d: the quoted field opened on line %d is never closed", r.path, r.line, start)
			}
		}
	}
	r.rec = r.rec[:0]
	prev := 0
	for _, e := range r.ends {
		r.rec = append(r.rec, r.recBuf[prev:e:e])
		prev = e
	}
	return r.rec, nil
}

// partBufferSize is a part's read buffer; a longer line still parses.
const partBufferSize = 1 << 16

// Parts cuts the rows of a file not yet read into parts of about
// partSize bytes. Part i reads the records that start in its byte range,
// the first one after the first line break at or after the range's start
// (part 0 from the first row), the last one past the range's end if it
// runs on: so the parts together read every record once, as long as no
// record holds a line break inside quotes. A part that meets one fails
// with ErrSplit; by then the cut may have been wrong, and the caller
// reads the file with Next instead.
func (r *csvReader) Parts(partSize int64) ([]Part, error) {
	if r.f == nil || r.started || partSize <= 0 {
		return nil, nil
	}
	st, err := r.f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, nil
	}
	var parts []Part
	for start := r.off; start < st.Size(); start += partSize {
		parts = append(parts, &csvPart{r: r, size: st.Size(), start: start, end: min(start+partSize, st.Size()), first: start == r.off})
	}
	return parts, nil
}

// csvPart is one part of a CSV file; it opens its reader on first use so
// that parts not yet read hold no buffer.
type csvPart struct {
	r                *csvReader
	size, start, end int64
	first            bool
	cr               *csvReader
	done             bool
}

func (p *csvPart) Next(b *Batch) error {
	if p.done {
		b.reset(len(p.r.columns))
		return io.EOF
	}
	if err := p.open(); err != nil {
		return err
	}
	err := p.cr.Next(b)
	switch {
	case errors.Is(err, io.EOF):
		p.done, p.cr = true, nil
		return io.EOF
	case err != nil:
		// The sequential reader says exactly what is wrong and where.
		return fmt.Errorf("%w: %w", ErrSplit, err)
	}
	return nil
}

func (p *csvPart) Visit(v Visitor) error {
	if p.done {
		return nil
	}
	if err := p.open(); err != nil {
		return err
	}
	defer func() { p.done, p.cr = true, nil }()
	if _, err := p.cr.visit(v, -1); err != nil {
		// The sequential reader says exactly what is wrong and where.
		return fmt.Errorf("%w: %w", ErrSplit, err)
	}
	return nil
}

// open starts the part's reader on first use.
func (p *csvPart) open() error {
	if p.cr == nil {
		// A part other than the first starts after the first line break
		// at or after the byte before its range.
		base := p.start
		if !p.first {
			base--
		}
		cr := &csvReader{path: p.r.path, comma: p.r.comma, columns: p.r.columns, part: true, limit: p.end, off: base}
		cr.br = bufio.NewReaderSize(io.NewSectionReader(p.r.f, base, p.size-base), partBufferSize)
		if !p.first {
			if _, err := cr.readLine(); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: %w", ErrSplit, err)
			}
		}
		p.cr = cr
	}
	return nil
}
