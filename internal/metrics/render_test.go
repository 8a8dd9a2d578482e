package metrics

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMain registers -update here rather than in a package variable, so the
// package, tests included, has no globals.
func TestMain(m *testing.M) {
	flag.Bool("update", false, "rewrite the golden files in testdata")
	os.Exit(m.Run())
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenRows is a small diff with every kind of row.
func goldenRows(t *testing.T) []Row {
	t.Helper()
	parse := func(path, in string) *File {
		read := Parse
		if strings.HasPrefix(path, "params") {
			read = ParseParams
		}
		f, err := read(path, []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	base := []*File{
		parse("metrics/eval.json", `{"acc": 0.8, "loss": 0.5, "f1": [0.7, 0.6], "old": 3, "steps": 1000, "ok": false}`),
		parse("params.yaml", "opt: adam\nlr: 0.001\nnote: \"a|b\"\nflag: true\nlayers: [64, 32]\nseed: null\n"),
		parse("gone.csv", "x\n1\n"),
		parse("score.json", "0.9"),
	}
	head := []*File{
		parse("metrics/eval.json", `{"acc": 0.85, "loss": 0.5003, "f1": [0.7, 0.61], "new": 0.123456789, "steps": 1200, "ok": true}`),
		parse("params.yaml", "opt: sgd\nlr: 0.001\nnote: \"a|b\\nc\"\nflag: false\nlayers: [64, 32, 16]\nseed: 7\n"),
		parse("score.json", "0.950000001"),
	}
	return Diff(base, head)
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		render func(io.Writer, []Row) error
	}{
		{"table", "diff.table.golden", func(w io.Writer, r []Row) error { return RenderTable(w, r, RenderOptions{}) }},
		{"table all", "diff.table-all.golden", func(w io.Writer, r []Row) error { return RenderTable(w, r, RenderOptions{All: true, Precision: 3}) }},
		{"markdown", "diff.md.golden", func(w io.Writer, r []Row) error { return RenderMarkdown(w, r, RenderOptions{}) }},
		{"json", "diff.json.golden", RenderJSON},
	}
	rows := goldenRows(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.render(&buf, rows); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if updating() {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if d := cmp.Diff(string(want), buf.String()); d != "" {
				t.Errorf("%s differs (-want +got); run with -update if intended:\n%s", path, d)
			}
		})
	}
}

func TestRenderNoChanges(t *testing.T) {
	f := file("m.json", "acc", 1)
	rows := Diff([]*File{f}, []*File{f})
	for name, render := range map[string]func(io.Writer, []Row, RenderOptions) error{
		"table":    RenderTable,
		"markdown": RenderMarkdown,
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := render(&buf, rows, RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != "no metric changes\n" {
				t.Errorf("got %q", got)
			}
			buf.Reset()
			if err := render(&buf, rows, RenderOptions{All: true}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "acc") {
				t.Errorf("All did not show the unchanged row:\n%s", buf.String())
			}
		})
	}
}

func TestRenderJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderJSON(&buf, goldenRows(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	byMetric := map[string]map[string]any{}
	for _, r := range doc.Rows {
		byMetric[r["path"].(string)+":"+r["metric"].(string)] = r
	}
	x, y := 0.8, 0.85 // variables: the diff is float64 arithmetic
	want := map[string]map[string]any{
		"metrics/eval.json:acc": {"path": "metrics/eval.json", "metric": "acc", "base": x, "head": y, "change": y - x, "change_pct": 100 * (y - x) / x, "status": "changed"},
		"metrics/eval.json:new": {"path": "metrics/eval.json", "metric": "new", "base": nil, "head": 0.123456789, "change": nil, "change_pct": nil, "status": "added"},
		"params.yaml:opt":       {"path": "params.yaml", "metric": "opt", "base": "adam", "head": "sgd", "change": nil, "change_pct": nil, "status": "changed"},
		"params.yaml:flag":      {"path": "params.yaml", "metric": "flag", "base": true, "head": false, "change": -1.0, "change_pct": -100.0, "status": "changed"},
		"params.yaml:layers":    {"path": "params.yaml", "metric": "layers", "base": "[64, 32]", "head": "[64, 32, 16]", "change": nil, "change_pct": nil, "status": "changed"},
		"params.yaml:seed":      {"path": "params.yaml", "metric": "seed", "base": nil, "head": 7.0, "change": nil, "change_pct": nil, "status": "changed"},
		"gone.csv:x":            {"path": "gone.csv", "metric": "x", "base": 1.0, "head": nil, "change": nil, "change_pct": nil, "status": "removed"},
	}
	for k, w := range want {
		if d := cmp.Diff(w, byMetric[k]); d != "" {
			t.Errorf("%s (-want +got):\n%s", k, d)
		}
	}

	buf.Reset()
	if err := RenderJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "{\n  \"rows\": []\n}\n" {
		t.Errorf("no rows: got %q", got)
	}
}

func TestMarkdownCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "eval.acc", "eval.acc"},
		{"pipe", "a|b", `a\|b`},
		{"escaped pipe stays escaped", `a\|b`, `a\\\|b`},
		{"newlines", "a\nb\r\nc\rd", "a<br>b<br>c<br>d"},
		{"html", "<script>", `\<script\>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			markdownCell(&b, tt.in)
			if got := b.String(); got != tt.want {
				t.Errorf("markdownCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
