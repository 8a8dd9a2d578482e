package plots

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// files is a revision as a map, the fake for ReadFunc.
func files(m map[string]string) ReadFunc {
	return func(p string) ([]byte, error) {
		s, ok := m[p]
		if !ok {
			return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
		}
		return []byte(s), nil
	}
}

func defs(t *testing.T, src string) []Definition {
	t.Helper()
	d, err := ParseDefinitions([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuild(t *testing.T) {
	logs, err := os.ReadFile(filepath.Join("testdata", "dvc", "logs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		plots      string
		head, base map[string]string
		want       []Figure
	}{
		{
			name:  "bare path: last column over steps, base and head",
			plots: "- logs.csv\n",
			head:  map[string]string{"logs.csv": string(logs)},
			base:  map[string]string{"logs.csv": "epoch,loss,accuracy\n1,0.2,0.8\n"},
			want: []Figure{{
				ID: "logs.csv", Kind: Line, Title: "logs.csv", XLabel: "step", YLabel: "accuracy",
				Series: []Series{
					{Name: "accuracy", Side: Base, X: []float64{0}, Y: []float64{0.8}, Points: 1},
					{Name: "accuracy", Side: Head, X: []float64{0, 1, 2, 3}, Y: []float64{0.81, 0.89, 0.93, 0.96}, Points: 4},
				},
			}},
		},
		{
			name:  "new plot: base without the file shows head only",
			plots: "- logs.csv:\n    x: epoch\n    y: loss\n    title: Loss\n",
			head:  map[string]string{"logs.csv": string(logs)},
			base:  map[string]string{},
			want: []Figure{{
				ID: "logs.csv", Kind: Line, Title: "Loss", XLabel: "epoch", YLabel: "loss",
				Series: []Series{{Name: "loss", Side: Head, X: []float64{1, 2, 3, 4}, Y: []float64{0.19, 0.11, 0.07, 0.04}, Points: 4}},
				Notes:  []string{"base has no logs.csv: loss shown for head only"},
			}},
		},
		{
			name:  "y map across files with one x",
			plots: "- acc:\n    x: epoch\n    y:\n      train.csv: acc\n      test.json: acc\n",
			head: map[string]string{
				"train.csv": "epoch,acc\n1,0.5\n2,0.6\n",
				"test.json": `{"rows": [{"epoch": 1, "acc": 0.4}]}`,
			},
			want: []Figure{{
				ID: "acc", Kind: Line, Title: "acc", XLabel: "epoch", YLabel: "acc",
				Series: []Series{
					{Name: "train.csv", Side: Head, X: []float64{1, 2}, Y: []float64{0.5, 0.6}, Points: 2},
					{Name: "test.json", Side: Head, X: []float64{1}, Y: []float64{0.4}, Points: 1},
				},
			}},
		},
		{
			name:  "confusion normalized from different x and y paths",
			plots: "- cm:\n    y: {preds.csv: predicted}\n    x: {actual.csv: actual}\n    template: confusion_normalized\n",
			head: map[string]string{
				"preds.csv":  "predicted\ncat\ndog\ndog\n",
				"actual.csv": "actual\ncat\ncat\ndog\n",
			},
			base: map[string]string{
				"preds.csv":  "predicted\nbird\n",
				"actual.csv": "actual\ncat\n",
			},
			want: []Figure{{
				ID: "cm", Kind: Confusion, Title: "cm", XLabel: "actual", YLabel: "predicted",
				Matrix: &Matrix{
					Labels:     []string{"bird", "cat", "dog"},
					Head:       [][]int{{0, 0, 0}, {0, 1, 1}, {0, 0, 1}},
					Base:       [][]int{{0, 0, 0}, {1, 0, 0}, {0, 0, 0}},
					Normalized: true,
				},
			}},
		},
		{
			name:  "confusion with base missing",
			plots: "- cm.json:\n    template: confusion\n    x: actual\n    y: predicted\n",
			head:  map[string]string{"cm.json": `[{"actual": "0", "predicted": "0"}, {"actual": "1", "predicted": "0"}]`},
			base:  map[string]string{},
			want: []Figure{{
				ID: "cm.json", Kind: Confusion, Title: "cm.json", XLabel: "actual", YLabel: "predicted",
				Matrix: &Matrix{Labels: []string{"0", "1"}, Head: [][]int{{1, 0}, {1, 0}}},
				Notes:  []string{"base has no cm.json: head only"},
			}},
		},
		{
			name:  "ROC computed from label and score",
			plots: "- preds.csv:\n    template: roc\n    x: label\n    y: score\n",
			head:  map[string]string{"preds.csv": "label,score\n0,0.1\n0,0.4\n1,0.35\n1,0.8\n"},
			want: []Figure{{
				ID: "preds.csv", Kind: ROC, Title: "preds.csv", XLabel: "false positive rate", YLabel: "true positive rate",
				Series: []Series{{Name: "score", Side: Head, X: []float64{0, 0, 0.5, 0.5, 1}, Y: []float64{0, 0.5, 0.5, 1, 1}, Summary: "AUC 0.750", Points: 5}},
			}},
		},
		{
			name:  "precision-recall computed from label and score",
			plots: "- preds.csv:\n    template: precision_recall\n    x: label\n    y: score\n",
			head:  map[string]string{"preds.csv": "label,score\nfalse,0.1\nfalse,0.4\ntrue,0.35\ntrue,0.8\n"},
			want: []Figure{{
				ID: "preds.csv", Kind: PR, Title: "preds.csv", XLabel: "recall", YLabel: "precision",
				Series: []Series{{Name: "score", Side: Head, X: []float64{1, 1, 0.5, 0.5, 0}, Y: []float64{0.5, 2.0 / 3, 0.5, 1, 1}, Summary: "AP 0.833", Points: 5}},
			}},
		},
		{
			name:  "DVC-style precomputed ROC drawn with simple",
			plots: "- ROC:\n    template: simple\n    x: fpr\n    y:\n      roc.json: tpr\n",
			head:  map[string]string{"roc.json": `{"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 0.5, "tpr": 1}, {"fpr": 1, "tpr": 1}]}`},
			want: []Figure{{
				ID: "ROC", Kind: ROC, Title: "ROC", XLabel: "fpr", YLabel: "tpr",
				Series: []Series{{Name: "tpr", Side: Head, X: []float64{0, 0.5, 1}, Y: []float64{0, 1, 1}, Summary: "AUC 0.750", Points: 3}},
			}},
		},
		{
			name:  "bar sorted by value",
			plots: "- importance.csv:\n    template: bar_horizontal_sorted\n    x: importance\n    y: feature\n",
			head:  map[string]string{"importance.csv": "feature,importance\nage,0.1\nincome,0.7\nzip,0.2\n"},
			want: []Figure{{
				ID: "importance.csv", Kind: Bar, Title: "importance.csv", XLabel: "feature", YLabel: "importance",
				Series: []Series{{Name: "feature", Side: Head, X: []float64{0, 1, 2}, Y: []float64{0.7, 0.2, 0.1},
					Categories: []string{"income", "zip", "age"}, Points: 3}},
			}},
		},
		{
			name:  "image skipped",
			plots: "- eval/importance.png\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base ReadFunc
			if tt.base != nil {
				base = files(tt.base)
			}
			got, err := Build(defs(t, tt.plots), files(tt.head), base, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name       string
		plots      string
		head, base map[string]string
		want       string
	}{
		{name: "head without the file", plots: "- a.csv\n", head: map[string]string{}, want: `plot "a.csv": head has no a.csv`},
		{name: "missing field", plots: "- a.csv:\n    y: loss\n", head: map[string]string{"a.csv": "step,acc\n0,1\n"},
			want: `plot "a.csv": a.csv: no field "loss" (fields: step, acc)`},
		{name: "non-numeric", plots: "- a.csv:\n    y: loss\n", head: map[string]string{"a.csv": "loss\n1\nn/a\n"},
			want: `a.csv: row 2, field "loss": "n/a" is not a number`},
		{name: "mismatched lengths across files", plots: "- p:\n    y: {y.csv: v}\n    x: {x.csv: s}\n",
			head: map[string]string{"y.csv": "v\n1\n2\n", "x.csv": "s\n1\n"},
			want: "head: x x.csv:s has 1 rows but y y.csv:v has 2"},
		{name: "confusion lengths", plots: "- p:\n    y: {y.csv: p}\n    x: {x.csv: a}\n    template: confusion\n",
			head: map[string]string{"y.csv": "p\n1\n2\n", "x.csv": "a\n1\n"},
			want: "actual x.csv:a has 1 rows but predicted y.csv:p has 2"},
		{name: "broken base", plots: "- a.json\n", head: map[string]string{"a.json": `[{"a": 1}]`},
			base: map[string]string{"a.json": `[{"a": }]`}, want: `plot "a.json": base: a.json:`},
		{name: "ROC labels not binary", plots: "- a.csv:\n    template: roc\n    x: l\n    y: s\n",
			head: map[string]string{"a.csv": "l,s\n2,0.5\n"}, want: `label "2" is not binary`},
		{name: "ROC one class", plots: "- a.csv:\n    template: roc\n    x: l\n    y: s\n",
			head: map[string]string{"a.csv": "l,s\n1,0.5\n"}, want: "a.csv: ROC needs both classes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base ReadFunc
			if tt.base != nil {
				base = files(tt.base)
			}
			_, err := Build(defs(t, tt.plots), files(tt.head), base, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// A million-row training log comes back downsampled, with its original
// count and a note.
func TestBuildDownsamples(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 1_000_000
	var b strings.Builder
	b.WriteString("step\tloss\n")
	for i := range n {
		fmt.Fprintf(&b, "%d\t%g\n", i, 1/float64(i+1))
	}
	tests := []struct {
		name     string
		template string
		max      int
		points   int
	}{
		{name: "line default bound", template: "linear", points: DefaultMaxPoints},
		{name: "scatter given bound", template: "scatter", max: 200, points: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := defs(t, "- loss.tsv:\n    x: step\n    y: loss\n    template: "+tt.template+"\n")
			figs, err := Build(d, files(map[string]string{"loss.tsv": b.String()}), nil, Options{MaxPoints: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			s := figs[0].Series[0]
			if s.Points != n || len(s.X) != tt.points || len(s.Y) != tt.points {
				t.Fatalf("points %d, kept %d/%d, want %d of %d", s.Points, len(s.X), len(s.Y), tt.points, n)
			}
			if s.X[0] != 0 || s.X[len(s.X)-1] != n-1 {
				t.Errorf("ends %g..%g", s.X[0], s.X[len(s.X)-1])
			}
			want := fmt.Sprintf("head loss: %d points downsampled to %d", n, tt.points)
			if len(figs[0].Notes) != 1 || figs[0].Notes[0] != want {
				t.Errorf("notes %q, want %q", figs[0].Notes, want)
			}
		})
	}
}

// Build works on several definitions at once; what it returns must not
// show it.
func TestBuildOrderIsDefinitionOrder(t *testing.T) {
	head := map[string]string{}
	src := ""
	for i := range 12 {
		name := fmt.Sprintf("p%02d.csv", i)
		head[name] = fmt.Sprintf("step,v\n0,%d\n", i)
		src += "- " + name + "\n"
	}
	d := defs(t, src)
	for range 20 {
		figs, err := Build(d, files(head), files(head), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range figs {
			if f.ID != d[i].ID || f.Series[1].Y[0] != float64(i) {
				t.Fatalf("figure %d is %s with %v, want %s", i, f.ID, f.Series[1].Y, d[i].ID)
			}
		}
		bad := maps.Clone(head)
		bad["p03.csv"], bad["p09.csv"] = "step,v\n0,x\n", "nope\n"
		if _, err := Build(d, files(bad), nil, Options{}); err == nil || !strings.Contains(err.Error(), `plot "p03.csv"`) {
			t.Fatalf("error %v, want the first failing plot's", err)
		}
	}
}
