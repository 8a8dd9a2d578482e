package metrics

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
)

// csvRow is a record kept past the next Read, whose FieldPos it loses.
type csvRow struct {
	cells []string
	lines []int
}

// readCSV reads a CSV or TSV file with a header row into one value per
// cell, the rows as csv.DictReader gives them. DVC 3 reads metrics only
// from JSON, YAML, TOML and Python (any other name as YAML), so this is
// mlci's own convention. Quotes are read leniently, like Python's csv
// module.
func (b *builder) readCSV(data []byte, comma rune) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.FieldsPerRecord = -1 // ragged rows get our own message, with the line
	r.LazyQuotes = true
	header, err := r.Read()
	if err != nil {
		return b.csvError(err)
	}
	headerLine, _ := r.FieldPos(0)
	cols := make(map[string]bool, len(header))
	for _, h := range header {
		if cols[h] {
			return b.errAt(headerLine, "column %q appears twice in the header; rename one", h)
		}
		cols[h] = true
	}

	// Whether keys get a row prefix depends on whether there is a second
	// row, so the first is held back until that is known.
	var first csvRow
	rows := 0
	for ; ; rows++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b.csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return b.errAt(line, "row has %s but the header has %d; give every row one cell per column", plural(len(rec), "cell"), len(header))
		}
		row := csvRow{cells: rec, lines: make([]int, len(rec))}
		for j := range rec {
			row.lines[j], _ = r.FieldPos(j)
		}
		switch rows {
		case 0:
			first = row
			continue
		case 1:
			if err := b.csvRow(header, first, "0"); err != nil {
				return err
			}
		}
		if err := b.csvRow(header, row, strconv.Itoa(rows)); err != nil {
			return err
		}
	}
	if rows == 1 {
		return b.csvRow(header, first, "")
	}
	return nil
}

func (b *builder) csvRow(header []string, row csvRow, prefix string) error {
	for j, cell := range row.cells {
		v, err := b.csvValue(cell, row.lines[j])
		if err != nil {
			return err
		}
		if v.Kind == Null && !b.params {
			continue // an empty cell is no metric, as DVC drops a null
		}
		if err := b.add(join(prefix, header[j]), v); err != nil {
			return err
		}
	}
	return nil
}

// csvValue types a cell: DVC hands cells over as strings, but gates compare
// numbers, and an empty cell is how pandas writes a missing value.
func (b *builder) csvValue(cell string, line int) (Value, error) {
	s := strings.TrimSpace(cell)
	switch {
	case s == "":
		return Value{Kind: Null, Line: line}, nil
	case nonFiniteWord(s):
		return Value{}, b.notFinite(line, s)
	case isDecimal(s):
		f, ok, err := b.parseDecimal(s, line)
		if err != nil {
			return Value{}, err
		}
		if ok {
			return Value{Kind: Number, Num: f, Int: isIntText(s), Line: line}, nil
		}
	}
	return Value{Kind: String, Str: cell, Line: line}, nil
}

func (b *builder) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return b.errAt(pe.Line, "invalid %s: %v; fix the quoting", b.csvName(), pe.Err)
	}
	if err == io.EOF { // only blank lines, which the reader skips
		return b.empty()
	}
	return b.errAt(0, "invalid %s: %v", b.csvName(), err)
}

func (b *builder) csvName() string {
	if strings.HasSuffix(strings.ToLower(b.file.Path), ".tsv") {
		return "TSV"
	}
	return "CSV"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
