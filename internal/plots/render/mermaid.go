package render

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/mlci/mlci/internal/plots"
)

// Where xychart-beta renders.
//
// mermaid added xychart-beta in 10.5.0 (packages/mermaid/src/diagrams/
// xychart, released October 2023); 11.x also accepts plain "xychart", which
// we do not use because 10.x does not know it.
//
// GitHub renders mermaid 11.x, which has it. GitLab bundles mermaid through
// npm aliases in its package.json: at gitlabhq/gitlabhq commit
// 5240645741600b0d2e6a542e9f5bb09f19a94f9f, "mermaid-v11":
// "npm:mermaid@11.16.1" and "mermaid-v12": "npm:mermaid@12.0.0", loaded by
// app/assets/javascripts/lib/mermaid_v11.js and mermaid_v12.js, so current
// GitLab.com has it too. Self-managed GitLab older than its move to mermaid
// 10.5 (GitLab 13.x shipped 8.9, 16.x early releases 10.x < 10.5) shows a
// syntax error box instead of a chart: MermaidOptions.XYChart = false is
// for such a forge, and the caller then shows the table alone.

// MermaidOptions says what the forge's mermaid can draw.
type MermaidOptions struct {
	// XYChart is whether the forge's mermaid knows xychart-beta (10.5.0+).
	XYChart bool
	// MaxPoints bounds the x positions of a line chart; mermaid draws every
	// one, and past about a hundred a comment chart is only slower, not
	// clearer.
	MaxPoints int
}

// DefaultMermaidOptions fits GitHub and current GitLab.
func DefaultMermaidOptions() MermaidOptions {
	return MermaidOptions{XYChart: true, MaxPoints: 100}
}

// Mermaid is MermaidWith(f, DefaultMermaidOptions()).
func Mermaid(f plots.Figure) (string, bool) {
	return MermaidWith(f, DefaultMermaidOptions())
}

// MermaidWith returns a ```mermaid block drawing f as an xychart-beta, and
// false when f has no such form (scatter, confusion, no finite points, or a
// forge without xychart): the caller then shows Table alone.
//
// xychart-beta has no legend, so the series' names and summaries go into
// the title in the order the lines or bars are drawn, and LegendLine says
// the same under the chart.
//
// Series of a line chart share x positions in xychart: a numeric x-axis
// spreads each series' values evenly over its range. So every series is
// resampled onto one grid of up to MaxPoints evenly spaced x values across
// the union of the series' ranges, by linear interpolation; outside a
// series' own range its nearest end value is held, which LegendLine says.
func MermaidWith(f plots.Figure, o MermaidOptions) (string, bool) {
	if !o.XYChart {
		return "", false
	}
	if o.MaxPoints < 2 {
		o.MaxPoints = DefaultMermaidOptions().MaxPoints
	}
	var body string
	var ok bool
	switch f.Kind {
	case plots.Line, plots.ROC, plots.PR:
		body, ok = mermaidLines(f, o.MaxPoints)
	case plots.Bar:
		body, ok = mermaidBars(f)
	default:
		return "", false
	}
	if !ok {
		return "", false
	}
	return "```mermaid\nxychart-beta\n" + body + "```\n", true
}

// LegendLine names the series of a mermaid chart in drawing order, for the
// line under it: "Lines in order: base: loss, head: loss (AUC 0.93)."
func LegendLine(f plots.Figure) string {
	what := "Lines"
	if f.Kind == plots.Bar {
		what = "Bars"
	}
	names := make([]string, 0, len(f.Series))
	for _, s := range f.Series {
		names = append(names, seriesLabel(s))
	}
	line := what + " in order: " + strings.Join(names, ", ") + "."
	if f.Kind != plots.Bar && len(f.Series) > 1 && !sameX(f.Series) {
		line += " Series are resampled to shared x positions; past the end of a series its last value is held."
	}
	return line
}

