// Package metrics reads metrics and params files into flat dotted keys as DVC
// does, so DVC projects work unchanged, and diffs and renders two versions.
package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/regfile"
)

// MaxFileSize is the largest file Parse and ReadFile accept. Metrics files
// are small summaries; a bigger one is almost always a checkpoint or a data
// file listed by mistake, and should fail fast instead of eating the CI
// runner's memory.
const MaxFileSize = 64 << 20

// maxDepth bounds nesting because the readers recurse: a hostile file could
// otherwise exhaust the stack, and no real metrics file comes close.
const maxDepth = 1000

// Kind says which field of a Value holds it.
type Kind int

// Metrics are numbers; params may be any scalar.
const (
	Number Kind = iota
	String
	Bool
	Null
)

// String names k in the user's terms, for messages.
func (k Kind) String() string {
	switch k {
	case Number:
		return "number"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Null:
		return "null"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one leaf of a metrics or params file. Line (1-based) is kept so
// that gate failures can point at file:line.
type Value struct {
	Kind Kind
	Num  float64
	// Int says the file wrote the number as an integer (7, not 7.0 or
	// 7e0). DVC, being Python, keeps the two apart: an integer is shown
	// whole and never rounded, a float always with a point ("0.0").
	Int  bool
	Str  string
	Bool bool
	Line int
}

// String formats v for people: numbers to 5 significant digits.
func (v Value) String() string {
	switch v.Kind {
	case Number:
		return FormatNumber(v.Num, 5)
	case String:
		return v.Str
	case Bool:
		return strconv.FormatBool(v.Bool)
	}
	return "null"
}

// File is one metrics or params file, flattened: nested keys are joined with
// ".". A file that holds a single value has it under the key "", as DVC
// shows it.
type File struct {
	Path   string
	Values map[string]Value
	// Params says the file was read by ParseParams. Its values are shown
	// as written, never rounded: DVC rounds metrics, not params.
	Params bool
}

// Keys returns the flattened keys in byte order, so output is reproducible.
func (f *File) Keys() []string {
	return slices.Sorted(maps.Keys(f.Values))
}

// Error is a problem with a file's contents. Its message is one line that
// says what to change, so it can go straight into CI logs and PR comments.
type Error struct {
	File string
	Line int // 1-based; 0 when the problem is not on one line
	Msg  string
}

// Error formats e as "FILE:LINE: MSG", leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line) + ":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ReadFile reads and parses the file at path; see Parse and ReadRegular.
// When the file cannot be read, the error wraps the os error (errors.Is(err,
// fs.ErrNotExist) works) rather than being an *Error.
func ReadFile(path string) (*File, error) {
	data, err := ReadRegular(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// NotRegularError is ReadRegular's error for anything but a regular file.
type NotRegularError = regfile.NotRegularError

// ReadRegular reads the regular file at path, of at most MaxFileSize bytes
// (see regfile.Read): a FIFO would block the job forever, a device like
// /dev/zero never ends, and a huge file would be read whole only to be
// refused.
func ReadRegular(path string) ([]byte, error) {
	data, err := regfile.Read(path, MaxFileSize)
	var tl *regfile.TooLargeError
	if errors.As(err, &tl) {
		return nil, tooLarge(path, tl.Size)
	}
	return data, err
}

// Parse reads a metrics file, choosing the format from the extension of
// path: .json, .yaml or .yml, .csv, .tsv. It keeps what DVC counts as a
// metric (dvc/repo/metrics/show.py, _extract_metrics): numbers, booleans
// and strings. Lists, with everything in them, nulls and YAML timestamps
// are left out, and so is a mapping left empty by that.
//
// A file holding one value gives it under the key "". CSV and TSV files,
// which DVC 3 has no reader for, are mlci's own: they need a header row;
// one row gives keys named after the columns, several rows "ROW.col" keys,
// ROW counting from 0; a cell that is a decimal number is a Number, an
// empty cell is no value, anything else a String.
//
// Errors about the contents are *Error values naming path and the line.
func Parse(path string, data []byte) (*File, error) {
	return parse(path, data, false)
}

// ParseParams reads a params file as DVC reads params: like Parse, except
// that a list is one value, the String Python's str() makes of it
// ("['bar', 'baz']", as dvc params diff shows it), and nulls are kept.
func ParseParams(path string, data []byte) (*File, error) {
	return parse(path, data, true)
}

func parse(path string, data []byte, params bool) (*File, error) {
	b := &builder{file: &File{Path: path, Values: map[string]Value{}, Params: params}, params: params}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	ext := strings.ToLower(filepath.Ext(path))
	var read func([]byte) error
	switch ext {
	case ".json":
		read = b.readJSON
	case ".yaml", ".yml":
		read = b.readYAML
	case ".csv":
		read = func(d []byte) error { return b.readCSV(d, ',') }
	case ".tsv":
		read = func(d []byte) error { return b.readCSV(d, '\t') }
	default:
		what := strconv.Quote(ext)
		if ext == "" {
			what = "with no extension"
		}
		return nil, b.errAt(0, "unsupported metrics file type %s; use .json, .yaml, .yml, .csv or .tsv", what)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, b.empty()
	}
	if err := read(data); err != nil {
		return nil, err
	}
	return b.file, nil
}

func tooLarge(path string, size int64) error {
	return &Error{File: path, Msg: fmt.Sprintf("file is %.1f MiB, over the %d MiB limit for metrics files; point mlci at a small summary file",
		float64(size)/(1<<20), MaxFileSize>>20)}
}

// builder collects the flattened values of one file.
type builder struct {
	file *File
	// params: keep lists as one value and nulls (ParseParams).
	params bool
}

func (b *builder) errAt(line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	// Messages quote user text with %q, but library messages are passed
	// through, and a stray newline would split a CI log line.
	msg = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, msg)
	return &Error{File: b.file.Path, Line: line, Msg: msg}
}

func (b *builder) empty() error {
	return b.errAt(0, "empty metrics file; write at least one metric or stop listing the file")
}

// add records a leaf. Keys that differ in the file can still meet once
// joined ({"a.b": 1, "a": {"b": 2}}); DVC would silently keep one, which
// would make gates check a value the user did not mean.
func (b *builder) add(key string, v Value) error {
	if first, ok := b.file.Values[key]; ok {
		return b.errAt(v.Line, "key %q appears twice once nested keys are joined with \".\" (first at line %d); rename one", key, first.Line)
	}
	b.file.Values[key] = v
	return nil
}

func (b *builder) tooDeep(line int) error {
	return b.errAt(line, "nesting is deeper than %d levels; flatten the file", maxDepth)
}

func (b *builder) notFinite(line int, written string) error {
	return b.errAt(line, "%s is not a number mlci can compare; write null or remove the metric", written)
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// isDecimal reports whether s is spelled like a plain decimal number, so
// that strconv.ParseFloat's extras (hex, "inf", underscores) stay strings in
// CSV, where a cell like "0x1f" is far more likely an ID than a metric.
func isDecimal(s string) bool {
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
		default:
			return false
		}
	}
	return digits
}

// isIntText reports whether a number spelled as isDecimal allows is an
// integer to Python: no point and no exponent ("7", not "7.0" or "7e0").
func isIntText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// parseDecimal parses s as a finite float64. ok is false when s is not a
// number after all (like "1e" or "--1"). Underflow gives 0, as in Python.
func (b *builder) parseDecimal(s string, line int) (f float64, ok bool, err error) {
	f, err = strconv.ParseFloat(s, 64)
	switch {
	case err == nil:
		return f, true, nil
	case errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0):
		return 0, false, b.errAt(line, "number %s is too large for a float64; write a smaller number", s)
	case errors.Is(err, strconv.ErrRange):
		return f, true, nil
	}
	return 0, false, nil
}

// nonFiniteWord reports whether s is how Python, pandas or YAML spell NaN or
// an infinity, which have no place in a comparison.
func nonFiniteWord(s string) bool {
	s = strings.TrimLeft(strings.ToLower(s), "+-")
	switch s {
	case "nan", "inf", "infinity", ".nan", ".inf":
		return true
	}
	return false
}
