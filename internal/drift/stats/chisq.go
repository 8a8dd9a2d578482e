package stats

import (
	"fmt"
	"slices"
)

// ChiSquareResult is a chi-squared test of homogeneity on a 2×k table.
type ChiSquareResult struct {
	Stat float64
	P    float64
	// DOF is k-1 for the k categories that hold any count.
	DOF int
}

// ChiSquare tests whether two count vectors over the same categories (the
// reference's and the current data's, index i being the same category in
// both) come from one distribution: Pearson's chi-squared test on the 2×k
// contingency table, matching scipy.stats.chi2_contingency(table,
// correction=False).
//
// Yates' continuity correction is never applied, whatever the degrees of
// freedom: SciPy applies it only when dof == 1, which would make a binary
// column's p-value conservative while every other column's is not; with
// the counts drift compares (hundreds and more) the correction is
// negligible anyway.
//
// A category empty in both vectors carries no information and is dropped
// (SciPy refuses such a table because an expected count is zero). With
// fewer than two categories left the test has no degrees of freedom and
// returns Stat 0, P 1, as SciPy does. Counts may be fractional (weighted).
func ChiSquare(ref, cur []float64) (ChiSquareResult, error) {
	if len(ref) != len(cur) {
		return ChiSquareResult{}, fmt.Errorf("chi-squared: %w: %d reference categories, %d current", ErrInput, len(ref), len(cur))
	}
	refTotal, err := checkCounts("reference", ref)
	if err != nil {
		return ChiSquareResult{}, err
	}
	curTotal, err := checkCounts("current", cur)
	if err != nil {
		return ChiSquareResult{}, err
	}
	total := refTotal + curTotal
	var stat float64
	k := 0
	for i := range ref {
		col := ref[i] + cur[i]
		if col == 0 {
			continue
		}
		k++
		for _, c := range [2]struct{ obs, row float64 }{{ref[i], refTotal}, {cur[i], curTotal}} {
			e := c.row * col / total
			d := c.obs - e
			stat += d * d / e
		}
	}
	dof := k - 1
	if dof == 0 {
		return ChiSquareResult{Stat: 0, P: 1, DOF: 0}, nil
	}
	return ChiSquareResult{Stat: stat, P: clamp01(gammaQ(float64(dof)/2, stat/2)), DOF: dof}, nil
}

// DefaultMinExpected is the usual rule of thumb for the chi-squared
// approximation: every expected count at least 5.
const DefaultMinExpected = 5

// Pooled is the outcome of PoolRare.
type Pooled struct {
	Ref, Cur []float64
	// Keep lists, in order, the original indices of the categories kept as
	// they were; they are Ref[0:len(Keep)] and Cur[0:len(Keep)].
	Keep []int
	// Other lists the original indices pooled into the last entry of Ref
	// and Cur; it is empty, and there is no such entry, when nothing was
	// pooled.
	Other []int
}

// PoolRare merges every category whose expected count under homogeneity
// (row total × category total / grand total, the smaller row deciding) is
// below minExpected into one "other" category, so that ChiSquare's
// approximation holds. If "other" is then still below minExpected, the kept
// category with the smallest total joins it, repeatedly, because a thin
// "other" would break the rule it exists for. Categories empty in both
// vectors are left out entirely. The inputs are not modified.
func PoolRare(ref, cur []float64, minExpected float64) (Pooled, error) {
	if len(ref) != len(cur) {
		return Pooled{}, fmt.Errorf("pool: %w: %d reference categories, %d current", ErrInput, len(ref), len(cur))
	}
	refTotal, err := checkCounts("reference", ref)
	if err != nil {
		return Pooled{}, err
	}
	curTotal, err := checkCounts("current", cur)
	if err != nil {
		return Pooled{}, err
	}
	total := refTotal + curTotal
	smaller := min(refTotal, curTotal)
	expected := func(col float64) float64 { return smaller * col / total }

	var keep, other []int
	var otherCol float64
	for i := range ref {
		col := ref[i] + cur[i]
		switch {
		case col == 0:
		case expected(col) < minExpected:
			other = append(other, i)
			otherCol += col
		default:
			keep = append(keep, i)
		}
	}
	if len(other) > 0 {
		// Move the thinnest kept categories into "other" until it is
		// large enough or nothing is left to move.
		slices.SortStableFunc(keep, func(x, y int) int {
			cx, cy := ref[x]+cur[x], ref[y]+cur[y]
			switch {
			case cx < cy:
				return 1
			case cx > cy:
				return -1
			}
			return 0
		})
		for expected(otherCol) < minExpected && len(keep) > 0 {
			last := keep[len(keep)-1]
			keep = keep[:len(keep)-1]
			other = append(other, last)
			otherCol += ref[last] + cur[last]
		}
		slices.Sort(keep)
		slices.Sort(other)
	}
	p := Pooled{Keep: keep, Other: other}
	for _, i := range keep {
		p.Ref = append(p.Ref, ref[i])
		p.Cur = append(p.Cur, cur[i])
	}
	if len(other) > 0 {
		var r, c float64
		for _, i := range other {
			r += ref[i]
			c += cur[i]
		}
		p.Ref = append(p.Ref, r)
		p.Cur = append(p.Cur, c)
	}
	return p, nil
}