func mermaidLines(f plots.Figure, maxPoints int) (string, bool) {
	type pts struct{ x, y []float64 }
	var all []pts
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range f.Series {
		x, y := finitePoints(s)
		sortByX(x, y)
		all = append(all, pts{x, y})
		if len(x) > 0 {
			lo, hi = math.Min(lo, x[0]), math.Max(hi, x[len(x)-1])
		}
	}
	if math.IsInf(lo, 0) {
		return "", false
	}
	// Evenly spaced shared x values can be drawn as they are; anything
	// else is resampled onto the full grid, since a few uneven points
	// (a ROC curve's corners) would be bent out of shape by a coarse one.
	n := maxPoints
	if len(all) > 0 && sameX(f.Series) && evenlySpaced(all[0].x) {
		n = min(max(len(all[0].x), 2), maxPoints)
	}
	if hi == lo {
		n = 1
	}
	grid := make([]float64, n)
	for i := range grid {
		if n == 1 {
			grid[i] = lo
			continue
		}
		grid[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	ylo, yhi := math.Inf(1), math.Inf(-1)
	var lines []string
	for _, p := range all {
		if len(p.x) == 0 {
			continue
		}
		vals := make([]string, n)
		for i, gx := range grid {
			v := interpolate(p.x, p.y, gx)
			ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
			vals[i] = fmtNum(v)
		}
		lines = append(lines, "  line ["+strings.Join(vals, ", ")+"]\n")
	}
	if f.Kind == plots.ROC || f.Kind == plots.PR {
		ylo, yhi = math.Min(ylo, 0), math.Max(yhi, 1)
	}
	ylo, yhi = padRange(ylo, yhi)
	var b strings.Builder
	writeHeader(&b, f)
	fmt.Fprintf(&b, "  x-axis %s %s --> %s\n", mermaidString(f.XLabel, "x"), fmtNum(lo), fmtNum(hiOr(lo, hi)))
	fmt.Fprintf(&b, "  y-axis %s %s --> %s\n", mermaidString(f.YLabel, "y"), fmtNum(ylo), fmtNum(yhi))
	for _, l := range lines {
		b.WriteString(l)
	}
	return b.String(), true
}

func mermaidBars(f plots.Figure) (string, bool) {
	cats, values := barMatrix(f.Series)
	if len(cats) == 0 {
		return "", false
	}
	ylo, yhi := 0.0, 0.0
	for _, row := range values {
		for _, v := range row {
			if isFinite(v) {
				ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
			}
		}
	}
	ylo, yhi = padRange(ylo, yhi)
	if ylo > 0 {
		ylo = 0
	}
	var b strings.Builder
	writeHeader(&b, f)
	quoted := make([]string, len(cats))
	for i, c := range cats {
		quoted[i] = mermaidString(c, "?")
	}
	fmt.Fprintf(&b, "  x-axis %s [%s]\n", mermaidString(f.XLabel, "x"), strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "  y-axis %s %s --> %s\n", mermaidString(f.YLabel, "y"), fmtNum(ylo), fmtNum(yhi))
	for _, row := range values {
		vals := make([]string, len(row))
		for i, v := range row {
			if !isFinite(v) {
				v = 0 // a bar the series lacks: xychart needs a number
			}
			vals[i] = fmtNum(v)
		}
		b.WriteString("  bar [" + strings.Join(vals, ", ") + "]\n")
	}
	return b.String(), true
}

// barMatrix lays the series of a bar chart onto the union of their
// categories, in order of first appearance; a category a series lacks is
// NaN there.
func barMatrix(series []plots.Series) (cats []string, values [][]float64) {
	index := map[string]int{}
	for _, s := range series {
		for i := range min(len(s.X), len(s.Y)) {
			c := barCategory(s, i)
			if _, ok := index[c]; !ok {
				index[c] = len(cats)
				cats = append(cats, c)
			}
		}
	}
	for _, s := range series {
		row := make([]float64, len(cats))
		for i := range row {
			row[i] = math.NaN()
		}
		for i := range min(len(s.X), len(s.Y)) {
			row[index[barCategory(s, i)]] = s.Y[i]
		}
		values = append(values, row)
	}
	return cats, values
}

func barCategory(s plots.Series, i int) string {
	if i < len(s.Categories) {
		return s.Categories[i]
	}
	return fmtNum(s.X[i])
}

func writeHeader(b *strings.Builder, f plots.Figure) {
	names := make([]string, 0, len(f.Series))
	for _, s := range f.Series {
		names = append(names, seriesLabel(s))
	}
	title := figureTitle(f)
	if len(names) > 0 {
		title += " — " + strings.Join(names, " vs ")
	}
	fmt.Fprintf(b, "  title %s\n", mermaidString(truncate(title, 120), "plot"))
}

// mermaidString quotes s for xychart's grammar, whose strings end at the
// next double quote and whose lines end at a newline; a backtick run could
// also close the markdown fence around the chart. Those are replaced, and
// "%%" (a mermaid comment outside strings) is broken up to be safe.
func mermaidString(s, empty string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		s = empty
	}
	s = strings.NewReplacer(`"`, "'", "\n", " ", "\r", " ", "`", "'", "%%", "% %").Replace(s)
	return `"` + s + `"`
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func padRange(lo, hi float64) (float64, float64) {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 1
	}
	if hi == lo {
		d := math.Max(math.Abs(lo)*0.1, 1)
		return lo - d, hi + d
	}
	return lo, hi
}

func hiOr(lo, hi float64) float64 {
	if hi == lo {
		return lo + 1
	}
	return hi
}

// sortByX sorts the points by x, keeping the order of equal x (a ROC curve
// has vertical steps).
func sortByX(x, y []float64) {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	xs, ys := make([]float64, len(x)), make([]float64, len(y))
	for i, j := range idx {
		xs[i], ys[i] = x[j], y[j]
	}
	copy(x, xs)
	copy(y, ys)
}

// interpolate returns y at gx on the sorted polyline (x, y), holding the
// end values outside it; at a vertical step it takes the last point.
func interpolate(x, y []float64, gx float64) float64 {
	if gx <= x[0] {
		return y[0]
	}
	if gx >= x[len(x)-1] {
		return y[len(y)-1]
	}
	i := sort.Search(len(x), func(i int) bool { return x[i] > gx })
	x0, x1, y0, y1 := x[i-1], x[i], y[i-1], y[i]
	if x1 == x0 {
		return y1
	}
	return y0 + (y1-y0)*(gx-x0)/(x1-x0)
}

// sameX reports whether all series have the same x values (or the same
// categories), so a table can put them side by side.
func sameX(series []plots.Series) bool {
	for _, s := range series[1:] {
		a := series[0]
		if len(s.X) != len(a.X) || len(s.Categories) != len(a.Categories) {
			return false
		}
		for i := range s.X {
			if s.X[i] != a.X[i] && !(math.IsNaN(s.X[i]) && math.IsNaN(a.X[i])) {
				return false
			}
		}
		for i := range s.Categories {
			if s.Categories[i] != a.Categories[i] {
				return false
			}
		}
	}
	return true
}

func evenlySpaced(x []float64) bool {
	if len(x) < 3 {
		return true
	}
	step := (x[len(x)-1] - x[0]) / float64(len(x)-1)
	for i := 1; i < len(x); i++ {
		if math.Abs(x[i]-x[i-1]-step) > 1e-9*math.Max(1, math.Abs(step)) {
			return false
		}
	}
	return true
}
