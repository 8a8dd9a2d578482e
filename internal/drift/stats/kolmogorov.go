package stats

import "math"

// kolmogorovSF is P(D_n >= x) for the two-sided one-sample Kolmogorov–Smirnov
// statistic D_n, SciPy's kstwo.sf(x, n). It follows the region choice of
// Simard and L'Ecuyer, "Computing the Two-Sided Kolmogorov-Smirnov
// Distribution", J. Stat. Softw. 39(11), 2011, as SciPy 1.10 does, so the
// approximate regions (Pelz–Good) approximate the same way:
//
//   - n·x <= 1 and n·x >= n-1: Ruben and Gambino's closed forms;
//   - x >= 1/2, and the upper tail: twice the one-sided tail (exact for
//     x >= 1/2, below 1e-15 off elsewhere in the region used);
//   - moderate n·x²: the Durbin matrix (Marsaglia, Tsang and Wang 2003),
//     which is exact; Simard and L'Ecuyer use Pomeranz's recursion for part
//     of n <= 140, which computes the same exact value;
//   - large n: the Pelz–Good asymptotic series.
func kolmogorovSF(n int, x float64) float64 {
	switch {
	case math.IsNaN(x):
		return math.NaN()
	case x >= 1:
		return 0
	case x <= 0:
		return 1
	}
	fn := float64(n)
	t := fn * x
	if t <= 1 {
		if t <= 0.5 {
			return 1
		}
		// P(D_n < x) = n!/n^n · (2t-1)^n for 1/(2n) <= x <= 1/n.
		var cdf float64
		if n <= 140 {
			cdf = 1
			for i := 1; i <= n; i++ {
				cdf *= float64(i) / fn * (2*t - 1)
			}
		} else {
			lf, _ := math.Lgamma(fn + 1)
			cdf = math.Exp(lf - fn*math.Log(fn) + fn*math.Log(2*t-1))
		}
		return clamp01(1 - cdf)
	}
	if t >= fn-1 {
		return clamp01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 {
		return clamp01(2 * smirnovSF(n, x))
	}
	nx2 := t * x
	if n <= 140 {
		if nx2 <= 4 {
			return clamp01(1 - durbinCDF(n, x))
		}
		return clamp01(2 * smirnovSF(n, x))
	}
	switch {
	case nx2 >= 370:
		return 0
	case nx2 >= 2.2:
		return clamp01(2 * smirnovSF(n, x))
	case n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4:
		return clamp01(1 - durbinCDF(n, x))
	default:
		return clamp01(1 - pelzGoodCDF(n, x))
	}
}

// smirnovSF is P(D+_n >= x), the one-sided statistic's exact tail by the
// Birnbaum–Tingey sum
//
//	x · Σ_{v=0}^{⌊n(1-x)⌋} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v),
//
// whose terms are all positive; each is formed in logs so large n neither
// overflows nor underflows.
func smirnovSF(n int, x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	fn := float64(n)
	lfn, _ := math.Lgamma(fn + 1)
	last := int(math.Floor(fn * (1 - x)))
	var sum float64
	for v := 0; v <= last; v++ {
		fv := float64(v)
		e := x + fv/fn
		rest := 1 - e
		if rest <= 0 {
			// The term is 0^(n-v) = 0, as n-v >= 1 here.
			continue
		}
		lv, _ := math.Lgamma(fv + 1)
		lnv, _ := math.Lgamma(fn - fv + 1)
		lt := lfn - lv - lnv + (fv-1)*math.Log(e) + (fn-fv)*math.Log(rest)
		if lt > -745 {
			sum += math.Exp(lt)
		}
	}
	return sum * x
}

// Scaling for the matrix power and the final product, which leave double's
// range for large n.
const (
	scaleExp = 128
)

var (
	scaleUp   = math.Ldexp(1, scaleExp)
	scaleDown = math.Ldexp(1, -scaleExp)
)

// durbinCDF is P(D_n < d) by Durbin's matrix formula as Marsaglia, Tsang and
// Wang ("Evaluating Kolmogorov's Distribution", J. Stat. Softw. 8(18), 2003)
// evaluate it: n!/n^n · (H^n)[k,k] with k = ⌈nd⌉ and H the (2k-1)-square
// matrix built from h = k - nd. Powers are kept with a separate binary
// exponent.
func durbinCDF(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	nd := float64(n) * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1

	H := newMatrix(m)
	// fact[j] = 1/j!
	fact := make([]float64, m+1)
	fact[0] = 1
	for j := 1; j <= m; j++ {
		fact[j] = fact[j-1] / float64(j)
	}
	for i := range m {
		for j := range m {
			if i-j+1 >= 0 {
				H.set(i, j, fact[i-j+1])
			}
		}
	}
	for i := range m {
		// First column and last row: (1 - h^(i+1)) / (i+1)!.
		v := (1 - math.Pow(h, float64(i+1))) * fact[i+1]
		H.set(i, 0, v)
		H.set(m-1, m-1-i, v)
	}
	corner := 1 - 2*math.Pow(h, float64(m))
	if 2*h-1 > 0 {
		corner += math.Pow(2*h-1, float64(m))
	}
	H.set(m-1, 0, corner*fact[m])

	P, exp := H.pow(n)
	p := P.at(k-1, k-1)
	fn := float64(n)
	for i := 1; i <= n; i++ {
		p = p * float64(i) / fn
		if p < scaleDown {
			p *= scaleUp
			exp -= scaleExp
		}
	}
	return math.Ldexp(p, exp)
}

// matrix is a small dense square matrix for durbinCDF.
type matrix struct {
	n int
	a []float64
}

func newMatrix(n int) matrix { return matrix{n: n, a: make([]float64, n*n)} }

func (m matrix) at(i, j int) float64     { return m.a[i*m.n+j] }
func (m matrix) set(i, j int, v float64) { m.a[i*m.n+j] = v }

func (m matrix) mul(o matrix) matrix {
	r := newMatrix(m.n)
	for i := range m.n {
		row := r.a[i*m.n : (i+1)*m.n]
		for k := range m.n {
			v := m.a[i*m.n+k]
			if v == 0 {
				continue
			}
			orow := o.a[k*m.n : (k+1)*m.n]
			for j, ov := range orow {
				row[j] += v * ov
			}
		}
	}
	return r
}

// pow returns m^e as a matrix and a binary exponent: m^e = P · 2^exp.
func (m matrix) pow(e int) (matrix, int) {
	if e == 1 {
		return m, 0
	}
	half, exp := m.pow(e / 2)
	p := half.mul(half)
	exp *= 2
	if e%2 == 1 {
		p = p.mul(m)
	}
	mid := p.n / 2
	if p.at(mid, mid) > scaleUp {
		for i := range p.a {
			p.a[i] *= scaleDown
		}
		exp += scaleExp
	}
	return p, exp
}

// pelzGoodCDF is the Pelz–Good asymptotic expansion of P(D_n <= x),
// K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^(3/2) with z = x√n, in the Jacobi
// theta form that converges fast for small z (Pelz and Good 1976, as given
// by Simard and L'Ecuyer 2011, section 2.2).
func pelzGoodCDF(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	fn := float64(n)
	z := math.Sqrt(fn) * x
	z2 := z * z
	z4 := z2 * z2
	z6 := z4 * z2
	pi2 := math.Pi * math.Pi
	pi4 := pi2 * pi2
	pi6 := pi4 * pi2
	if -pi2/(8*z2) < -708 {
		// exp underflows: the distribution has no mass this low.
		return 0
	}
	sqrt2pi := math.Sqrt(2 * math.Pi)
	kmax := int(math.Ceil(16 * z / math.Pi))

	// Sums over odd j = 2k-1 of polynomials in j times exp(-j²π²/(8z²)).
	var s0, s1, s2, s3 float64
	for k := kmax; k >= 1; k-- {
		j := float64(2*k - 1)
		j2 := j * j
		j4 := j2 * j2
		j6 := j4 * j2
		e := math.Exp(-j2 * pi2 / (8 * z2))
		s0 += e
		s1 += (pi2*j2/4 - z2) * e
		s2 += (6*z6 + 2*z4 + pi2*(2*z4-5*z2)*j2/4 + pi4*(1-2*z2)*j4/16) * e
		s3 += (pi6*(5-30*z2)*j6/64 + pi4*(212*z4-60*z2)*j4/16 + pi2*(135*z4-96*z6)*j2/4 - 30*z6 - 90*z4*z4) * e
	}
	// Sums over all k of polynomials in k times exp(-k²π²/(2z²)).
	var t2, t3 float64
	for k := kmax; k >= 1; k-- {
		fk := float64(k)
		k2 := fk * fk
		e := math.Exp(-k2 * pi2 / (2 * z2))
		t2 += k2 * e
		t3 += (3*z2 - pi2*k2) * k2 * e
	}
	k0 := sqrt2pi / z * s0
	k1 := sqrt2pi / (6 * z4) * s1
	k2 := sqrt2pi/(72*z6*z)*s2 - pi2*sqrt2pi/(36*z2*z)*t2
	k3 := sqrt2pi/(6480*z6*z4)*s3 + pi2*sqrt2pi/(216*z6)*t3
	sn := math.Sqrt(fn)
	return k0 + k1/sn + k2/fn + k3/(fn*sn)
}
