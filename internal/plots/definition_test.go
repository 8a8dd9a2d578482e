package plots

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDefinitionsDVCExamples(t *testing.T) {
	xy := func(id string, x string, ys ...string) (yr, xr []Ref) {
		for _, y := range ys {
			yr = append(yr, Ref{File: id, Field: y})
			xr = append(xr, Ref{File: id, Field: x})
		}
		return yr, xr
	}
	line := func(id, x string, ys ...string) Definition {
		d := Definition{ID: id, Kind: Line}
		d.Y, d.X = xy(id, x, ys...)
		return d
	}
	tests := []struct {
		name string
		file string
		want []Definition
	}{
		{
			name: "path ID with y fields",
			file: "y-fields.yaml",
			want: []Definition{
				line("regression_hist.csv", "", "mean_squared_error"),
				line("classifier_hist.csv", "", "acc", "loss"),
			},
		},
		{
			name: "free ID with y map",
			file: "y-map.yaml",
			want: []Definition{{
				ID: "train_val_test", Kind: Line,
				Y: []Ref{{"train.csv", "train_acc"}, {"train.csv", "val_acc"}, {"test.csv", "test_acc"}},
				X: []Ref{{"train.csv", ""}, {"train.csv", ""}, {"test.csv", ""}},
			}},
		},
		{
			name: "path ID with x field",
			file: "x-field.yaml",
			want: []Definition{line("classifier_hist.csv", "epoch", "acc", "loss")},
		},
		{
			name: "single x, x dict, different x and y paths",
			file: "x-forms.yaml",
			want: []Definition{
				{
					ID: "train_val_test", Kind: Line,
					Y: []Ref{{"train.csv", "train_acc"}, {"train.csv", "val_acc"}, {"test.csv", "test_acc"}},
					X: []Ref{{"train.csv", "epoch"}, {"train.csv", "epoch"}, {"test.csv", "epoch"}},
				},
				{
					ID: "roc_vs_prc", Kind: Line,
					Y: []Ref{{"precision_recall.json", "precision"}, {"roc.json", "tpr"}},
					X: []Ref{{"precision_recall.json", "recall"}, {"roc.json", "fpr"}},
				},
				{
					ID: "confusion", Kind: Confusion, Template: "confusion",
					Y: []Ref{{"dir/preds.csv", "predicted"}},
					X: []Ref{{"dir/actual.csv", "actual"}},
				},
			},
		},
		{
			name: "confusion, multiple sources, image",
			file: "intro.yaml",
			want: []Definition{
				{
					ID: "eval/live/plots/sklearn/cm/test.json", Kind: Confusion, Template: "confusion",
					Y: []Ref{{"eval/live/plots/sklearn/cm/test.json", "predicted"}},
					X: []Ref{{"eval/live/plots/sklearn/cm/test.json", "actual"}},
				},
				{
					ID: "ROC", Kind: Line,
					Y: []Ref{{"eval/live/plots/sklearn/roc/train.json", "tpr"}, {"eval/live/plots/sklearn/roc/test.json", "tpr"}},
					X: []Ref{{"eval/live/plots/sklearn/roc/train.json", "fpr"}, {"eval/live/plots/sklearn/roc/test.json", "fpr"}},
				},
				{
					ID: "eval/importance.png", Image: true,
					Y: []Ref{{File: "eval/importance.png"}}, X: []Ref{{File: "eval/importance.png"}},
				},
			},
		},
		{
			name: "bare path in a whole dvc.yaml",
			file: "bare-path.yaml",
			want: []Definition{line("logs.csv", "", "")},
		},
		{
			name: "title and axis labels",
			file: "roc-titled.yaml",
			want: []Definition{{
				ID: "ROC", Kind: Line, Title: "Train vs. Test ROC",
				XLabel: "False Positive Rate", YLabel: "True Positive Rate",
				Y: []Ref{{"evaluation/train/plots/roc.json", "tpr"}, {"evaluation/test/plots/roc.json", "tpr"}},
				X: []Ref{{"evaluation/train/plots/roc.json", "fpr"}, {"evaluation/test/plots/roc.json", "fpr"}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "dvc", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDefinitions(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDefinitions(%s) (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestParseDefinitionsTemplates(t *testing.T) {
	tests := []struct {
		name       string
		template   string
		kind       Kind
		normalized bool
		sorted     bool
	}{
		{name: "default", template: "", kind: Line},
		{name: "linear", template: "linear", kind: Line},
		{name: "simple", template: "simple", kind: Line},
		{name: "smooth", template: "smooth", kind: Line},
		{name: "scatter", template: "scatter", kind: Scatter},
		{name: "confusion", template: "confusion", kind: Confusion},
		{name: "confusion normalized", template: "confusion_normalized", kind: Confusion, normalized: true},
		{name: "bar", template: "bar_horizontal", kind: Bar},
		{name: "bar sorted", template: "bar_horizontal_sorted", kind: Bar, sorted: true},
		{name: "roc from label and score", template: "roc", kind: ROC},
		{name: "precision recall from label and score", template: "precision_recall", kind: PR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "- preds.csv:\n    x: a\n    y: b\n"
			if tt.template != "" {
				src += "    template: " + tt.template + "\n"
			}
			defs, err := ParseDefinitions([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			d := defs[0]
			if d.Kind != tt.kind || d.Normalized != tt.normalized || d.Sorted != tt.sorted {
				t.Errorf("got kind %s normalized %v sorted %v, want %s %v %v", d.Kind, d.Normalized, d.Sorted, tt.kind, tt.normalized, tt.sorted)
			}
		})
	}
}

func TestParseDefinitionsErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		is   error
		want []string
	}{
		{
			name: "unknown template names the known ones",
			src:  "- a.csv:\n    template: heatmap\n",
			is:   ErrUnknownTemplate,
			want: []string{`"heatmap"`, "linear", "confusion_normalized", "bar_horizontal_sorted", "roc", "precision_recall", "line 2"},
		},
		{name: "not a list", src: "a.csv\n", want: []string{"want a list"}},
		{name: "plots a map", src: "plots: {a.csv: {}}\n", want: []string{"want a list"}},
		{name: "plots not a list", src: "plots: a.csv\n", want: []string{"want a list"}},
		{name: "unknown setting", src: "- a.csv:\n    y_lable: loss\n", want: []string{`"y_lable"`}},
		{name: "settings not indented", src: "- a.csv:\n  y: loss\n", want: []string{"indent"}},
		{name: "duplicate ID", src: "- a.csv\n- a.csv\n", want: []string{"twice"}},
		{name: "x map with a path ID", src: "- a.csv:\n    x: {a.csv: step}\n    y: loss\n", want: []string{"y as a map"}},
		{name: "x map count differs", src: "- p:\n    x: {a.csv: s}\n    y: {a.csv: [l, m]}\n", want: []string{"x names 1 fields and y 2"}},
		{name: "confusion without fields", src: "- a.csv:\n    template: confusion\n", want: []string{"needs both x and y"}},
		{name: "empty y map", src: "- p:\n    y: {}\n", want: []string{"plot"}},
		{name: "y field is a map", src: "- a.csv:\n    y: [{b: c}]\n", want: []string{"names"}},
		{name: "template not a string", src: "- a.csv:\n    template: [linear]\n", want: []string{"template must be a string"}},
		{name: "bad yaml", src: "- [\n", want: []string{"plots:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDefinitions([]byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseDefinitionsEmpty(t *testing.T) {
	for name, src := range map[string]string{"empty": "", "no plots key": "stages: {}\n", "null": "plots:\n"} {
		t.Run(name, func(t *testing.T) {
			defs, err := ParseDefinitions([]byte(src))
			if err != nil || len(defs) != 0 {
				t.Errorf("got %v, %v; want none", defs, err)
			}
		})
	}
}
