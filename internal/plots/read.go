package plots

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// column is one field a plot needs from a file. Only the requested fields
// are kept, as float64 or string, so a file of a million rows costs a few
// slices rather than a million maps.
type column struct {
	// field is the name asked for; "" is resolved to the file's last field,
	// DVC's default y for a bare path.
	field string
	text  bool
	nums  []float64
	strs  []string
}

// reserve sizes an empty column for n values.
func (c *column) reserve(n int) {
	switch {
	case c.text && c.strs == nil:
		c.strs = make([]string, 0, n)
	case !c.text && c.nums == nil:
		c.nums = make([]float64, 0, n)
	}
}

func (c *column) len() int {
	if c.text {
		return len(c.strs)
	}
	return len(c.nums)
}

// sink collects values row by row and checks that every row has every
// requested field.
type sink struct {
	file    string
	cols    []*column
	fields  []string // of the first row, for messages
	byField map[string][]*column
	row     int // 1-based data row being read
	got     map[string]bool
}

func newSink(file string, cols []*column) *sink {
	return &sink{file: file, cols: cols, got: map[string]bool{}}
}

// header resolves the columns against the first row's fields.
func (s *sink) header(fields []string) error {
	s.fields = fields
	s.byField = map[string][]*column{}
	present := map[string]bool{}
	for _, f := range fields {
		present[f] = true
	}
	for _, c := range s.cols {
		if c.field == "" {
			if len(fields) == 0 {
				return fmt.Errorf("%s: rows have no fields", s.file)
			}
			c.field = fields[len(fields)-1]
		}
		if !present[c.field] {
			return fmt.Errorf("%s: no field %q (fields: %s)", s.file, c.field, strings.Join(fields, ", "))
		}
		s.byField[c.field] = append(s.byField[c.field], c)
	}
	return nil
}

func (s *sink) startRow() {
	s.row++
	clear(s.got)
}

// value stores one field of the current row; quoted says the text was a
// string in the file (a JSON string), which matters only for messages.
func (s *sink) value(field, v string) error {
	cols := s.byField[field]
	if len(cols) == 0 {
		return nil
	}
	s.got[field] = true
	for _, c := range cols {
		if c.text {
			c.strs = append(c.strs, v)
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("%s: row %d, field %q: %q is not a number", s.file, s.row, field, v)
		}
		c.nums = append(c.nums, f)
	}
	return nil
}

func (s *sink) endRow() error {
	for f := range s.byField {
		if !s.got[f] {
			return fmt.Errorf("%s: row %d has no field %q", s.file, s.row, f)
		}
	}
	return nil
}

// errNoRows says a hierarchical file holds no list of rows.
var errNoRows = errors.New("no list of rows (want a list of objects, or an object holding one)")

// readColumns fills cols from a data file, choosing the format by the
// file's extension as DVC does.
func readColumns(file string, data []byte, cols []*column) error {
	s := newSink(file, cols)
	var err error
	switch strings.ToLower(path.Ext(file)) {
	case ".json":
		err = readJSON(s, data)
	case ".yaml", ".yml":
		err = readYAML(s, data)
	case ".csv":
		err = readCSV(s, data, ',')
	case ".tsv":
		err = readCSV(s, data, '\t')
	default:
		return fmt.Errorf("%s: unsupported plot data format (want .json, .yaml, .yml, .csv or .tsv)", file)
	}
	if err != nil {
		return err
	}
	if s.byField == nil {
		return fmt.Errorf("%s: no rows", file)
	}
	return nil
}

