package render

import (
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/plots"
)

func TestMermaidGolden(t *testing.T) {
	tests := []struct {
		name string
		fig  plots.Figure
	}{
		{"line", lineFigure()},
		{"roc", rocFigure()},
		{"bar", barFigure()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Mermaid(tt.fig)
			if !ok {
				t.Fatal("Mermaid returned false")
			}
			golden(t, "mermaid_"+tt.name+".golden", got)
		})
	}
}

func TestMermaidNoForm(t *testing.T) {
	tests := []struct {
		name string
		fig  plots.Figure
		opts MermaidOptions
	}{
		{"scatter", scatterFigure(10), DefaultMermaidOptions()},
		{"confusion", confusionFigure(), DefaultMermaidOptions()},
		{"no points", plots.Figure{Kind: plots.Line, Series: []plots.Series{{X: []float64{1}, Y: []float64{nanValue()}}}}, DefaultMermaidOptions()},
		{"forge without xychart", lineFigure(), MermaidOptions{XYChart: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := MermaidWith(tt.fig, tt.opts); ok || got != "" {
				t.Errorf("MermaidWith = %q, %v; want no chart", got, ok)
			}
		})
	}
}

func TestMermaidEscapesLabels(t *testing.T) {
	f := lineFigure()
	f.Title = "a \"quoted\"\ntitle ``` %% end"
	f.XLabel = `x"`
	got, ok := Mermaid(f)
	if !ok {
		t.Fatal("no chart")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(got, "```mermaid\n"), "```\n")
	if strings.Contains(body, "`") || strings.Contains(body, "%%") {
		t.Errorf("backticks or %%%% survive:\n%s", got)
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.Count(line, `"`)%2 != 0 {
			t.Errorf("unbalanced quotes in %q", line)
		}
	}
}

func TestMermaidBoundsPoints(t *testing.T) {
	got, ok := Mermaid(bigLine(5000))
	if !ok {
		t.Fatal("no chart")
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "line [") {
			if n := strings.Count(line, ",") + 1; n != DefaultMermaidOptions().MaxPoints {
				t.Errorf("line has %d points, want %d", n, DefaultMermaidOptions().MaxPoints)
			}
		}
		if _, data, ok := strings.Cut(line, "line ["); ok && strings.ContainsAny(data, "eE") {
			t.Errorf("exponent in %q", line)
		}
	}
}

func TestTableGolden(t *testing.T) {
	long := bigLine(1000)
	long.Series = long.Series[:1]
	tests := []struct {
		name string
		fig  plots.Figure
	}{
		{"line_long_format", lineFigure()},
		{"bar_wide_format", barFigure()},
		{"sampled", long},
		{"confusion", confusionFigure()},
		{"hostile_labels", plots.Figure{Kind: plots.Bar, Title: "</summary><script>x</script>", Series: []plots.Series{
			{Name: "a|b", Side: plots.Head, X: []float64{0}, Y: []float64{1}, Categories: []string{"<img src=x>\nnext"}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "table_"+tt.name+".golden", Table(tt.fig))
		})
	}
}

func TestConfusionTable(t *testing.T) {
	m := confusionFigure().Matrix
	noBase := *m
	noBase.Base = nil
	ragged := *m
	ragged.Base = [][]int{{1, 2}}
	tests := []struct {
		name       string
		m          *plots.Matrix
		normalized bool
	}{
		{"counts", m, false},
		{"normalized", m, true},
		{"no_base", &noBase, false},
		{"base_of_another_shape", &ragged, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "confusion_"+tt.name+".golden", ConfusionTable(tt.m, tt.normalized))
		})
	}
}

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name string
		fig  plots.Figure
		opts MermaidOptions
	}{
		{"roc", rocFigure(), DefaultMermaidOptions()},
		{"roc_without_xychart", rocFigure(), MermaidOptions{}},
		{"scatter", scatterFigure(5), DefaultMermaidOptions()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "markdown_"+tt.name+".golden", Markdown(tt.fig, tt.opts))
		})
	}
}

func TestSampleRows(t *testing.T) {
	tests := []struct {
		name string
		n, k int
		want int
	}{
		{"fewer than the limit", 3, 20, 3},
		{"more than the limit", 1000, 20, 20},
		{"none", 0, 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sampleRows(tt.n, tt.k)
			if len(got) != tt.want {
				t.Fatalf("len = %d, want %d", len(got), tt.want)
			}
			if tt.n > 0 && (got[0] != 0 || got[len(got)-1] != tt.n-1) {
				t.Errorf("first/last = %d/%d, want 0/%d", got[0], got[len(got)-1], tt.n-1)
			}
		})
	}
}

// A confusion_normalized plot shows row shares, not counts, in the
// comment and in its table.
func TestNormalizedMatrixShowsShares(t *testing.T) {
	f := plots.Figure{ID: "cm", Kind: plots.Confusion, Title: "cm", Matrix: &plots.Matrix{
		Labels: []string{"a", "b"}, Head: [][]int{{3, 1}, {0, 4}}, Normalized: true,
	}}
	for name, out := range map[string]string{"Markdown": Markdown(f, MermaidOptions{XYChart: true}), "Table": Table(f)} {
		if !strings.Contains(out, "0.75") || strings.Contains(out, "| 3 ") {
			t.Errorf("%s of a normalized matrix shows counts, want row shares (0.75):\n%s", name, out)
		}
	}
}
