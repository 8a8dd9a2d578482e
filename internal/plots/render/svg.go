package render

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/plots"
)

// MaxSVGBytes is the size every SVG stays under, whatever the number of
// points: artifacts are browsed in a forge's file viewer, which gives up on
// large files.
const MaxSVGBytes = 200 << 10

// ErrNoData is returned for a figure with nothing to draw.
var ErrNoData = errors.New("figure has no data to draw")

// Canvas and plot area, in px. The plot area leaves room for the title
// above and for the axis label and legend below.
const (
	svgW       = 720.0
	svgH       = 460.0
	plotLeft   = 72.0
	plotRight  = svgW - 24
	plotTop    = 48.0
	plotBottom = svgH - 104
)

// Point budgets for the whole figure. A polyline point costs about 12
// bytes and a scatter dot about 14, so these keep the file near 150 KB at
// worst with room for axes and text.
const (
	linePointBudget    = 12000
	scatterPointBudget = 8000
)

// palette is matplotlib's tab10: distinct in colour and in lightness.
var palette = [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// SVG draws f as a self-contained SVG document: no script, no links, no
// web fonts, so it shows the same in a browser, an artifact viewer or an
// <img>. Every text in it comes from user files and is escaped.
//
// Lines keep their shape at any length: per pixel column only the first,
// lowest, highest and last points are kept (M4), and coordinates are
// rounded to 0.1 px. Scatter points are binned to a pixel grid, coarser
// until the figure fits its budget, and a note under the plot says so.
func SVG(f plots.Figure) ([]byte, error) {
	w := &svgWriter{}
	w.open(figureTitle(f))
	var err error
	switch f.Kind {
	case plots.Confusion:
		err = drawConfusion(w, f)
	case plots.Bar:
		err = drawBars(w, f)
	default:
		err = drawXY(w, f)
	}
	if err != nil {
		return nil, fmt.Errorf("drawing %s: %w", figureTitle(f), err)
	}
	w.b.WriteString("</svg>\n")
	if w.b.Len() > MaxSVGBytes {
		return nil, fmt.Errorf("drawing %s: SVG is %d bytes, over the %d limit", figureTitle(f), w.b.Len(), MaxSVGBytes)
	}
	return w.b.Bytes(), nil
}

type svgWriter struct{ b bytes.Buffer }

func (w *svgWriter) open(title string) {
	fmt.Fprintf(&w.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">`+"\n",
		px(svgW), px(svgH), px(svgW), px(svgH))
	w.b.WriteString("<title>")
	w.esc(title)
	w.b.WriteString("</title>\n")
	fmt.Fprintf(&w.b, `<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", px(svgW), px(svgH))
	w.text(svgW/2, 28, "middle", 16, `font-weight="bold"`, truncate(title, 90))
}

func (w *svgWriter) esc(s string) {
	// EscapeText cannot fail on a bytes.Buffer; it also replaces runes
	// XML does not allow with U+FFFD.
	_ = xml.EscapeText(&w.b, []byte(s))
}

// text writes s at (x, y); extra is trusted attribute text from this file.
func (w *svgWriter) text(x, y float64, anchor string, size float64, extra, s string) {
	fmt.Fprintf(&w.b, `<text x="%s" y="%s" text-anchor="%s" font-size="%s"`, px(x), px(y), anchor, px(size))
	if extra != "" {
		w.b.WriteString(" " + extra)
	}
	w.b.WriteString(">")
	w.esc(s)
	w.b.WriteString("</text>\n")
}

func (w *svgWriter) line(x1, y1, x2, y2 float64, stroke string) {
	fmt.Fprintf(&w.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", px(x1), px(y1), px(x2), px(y2), stroke)
}

// px writes a coordinate rounded to 0.1 px, the finest a screen shows.
func px(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// scale maps data values onto pixels.
type scale struct{ d0, d1, p0, p1 float64 }

func (s scale) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.p0 + s.p1) / 2
	}
	return s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
}

// axes draws the frame, grid, ticks and axis labels and returns the scales.
func (w *svgWriter) axes(f plots.Figure, xlo, xhi, ylo, yhi float64, xTicks bool) (scale, scale) {
	yt, ylo, yhi := niceTicks(ylo, yhi, 6)
	ys := scale{ylo, yhi, plotBottom, plotTop}
	for _, t := range yt {
		y := ys.at(t)
		w.line(plotLeft, y, plotRight, y, "#e5e5e5")
		w.line(plotLeft-5, y, plotLeft, y, "#333333")
		w.text(plotLeft-8, y+4, "end", 11, "", fmtNum(t))
	}
	xs := scale{xlo, xhi, plotLeft, plotRight}
	if xTicks {
		xt, lo, hi := niceTicks(xlo, xhi, 8)
		xs = scale{lo, hi, plotLeft, plotRight}
		for _, t := range xt {
			x := xs.at(t)
			w.line(x, plotTop, x, plotBottom, "#f0f0f0")
			w.line(x, plotBottom, x, plotBottom+5, "#333333")
			w.text(x, plotBottom+18, "middle", 11, "", fmtNum(t))
		}
	}
	fmt.Fprintf(&w.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333333"/>`+"\n",
		px(plotLeft), px(plotTop), px(plotRight-plotLeft), px(plotBottom-plotTop))
	w.text((plotLeft+plotRight)/2, plotBottom+38, "middle", 12, "", truncate(axisName(f.XLabel, "x"), 80))
	cy := (plotTop + plotBottom) / 2
	w.text(18, cy, "middle", 12, fmt.Sprintf(`transform="rotate(-90 18 %s)"`, px(cy)), truncate(axisName(f.YLabel, "y"), 60))
	return xs, ys
}

// seriesStyles gives each series a colour and dash. When all series share
// a name (base and head of one metric) colour follows the side; otherwise
// it follows the name, and the base is dashed so the pair still reads as
// one metric.
func seriesStyles(series []plots.Series) []style {
	byName := false
	for _, s := range series {
		if s.Name != series[0].Name {
			byName = true
		}
	}
	keys := map[string]int{}
	out := make([]style, len(series))
	for i, s := range series {
		k := string(s.Side)
		if byName {
			k = s.Name
		}
		if _, ok := keys[k]; !ok {
			keys[k] = len(keys)
		}
		out[i] = style{color: palette[keys[k]%len(palette)], dashed: s.Side == plots.Base}
	}
	return out
}

type style struct {
	color  string
	dashed bool
}

func (s style) strokeAttrs() string {
	a := `fill="none" stroke="` + s.color + `" stroke-width="2" stroke-linejoin="round"`
	if s.dashed {
		a += ` stroke-dasharray="6 4"`
	}
	return a
}

// legend draws one swatch and label per series below the axis label,
// wrapping onto more rows as needed, then the notes.
func (w *svgWriter) legend(series []plots.Series, styles []style, scatter bool, notes []string) {
	x, y := plotLeft, plotBottom+60
	for i, s := range series {
		label := truncate(seriesLabel(s), 48)
		width := 34 + 6.5*float64(len([]rune(label)))
		if x+width > svgW-10 && x > plotLeft {
			x, y = plotLeft, y+18
		}
		st := styles[i]
		if scatter {
			fmt.Fprintf(&w.b, `<circle cx="%s" cy="%s" r="4" fill="%s"/>`+"\n", px(x+11), px(y-4), st.color)
		} else {
			fmt.Fprintf(&w.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" %s/>`+"\n", px(x), px(y-4), px(x+22), px(y-4), st.strokeAttrs())
		}
		w.text(x+28, y, "start", 12, "", label)
		x += width
	}
	w.notes(y, notes)
}

func drawXY(w *svgWriter, f plots.Figure) error {
	all := make([][2][]float64, len(f.Series))
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i, s := range f.Series {
		x, y := finitePoints(s)
		if f.Kind != plots.Scatter {
			sortByX(x, y)
		}
		all[i] = [2][]float64{x, y}
		for j := range x {
			xlo, xhi = math.Min(xlo, x[j]), math.Max(xhi, x[j])
			ylo, yhi = math.Min(ylo, y[j]), math.Max(yhi, y[j])
		}
	}
	if math.IsInf(xlo, 0) {
		return ErrNoData
	}
	if f.Kind == plots.ROC || f.Kind == plots.PR {
		xlo, xhi = math.Min(xlo, 0), math.Max(xhi, 1)
		ylo, yhi = math.Min(ylo, 0), math.Max(yhi, 1)
	}
	xs, ys := w.axes(f, xlo, xhi, ylo, yhi, true)
	styles := seriesStyles(f.Series)
	notes := append([]string(nil), f.Notes...)
	// No clip path: the axes cover every point, and an id would clash
	// when HTML puts several SVGs on one page.
	w.b.WriteString("<g>\n")
	if f.Kind == plots.ROC {
		// The chance diagonal a ROC curve is judged against.
		fmt.Fprintf(&w.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#bbbbbb" stroke-dasharray="2 3"/>`+"\n",
			px(xs.at(0)), px(ys.at(0)), px(xs.at(1)), px(ys.at(1)))
	}
	if f.Kind == plots.Scatter {
		var cell float64
		var bins [][][2]float64
		for cell = 1; ; cell *= 2 {
			bins, _ = binPoints(all, xs, ys, cell)
			if countPoints(bins) <= scatterPointBudget || cell >= 64 {
				break
			}
		}
		if cell > 1 {
			notes = append(notes, fmt.Sprintf("Points binned to a %g px grid to keep the file small.", cell))
		}
		for i, b := range bins {
			var d strings.Builder
			for _, p := range b {
				d.WriteString("M" + px(p[0]) + " " + px(p[1]) + "h0")
			}
			fmt.Fprintf(&w.b, `<path d="%s" stroke="%s" stroke-width="5" stroke-linecap="round" stroke-opacity="0.65"/>`+"\n", d.String(), styles[i].color)
		}
	} else {
		var col float64
		var lines [][][2]float64
		for col = 1; ; col *= 2 {
			lines = reduceLines(all, xs, ys, col)
			if countPoints(lines) <= linePointBudget || col >= 64 {
				break
			}
		}
		for i, l := range lines {
			if len(l) == 0 {
				continue
			}
			if len(l) == 1 {
				fmt.Fprintf(&w.b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", px(l[0][0]), px(l[0][1]), styles[i].color)
				continue
			}
			var d strings.Builder
			for j, p := range l {
				if j > 0 {
					d.WriteByte(' ')
				}
				d.WriteString(px(p[0]) + "," + px(p[1]))
			}
			fmt.Fprintf(&w.b, `<polyline points="%s" %s/>`+"\n", d.String(), styles[i].strokeAttrs())
		}
	}
	w.b.WriteString("</g>\n")
	w.legend(f.Series, styles, f.Kind == plots.Scatter, notes)
	return nil
}

func countPoints(s [][][2]float64) int {
	n := 0
	for _, p := range s {
		n += len(p)
	}
	return n
}

// reduceLines projects each series and keeps, per column of col px, the
// first, lowest, highest and last point in drawing order (M4): the drawn
// polyline is then the same as the full one at that resolution. Points
// that round to the previous one are dropped.
func reduceLines(series [][2][]float64, xs, ys scale, col float64) [][][2]float64 {
	out := make([][][2]float64, len(series))
	for i, s := range series {
		x, y := s[0], s[1]
		var res [][2]float64
		add := func(p [2]float64) {
			p = [2]float64{math.Round(p[0]*10) / 10, math.Round(p[1]*10) / 10}
			if n := len(res); n > 0 && res[n-1] == p {
				return
			}
			res = append(res, p)
		}
		for j := 0; j < len(x); {
			bucket := math.Floor(xs.at(x[j]) / col)
			first, lo, hi, last := j, j, j, j
			k := j
			for ; k < len(x) && math.Floor(xs.at(x[k])/col) == bucket; k++ {
				if y[k] < y[lo] {
					lo = k
				}
				if y[k] > y[hi] {
					hi = k
				}
				last = k
			}
			for _, idx := range sortedUnique(first, lo, hi, last) {
				add([2]float64{xs.at(x[idx]), ys.at(y[idx])})
			}
			j = k
		}
		out[i] = res
	}
	return out
}

func sortedUnique(v ...int) []int {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	out := v[:0]
	for i, x := range v {
		if i == 0 || x != v[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// binPoints projects scatter points and keeps one per grid cell of cell
// px, at the cell's centre, per series.
func binPoints(series [][2][]float64, xs, ys scale, cell float64) ([][][2]float64, int) {
	out := make([][][2]float64, len(series))
	total := 0
	for i, s := range series {
		seen := map[[2]int64]bool{}
		for j := range s[0] {
			cx := int64(math.Floor(xs.at(s[0][j]) / cell))
			cy := int64(math.Floor(ys.at(s[1][j]) / cell))
			k := [2]int64{cx, cy}
			if seen[k] {
				continue
			}
			seen[k] = true
			p := [2]float64{(float64(cx) + 0.5) * cell, (float64(cy) + 0.5) * cell}
			if cell == 1 {
				p = [2]float64{xs.at(s[0][j]), ys.at(s[1][j])}
			}
			out[i] = append(out[i], p)
		}
		total += len(out[i])
	}
	return out, total
}

func drawBars(w *svgWriter, f plots.Figure) error {
	cats, values := barMatrix(f.Series)
	if len(cats) == 0 {
		return ErrNoData
	}
	notes := append([]string(nil), f.Notes...)
	// Past this many bars they are under a pixel wide and the file grows
	// for nothing; the table has the rest.
	maxCats := max(1, 1200/max(1, len(values)))
	if len(cats) > maxCats {
		notes = append(notes, fmt.Sprintf("First %d of %d categories shown.", maxCats, len(cats)))
		cats = cats[:maxCats]
	}
	ylo, yhi := 0.0, 0.0
	for _, row := range values {
		for _, v := range row[:len(cats)] {
			if isFinite(v) {
				ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
			}
		}
	}
	_, ys := w.axes(f, 0, 1, ylo, yhi, false)
	styles := seriesStyles(f.Series)
	band := (plotRight - plotLeft) / float64(len(cats))
	barW := band * 0.8 / float64(len(values))
	zero := ys.at(0)
	every := max(1, int(math.Ceil(float64(len(cats))*40/(plotRight-plotLeft))))
	for c, name := range cats {
		x0 := plotLeft + band*float64(c) + band*0.1
		for s, row := range values {
			v := row[c]
			if !isFinite(v) {
				continue
			}
			y := ys.at(v)
			fmt.Fprintf(&w.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`,
				px(x0+barW*float64(s)), px(math.Min(y, zero)), px(barW), px(math.Abs(zero-y)), styles[s].color)
			if styles[s].dashed {
				w.b.WriteString(` fill-opacity="0.55"`)
			}
			w.b.WriteString("/>\n")
		}
		if c%every == 0 {
			cx := plotLeft + band*(float64(c)+0.5)
			w.text(cx, plotBottom+16, "middle", 11, "", truncate(name, max(3, int(band*float64(every)/6.5))))
		}
	}
	w.line(plotLeft, zero, plotRight, zero, "#333333")
	w.legendBars(f.Series, styles, notes)
	return nil
}

// legendBars is legend with filled swatches.
func (w *svgWriter) legendBars(series []plots.Series, styles []style, notes []string) {
	x, y := plotLeft, plotBottom+60
	for i, s := range series {
		label := truncate(seriesLabel(s), 48)
		width := 34 + 6.5*float64(len([]rune(label)))
		if x+width > svgW-10 && x > plotLeft {
			x, y = plotLeft, y+18
		}
		fmt.Fprintf(&w.b, `<rect x="%s" y="%s" width="14" height="10" fill="%s"`, px(x+4), px(y-10), styles[i].color)
		if styles[i].dashed {
			w.b.WriteString(` fill-opacity="0.55"`)
		}
		w.b.WriteString("/>\n")
		w.text(x+24, y, "start", 12, "", label)
		x += width
	}
	w.notes(y, notes)
}

// notes writes the figure's notes in small grey lines below y, as many as
// fit in the picture.
func (w *svgWriter) notes(y float64, notes []string) {
	for _, n := range notes {
		y += 16
		if y > svgH-4 {
			break
		}
		w.text(plotLeft, y, "start", 10, `fill="#555555"`, truncate(n, 110))
	}
}
