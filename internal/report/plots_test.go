package report

import (
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/plots"
	plotrender "github.com/mlci/mlci/internal/plots/render"
)

func plotInput() Input {
	loss := plots.Figure{ID: "loss.csv", Kind: plots.Line, Title: "loss", XLabel: "step", YLabel: "loss",
		Series: []plots.Series{
			{Name: "loss", Side: plots.Base, X: []float64{0, 1, 2, 3}, Y: []float64{1, 0.8, 0.6, 0.5}, Points: 4},
			{Name: "loss", Side: plots.Head, X: []float64{0, 1, 2, 3}, Y: []float64{1, 0.7, 0.5, 0.4}, Points: 4},
		}}
	cm := plots.Figure{ID: "cm.csv", Kind: plots.Confusion, Title: "confusion",
		Matrix: &plots.Matrix{Labels: []string{"a", "b"}, Head: [][]int{{5, 1}, {0, 4}}, Base: [][]int{{4, 2}, {1, 3}}}}
	return Input{Plots: []plots.Figure{loss, cm}, PlotsDir: "mlci-plots", Extra: []string{"## My notes\n\n![img](a.png)\n"}}
}

func TestRenderPlots(t *testing.T) {
	noXY := plotrender.MermaidOptions{}
	tests := []struct {
		name          string
		mermaid       *plotrender.MermaidOptions
		limit         int
		want, notWant []string
		truncated     bool
	}{
		{name: "charts and tables", want: []string{"### Plots", "```mermaid", "xychart-beta", "| **a** ", "5 (+1)", "## My notes"}},
		{name: "forge without xychart", mermaid: &noXY, want: []string{"### Plots", "<details>", "5 (+1)"}, notWant: []string{"```mermaid"}},
		{name: "over the limit: plots collapse first", limit: 400,
			want:    []string{"### Plots", "2 plots are in the report directory (mlci-plots/index.html)", "## My notes"},
			notWant: []string{"```mermaid", "5 (+1)", "shortened"}, truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := plotInput()
			in.Mermaid = tt.mermaid
			body, truncated := Render(in, tt.limit)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("report lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("report has %q:\n%s", w, body)
				}
			}
			if truncated != tt.truncated {
				t.Errorf("truncated = %v, want %v", truncated, tt.truncated)
			}
			if tt.limit > 0 && len([]rune(body)) > tt.limit {
				t.Errorf("report is %d characters, over %d", len([]rune(body)), tt.limit)
			}
			if i, j := strings.Index(body, "### Plots"), strings.Index(body, "## My notes"); i < 0 || j < i {
				t.Errorf("extra markdown is not after the plots:\n%s", body)
			}
		})
	}
}
