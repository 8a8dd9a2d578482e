// Package bootstrap computes paired bootstrap confidence intervals of a metric
// change, so mlci's noise-aware gate fails only on changes beyond resampling noise.
package bootstrap

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultIDField is the id column used when the caller passes "".
const DefaultIDField = "id"

// Scores are one model's per-example scores, in file order. Lines[i] is the
// 1-based line where example i starts, so later stages can point at it.
type Scores struct {
	Path   string
	IDs    []string
	Values []float64
	Lines  []int
}

// Error is a problem with a scores file, formatted the way editors and CI
// log parsers recognise (FILE:LINE: MSG). Line is 0 when no line applies.
type Error struct {
	Path string
	Line int
	Msg  string // "what is wrong; what to do"
}

func (e *Error) Error() string {
	// Paths and quoted user data could carry newlines; a CI annotation must
	// stay on one line, so they are flattened here, the one place all
	// messages pass through.
	p := oneLine(e.Path)
	if e.Line > 0 {
		return p + ":" + strconv.Itoa(e.Line) + ": " + oneLine(e.Msg)
	}
	return p + ": " + oneLine(e.Msg)
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

func errAt(path string, line int, format string, args ...any) error {
	return &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// ReadScores parses a scores file already read into data. The format follows
// path's extension: .csv, .tsv (header row) or .jsonl, .ndjson (one object
// per line). idField defaults to DefaultIDField; scoreField is required.
// Scores must be finite numbers or booleans (true=1, false=0, and in CSV
// any case of "true"/"false"), because per-example accuracy is often a
// bool. Ids must be non-empty and unique. CSV cells and header names are
// trimmed of surrounding spaces, as spreadsheets often add them; JSONL ids
// may be strings or numbers, a number kept as written (7 and 7.0 differ).
// Blank lines are skipped and a leading UTF-8 BOM is ignored. Errors are
// *Error values.
func ReadScores(path string, data []byte, idField, scoreField string) (*Scores, error) {
	if idField == "" {
		idField = DefaultIDField
	}
	if scoreField == "" {
		return nil, errAt(path, 0, "no score column given; name the column that holds the per-example score")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel and PowerShell write a BOM
	r := reader{s: &Scores{Path: path}, idField: idField, scoreField: scoreField, kind: "column", seen: map[string]int{}}
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		err = r.csv(data, ',')
	case ".tsv":
		err = r.csv(data, '\t')
	case ".jsonl", ".ndjson":
		r.kind = "field"
		err = r.jsonl(data)
	default:
		return nil, errAt(path, 0, "unsupported scores file extension %q; use .csv, .tsv, .jsonl or .ndjson", ext)
	}
	if err != nil {
		return nil, err
	}
	return r.s, nil
}

// reader accumulates one file's rows and checks ids as they arrive.
type reader struct {
	s                   *Scores
	idField, scoreField string
	kind                string         // "column" or "field", for messages
	seen                map[string]int // id -> line, to name both lines of a duplicate
}

func (r *reader) add(line int, id string, v float64) error {
	if id == "" {
		return errAt(r.s.Path, line, "empty id in %s %s; give every example an id", r.kind, quote(r.idField))
	}
	if prev, ok := r.seen[id]; ok {
		return errAt(r.s.Path, line, "duplicate id %s (also on line %d); ids must be unique, remove or rename one", quote(id), prev)
	}
	r.seen[id] = line
	r.s.IDs = append(r.s.IDs, id)
	r.s.Values = append(r.s.Values, v)
	r.s.Lines = append(r.s.Lines, line)
	return nil
}

func isBlank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }

func (r *reader) csv(data []byte, comma rune) error {
	path := r.s.Path
	if isBlank(data) {
		return errAt(path, 1, "file is empty; write a header row naming the columns, then one row per example")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // checked here, to say which row and how to fix it
	cr.ReuseRecord = true
	cr.LazyQuotes = comma == '\t' // TSV writers rarely quote, so a stray " is data
	sep := "commas"
	if comma == '\t' {
		sep = "tabs"
	}
	header, err := cr.Read()
	if err != nil {
		return csvErr(path, err, sep)
	}
	header = slices.Clone(header) // ReuseRecord would overwrite it
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
	}
	idCol, err := column(path, header, r.idField, "the id column")
	if err != nil {
		return err
	}
	scoreCol, err := column(path, header, r.scoreField, "the score column")
	if err != nil {
		return err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvErr(path, err, sep)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return errAt(path, line, "row has %d fields, header has %d; quote fields that contain %s so every row has one field per column", len(rec), len(header), sep)
		}
		id := strings.TrimSpace(rec[idCol])
		v, err := r.parseText(line, id, strings.TrimSpace(rec[scoreCol]))
		if err != nil {
			return err
		}
		if err := r.add(line, id, v); err != nil {
			return err
		}
	}
	if len(r.s.IDs) == 0 {
		return errAt(path, 1, "header but no rows; write one row per example")
	}
	return nil
}

func csvErr(path string, err error, sep string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errAt(path, pe.Line, "malformed row: %v; quote fields that contain %s, quotes or newlines, and double quotes inside them", pe.Err, sep)
	}
	return errAt(path, 0, "cannot read: %v", err)
}

// column finds name in header, listing what exists when it is missing
// because the usual cause is a typo or a different naming convention.
func column(path string, header []string, name, what string) (int, error) {
	i := slices.Index(header, name)
	if i < 0 {
		return 0, errAt(path, 1, "no column %s (columns: %s); pass the name of %s", quote(name), quoteList(header, 20), what)
	}
	if j := slices.Index(header[i+1:], name); j >= 0 {
		return 0, errAt(path, 1, "column %s appears twice in the header (columns %d and %d); rename one", quote(name), i+1, i+j+2)
	}
	return i, nil
}

// parseText parses a CSV score: a number, or true/false for accuracy-style
// columns. NaN and ±Inf are refused because one of them would poison every
// resampled mean; they usually mean the metric failed on that example.
func (r *reader) parseText(line int, id, s string) (float64, error) {
	if s == "" {
		return 0, errAt(r.s.Path, line, "empty score in %s %s for id %s; score every example", r.kind, quote(r.scoreField), quote(id))
	}
	switch {
	case strings.EqualFold(s, "true"):
		return 1, nil
	case strings.EqualFold(s, "false"):
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, errAt(r.s.Path, line, "score %s for id %s is not a number; write a number or true/false", quote(s), quote(id))
	}
	return r.finite(line, id, s, v)
}

func (r *reader) finite(line int, id, s string, v float64) (float64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errAt(r.s.Path, line, "score %s for id %s is not a finite number; fix the metric for this example (NaN and Inf cannot be averaged)", quote(s), quote(id))
	}
	return v, nil
}

// quote quotes user data for a message, shortened so one bad cell cannot
// turn an error into a page of text.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		r := []rune(s)
		if len(r) > max {
			s = string(r[:max]) + "…"
		}
	}
	return strconv.Quote(s)
}

func quoteList(names []string, max int) string {
	if len(names) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, n := range names {
		if i == max {
			fmt.Fprintf(&b, ", … %d more", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
	return b.String()
}
