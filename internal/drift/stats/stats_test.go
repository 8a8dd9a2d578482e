package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestPSIHandComputed(t *testing.T) {
	tests := []struct {
		name     string
		ref, cur []float64
		eps      float64
		want     float64
	}{
		{"identical", []float64{0.2, 0.3, 0.5}, []float64{0.2, 0.3, 0.5}, 0, 0},
		// (0.25-0.5)·ln(0.5) + (0.75-0.5)·ln(1.5) = 0.25·ln 3.
		{"half-to-quarter", []float64{0.5, 0.5}, []float64{0.25, 0.75}, 0, 0.25 * math.Ln2 * math.Log2(3)},
		{"counts-normalized", []float64{20, 20}, []float64{10, 30}, 0, 0.25 * math.Log(3)},
		// An emptied bin counts as eps: 0.5·ln 2 + (0.5-1e-4)·ln(0.5/1e-4).
		{"empty-bin-default-eps", []float64{1, 0}, []float64{0.5, 0.5}, 0, 0.5*math.Ln2 + (0.5-1e-4)*math.Log(0.5/1e-4)},
		{"empty-bin-own-eps", []float64{1, 0}, []float64{0.5, 0.5}, 1e-2, 0.5*math.Ln2 + (0.5-1e-2)*math.Log(0.5/1e-2)},
		{"bin-empty-in-both", []float64{0.5, 0, 0.5}, []float64{0.25, 0, 0.75}, 0, 0.25 * math.Log(3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PSI(tc.ref, tc.cur, tc.eps)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tc.want, 1e-12) {
				t.Errorf("PSI = %.17g, want %.17g", got, tc.want)
			}
		})
	}
}

func TestJensenShannonHandComputed(t *testing.T) {
	// p = (1,0), q = (½,½), m = (¾,¼): KL(p‖m) = ln 4/3,
	// KL(q‖m) = ½ln(2/3) + ½ln 2; distance = √((sum)/(2 ln 2)).
	half := math.Sqrt((math.Log(4.0/3) + 0.5*math.Log(2.0/3) + 0.5*math.Ln2) / (2 * math.Ln2))
	tests := []struct {
		name string
		p, q []float64
		want float64
	}{
		{"disjoint-is-one", []float64{1, 0}, []float64{0, 1}, 1},
		{"identical-is-zero", []float64{0.1, 0.9}, []float64{0.1, 0.9}, 0},
		{"point-vs-uniform", []float64{1, 0}, []float64{0.5, 0.5}, half},
		{"counts-normalized", []float64{7, 0}, []float64{3, 3}, half},
		{"symmetric", []float64{0.5, 0.5}, []float64{1, 0}, half},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JensenShannon(tc.p, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tc.want, 1e-12) {
				t.Errorf("JS = %.17g, want %.17g", got, tc.want)
			}
		})
	}
}

func TestBenjaminiHochbergHandComputed(t *testing.T) {
	tests := []struct {
		name string
		p    []float64
		want []float64
	}{
		// Sorted 0.005, 0.01, 0.03, 0.04 times 4/rank: 0.02, 0.02, 0.04,
		// 0.04; the running minimum from the top changes nothing.
		{"four", []float64{0.01, 0.04, 0.03, 0.005}, []float64{0.02, 0.04, 0.04, 0.02}},
		// 0.04·3/2 = 0.06 exceeds 0.05·3/3, so the minimum carries down.
		{"monotone-fix", []float64{0.001, 0.04, 0.05}, []float64{0.003, 0.05, 0.05}},
		{"capped-at-one", []float64{0.9, 0.95}, []float64{0.95, 0.95}},
		{"empty", nil, []float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BenjaminiHochberg(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if !near(got[i], tc.want[i], 1e-12) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestGammaQClosedForms(t *testing.T) {
	// Q(n, x) = e^-x Σ_{k<n} x^k/k! for whole n; Q(½, x) = erfc(√x).
	poisson := func(n int, x float64) float64 {
		var sum, term float64 = 0, 1
		for k := range n {
			if k > 0 {
				term *= x / float64(k)
			}
			sum += term
		}
		return sum * math.Exp(-x)
	}
	tests := []struct {
		name    string
		a, x    float64
		want    float64
		relOnly bool
	}{
		{"a1-small-x", 1, 0.1, math.Exp(-0.1), false},
		{"a1-large-x", 1, 30, math.Exp(-30), true},
		{"half", 0.5, 3.3, math.Erfc(math.Sqrt(3.3)), false},
		{"half-tail", 0.5, 40, math.Erfc(math.Sqrt(40)), true},
		{"a2", 2, 1.5, 2.5 * math.Exp(-1.5), false},
		{"a30-series", 30, 10, poisson(30, 10), false},
		{"a30-fraction", 30, 45, poisson(30, 45), true},
		{"a100-near-mode", 100, 101, poisson(100, 101), false},
		{"x-zero", 3, 0, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := gammaQ(tc.a, tc.x)
			tol := 1e-12
			ok := math.Abs(got-tc.want) <= tol
			if tc.relOnly {
				ok = ok && relDiff(got, tc.want) <= 1e-11
			}
			if !ok {
				t.Errorf("Q(%v, %v) = %.17g, want %.17g", tc.a, tc.x, got, tc.want)
			}
		})
	}
}

func TestKS2SampHandComputed(t *testing.T) {
	tests := []struct {
		name  string
		a, b  []float64
		d, p  float64
		exact bool
	}{
		// Only 2 of the C(6,3) = 20 orderings separate the samples fully.
		{"separated-3-3", []float64{1, 2, 3}, []float64{4, 5, 6}, 1, 0.1, true},
		{"same-values", []float64{1, 2}, []float64{2, 1}, 0, 1, true},
		{"interleaved-ties", []float64{1, 1, 2, 2}, []float64{1, 2}, 0, 1, true},
		{"infinities-are-values", []float64{math.Inf(-1), 0}, []float64{math.Inf(1), 1}, 1, 1.0 / 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KS2Samp(tc.a, tc.b, Auto)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.D, tc.d, 1e-15) || !near(got.P, tc.p, 1e-12) || (got.Method == Exact) != tc.exact {
				t.Errorf("got %+v, want D %v P %v exact %v", got, tc.d, tc.p, tc.exact)
			}
		})
	}
}

func TestKS2SampDoesNotModifyInput(t *testing.T) {
	a := []float64{3, 1, 2}
	b := []float64{9, 8}
	if _, err := KS2Samp(a, b, Auto); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, []float64{3, 1, 2}) || !slices.Equal(b, []float64{9, 8}) {
		t.Errorf("inputs changed: %v %v", a, b)
	}
}

