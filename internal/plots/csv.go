package plots

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
)

// csvReader reads records as encoding/csv does with ReuseRecord set and
// every other option at its default, only faster: a line without a quote
// is split by hand in place, with no copy and no string per field. From
// the first line holding a quote on, a quoted field may run over several
// lines, so the rest of the file goes to encoding/csv itself; its line
// numbers are shifted to count from the top of the file.
type csvReader struct {
	rest     []byte
	comma    byte
	quote    int // offset in rest of its first quote, -1 for none
	line     int // lines read, as encoding/csv counts them
	fields   int // fields per record, set by the first one
	fallback *csv.Reader
	rec      [][]byte
}

// newCSVReader reads data split at comma, which must be an ASCII byte
// other than a quote, CR or LF (encoding/csv refuses those anyway).
func newCSVReader(data []byte, comma byte) *csvReader {
	// One search for a quote over the whole input costs far less than one
	// per line.
	return &csvReader{rest: data, comma: comma, quote: bytes.IndexByte(data, '"')}
}

// read returns the next record, or io.EOF after the last. Its fields point
// into the data, or into fresh copies from encoding/csv, and are valid
// until the next call. A record with the wrong number of fields comes with
// a *csv.ParseError wrapping csv.ErrFieldCount, as encoding/csv returns it.
func (r *csvReader) read() ([][]byte, error) {
	if r.fallback != nil {
		return r.readFallback()
	}
	for {
		if len(r.rest) == 0 {
			return nil, io.EOF
		}
		line := r.rest
		nl := bytes.IndexByte(line, '\n')
		if nl >= 0 {
			line = line[:nl+1]
		}
		if r.quote >= 0 && r.quote < len(line) {
			r.fallback = csv.NewReader(bytes.NewReader(r.rest))
			r.fallback.Comma = rune(r.comma)
			r.fallback.ReuseRecord = true
			r.fallback.FieldsPerRecord = r.fields
			r.rest = nil
			return r.readFallback()
		}
		r.rest = r.rest[len(line):]
		if r.quote >= 0 {
			r.quote -= len(line)
		}
		r.line++
		// encoding/csv drops a CR before the final newline or the end of
		// the input, and skips a line left empty.
		if nl >= 0 {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			continue
		}
		r.rec = r.rec[:0]
		for {
			i := bytes.IndexByte(line, r.comma)
			if i < 0 {
				r.rec = append(r.rec, line)
				break
			}
			r.rec = append(r.rec, line[:i])
			line = line[i+1:]
		}
		return r.rec, r.checkCount(r.line)
	}
}

func (r *csvReader) checkCount(line int) error {
	switch {
	case r.fields == 0:
		r.fields = len(r.rec)
	case len(r.rec) != r.fields:
		return &csv.ParseError{StartLine: line, Line: line, Column: 1, Err: csv.ErrFieldCount}
	}
	return nil
}

func (r *csvReader) readFallback() ([][]byte, error) {
	rec, err := r.fallback.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		shifted := *pe
		shifted.StartLine += r.line
		shifted.Line += r.line
		err = &shifted
	}
	if rec == nil {
		return nil, err
	}
	r.rec = r.rec[:0]
	for _, f := range rec {
		r.rec = append(r.rec, []byte(f))
	}
	if r.fields == 0 {
		r.fields = len(r.rec)
	}
	return r.rec, err
}
