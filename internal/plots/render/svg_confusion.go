package render

import (
	"fmt"
	"math"
	"strings"

	"github.com/mlci/mlci/internal/plots"
)

// heatLevels is how many shades the heatmap uses. Cells of one shade share
// one <path>, which keeps a 100-class matrix well under MaxSVGBytes.
const heatLevels = 16

// drawConfusion draws the head's matrix as a heatmap shaded by the row
// fraction (recall per actual class), with the count and the change from
// the base in each cell when the cells are large enough to read.
func drawConfusion(w *svgWriter, f plots.Figure) error {
	m := f.Matrix
	if m == nil || len(m.Labels) == 0 {
		return ErrNoData
	}
	n := len(m.Labels)
	labelW := 0
	for _, l := range m.Labels {
		labelW = max(labelW, len([]rune(truncate(l, 18))))
	}
	left := math.Round(math.Min(40+6.5*float64(labelW), 180))
	top := 110.0
	// Integer cell sizes keep every coordinate an integer: shorter paths.
	cell := math.Floor(math.Min((svgW-left-30)/float64(n), (svgH-top-40)/float64(n)))
	cell = math.Min(math.Max(cell, 1), 80)
	hasBase := sameShape(m.Base, n)

	w.text(left+cell*float64(n)/2, 58, "middle", 12, "", "predicted")
	cy := top + cell*float64(n)/2
	w.text(14, cy, "middle", 12, fmt.Sprintf(`transform="rotate(-90 14 %s)"`, px(cy)), "actual")

	paths := make([]strings.Builder, heatLevels)
	for i := range n {
		for j := range n {
			v := matrixValue(m.Head, i, j, true)
			if v <= 0 {
				continue
			}
			lvl := min(int(v*heatLevels), heatLevels-1)
			fmt.Fprintf(&paths[lvl], "M%s %sh%sv%sh-%sz", px(left+cell*float64(j)), px(top+cell*float64(i)), px(cell), px(cell), px(cell))
		}
	}
	for lvl := range paths {
		if paths[lvl].Len() == 0 {
			continue
		}
		fmt.Fprintf(&w.b, `<path d="%s" fill="%s"/>`+"\n", paths[lvl].String(), heatColor(float64(lvl+1)/heatLevels))
	}
	fmt.Fprintf(&w.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333333"/>`+"\n",
		px(left), px(top), px(cell*float64(n)), px(cell*float64(n)))

	// Label every class while they fit 14 px apart, else every k-th.
	every := max(1, int(math.Ceil(14/cell)))
	for i, l := range m.Labels {
		if i%every != 0 {
			continue
		}
		c := cell * (float64(i) + 0.5)
		w.text(left-6, top+c+4, "end", 11, "", truncate(l, 18))
		x := left + c
		w.text(x, top-6, "start", 11, fmt.Sprintf(`transform="rotate(-45 %s %s)"`, px(x), px(top-6)), truncate(l, 18))
	}
	if cell >= 22 {
		size := math.Min(12, cell/3)
		for i := range n {
			for j := range n {
				h := matrixValue(m.Head, i, j, false)
				frac := matrixValue(m.Head, i, j, true)
				fill := "#222222"
				if frac >= 0.5 {
					fill = "#ffffff"
				}
				x := left + cell*(float64(j)+0.5)
				y := top + cell*(float64(i)+0.5)
				if hasBase && cell >= 40 {
					w.text(x, y-2, "middle", size, `fill="`+fill+`"`, confusionNum(h, false))
					w.text(x, y+size, "middle", size*0.85, `fill="`+fill+`"`, "("+signed(h-matrixValue(m.Base, i, j, false), false)+")")
				} else {
					w.text(x, y+size/3, "middle", size, `fill="`+fill+`"`, confusionNum(h, false))
				}
			}
		}
	}
	note := "Shade: fraction of the actual class; numbers: head count"
	if hasBase {
		note += " (change from base)"
	}
	notes := append([]string{note + "."}, f.Notes...)
	y := top + cell*float64(n) + 20
	for _, s := range notes {
		if y > svgH-4 {
			break
		}
		w.text(left, y, "start", 10, `fill="#555555"`, truncate(s, 110))
		y += 14
	}
	return nil
}

// heatColor runs from near white to a dark blue, so numbers stay readable
// in black on light cells and in white on dark ones.
func heatColor(v float64) string {
	lo := [3]float64{0xf7, 0xfb, 0xff}
	hi := [3]float64{0x08, 0x30, 0x6b}
	var c [3]int
	for k := range c {
		c[k] = int(math.Round(lo[k] + (hi[k]-lo[k])*v))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}
