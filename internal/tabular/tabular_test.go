package tabular

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every cell of r as "kind:value" strings, row by row.
func readAll(t testing.TB, r Reader) ([][]string, error) {
	t.Helper()
	var rows [][]string
	var b Batch
	for {
		err := r.Next(&b)
		if errors.Is(err, io.EOF) {
			if b.Len != 0 {
				t.Fatalf("io.EOF with %d rows", b.Len)
			}
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		for i := 0; i < b.Len; i++ {
			row := make([]string, len(b.Columns))
			for j, c := range b.Columns {
				switch c.Kinds[i] {
				case Missing:
					row[j] = "missing"
				case Number:
					row[j] = "number:" + strconv.FormatFloat(c.Nums[i], 'g', -1, 64)
				case Bool:
					row[j] = "bool:" + strconv.FormatFloat(c.Nums[i], 'g', -1, 64)
				case Text:
					row[j] = "text:" + string(c.Texts[i])
				}
			}
			rows = append(rows, row)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTextFormats(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		columns []string
		rows    [][]string
		err     string
	}{
		{
			name:    "plain csv",
			file:    "a.csv",
			content: "x,city,flag\n1.5,Paris,true\n-2,,NA\n1e3,Oslo,0\n",
			columns: []string{"x", "city", "flag"},
			rows: [][]string{
				{"number:1.5", "text:Paris", "text:true"},
				{"number:-2", "missing", "missing"},
				{"number:1000", "text:Oslo", "number:0"},
			},
		},
		{
			name:    "quotes, CRLF, BOM, blank lines, no final newline",
			file:    "q.csv",
			content: "\uFEFFa,b\r\n\"x,y\",\"he said \"\"hi\"\"\"\r\n\r\n\"multi\r\nline\",2",
			columns: []string{"a", "b"},
			rows:    [][]string{{"text:x,y", `text:he said "hi"`}, {"text:multi\nline", "number:2"}},
		},
		{
			name:    "tsv",
			file:    "t.tsv",
			content: "a\tb\n1,5\t2\n",
			columns: []string{"a", "b"},
			rows:    [][]string{{"text:1,5", "number:2"}},
		},
		{
			name:    "header only",
			file:    "h.csv",
			content: "a,b\n",
			columns: []string{"a", "b"},
		},
		{name: "ragged row names its line", file: "r.csv", content: "a,b,c,d,e\n1,2,3,4,5\n\n1,2,3,4\n", err: "r.csv: line 4 has 4 fields, the header has 5"},
		{name: "ragged after a quoted field", file: "r.csv", content: "a,b\n\"1\n2\",3\n4\n", err: "line 4 has 1 fields, the header has 2"},
		{name: "empty file", file: "e.csv", content: "", err: "empty table: no header line"},
		{name: "blank lines only", file: "e.csv", content: "\n\r\n\n", err: "empty table"},
		{name: "duplicate column", file: "d.csv", content: "a,b,a\n", err: `columns 1 and 3 are both named "a"`},
		{name: "bare quote", file: "b.csv", content: "a\nx\"y\n", err: `line 2: bare "`},
		{name: "unclosed quote", file: "u.csv", content: "a\n\"xy\n", err: "the quoted field opened on line 2 is never closed"},
		{
			name:    "json lines",
			file:    "a.jsonl",
			content: `{"x": 1.5, "s": "a\"b", "b": true, "n": null, "o": {"k": [1, 2]}}` + "\n\n" + `{"x": -2, "s": "1.5", "b": false}` + "\n",
			columns: []string{"x", "s", "b", "n", "o"},
			rows: [][]string{
				{"number:1.5", `text:a"b`, "bool:1", "missing", `text:{"k":[1,2]}`},
				{"number:-2", "text:1.5", "bool:0", "missing", "missing"},
			},
		},
		{name: "json lines new key", file: "k.ndjson", content: "{\"a\": 1}\n{\"a\": 2, \"b\": 3}\n", err: `line 2: key "b" is not in the first object`},
		{name: "json lines not an object", file: "k.jsonl", content: "[1, 2]\n", err: "line 1: want a JSON object per line"},
		{name: "json lines empty", file: "k.jsonl", content: "\n  \n", err: "empty table: no JSON object"},
		{name: "unknown extension", file: "a.txt", content: "a\n", err: `cannot tell the table format from the extension ".txt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.content)
			r, err := Open(path, Auto)
			var rows [][]string
			if err == nil {
				defer r.Close()
				if diff := cmp.Diff(tt.columns, r.Columns()); tt.err == "" && diff != "" {
					t.Errorf("columns (-want +got):\n%s", diff)
				}
				rows, err = readAll(t, r)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCSVManyBatchesAndLongLines(t *testing.T) {
	var sb strings.Builder
	long := strings.Repeat("z", csvBufferSize+10)
	sb.WriteString("i,s\n")
	const n = 3*BatchRows + 7
	for i := 0; i < n; i++ {
		s := "a"
		if i == 5000 {
			s = long
		}
		sb.WriteString(strconv.Itoa(i) + "," + s + "\n")
	}
	r, err := Open(writeFile(t, "big.csv", sb.String()), CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	if rows[n-1][0] != "number:"+strconv.Itoa(n-1) || rows[5000][1] != "text:"+long {
		t.Errorf("rows out of order or cut: last %q", rows[n-1][0])
	}
}

func TestFormatOfAndParse(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"x.CSV", CSV}, {"x.tsv", TSV}, {"x.ndjson", JSONLines}, {"x.jsonl", JSONLines}, {"d/x.parquet", Parquet},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := FormatOf(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("FormatOf(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			back, err := ParseFormat(got.String())
			if err != nil || back != got {
				t.Errorf("ParseFormat(%q) = %v, %v", got.String(), back, err)
			}
		})
	}
	if _, err := ParseFormat("xlsx"); err == nil {
		t.Error("ParseFormat(xlsx) succeeded")
	}
}
