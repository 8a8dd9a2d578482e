package plots

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadColumns(t *testing.T) {
	docCSV, err := os.ReadFile(filepath.Join("testdata", "dvc", "logs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	docJSON, err := os.ReadFile(filepath.Join("testdata", "dvc", "train.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		file   string
		data   string
		fields []string // "" is the last field; a "$" prefix reads text
		want   map[string]any
	}{
		{name: "DVC tabular example", file: "logs.csv", data: string(docCSV), fields: []string{"epoch", "loss"},
			want: map[string]any{"epoch": []float64{1, 2, 3, 4}, "loss": []float64{0.19, 0.11, 0.07, 0.04}}},
		{name: "CSV last column", file: "logs.csv", data: string(docCSV), fields: []string{""},
			want: map[string]any{"accuracy": []float64{0.81, 0.89, 0.93, 0.96}}},
		{name: "DVC hierarchical example", file: "train.json", data: string(docJSON), fields: []string{"loss"},
			want: map[string]any{"loss": []float64{0.10757, 0.07324, 0.08136, 0.09026, 0.0764, 0.07608, 0.08455}}},
		{name: "JSON last field in row order", file: "a.json", data: `[{"z": 1, "a": 2}]`, fields: []string{""},
			want: map[string]any{"a": []float64{2}}},
		{name: "JSON list with string numbers and text", file: "cm.json",
			data: `[{"actual": "0", "predicted": 1}, {"actual": "1", "predicted": "1"}]`, fields: []string{"$actual", "predicted"},
			want: map[string]any{"actual": []string{"0", "1"}, "predicted": []float64{1, 1}}},
		{name: "JSON object skips other values", file: "a.json",
			data: `{"meta": {"x": [1]}, "n": 3, "rows": [{"v": 1}, {"v": 2, "w": [1, 2]}], "later": []}`, fields: []string{"v"},
			want: map[string]any{"v": []float64{1, 2}}},
		{name: "YAML list", file: "a.yaml", data: "- {step: 0, loss: 1.5}\n- {step: 1, loss: 0.5}\n", fields: []string{"step", "loss"},
			want: map[string]any{"step": []float64{0, 1}, "loss": []float64{1.5, 0.5}}},
		{name: "YAML object", file: "a.yml", data: "train:\n  - loss: 1\n  - loss: 2\n", fields: []string{"loss"},
			want: map[string]any{"loss": []float64{1, 2}}},
		{name: "TSV", file: "loss.tsv", data: "step\tloss\n0\t0.5\n1\t0.25\n", fields: []string{"loss"},
			want: map[string]any{"loss": []float64{0.5, 0.25}}},
		{name: "CSV header only", file: "a.csv", data: "a,b\n", fields: []string{"b"},
			want: map[string]any{"b": []float64(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cols []*column
			for _, f := range tt.fields {
				name, text := strings.CutPrefix(f, "$")
				cols = append(cols, &column{field: name, text: text})
			}
			if err := readColumns(tt.file, []byte(tt.data), cols); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, c := range cols {
				if c.text {
					got[c.field] = c.strs
				} else {
					got[c.field] = c.nums
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadColumnsErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		data  string
		field string
		want  string
	}{
		{name: "missing field names the present ones", file: "logs.csv", data: "epoch,loss\n1,2\n", field: "acc",
			want: `logs.csv: no field "acc" (fields: epoch, loss)`},
		{name: "missing JSON field", file: "a.json", data: `[{"a": 1}]`, field: "b", want: `a.json: no field "b" (fields: a)`},
		{name: "field missing in a later row", file: "a.json", data: `[{"a": 1}, {"b": 2}]`, field: "a", want: `a.json: row 2 has no field "a"`},
		{name: "YAML field missing in a later row", file: "a.yaml", data: "- a: 1\n- b: 2\n", field: "a", want: `a.yaml: row 2 has no field "a"`},
		{name: "non-numeric CSV", file: "a.csv", data: "a\n1\nhigh\n", field: "a", want: `a.csv: row 2, field "a": "high" is not a number`},
		{name: "non-numeric JSON", file: "a.json", data: `[{"a": true}]`, field: "a", want: `a.json: row 1, field "a": "true" is not a number`},
		{name: "YAML list value", file: "a.yaml", data: "- a: [1]\n", field: "a", want: `row 1, field "a": "(a list)" is not a number`},
		{name: "ragged CSV", file: "a.csv", data: "a,b\n1\n", field: "a", want: "wrong number of fields"},
		{name: "no rows in JSON object", file: "a.json", data: `{"a": 1}`, field: "a", want: "no list of rows"},
		{name: "JSON scalar", file: "a.json", data: `3`, field: "a", want: "no list of rows"},
		{name: "JSON row not an object", file: "a.json", data: `[1]`, field: "a", want: "row 1 is not an object"},
		{name: "empty JSON list", file: "a.json", data: `[]`, field: "a", want: "a.json: no rows"},
		{name: "truncated JSON", file: "a.json", data: `[{"a": 1}`, field: "a", want: "a.json:"},
		{name: "empty CSV", file: "a.csv", data: "", field: "a", want: "a.csv: empty file"},
		{name: "unknown format", file: "a.txt", data: "", field: "a", want: "unsupported plot data format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readColumns(tt.file, []byte(tt.data), []*column{{field: tt.field}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A million-row file reads into the requested column only.
func TestReadColumnsMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 1_000_000
	var b strings.Builder
	b.WriteString("step,loss,acc,note\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,%g,0.5,x\n", i, 1/float64(i+1))
	}
	c := &column{field: "loss"}
	if err := readColumns("big.csv", []byte(b.String()), []*column{c}); err != nil {
		t.Fatal(err)
	}
	if len(c.nums) != n || c.nums[n-1] != 1/float64(n) {
		t.Fatalf("read %d values, last %g", len(c.nums), c.nums[len(c.nums)-1])
	}
}
