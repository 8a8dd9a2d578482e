package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func num(x float64, line int) Value { return Value{Kind: Number, Num: x, Line: line} }
func integer(x int, line int) Value {
	return Value{Kind: Number, Num: float64(x), Int: true, Line: line}
}
func str(s string, line int) Value   { return Value{Kind: String, Str: s, Line: line} }
func boolean(b bool, line int) Value { return Value{Kind: Bool, Bool: b, Line: line} }
func null(line int) Value            { return Value{Kind: Null, Line: line} }

const jsonLists = `{
  "eval": {"test": {"accuracy": 0.9}},
  "loss": [0.5,
           0.4],
  "epochs": [{"lr": 0.01, "tag": "it's"}],
  "name": "run-1",
  "ok": true,
  "skipped": null,
  "empty": {},
  "none": []
}`

const yamlParams = `# training params
train:
  lr: 0.001
  epochs: 10
  layers: [64, 32]
  optimizer: adam
  nesterov: true
  seed: ~
  big: 0x1F
  under: 1_000
  date: 2024-01-02
  quoted: "3"
eval:
  - name: val
    acc: .5
`

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		params bool // ParseParams, else Parse
		in     string
		want   map[string]Value
	}{
		{
			name: "JSON metrics: lists and nulls are no metrics",
			path: "metrics.json",
			in:   jsonLists,
			want: map[string]Value{
				"eval.test.accuracy": num(0.9, 2),
				"name":               str("run-1", 6),
				"ok":                 boolean(true, 7),
			},
		},
		{
			name:   "JSON params: a list is one value, null is kept",
			path:   "params.json",
			params: true,
			in:     jsonLists,
			want: map[string]Value{
				"eval.test.accuracy": num(0.9, 2),
				"loss":               str("[0.5, 0.4]", 3),
				"epochs":             str(`[{'lr': 0.01, 'tag': "it's"}]`, 5),
				"name":               str("run-1", 6),
				"ok":                 boolean(true, 7),
				"skipped":            null(8),
				"none":               str("[]", 10),
			},
		},
		{
			name: "JSON keeps full precision and integers apart",
			path: "m.json",
			in:   `{"a": 0.30000000000000004, "b": 12345678901234567890, "c": -0, "d": 1e-400, "e": 1E3, "f": 7.0}`,
			want: map[string]Value{
				"a": num(0.30000000000000004, 1),
				"b": {Kind: Number, Num: 12345678901234567890, Int: true, Line: 1},
				"c": integer(0, 1),
				"d": num(0, 1),
				"e": num(1000, 1),
				"f": num(7, 1),
			},
		},
		{
			name: "JSON top-level list, BOM and CRLF: no metrics",
			path: "M.JSON",
			in:   "\ufeff[\r\n {\"acc\": 1},\r\n {\"acc\": 2}\r\n]",
			want: map[string]Value{},
		},
		{
			name:   "JSON top-level list as params",
			path:   "p.json",
			params: true,
			in:     "[\n {\"acc\": 1},\n {\"acc\": 2}\n]",
			want:   map[string]Value{"": str("[{'acc': 1}, {'acc': 2}]", 1)},
		},
		{
			name: "JSON single number",
			path: "m.json",
			in:   "\n5\n",
			want: map[string]Value{"": integer(5, 2)},
		},
		{
			name: "JSON single string",
			path: "m.json",
			in:   `"x"`,
			want: map[string]Value{"": str("x", 1)},
		},
		{
			name:   "JSON null holds nothing",
			path:   "p.json",
			params: true,
			in:     `null`,
			want:   map[string]Value{},
		},
		{
			name: "JSON empty object",
			path: "m.json",
			in:   " {} \n",
			want: map[string]Value{},
		},
		{
			name: "YAML metrics: lists, nulls and dates are no metrics",
			path: "metrics.yaml",
			in:   yamlParams,
			want: map[string]Value{
				"train.lr":        num(0.001, 3),
				"train.epochs":    integer(10, 4),
				"train.optimizer": str("adam", 6),
				"train.nesterov":  boolean(true, 7),
				"train.big":       integer(31, 9),
				"train.under":     integer(1000, 10),
				"train.quoted":    str("3", 12),
			},
		},
		{
			name:   "YAML params",
			path:   "params.yaml",
			params: true,
			in:     yamlParams,
			want: map[string]Value{
				"train.lr":        num(0.001, 3),
				"train.epochs":    integer(10, 4),
				"train.layers":    str("[64, 32]", 5),
				"train.optimizer": str("adam", 6),
				"train.nesterov":  boolean(true, 7),
				"train.seed":      null(8),
				"train.big":       integer(31, 9),
				"train.under":     integer(1000, 10),
				"train.date":      str("2024-01-02", 11),
				"train.quoted":    str("3", 12),
				"eval":            str("[{'name': 'val', 'acc': 0.5}]", 14),
			},
		},
		{
			name: "YAML anchors and merge keys",
			path: "params.yml",
			in: `base: &base
  lr: 0.1
  bs: 32
small:
  <<: *base
  bs: 8
both:
  <<: [*base, {wd: 0.5}]
`,
			want: map[string]Value{
				"base.lr":  num(0.1, 2),
				"base.bs":  integer(32, 3),
				"small.bs": integer(8, 6),
				"small.lr": num(0.1, 2),
				"both.lr":  num(0.1, 2),
				"both.bs":  integer(32, 3),
				"both.wd":  num(0.5, 8),
			},
		},
		{
			name:   "YAML params list through aliases and merges",
			path:   "params.yml",
			params: true,
			in:     "base: &b {lr: 0.1, on: yes}\nruns:\n  - *b\n  - <<: *b\n    lr: 1e-5\n  - [null, 'a\\b']\n",
			want: map[string]Value{
				"base.lr": num(0.1, 1),
				"base.on": str("yes", 1),
				"runs":    str(`[{'lr': 0.1, 'on': 'yes'}, {'lr': 1e-05, 'on': 'yes'}, [None, 'a\\b']]`, 3),
			},
		},
		{
			name: "YAML single value",
			path: "m.yaml",
			in:   "5\n",
			want: map[string]Value{"": integer(5, 1)},
		},
		{
			name: "YAML null holds nothing",
			path: "m.yaml",
			in:   "null\n",
			want: map[string]Value{},
		},
		{
			name: "YAML BOM and CRLF",
			path: "m.yaml",
			in:   "\ufeffa: 1\r\nb:\r\n  c: x\r\n",
			want: map[string]Value{"a": integer(1, 1), "b.c": str("x", 3)},
		},
		{
			name: "CSV single row: an empty cell is no metric",
			path: "m.csv",
			in:   "accuracy,loss,model,note\n0.9,1e-3,resnet, \n",
			want: map[string]Value{
				"accuracy": num(0.9, 2),
				"loss":     num(0.001, 2),
				"model":    str("resnet", 2),
			},
		},
		{
			name:   "CSV params keep an empty cell as null",
			path:   "p.csv",
			params: true,
			in:     "lr,note\n0.1,\n",
			want:   map[string]Value{"lr": num(0.1, 2), "note": null(2)},
		},
		{
			name: "CSV multi row",
			path: "plots.csv",
			in:   "step,loss,id\n0,0.5,0x1f\n\n1,\" 0.25 \",\"two\nlines\"\n",
			want: map[string]Value{
				"0.step": integer(0, 2),
				"0.loss": num(0.5, 2),
				"0.id":   str("0x1f", 2),
				"1.step": integer(1, 4),
				"1.loss": num(0.25, 4),
				"1.id":   str("two\nlines", 4),
			},
		},
		{
			name: "CSV header only",
			path: "m.csv",
			in:   "a,b\n",
			want: map[string]Value{},
		},
		{
			name: "TSV",
			path: "m.tsv",
			in:   "\ufeffacc\tname\r\n0.75\thello, world\r\n",
			want: map[string]Value{"acc": num(0.75, 2), "name": str("hello, world", 2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := Parse
			if tt.params {
				parse = ParseParams
			}
			f, err := parse(tt.path, []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Path != tt.path || f.Params != tt.params {
				t.Errorf("Path, Params = %q, %v, want %q, %v", f.Path, f.Params, tt.path, tt.params)
			}
			if d := cmp.Diff(tt.want, f.Values); d != "" {
				t.Errorf("values (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const nanMsg = "is not a number mlci can compare; write null or remove the metric"
	tests := []struct {
		name   string
		path   string
		params bool // ParseParams: lists are read, not dropped
		in     string
		line   int
		msg    string
	}{
		{"JSON NaN", "m.json", false, "{\"a\": 1,\n \"b\": NaN}", 2, "NaN " + nanMsg},
		{"JSON Infinity in a list", "m.json", false, "{\"a\": [1,\n\n Infinity]}", 3, "Infinity " + nanMsg},
		{"JSON -Infinity", "m.json", false, "{\"a\":\n-Infinity}", 2, "-Infinity " + nanMsg},
		{"YAML .nan", "m.yaml", false, "a: 1\nb: .nan\n", 2, ".nan " + nanMsg},
		{"YAML .inf", "m.yaml", false, "a: .inf\n", 1, ".inf " + nanMsg},
		{"YAML -.Inf in a params list", "p.yaml", true, "a:\n  - -.Inf\n", 2, "-.Inf " + nanMsg},
		{"CSV nan", "m.csv", false, "a,b\n1,2\n3,NaN\n", 3, "NaN " + nanMsg},
		{"JSON duplicate key", "m.json", false, "{\"a\": 1,\n \"b\": {\"c\": 1,\n  \"c\": 2}}", 3, `duplicate key "c" (first at line 2)`},
		{"JSON duplicate key in a list", "m.json", false, "{\"a\": [{\"c\": 1,\n  \"c\": 2}]}", 2, `duplicate key "c" (first at line 1)`},
		{"JSON duplicate object key", "m.json", false, "{\"a\": {\"x\": 1},\n\"a\": {\"y\": 2}}", 2, `duplicate key "a" (first at line 1)`},
		{"YAML duplicate key", "m.yaml", false, "a: 1\nb:\n  c: 1\n  c: 2\n", 4, `duplicate key "c" (first at line 3)`},
		{"keys meet once flattened", "m.json", false, "{\"a.b\": 1,\n \"a\": {\"b\": 2}}", 2, `key "a.b" appears twice once nested keys are joined`},
		{"empty", "m.json", false, "", 0, "empty metrics file"},
		{"whitespace only", "m.yaml", false, " \n\t\r\n", 0, "empty metrics file"},
		{"BOM only", "m.csv", false, "\ufeff\n", 0, "empty metrics file"},
		{"YAML comments only", "m.yaml", false, "# nothing yet\n", 0, "empty metrics file"},
		{"YAML bare document", "m.yaml", false, "---\n", 0, "empty metrics file"},
		{"CSV row too long", "m.csv", false, "a,b\n1,2\n1,2,3\n", 3, "row has 3 cells but the header has 2"},
		{"CSV row too short", "m.csv", false, "a,b\n1\n", 2, "row has 1 cell but the header has 2"},
		{"TSV ragged", "m.tsv", false, "a\tb\n1\t2\n\n3\n", 4, "row has 1 cell but the header has 2"},
		{"CSV duplicate column", "m.csv", false, "a,b,a\n1,2,3\n", 1, `column "a" appears twice`},
		{"unsupported extension", "m.txt", false, "a", 0, `unsupported metrics file type ".txt"; use .json, .yaml, .yml, .csv or .tsv`},
		{"no extension", "metrics", false, "a", 0, "unsupported metrics file type with no extension"},
		{"JSON syntax", "m.json", false, "{\n \"a\": 1\n \"b\": 2}", 3, "invalid JSON: invalid character '\"' after object key:value pair"},
		{"JSON truncated", "m.json", false, "{\"a\": [1,\n 2", 2, "the file ends in the middle of a value"},
		{"JSON trailing data", "m.json", false, "{}\n{}", 2, "unexpected text after the top-level JSON value"},
		{"JSON too large a number", "m.json", false, "{\"a\":\n 1e400}", 2, "number 1e400 is too large for a float64"},
		{"JSON too large a number in a params list", "p.json", true, "{\"a\": [\n 1e400]}", 2, "number 1e400 is too large for a float64"},
		{"JSON too deep", "m.json", false, strings.Repeat("[", 1001), 1, "nesting is deeper than 1000 levels"},
		{"JSON too deep as params", "p.json", true, strings.Repeat("[", 1001), 1, "nesting is deeper than 1000 levels"},
		{"YAML syntax", "m.yaml", false, "a: 1\nb:\n\tc: 2\n", 3, "invalid YAML: found character that cannot start any token"},
		{"YAML two documents", "m.yaml", false, "a: 1\n---\nb: 2\n", 2, "a second YAML document starts here"},
		{"YAML complex key", "m.yaml", false, "a: 1\n? [x]\n: 2\n", 2, "a mapping key is a list or a mapping"},
		{"YAML alias loop", "p.yaml", true, "a: &a [1, *a]\n", 1, "contains an alias to itself"},
		{"YAML merge of a scalar", "m.yaml", false, "x: &x 1\ny:\n  <<: *x\n", 3, "<< must merge a mapping"},
		{"YAML alias bomb", "m.yaml", false, aliasBomb("{a: *l%d, b: *l%d}", "{a: 1, b: 1}"), 0, "anchors and aliases expand to too many values"},
		{"YAML alias bomb in a params list", "p.yaml", true, aliasBomb("[*l%d, *l%d]", "[1, 1]"), 0, "anchors and aliases expand to too many values"},
		{"YAML too deep", "m.yaml", false, strings.Repeat("{a: ", 1001) + "1" + strings.Repeat("}", 1001) + "\n", 1, "nesting is deeper than 1000 levels"},
		{"YAML too deep as params", "p.yaml", true, strings.Repeat("- ", 1001) + "1\n", 1, "nesting is deeper than 1000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := Parse
			if tt.params {
				parse = ParseParams
			}
			f, err := parse(tt.path, []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %v, want error %q", f.Values, tt.msg)
			}
			checkError(t, err, tt.path, tt.line, tt.msg)
		})
	}
}

func checkError(t *testing.T, err error, path string, line int, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	s := err.Error()
	if strings.ContainsAny(s, "\n\r") {
		t.Errorf("error is not one line: %q", s)
	}
	if !strings.Contains(s, msg) {
		t.Errorf("error %q does not contain %q", s, msg)
	}
	if e.File != path {
		t.Errorf("File = %q, want %q", e.File, path)
	}
	// line 0 in a test case means "don't check": the bomb's line is
	// wherever the budget runs out.
	if line != 0 && e.Line != line {
		t.Errorf("Line = %d, want %d (%s)", e.Line, line, s)
	}
	prefix := path + ":"
	if e.Line > 0 {
		prefix += fmt.Sprint(e.Line) + ":"
	}
	if !strings.HasPrefix(s, prefix+" ") {
		t.Errorf("error %q does not start with %q", s, prefix+" ")
	}
}

// aliasBomb is a "billion laughs" file: each level doubles the one before.
// level is the format of one level, naming the level below twice; first is
// the first level's value.
func aliasBomb(level, first string) string {
	var b strings.Builder
	b.WriteString("l0: &l0 " + first + "\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "l%d: &l%d "+level+"\n", i, i, i-1, i-1)
	}
	return b.String()
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("big.json", make([]byte, MaxFileSize+1))
	checkError(t, err, "big.json", 0, "over the 64 MiB limit")

	// A sparse file: ReadFile must refuse it from its size, without reading.
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFile(path)
	checkError(t, err, path, 0, "over the 64 MiB limit")
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.json")
	if err := os.WriteFile(path, []byte(`{"acc": 0.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&File{Path: path, Values: map[string]Value{"acc": num(0.5, 1)}}, f); d != "" {
		t.Errorf("ReadFile (-want +got):\n%s", d)
	}

	_, err = ReadFile(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestKeys(t *testing.T) {
	f, err := Parse("m.yaml", []byte("b: 1\na:\n  z: 1\n  c: [1, 2]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a.z", "b"}, f.Keys()); d != "" {
		t.Errorf("Keys (-want +got):\n%s", d)
	}
}

// TestParseLargeJSON checks that a 10 MB file with 200k keys parses; the
// line tracking must stay linear for that to finish quickly.
func TestParseLargeJSON(t *testing.T) {
	const groups, perGroup = 20000, 10
	var b strings.Builder
	b.WriteString("{\n")
	for g := range groups {
		fmt.Fprintf(&b, "  \"group_%05d\": {\n", g)
		for k := range perGroup {
			sep := ","
			if k == perGroup-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "    \"metric_%02d_of_this_group\": %d.123456789012%s\n", k, g*perGroup+k, sep)
		}
		if g == groups-1 {
			b.WriteString("  }\n")
		} else {
			b.WriteString("  },\n")
		}
	}
	b.WriteString("}\n")
	data := b.String()
	if len(data) < 10<<20 {
		t.Fatalf("generated %d bytes, want at least 10 MiB", len(data))
	}
	f, err := Parse("big.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.Values); got != groups*perGroup {
		t.Errorf("got %d keys, want %d", got, groups*perGroup)
	}
	// The last leaf: line 1 is "{", then 12 lines per group, and the
	// leaf is the 11th line of its group.
	want := num(199999.123456789012, 1+12*(groups-1)+11)
	if d := cmp.Diff(want, f.Values["group_19999.metric_09_of_this_group"]); d != "" {
		t.Errorf("last value (-want +got):\n%s", d)
	}
}