func readCSV(s *sink, data []byte, comma byte) error {
	r := newCSVReader(data, comma)
	head, err := r.read()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file", s.file)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.file, err)
	}
	fields := make([]string, len(head))
	for i, f := range head {
		fields[i] = string(f)
	}
	if err := s.header(fields); err != nil {
		return err
	}
	// The reader holds every record to the header's field count, so the
	// columns are looked up once per field position instead of by name per
	// value, each value is parsed once however many columns want it, and
	// the slices are sized from the line count up front: a 100,000-row
	// file is read without a map operation or a regrowth per value.
	byIndex := make([][]*column, len(fields))
	for i, f := range fields {
		byIndex[i] = s.byField[f]
	}
	if rows := bytes.Count(data, []byte{'\n'}); rows > 1 {
		for _, c := range s.cols {
			c.reserve(rows)
		}
	}
	for {
		rec, err := r.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		s.row++
		for i, cols := range byIndex {
			v := rec[i]
			parsed, num := false, 0.0
			for _, c := range cols {
				if c.text {
					c.strs = append(c.strs, string(v))
					continue
				}
				if !parsed {
					if num, err = parseNumber(v); err != nil {
						return fmt.Errorf("%s: row %d, field %q: %q is not a number", s.file, s.row, fields[i], v)
					}
					parsed = true
				}
				c.nums = append(c.nums, num)
			}
		}
	}
}

// readJSON streams the rows: a top-level list, or the first list value of
// a top-level object (DVC's rule for {"train": [...]}).
func readJSON(s *sink, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(err error) error { return fmt.Errorf("%s: %w", s.file, err) }
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		found := false
		for dec.More() {
			if _, err := dec.Token(); err != nil {
				return fail(err)
			}
			if peek(dec, data) == '[' {
				if _, err := dec.Token(); err != nil {
					return fail(err)
				}
				found = true
				break
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
		}
		if !found {
			return fail(errNoRows)
		}
	default:
		return fail(errNoRows)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		if tok != json.Delim('{') {
			return fmt.Errorf("%s: row %d is not an object", s.file, s.row+1)
		}
		s.startRow()
		var keys, vals []string
		first := s.byField == nil
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			key, _ := kt.(string)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(err)
			}
			v := jsonScalar(raw)
			if first {
				// The first row's fields are only known once it is read.
				keys, vals = append(keys, key), append(vals, v)
				continue
			}
			if err := s.value(key, v); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fail(err)
		}
		if first {
			if err := s.header(keys); err != nil {
				return err
			}
			for i := range keys {
				if err := s.value(keys[i], vals[i]); err != nil {
					return err
				}
			}
		}
		if err := s.endRow(); err != nil {
			return err
		}
	}
	// The closing bracket: without it the file was cut short.
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	return nil
}

// peek returns the next non-space byte after the decoder's position.
func peek(dec *json.Decoder, data []byte) byte {
	for i := int(dec.InputOffset()); i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\n', '\r', ':', ',':
		default:
			return data[i]
		}
	}
	return 0
}

// jsonScalar turns a JSON value into the text a CSV cell would hold, so
// "0.5" and 0.5 read alike; objects and lists stay as JSON and fail as
// numbers.
func jsonScalar(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// readYAML reads the same shapes as readJSON. YAML has no streaming
// decoder here, so large files belong in JSON or CSV.
func readYAML(s *sink, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", s.file, err)
	}
	if len(doc.Content) == 0 {
		return fmt.Errorf("%s: %w", s.file, errNoRows)
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 1; i < len(list.Content); i += 2 {
			if list.Content[i].Kind == yaml.SequenceNode {
				found = list.Content[i]
				break
			}
		}
		list = found
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: %w", s.file, errNoRows)
	}
	for _, row := range list.Content {
		if row.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: row %d is not a map", s.file, s.row+1)
		}
		if s.byField == nil {
			var keys []string
			for i := 0; i < len(row.Content); i += 2 {
				keys = append(keys, row.Content[i].Value)
			}
			if err := s.header(keys); err != nil {
				return err
			}
		}
		s.startRow()
		for i := 0; i+1 < len(row.Content); i += 2 {
			v := row.Content[i+1]
			text := v.Value
			if v.Kind != yaml.ScalarNode {
				text = "(a " + yamlKind(v.Kind) + ")"
			}
			if err := s.value(row.Content[i].Value, text); err != nil {
				return err
			}
		}
		if err := s.endRow(); err != nil {
			return err
		}
	}
	return nil
}

func yamlKind(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "map"
	default:
		return "value"
	}
}
