package plots

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reference is testdata/sklearn/curves.json, written by gen.py there.
type reference struct {
	Curves []struct {
		Name              string
		Labels            []int
		Scores            []float64
		FPR, TPR          []float64
		AUC               float64
		Precision, Recall []float64
		AveragePrecision  float64 `json:"average_precision"`
	}
	Confusion struct {
		Actual, Predicted, Labels []string
		Counts                    [][]int
		Normalized                [][]float64
	}
}

func loadReference(t *testing.T) reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sklearn", "curves.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

func closeAll(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestCurvesMatchScikitLearn(t *testing.T) {
	for _, c := range loadReference(t).Curves {
		t.Run(c.Name, func(t *testing.T) {
			labels := make([]bool, len(c.Labels))
			for i, l := range c.Labels {
				labels[i] = l == 1
			}
			roc, err := ROCCurve(labels, c.Scores)
			if err != nil {
				t.Fatal(err)
			}
			closeAll(t, "fpr", roc.X, c.FPR)
			closeAll(t, "tpr", roc.Y, c.TPR)
			closeAll(t, "auc", []float64{roc.Area}, []float64{c.AUC})
			pr, err := PRCurve(labels, c.Scores)
			if err != nil {
				t.Fatal(err)
			}
			closeAll(t, "recall", pr.X, c.Recall)
			closeAll(t, "precision", pr.Y, c.Precision)
			closeAll(t, "average precision", []float64{pr.Area}, []float64{c.AveragePrecision})
			// The same points read back as precomputed DVC data give the
			// same areas.
			closeAll(t, "trapezoid", []float64{trapezoid(c.FPR, c.TPR)}, []float64{c.AUC})
			closeAll(t, "precomputed AP", []float64{averagePrecision(c.Recall, c.Precision)}, []float64{c.AveragePrecision})
		})
	}
}

func TestCurveErrors(t *testing.T) {
	tests := []struct {
		name   string
		labels []bool
		scores []float64
		roc    string
		pr     string
	}{
		{name: "one class", labels: []bool{true, true}, scores: []float64{0.1, 0.2}, roc: "both classes", pr: ""},
		{name: "no positives", labels: []bool{false, false}, scores: []float64{0.1, 0.2}, roc: "both classes", pr: "positive"},
		{name: "lengths differ", labels: []bool{true}, scores: []float64{0.1, 0.2}, roc: "1 labels but 2 scores", pr: "1 labels but 2 scores"},
		{name: "empty", roc: "no examples", pr: "no examples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ROCCurve(tt.labels, tt.scores)
			if err == nil || !strings.Contains(err.Error(), tt.roc) {
				t.Errorf("ROC error %v, want %q", err, tt.roc)
			}
			_, err = PRCurve(tt.labels, tt.scores)
			if (tt.pr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.pr)) {
				t.Errorf("PR error %v, want %q", err, tt.pr)
			}
		})
	}
}

func TestConfusionMatchesScikitLearn(t *testing.T) {
	ref := loadReference(t).Confusion
	labels := ConfusionLabels(ref.Actual, ref.Predicted)
	if strings.Join(labels, ",") != strings.Join(ref.Labels, ",") {
		t.Fatalf("labels %v, want %v", labels, ref.Labels)
	}
	counts, err := ConfusionCounts(labels, ref.Actual, ref.Predicted)
	if err != nil {
		t.Fatal(err)
	}
	norm := NormalizeRows(counts)
	for i := range counts {
		for j := range counts[i] {
			if counts[i][j] != ref.Counts[i][j] {
				t.Errorf("counts[%d][%d] = %d, want %d", i, j, counts[i][j], ref.Counts[i][j])
			}
		}
		closeAll(t, "normalized row", norm[i], ref.Normalized[i])
	}
}

func TestConfusionLabels(t *testing.T) {
	tests := []struct {
		name  string
		lists [][]string
		want  string
	}{
		{name: "numeric order", lists: [][]string{{"10", "2"}, {"1"}}, want: "1,2,10"},
		{name: "text order", lists: [][]string{{"dog", "cat"}, {"2"}}, want: "2,cat,dog"},
		{name: "union of sides", lists: [][]string{{"a"}, {"b"}, {"c", "a"}}, want: "a,b,c"},
		{name: "none", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(ConfusionLabels(tt.lists...), ","); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNormalizeRowsEmptyClass(t *testing.T) {
	got := NormalizeRows([][]int{{0, 0}, {1, 3}})
	closeAll(t, "row 0", got[0], []float64{0, 0})
	closeAll(t, "row 1", got[1], []float64{0.25, 0.75})
}

func TestBinaryLabels(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []bool
		err  string
	}{
		{name: "0 and 1", in: []string{"0", "1", "1.0"}, want: []bool{false, true, true}},
		{name: "-1 and 1", in: []string{"-1", "1"}, want: []bool{false, true}},
		{name: "booleans", in: []string{"true", "False"}, want: []bool{true, false}},
		{name: "not binary", in: []string{"1", "2"}, err: `preds.csv: row 2, field "label": label "2" is not binary`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := binaryLabels("preds.csv", "label", tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %v, %v", got, err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("label %d = %v", i, got[i])
				}
			}
		})
	}
}
