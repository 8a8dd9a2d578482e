package render

import (
	"fmt"
	"math"
	"testing"

	"github.com/mlci/mlci/internal/plots"
)

// BenchmarkWriteDir draws what Build gives for bench/plots.sh: ten line
// plots, each a base and a head series downsampled to 1,000 points.
func BenchmarkWriteDir(b *testing.B) {
	var figs []plots.Figure
	for i := range 10 {
		f := plots.Figure{ID: fmt.Sprintf("plots/run%d.csv", i), Kind: plots.Line, XLabel: "step", YLabel: "y"}
		for _, side := range []plots.Side{plots.Base, plots.Head} {
			for _, name := range []string{"loss", "val_loss"} {
				s := plots.Series{Name: name, Side: side, Points: 100_000}
				for j := range 1000 {
					x := float64(j * 100)
					s.X = append(s.X, x)
					s.Y = append(s.Y, math.Exp(-x/20000)+0.05*math.Sin(x/97))
				}
				f.Series = append(f.Series, s)
			}
		}
		figs = append(figs, f)
	}
	dir := b.TempDir()
	for b.Loop() {
		if _, err := WriteDir(dir, figs); err != nil {
			b.Fatal(err)
		}
	}
}
