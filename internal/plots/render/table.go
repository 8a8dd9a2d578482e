package render

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/plots"
)

// MaxTableRows bounds the rows Table writes: a comment has a size limit,
// and a reader wants the shape, not every step.
const MaxTableRows = 20

// Table returns f's numbers as a markdown table inside a collapsed
// <details> block, for renderers without mermaid and for readers who want
// the values. Long series show MaxTableRows evenly spaced rows (the first
// and last always) and say so.
func Table(f plots.Figure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<details><summary>%s: numbers</summary>\n\n", html.EscapeString(figureTitle(f)))
	switch {
	case f.Kind == plots.Confusion && f.Matrix != nil:
		b.WriteString(ConfusionTable(f.Matrix, f.Matrix.Normalized))
	case len(f.Series) == 0:
		b.WriteString("No data.\n")
	case sameX(f.Series):
		wideTable(&b, f)
	default:
		longTable(&b, f)
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// Markdown is what the comment shows for f: the mermaid chart with its
// legend line when the forge can draw one, the figure's notes, then Table.
// A confusion matrix is shown as ConfusionTable directly, since the table
// is the chart.
func Markdown(f plots.Figure, o MermaidOptions) string {
	var b strings.Builder
	if f.Kind == plots.Confusion && f.Matrix != nil {
		fmt.Fprintf(&b, "**%s**\n\n", cell(figureTitle(f)))
		b.WriteString(ConfusionTable(f.Matrix, f.Matrix.Normalized))
	} else if chart, ok := MermaidWith(f, o); ok {
		b.WriteString(chart)
		b.WriteString("\n" + cell(LegendLine(f)) + "\n")
	}
	for _, n := range f.Notes {
		b.WriteString("\n_" + cell(n) + "_\n")
	}
	b.WriteString("\n")
	if f.Kind != plots.Confusion || f.Matrix == nil {
		b.WriteString(Table(f))
	}
	return b.String()
}

func wideTable(b *strings.Builder, f plots.Figure) {
	head := []string{cell(axisName(f.XLabel, "x"))}
	for _, s := range f.Series {
		head = append(head, cell(seriesLabel(s)))
	}
	writeRow(b, head)
	writeRule(b, len(head))
	first := f.Series[0]
	n := len(first.X)
	for _, s := range f.Series {
		n = min(n, len(s.Y))
	}
	rows := sampleRows(n, MaxTableRows)
	for _, i := range rows {
		row := []string{cell(xText(first, i))}
		for _, s := range f.Series {
			row = append(row, fmtNum(s.Y[i]))
		}
		writeRow(b, row)
	}
	sampledNote(b, len(rows), n)
}

func longTable(b *strings.Builder, f plots.Figure) {
	writeRow(b, []string{"series", cell(axisName(f.XLabel, "x")), cell(axisName(f.YLabel, "y"))})
	writeRule(b, 3)
	// Each series gets its share of the row budget, so a long base does
	// not crowd out the head.
	per := max(MaxTableRows/len(f.Series), 2)
	shown, total := 0, 0
	for _, s := range f.Series {
		n := min(len(s.X), len(s.Y))
		rows := sampleRows(n, per)
		for _, i := range rows {
			writeRow(b, []string{cell(seriesLabel(s)), cell(xText(s, i)), fmtNum(s.Y[i])})
		}
		shown += len(rows)
		total += n
	}
	sampledNote(b, shown, total)
}

func sampledNote(b *strings.Builder, shown, total int) {
	if shown < total {
		fmt.Fprintf(b, "\nShowing %d of %d rows, evenly spaced; the SVG in the report artifact has them all.\n", shown, total)
	}
}

// sampleRows picks at most k of n indices, evenly spaced, keeping the
// first and last.
func sampleRows(n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, k)
	for j := range k {
		i := j * (n - 1) / (k - 1)
		if len(out) == 0 || out[len(out)-1] != i {
			out = append(out, i)
		}
	}
	return out
}

func xText(s plots.Series, i int) string {
	if i < len(s.Categories) {
		return s.Categories[i]
	}
	return fmtNum(s.X[i])
}

func axisName(label, fallback string) string {
	if strings.TrimSpace(label) == "" {
		return fallback
	}
	return label
}

// ConfusionTable returns m as a markdown table, actual classes as rows and
// predicted as columns. Each cell is the head's value followed by its
// change from the base, "12 (+3)"; without a base (or one of another
// shape) cells hold the head's value alone. normalized shows each row as
// fractions of its actual class (recall per class) instead of counts.
func ConfusionTable(m *plots.Matrix, normalized bool) string {
	if m == nil || len(m.Labels) == 0 {
		return "No confusion matrix.\n"
	}
	var b strings.Builder
	head := []string{"actual \\ predicted"}
	for _, l := range m.Labels {
		head = append(head, cell(l))
	}
	writeRow(&b, head)
	writeRule(&b, len(head))
	hasBase := sameShape(m.Base, len(m.Labels))
	for i, l := range m.Labels {
		row := []string{"**" + cell(l) + "**"}
		for j := range m.Labels {
			h := matrixValue(m.Head, i, j, normalized)
			text := confusionNum(h, normalized)
			if hasBase {
				text += " (" + signed(h-matrixValue(m.Base, i, j, normalized), normalized) + ")"
			}
			row = append(row, text)
		}
		writeRow(&b, row)
	}
	if !hasBase {
		b.WriteString("\nNo base matrix to compare with.\n")
	} else {
		b.WriteString("\nEach cell: head (change from base).\n")
	}
	return b.String()
}

func sameShape(c [][]int, n int) bool {
	if len(c) != n {
		return false
	}
	for _, r := range c {
		if len(r) != n {
			return false
		}
	}
	return true
}

// matrixValue reads cell (i, j), 0 where a ragged matrix lacks it, as a
// fraction of row i when normalized.
func matrixValue(c [][]int, i, j int, normalized bool) float64 {
	if i >= len(c) || j >= len(c[i]) {
		return 0
	}
	v := float64(c[i][j])
	if !normalized {
		return v
	}
	sum := 0
	for _, x := range c[i] {
		sum += x
	}
	if sum == 0 {
		return 0
	}
	return v / float64(sum)
}

func confusionNum(v float64, normalized bool) string {
	if normalized {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func signed(d float64, normalized bool) string {
	s := confusionNum(d, normalized)
	switch {
	case s == "0" || s == "0.00" || s == "-0" || s == "-0.00":
		return "±0"
	case d > 0:
		return "+" + s
	default:
		return s
	}
}

// cell makes user text safe in a markdown table cell on GitHub and GitLab,
// which render HTML in comments: pipes would split the cell, newlines end
// the row, and < > & could start markup.
func cell(s string) string {
	s = html.EscapeString(s)
	return strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func writeRule(b *strings.Builder, n int) {
	b.WriteString("|" + strings.Repeat(" --- |", n) + "\n")
}
