package stats

import (
	"fmt"
	"math"
	"slices"
)

// DefaultPSIEpsilon is the proportion PSI gives an empty bin: about one
// value in ten thousand, small enough not to hide a real shift and large
// enough that one empty bin does not dominate the index (ln of 1e-4 is
// -9.2).
const DefaultPSIEpsilon = 1e-4

// PSI is the population stability index Σ (c_i − r_i)·ln(c_i / r_i) over
// bins, where r and c are the reference's and the current data's
// proportions. Counts or proportions may be passed; each vector is divided
// by its sum. A proportion of zero is replaced by eps (not renormalized),
// since ln(0) would make any bin that empties or fills infinite; a bin empty
// in both contributes nothing. eps <= 0 means DefaultPSIEpsilon.
func PSI(ref, cur []float64, eps float64) (float64, error) {
	if len(ref) != len(cur) {
		return 0, fmt.Errorf("psi: %w: %d reference bins, %d current", ErrInput, len(ref), len(cur))
	}
	rs, err := checkCounts("reference", ref)
	if err != nil {
		return 0, err
	}
	cs, err := checkCounts("current", cur)
	if err != nil {
		return 0, err
	}
	if eps <= 0 || math.IsNaN(eps) {
		eps = DefaultPSIEpsilon
	}
	var psi float64
	for i := range ref {
		if ref[i] == 0 && cur[i] == 0 {
			continue
		}
		r := max(ref[i]/rs, eps)
		c := max(cur[i]/cs, eps)
		psi += (c - r) * math.Log(c/r)
	}
	return psi, nil
}

// JensenShannon is the Jensen–Shannon distance (the square root of the
// divergence) with base-2 logarithms, between 0 and 1, matching
// scipy.spatial.distance.jensenshannon(p, q, base=2): each vector is first
// divided by its sum, so counts may be passed.
func JensenShannon(p, q []float64) (float64, error) {
	if len(p) != len(q) {
		return 0, fmt.Errorf("jensen-shannon: %w: lengths %d and %d", ErrInput, len(p), len(q))
	}
	ps, err := checkCounts("p", p)
	if err != nil {
		return 0, err
	}
	qs, err := checkCounts("q", q)
	if err != nil {
		return 0, err
	}
	var js float64
	for i := range p {
		a, b := p[i]/ps, q[i]/qs
		m := (a + b) / 2
		js += relEntr(a, m) + relEntr(b, m)
	}
	js /= math.Ln2
	// Rounding can leave a tiny negative sum for identical inputs.
	return math.Sqrt(max(js/2, 0)), nil
}

// relEntr is x·ln(x/y), 0 for x = 0.
func relEntr(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(x/y)
}

// Wasserstein1 is the first Wasserstein (earth mover's) distance between the
// empirical distributions of a and b, ∫|F_a − F_b|, in the units of the
// data; it matches scipy.stats.wasserstein_distance(a, b). Values must be
// finite: one infinite value makes the distance infinite or undefined.
func Wasserstein1(a, b []float64) (float64, error) {
	sa, sb, err := sortedFinite(a, b)
	if err != nil {
		return 0, err
	}
	return wasserstein1Sorted(sa, sb), nil
}

func sortedFinite(a, b []float64) ([]float64, []float64, error) {
	out := make([][]float64, 2)
	for k, s := range []struct {
		name string
		x    []float64
	}{{"a", a}, {"b", b}} {
		if err := checkSample(s.name, s.x); err != nil {
			return nil, nil, err
		}
		for i, v := range s.x {
			if math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("%s[%d] = %v: %w: values must be finite", s.name, i, v, ErrInput)
			}
		}
		out[k] = slices.Clone(s.x)
		slices.Sort(out[k])
	}
	return out[0], out[1], nil
}

// wasserstein1Sorted integrates |F_a − F_b| between consecutive values of
// the merged samples, where both CDFs are constant.
func wasserstein1Sorted(a, b []float64) float64 {
	n1, n2 := float64(len(a)), float64(len(b))
	var i, j int
	var sum, comp float64
	prev := math.Min(a[0], b[0])
	for i < len(a) || j < len(b) {
		var v float64
		if j == len(b) || (i < len(a) && a[i] <= b[j]) {
			v = a[i]
		} else {
			v = b[j]
		}
		// The CDFs are constant on [prev, v); add their gap over it.
		term := math.Abs(float64(i)/n1-float64(j)/n2) * (v - prev)
		// Kahan summation: heavy-tailed samples mix tiny and huge widths.
		y := term - comp
		t := sum + y
		comp = (t - sum) - y
		sum = t
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		prev = v
	}
	return sum
}

// RefScale is the unit NormalizedWasserstein1 divides by: the reference's
// population standard deviation (ddof 0). The standard deviation rather
// than the interquartile range because the IQR is zero for any column where
// one value fills half the rows (zero-inflated counts, mostly-default
// flags), while W1 is itself a mean absolute shift and so shares the
// standard deviation's unit. For a constant reference it returns 1: the
// normalized distance is then the shift in the data's own units, rather
// than a division by zero.
func RefScale(ref []float64) float64 {
	if len(ref) == 0 {
		return 1
	}
	var mean float64
	for _, v := range ref {
		mean += v
	}
	mean /= float64(len(ref))
	var ss float64
	for _, v := range ref {
		d := v - mean
		ss += d * d
	}
	sd := math.Sqrt(ss / float64(len(ref)))
	if sd == 0 || math.IsNaN(sd) || math.IsInf(sd, 0) {
		return 1
	}
	return sd
}

// NormalizedWasserstein1 is Wasserstein1(ref, cur) / RefScale(ref), so one
// drift threshold can serve columns of any unit.
func NormalizedWasserstein1(ref, cur []float64) (float64, error) {
	w, err := Wasserstein1(ref, cur)
	if err != nil {
		return 0, err
	}
	return w / RefScale(ref), nil
}
