package plots

import (
	"math"
	"slices"
	"testing"
)

func TestLTTB(t *testing.T) {
	// A flat line with two sharp peaks and a dip: taking every k-th point
	// would miss them, LTTB must keep them.
	const n = 10_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i)
	}
	y[1234], y[5000], y[8765] = 100, -50, 80
	tests := []struct {
		name   string
		x, y   []float64
		n      int
		points int
		keep   []float64 // x values that must survive
	}{
		{name: "peaks and dip kept", x: x, y: y, n: 100, points: 100, keep: []float64{0, 1234, 5000, 8765, n - 1}},
		{name: "fewer points than asked", x: x[:50], y: y[:50], n: 100, points: 50},
		{name: "asked below 3 returns input", x: x[:50], y: y[:50], n: 2, points: 50},
		{name: "exactly three", x: x, y: y, n: 3, points: 3, keep: []float64{0, n - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ox, oy := LTTB(tt.x, tt.y, tt.n)
			if len(ox) != tt.points || len(oy) != tt.points {
				t.Fatalf("%d points, want %d", len(ox), tt.points)
			}
			if ox[0] != tt.x[0] || ox[len(ox)-1] != tt.x[len(tt.x)-1] {
				t.Errorf("first/last not kept: %g..%g", ox[0], ox[len(ox)-1])
			}
			if !slices.IsSorted(ox) {
				t.Error("x out of order")
			}
			for _, k := range tt.keep {
				if !slices.Contains(ox, k) {
					t.Errorf("x=%g dropped", k)
				}
			}
		})
	}
}

func TestLTTBSine(t *testing.T) {
	// Each of ten sine periods keeps its crest and trough (within a bucket).
	const n = 100_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i)
		y[i] = math.Sin(2 * math.Pi * 10 * float64(i) / n)
	}
	_, oy := LTTB(x, y, 500)
	if mx, mn := slices.Max(oy), slices.Min(oy); mx < 0.999 || mn > -0.999 {
		t.Errorf("range %g..%g, want about ±1", mn, mx)
	}
}

func TestStride(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ox, _ := stride(x, x, 4)
	if !slices.Equal(ox, []float64{0, 3, 6, 9}) {
		t.Errorf("got %v", ox)
	}
}
