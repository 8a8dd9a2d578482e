package tabular

import (
	"github.com/mlci/mlci/internal/decimal"

	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// maxJSONLine bounds one JSON Lines record, so a file without newlines
// cannot make the reader hold all of it.
const maxJSONLine = 16 << 20

// jsonlReader reads one JSON object per line. The first object's keys, in
// order, are the columns; a key a later object adds is an error, since
// the columns are fixed before the first row is handed out, and a key it
// leaves out is a missing cell. Strings are Text as they are (a quoted
// "1.5" stays text: JSON has numbers for numbers), null is Missing, and an
// object or array is Text holding its compact JSON, so that a nested
// value can still be counted as a category rather than stop the run.
type jsonlReader struct {
	path    string
	f       *os.File
	br      *bufio.Reader
	columns []string
	index   map[string]int
	line    int
	long    []byte
	pending []byte // the first object, read to learn the columns
	obj     map[string]json.RawMessage
	seen    []bool
	compact bytes.Buffer
}

func openJSONLines(path string) (*jsonlReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	r := &jsonlReader{path: path, f: f, br: bufio.NewReaderSize(f, 1<<18)}
	if err := r.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *jsonlReader) readHeader() error {
	line, err := r.nextLine()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w: no JSON object", r.path, ErrEmpty)
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("%s: line %d: want a JSON object per line", r.path, r.line)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", r.path, r.line, err)
		}
		r.columns = append(r.columns, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%s: line %d: %w", r.path, r.line, err)
		}
	}
	if err := checkNames(r.path, r.columns); err != nil {
		return err
	}
	r.index = make(map[string]int, len(r.columns))
	for i, c := range r.columns {
		r.index[c] = i
	}
	r.seen = make([]bool, len(r.columns))
	r.pending = append([]byte(nil), line...)
	return nil
}

// nextLine returns the next line that is not blank, valid until the next
// call.
func (r *jsonlReader) nextLine() ([]byte, error) {
	for {
		line, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			r.long = append(r.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if len(r.long) > maxJSONLine {
					return nil, fmt.Errorf("%s: line %d is longer than %d MiB", r.path, r.line+1, maxJSONLine>>20)
				}
				line, err = r.br.ReadSlice('\n')
				r.long = append(r.long, line...)
			}
			line = r.long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: read: %w", r.path, err)
		}
		if len(line) == 0 {
			return nil, io.EOF
		}
		r.line++
		if len(bytes.TrimSpace(line)) > 0 {
			return line, nil
		}
	}
}

func (r *jsonlReader) Columns() []string { return r.columns }

func (r *jsonlReader) Close() error { return r.f.Close() }

func (r *jsonlReader) Next(b *Batch) error {
	b.reset(len(r.columns))
	for b.Len < BatchRows {
		line := r.pending
		r.pending = nil
		if line == nil {
			var err error
			if line, err = r.nextLine(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
		}
		if err := r.addRow(b, line); err != nil {
			return err
		}
		b.Len++
	}
	if b.Len == 0 {
		return io.EOF
	}
	return nil
}

func (r *jsonlReader) addRow(b *Batch, line []byte) error {
	clear(r.obj)
	if r.obj == nil {
		r.obj = make(map[string]json.RawMessage, len(r.columns))
	}
	if err := json.Unmarshal(line, &r.obj); err != nil {
		return fmt.Errorf("%s: line %d: want a JSON object: %w", r.path, r.line, err)
	}
	clear(r.seen)
	for key := range r.obj {
		if _, ok := r.index[key]; !ok {
			return fmt.Errorf("%s: line %d: key %q is not in the first object; every key must be in the first line", r.path, r.line, key)
		}
	}
	for i, name := range r.columns {
		raw, ok := r.obj[name]
		if !ok || len(raw) == 0 {
			b.Columns[i].add(Missing, 0, nil)
			continue
		}
		k, v, text, err := r.cell(b, raw)
		if err != nil {
			return fmt.Errorf("%s: line %d: key %q: %w", r.path, r.line, name, err)
		}
		b.Columns[i].add(k, v, text)
	}
	return nil
}

func (r *jsonlReader) cell(b *Batch, raw json.RawMessage) (Kind, float64, []byte, error) {
	switch raw[0] {
	case 'n':
		return Missing, 0, nil, nil
	case 't':
		return Bool, 1, nil, nil
	case 'f':
		return Bool, 0, nil, nil
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return Text, 0, b.text(raw[1 : len(raw)-1]), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, 0, nil, err
		}
		return Text, 0, b.text([]byte(s)), nil
	case '{', '[':
		r.compact.Reset()
		if err := json.Compact(&r.compact, raw); err != nil {
			return 0, 0, nil, err
		}
		return Text, 0, b.text(r.compact.Bytes()), nil
	}
	v, _, ok := decimal.Plain(raw)
	if !ok {
		var err error
		if v, err = strconv.ParseFloat(string(raw), 64); err != nil {
			return 0, 0, nil, fmt.Errorf("number %s: %w", raw, err)
		}
	}
	return Number, v, nil, nil
}
