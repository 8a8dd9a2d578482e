package stats

import (
	"fmt"
	"math"
	"slices"
)

// Method picks how KS2Samp computes its p-value.
type Method int

const (
	// Auto is exact when both samples have at most MaxExactN values and
	// asymptotic otherwise, as SciPy's method='auto'.
	Auto Method = iota
	// Exact counts lattice paths; it falls back to Asymptotic when the
	// sample sizes' least common multiple does not fit an int32 or the
	// computation fails, as SciPy does.
	Exact
	// Asymptotic uses the one-sample Kolmogorov distribution of D_n with n
	// the rounded effective size n1*n2/(n1+n2).
	Asymptotic
)

func (m Method) String() string {
	switch m {
	case Auto:
		return "auto"
	case Exact:
		return "exact"
	case Asymptotic:
		return "asymptotic"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// MaxExactN is the largest sample size for which Auto is exact, SciPy's
// limit. The exact computation costs O(max(n1,n2)·band) time, the band
// widening with D: about 30 ms for 10,000 against 9,999 values at a typical
// D, and about 1 s at D near 1, the worst case Auto can reach.
const MaxExactN = 10000

// KSResult is a two-sided two-sample Kolmogorov–Smirnov test.
type KSResult struct {
	// D is the largest absolute difference between the two empirical CDFs.
	D float64
	// P is the two-sided p-value.
	P float64
	// Method is how P was computed: Exact or Asymptotic, never Auto.
	Method Method
}

// KS2Samp is the two-sided two-sample Kolmogorov–Smirnov test, matching
// scipy.stats.ks_2samp(a, b, alternative='two-sided', method=...) of SciPy
// 1.10. Ties are allowed: both empirical CDFs step at the end of a run of
// equal values, so D is the same whatever order ties come in. ±Inf are
// ordinary (extreme) values; NaN is an error.
func KS2Samp(a, b []float64, method Method) (KSResult, error) {
	if err := checkSample("a", a); err != nil {
		return KSResult{}, err
	}
	if err := checkSample("b", b); err != nil {
		return KSResult{}, err
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return ks2Sorted(sa, sb, method), nil
}

// KS2SampSorted is KS2Samp for samples already in ascending order, so that a
// reference profile sorted once is not copied and sorted again for every
// comparison. Unsorted input is an error.
func KS2SampSorted(a, b []float64, method Method) (KSResult, error) {
	for _, s := range []struct {
		name string
		x    []float64
	}{{"a", a}, {"b", b}} {
		if err := checkSample(s.name, s.x); err != nil {
			return KSResult{}, err
		}
		if !slices.IsSorted(s.x) {
			return KSResult{}, fmt.Errorf("%s: %w: not in ascending order", s.name, ErrInput)
		}
	}
	return ks2Sorted(a, b, method), nil
}

func ks2Sorted(a, b []float64, method Method) KSResult {
	n1, n2 := int64(len(a)), int64(len(b))
	// Walk both samples at once. After consuming every value equal to v
	// from both, i and j are the counts <= v, and i*n2 - j*n1 is
	// n1*n2*(F1(v) - F2(v)) exactly, so the extreme is found without
	// rounding.
	var i, j int64
	var maxDiff, minDiff int64
	var maxI, maxJ, minI, minJ int64
	for i < n1 || j < n2 {
		var v float64
		switch {
		case j == n2 || (i < n1 && a[i] <= b[j]):
			v = a[i]
		default:
			v = b[j]
		}
		for i < n1 && a[i] == v {
			i++
		}
		for j < n2 && b[j] == v {
			j++
		}
		diff := i*n2 - j*n1
		if diff > maxDiff {
			maxDiff, maxI, maxJ = diff, i, j
		}
		if diff < minDiff {
			minDiff, minI, minJ = diff, i, j
		}
	}
	// SciPy reports the side with the larger deviation, and the positive
	// one on a tie; D is formed from the same float quotients as there.
	d := float64(maxI)/float64(n1) - float64(maxJ)/float64(n2)
	h := maxDiff
	if -minDiff > maxDiff {
		d = -(float64(minI)/float64(n1) - float64(minJ)/float64(n2))
		h = -minDiff
	}
	d = max(d, 0)

	g := gcd(n1, n2)
	if method == Auto {
		method = Asymptotic
		if max(n1, n2) <= MaxExactN {
			method = Exact
		}
	}
	if method == Exact && n1/g >= math.MaxInt32/(n2/g) {
		method = Asymptotic
	}
	if method == Exact {
		lcm := n1 / g * n2
		// h counts the deviation in units of 1/lcm(n1, n2).
		h /= g
		dExact := float64(h) / float64(lcm)
		if h == 0 {
			return KSResult{D: dExact, P: 1, Method: Exact}
		}
		p := ksExactSF(n1, n2, g, h)
		if p >= 0 && p <= 1 {
			return KSResult{D: dExact, P: p, Method: Exact}
		}
		d = dExact
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := math.RoundToEven(m * n / (m + n))
	// en rounds to 0 only for two samples of one value each; SciPy returns
	// NaN there, a distribution of one observation says nothing either way.
	en = max(en, 1)
	return KSResult{D: d, P: clamp01(kolmogorovSF(int(en), d)), Method: Asymptotic}
}

// ksExactSF is P(D >= h/lcm(n1, n2)) under the null hypothesis: the share of
// monotone lattice paths from (0,0) to (n1,n2) that touch a point with
// |x/n1 - y/n2| >= h/lcm, all C(n1+n2, n1) paths being equally likely
// (Hodges 1958; Kim and Jennrich 1973).
//
// For a point (x,y) let V be the share of the paths reaching it that have
// already touched the boundary. V is 1 on and beyond the boundary, and inside
// V(x,y) = (x·V(x-1,y) + y·V(x,y-1)) / (x+y), because a uniformly random path
// reaches (x,y) from its left neighbour with probability x/(x+y). The
// recursion adds non-negative terms only, so small p-values keep full
// relative precision, unlike 1 - P(inside). Only the band of interior
// points is visited: O(max(n1,n2)·band) time, O(min(n1,n2)) space.
func ksExactSF(n1, n2, g, h int64) float64 {
	m, n := max(n1, n2), min(n1, n2)
	// |x/m - y/n| >= h/lcm  <=>  |x·n - y·m| >= h·g.
	hg := h * g
	col := make([]float64, n+1)
	for y := range col {
		col[y] = 1
	}
	// Column x = 0: the interior points y < hg/m are reached without
	// leaving the band.
	for y := int64(0); y <= n && y*m < hg; y++ {
		col[y] = 0
	}
	for x := int64(1); x <= m; x++ {
		// Interior: x·n - hg < y·m < x·n + hg.
		lo := max(floorDiv(x*n-hg, m)+1, 0)
		hi := min(ceilDiv(x*n+hg, m)-1, n)
		if lo > hi {
			// No interior point in this column: every path touches.
			return 1
		}
		// The band never moves down, so col[y] for y >= lo holds either
		// the previous column's value or 1 from the start.
		fx := float64(x)
		below := 1.0
		if lo == 0 {
			below = 0
		}
		for y := lo; y <= hi; y++ {
			fy := float64(y)
			v := (fx*col[y] + fy*below) / (fx + fy)
			col[y] = v
			below = v
		}
	}
	return col[n]
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

func clamp01(p float64) float64 {
	return math.Min(math.Max(p, 0), 1)
}
