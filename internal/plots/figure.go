// Package plots turns the plots a project defines (DVC's plots syntax, in
// mlci.yaml or dvc.yaml) into figures: named series of points, or a
// confusion matrix, for the head of a change and its baseline. Rendering
// (mermaid, markdown tables, SVG, HTML) is in plots/render, so this package
// holds only data and the arithmetic on it.
//
// Definitions follow DVC's top-level plots syntax and template names. Two
// templates are mlci's own, for curves DVC users otherwise precompute:
// roc and precision_recall read per-example data, x naming the true label
// (1/0, 1/-1 or true/false) and y the score, e.g. "x: label, y: score";
// the figure carries the curve and its AUC or average precision, computed
// as scikit-learn does. Precomputed points drawn with a line template
// (x: fpr, y: tpr, or x: recall, y: precision) become the same curves,
// their area taken from the points.
package plots

// Kind is what a figure shows.
type Kind string

// The kinds of figures.
const (
	Line      Kind = "line"
	Scatter   Kind = "scatter"
	Bar       Kind = "bar"
	Confusion Kind = "confusion"
	ROC       Kind = "roc"
	PR        Kind = "precision_recall"
)

// Figure is one plot, ready to render: base against head.
type Figure struct {
	// ID names the plot as its definition does (a file path or a key).
	ID     string
	Kind   Kind
	Title  string
	XLabel string
	YLabel string
	// Series are the lines, points or bars; for ROC and PR curves one per
	// side, with the area (AUC, average precision) in Summary.
	Series []Series
	// Matrix is set for Confusion and nil otherwise.
	Matrix *Matrix
	// Notes say what was left out or worked around (a base without the
	// file, points downsampled), one line each.
	Notes []string
}

// Side says which revision a series comes from.
type Side string

// The sides of a comparison.
const (
	Base Side = "base"
	Head Side = "head"
)

// Series is one sequence of points.
type Series struct {
	Name string
	Side Side
	X, Y []float64
	// Categories label the x positions of a bar chart (X is then 0..n-1);
	// nil for numeric x.
	Categories []string
	// Summary is one number the legend shows with its label, such as
	// "AUC 0.934"; "" when none.
	Summary string
	// Points is how many points the data had before downsampling.
	Points int
}

// Matrix is a confusion matrix: Counts[i][j] examples whose actual class is
// Labels[i] were predicted as Labels[j]. Base is nil when the baseline has
// none.
type Matrix struct {
	Labels []string
	Head   [][]int
	Base   [][]int
	// Normalized asks for each row shown as shares of its total (DVC's
	// confusion_normalized); NormalizeRows computes them from the counts.
	Normalized bool
}
