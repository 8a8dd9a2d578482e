package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// BenjaminiHochberg returns the Benjamini–Hochberg adjusted p-values
// (q-values) of p, in p's order: q_(i) = min over j >= i of p_(j)·m/j for
// the ascending p_(1..m), capped at 1. Rejecting every hypothesis with
// q <= α controls the false discovery rate at α across a drift run's
// columns. This is scipy.stats.false_discovery_control(p, method='bh') of
// SciPy 1.11 and later. A p-value outside [0, 1] or NaN is an error.
func BenjaminiHochberg(p []float64) ([]float64, error) {
	for i, v := range p {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("p[%d]: %w", i, ErrNaN)
		}
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("p[%d] = %v: %w: a p-value lies in [0, 1]", i, v, ErrInput)
		}
	}
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	q := make([]float64, m)
	running := 1.0
	for r := m - 1; r >= 0; r-- {
		i := order[r]
		// p·(m/rank), in that order, as SciPy rounds it.
		running = min(running, p[i]*(float64(m)/float64(r+1)))
		q[i] = running
	}
	return q, nil
}
