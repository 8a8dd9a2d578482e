// Package render draws plots.Figure values for people: mermaid charts and
// markdown tables for the sticky comment, self-contained SVG and HTML files
// for the report directory a job uploads as an artifact.
package render

import (
	"math"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/plots"
)

// finitePoints returns the points of s whose coordinates are both finite,
// sorted as given; NaN and ±Inf cannot be placed on any axis.
func finitePoints(s plots.Series) (xs, ys []float64) {
	n := min(len(s.X), len(s.Y))
	xs = make([]float64, 0, n)
	ys = make([]float64, 0, n)
	for i := range n {
		if isFinite(s.X[i]) && isFinite(s.Y[i]) {
			xs = append(xs, s.X[i])
			ys = append(ys, s.Y[i])
		}
	}
	return xs, ys
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fmtNum writes v with at most six significant digits and never in
// exponent form: mermaid's number token has no exponent, and tables read
// better without one.
func fmtNum(v float64) string {
	if !isFinite(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if err != nil {
		r = v
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// seriesLabel names a series the way legends and tables show it: the side
// first, because base against head is what a reviewer looks for.
func seriesLabel(s plots.Series) string {
	var b strings.Builder
	if s.Side != "" {
		b.WriteString(string(s.Side))
	}
	if s.Name != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s.Name)
	}
	if s.Summary != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("(" + s.Summary + ")")
	}
	if b.Len() == 0 {
		return "series"
	}
	return b.String()
}

// figureTitle is the title to show: the plot's own, else its ID.
func figureTitle(f plots.Figure) string {
	if f.Title != "" {
		return f.Title
	}
	if f.ID != "" {
		return f.ID
	}
	return string(f.Kind)
}

// niceTicks returns about n round tick values (1, 2 or 5 times a power of
// ten) covering [lo, hi], and the axis range widened to the outer ticks.
func niceTicks(lo, hi float64, n int) (ticks []float64, min, max float64) {
	if !(hi > lo) {
		d := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-d, hi+d
	}
	raw := (hi - lo) / float64(max1(n-1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	switch r := raw / mag; {
	case r <= 1:
		step = mag
	case r <= 2:
		step = 2 * mag
	case r <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	min = math.Floor(lo/step) * step
	max = math.Ceil(hi/step) * step
	for i := 0; ; i++ {
		v := min + float64(i)*step
		if v > max+step/2 {
			break
		}
		// Round away the float noise of min + i*step (0.30000000000000004).
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks, min, max
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