func TestKS2SampSortedAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := make([]float64, 500)
	b := make([]float64, 321)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	for i := range b {
		b[i] = rng.NormFloat64() + 0.2
	}
	want, err := KS2Samp(a, b, Auto)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(a)
	slices.Sort(b)
	got, err := KS2SampSorted(a, b, Auto)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("sorted %+v, unsorted %+v", got, want)
	}
}

// TestKSExactAgreesWithAsymptotic checks the two p-value paths against each
// other where both are accurate, which neither SciPy nor the other path
// computes the same way.
func TestKSExactAgreesWithAsymptotic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range [][2]int{{2000, 3000}, {5000, 5000}, {9000, 700}} {
		a := make([]float64, n[0])
		b := make([]float64, n[1])
		for i := range a {
			a[i] = rng.Float64()
		}
		for i := range b {
			b[i] = rng.Float64()*1.02 + 0.01
		}
		ex, err := KS2Samp(a, b, Exact)
		if err != nil {
			t.Fatal(err)
		}
		as, err := KS2Samp(a, b, Asymptotic)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Method != Exact || as.Method != Asymptotic || math.Abs(ex.P-as.P) > 0.01 {
			t.Errorf("%v: exact %+v, asymptotic %+v", n, ex, as)
		}
	}
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"ks-empty", func() error { _, err := KS2Samp(nil, []float64{1}, Auto); return err }, ErrEmpty},
		{"ks-nan", func() error { _, err := KS2Samp([]float64{1, nan}, []float64{1}, Auto); return err }, ErrNaN},
		{"ks-sorted-unsorted", func() error { _, err := KS2SampSorted([]float64{2, 1}, []float64{1}, Auto); return err }, ErrInput},
		{"chi-lengths", func() error { _, err := ChiSquare([]float64{1, 2}, []float64{1}); return err }, ErrInput},
		{"chi-negative", func() error { _, err := ChiSquare([]float64{1, -2}, []float64{1, 2}); return err }, ErrInput},
		{"chi-all-zero", func() error { _, err := ChiSquare([]float64{0, 0}, []float64{1, 2}); return err }, ErrEmpty},
		{"chi-nan", func() error { _, err := ChiSquare([]float64{1, nan}, []float64{1, 2}); return err }, ErrNaN},
		{"psi-inf", func() error { _, err := PSI([]float64{1, math.Inf(1)}, []float64{1, 2}, 0); return err }, ErrInput},
		{"js-empty", func() error { _, err := JensenShannon(nil, nil); return err }, ErrEmpty},
		{"wasserstein-inf", func() error { _, err := Wasserstein1([]float64{math.Inf(1)}, []float64{1}); return err }, ErrInput},
		{"wasserstein-empty", func() error { _, err := Wasserstein1([]float64{1}, nil); return err }, ErrEmpty},
		{"bh-out-of-range", func() error { _, err := BenjaminiHochberg([]float64{0.5, 1.5}); return err }, ErrInput},
		{"bh-nan", func() error { _, err := BenjaminiHochberg([]float64{nan}); return err }, ErrNaN},
		{"pool-lengths", func() error { _, err := PoolRare([]float64{1}, []float64{1, 2}, 5); return err }, ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestChiSquareDegenerate(t *testing.T) {
	tests := []struct {
		name     string
		ref, cur []float64
		want     ChiSquareResult
	}{
		{"one-category", []float64{10}, []float64{4}, ChiSquareResult{Stat: 0, P: 1, DOF: 0}},
		{"one-category-left", []float64{10, 0}, []float64{4, 0}, ChiSquareResult{Stat: 0, P: 1, DOF: 0}},
		// Expected 15 in each cell: 4·25/15; Q(½, x) = erfc(√x).
		{"two-by-two", []float64{10, 20}, []float64{20, 10}, ChiSquareResult{Stat: 20.0 / 3, P: math.Erfc(math.Sqrt(10.0 / 3)), DOF: 1}},
		{"empty-category-dropped", []float64{10, 0, 20}, []float64{20, 0, 10}, ChiSquareResult{Stat: 20.0 / 3, P: math.Erfc(math.Sqrt(10.0 / 3)), DOF: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChiSquare(tc.ref, tc.cur)
			if err != nil {
				t.Fatal(err)
			}
			if got.DOF != tc.want.DOF || !near(got.Stat, tc.want.Stat, 1e-12) || !near(got.P, tc.want.P, 1e-12) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPoolRare(t *testing.T) {
	tests := []struct {
		name     string
		ref, cur []float64
		want     Pooled
	}{
		{"nothing-rare", []float64{50, 50}, []float64{40, 60},
			Pooled{Ref: []float64{50, 50}, Cur: []float64{40, 60}, Keep: []int{0, 1}}},
		{"empty-category-left-out", []float64{50, 0, 50}, []float64{40, 0, 60},
			Pooled{Ref: []float64{50, 50}, Cur: []float64{40, 60}, Keep: []int{0, 2}}},
		// Expected counts are col/2: 1.5 for each rare category, 3 for
		// their "other", still below 5, so the thinner kept category
		// (index 0, total 110) joins it.
		{"rare-pooled", []float64{60, 60, 2, 1}, []float64{50, 70, 1, 2},
			Pooled{Ref: []float64{60, 63}, Cur: []float64{70, 53}, Keep: []int{1}, Other: []int{0, 2, 3}}},
		{"rare-pooled-enough", []float64{60, 60, 6, 5}, []float64{50, 70, 4, 5},
			Pooled{Ref: []float64{60, 60, 11}, Cur: []float64{50, 70, 9}, Keep: []int{0, 1}, Other: []int{2, 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PoolRare(tc.ref, tc.cur, DefaultMinExpected)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Ref, tc.want.Ref) || !slices.Equal(got.Cur, tc.want.Cur) ||
				!slices.Equal(got.Keep, tc.want.Keep) || !slices.Equal(got.Other, tc.want.Other) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNormalizedWasserstein1(t *testing.T) {
	tests := []struct {
		name     string
		ref, cur []float64
		want     float64
	}{
		// Reference sd is 1 (values ±1); a shift of 2 is 2 sds.
		{"unit-sd", []float64{-1, 1}, []float64{1, 3}, 2},
		{"scaled-sd", []float64{-10, 10}, []float64{10, 30}, 2},
		// A constant reference leaves the distance in data units.
		{"constant-ref", []float64{5, 5, 5}, []float64{7, 7}, 2},
		{"constant-both", []float64{5, 5}, []float64{5}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizedWasserstein1(tc.ref, tc.cur)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tc.want, 1e-12) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestKS2SampExactFallsBack checks SciPy's rule for method='exact': when
// lcm(n1, n2) does not fit an int32 the asymptotic distribution is used.
func TestKS2SampExactFallsBack(t *testing.T) {
	tests := []struct {
		name   string
		n1, n2 int
		want   Method
	}{
		{"lcm-fits", 3000, 4000, Exact},
		{"lcm-overflows-int32", 50000, 49999, Asymptotic},
		{"auto-above-limit", MaxExactN + 1, 10, Asymptotic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]float64, tc.n1)
			b := make([]float64, tc.n2)
			for i := range a {
				a[i] = float64(i) / float64(tc.n1)
			}
			for i := range b {
				b[i] = float64(i)/float64(tc.n2) + 0.01
			}
			m := Exact
			if tc.name == "auto-above-limit" {
				m = Auto
			}
			got, err := KS2Samp(a, b, m)
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tc.want || got.P < 0 || got.P > 1 {
				t.Errorf("got %+v, want method %v", got, tc.want)
			}
		})
	}
}
