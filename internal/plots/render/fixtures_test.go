package render

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/plots"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

func lineFigure() plots.Figure {
	return plots.Figure{
		ID: "train/loss.tsv", Kind: plots.Line, Title: "Training loss", XLabel: "step", YLabel: "loss",
		Series: []plots.Series{
			{Name: "loss", Side: plots.Base, X: []float64{0, 1, 2, 3, 4}, Y: []float64{2.3, 1.5, 1.1, 0.9, 0.85}, Points: 5},
			{Name: "loss", Side: plots.Head, X: []float64{0, 2, 4, 6}, Y: []float64{2.2, 1.0, 0.7, 0.6}, Points: 4},
		},
	}
}

func rocFigure() plots.Figure {
	return plots.Figure{
		ID: "eval/roc.json", Kind: plots.ROC, Title: "ROC", XLabel: "fpr", YLabel: "tpr",
		Series: []plots.Series{
			{Name: "roc", Side: plots.Base, X: []float64{0, 0.1, 0.3, 1}, Y: []float64{0, 0.6, 0.85, 1}, Summary: "AUC 0.87"},
			{Name: "roc", Side: plots.Head, X: []float64{0, 0.05, 0.2, 1}, Y: []float64{0, 0.7, 0.93, 1}, Summary: "AUC 0.93"},
		},
	}
}

func barFigure() plots.Figure {
	return plots.Figure{
		ID: "eval/per_class.json", Kind: plots.Bar, Title: "F1 per class", XLabel: "class", YLabel: "f1",
		Series: []plots.Series{
			{Name: "f1", Side: plots.Base, X: []float64{0, 1, 2}, Y: []float64{0.8, 0.6, 0.9}, Categories: []string{"cat", "dog", "bird"}},
			{Name: "f1", Side: plots.Head, X: []float64{0, 1, 2}, Y: []float64{0.85, 0.7, 0.88}, Categories: []string{"cat", "dog", "bird"}},
		},
	}
}

func scatterFigure(n int) plots.Figure {
	f := plots.Figure{ID: "eval/pred.csv", Kind: plots.Scatter, Title: "Predicted vs actual", XLabel: "actual", YLabel: "predicted"}
	for k, side := range []plots.Side{plots.Base, plots.Head} {
		s := plots.Series{Name: "pred", Side: side}
		for i := range n {
			x := float64(i) / float64(n) * 10
			s.X = append(s.X, x)
			s.Y = append(s.Y, x+math.Sin(float64(i)*12.9898+float64(k))*(1.5-float64(k)))
		}
		f.Series = append(f.Series, s)
	}
	return f
}

func confusionFigure() plots.Figure {
	return plots.Figure{
		ID: "eval/confusion.json", Kind: plots.Confusion, Title: "Confusion",
		Matrix: &plots.Matrix{
			Labels: []string{"cat", "dog", "bird"},
			Head:   [][]int{{50, 3, 2}, {4, 40, 6}, {1, 2, 30}},
			Base:   [][]int{{45, 6, 4}, {4, 38, 8}, {1, 2, 30}},
		},
	}
}

// bigLine is n points of a noisy curve, for the size bounds.
func bigLine(n int) plots.Figure {
	f := plots.Figure{ID: "big", Kind: plots.Line, Title: "big", XLabel: "step", YLabel: "loss"}
	for k, side := range []plots.Side{plots.Base, plots.Head} {
		s := plots.Series{Name: "loss", Side: side, Points: n}
		for i := range n {
			s.X = append(s.X, float64(i))
			s.Y = append(s.Y, 1/(1+float64(i)/1000)+0.05*math.Sin(float64(i)*7.31+float64(k)))
		}
		f.Series = append(f.Series, s)
	}
	return f
}
